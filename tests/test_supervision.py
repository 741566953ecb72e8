"""The ingest owner under faults: a dead worker (process or thread) is restarted and loses nothing, and
so does an app killed together with its worker (the next flywheel takes over); derived processing
is at least once, faults show in stats() within seconds, and a clean close leaves no raw segment."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Sequence

import pytest

from flywheel_middleware import Flywheel, Interaction
from flywheel_middleware.processors import Processor
from helpers import traces, turn

EMAIL = "sam.supervised@example.com"


def _until(condition, timeout: float) -> float | None:
    """Seconds until ``condition()`` held, or None if it did not within ``timeout``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if condition():
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


class _Seen(Processor):
    """Remembers what it was given; crashes the ingest thread, or hits a locked database, once."""

    def __init__(self, fail_with: BaseException | None = None) -> None:
        self.fail_with = fail_with
        self.seen: list[str] = []

    def on_ingested(self, interactions: Sequence[Interaction], embeddings: Any, signals: Sequence[Any]) -> None:
        if self.fail_with is not None:
            exc, self.fail_with = self.fail_with, None
            raise exc
        self.seen += [it.id for it in interactions]


def test_a_dead_ingest_thread_is_restarted_and_its_batch_is_processed_again(store_path: Path, embedder) -> None:
    crash = _Seen(fail_with=SystemExit("simulated crash after the commit"))
    with Flywheel(store_path, embedder=embedder, processors=[crash], flush_interval_s=0.05) as fw:
        ids = [fw.record(turn(f"question {i}")) for i in range(5)]
        assert fw.flush(60)
        assert set(ids) <= set(crash.seen)  # stored before the crash, processed after the restart
        stats = fw.stats()
        assert stats["counters"]["worker_restarts"] == 1 and stats["worker"] == "thread"
        assert "ingest thread died" in stats["worker_last_error"] and "SystemExit" in stats["worker_last_error"]


def test_a_transient_fault_in_a_processor_is_retried_not_lost(store_path: Path, embedder) -> None:
    locked = _Seen(fail_with=sqlite3.OperationalError("database is locked"))
    with Flywheel(store_path, embedder=embedder, processors=[locked], flush_interval_s=0.05) as fw:
        ids = [fw.record(turn(f"question {i}")) for i in range(3)]
        assert fw.flush(60)
        assert sorted(locked.seen) == sorted(ids)  # processed once the fault passed: each record, once
        assert "database is locked" in fw.stats()["worker_last_error"]
        assert set(fw.store.rewards_for(ids)) == set(ids)  # and the built-in reward processor ran for them


def test_feedback_after_a_restart_on_an_id_still_queued(store_path: Path, embedder) -> None:
    script = textwrap.dedent(f"""
        from flywheel_middleware import Flywheel, Interaction
        with Flywheel({str(store_path)!r}, start_worker=False) as fw:
            print(fw.record(Interaction(input="queued, not stored yet", user_id="u1")))
        """)
    iid = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    with Flywheel(store_path, start_worker=False) as restarted:
        assert restarted.get(iid) is None
        restarted.feedback(iid, "thumbs_up", actor="u1")  # known: it waits in the queue
    with Flywheel(store_path, embedder=embedder, worker_mode="thread") as owner:
        assert owner.flush(60)
        assert [s.kind for s in owner.signals(iid)] == ["thumbs_up"]


def test_a_thread_mode_flywheel_takes_over_when_the_owner_is_gone(store_path: Path, embedder) -> None:
    Flywheel(store_path, start_worker=False).close()  # the folder exists
    other_owner = os.open(store_path / "worker.lock", os.O_RDWR)
    fcntl.flock(other_owner, fcntl.LOCK_EX)  # as a process that ingests (say, one being killed right now) holds it
    try:
        with Flywheel(store_path, embedder=embedder, worker_mode="thread", flush_interval_s=0.05) as fw:
            assert fw.stats()["worker"] == "other process"
            iid = fw.record(turn("asked while another process owned the folder"))
            os.close(other_owner)  # that process is gone
            other_owner = -1
            assert fw.flush(60) and fw.get(iid) is not None
            stats = fw.stats()
            assert stats["worker"] == "thread" and stats["counters"]["worker_takeovers"] == 1
    finally:
        if other_owner >= 0:
            os.close(other_owner)


