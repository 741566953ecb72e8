"""The FAISS index is a cache that can never silently fall short of the store: its watermark only
promises what it read from the store, and a file changed after it was saved is rebuilt."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flywheel_middleware import Flywheel, Interaction
from flywheel_middleware.store.base import StoredInteraction
from flywheel_middleware.store.index import VectorIndex
from flywheel_middleware.store.sqlite import SQLiteStore
from helpers import turn

DIM = 8


def _vectors(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _store_batch(store: SQLiteStore, start: int, n: int) -> tuple[list[int], np.ndarray]:
    vectors = _vectors(n, start)
    rows = [StoredInteraction(Interaction(input=f"q{start + i}", id=f"id-{start + i}"), vectors[i]) for i in range(n)]
    return store.ingest(rows, [], {}), vectors


def test_a_worker_taking_over_from_a_dead_one_leaves_no_vector_behind(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.sqlite")
    _store_batch(store, 0, 10)
    index = VectorIndex(tmp_path / "index.faiss", DIM)
    index.sync(store)  # this process reads the store: 10 vectors
    _store_batch(store, 10, 10)  # the dead worker stored these, but never added them here
    keys, vectors = _store_batch(store, 20, 10)
    index.add(np.asarray(keys), vectors)  # this process, now the owner, adds what it ingests
    assert index.watermark < max(keys)  # a live add promises nothing about the keys before it
    index.save()
    reopened = VectorIndex(tmp_path / "index.faiss", DIM)
    reopened.sync(store)
    assert len(reopened) == 30 == len(index)
    store.close()


def test_the_saved_watermark_covers_exactly_the_saved_vectors(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.sqlite")
    index = VectorIndex(tmp_path / "index.faiss", DIM)
    index.sync(store)
    for start in (0, 5, 10):
        keys, vectors = _store_batch(store, start, 5)
        index.add(np.asarray(keys), vectors)
    index.save()
    assert index.watermark == store.max_key() and len(index) == 15
    store.close()


def _overwrite(path: Path, offset_from_end: int, size: int) -> None:
    data = bytearray(path.read_bytes())
    start = len(data) - offset_from_end
    data[start : start + size] = np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def _filled(store_path: Path, embedder, n: int = 20) -> list[str]:
    with Flywheel(store_path, embedder=embedder, worker_mode="thread") as fw:
        ids = [fw.record(turn(f"question number {i} about topic {i * 7}")) for i in range(n)]
        assert fw.flush(60)
    return ids


def test_overwritten_vectors_are_detected_and_the_index_rebuilt(store_path: Path, embedder) -> None:
    ids = _filled(store_path, embedder)
    index_file = store_path / "index.faiss"
    _overwrite(index_file, offset_from_end=20 * 8 + 20 * 384 * 4 // 2, size=4096)  # inside the vectors
    with Flywheel(store_path, embedder=embedder, start_worker=False) as fw:
        assert fw.index_sync_action == "rebuilt" and "checksum" in fw.index.rebuild_reason
        assert all(fw.search(f"question number {i} about topic {i * 7}", k=1)[0][0].id == ids[i] for i in range(20))


def test_an_overwritten_id_map_is_detected_and_the_index_rebuilt(store_path: Path, embedder) -> None:
    ids = _filled(store_path, embedder)
    _overwrite(store_path / "index.faiss", offset_from_end=20 * 8, size=20 * 8)  # the id map is at the end
    with Flywheel(store_path, embedder=embedder, start_worker=False) as fw:
        assert fw.index_sync_action == "rebuilt"
        assert fw.search("question number 3 about topic 21", k=1)[0][0].id == ids[3]
