"""Ingestion: record() is cheap and safe, the worker redacts, embeds and stores, nothing is lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from flywheel_middleware import Flywheel, Interaction
from helpers import turn


def test_record_returns_the_id_and_the_turn_is_stored_after_flush(fw: Flywheel) -> None:
    it = turn("How do I reset my password?", "Use the reset link.")
    assert fw.record(it) == it.id
    assert fw.flush(60)
    stored = fw.get(it.id)
    assert stored is not None
    assert stored.input == "How do I reset my password?"
    assert stored.steps[0].kind == "llm" and stored.decisions[0].chosen == "answer"


def test_nothing_is_stored_unredacted(fw: Flywheel) -> None:
    it = turn("Email me at jane.doe@example.com or call 212-555-0182", "Sent to jane.doe@example.com")
    it.steps[0].outputs = {"tool_result": "card 4111 1111 1111 1111"}
    fw.record(it)
    fw.flush(60)
    raw = sqlite3.connect(fw.path / "store.sqlite").execute("SELECT data, input_text, output_text FROM interactions").fetchall()
    blob = repr(raw)
    for secret in ("jane.doe@example.com", "212-555-0182", "4111 1111 1111 1111"):
        assert secret not in blob


def test_record_of_the_wrong_type_is_rejected_and_counted_not_raised(fw: Flywheel) -> None:
    assert fw.record("not an interaction") is None  # type: ignore[arg-type]
    assert fw.record({"output": "no input"}) is None
    bad = Interaction(input="q", status="exploded")
    assert fw.record(bad) is None
    assert fw.stats()["counters"]["rejected_invalid"] == 3


def test_a_dict_in_the_json_schema_is_accepted(fw: Flywheel) -> None:
    iid = fw.record({"input": "what are your opening hours?", "output": "9 to 5", "session_id": "s"})
    assert iid is not None
    fw.flush(60)
    assert fw.get(iid).output == "9 to 5"


def test_huge_payload_is_truncated_and_kept(store_path: Path, embedder) -> None:
    with Flywheel(store_path, embedder=embedder, max_record_bytes=100_000, max_text_chars=20_000) as fw:
        iid = fw.record(turn("summarise this", "x" * 2_000_000))
        fw.flush(60)
        stored = fw.get(iid)
        assert stored is not None and len(stored.output) < 100_000 and "truncated" in stored.output
        assert fw.stats()["counters"]["truncated_records"] == 1


def test_recording_the_same_id_again_replaces_the_turn(fw: Flywheel) -> None:
    it = turn("first version")
    fw.record(it)
    fw.flush(60)
    it.output = "second version"
    fw.record(it)
    fw.flush(60)
    assert fw.get(it.id).output == "second version"
    assert fw.stats()["interactions"] == 1
    assert len(fw.index) == 1


def test_read_apis_filter_by_session_user_time_and_signal(fw: Flywheel) -> None:
    a = turn("reset password", session_id="s1", user_id="alice", started_at=1000.0)
    b = turn("track my parcel", session_id="s2", user_id="bob", started_at=2000.0)
    c = turn("refund please", session_id="s2", user_id="bob", started_at=3000.0)
    for it in (a, b, c):
        fw.record(it)
    fw.flush(60)
    fw.feedback(b.id, "thumbs_down")
    fw.flush(60)
    assert [i.id for i in fw.interactions(session_id="s2")] == [c.id, b.id]
    assert [i.id for i in fw.interactions(user_id="alice")] == [a.id]
    assert [i.id for i in fw.interactions(since=1500, until=2500)] == [b.id]
    assert [i.id for i in fw.interactions(signal_kind="thumbs_down")] == [b.id]
    assert [s.kind for s in fw.signals(b.id)] == ["thumbs_down"]


def test_vector_search_finds_the_semantically_closest_turn(fw: Flywheel) -> None:
    for q in ("How can I reset my password?", "Where is my parcel?", "Do you ship to Canada?"):
        fw.record(turn(q))
    fw.flush(60)
    best, score = fw.search("I forgot my login credentials", k=1)[0]
    assert best.input == "How can I reset my password?"
    assert 0 < score <= 1.0


def test_many_threads_record_concurrently_without_loss(fw: Flywheel) -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(50):
            iid = fw.record(turn(f"thread {n} question {i}", session_id=f"s{n}"))
            with lock:
                ids.append(iid)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fw.flush(120)
    assert None not in ids
    assert fw.stats()["interactions"] == 400


def test_accepted_records_survive_kill_9(store_path: Path, embedder) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal
        from flywheel_middleware import Flywheel, Interaction
        fw = Flywheel({str(store_path)!r}, start_worker=False)
        for i in range(500):
            assert fw.record(Interaction(input=f"question {{i}}", output="a", session_id="k"))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with Flywheel(store_path, embedder=embedder) as fw:
        assert fw.flush(120)
        assert fw.stats()["interactions"] == 500
        assert len(fw.index) == 500
        assert fw.stats()["queue_pending_bytes"] == 0


def test_a_torn_last_record_is_skipped_and_the_rest_ingested(store_path: Path, embedder) -> None:
    with Flywheel(store_path, start_worker=False) as fw:
        for i in range(3):
            fw.record(turn(f"question {i}"))
    segment = sorted((store_path / "queue").glob("seg-*.log"))[0]
    with open(segment, "ab") as handle:
        handle.write(b'{"k":"i","d":{"input":"half a rec')
    with Flywheel(store_path, embedder=embedder) as fw:
        fw.flush(60)
        deadline = time.time() + 10
        while fw.stats()["counters"].get("queue_torn_records", 0) == 0 and time.time() < deadline:
            time.sleep(0.05)
        assert fw.stats()["interactions"] == 3
        assert fw.stats()["counters"]["queue_torn_records"] == 1


def test_burst_of_100k_records_keeps_memory_bounded(store_path: Path) -> None:
    import psutil

    proc = psutil.Process()
    with Flywheel(store_path, start_worker=False) as fw:
        before = proc.memory_info().rss
        for i in range(100_000):
            fw.record(Interaction(input=f"burst question {i} about shipping", output="answer " * 20, session_id="b"))
        grown = proc.memory_info().rss - before
        assert fw.stats()["counters"]["recorded"] == 100_000
    # records wait on disk, not in memory: ~60 MB of payload, far less growth in RSS
    assert grown < 40 * 1024 * 1024, grown


def test_a_full_queue_rejects_instead_of_blocking(store_path: Path) -> None:
    with Flywheel(store_path, start_worker=False, max_queue_bytes=20_000) as fw:
        results = [fw.record(turn(f"q{i}")) for i in range(100)]
        assert results[0] is not None and results[-1] is None
        assert fw.stats()["counters"]["rejected_queue_full"] > 0


class _BrokenEmbedder:
    dim = 384

    def __init__(self, real) -> None:
        self.real = real
        self.broken = True

    def embed(self, texts):
        if self.broken:
            raise RuntimeError("model server down")
        return self.real.embed(texts)


def test_a_broken_embedding_model_degrades_to_stored_without_vector_then_heals(store_path: Path, embedder) -> None:
    broken = _BrokenEmbedder(embedder)
    with Flywheel(store_path, embedder=broken, embed_retries=2, flush_interval_s=0.05) as fw:
        iid = fw.record(turn("still stored?"))
        assert fw.flush(60)
        assert fw.get(iid) is not None
        stats = fw.stats()
        assert stats["counters"]["embed_errors"] >= 2 and stats["embedded"] == 0
        broken.broken = False
        deadline = time.time() + 20
        while fw.stats()["embedded"] == 0 and time.time() < deadline:
            time.sleep(0.05)
        assert fw.stats()["embedded"] == 1 and len(fw.index) == 1


def test_a_locked_database_is_retried_and_nothing_is_lost(store_path: Path, embedder) -> None:
    with Flywheel(store_path, embedder=embedder, flush_interval_s=0.05) as fw:
        fw.store._busy_timeout_s = 0.05
        fw.store.close()  # reconnect with the short timeout
        blocker = sqlite3.connect(store_path / "store.sqlite", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        iid = fw.record(turn("written while the db is locked"))
        deadline = time.time() + 20
        while fw.counters.get("worker_errors") == 0 and time.time() < deadline:
            time.sleep(0.05)
        assert fw.counters.get("worker_errors") >= 1  # the worker hit the lock and backed off
        assert fw.get(iid) is None
        blocker.execute("COMMIT")
        blocker.close()
        assert fw.flush(60)
        assert fw.get(iid) is not None


def test_the_default_worker_runs_in_its_own_process(store_path: Path) -> None:
    with Flywheel(store_path) as fw:
        assert fw.stats()["worker"].startswith("process ")
        ids = [fw.record(turn(f"process mode question {i}")) for i in range(20)]
        assert fw.flush(180)
        assert all(fw.get(i) is not None for i in ids)
        assert fw.search("process mode question 7", k=1)[0][0].id == ids[7]
        assert fw.stats()["counters"]["ingested_interactions"] >= 20


def test_the_worker_process_drains_the_queue_when_its_parent_is_killed(store_path: Path, embedder) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from flywheel_middleware import Flywheel, Interaction
        fw = Flywheel({str(store_path)!r})
        for i in range(50):
            fw.record(Interaction(input=f"orphaned question {{i}}", output="a"))
        print(fw.stats()["worker"].split()[1], flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    worker_pid = int(proc.stdout.split()[0])
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the worker process outlived its parent")
    with Flywheel(store_path, embedder=embedder, start_worker=False) as fw:
        assert fw.stats()["interactions"] == 50
