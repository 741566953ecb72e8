"""LangChain / LangGraph capture with only our callback: real runs, fake chat models, in-memory spans."""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any, TypedDict

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langgraph")

from langchain_core.callbacks.manager import dispatch_custom_event
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda, RunnableParallel
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flywheel_middleware.adapters.langchain import FlywheelCallbackHandler, Recorder, make_handler
from flywheel_middleware.records import Interaction, Signal
from flywheel_middleware.tracing import SpanIndex, setup_tracing

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from langgraph.prebuilt import create_react_agent


# --------------------------------------------------------------------------------------------------
# fakes: a recorder (the narrow protocol the handler needs) and a tool-calling chat model
# --------------------------------------------------------------------------------------------------


class FakeRecorder:
    """In-memory Recorder: a list of interactions, a list of signals, a counter map."""

    def __init__(self, tracer_provider: Any = None, session: tuple[str | None, str | None] = (None, None)) -> None:
        self.tracer_provider = tracer_provider
        self.records: list[Interaction] = []
        self.signals: list[Signal] = []
        self.counts: dict[str, int] = {}
        self.session = session
        self._lock = threading.Lock()

    def record(self, interaction: Interaction) -> str | None:
        interaction.validate()
        with self._lock:
            self.records.append(interaction)
        return interaction.id

    def add_signal(self, signal: Signal) -> bool:
        signal.validate()
        with self._lock:
            self.signals.append(signal)
        return True

    def current_session(self) -> tuple[str | None, str | None]:
        return self.session

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def one(self) -> Interaction:
        assert len(self.records) == 1, [r.id for r in self.records]
        return self.records[0]


