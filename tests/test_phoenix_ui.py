"""What a person sees in Phoenix's own UI (headless Chromium): a LangGraph turn's trace page shows the
question, the answer and the user's signals at a glance, not the raw graph state; so does a wrapped
LlamaIndex engine's. Skipped where Chromium or Phoenix is not installed."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from chromium import CHROMIUM, page_text, render

pytest.importorskip("phoenix")
pytestmark = [pytest.mark.phoenix, pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")]

from phoenix_server import get_span_annotations, wait_for  # noqa: E402

from flywheel_middleware import Flywheel  # noqa: E402

_SPAN_PAGE = """query ($spanId: String!) { getSpanByOtelId(spanId: $spanId) { id trace { traceId } project { id } } }"""


def trace_page(base: str, span_id: str) -> str:
    """Phoenix's trace page with this span selected: ``/projects/<project>/traces/<trace>?selectedSpanNodeId=<span>``
    (the route its UI links to; the ids are GraphQL node ids, looked up by the span's OpenTelemetry id)."""
    answer = httpx.post(f"{base}/graphql", json={"query": _SPAN_PAGE, "variables": {"spanId": span_id}}, timeout=10)
    answer.raise_for_status()
    span = answer.json()["data"]["getSpanByOtelId"]
    return f"{base}/projects/{span['project']['id']}/traces/{span['trace']['traceId']}?selectedSpanNodeId={span['id']}"


def detail_panel(text: str) -> str:
    """The selected span's detail panel of a trace page's text (after its Info/Attributes/Events tabs)."""
    start = text.find("Info Attributes Events")
    assert start >= 0, "no span detail panel on the page"
    return text[start:]


def annotated(base: str, span_ids: list[str], kinds: set[str]) -> list[dict[str, Any]]:
    """Wait until Phoenix holds an annotation of each kind on these spans (the annotator posts in the background)."""
    def probe() -> list[dict[str, Any]] | None:
        notes = get_span_annotations(base, span_ids)
        return notes if kinds <= {n["name"] for n in notes} else None

    return wait_for(probe, timeout_s=90)


def test_a_langgraph_turn_shows_question_answer_and_signals(phoenix_server: str, store_path: Path, embedder,
                                                            tmp_path: Path) -> None:
    pytest.importorskip("langchain.agents")
    from langchain.agents import create_agent

    from test_langchain_capture import answer, calls, get_time, get_weather, model

    session = f"ui-{uuid.uuid4().hex[:8]}"
    with Flywheel(store_path, embedder=embedder, phoenix_endpoint=phoenix_server, flush_interval_s=0.05,
                  worker_mode="thread") as fw:
        def ask(question: str, *replies: Any) -> str:
            handler = fw.langchain()
            create_agent(model(*replies), [get_weather, get_time]).invoke(
                {"messages": [("user", question)]},
                config={"callbacks": [handler], "metadata": {"session_id": session, "user_id": "ui-user"}})
            return handler.last_interaction_id()

        missed = ask("How do I cancel my subscription?", answer("Our opening hours are 9 to 5."))
        assert fw.flush(60)
        helped = ask("I want to stop paying for my membership plan, how?",
                     calls(("get_time", {"city": "Rome"})), answer("Go to Billing > Cancel plan."))
        assert fw.flush(60) and fw.flush(60)  # the rephrase the worker detected goes through the queue once more
        fw.feedback(helped, "thumbs_up", actor="ui-user")
        assert fw.flush(60)
        assert "rephrase" in [s.kind for s in fw.signals(missed)]
        missed_span, helped_span = (fw.get(i).metadata["span_id"] for i in (missed, helped))
        annotated(phoenix_server, [missed_span, helped_span], {"rephrase", "thumbs_up"})

    shot = tmp_path / "langgraph-trace.png"
    text = page_text(render(trace_page(phoenix_server, missed_span), screenshot=shot))
    assert shot.stat().st_size > 20_000  # a drawn page, kept for a person to look at

    # the selected root span: its annotation, then Input and Output as the turn's plain text
    panel = detail_panel(text)
    assert re.search(r"Annotations 1 rephrase μ 0\.00", panel), panel[:400]
    assert "Input Text Markdown How do I cancel my subscription? Output Text Markdown Our opening hours are 9 to 5." \
        in panel, panel[:600]
    assert '"messages"' not in panel.split("Attributes")[0]  # the graph state is not what the Input box shows
    assert "flywheel. raw_input. value" in panel  # ... it is kept as its own attribute

    # the trace list behind it: each turn's row reads question, answer, user, signal
    assert re.search(r"LangGraph How do I cancel my subscription\? Our opening hours are 9 to 5\. -- ui-user rephrase", text)
    assert re.search(r"LangGraph I want to stop paying for my membership plan, how\? Go to Billing > Cancel plan\. "
                     r"-- ui-user thumbs_up μ 1\.00", text)


def test_a_llamaindex_engine_root_span_shows_question_and_answer(phoenix_server: str, store_path: Path,
                                                                 embedder) -> None:
    pytest.importorskip("llama_index.core")
    from test_llamaindex import RuleLLM, router

    with Flywheel(store_path, embedder=embedder, phoenix_endpoint=phoenix_server, flush_interval_s=0.05,
                  worker_mode="thread") as fw:
        engine = fw.llamaindex(router(RuleLLM()), name="docs-router", session_id=f"ui-li-{uuid.uuid4().hex[:8]}")
        response = engine.query("Which programming language has a borrow checker?")
        iid = response.metadata["flywheel_interaction_id"]
        assert fw.flush(60)
        fw.feedback(iid, "thumbs_down")
        assert fw.flush(60)
        span_id = fw.get(iid).metadata["span_id"]
        annotated(phoenix_server, [span_id], {"thumbs_down"})

    panel = detail_panel(page_text(render(trace_page(phoenix_server, span_id))))
    assert re.search(r"Annotations 1 thumbs_down μ 0\.00", panel), panel[:400]
    assert ("Input Text Markdown Which programming language has a borrow checker? "
            "Output Text Markdown Rust has a borrow checker.") in panel, panel[:600]
