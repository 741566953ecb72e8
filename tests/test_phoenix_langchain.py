"""End to end with a real Phoenix server: a LangGraph agent traced by our one callback handler.

The agent's LLM and tool spans reach Phoenix in OpenInference conventions with the session id; a
feedback signal posted after the run becomes a span annotation on the turn's root span.
"""

from __future__ import annotations

import pytest

pytest.importorskip("langgraph")
pytest.importorskip("phoenix")

from phoenix_server import (  # noqa: E402
    get_session,
    get_span_annotations,
    span_attribute,
    wait_for,
    wait_for_spans,
)
from test_langchain_capture import FakeRecorder, answer, calls, react_agent  # noqa: E402

from flywheel_middleware.adapters.langchain import make_handler  # noqa: E402
from flywheel_middleware.records import Signal  # noqa: E402
from flywheel_middleware.tracing import PhoenixAnnotator, SpanIndex, setup_tracing  # noqa: E402

pytestmark = [pytest.mark.phoenix, pytest.mark.slow]


def test_langgraph_agent_spans_session_and_feedback_in_phoenix(phoenix_server: str) -> None:
    counts: dict[str, int] = {}

    def count(name: str, n: int = 1) -> None:
        counts[name] = counts.get(name, 0) + n

    tracing = setup_tracing(phoenix_endpoint=phoenix_server, schedule_delay_millis=100, use_env=False, count=count)
    assert tracing.endpoint == f"{phoenix_server}/v1/traces"
    index = SpanIndex()
    annotator = PhoenixAnnotator(phoenix_server, span_index=index, count=count, backoff_s=0.2)
    rec = FakeRecorder(tracing.tracer_provider)
    handler = make_handler(rec, span_index=index)
    try:
        agent = react_agent(calls(("get_weather", {"city": "Paris"})), answer("It is sunny in Paris."))
        agent.invoke(
            {"messages": [("user", "Weather in Paris?")]},
            config={"callbacks": [handler], "metadata": {"session_id": "phx-session-1", "user_id": "phx-user"}},
        )
        it = rec.one()
        trace_id, span_id = it.metadata["trace_id"], it.metadata["span_id"]

        # feedback arrives right after the turn, possibly before its spans were exported:
        # the annotator retries until Phoenix has the span
        thumbs = Signal(interaction_id=it.id, kind="thumbs_up", value=1, source="explicit", actor="phx-user")
        assert annotator.submit(thumbs)
        tracing.flush()

        spans = wait_for_spans(phoenix_server, trace_id, at_least=4)
        kinds = [s["span_kind"] for s in spans]
        assert kinds.count("LLM") == 2 and kinds.count("TOOL") == 1
        (tool_span,) = [s for s in spans if s["span_kind"] == "TOOL"]
        assert tool_span["name"] == "get_weather"
        root = next(s for s in spans if s["context"]["span_id"] == span_id)
        assert root["parent_id"] is None
        assert span_attribute(root, "session.id") == "phx-session-1"
        assert span_attribute(root, "user.id") == "phx-user"
        assert span_attribute(root, "flywheel.interaction_id") == it.id
        totals = sorted(span_attribute(s, "llm.token_count.total") for s in spans if s["span_kind"] == "LLM")
        assert totals == [15, 23]

        session = wait_for(lambda: get_session(phoenix_server, "phx-session-1"))
        assert trace_id in [t["trace_id"] for t in session["traces"]]

        assert annotator.flush(60)
        notes = wait_for(lambda: get_span_annotations(phoenix_server, [span_id]))
        (note,) = [n for n in notes if n["name"] == "thumbs_up"]
        assert note["annotator_kind"] == "HUMAN"
        assert note["result"]["score"] == 1.0
        assert note["identifier"] == thumbs.id
        assert note["metadata"]["interaction_id"] == it.id

        # an implicit signal (the user stopped the stream) is a CODE annotation
        stream = react_agent(calls(("get_weather", {"city": "Rome"})), answer("x")).stream(
            {"messages": [("user", "Rome?")]}, config={"callbacks": [handler], "metadata": {"session_id": "phx-session-1"}}
        )
        next(stream)
        stream.close()
        aborted = rec.records[-1]
        (abort,) = rec.signals
        assert aborted.status == "aborted" and abort.kind == "abort"
        assert annotator.submit(abort)
        tracing.flush()
        assert annotator.flush(60)
        notes = wait_for(lambda: get_span_annotations(phoenix_server, [aborted.metadata["span_id"]]))
        (note,) = notes
        assert (note["name"], note["annotator_kind"], note["result"]["label"]) == ("abort", "CODE", "true")
        assert note["result"]["explanation"] == "stream_closed"
        assert counts.get("phoenix.annotations_posted") == 2
        assert not counts.get("phoenix.annotations_failed") and not counts.get("tracing.spans_dropped")
    finally:
        annotator.close()
        tracing.shutdown()
