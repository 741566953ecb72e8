"""Copy one store into another, whatever their backends: ``flywheel migrate SRC DST``.

The usual move is an embedded folder into PostgreSQL when a team goes from one process to a
fleet of replicas (and back, to take a copy home). Everything kept is copied through the store
contract, so any two backends work: interactions with their steps, decisions and embeddings,
their signals and rewards, opt-outs, erasure tombstones and the export registry (which dataset
versions hold whose data). Keys are the destination's own (they are store-internal); a replica's
FAISS cache is rebuilt from the destination on open. Re-running is safe: every write is an upsert.

What is *not* copied: records still waiting in the source's ingest queue (flush the source first;
``migrate`` refuses when it sees some) and queue offsets (they belong to the source's queue).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable

from .base import StoredInteraction, TrajectoryStore, TurnQuery

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class MigrationReport:
    interactions: int = 0
    embeddings: int = 0
    signals: int = 0
    rewards: int = 0
    opt_outs: int = 0
    erasures: int = 0
    exports: int = 0
    export_members: int = 0
    notes: list[str] = field(default_factory=list)


def copy_store(src: TrajectoryStore, dst: TrajectoryStore, *, batch: int = 500, progress: Progress | None = None) -> MigrationReport:
    """Copy everything ``src`` keeps into ``dst``; returns what was copied.

    A destination that can build its vector index after a bulk load (PostgreSQL's HNSW) does so."""
    deferred = getattr(dst, "vector_index_deferred", None)
    with deferred() if deferred is not None else contextlib.nullcontext():
        return _copy(src, dst, batch, progress)


def _copy(src: TrajectoryStore, dst: TrajectoryStore, batch: int, progress: Progress | None) -> MigrationReport:
    report = MigrationReport()
    total = src.counts().interactions
    tick = progress or (lambda stage, done, n: None)
    tick("interactions", 0, total)
    after = 0
    while True:
        turns = src.turns(TurnQuery(after_key=after, limit=batch))
        if not turns:
            break
        keys = [t.key for t in turns]
        after = keys[-1]
        documents = src.documents(keys)
        found, vectors = src.embeddings_for(keys)
        ids = [documents[k].id for k in keys if k in documents]
        signals = src.signals_for(ids)
        stored = []
        for i, key in enumerate(keys):
            doc = documents.get(key)
            if doc is None:  # deleted between the two reads
                continue
            stored.append(StoredInteraction(doc.interaction(), vectors[i].copy() if found[i] else None))
        dst.ingest(stored, [s for iid in ids for s in signals.get(iid, [])], {})
        rewards = src.rewards_for(ids)
        if rewards:
            dst.upsert_rewards(list(rewards.values()))
        report.interactions += len(stored)
        report.embeddings += int(found.sum())
        report.signals += sum(len(v) for v in signals.values())
        report.rewards += len(rewards)
        tick("interactions", report.interactions, total)
    for user_hash in src.opted_out_hashes():
        dst.set_opt_out(user_hash, True)
        report.opt_outs += 1
    for user_hash, erased_at in src.erasure_tombstones().items():
        dst.add_erasure(user_hash, erased_at)
        report.erasures += 1
    exports = src.exports()
    if exports:  # the same HMAC key, or the copied members' user hashes would match nobody
        dst.set_export_user_key(src.export_user_key())
    tick("exports", 0, len(exports))
    for n, info in enumerate(exports, 1):
        members = src.export_members(info)
        dst.register_export(info, members, src.export_summary(info))
        report.exports += 1
        report.export_members += len(members)
        tick("exports", n, len(exports))
    if report.erasures:
        report.notes.append("erasure tombstones were copied without their reports (the reports stay in the source)")
    return report
