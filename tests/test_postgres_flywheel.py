"""``Flywheel("postgresql://...")``: a replica with its own local queue folder, ingesting into a
shared database; an outage that it rides out without losing a record."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from flywheel_middleware import Flywheel, Interaction, StoreError
from flywheel_middleware.store.replica import default_queue_dir


def _replica(url: str, folder: Path, embedder, **kw) -> Flywheel:
    return Flywheel(url, queue_dir=str(folder), embedder=embedder, flush_interval_s=0.05, **kw)


def test_a_replica_queues_locally_and_ingests_into_the_database(postgres_url, tmp_path, embedder):
    with _replica(postgres_url, tmp_path / "q", embedder) as fw:
        iid = fw.record(Interaction(input="How do I reset my password?", output="Use the reset link.", session_id="s1"))
        assert fw.flush(60)
        stats = fw.stats()
        assert stats["store_available"] and stats["interactions"] == 1 and stats["replica"]
        assert "postgresql://" in stats["store"] and (tmp_path / "q" / "queue").is_dir()  # the local queue
        assert fw.search("reset my password", k=1)[0][0].id == iid
    # a second replica (its own folder) sees the first one's turn and can judge it
    with _replica(postgres_url, tmp_path / "q2", embedder) as other:
        other.feedback(iid, "thumbs_up")
        assert other.flush(60)
        assert other.reward(iid).label == "good"
        assert [it.id for it, _ in other.search("password reset", k=1)] == [iid]


def test_the_default_queue_folder_is_one_per_database_under_the_state_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    a = default_queue_dir("postgresql://app:secret@db:5432/flywheel")
    assert a.parent == tmp_path / "flywheel-middleware" / "queues" and "secret" not in str(a)
    assert a == default_queue_dir("postgresql://app:other-password@db:5432/flywheel")
    assert a != default_queue_dir("postgresql://app@db:5432/staging")


def test_a_queue_folder_is_bound_to_its_database(postgres_server, tmp_path, embedder):
    folder = tmp_path / "q"
    _replica(postgres_server.new_url(), folder, embedder, start_worker=False).close()
    with pytest.raises(StoreError, match="queue folder of"):
        _replica(postgres_server.new_url(), folder, embedder, start_worker=False)


def test_an_embedded_store_folder_is_not_taken_as_a_queue_folder(postgres_url, tmp_path, embedder):
    Flywheel(tmp_path / "embedded", embedder=embedder, start_worker=False).close()
    with pytest.raises(StoreError, match="embedded flywheel store"):
        _replica(postgres_url, tmp_path / "embedded", embedder, start_worker=False)


def test_while_the_database_is_down_records_wait_locally_and_nothing_is_lost(postgres_server, tmp_path, embedder):
    url = postgres_server.new_url()
    fw = _replica(url, tmp_path / "q", embedder, max_backoff_s=0.5)
    try:
        fw.record(Interaction(input="before the outage", output="ok", session_id="o"))
        assert fw.flush(60)
        postgres_server.stop()
        try:
            t0 = time.perf_counter()
            ids = [fw.record(Interaction(input=f"during the outage {i}", output="ok", session_id="o")) for i in range(50)]
            assert None not in ids and time.perf_counter() - t0 < 1.0  # a local append, no network
            time.sleep(1.0)
            stats = fw.stats()
            assert stats["store_available"] is False and stats["interactions"] is None
            assert stats["counters"]["store_unavailable"] > 0 and stats["queue_pending_bytes"] > 0
        finally:
            postgres_server.start()
        assert fw.flush(120)
        stats = fw.stats()
        assert stats["store_available"] and stats["interactions"] == 51 and stats["queue_pending_bytes"] == 0
        assert fw.stats()["counters"].get("dead_lettered", 0) == 0  # an outage is not a poison record
        assert {it.id for it in fw.interactions(session_id="o", limit=None)} >= set(ids)
    finally:
        fw.close()
