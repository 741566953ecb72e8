"""PII sent through a real LangGraph agent never leaves the process raw: not in the store, not in
an SFT export, not in the real Phoenix server's spans (redacted with the NER engine, on the batch
span processor's thread). The sentences are public presidio-research text (the tuning split)."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

pytest.importorskip("langgraph")
pytest.importorskip("phoenix")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from phoenix_server import get_spans, wait_for  # noqa: E402
from test_langchain_capture import answer, react_agent  # noqa: E402

import pii_public  # noqa: E402

from flywheel_middleware import Flywheel  # noqa: E402

pytestmark = [pytest.mark.phoenix, pytest.mark.slow]

STRUCTURED = set(pii_public.STRUCTURED)


def _sample() -> list[dict]:
    """A few tuning-split sentences with structured values and names (same every run)."""
    tune, _ = pii_public.load_split()
    picked = [r for r in tune if any(s["entity_type"] in STRUCTURED for s in r["spans"])][:6]
    picked += [r for r in tune if any(s["entity_type"] == "PERSON" for s in r["spans"]) and r not in picked][:4]
    return picked


def _dump_sqlite(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(str(row) for t in tables for row in db.execute(f'SELECT * FROM "{t}"'))
    finally:
        db.close()


def test_pii_in_a_langgraph_turn_is_redacted_in_store_export_and_phoenix(phoenix_server: str, tmp_path: Path) -> None:
    records = _sample()
    fw = Flywheel(tmp_path / "fw", phoenix_endpoint=phoenix_server, project_name="privacy-e2e", worker_mode="thread")
    handler = fw.langchain()
    try:
        for i, rec in enumerate(records):
            text = rec["full_text"]
            agent = react_agent(answer(f"You wrote: {text}"))
            agent.invoke({"messages": [("user", text)]},
                         config={"callbacks": [handler], "metadata": {"session_id": f"e2e-{i}", "user_id": "u1"}})
        assert fw.flush(300)
        for it in fw.interactions(limit=None):
            fw.feedback(it.id, "thumbs_up")  # good turns: they go into the SFT export
        assert fw.flush(300)
        fw._tracing.flush()  # noqa: SLF001 - the test waits for the export thread
        # dedup off: two sentences of one template are identical once redacted
        result = fw.export("sft", tmp_path / "out", dedup="none")
        assert result.rows == len(records)
        exported = "\n".join(p.read_text(encoding="utf-8") for p in result.files.values())
        structured = [s["entity_value"] for r in records for s in r["spans"] if s["entity_type"] in STRUCTURED]
        assert len(structured) >= 6

        spans = wait_for(lambda: (lambda got: got if len(got) >= 3 * len(records) else None)(
            get_spans(phoenix_server, project="privacy-e2e")), timeout_s=120)
        dumped = json.dumps(spans, ensure_ascii=False)
        assert "<EMAIL_ADDRESS>" in dumped or "<CREDIT_CARD>" in dumped or "<PHONE_NUMBER>" in dumped
        leaked = [v for v in structured if v in dumped]
        assert leaked == []
        assert not fw.stats()["counters"].get("tracing.spans_redaction_failed")

        assert [v for v in structured if v in exported] == []
        stored = "\n".join(_dump_sqlite(p) for p in (tmp_path / "fw").rglob("*.sqlite"))
        assert stored and [v for v in structured if v in stored] == []
    finally:
        fw.close()
