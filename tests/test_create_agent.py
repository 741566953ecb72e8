"""LangChain 1.x's `create_agent` (the successor of LangGraph's deprecated `create_react_agent`):
one callback captures the turn, and the few-shot middleware puts good past trajectories in front
of the user's message, recorded on the turn."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("langchain.agents")

from langchain.agents import create_agent  # noqa: E402
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage  # noqa: E402

from flywheel_middleware import Flywheel  # noqa: E402
from test_fewshot import add, settle  # noqa: E402
from test_fewshot_langchain import ToolCallingFake, tool_trajectory, track_order  # noqa: E402


def _run(fw: Flywheel, agent: Any, question: str, session: str) -> dict[str, Any]:
    return agent.invoke({"messages": [("user", question)]},
                        config={"callbacks": [fw.langchain()], "metadata": {"session_id": session, "user_id": "u9"}})


def test_the_handler_captures_a_create_agent_turn(fw: Flywheel) -> None:
    model = ToolCallingFake()
    model.calls = []
    agent = create_agent(model, [track_order], system_prompt="You are a support agent.")
    result = _run(fw, agent, "Where is my order B42?", "plain")
    assert result["messages"][-1].content.startswith("Your order is in transit")
    settle(fw)
    (turn,) = fw.interactions(session_id="plain")
    assert turn.input_text == "Where is my order B42?"
    assert turn.output_text == "Your order is in transit and arrives on Friday."
    assert [s.kind for s in turn.steps if s.kind in ("llm", "tool")] == ["llm", "tool", "llm"]
    tool_step = next(s for s in turn.steps if s.kind == "tool")
    assert tool_step.name == "track_order" and "B42" in str(tool_step.inputs)
    chosen = [d.chosen for d in turn.decisions if d.decider == "model"]
    assert ["track_order"] in chosen
    assert turn.session_id == "plain" and turn.user_id == "u9" and turn.status == "ok"


def test_the_few_shot_middleware_shows_the_model_good_examples_and_the_turn_records_them(fw: Flywheel) -> None:
    example = tool_trajectory(fw)
    add(fw, "Where is order C9? It is late.", "It was lost, sorry.", label="bad")
    settle(fw)
    model = ToolCallingFake()
    model.calls = []
    middleware = fw.few_shot_middleware(k=2)
    agent = create_agent(model, [track_order], system_prompt="You are a support agent.", middleware=[middleware])
    result = _run(fw, agent, "Where is my order B42?", "live")
    # the agent state keeps the real conversation only
    assert [type(m) for m in result["messages"]] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    first = model.calls[0]
    assert [type(m) for m in first] == [SystemMessage, HumanMessage, AIMessage, ToolMessage, AIMessage, HumanMessage]
    assert first[0].content == "You are a support agent."
    assert first[1].content == "Where is order A17?" and first[2].tool_calls[0]["name"] == "track_order"
    assert first[-1].content == "Where is my order B42?"
    assert not any("lost" in str(m.content) for m in first)  # the bad trajectory is never an example
    assert model.calls[1][:6] == first  # the second model call (after the tool) gets the same examples
    assert middleware.last_ids == [example]
    settle(fw)
    (turn,) = fw.interactions(session_id="live")
    assert turn.few_shot_ids == [example]


def test_the_few_shot_middleware_works_async(fw: Flywheel) -> None:
    example = tool_trajectory(fw)
    settle(fw)
    model = ToolCallingFake()
    model.calls = []
    agent = create_agent(model, [track_order], middleware=[fw.few_shot_middleware(k=1)])
    result = asyncio.run(agent.ainvoke({"messages": [("user", "Where is my order B42?")]},
                                       config={"callbacks": [fw.langchain()], "metadata": {"session_id": "async"}}))
    assert result["messages"][-1].content.startswith("Your order is in transit")
    assert model.calls[0][0].content == "Where is order A17?"
    settle(fw)
    (turn,) = fw.interactions(session_id="async")
    assert turn.few_shot_ids == [example]


def test_a_failing_retrieval_leaves_the_agent_running_without_examples(fw: Flywheel, monkeypatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("index unreadable")

    monkeypatch.setattr(fw, "few_shot", broken)
    model = ToolCallingFake()
    model.calls = []
    agent = create_agent(model, [track_order], middleware=[fw.few_shot_middleware(k=2)])
    result = _run(fw, agent, "Where is my order B42?", "broken")
    assert result["messages"][-1].content.startswith("Your order is in transit")
    assert [type(m) for m in model.calls[0]] == [HumanMessage]
    assert fw.stats()["counters"]["few_shot_errors"] >= 1
