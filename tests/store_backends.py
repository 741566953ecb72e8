"""The store backends the contract tests run against: one entry per backend.

``tests/test_store_contract.py`` runs every test once per name in ``BACKENDS`` through the
``store`` fixture below (imported by ``conftest.py``). A new backend is one more name here and one
more branch in ``open_backend`` (which may use other fixtures through ``request``, e.g. a
database server the suite starts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from flywheel_middleware.store import SQLiteStore, TrajectoryStore

BACKENDS: list[str] = ["sqlite", "postgres"]


def open_backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> TrajectoryStore:
    """A fresh, empty store of backend ``name``."""
    if name == "sqlite":
        return SQLiteStore(tmp_path / "store.sqlite")
    if name == "postgres":  # a fresh database on the suite's real PostgreSQL 16 + pgvector server
        from flywheel_middleware.store.postgres import PostgresStore

        # the contract's vectors are 8-d (test_store_contract.vec); the column's dimension is fixed per database
        return PostgresStore(request.getfixturevalue("postgres_server").new_url("contract"), dim=8)
    raise ValueError(f"unknown store backend {name!r}")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TrajectoryStore]:
    """An empty store, once per backend in ``BACKENDS``."""
    backend = open_backend(request.param, request, tmp_path)
    yield backend
    backend.close()
