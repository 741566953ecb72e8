"""The background ingest worker: queue -> redact -> embed -> store -> index -> processors.

Everything slow or fallible happens here, never on the agent's thread. Nothing is stored before it
is redacted. Faults fall in three kinds:

* *Transient* (the database is locked or full, the disk fails): retried with exponential backoff
  up to ``max_backoff_s``, forever; the records wait in the durable queue, so a fault costs
  latency, not data. Each one is counted (``worker_errors``) and is the ``last_error``.
* *One bad record* (something in it breaks redaction or storage): the batch is split into small
  chunks at once, the chunk that fails is ingested record by record, and the record that still
  fails goes to the dead-letter file (``dead_lettered``). The rest of the batch is stored; the
  cost is about one batch of extra work, not one retry cycle per record.
* *Systemic* (every record of a chunk fails the same way: the redactor cannot load, say): treated
  as transient, so a broken component never dead-letters good records.

Derived processing (rewards, implicit signals, Phoenix annotations) is *at least once*: the store
keeps two offsets per segment, committed (stored) and processed; after a crash between the two,
or a transient fault inside a processor, the worker re-reads the committed-but-unprocessed
records from the queue, loads them from the store and runs the processors again (they are
idempotent). Segments are deleted only once processed.
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
from .errors import StoreError
from .privacy.records import Redacting, redact_interactions, redact_signal
from .processors.base import Processor
from .queue import DurableQueue, QueuedItem
from .records import Interaction, RecordError, Signal
from .store.base import InteractionQuery, SimilarityIndex, StoredInteraction, TrajectoryStore

if TYPE_CHECKING:
    from .embedding import Embedder

_log = logging.getLogger("flywheel_middleware")
_CHUNKS = 16  # a failing batch is retried in this many chunks
_ALIKE_MAX = 3  # more single records than this failing with the same error: the fault is not in them
_STORE_WAIT_S = 1.0  # the worker's wait for another process's database lock before it backs off (and says so)


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
        self.last_error_at: float | None = None
        self.errors = 0  # faults seen (each retried)
        self.backing_off_until = 0.0  # wall time the current backoff ends (0: not backing off)
        self.on_report: Callable[[], None] | None = None  # the owner publishes health (at once on a fault)
        self._reported_at = 0.0
        self.pause = threading.Event()  # set by maintenance (erasure) to hold ingestion
        self._transient: tuple[type[BaseException], ...] = (*store.transient_errors, OSError, ProcessingDeferred)
        self._check_processed = True  # look for committed-but-unprocessed records (a crash) first
        self._alike: list[str] = []  # the run of records that failed alone with the same error, across batches
        self.died_with: str | None = None  # set if the thread ever ends by an exception
        self.halted: str | None = None  # the store failed its integrity check: stop writing to it

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
        try:
            self._run()
        except BaseException as exc:  # the owner's watcher sees the thread gone and restarts it
            self.died_with = f"{type(exc).__name__}: {str(exc)[:300]}"
            raise

    def _run(self) -> None:
        set_busy_timeout = getattr(self.store, "set_thread_busy_timeout", None)
        if set_busy_timeout is not None:
            set_busy_timeout(_STORE_WAIT_S)
        try:
            self.dead_letters.upgrade_legacy()  # an older version wrote raw records there
        except OSError as exc:
            self.counters.warn("dead_letter_errors", "flywheel: cannot rewrite the old dead-letter file: %s", exc)
        backoff = 0.05
        while not self._stop_event.is_set():
            try:
                if self.pause.is_set():
                    time.sleep(0.01)
                    continue
                if self.halted is not None:
                    raise StoreError(self.halted)  # a corrupt store: records wait in the queue, nothing is written
                if self._check_processed:
                    self._process_committed()
                did = self.step()
                backoff = 0.05
                self.backing_off_until = 0.0
                if not did:
                    self._maintenance()
                    self.wakeup.wait(self.config.flush_interval_s)
                    self.wakeup.clear()
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any fault
                self._fault(exc, backoff)
                self._stop_event.wait(backoff)
                backoff = min(backoff * 2, self.config.max_backoff_s)
        self.finish_queue()  # drain what is left quickly on a clean stop

    def finish_queue(self) -> None:
        """Ingest and process what is queued now, in the calling thread (the worker's own at its
        stop, the owner's after it, for the signals processors emitted meanwhile)."""
        try:
            if self._check_processed:
                self._process_committed()
            while self.step():
                pass
            self._maintenance(force=True)
        except Exception as exc:  # noqa: BLE001
            self._fault(exc, 0.0, "at shutdown")

    def _fault(self, exc: BaseException, backoff: float, where: str = "") -> None:
        """Record a fault (counted, the last error, health published at once); retried by the caller."""
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {str(exc)[:300]}"
        self.last_error_at = time.time()
        self.backing_off_until = time.time() + backoff if backoff else 0.0
        self.counters.warn("worker_errors", "flywheel worker%s: %s (retrying in %.2fs)", f" {where}" if where else "",
                           self.last_error, backoff)
        self._report(force=True)

    def _report(self, force: bool = False) -> None:
        if self.on_report is None or (not force and time.monotonic() - self._reported_at < 0.25):
            return
        self._reported_at = time.monotonic()
        try:
            self.on_report()
        except Exception:  # noqa: BLE001 - reporting must not become a second fault
            pass

    def step(self) -> bool:
        """Ingest and process one batch; returns False when the queue had nothing new."""
        cursors = self.store.cursors()
        items = list(self.queue.read(cursors, self.config.batch_size))
        if not items:
            self._delete_done_segments(cursors)
            return False
        self._ingest_isolating(items)
        self._finish(self._cursors_of(items))
        return True

    def _finish(self, cursors: dict[str, int]) -> None:
        # counters first: once flush() sees the batch processed, stats() in any process counts it
        self.store.publish_counters(self.counters.snapshot())
        self._report()
        self.store.mark_processed(cursors)
        with self._progress:
            self._progress.notify_all()

    @staticmethod
    def _cursors_of(items: list[QueuedItem]) -> dict[str, int]:
        cursors: dict[str, int] = {}
        for item in items:
            cursors[item.segment] = max(cursors.get(item.segment, 0), item.end_offset)
        return cursors

    # -- a bad record costs one batch of extra work, not the batch ---------------------------------
    def _ingest_isolating(self, items: list[QueuedItem]) -> None:
        """Ingest ``items`` (in queue order); a non-transient failure splits them, down to the
        record, which is dead-lettered. Transient faults propagate (the caller retries)."""
        self._get_redactor()  # a redactor that cannot load is systemic: raised, never blamed on a record
        try:
            self._ingest(self._decode(items))
            self._alike.clear()
            return
        except self._transient:
            raise
        except Exception as exc:  # noqa: BLE001 - maybe one poison record: isolate it
            if len(items) == 1:  # low traffic: a batch of one is judged like a single record of a split
                self._blame(items[0], exc, exc)
                return
            first_error = exc
        self.counters.inc("isolated_batches")
        size = max(1, -(-len(items) // _CHUNKS))
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            try:
                self._ingest(self._decode(chunk))
                self._alike.clear()
                continue
            except self._transient:
                raise
            except Exception:  # noqa: BLE001 - this chunk holds it: one record at a time
                pass
            for item in chunk:
                try:
                    self._ingest(self._decode([item]))
                    self._alike.clear()
                except self._transient:
                    raise
                except Exception as exc:  # noqa: BLE001
                    self._blame(item, exc, first_error)

    def _blame(self, item: QueuedItem, exc: Exception, first_error: BaseException) -> None:
        """A record failed alone: dead-letter it, unless the fault is plainly not in the record (the
        redactor fails on a canary too, or more than ``_ALIKE_MAX`` records in a row, across batches,
        failed with the same error); then ``SystemicFault`` is raised and the records wait."""
        if not self._redactor_works():
            raise SystemicFault(f"the redactor fails on any text ({exc!r:.200}); records are kept "
                                f"in the queue, not dead-lettered (the batch first failed with {first_error!r:.200})") from exc
        signature = f"{type(exc).__name__}: {exc}"
        self._alike = self._alike + [signature] if self._alike and self._alike[-1] == signature else [signature]
        if len(self._alike) > _ALIKE_MAX:
            raise SystemicFault(f"{len(self._alike)} records in a row failed alike ({signature[:200]}): a broken "
                                "component, not bad records; they wait in the queue") from exc
        self._dead_letter(item, exc)

    def _redactor_works(self) -> bool:
        """Whether the redactor handles a plain canary turn (if not, no record is to blame)."""
        try:
            redact_interactions([Interaction(input="flywheel canary: is the redactor working?", output="yes")], self._get_redactor())
            return True
        except Exception:  # noqa: BLE001
            return False

    def _dead_letter(self, item: QueuedItem, exc: BaseException) -> None:
        entry = self.dead_letters.add(item.kind, item.data, exc, segment=item.segment, offset=item.end_offset,
                                      redactor=self._redactor_if_any())
        self.store.ingest([], [], {item.segment: item.end_offset})
        self.counters.warn("dead_lettered", "flywheel: a record failed alone too and went to %s (%s): %s",
                           self.dead_letters.path.name, entry["redaction"], entry["error"])

    # -- at-least-once derived processing ------------------------------------------------------------
    def _process_committed(self) -> None:
        """Run the processors on records stored but not processed (a crash between the two, or a
        transient fault in a processor), loading them from the store; then mark them processed."""
        committed = self.store.cursors()
        processed = self.store.processed_cursors()
        present = set(self.queue.segments())
        gaps = {name: (processed.get(name, 0), end) for name, end in committed.items()
                if processed.get(name, 0) < end and name in present}
        for name, (start, end) in gaps.items():
            items = [item for item in self.queue.read_segment(name, start, end)]
            for at in range(0, len(items), self.config.batch_size):
                chunk = items[at : at + self.config.batch_size]
                batch = self._decode(chunk)
                self._reprocess(batch)
                self._finish({name: chunk[-1].end_offset})
            self._finish({name: end})  # whatever was dead-lettered or filtered in the gap
        if gaps:
            self.counters.inc("reprocessed_segments", len(gaps))
        self._check_processed = False

    def _reprocess(self, batch: _Batch) -> None:
        ids = list(dict.fromkeys(it.id for it in batch.interactions))
        found = {it.id: it for it in self.store.list_interactions(InteractionQuery(ids=ids, limit=None))} if ids else {}
        stored = [found[i] for i in ids if i in found]  # in queue order, as the first time
        wanted = {s.id for s in batch.signals}
        judged = list(dict.fromkeys(s.interaction_id for s in batch.signals))
        signals = [s for found in self.store.signals_for(judged).values() for s in found if s.id in wanted] if judged else []
        embeddings = None
        if stored:
            keys = np.asarray([self.store.key_of(it.id) or -1 for it in stored], dtype=np.int64)
            found, vectors = self.store.embeddings_for(keys)
            if bool(np.all(found)) and vectors.shape[1] == self.index.dim:
                embeddings = vectors
        if stored or signals:
            self.processors.on_ingested(stored, embeddings, signals)
            self.counters.inc("reprocessed_records", len(stored) + len(signals))

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
        if embeddings is None and stored:
            self.counters.inc("stored_without_embedding", len(stored))  # counted once stored, not per retry
        self.counters.inc("ingested_interactions", len(stored))
        self.counters.inc("ingested_signals", len(signals))
        self.counters.inc("time_redact_us", int((t1 - t0) * 1e6))
        self.counters.inc("time_embed_us", int((t2 - t1) * 1e6))
        self.counters.inc("time_store_us", int((t3 - t2) * 1e6))
        self.last_ingest_at = time.time()
        try:
            self.processors.on_ingested(redacted, embeddings, signals)  # a composite: failures are counted there
        except self._transient as exc:
            # stored, not processed: the loop retries the processing from the store (never re-ingests)
            self._check_processed = True
            raise ProcessingDeferred(f"stored; processing is retried: {type(exc).__name__}: {exc}") from exc

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
        return None

    # -- housekeeping ------------------------------------------------------------------------------
    def _delete_done_segments(self, cursors: dict[str, int]) -> None:
        """Delete every complete segment whose records are all stored and processed (their raw
        text goes with them); a complete segment ending in bytes that are no whole record was torn
        by a crash or a full disk: those bytes are skipped and counted."""
        processed = self.store.processed_cursors()
        for name in self.queue.segments():
            if not self.queue.is_complete(name):
                continue
            size = self.queue.size_of(name)
            done = cursors.get(name, 0)
            if processed.get(name, 0) < done:
                self._check_processed = True  # stored but not processed: process first, delete later
                continue
            if done < size:
                self.counters.warn("queue_torn_records", "flywheel: skipped a torn record at the end of %s", name)
                self.store.ingest([], [], {name: size})
            self.queue.discard(name)
            self.store.forget_processed(name)
            self.store.drop_cursor(name)

    def _check_integrity_once(self) -> None:
        """A store too big to check on open is checked here, once, in the background."""
        if getattr(self.store, "integrity_checked", True) or self.halted is not None:
            return
        try:
            self.store.check_integrity()
        except StoreError as exc:
            self.halted = str(exc)
            self.counters.warn("store_corrupt", "flywheel: %s; ingestion stopped (records wait in the queue)", exc)

    def _maintenance(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force:
            self._check_integrity_once()
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


class SystemicFault(RuntimeError):
    """Records fail alike one after another: the fault is in a component, not in them (retried)."""


class ProcessingDeferred(Exception):
    """A batch was stored but a processor hit a transient fault: its processing is retried."""
