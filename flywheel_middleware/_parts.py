"""The parts of one flywheel, opened from its settings: store, vector index, queue, embedder, consent.

``Flywheel`` (the facade, in the agent's process) and the worker process (``worker_process.py``)
open the same parts the same way, so neither needs the other. Everything above takes the parts
it uses, typed, rather than the facade.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._stats import Counters
from .config import FlywheelConfig
from .queue import DurableQueue
from .records import RecordError, Signal, to_jsonable
from .store.base import SimilarityIndex, TrajectoryStore

if TYPE_CHECKING:
    from .consent import ConsentRegistry
    from .embedding import Embedder
    from .privacy.records import Redacting

_log = logging.getLogger("flywheel_middleware")


@dataclass
class Parts:
    """The store folder's parts, shared by whoever records and whoever ingests in this process."""

    path: Path
    config: FlywheelConfig
    counters: Counters
    store: TrajectoryStore
    queue: DurableQueue
    index: SimilarityIndex
    embedder: Embedder
    consent: ConsentRegistry
    index_sync_action: str  # what opening the index did ("loaded", "rebuilt", "caught up N")

    def make_redactor(self) -> Redacting:
        """A new ``Redactor`` with the ``redaction`` settings (the worker's, the export's)."""
        from .privacy import RedactionConfig, Redactor

        return Redactor(RedactionConfig(**self.config.redaction))

    def encode(self, kind: str, data: Any) -> bytes:
        """The queue line for a record. Huge payloads are truncated (and counted), not rejected:
        the turn is still worth keeping."""
        payload = self.queue.encode(kind, data)
        if len(payload) <= self.config.max_record_bytes:
            return payload
        self.counters.inc("truncated_records")
        if hasattr(data, "to_dict"):
            data = data.to_dict()
        limit = max(1000, self.config.max_text_chars)
        while True:
            payload = self.queue.encode(kind, _truncate_strings(data, limit))
            if len(payload) <= self.config.max_record_bytes or limit <= 1000:
                return payload
            limit //= 4

    def append_signal(self, signal: Signal) -> bool:
        """Validate, drop if the actor opted out, append to the durable queue. Never raises."""
        try:
            if not isinstance(signal, Signal):
                raise RecordError(f"add_signal() takes a Signal, got {type(signal).__name__}")
            signal.validate()
            if signal.actor and self.consent.is_opted_out(signal.actor):
                self.counters.inc("dropped_opted_out")
                return False
            self.queue.append_payload(self.encode("s", signal))
        except Exception as exc:  # noqa: BLE001 - never break the agent
            self.counters.warn("rejected_signals", "flywheel: signal rejected: %r", exc)
            return False
        self.counters.inc("signals_recorded")
        return True

    def close(self) -> None:
        self.queue.close()
        self.store.close()


def open_parts(config: FlywheelConfig, counters: Counters | None = None) -> Parts:
    """Open (or create) the store, queue, vector index and consent registry of ``config.path``.

    The folder itself must already be a flywheel folder (``Flywheel`` checks and creates it).
    """
    from .consent import ConsentRegistry
    from .store.index import VectorIndex

    path = Path(config.path)
    counters = counters or Counters()
    embedder = config.embedder or _default_embedder(config)
    dim = int(getattr(embedder, "dim", 384))
    store = _open_store(config, path, dim, counters)
    queue = DurableQueue(path / "queue", max_bytes=config.max_queue_bytes, segment_bytes=config.segment_bytes,
                         segment_max_age_s=config.segment_max_age_s, segment_idle_s=config.segment_idle_s,
                         fsync_interval_s=config.fsync_interval_s)
    index: Any = VectorIndex(path / "index.faiss", dim=dim)
    if config.store is not None:  # a cache of every replica's vectors, following the database's key order
        from .store.following_index import StoreFollowingIndex

        index = StoreFollowingIndex(index, store)
    action = index.sync(store)
    index.follow(store)  # until this process owns the folder, another one ingests
    return Parts(path=path, config=config, counters=counters, store=store, queue=queue, index=index, embedder=embedder,
                 consent=ConsentRegistry(store), index_sync_action=action)


def _open_store(config: FlywheelConfig, path: Path, dim: int, counters: Counters) -> TrajectoryStore:
    """The embedded SQLite file in the folder, or (``store = "postgresql://..."``) the shared database,
    where this folder's queue offsets are kept under the replica id its ``flywheel.json`` names."""
    if config.store is None:
        from .store.sqlite import SQLiteStore

        return SQLiteStore(path / "store.sqlite")
    from .store.postgres import PostgresStore
    from .store.replica import prepare_queue_dir

    return PostgresStore(config.store, replica=prepare_queue_dir(path, config.store), dim=dim,
                         on_unavailable=lambda: counters.inc("store_unavailable"))


def _default_embedder(config: FlywheelConfig) -> Embedder:
    from .embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(config.embedding_model, threads=config.torch_threads, quantize=config.embedding_quantize,
                                       progress=config.model_progress)


def _truncate_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + f"…[truncated {len(value) - limit} chars]"
    if isinstance(value, dict):
        return {k: _truncate_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_truncate_strings(v, limit) for v in value]
    return to_jsonable(value)
