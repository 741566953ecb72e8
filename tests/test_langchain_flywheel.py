"""The one-callback quick start with the real Flywheel: LangGraph turns stored, traced, judged."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("langgraph")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from phoenix_server import get_span_annotations, wait_for, wait_for_spans  # noqa: E402
from test_langchain_capture import answer, calls, react_agent  # noqa: E402

from flywheel_middleware import Flywheel  # noqa: E402


def _ask(fw: Flywheel, agent, question: str, session: str = "s1", user: str = "u1") -> str:
    handler = fw.langchain()
    agent.invoke({"messages": [("user", question)]},
                 config={"callbacks": [handler], "metadata": {"session_id": session, "user_id": user}})
    return handler.last_interaction_id()


def test_a_langgraph_turn_is_stored_with_steps_decisions_and_session(fw: Flywheel) -> None:
    agent = react_agent(calls(("get_weather", {"city": "Paris"})), answer("It is sunny in Paris."))
    iid = _ask(fw, agent, "Weather in Paris?")
    assert fw.flush(60)
    it = fw.get(iid)
    assert (it.session_id, it.user_id, it.status) == ("s1", "u1", "ok")
    assert [s.kind for s in it.steps if s.kind in ("llm", "tool")] == ["llm", "tool", "llm"]
    chose = next(d for d in it.decisions if d.decider == "model")
    assert chose.chosen == ["get_weather"] and chose.candidates == ["get_weather", "get_time"]
    assert [d.chosen for d in it.decisions if d.decider == "graph_edge"] == ["tools"]  # the edge to END is no route
    assert "sunny" in it.output_text


def test_the_edge_to_end_is_neither_a_route_nor_a_category(fw: Flywheel) -> None:
    from flywheel_middleware.curation import category_from_hint, category_of
    from flywheel_middleware.store.base import TurnQuery

    iid = _ask(fw, react_agent(answer("Hello!")), "hi")
    assert fw.flush(60)
    it = fw.get(iid)
    assert [d.decider for d in it.decisions if d.decider == "graph_edge"] == []
    (turn,) = fw.store.turns(TurnQuery(ids=[iid]))
    assert category_of(it) == category_from_hint(turn.category_hint) != "__end__"  # the export's split stratum


def test_fw_session_context_attributes_turns(fw: Flywheel) -> None:
    agent = react_agent(answer("Hello!"))
    handler = fw.langchain()
    with fw.session("ctx-session", user_id="ctx-user"):
        agent.invoke({"messages": [("user", "hi")]}, config={"callbacks": [handler]})
    fw.flush(60)
    it = fw.get(handler.last_interaction_id())
    assert (it.session_id, it.user_id) == ("ctx-session", "ctx-user")


def test_a_rephrase_between_two_agent_runs_is_detected(fw: Flywheel) -> None:
    first = _ask(fw, react_agent(answer("Our opening hours are 9 to 5.")), "How do I cancel my subscription?")
    fw.flush(60)
    _ask(fw, react_agent(answer("Go to Billing > Cancel plan.")), "I want to stop paying for my membership plan, how?")
    fw.flush(60)
    fw.flush(60)  # the detector's signal goes through the queue once more
    assert "rephrase" in [s.kind for s in fw.signals(first)]


def test_spans_go_to_the_tracer_provider_given_in_config(store_path: Path, embedder) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with Flywheel(store_path, embedder=embedder, tracer_provider=provider) as fw:
        iid = _ask(fw, react_agent(calls(("get_time", {"city": "Rome"})), answer("Noon.")), "Time in Rome?")
    spans = exporter.get_finished_spans()
    root = next(s for s in spans if s.parent is None)
    assert root.attributes["flywheel.interaction_id"] == iid
    assert root.attributes["session.id"] == "s1"
    assert {s.attributes.get("openinference.span.kind") for s in spans} >= {"LLM", "TOOL"}


def test_no_tracing_configured_means_no_tracer(fw: Flywheel, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "PHOENIX_COLLECTOR_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    assert fw.tracer_provider is None


@pytest.mark.phoenix
@pytest.mark.slow
def test_quick_start_with_phoenix_spans_session_and_feedback_annotation(store_path: Path, embedder, phoenix_server: str) -> None:
    with Flywheel(store_path, embedder=embedder, phoenix_endpoint=phoenix_server) as fw:
        agent = react_agent(calls(("get_weather", {"city": "Oslo"})), answer("Snowing in Oslo."))
        iid = _ask(fw, agent, "Weather in Oslo?", session="phx-fw-session", user="phx-fw-user")
        fw.flush(60)
        fw.feedback(iid, "thumbs_up", actor="phx-fw-user")
        assert fw.flush(120)
        it = fw.get(iid)
        spans = wait_for_spans(phoenix_server, it.metadata["trace_id"], at_least=4)
        kinds = [s["span_kind"] for s in spans]
        assert kinds.count("LLM") == 2 and kinds.count("TOOL") == 1
        notes = wait_for(lambda: get_span_annotations(phoenix_server, [it.metadata["span_id"]]))
        (note,) = [n for n in notes if n["name"] == "thumbs_up"]
        assert note["annotator_kind"] == "HUMAN" and note["result"]["score"] == 1.0
        assert fw.stats()["counters"].get("phoenix.annotations_posted", 0) >= 1