def test_record_never_waits_for_the_store_to_check_consent(fw: Flywheel, monkeypatch: pytest.MonkeyPatch) -> None:
    slow = fw.consent.store.opted_out_hashes

    def locked_database() -> list[str]:
        time.sleep(2.0)
        return slow()

    monkeypatch.setattr(fw.consent.store, "opted_out_hashes", locked_database)
    fw.consent._loaded_at = 0.0  # the cache is stale: a reload is due
    t0 = time.perf_counter()
    assert fw.record(turn("hot path", user_id="u1")) is not None
    assert time.perf_counter() - t0 < 0.5


def test_a_clean_close_leaves_no_raw_segment(store_path: Path, embedder) -> None:
    with Flywheel(store_path, embedder=embedder, worker_mode="thread", segment_idle_s=600) as fw:
        fw.record(turn(f"mail me at {EMAIL}", user_id="u1"))
        assert fw.flush(60)
    assert list((store_path / "queue").glob("seg-*.log")) == []
    assert traces(store_path, EMAIL) == {}


@pytest.mark.slow
def test_killing_the_worker_process_mid_batch_loses_nothing_and_shows_within_seconds(store_path: Path) -> None:
    n = 120
    with Flywheel(store_path, batch_size=16, segment_idle_s=600) as fw:
        ids = [fw.record(turn(f"question {i} mail {EMAIL}", user_id=f"u{i % 5}")) for i in range(n)]
        for iid in ids:
            fw.feedback(iid, "thumbs_up", actor=f"rater-{iid}")  # one actor per turn: under the daily cap
        assert _until(lambda: fw.stats()["interactions"] > 0, 180) is not None  # ingesting now
        pid = int(fw.stats()["worker"].split()[1])
        os.kill(pid, signal.SIGKILL)
        seen = _until(lambda: "SIGKILL" in (fw.stats()["worker_last_error"] or ""), 5.0)
        assert seen is not None, fw.stats()
        assert fw.stats()["counters"]["worker_process_exits"] == 1
        assert fw.flush(300)
        stats = fw.stats()
        assert stats["interactions"] == n
        rewards = fw.store.rewards_for(ids)  # every turn's reward counts its thumbs up, the killed batch's too
        assert len(rewards) == n and all(r.n_signals >= 1 for r in rewards.values())
        assert stats["counters"]["worker_restarts"] >= 1 and stats["worker"].startswith("process ")
        assert len(fw.search("question 7 mail", k=n)) == n
    assert list((store_path / "queue").glob("seg-*.log")) == []
    assert traces(store_path, EMAIL) == {}
    with Flywheel(store_path, start_worker=False) as reopened:  # the saved index covers every vector
        assert reopened.index_sync_action == "loaded" and len(reopened.index) == n
    report = json.loads(subprocess.run([sys.executable, "-m", "flywheel_middleware.cli", "stats", "--path", str(store_path), "--json"],
                                       capture_output=True, text=True, timeout=120, check=True).stdout)
    assert report["interactions"] == n and report["worker_health"]["alive"] is False


_APP_AND_WORKER_KILLED = textwrap.dedent(
    """
    import json, os, signal, sys, time
    from flywheel_middleware import Flywheel, Interaction
    fw = Flywheel(sys.argv[1], batch_size=8)  # the default: a worker process
    ids = []
    for i in range(48):
        iid = fw.record(Interaction(input=f"question {i}, mail {sys.argv[2]}", output="an answer", user_id=f"u{i % 5}"))
        fw.feedback(iid, "thumbs_up", actor=f"rater-{i}")
        ids.append(iid)
    print(json.dumps(ids), flush=True)
    deadline = time.monotonic() + 180
    while fw.stats()["interactions"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(int(fw.stats()["worker"].split()[1]), signal.SIGKILL)  # mid-ingest: the worker, then the app
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.slow
def test_killing_the_app_and_its_worker_mid_batch_loses_nothing(store_path: Path, embedder) -> None:
    proc = subprocess.run([sys.executable, "-c", _APP_AND_WORKER_KILLED, str(store_path), EMAIL], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    ids = json.loads(proc.stdout.splitlines()[0])
    # the killed worker may still be exiting: this flywheel becomes the owner as soon as it is gone
    with Flywheel(store_path, embedder=embedder, worker_mode="thread", flush_interval_s=0.05) as fw:
        assert fw.flush(120)
        assert {it.id for it in fw.interactions(limit=None)} == set(ids)
        rewards = fw.store.rewards_for(ids)  # the batch the worker stored but never processed included
        assert len(rewards) == len(ids) and all(r.n_signals >= 1 for r in rewards.values())
        assert len(fw.index) == len(ids)
    assert traces(store_path, EMAIL) == {}
