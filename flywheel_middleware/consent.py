"""Consent, erasure and retention: who may be stored, who must be forgotten, what is too old.

- **Opt-out** (``fw.opt_out(user)``): from then on nothing of that user is recorded, traced or
  ingested: ``record()`` drops their turns, the LangChain handler neither captures nor traces
  them, and the worker drops anything of theirs still queued (their turns and the signals they
  sent).
- **Erasure** (``fw.forget(user)``): everything already kept about the user is deleted: their
  interactions with steps, decisions, signals and rewards, the signals they sent on other turns,
  their vectors in every FAISS index, the raw ingest-queue segments of every process writing to
  the folder (each is asked to close its segment; all written before the erasure are drained and
  deleted), and the dead-letter file; the database's write-ahead log is truncated. Records of theirs still in flight in another process are dropped
  by the worker (an erasure tombstone). The report lists the exported dataset versions that
  contained them, so those can be withdrawn; Phoenix traces must be deleted in Phoenix.
- **Retention** (``retention_days``): the worker deletes interactions older than N days hourly;
  ``fw.retain(days)`` / ``flywheel retain --days N`` do it on demand.

User ids are kept in these tables only as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .store.base import SimilarityIndex, TrajectoryStore

if TYPE_CHECKING:
    from .queue import DurableQueue

from .errors import StoreUnavailableError


def user_hash(user_id: str) -> str:
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:32]


@dataclass
class ErasureReport:
    """What ``forget()`` removed, and where copies may still live."""

    user_hash: str
    erased_at: float
    interactions_deleted: int = 0
    signals_deleted: int = 0
    vectors_removed: int = 0
    queue_segments_deleted: int = 0
    dead_letters_removed: int = 0
    exported_versions: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ConsentRegistry:
    """Opt-outs and erasure tombstones, cached in memory for the hot path, persisted in the store.

    ``is_opted_out`` (called by ``record()`` on the agent's thread) never touches the store: when
    the cache is older than a few seconds it starts a background reload and answers from the
    cache meanwhile, so a locked or slow database never holds up a turn. Another process's
    opt-out therefore reaches this process's hot path within about ``_REFRESH_S`` seconds (the
    worker also drops the user's records it finds queued)."""

    _REFRESH_S = 5.0

    def __init__(self, store: TrajectoryStore) -> None:
        self.store = store
        self._opted_out: frozenset[str] = frozenset()
        self._erased: dict[str, float] = {}
        self._loaded_at = 0.0
        self._refreshing = threading.Lock()
        try:
            self.refresh()
        except StoreUnavailableError:  # a database that is down: the worker re-checks before ingesting
            self._loaded_at = 0.0

    def refresh(self) -> None:
        opted_out = frozenset(self.store.opted_out_hashes())
        erased = self.store.erasure_tombstones()
        self._opted_out, self._erased, self._loaded_at = opted_out, erased, time.monotonic()

    def _maybe_refresh(self, wait: bool = True) -> None:
        """Reload if stale. ``wait=False`` (the hot path) reloads in a background thread, so a
        slow or unreachable database never delays ``record()``; the current sets answer meanwhile."""
        if time.monotonic() - self._loaded_at <= self._REFRESH_S:
            return
        if wait:
            self.refresh()
        elif self._refreshing.acquire(blocking=False):
            threading.Thread(target=self._refresh_in_background, name="flywheel-consent", daemon=True).start()

    def _refresh_in_background(self) -> None:
        try:
            self.refresh()
        except Exception:  # noqa: BLE001 - keep the last known sets; the next call tries again
            self._loaded_at = time.monotonic() - self._REFRESH_S / 2
        finally:
            self._refreshing.release()

    def is_opted_out(self, user_id: str | None) -> bool:
        """Cheap enough for the hot path: a hash and a set lookup on the cached set, no I/O."""
        if not user_id:
            return False
        self._maybe_refresh(wait=False)
        return bool(self._opted_out) and user_hash(str(user_id)) in self._opted_out

    def opt_out(self, user_id: str) -> None:
        self.store.set_opt_out(user_hash(user_id), True)
        self.refresh()

    def opt_in(self, user_id: str) -> None:
        self.store.set_opt_out(user_hash(user_id), False)
        self.refresh()

    def accepts(self, kind: str, data: dict[str, Any]) -> bool:
        """The worker's filter: drop queued records of opted-out or erased users."""
        self._maybe_refresh()
        if not self._opted_out and not self._erased:
            return True
        user = data.get("user_id") if kind == "i" else data.get("actor")
        if not user:
            return True
        h = user_hash(str(user))
        if h in self._opted_out:
            return False
        erased_at = self._erased.get(h)
        at = data.get("started_at") if kind == "i" else data.get("at")
        return erased_at is None or (isinstance(at, (int, float)) and at > erased_at)


def forget_user(
    user_id: str,
    *,
    store: TrajectoryStore,
    queue: DurableQueue,
    index: SimilarityIndex,
    consent: ConsentRegistry,
    drain: Callable[[float], bool],
    segment_wait_s: float = 60.0,
) -> ErasureReport:
    """Erase ``user_id`` everywhere (see the module docstring); returns what was removed.

    ``drain(timeout)`` waits until everything queued so far is ingested (``Flywheel.flush``).
    Raw records can sit in any process's queue segment: every process writing to the folder is
    asked to close its segment, and this waits up to ``segment_wait_s`` for all segments written
    before the erasure to be ingested and deleted (the report says if some were not).
    """
    if not isinstance(user_id, str) or not user_id:
        raise ValueError(f"user_id must be a non-empty string, got {user_id!r}")
    h = user_hash(user_id)
    now = time.time()
    report = ErasureReport(user_hash=h, erased_at=now)
    # 1. tombstone first: anything of theirs ingested from now on is dropped by the worker
    store.add_erasure(h, now)
    consent.refresh()
    # 2. every process closes its current segment (raw text of theirs may be in any of them); drain
    #    the queue so nothing of theirs still waits, and wait until every segment written before now
    #    is ingested and deleted
    requested = queue.request_roll()
    left = _delete_segments_before(requested, store=store, queue=queue, drain=drain, report=report, timeout=segment_wait_s)
    if left:
        report.notes.append(f"{len(left)} ingest-queue segment(s) written before the erasure are still open in a process that "
                            "did not close them (stopped or hung?); they are deleted once ingested, and the worker drops "
                            "this user's records from them")
    report.dead_letters_removed = queue.scrub_dead_letters(lambda rec: _mentions(rec, user_id))
    # 3. the store: their turns (with steps, decisions, signals, rewards) and the signals they sent
    ids = store.interaction_ids_for_user(user_id)
    report.signals_deleted = store.delete_signals(store.signal_ids_by_actor(user_id))
    store.delete_interactions(ids)
    report.interactions_deleted = len(ids)
    # 4. the vector index (other processes' indexes follow the deletion log)
    report.vectors_removed = index.apply_deletions(store)
    # 5. the write-ahead log still holds the deleted rows' old pages: copy it in and truncate it
    if not _truncate_log(store, timeout=10.0):
        report.notes.append("the database's write-ahead log was kept busy by another process; it is truncated at the next close")
    # 6. copies that left the store
    report.exported_versions = _exports_containing(store, user_id)
    if report.exported_versions:
        report.notes.append("withdraw or regenerate the exported dataset versions listed, and adapters trained on them")
    report.notes.append("traces already sent to Phoenix/OTLP must be deleted there (they carry user.id)")
    store.finish_erasure(h, json.dumps(report.to_dict()))
    return report


def _truncate_log(store: TrajectoryStore, timeout: float) -> bool:
    """Checkpoint until it succeeds (another process's reader or writer may hold it up a moment)."""
    deadline = time.monotonic() + timeout
    while not store.checkpoint(wait_s=1.0):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _delete_segments_before(when: float, *, store: TrajectoryStore, queue: DurableQueue, drain: Callable[[float], bool],
                            report: ErasureReport, timeout: float) -> list[str]:
    """Drain, then delete every complete, fully processed segment created before ``when`` until
    none is left or ``timeout`` passes; returns those left."""
    deadline = time.monotonic() + timeout
    drain(min(300.0, timeout))
    while True:
        report.queue_segments_deleted += queue.delete_consumed(store.processed_cursors())
        left = queue.segments_before(when)
        remaining = deadline - time.monotonic()
        if not left or remaining <= 0:
            return left
        drain(min(5.0, remaining))  # a segment another process just closed: wait for its ingestion
        time.sleep(0.05)


def _mentions(record: dict[str, Any], user_id: str) -> bool:
    from .dead_letters import mentions

    data = record.get("data") or {}
    return mentions(record, user_id) or data.get("user_id") == user_id or data.get("actor") == user_id


def _exports_containing(store: TrajectoryStore, user_id: str) -> list[dict[str, Any]]:
    try:
        from .export import exports_containing_user
    except ImportError:
        return []
    try:
        return [v if isinstance(v, dict) else getattr(v, "__dict__", {"version": str(v)}) for v in exports_containing_user(store, user_id)]
    except Exception as exc:  # noqa: BLE001 - the erasure itself succeeded; say what we could not list
        return [{"error": f"could not list exports: {exc}"}]


def retain(store: TrajectoryStore, index: SimilarityIndex, days: float) -> int:
    """Delete interactions that started more than ``days`` days ago; returns how many."""
    if days is None or days < 0:
        raise ValueError(f"days must be >= 0, got {days!r}")
    cutoff = time.time() - days * 86_400
    ids = store.interaction_ids_before(cutoff)
    if ids:
        store.delete_interactions(ids)
        index.apply_deletions(store)
    return len(ids)