class ToolModel(GenericFakeChatModel):
    """A fake chat model whose ``bind_tools`` binds OpenAI-style tool schemas (like real providers)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools])


def calls(*names_args: tuple[str, dict[str, Any]], content: str = "", tokens: int = 10) -> AIMessage:
    return AIMessage(
        content=content,
        tool_calls=[{"name": n, "args": a, "id": f"call_{i}_{n}"} for i, (n, a) in enumerate(names_args)],
        usage_metadata={"input_tokens": tokens, "output_tokens": 5, "total_tokens": tokens + 5},
    )


def answer(text: str, tokens: int = 20) -> AIMessage:
    return AIMessage(content=text, usage_metadata={"input_tokens": tokens, "output_tokens": 3, "total_tokens": tokens + 3})


def model(*messages: AIMessage) -> ToolModel:
    return ToolModel(messages=iter(list(messages)))


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def get_time(city: str) -> str:
    """The local time in a city."""
    return "noon"


@tool
def transfer_to_human(reason: str) -> str:
    """Hand the conversation over to a human agent."""
    return "a human will take over"


def react_agent(*messages: AIMessage, tools: list[Any] | None = None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return create_react_agent(model(*messages), tools or [get_weather, get_time])


@pytest.fixture
def spans() -> Iterator[tuple[FakeRecorder, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    tracing = setup_tracing(exporter=exporter, use_env=False)
    rec = FakeRecorder(tracing.tracer_provider)
    yield rec, exporter
    tracing.shutdown()


def finished(exporter: InMemorySpanExporter, rec: FakeRecorder) -> list[Any]:
    rec.tracer_provider.force_flush()
    return list(exporter.get_finished_spans())


# --------------------------------------------------------------------------------------------------
# capture
# --------------------------------------------------------------------------------------------------


def test_handler_satisfies_protocol_and_is_a_langchain_callback() -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    rec = FakeRecorder()
    assert isinstance(rec, Recorder)
    handler = make_handler(rec, capture_chain_io=True)
    assert isinstance(handler, BaseCallbackHandler) and isinstance(handler, FlywheelCallbackHandler)
    assert handler.capture_chain_io is True


def test_lcel_chain_is_one_interaction_with_llm_step_session_and_user() -> None:
    rec = FakeRecorder()
    handler = make_handler(rec)
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{question}")])
    chain = prompt | model(answer("Paris.")) | StrOutputParser()
    out = chain.invoke(
        {"question": "Capital of France?"},
        config={"callbacks": [handler], "metadata": {"session_id": "s1", "user_id": "u1", "prompt_version": "p3"}},
    )
    assert out == "Paris."
    it = rec.one()
    assert it.status == "ok" and it.error is None
    assert it.input == {"question": "Capital of France?"}
    assert it.output == "Paris."
    assert (it.session_id, it.user_id, it.prompt_version) == ("s1", "u1", "p3")
    kinds = [(s.kind, s.name) for s in it.steps]
    assert ("llm", "ToolModel") in kinds
    llm = next(s for s in it.steps if s.kind == "llm")
    assert llm.inputs == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]
    assert llm.outputs == {"role": "assistant", "content": "Paris."}
    assert llm.metadata["token_usage"] == {"input_tokens": 20, "output_tokens": 3, "total_tokens": 23}
    assert it.metadata["token_usage"]["total_tokens"] == 23
    assert llm.started_at <= llm.ended_at
    assert all(s.run_id and s.parent_run_id for s in it.steps)
    assert handler.open_runs == 0 and handler.open_turns == 0
    it.validate()
    Interaction.from_dict(it.to_dict())  # JSON round trip


def test_run_id_from_config_is_the_interaction_id() -> None:
    import uuid

    rec = FakeRecorder()
    rid = uuid.uuid4()
    (model(answer("hi")) | StrOutputParser()).invoke("hello", config={"callbacks": [make_handler(rec)], "run_id": rid})
    assert rec.one().id == str(rid)


def test_tool_calling_loop_steps_in_order_with_model_decisions() -> None:
    rec = FakeRecorder()
    handler = make_handler(rec)
    llm = model(calls(("get_weather", {"city": "Paris"})), answer("It is sunny.")).bind_tools([get_weather, get_time])
    tools = {"get_weather": get_weather, "get_time": get_time}

    def loop(question: str) -> str:
        messages: list[Any] = [HumanMessage(question)]
        while True:
            ai = llm.invoke(messages)
            messages.append(ai)
            if not ai.tool_calls:
                return ai.content
            for tc in ai.tool_calls:
                messages.append(tools[tc["name"]].invoke(tc))

    out = RunnableLambda(loop).invoke("weather?", config={"callbacks": [handler]})
    assert out == "It is sunny."
    it = rec.one()
    assert [s.kind for s in it.steps] == ["llm", "tool", "llm"]
    tool_step = it.steps[1]
    assert tool_step.name == "get_weather"
    assert tool_step.inputs == {"city": "Paris"}
    assert tool_step.outputs == "sunny in Paris"
    assert tool_step.metadata["tool_call_id"] == "call_0_get_weather"
    model_decisions = [d for d in it.decisions if d.decider == "model"]
    assert [d.chosen for d in model_decisions] == [["get_weather"], []]
    assert model_decisions[0].candidates == ["get_weather", "get_time"]
    assert model_decisions[0].metadata["args"] == [{"city": "Paris"}]
    assert model_decisions[1].metadata["final_answer"] is True
    assert it.metadata["token_usage"]["total_tokens"] == 15 + 23


def test_react_agent_steps_decisions_and_spans(spans: tuple[FakeRecorder, InMemorySpanExporter]) -> None:
    rec, exporter = spans
    index = SpanIndex()
    handler = make_handler(rec, span_index=index)
    agent = react_agent(calls(("get_weather", {"city": "Paris"})), answer("It is sunny in Paris."))
    result = agent.invoke(
        {"messages": [("user", "Weather in Paris?")]},
        config={"callbacks": [handler], "metadata": {"session_id": "sess-7", "user_id": "user-3", "few_shot_ids": ["ex1", "ex2"]}},
    )
    assert result["messages"][-1].content == "It is sunny in Paris."
    it = rec.one()
    assert it.status == "ok"
    assert it.input_text == "Weather in Paris?"
    assert it.output_text == "It is sunny in Paris."
    assert it.few_shot_ids == ["ex1", "ex2"]
    core = [(s.kind, s.name) for s in it.steps if s.kind != "chain"]
    assert core == [("llm", "ToolModel"), ("tool", "get_weather"), ("llm", "ToolModel")]
    nodes = [s.metadata.get("langgraph_node") for s in it.steps if s.kind != "chain"]
    assert nodes == ["agent", "tools", "agent"]
    by_kind: dict[str, list[Any]] = {}
    for d in it.decisions:
        by_kind.setdefault(d.decider, []).append(d)
    assert by_kind["model"][0].chosen == ["get_weather"]
    assert by_kind["model"][0].candidates == ["get_weather", "get_time"]
    assert [d.chosen for d in by_kind["graph_edge"]] == ["tools"]  # the edge to END is no route
    assert by_kind["graph_edge"][0].metadata["source_node"] == "agent"
    assert by_kind["graph_edge"][0].metadata["next_nodes"] == ["tools"]
    (path,) = by_kind["graph_path"]
    assert path.chosen == ["agent", "tools", "agent"]

    finished_spans = finished(exporter, rec)
    names = [s.name for s in finished_spans]
    assert names.count("ToolModel") == 2 and "get_weather" in names
    root = next(s for s in finished_spans if s.parent is None)
    assert root.name == "LangGraph"
    assert root.attributes["session.id"] == "sess-7"
    assert root.attributes["user.id"] == "user-3"
    assert root.attributes["flywheel.interaction_id"] == it.id
    assert tuple(root.attributes["flywheel.few_shot_ids"]) == ("ex1", "ex2")
    assert it.metadata["span_id"] == format(root.context.span_id, "016x")
    assert it.metadata["trace_id"] == format(root.context.trace_id, "032x")
    assert index.get(it.id) == (it.metadata["trace_id"], it.metadata["span_id"])
    kinds = {s.attributes.get("openinference.span.kind") for s in finished_spans}
    assert {"LLM", "TOOL", "CHAIN"} <= kinds
    assert all(s.context.trace_id == root.context.trace_id for s in finished_spans)
    llm_span = next(s for s in finished_spans if s.name == "ToolModel")
    assert llm_span.attributes["llm.token_count.total"] == 15


class Route(TypedDict, total=False):
    question: str
    route: str
    answer: str


def build_router_graph() -> Any:
    def classify(state: Route) -> Route:
        route = "billing" if "invoice" in state["question"] else "general"
        dispatch_custom_event(
            "flywheel.route",
            {"router": "intent", "chosen": route, "candidates": ["billing", "general"], "reason": "keyword", "confidence": 0.9},
        )
        return {"route": route}

    def pick(state: Route) -> str:
        return "to_billing" if state["route"] == "billing" else "to_general"

    def billing(state: Route) -> Route:
        return {"answer": "billing team"}

    def general(state: Route) -> Route:
        return {"answer": "general answer"}

    g = StateGraph(Route)
    g.add_node("classify", classify)
    g.add_node("billing", billing)
    g.add_node("general", general)
    g.add_edge(START, "classify")
    g.add_conditional_edges("classify", pick, {"to_billing": "billing", "to_general": "general"})
    g.add_edge("billing", END)
    g.add_edge("general", END)
    return g.compile()


def test_custom_state_graph_conditional_edge_and_router_event() -> None:
    rec = FakeRecorder()
    graph = build_router_graph()
    out = graph.invoke({"question": "where is my invoice?"}, config={"callbacks": [make_handler(rec)]})
    assert out["answer"] == "billing team"
    it = rec.one()
    (router,) = [d for d in it.decisions if d.decider == "router"]
    assert (router.name, router.chosen, router.candidates, router.reason) == ("intent", "billing", ["billing", "general"], "keyword")
    assert router.metadata["confidence"] == 0.9
    assert router.metadata["langgraph_node"] == "classify"
    (edge,) = [d for d in it.decisions if d.decider == "graph_edge"]
    assert edge.name == "pick" and edge.chosen == "to_billing"
    assert edge.metadata["next_nodes"] == ["billing"]
    (path,) = [d for d in it.decisions if d.decider == "graph_path"]
    assert path.chosen == ["classify", "billing"]


class Docs(BaseRetriever):
    def _get_relevant_documents(self, query: str, *, run_manager: Any = None) -> list[Document]:
        return [
            Document(page_content="Paris is in France.", metadata={"source": "a", "score": 0.91}, id="d1"),
            Document(page_content="Lyon too.", metadata={"source": "b", "relevance_score": 0.42}),
        ]


def test_retrieval_step_has_documents_and_scores() -> None:
    rec = FakeRecorder()
    chain = RunnableParallel(context=Docs(), question=lambda x: x) | RunnableLambda(lambda d: d["context"][0].page_content)
    chain.invoke("Where is Paris?", config={"callbacks": [make_handler(rec)]})
    it = rec.one()
    (ret,) = [s for s in it.steps if s.kind == "retrieval"]
    assert ret.inputs == "Where is Paris?"
    assert ret.outputs[0] == {"content": "Paris is in France.", "metadata": {"source": "a", "score": 0.91}, "id": "d1", "score": 0.91}
    assert ret.outputs[1]["score"] == 0.42
    assert it.output == "Paris is in France."


def test_nested_and_parallel_runs_stay_in_one_interaction() -> None:
    rec = FakeRecorder()
    inner = model(answer("a")) | StrOutputParser()
    inner2 = model(answer("b")) | StrOutputParser()
    par = RunnableParallel(x=inner, y=inner2)
    outer = RunnableLambda(lambda q, config=None: par.invoke(q, config=config))
    out = outer.invoke("q", config={"callbacks": [make_handler(rec)]})
    assert out == {"x": "a", "y": "b"}
    it = rec.one()
    assert sorted(s.outputs["content"] for s in it.steps if s.kind == "llm") == ["a", "b"]


def test_session_from_recorder_context_and_thread_id() -> None:
    rec = FakeRecorder(session=("ctx-session", "ctx-user"))
    handler = make_handler(rec)
    (model(answer("x")) | StrOutputParser()).invoke("q", config={"callbacks": [handler]})
    assert (rec.records[-1].session_id, rec.records[-1].user_id) == ("ctx-session", "ctx-user")
    react_agent(answer("y")).invoke({"messages": [("user", "q")]}, config={"callbacks": [handler], "configurable": {"thread_id": "th-1"}})
    assert (rec.records[-1].session_id, rec.records[-1].user_id) == ("th-1", "ctx-user")
    (model(answer("z")) | StrOutputParser()).invoke(
        "q", config={"callbacks": [handler], "metadata": {"conversation_id": "conv-9", "user_id": "u9"}}
    )
    assert (rec.records[-1].session_id, rec.records[-1].user_id) == ("conv-9", "u9")


async def test_async_agent_is_captured() -> None:
    rec = FakeRecorder()
    agent = react_agent(calls(("get_time", {"city": "Rome"})), answer("noon"))
    out = await agent.ainvoke({"messages": [("user", "time in Rome?")]}, config={"callbacks": [make_handler(rec)]})
    assert out["messages"][-1].content == "noon"
    it = rec.one()
    assert [s.name for s in it.steps if s.kind == "tool"] == ["get_time"]
    assert it.status == "ok"


def test_streaming_fully_consumed_and_tokens_counted() -> None:
    rec = FakeRecorder()
    handler = make_handler(rec)
    agent = react_agent(answer("cold and windy today"))  # the fake streams text, not tool calls
    chunks = list(agent.stream({"messages": [("user", "Oslo?")]}, config={"callbacks": [handler]}, stream_mode="messages"))
    assert chunks
    it = rec.one()
    assert it.status == "ok" and it.output_text == "cold and windy today"
    last_llm = [s for s in it.steps if s.kind == "llm"][-1]
    assert last_llm.metadata["chunks"] >= 3 and "first_token_at" in last_llm.metadata
    assert last_llm.outputs["content"] == "cold and windy today"


def test_stream_closed_early_is_an_abort() -> None:
    rec = FakeRecorder()
    agent = react_agent(calls(("get_weather", {"city": "Paris"})), answer("done"))
    stream = agent.stream({"messages": [("user", "hi")]}, config={"callbacks": [make_handler(rec)], "metadata": {"session_id": "s"}})
    next(stream)
    stream.close()
    it = rec.one()
    assert it.status == "aborted" and it.error is None
    (sig,) = rec.signals
    assert (sig.kind, sig.source, sig.interaction_id, sig.evidence["reason"]) == ("abort", "implicit", it.id, "stream_closed")


async def test_async_cancellation_is_an_abort() -> None:
    rec = FakeRecorder()
    handler = make_handler(rec)

    @tool
    async def slow_search(query: str) -> str:
        """Search slowly."""
        await asyncio.sleep(30)
        return query

    agent = react_agent(calls(("slow_search", {"query": "x"})), answer("done"), tools=[slow_search])
    task = asyncio.create_task(agent.ainvoke({"messages": [("user", "hi")]}, config={"callbacks": [handler]}))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if any(s.kind == "tool" for t in handler._turns.values() for s in t.interaction.steps):
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    it = rec.one()
    assert it.status == "aborted"
    assert rec.signals[0].kind == "abort" and rec.signals[0].evidence["reason"] == "cancelled"
    assert rec.signals[0].evidence["last_step"] == "slow_search"
    assert handler.open_runs == 0


class S(TypedDict, total=False):
    x: str


def test_keyboard_interrupt_is_an_abort_and_an_error_is_an_error(spans: tuple[FakeRecorder, InMemorySpanExporter]) -> None:
    rec, exporter = spans
    handler = make_handler(rec)

    def stop(state: S) -> S:
        raise KeyboardInterrupt

    def bad(state: S) -> S:
        raise ValueError("boom")

    for name, fn in (("stop", stop), ("bad", bad)):
        g = StateGraph(S)
        g.add_node(name, fn)
        g.add_edge(START, name)
        g.add_edge(name, END)
        with pytest.raises((KeyboardInterrupt, ValueError)):
            g.compile().invoke({"x": "a"}, config={"callbacks": [handler]})
    aborted, failed = rec.records
    assert aborted.status == "aborted" and rec.signals[0].evidence["reason"] == "keyboard_interrupt"
    assert failed.status == "error" and failed.error == "ValueError: boom"
    assert [s.error for s in failed.steps] == ["ValueError: boom"]
    assert len(rec.signals) == 1
    root = [s for s in finished(exporter, rec) if s.parent is None][-1]
    assert root.status.status_code.name == "ERROR"
    assert root.attributes["flywheel.status"] == "error"


def test_langgraph_interrupt_stops_the_turn_and_resume_is_a_new_one() -> None:
    def ask(state: S) -> S:
        return {"x": interrupt("approve?")}

    g = StateGraph(S)
    g.add_node("ask", ask)
    g.add_edge(START, "ask")
    g.add_edge("ask", END)
    graph = g.compile(checkpointer=InMemorySaver())
    rec = FakeRecorder()
    handler = make_handler(rec)
    config = {"callbacks": [handler], "configurable": {"thread_id": "t1"}}
    out = graph.invoke({"x": "a"}, config=config)
    assert "__interrupt__" in out
    first = rec.records[0]
    assert first.status == "aborted" and first.error is None
    assert first.metadata["interrupted"] is True and first.metadata["interrupts"] == ["approve?"]
    assert [(s.kind, s.evidence["reason"]) for s in rec.signals] == [("abort", "interrupt")]
    assert [s.metadata.get("control_flow") for s in first.steps] == ["GraphInterrupt"]
    assert [s.error for s in first.steps] == [None]
    graph.invoke(Command(resume="yes"), config=config)
    second = rec.records[1]
    assert second.status == "ok" and second.session_id == "t1" and second.id != first.id
    assert len(rec.signals) == 1

    # an app that uses interrupts for approvals can say they are not aborts
    rec2 = FakeRecorder()
    graph.invoke({"x": "b"}, config={"callbacks": [make_handler(rec2, interrupt_is_abort=False)], "configurable": {"thread_id": "t2"}})
    assert rec2.one().status == "ok" and rec2.one().metadata["interrupted"] is True and rec2.signals == []


def test_escalation_tool_emits_an_escalate_signal_once() -> None:
    rec = FakeRecorder()
    agent = react_agent(
        calls(("transfer_to_human", {"reason": "angry"})), answer("A human will help you."), tools=[get_weather, transfer_to_human]
    )
    agent.invoke({"messages": [("user", "let me talk to a person")]}, config={"callbacks": [make_handler(rec)]})
    it = rec.one()
    (sig,) = rec.signals
    assert (sig.kind, sig.source, sig.interaction_id) == ("escalate", "implicit", it.id)
    assert sig.evidence["tool"] == "transfer_to_human"


def test_handler_failures_never_reach_the_agent(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(FakeRecorder):
        def record(self, interaction: Interaction) -> str | None:
            raise RuntimeError("store is on fire")

        def current_session(self) -> tuple[str | None, str | None]:
            raise RuntimeError("no context")

    rec = Broken()
    handler = make_handler(rec)
    caplog.set_level(logging.WARNING, logger="flywheel_middleware.adapters.langchain")
    for _ in range(3):
        out = react_agent(answer("fine")).invoke({"messages": [("user", "q")]}, config={"callbacks": [handler]})
        assert out["messages"][-1].content == "fine"
    assert rec.counts["langchain.callback_errors.record"] == 3
    assert rec.counts["langchain.callback_errors.current_session"] == 3
    assert rec.counts["langchain.callback_errors"] == 6
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2  # once per kind, not once per call


def test_a_bug_inside_a_callback_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = FakeRecorder()
    handler = make_handler(rec)

    def explode(*args: Any, **kwargs: Any) -> None:
        raise TypeError("bug")

    monkeypatch.setattr(handler, "_llm_done", explode)
    monkeypatch.setattr(handler, "_chain_done", explode)
    out = react_agent(calls(("get_weather", {"city": "x"})), answer("ok")).invoke(
        {"messages": [("user", "q")]}, config={"callbacks": [handler]}
    )
    assert out["messages"][-1].content == "ok"
    assert rec.one().status == "ok"
    assert rec.counts["langchain.callback_errors.on_llm_end"] == 2
    assert rec.counts["langchain.callback_errors.on_chain_end"] >= 1


def test_tracing_off_means_no_tracer_and_no_span_ids() -> None:
    rec = FakeRecorder(tracer_provider=None)
    handler = make_handler(rec)
    assert handler._oi is None
    react_agent(answer("x")).invoke({"messages": [("user", "q")]}, config={"callbacks": [handler]})
    assert "span_id" not in rec.one().metadata


def test_many_sessions_from_many_threads_share_one_handler(spans: tuple[FakeRecorder, InMemorySpanExporter]) -> None:
    rec, exporter = spans
    handler = make_handler(rec)
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            for i in range(6):
                agent = react_agent(calls(("get_weather", {"city": f"c{t}-{i}"})), answer(f"answer {t}-{i}"))
                agent.invoke(
                    {"messages": [("user", f"q {t}-{i}")]},
                    config={"callbacks": [handler], "metadata": {"session_id": f"s{t}", "user_id": f"u{t}"}},
                )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert len(rec.records) == 36 and len({r.id for r in rec.records}) == 36
    for it in rec.records:
        t, i = it.input_text.split()[1].split("-")
        assert it.session_id == f"s{t}" and it.user_id == f"u{t}"
        assert it.output_text == f"answer {t}-{i}"
        tool_steps = [s for s in it.steps if s.kind == "tool"]
        assert [s.inputs for s in tool_steps] == [{"city": f"c{t}-{i}"}]
    assert handler.open_runs == 0 and handler.open_turns == 0
    roots = [s for s in finished(exporter, rec) if s.parent is None]
    assert sorted(r.attributes["flywheel.interaction_id"] for r in roots) == sorted(r.id for r in rec.records)
    assert rec.counts.get("langchain.callback_errors", 0) == 0


async def test_last_interaction_id_is_per_caller_context() -> None:
    rec = FakeRecorder()
    handler = make_handler(rec)
    (model(answer("x")) | StrOutputParser()).invoke("q", config={"callbacks": [handler]})
    assert handler.last_interaction_id() == rec.records[-1].id

    async def turn(i: int) -> tuple[str | None, str]:
        await react_agent(answer(f"a{i}")).ainvoke({"messages": [("user", f"q{i}")]}, config={"callbacks": [handler]})
        return handler.last_interaction_id(), f"q{i}"

    results = await asyncio.gather(*(turn(i) for i in range(4)))
    by_input = {r.input_text: r.id for r in rec.records}
    assert all(by_input[q] == iid for iid, q in results)


def test_few_shot_ids_from_a_child_run_and_the_few_shot_event(spans: tuple[FakeRecorder, InMemorySpanExporter]) -> None:
    rec, exporter = spans

    def inject(x: str) -> str:
        dispatch_custom_event("flywheel.few_shot", {"ids": ["e2", "e3"]})
        return x

    inner = RunnableLambda(lambda x: x).with_config(metadata={"flywheel.few_shot_ids": ["e1", "e2"]})
    chain = inner | RunnableLambda(inject) | model(answer("ok")) | StrOutputParser()
    chain.invoke("q", config={"callbacks": [make_handler(rec)]})
    it = rec.one()
    assert it.few_shot_ids == ["e1", "e2", "e3"]
    root = next(s for s in finished(exporter, rec) if s.parent is None)
    assert tuple(root.attributes["flywheel.few_shot_ids"]) == ("e1", "e2", "e3")
