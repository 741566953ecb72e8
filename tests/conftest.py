"""Shared test setup: one thread for torch/FAISS, offline hubs, and a fresh store per test."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
os.environ.setdefault("PHOENIX_TEST_TRACKING", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402
from typing import Iterator  # noqa: E402

import pytest  # noqa: E402

from flywheel_middleware import Flywheel  # noqa: E402
from phoenix_server import phoenix_server  # noqa: E402,F401  (the real Phoenix server, session-scoped)
from postgres_server import postgres_server, postgres_url  # noqa: E402,F401  (a real PostgreSQL + pgvector, session-scoped)
from privacy_fixtures import ner  # noqa: E402,F401  (the default NER redactor, session-scoped)
from store_backends import store  # noqa: E402,F401  (one empty store per backend: the contract tests)


def pytest_configure(config: pytest.Config) -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    try:
        import faiss

        faiss.omp_set_num_threads(1)
    except ImportError:
        pass


@pytest.fixture(scope="session")
def embedder():
    """The real packaged MiniLM, loaded once for the whole run."""
    from flywheel_middleware.embedding import SentenceTransformerEmbedder

    model = SentenceTransformerEmbedder()
    model.embed(["warm up"])
    return model


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def fw(store_path: Path, embedder) -> Iterator[Flywheel]:
    """A flywheel on a fresh folder with the real redactor and embedding model."""
    wheel = Flywheel(store_path, embedder=embedder, flush_interval_s=0.05)
    yield wheel
    wheel.close()
