"""The FAISS index as a cache of the store: following what another process ingests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flywheel_middleware import Interaction
from flywheel_middleware.store import SQLiteStore, StoredInteraction
from flywheel_middleware.store.index import VectorIndex


def _put(store: SQLiteStore, n: int, start: int = 0) -> list[int]:
    rng = np.random.default_rng(start)
    vecs = rng.standard_normal((n, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return store.ingest([StoredInteraction(Interaction(id=f"t{start + i}", input="q"), vecs[i]) for i in range(n)], [], {})


def test_a_following_index_pulls_new_vectors_before_it_searches(tmp_path: Path) -> None:
    store, writer = SQLiteStore(tmp_path / "s.sqlite"), SQLiteStore(tmp_path / "s.sqlite")  # writer: "another process"
    index = VectorIndex(tmp_path / "index.faiss", dim=8)
    index.sync(store)
    index.follow(store, interval_s=0.0)
    keys = _put(writer, 3)
    _, found = index.search(np.ones(8, np.float32), 5)
    assert sorted(found[0][found[0] >= 0].tolist()) == keys and not index.dirty  # a follower never saves


def test_a_following_index_applies_deletions_made_elsewhere(tmp_path: Path) -> None:
    store, writer = SQLiteStore(tmp_path / "s.sqlite"), SQLiteStore(tmp_path / "s.sqlite")
    keys = _put(writer, 3)
    index = VectorIndex(tmp_path / "index.faiss", dim=8)
    index.sync(store)
    index.follow(store, interval_s=0.0)
    writer.delete_interactions(["t0"])
    _, found = index.search(np.ones(8, np.float32), 5)
    assert sorted(found[0][found[0] >= 0].tolist()) == keys[1:] and index.generation == 1


def test_an_owned_index_does_not_poll_the_store(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite")
    index = VectorIndex(tmp_path / "index.faiss", dim=8)
    index.sync(store)
    index.follow(None)
    _put(store, 2)
    assert len(index) == 0
    assert index.catch_up(store, force=True) == 2 and len(index) == 2
