"""Consent, erasure and retention: who may be stored, who must be forgotten, what is too old.

- **Opt-out** (``fw.opt_out(user)``): from then on nothing of that user is recorded, traced or
  ingested: ``record()`` drops their turns, the LangChain handler neither captures nor traces
  them, and the worker drops anything of theirs still queued (their turns and the signals they
  sent).
- **Erasure** (``fw.forget(user)``): everything already kept about the user is deleted: their
  interactions with steps, decisions, signals and rewards, the signals they sent on other turns,
  their vectors in every FAISS index, the raw ingest-queue segments (rolled, drained and deleted),
  and the dead-letter file. Records of theirs still in flight in another process are dropped
  by the worker (an erasure tombstone). The report lists the exported dataset versions that
  contained them, so those can be withdrawn; Phoenix traces must be deleted in Phoenix.
- **Retention** (``retention_days``): the worker deletes interactions older than N days hourly;
  ``fw.retain(days)`` / ``flywheel retain --days N`` do it on demand.

User ids are kept in these tables only as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .store.base import SimilarityIndex, TrajectoryStore

if TYPE_CHECKING:
    from .queue import DurableQueue


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
    """Opt-outs and erasure tombstones, cached in memory for the hot path, persisted in the store."""

    _REFRESH_S = 5.0

    def __init__(self, store: TrajectoryStore) -> None:
        self.store = store
        self._opted_out: frozenset[str] = frozenset()
        self._erased: dict[str, float] = {}
        self._loaded_at = 0.0
        self.refresh()

    def refresh(self) -> None:
        self._opted_out = frozenset(self.store.opted_out_hashes())
        self._erased = self.store.erasure_tombstones()
        self._loaded_at = time.monotonic()

    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._loaded_at > self._REFRESH_S:
            self.refresh()

    def is_opted_out(self, user_id: str | None) -> bool:
        """Cheap enough for the hot path: a hash and a set lookup (reloaded every few seconds)."""
        if not user_id:
            return False
        self._maybe_refresh()
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
) -> ErasureReport:
    """Erase ``user_id`` everywhere (see the module docstring); returns what was removed.

    ``drain(timeout)`` waits until everything queued so far is ingested (``Flywheel.flush``).
    """
    if not isinstance(user_id, str) or not user_id:
        raise ValueError(f"user_id must be a non-empty string, got {user_id!r}")
    h = user_hash(user_id)
    now = time.time()
    report = ErasureReport(user_hash=h, erased_at=now)
    # 1. tombstone first: anything of theirs ingested from now on is dropped by the worker
    store.add_erasure(h, now)
    consent.refresh()
    # 2. drain the queue so nothing of theirs is still waiting, then drop the raw segments
    queue.roll()
    drain(300)
    report.queue_segments_deleted = queue.delete_consumed(store.cursors())
    report.dead_letters_removed = queue.scrub_dead_letters(lambda rec: _mentions(rec, user_id))
    # 3. the store: their turns (with steps, decisions, signals, rewards) and the signals they sent
    ids = store.interaction_ids_for_user(user_id)
    report.signals_deleted = store.delete_signals(store.signal_ids_by_actor(user_id))
    store.delete_interactions(ids)
    report.interactions_deleted = len(ids)
    # 4. the vector index (other processes' indexes follow the deletion log)
    report.vectors_removed = index.apply_deletions(store)
    # 5. copies that left the store
    report.exported_versions = _exports_containing(store, user_id)
    if report.exported_versions:
        report.notes.append("withdraw or regenerate the exported dataset versions listed, and adapters trained on them")
    report.notes.append("traces already sent to Phoenix/OTLP must be deleted there (they carry user.id)")
    store.finish_erasure(h, json.dumps(report.to_dict()))
    return report


def _mentions(record: dict[str, Any], user_id: str) -> bool:
    data = record.get("data") or {}
    return data.get("user_id") == user_id or data.get("actor") == user_id


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
