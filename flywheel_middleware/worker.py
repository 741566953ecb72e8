"""The background ingest worker: queue -> redact -> embed -> store -> index -> processors.

Everything slow or fallible happens here, never on the agent's thread. A failing stage is retried
with exponential backoff and counted; records stay in the durable queue until they are stored, so
a fault costs latency, not data. Nothing is stored before it is redacted.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ._stats import Counters
from .config import FlywheelConfig
from .dead_letters import DeadLetters
from .privacy.records import Redacting, redact_interactions, redact_signal
from .processors.base import Processor
from .queue import DurableQueue, QueuedItem
from .records import Interaction, RecordError, Signal
from .store.base import SimilarityIndex, StoredInteraction, TrajectoryStore

if TYPE_CHECKING:
    from .embedding import Embedder

_log = logging.getLogger("flywheel_middleware")
_QUARANTINE_AFTER = 5


@dataclass
class _Batch:
    interactions: list[Interaction] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    cursors: dict[str, int] = field(default_factory=dict)
    nbytes: int = 0


def _shape(value: Any) -> str:
    """What an unreadable input looked like, without its content: its type and its keys."""
    if isinstance(value, dict):
        return f"dict with keys {sorted(map(str, value))[:8]}"
    return type(value).__name__


class IngestWorker(threading.Thread):
    """Drains the durable queue in batches; one per store folder (guarded by a file lock)."""

    def __init__(
        self,
        *,
        queue: DurableQueue,
        store: TrajectoryStore,
        index: SimilarityIndex,
        redactor_factory: Callable[[], Redacting],
        embedder: Embedder | None,
        counters: Counters,
        config: FlywheelConfig,
        processors: Processor,
        record_filter: Callable[[str, dict[str, Any]], bool] | None = None,
        maintenance: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="flywheel-ingest", daemon=True)
        self.queue = queue
        self.dead_letters = DeadLetters(queue.directory)
        self.store = store
        self.index = index
        self._redactor_factory = redactor_factory
        self._redactor: Redacting | None = None
        self.embedder = embedder
        self.counters = counters
        self.config = config
        self.processors = processors
        self.record_filter = record_filter
        self.maintenance = maintenance
        self.wakeup = threading.Event()
        self._stop_event = threading.Event()
        self._progress = threading.Condition()
        self._last_fsync = time.monotonic()
        self._last_index_save = time.monotonic()
        self.last_ingest_at: float | None = None
        self.last_error: str | None = None
        self.pause = threading.Event()  # set by maintenance (erasure) to hold ingestion
        self._transient: tuple[type[BaseException], ...] = (*store.transient_errors, OSError)

    # -- control -------------------------------------------------------------------------------
    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop_event.set()
        self.wakeup.set()
        self.join(timeout)

    def wait_for(self, targets: dict[str, int], timeout: float) -> bool:
        """Block until every segment in ``targets`` is stored *and processed* up to its offset (or gone)."""
        deadline = time.monotonic() + timeout
        with self._progress:
            while True:
                cursors = self.store.processed_cursors()
                present = set(self.queue.segments())
                if all(name not in present or cursors.get(name, 0) >= end for name, end in targets.items()):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.is_alive():
                    return False
                self.wakeup.set()
                self._progress.wait(min(remaining, 0.05))

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        # a crash between a batch's commit and its processors must not make flush() wait forever
        self.store.mark_processed(self.store.cursors())
        try:
            self.dead_letters.upgrade_legacy()  # an older version wrote raw records there
        except OSError as exc:
            self.counters.warn("dead_letter_errors", "flywheel: cannot rewrite the old dead-letter file: %s", exc)
        backoff = 0.05
        failures = 0
        while not self._stop_event.is_set():
            try:
                if self.pause.is_set():
                    time.sleep(0.01)
                    continue
                did = self._quarantine_one() if failures >= _QUARANTINE_AFTER else self.step()
                backoff, failures = 0.05, 0
                if not did:
                    self._maintenance()
                    self.wakeup.wait(self.config.flush_interval_s)
                    self.wakeup.clear()
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any fault
                # infrastructure faults (locked database, full disk) are retried forever: the data
                # waits in the queue. Anything else may be one poison record: isolate it.
                if not isinstance(exc, self._transient):
                    failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.counters.warn("worker_errors", "flywheel worker: %s (retrying in %.2fs)", self.last_error, backoff)
                self._stop_event.wait(backoff)
                backoff = min(backoff * 2, self.config.max_backoff_s)
        # drain what is left quickly on a clean stop
        try:
            while self.step():
                pass
            self._maintenance(force=True)
        except Exception as exc:  # noqa: BLE001
            self.counters.warn("worker_errors", "flywheel worker at shutdown: %s", exc)

    def step(self) -> bool:
        """Process one batch; returns False when the queue had nothing new."""
        cursors = self.store.cursors()
        items = list(self.queue.read(cursors, self.config.batch_size))
        if not items:
            self._skip_torn_tails(cursors)
            return False
        batch = self._decode(items)
        self._ingest(batch)
        # counters first: once flush() sees the batch processed, stats() in any process counts it
        self.store.publish_counters(self.counters.snapshot())
        self.store.mark_processed(batch.cursors)
        with self._progress:
            self._progress.notify_all()
        return True

    def _quarantine_one(self) -> bool:
        """Ingest the next record alone; if it still fails, move it to the dead-letter file."""
        cursors = self.store.cursors()
        items = list(self.queue.read(cursors, 1))
        if not items:
            return False
        try:
            self._ingest(self._decode(items))
        except self._transient:
            raise
        except Exception as exc:  # noqa: BLE001
            item = items[0]
            entry = self.dead_letters.add(item.kind, item.data, exc, segment=item.segment, offset=item.end_offset,
                                          redactor=self._redactor_if_any())
            self.store.ingest([], [], {item.segment: item.end_offset})
            self.store.mark_processed({item.segment: item.end_offset})
            self.counters.warn("dead_lettered", "flywheel: a record failed %d times and went to %s (%s): %s", _QUARANTINE_AFTER,
                               self.dead_letters.path.name, entry["redaction"], entry["error"])
        return True

    def _redactor_if_any(self) -> Any:
        try:
            return self._get_redactor()
        except Exception:  # noqa: BLE001 - no redactor: the dead letter keeps ids only
            return None

    def _decode(self, items: list[QueuedItem]) -> _Batch:
        batch = _Batch()
        for item in items:
            batch.cursors[item.segment] = max(batch.cursors.get(item.segment, 0), item.end_offset)
            try:
                if self.record_filter is not None and not self.record_filter(item.kind, item.data):
                    self.counters.inc("dropped_by_filter")
                    continue
                if item.kind == "i":
                    batch.interactions.append(Interaction.from_dict(item.data))
                elif item.kind == "s":
                    batch.signals.append(Signal.from_dict(item.data))
                else:
                    self.counters.warn("queue_corrupt_records", "flywheel: unreadable queue record in %s: %s", item.segment, item.data.get("error"))
            except (RecordError, TypeError, ValueError) as exc:
                self.counters.warn("queue_corrupt_records", "flywheel: bad queue record in %s: %s", item.segment, exc)
        return batch

    def _ingest(self, batch: _Batch) -> None:
        redactor = self._get_redactor()
        # the same id recorded twice in one batch: the last one wins, as it would across batches
        latest: dict[str, Interaction] = {}
        for it in batch.interactions:
            latest[it.id] = it
        interactions = list(latest.values())
        t0 = time.perf_counter()
        redacted = redact_interactions(interactions, redactor)
        sessions = {it.id: it.session_id for it in interactions}
        signals = [redact_signal(s, redactor, sessions.get(s.interaction_id)) for s in batch.signals]
        t1 = time.perf_counter()
        readable = [i for i, it in enumerate(redacted) if it.fill_text().input.strip()]
        unreadable = [i for i in range(len(redacted)) if i not in set(readable)]
        if unreadable:
            self.counters.warn("empty_turn_text", "flywheel: a turn with no readable input text (input: %s) is stored"
                               " but neither embedded nor judged by the detectors (counted in stats()['counters']['empty_turn_text'])",
                               _shape(redacted[unreadable[0]].input))
            if len(unreadable) > 1:
                self.counters.inc("empty_turn_text", len(unreadable) - 1)
        embeddings = self._embed([redacted[i].input_text for i in readable])
        if embeddings is not None and unreadable:  # rows of unreadable turns stay zero and get no vector
            full = np.zeros((len(redacted), self.index.dim), np.float32)
            full[readable] = embeddings
            embeddings = full
        t2 = time.perf_counter()
        has_vector = set(readable) if embeddings is not None else set()
        stored = [StoredInteraction(it, embeddings[i] if i in has_vector else None) for i, it in enumerate(redacted)]
        keys = self.store.ingest(stored, signals, batch.cursors)
        t3 = time.perf_counter()
        if embeddings is not None and keys:
            pos = [i for i in range(len(keys)) if i in has_vector]
            if pos:
                self.index.add(np.asarray([keys[i] for i in pos], dtype=np.int64), embeddings[pos])
        self.counters.inc("ingested_interactions", len(stored))
        self.counters.inc("ingested_signals", len(signals))
        self.counters.inc("time_redact_us", int((t1 - t0) * 1e6))
        self.counters.inc("time_embed_us", int((t2 - t1) * 1e6))
        self.counters.inc("time_store_us", int((t3 - t2) * 1e6))
        self.last_ingest_at = time.time()
        self.processors.on_ingested(redacted, embeddings, signals)  # a composite: failures are counted there

    def _get_redactor(self) -> Redacting:
        if self._redactor is None:
            self._redactor = self._redactor_factory()
        return self._redactor

    def _embed(self, texts: list[str]) -> np.ndarray | None:
        if not texts:
            return np.zeros((0, self.index.dim), dtype=np.float32)
        delay = 0.05
        for attempt in range(self.config.embed_retries):
            try:
                return self.embedder.embed(texts)
            except Exception as exc:  # noqa: BLE001 - a broken model degrades to "stored without a vector"
                self.counters.warn("embed_errors", "flywheel: embedding failed (%s), attempt %d", exc, attempt + 1)
                if self._stop_event.wait(delay):
                    break
                delay = min(delay * 4, self.config.max_backoff_s)
        self.counters.inc("stored_without_embedding", len(texts))
        return None

    # -- housekeeping ------------------------------------------------------------------------------
    def _skip_torn_tails(self, cursors: dict[str, int]) -> None:
        """A finished segment with bytes left but no complete line ends in a torn write: skip it."""
        for name in self.queue.segments():
            size = self.queue.size_of(name)
            done = cursors.get(name, 0)
            if self.queue.is_complete(name):
                if done < size:
                    self.counters.warn("queue_torn_records", "flywheel: skipped a torn record at the end of %s", name)
                    self.store.ingest([], [], {name: size})
                self.queue.discard(name)
                self.store.forget_processed(name)
                self.store.drop_cursor(name)

    def _maintenance(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_fsync >= self.config.fsync_interval_s:
            self.queue.fsync()
            self._last_fsync = now
            self.queue.set_pending(self.queue.pending_bytes(self.store.cursors()))
            self.store.publish_counters(self.counters.snapshot())
        if self.index.dirty and (force or now - self._last_index_save >= self.config.index_save_interval_s):
            try:
                self.index.save()
            except OSError as exc:
                self.counters.warn("index_save_errors", "flywheel: saving the vector index failed: %s", exc)
            self._last_index_save = now
        if self.embedder is not None and not force:
            self._reembed_missing()
        if not force and self.maintenance is not None:
            try:
                self.maintenance()
            except Exception as exc:  # noqa: BLE001
                self.counters.warn("maintenance_errors", "flywheel maintenance failed: %s", exc)
        if not force:
            self.processors.on_idle()

    def _reembed_missing(self) -> None:
        """Interactions stored without a vector (the model was down) get one when it is back."""
        if self.counters.get("stored_without_embedding") <= self.counters.get("reembedded"):
            return
        missing = self.store.missing_embeddings(limit=self.config.batch_size)
        if not missing:
            return
        try:
            vectors = self.embedder.embed([it.input_text for it in missing])
        except Exception:  # noqa: BLE001 - still down; try again next idle tick
            return
        keys = self.store.set_embeddings([(it.id, vectors[i]) for i, it in enumerate(missing)])
        self.index.add(np.asarray(keys, dtype=np.int64), vectors[: len(keys)])
        self.counters.inc("reembedded", len(keys))
