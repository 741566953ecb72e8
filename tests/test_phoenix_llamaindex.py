"""End to end with a real Phoenix server: a wrapped LlamaIndex router engine.

The router's spans reach Phoenix in OpenInference conventions with the session id and the
interaction id on the root span and the router's choice on the selector span; the same choice is
a ``RoutingDecision`` in the store; a feedback signal becomes a span annotation on the root span.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("llama_index.core")
pytest.importorskip("phoenix")

from phoenix_server import (  # noqa: E402
    get_session,
    get_span_annotations,
    span_attribute,
    wait_for,
    wait_for_spans,
)
from test_llamaindex import RuleLLM, router  # noqa: E402

from flywheel_middleware import Flywheel  # noqa: E402
from flywheel_middleware.records import Signal  # noqa: E402
from flywheel_middleware.tracing import PhoenixAnnotator, SpanIndex, setup_tracing  # noqa: E402

pytestmark = [pytest.mark.phoenix, pytest.mark.slow]


def test_router_decision_in_the_store_and_in_phoenix(phoenix_server: str, store_path: Path, embedder) -> None:
    counts: dict[str, int] = {}

    def count(name: str, n: int = 1) -> None:
        counts[name] = counts.get(name, 0) + n

    tracing = setup_tracing(phoenix_endpoint=phoenix_server, schedule_delay_millis=100, use_env=False, count=count)
    index = SpanIndex()
    annotator = PhoenixAnnotator(phoenix_server, span_index=index, count=count, backoff_s=0.2)
    fw = Flywheel(store_path, embedder=embedder, flush_interval_s=0.05)
    try:
        engine = fw.llamaindex(router(RuleLLM()), name="docs-router", tracer_provider=tracing.tracer_provider,
                               span_index=index, session_id="li-phx-session", user_id="li-phx-user")
        response = engine.query("Which programming language has a borrow checker?")
        assert str(response) == "Rust has a borrow checker."
        iid = response.metadata["flywheel_interaction_id"]

        # the store: the router's choice is a decision of the interaction
        assert fw.flush(60)
        stored = fw.get(iid)
        assert stored is not None
        (decision,) = stored.decisions
        assert (decision.decider, decision.name, decision.chosen) == ("router", "docs-router", "programming")
        assert decision.candidates == ["geography", "programming"]
        trace_id, span_id = stored.metadata["trace_id"], stored.metadata["span_id"]
        assert index.get(iid) == (trace_id, span_id)

        thumbs = Signal(interaction_id=iid, kind="thumbs_up", value=1, source="explicit", actor="li-phx-user")
        assert annotator.submit(thumbs)
        tracing.flush()

        # Phoenix: the trace, its root span's attributes, the selector span with the route event
        spans = wait_for_spans(phoenix_server, trace_id, at_least=10)
        root = next(s for s in spans if s["context"]["span_id"] == span_id)
        assert root["parent_id"] is None and root["name"] == "RouterQueryEngine.query"
        assert span_attribute(root, "session.id") == "li-phx-session"
        assert span_attribute(root, "user.id") == "li-phx-user"
        assert span_attribute(root, "flywheel.interaction_id") == iid
        assert list(span_attribute(root, "flywheel.routes")) == ["programming"]
        assert root["span_kind"] == "CHAIN"
        (selector,) = [s for s in spans if s["name"] == "LLMSingleSelector._select"]
        assert "programming languages" in span_attribute(selector, "output.value")
        (route,) = [e for e in selector.get("events") or [] if e["name"] == "flywheel.route"]
        assert route["attributes"]["chosen"] == "programming"
        kinds = [s["span_kind"] for s in spans]
        assert kinds.count("LLM") >= 2 and "RETRIEVER" in kinds
        totals = [span_attribute(s, "llm.token_count.total") for s in spans if s["name"] == "RuleLLM.complete"]
        assert len(totals) == 2 and all(t for t in totals)

        session = wait_for(lambda: get_session(phoenix_server, "li-phx-session"))
        assert trace_id in [t["trace_id"] for t in session["traces"]]

        assert annotator.flush(60)
        notes = wait_for(lambda: get_span_annotations(phoenix_server, [span_id]))
        (note,) = [n for n in notes if n["name"] == "thumbs_up"]
        assert note["annotator_kind"] == "HUMAN" and note["result"]["score"] == 1.0
        assert note["metadata"]["interaction_id"] == iid
        assert not counts.get("phoenix.annotations_failed") and not counts.get("tracing.spans_dropped")
        assert not fw.stats()["counters"].get("llamaindex.callback_errors")
    finally:
        annotator.close()
        tracing.shutdown()
        fw.close()
