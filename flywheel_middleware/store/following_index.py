"""A replica's FAISS cache of a shared store's vectors, kept current by following the store.

With a server store, every replica's worker writes vectors into one database, so a replica's
local FAISS index is a cache of *everyone's* vectors. It must never add its own batch ahead of the
store's order: a key it skipped past (another replica's, committed just before) would be lost to
the "everything after the watermark" catch-up. So ``add()`` here does not add what it is given;
it catches up from the store in key order (the PostgreSQL store commits keys in allocation order,
see ``postgres.py``), then upserts any given key the catch-up did not bring (a re-embedded old
row). Deletions follow the store's deletion log. Everything else is the wrapped ``VectorIndex``.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .base import TrajectoryStore
from .index import VectorIndex


class StoreFollowingIndex:
    """Wraps a ``VectorIndex``: always follows the store, and adds in the store's key order."""

    def __init__(self, index: VectorIndex, store: TrajectoryStore) -> None:
        self._index = index
        self._store = store
        self._follow_lock = threading.Lock()
        index.follow(store)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)

    def __len__(self) -> int:
        return len(self._index)

    def follow(self, store: TrajectoryStore | None, interval_s: float = 0.5) -> None:
        """Every replica follows the shared store, the one that ingests too (``None`` is ignored)."""
        self._index.follow(self._store, interval_s)

    def catch_up(self, store: TrajectoryStore | None = None, *, force: bool = False) -> int:
        """Apply the store's deletions and add its vectors past the watermark; returns how many."""
        return len(self._catch_up())

    def apply_deletions(self, store: TrajectoryStore | None = None) -> int:
        """The owner's idle tick: other replicas' deletions *and* their new vectors."""
        removed = self._index.apply_deletions(self._store)
        self._catch_up()
        return removed

    def _catch_up(self) -> set[int]:
        added: set[int] = set()
        with self._follow_lock:
            self._index.apply_deletions(self._store)
            for keys, vectors in self._store.iter_embeddings(after_key=self._index.watermark):
                self._index.add(keys, vectors)
                added.update(int(k) for k in keys)
        return added

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        added = self._catch_up()
        keys = np.asarray(keys, dtype=np.int64)
        rest = np.fromiter((k not in added for k in keys.tolist()), dtype=bool, count=len(keys))
        if rest.any():
            self._index.add(keys[rest], np.asarray(vectors)[rest])
