"""Consent, erasure and retention: opted-out users leave no trace; forgotten users are gone everywhere."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flywheel_middleware import Flywheel
from helpers import turn


def _everything(path: Path) -> str:
    """Every row of every table, and every queue file, as one string to search for a user."""
    conn = sqlite3.connect(path / "store.sqlite")
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    dump = [repr(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in tables]
    conn.close()
    for file in (path / "queue").glob("*"):
        dump.append(file.read_text(errors="replace"))
    return "\n".join(dump)


def test_an_opted_out_user_is_not_recorded(fw: Flywheel) -> None:
    fw.opt_out("carol")
    assert fw.record(turn("my question", user_id="carol")) is None
    assert fw.stats()["counters"]["dropped_opted_out"] == 1
    fw.flush(60)
    assert fw.interactions(user_id="carol") == []


def test_an_opted_out_user_is_neither_captured_nor_traced_by_the_handler(store_path: Path, embedder) -> None:
    pytest.importorskip("langgraph")
    from test_langchain_capture import answer, react_agent

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with Flywheel(store_path, embedder=embedder, tracer_provider=provider) as fw:
        fw.opt_out("dave")
        agent = react_agent(answer("hello"))
        agent.invoke({"messages": [("user", "hi")]},
                     config={"callbacks": [fw.langchain()], "metadata": {"user_id": "dave", "session_id": "x"}})
        fw.flush(60)
        assert fw.stats()["interactions"] == 0
        assert exporter.get_finished_spans() == ()
        assert fw.stats()["counters"]["langchain.opted_out_turns"] == 1


def test_records_queued_before_an_opt_out_are_dropped_by_the_worker(store_path: Path, embedder) -> None:
    with Flywheel(store_path, start_worker=False) as writer:
        writer.record(turn("queued before the opt-out", user_id="erin"))
        writer.opt_out("erin")
    with Flywheel(store_path, embedder=embedder) as fw:
        fw.flush(60)
        assert fw.stats()["interactions"] == 0
        assert fw.stats()["counters"]["dropped_by_filter"] == 1


def test_opt_in_restores_recording(fw: Flywheel) -> None:
    fw.opt_out("fay")
    fw.opt_in("fay")
    assert fw.record(turn("back again", user_id="fay")) is not None


def test_forget_erases_a_user_everywhere(fw: Flywheel) -> None:
    mine = [turn(f"gina's question about invoices {i}", user_id="gina", session_id="g") for i in range(3)]
    other = turn("someone else's question about invoices", user_id="hank", session_id="h")
    for it in [*mine, other]:
        fw.record(it)
    fw.flush(60)
    fw.feedback(other.id, "thumbs_up", actor="gina")  # a signal gina sent on another user's turn
    fw.feedback(mine[0].id, "thumbs_down", actor="gina")
    fw.flush(60)
    report = fw.forget("gina")
    assert (report.interactions_deleted, report.signals_deleted) == (3, 2)
    assert report.vectors_removed == 3
    assert "gina" not in _everything(fw.path)
    assert len(fw.index) == 1
    assert [it.id for it, _ in fw.search("question about invoices", k=5)] == [other.id]
    assert fw.get(other.id) is not None


def test_forget_drops_the_users_records_still_in_flight(store_path: Path, embedder) -> None:
    before = time.time() - 1
    with Flywheel(store_path, start_worker=False) as writer:  # another process, not yet ingested
        writer.record(turn("in flight", user_id="ivan", started_at=before))
    with Flywheel(store_path, embedder=embedder, start_worker=False) as fw:
        from flywheel_middleware.consent import user_hash

        fw.store.add_erasure(user_hash("ivan"), time.time())
    with Flywheel(store_path, embedder=embedder) as fw:
        fw.flush(60)
        assert fw.interactions(user_id="ivan") == []
        later = fw.record(turn("a new conversation after erasure", user_id="ivan"))
        fw.flush(60)
        assert fw.get(later) is not None


def test_forgetting_an_unknown_user_is_harmless(fw: Flywheel) -> None:
    report = fw.forget("nobody")
    assert report.interactions_deleted == 0


def test_retention_deletes_old_interactions(fw: Flywheel) -> None:
    old = turn("old question", started_at=time.time() - 40 * 86_400)
    new = turn("new question")
    fw.record(old)
    fw.record(new)
    fw.flush(60)
    assert fw.retain(days=30) == 1
    assert fw.get(old.id) is None and fw.get(new.id) is not None
    assert len(fw.index) == 1


def test_the_worker_applies_the_retention_policy(store_path: Path, embedder) -> None:
    with Flywheel(store_path, embedder=embedder, retention_days=30, retention_interval_s=0.1, flush_interval_s=0.05) as fw:
        old = turn("old question", started_at=time.time() - 40 * 86_400)
        fw.record(old)
        fw.flush(60)
        deadline = time.time() + 20
        while fw.get(old.id) is not None and time.time() < deadline:
            time.sleep(0.05)
        assert fw.get(old.id) is None
        assert fw.stats()["counters"]["retention_deleted"] == 1


def test_erasure_in_another_process_reaches_the_owners_index(store_path: Path, embedder) -> None:
    with Flywheel(store_path, embedder=embedder, flush_interval_s=0.05) as owner:
        it = turn("jill's private question", user_id="jill")
        owner.record(it)
        owner.flush(60)
        with Flywheel(store_path, embedder=embedder) as other:  # e.g. `flywheel forget` from a shell
            assert other.forget("jill").interactions_deleted == 1
        deadline = time.time() + 20
        while len(owner.index) and time.time() < deadline:
            time.sleep(0.05)
        assert len(owner.index) == 0


def test_the_cli_forgets_a_user(store_path: Path, embedder) -> None:
    from typer.testing import CliRunner

    from flywheel_middleware.cli import app

    with Flywheel(store_path, embedder=embedder) as fw:
        fw.record(turn("kate's question", user_id="kate"))
        fw.flush(60)
    result = CliRunner().invoke(app, ["forget", "--user", "kate", "--path", str(store_path), "--json"])
    assert result.exit_code == 0, result.output
    assert '"interactions_deleted": 1' in result.output
    assert "kate" not in _everything(store_path)
