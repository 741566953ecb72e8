"""The FAISS vector index: a cache of the embeddings in SQLite, never the source of truth.

It is saved beside the database with a small JSON sidecar recording its *watermark*, the store's
deletion generation and a CRC-32 of the index file (it catches corruption, ~1.3 GB/s). The watermark is a promise: every vector the
store held with a key up to it is in the index. It only moves when the index has read the store
(``sync``, ``catch_up``, ``rebuild``), never on a live ``add`` (the worker adding the batch it just
stored), because live adds can skip keys: a worker that took over from a dead one adds new keys
while the dead one's last batches were never added here. ``save`` catches up from the store it
last synced with before writing, so the saved watermark always covers the saved vectors. On
open, an index that is missing, unreadable, fails its checksum (a corrupt or overwritten file),
is from another dimension, or is older than a deletion is rebuilt from SQLite; one that is merely
behind is caught up. A crash between a store commit and an index save therefore costs a
catch-up, never a mismatch.

Index type by size (README "Few-shot retrieval"):

* up to ``exact_max`` vectors (default 50 000): exact search, ``IndexIDMap2(IndexFlatIP)``;
* above it: approximate search, ``IndexIVFFlat`` (inner product) with
  ``nlist = clamp(ivf_lists_factor * sqrt(n), 16, 8192)`` lists trained on a sample of the
  vectors, searched with ``nprobe = max(ivf_min_nprobe, nlist // ivf_nprobe_divisor)``;
* the switch happens when the index grows past ``exact_max`` (an in-place conversion of the
  vectors already held: no SQLite read), and back to exact below ``exact_max // 2`` on a rebuild;
  an IVF index that grew to ``retrain_growth`` times the size it was trained at is retrained.

Both types support deletions natively (``remove_ids``): erasure and retention take effect at once,
no tombstones. Searches can be restricted to an allowed set of keys (a bitmap indexed by key,
``IDSelectorBitmap``) *inside* FAISS, so filters apply before the top-k cut; an IVF search that
finds fewer than ``k`` allowed vectors widens ``nprobe`` (x4 per round) up to an exhaustive scan.

Thresholds are class attributes, overridable per process with the environment variables
``FLYWHEEL_INDEX_EXACT_MAX`` / ``FLYWHEEL_INDEX_NPROBE`` or per index with ``configure()``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .base import TrajectoryStore

_log = logging.getLogger("flywheel_middleware")

FLAT = "flat"
IVF = "ivf"


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


SETTINGS = ("exact_max", "ivf_lists_factor", "ivf_max_lists", "ivf_min_nprobe", "ivf_nprobe_divisor",
            "ivf_train_points_per_list", "ivf_train_iterations", "retrain_growth", "nprobe_override")


class VectorIndex:
    """Inner-product search over normalised vectors, keyed by the store's integer keys."""

    exact_max: int = _env_int("FLYWHEEL_INDEX_EXACT_MAX", 50_000)
    ivf_lists_factor: float = 2.0
    ivf_max_lists: int = 8192
    ivf_min_nprobe: int = 16
    ivf_nprobe_divisor: int = 32
    ivf_train_points_per_list: int = 40
    ivf_train_iterations: int = 10
    retrain_growth: float = 4.0
    nprobe_override: int | None = _env_int("FLYWHEEL_INDEX_NPROBE", 0) or None

    def __init__(self, path: Path, dim: int, **settings: Any) -> None:
        import faiss  # imported here so `import flywheel_middleware` stays light

        self._faiss = faiss
        self.path = Path(path)
        self.meta_path = self.path.with_suffix(".json")
        self.dim = dim
        self._lock = threading.RLock()
        self._explicit: set[str] = set()
        self.configure(**settings)
        self._index: Any = self._new_flat()
        self.kind = FLAT
        self.trained_at = 0  # vectors the IVF quantizer was trained on (its size then)
        self.watermark = 0  # every store vector with a key <= this is in the index (see the module docstring)
        self._live_keys: set[int] = set()  # keys above the watermark added live since the last catch-up
        self._store: Any = None  # the store last synced with: save() catches up from it first
        self.generation = 0  # store deletion generation the index reflects
        self.dirty = False
        self.rebuild_reason: str | None = None  # why the last sync() rebuilt instead of loading
        self._log_ops: list[tuple[str, Any, Any]] | None = None  # changes made while converting
        self._converting = False
        self.conversions = 0
        self._followed: TrajectoryStore | None = None  # a store another process ingests into
        self._follow_interval_s = 0.5
        self._followed_at = float("-inf")

    def configure(self, **settings: Any) -> None:
        """Set thresholds (``exact_max``, ``ivf_min_nprobe``, ``nprobe_override``, ...) on this index.

        Settings made here are saved with the index (they stay with the store folder) and take
        effect at once: the index converts if its type no longer fits its size."""
        for name, value in settings.items():
            if name not in SETTINGS:
                raise ValueError(f"unknown vector index setting {name!r}; known: {list(SETTINGS)}")
            setattr(self, name, value)
        self._explicit.update(settings)
        if hasattr(self, "_index"):
            with self._lock:
                if self.kind == IVF:
                    self._index.nprobe = self._nprobe(self._index)
                self.dirty = True
            self._maybe_convert()

    # -- construction -------------------------------------------------------------------------
    def _new_flat(self) -> Any:
        return self._faiss.IndexIDMap2(self._faiss.IndexFlatIP(self.dim))

    def nlist_for(self, n: int) -> int:
        nlist = min(self.ivf_max_lists, max(16, round(self.ivf_lists_factor * math.sqrt(max(n, 1)))))
        return int(max(1, min(nlist, n // 2)))  # never more lists than training points (tiny stores)

    def wanted_kind(self, n: int) -> str:
        """The index type for ``n`` vectors, with hysteresis around ``exact_max``."""
        if n > self.exact_max:
            return IVF
        if self.kind == IVF and n > self.exact_max // 2:
            return IVF
        return FLAT

    def _build(self, keys: np.ndarray, vectors: np.ndarray, kind: str) -> tuple[Any, int]:
        """A new index of ``kind`` holding ``vectors``; returns it and the size it was trained at."""
        faiss = self._faiss
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        if kind == FLAT:
            index = self._new_flat()
            if len(keys):
                index.add_with_ids(vectors, keys)
            return index, 0
        n = len(keys)
        nlist = self.nlist_for(n)
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = self.ivf_train_iterations
        index.cp.max_points_per_centroid = max(self.ivf_train_points_per_list, 1)
        index.cp.min_points_per_centroid = 1  # small indexes (tests) train on few points: no warning
        sample = min(n, nlist * self.ivf_train_points_per_list)
        rng = np.random.default_rng(12345)
        pick = np.sort(rng.choice(n, size=sample, replace=False)) if sample < n else np.arange(n)
        index.train(vectors[pick])
        index.nprobe = self._nprobe(index)
        for start in range(0, n, 100_000):
            index.add_with_ids(vectors[start : start + 100_000], keys[start : start + 100_000])
        index.own_fields = True
        quantizer.this.disown()
        return index, n

    def _nprobe(self, index: Any) -> int:
        nlist = int(index.nlist)
        if self.nprobe_override:
            return max(1, min(nlist, int(self.nprobe_override)))
        return max(1, min(nlist, max(self.ivf_min_nprobe, nlist // self.ivf_nprobe_divisor)))

    def _dump(self, index: Any) -> tuple[np.ndarray, np.ndarray]:
        """(keys, vectors) of everything in ``index`` (either type)."""
        faiss = self._faiss
        n = int(index.ntotal)
        if n == 0:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        if isinstance(index, faiss.IndexIDMap2) or hasattr(index, "id_map"):
            keys = faiss.vector_to_array(index.id_map).astype(np.int64)
            vectors = faiss.rev_swig_ptr(faiss.downcast_index(index.index).get_xb(), n * self.dim)
            return keys, np.array(vectors, dtype=np.float32).reshape(n, self.dim)
        ivf = faiss.extract_index_ivf(index)
        invlists = ivf.invlists
        keys_parts, vec_parts = [], []
        for lst in range(ivf.nlist):
            size = invlists.list_size(lst)
            if size == 0:
                continue
            keys_parts.append(np.array(faiss.rev_swig_ptr(invlists.get_ids(lst), size), dtype=np.int64))
            codes = faiss.rev_swig_ptr(invlists.get_codes(lst), size * invlists.code_size)
            vec_parts.append(np.array(codes, dtype=np.uint8).view(np.float32).reshape(size, self.dim))
        return np.concatenate(keys_parts), np.vstack(vec_parts)

    def __len__(self) -> int:
        with self._lock:
            return int(self._index.ntotal)

    def info(self) -> dict[str, Any]:
        """Type and parameters, for stats and benchmarks."""
        with self._lock:
            out: dict[str, Any] = {"kind": self.kind, "ntotal": int(self._index.ntotal), "exact_max": self.exact_max}
            if self.kind == IVF:
                out.update(nlist=int(self._index.nlist), nprobe=int(self._index.nprobe), trained_at=self.trained_at)
            return out

    # -- following another process's ingestion ------------------------------------------------
    def follow(self, store: TrajectoryStore | None, interval_s: float = 0.5) -> None:
        """Pull what another process ingests into ``store`` (new vectors, deletions) before each
        search, at most every ``interval_s``. ``None``: this process ingests and owns the index."""
        self._followed = store
        self._follow_interval_s = interval_s
        self._followed_at = float("-inf")

    def catch_up(self, store: TrajectoryStore, *, force: bool = False) -> int:
        """Apply the store's deletions and add its newer vectors now; returns how many were added.

        A follower never saves: the ingesting process owns the file on disk."""
        now = time.monotonic()
        if not force and now - self._followed_at < self._follow_interval_s:
            return 0
        self._followed_at = now
        self.apply_deletions(store)
        added = self._read_new(store) if store.max_key() > self.watermark else 0
        if added:
            self._maybe_convert()
        if self._followed is not None:
            self.dirty = False
        return added

    def apply_deletions(self, store: TrajectoryStore) -> int:
        """Remove the vectors the store deleted (in any process) since this index's generation."""
        if store.deletion_generation() == self.generation:
            return 0
        keys, generation = store.deleted_keys_since(self.generation)
        return self.remove(keys, generation)

    # -- lifecycle -------------------------------------------------------------------------
    def sync(self, store: TrajectoryStore) -> str:
        """Load from disk, then rebuild or catch up from ``store``. Returns what it did."""
        with self._lock:
            self._store = store
            generation = store.deletion_generation()
            loaded = self._load()
            if not loaded or self.generation != generation:
                if loaded:
                    self.rebuild_reason = "older than a deletion"
                self.rebuild(store)
                return "rebuilt"
            added = self._read_new(store)
            self.generation = generation
            self._maybe_convert()
            return f"caught up {added}" if added else "loaded"

    def _read_new(self, store: TrajectoryStore) -> int:
        """Add the store's vectors above the watermark that the index lacks; returns how many.

        Afterwards the watermark is the highest key read, so it covers every vector it promises."""
        added = 0
        with self._lock:
            for keys, vectors in store.iter_embeddings(after_key=self.watermark):
                fresh = np.fromiter((k not in self._live_keys for k in keys.tolist()), dtype=bool, count=len(keys))
                if fresh.any():
                    self._add_unlocked(keys[fresh], vectors[fresh])
                    added += int(fresh.sum())
                self.watermark = max(self.watermark, int(keys[-1]))
            self._live_keys = {k for k in self._live_keys if k > self.watermark}
            self.dirty = self.dirty or added > 0
        return added

    def rebuild(self, store: TrajectoryStore) -> int:
        """Rebuild from the store (the source of truth), choosing the index type by size."""
        key_parts, vec_parts = [], []
        for keys, vectors in store.iter_embeddings():
            key_parts.append(keys)
            vec_parts.append(vectors)
        keys = np.concatenate(key_parts) if key_parts else np.zeros(0, np.int64)
        vectors = np.vstack(vec_parts) if vec_parts else np.zeros((0, self.dim), np.float32)
        del key_parts, vec_parts
        with self._lock:
            kind = IVF if len(keys) > self.exact_max else FLAT
            self._index, self.trained_at = self._build(keys, vectors, kind)
            self.kind = kind
            self.watermark = int(keys.max()) if len(keys) else 0
            self._live_keys = set()
            self._store = store
            self.generation = store.deletion_generation()
            self.dirty = True
            return int(self._index.ntotal)

    def _load(self) -> bool:
        if not self.path.exists() or not self.meta_path.exists():
            self.rebuild_reason = "missing"
            return False
        try:
            meta = json.loads(self.meta_path.read_text())
            raw = np.fromfile(self.path, dtype=np.uint8)
            digest = meta.get("crc32")
            if digest is None:
                raise ValueError("no checksum in the sidecar (written by an older version)")
            if zlib.crc32(raw) != digest:
                raise ValueError("checksum mismatch: the file was changed or corrupted after it was saved")
            index = self._faiss.deserialize_index(raw)
            del raw
            if index.d != self.dim or int(meta.get("ntotal", -1)) != index.ntotal:
                raise ValueError("index and sidecar disagree")
            kind = meta.get("kind", FLAT)
            if kind not in (FLAT, IVF):
                raise ValueError(f"unknown index kind {kind!r}")
        except Exception as exc:  # noqa: BLE001 - any unreadable cache is rebuilt
            self.rebuild_reason = f"unreadable: {exc}"
            _log.warning("vector index at %s unreadable (%s); rebuilding from SQLite", self.path, exc)
            return False
        for name, value in (meta.get("settings") or {}).items():
            if name in SETTINGS and name not in self._explicit:
                setattr(self, name, value)
        if kind == IVF:
            index.nprobe = self._nprobe(index)
        self._index = index
        self.kind = kind
        self.trained_at = int(meta.get("trained_at", 0))
        self.watermark = int(meta.get("watermark", 0))
        self._live_keys = set()
        self.generation = int(meta.get("generation", -1))
        self.rebuild_reason = None
        return True

    def save(self) -> None:
        """Write atomically (temp file + rename) so a crash leaves the old or the new index.

        First catches up from the store it synced with, so the watermark written covers exactly
        the vectors written; the sidecar carries their CRC-32 for the next open to verify."""
        with self._lock:
            if self._store is not None:
                self._read_new(self._store)
            data = self._faiss.serialize_index(self._index)
            tmp = self.path.with_suffix(".faiss.tmp")
            with open(tmp, "wb") as handle:
                handle.write(memoryview(data))
                handle.flush()
                os.fsync(handle.fileno())
            meta = {"watermark": self.watermark, "generation": self.generation, "ntotal": int(self._index.ntotal),
                    "dim": self.dim, "kind": self.kind, "trained_at": self.trained_at, "crc32": zlib.crc32(data),
                    "settings": {name: getattr(self, name) for name in sorted(self._explicit)}}
            del data
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
        self._maybe_convert()

    def _add_unlocked(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        if len(keys) == 0:
            return
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._index.remove_ids(keys)  # upserts replace, never duplicate
        self._index.add_with_ids(vectors, keys)
        self._live_keys.update(k for k in keys.tolist() if k > self.watermark)
        if self._log_ops is not None:
            self._log_ops.append(("add", keys.copy(), vectors.copy()))

    def remove(self, keys: list[int], generation: int) -> int:
        with self._lock:
            arr = np.asarray(list(keys), dtype=np.int64)
            removed = int(self._index.remove_ids(arr)) if len(arr) else 0
            if self._log_ops is not None and len(arr):
                self._log_ops.append(("remove", arr, None))
            self.generation = generation
            self.dirty = True
            return removed

    def _maybe_convert(self) -> None:
        """Switch exact <-> IVF (or retrain a grown IVF) from the vectors already held.

        The heavy part (training, adding) runs without the lock, so searches keep using the old
        index; changes made meanwhile are logged and replayed on the new one before the swap.
        """
        with self._lock:
            n = int(self._index.ntotal)
            want = self.wanted_kind(n)
            regrow = self.kind == IVF and want == IVF and self.trained_at and n > self.retrain_growth * self.trained_at
            if self._converting or (want == self.kind and not regrow):
                return
            self._converting = True
            self._log_ops = []
            keys, vectors = self._dump(self._index)
        try:
            new, trained_at = self._build(keys, vectors, want)
            del keys, vectors
            with self._lock:
                for op, k, v in self._log_ops or []:
                    new.remove_ids(k)
                    if op == "add":
                        new.add_with_ids(v, k)
                self._index, self.kind, self.trained_at = new, want, trained_at
                self.dirty = True
                self.conversions += 1
                _log.info("flywheel: vector index is now %s (%d vectors)", want, int(new.ntotal))
        except Exception as exc:  # noqa: BLE001 - the old index keeps serving
            _log.warning("flywheel: converting the vector index failed: %s", exc)
        finally:
            with self._lock:
                self._converting = False
                self._log_ops = None

    # -- search ------------------------------------------------------------------------------
    def search(
        self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None, nprobe: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, keys) per query; missing slots have key -1.

        ``allowed``: a boolean array indexed by key (``allowed[key]``) or an array of keys; only
        those keys can be returned, and the restriction applies inside FAISS, before the top-k cut.
        An IVF search that finds fewer than ``k`` allowed vectors widens ``nprobe`` until it does
        or every list was scanned.
        """
        if self._followed is not None:  # another process ingests: pull its new vectors first
            self.catch_up(self._followed)
        faiss = self._faiss
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        empty = np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        bitmap = None
        if allowed is not None:
            allowed = np.asarray(allowed)
            if allowed.dtype != np.bool_:
                keys = allowed.astype(np.int64)
                mask = np.zeros(int(keys.max()) + 1 if len(keys) else 0, dtype=bool)
                mask[keys[keys >= 0]] = True
                allowed = mask
            if not allowed.any():
                return empty
            bitmap = np.packbits(allowed, bitorder="little")
        with self._lock:
            index = self._index
            ntotal = int(index.ntotal)
            if ntotal == 0 or k <= 0:
                return empty
            k = min(k, ntotal)
            sel = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap)) if bitmap is not None else None
            if self.kind == FLAT:
                params = faiss.SearchParameters(sel=sel) if sel is not None else None
                return index.search(queries, k, params=params)
            nlist = int(index.nlist)
            probe = max(1, min(nlist, int(nprobe or index.nprobe)))
            while True:
                params = faiss.SearchParametersIVF(nprobe=probe)
                if sel is not None:
                    params.sel = sel
                scores, keys = index.search(queries, k, params=params)
                if probe >= nlist or int((keys >= 0).sum(axis=1).min()) >= k:
                    return scores, keys
                probe = min(nlist, probe * 4)
