"""The FAISS vector index: a cache of the embeddings in SQLite, never the source of truth.

It is saved beside the database with a small JSON sidecar recording the highest key it holds
and the store's deletion generation. On open, an index that is missing, unreadable, from another
dimension, or older than a deletion is rebuilt from SQLite; one that is merely behind is caught
up. A crash between a store commit and an index save therefore costs a catch-up, never a
mismatch.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

_log = logging.getLogger("flywheel_middleware")


class VectorIndex:
    """Exact inner-product search over normalised vectors, keyed by the store's integer keys."""

    def __init__(self, path: Path, dim: int) -> None:
        import faiss  # imported here so `import flywheel_middleware` stays light

        self._faiss = faiss
        self.path = Path(path)
        self.meta_path = self.path.with_suffix(".json")
        self.dim = dim
        self._lock = threading.RLock()
        self._index: Any = self._new()
        self.watermark = 0  # highest store key added
        self.generation = 0  # store deletion generation the index reflects
        self.dirty = False

    def _new(self) -> Any:
        return self._faiss.IndexIDMap2(self._faiss.IndexFlatIP(self.dim))

    def __len__(self) -> int:
        with self._lock:
            return int(self._index.ntotal)

    # -- lifecycle -------------------------------------------------------------------------
    def sync(self, store: Any) -> str:
        """Load from disk, then rebuild or catch up from ``store``. Returns what it did."""
        with self._lock:
            action = "loaded"
            generation = store.deletion_generation()
            if not self._load():
                action = "rebuilt"
            elif self.generation != generation:
                action = "rebuilt"
            if action == "rebuilt":
                self._index = self._new()
                self.watermark = 0
            added = 0
            for keys, vectors in store.iter_embeddings(after_key=self.watermark):
                self._add_unlocked(keys, vectors)
                added += len(keys)
            self.generation = generation
            if added and action == "loaded":
                action = f"caught up {added}"
            self.dirty = self.dirty or added > 0 or action == "rebuilt"
            return action

    def rebuild(self, store: Any) -> int:
        with self._lock:
            self._index = self._new()
            self.watermark = 0
            for keys, vectors in store.iter_embeddings():
                self._add_unlocked(keys, vectors)
            self.generation = store.deletion_generation()
            self.dirty = True
            return int(self._index.ntotal)

    def _load(self) -> bool:
        if not self.path.exists() or not self.meta_path.exists():
            return False
        try:
            meta = json.loads(self.meta_path.read_text())
            index = self._faiss.read_index(str(self.path))
            if index.d != self.dim or int(meta.get("ntotal", -1)) != index.ntotal:
                raise ValueError("index and sidecar disagree")
        except Exception as exc:  # noqa: BLE001 - any unreadable cache is rebuilt
            _log.warning("vector index at %s unreadable (%s); rebuilding from SQLite", self.path, exc)
            return False
        self._index = index
        self.watermark = int(meta.get("watermark", 0))
        self.generation = int(meta.get("generation", -1))
        return True

    def save(self) -> None:
        """Write atomically (temp file + rename) so a crash leaves the old or the new index."""
        with self._lock:
            tmp = self.path.with_suffix(".faiss.tmp")
            self._faiss.write_index(self._index, str(tmp))
            meta = {"watermark": self.watermark, "generation": self.generation, "ntotal": int(self._index.ntotal), "dim": self.dim}
            tmp_meta = self.meta_path.with_suffix(".json.tmp")
            tmp_meta.write_text(json.dumps(meta))
            os.replace(tmp, self.path)
            os.replace(tmp_meta, self.meta_path)
            self.dirty = False

    # -- updates -----------------------------------------------------------------------------
    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        with self._lock:
            self._add_unlocked(np.asarray(keys, dtype=np.int64), vectors)
            self.dirty = True

    def _add_unlocked(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        if len(keys) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._index.remove_ids(np.asarray(keys, dtype=np.int64))  # upserts replace, never duplicate
        self._index.add_with_ids(vectors, np.asarray(keys, dtype=np.int64))
        self.watermark = max(self.watermark, int(np.max(keys)))

    def remove(self, keys: list[int], generation: int) -> int:
        with self._lock:
            removed = int(self._index.remove_ids(np.asarray(keys, dtype=np.int64))) if keys else 0
            self.generation = generation
            self.dirty = True
            return removed

    # -- search ------------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, keys) per query; missing slots have key -1."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        with self._lock:
            if self._index.ntotal == 0 or k <= 0:
                return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
            return self._index.search(queries, min(k, int(self._index.ntotal)))
