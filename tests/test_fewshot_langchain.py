"""Few-shot in LangChain / LangGraph: the example selector, message injection with tool calls, a
real create_react_agent run whose model sees the examples, and the injected ids on the turn."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langgraph")

from langchain_core.callbacks.manager import CallbackManagerForLLMRun  # noqa: E402
from langchain_core.language_models.chat_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate, FewShotChatMessagePromptTemplate, FewShotPromptTemplate, PromptTemplate  # noqa: E402
from langchain_core.tools import tool  # noqa: E402

from flywheel_middleware import Flywheel, Interaction, RoutingDecision, Step  # noqa: E402
from flywheel_middleware.adapters.fewshot_langchain import (  # noqa: E402
    FlywheelExampleSelector,
    FlywheelFewShotPrompt,
    example_to_messages,
    with_few_shot,
)
from flywheel_middleware.fewshot import injected_ids, injection_scope  # noqa: E402
from test_fewshot import add, settle  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from langgraph.prebuilt import create_react_agent


class ToolCallingFake(BaseChatModel):
    """Deterministic: calls ``track_order`` once per user turn, then answers; records its inputs."""

    calls: list[list[BaseMessage]] = []

    @property
    def _llm_type(self) -> str:
        return "tool-calling-fake"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ToolCallingFake:
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        self.calls.append(list(messages))
        last_user = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        if any(isinstance(m, ToolMessage) for m in messages[last_user:]):
            msg = AIMessage(content="Your order is in transit and arrives on Friday.")
        else:
            msg = AIMessage(content="", tool_calls=[{"name": "track_order", "args": {"order_id": "B42"}, "id": f"live_{len(self.calls)}"}])
        return ChatResult(generations=[ChatGeneration(message=msg)])


@tool
def track_order(order_id: str) -> str:
    """Where an order is."""
    return f"order {order_id}: in transit, arrives Friday"


def tool_trajectory(fw: Flywheel, question: str = "Where is order A17?") -> str:
    steps = [Step("tool", "track_order", inputs={"order_id": "A17"}, outputs="in transit, arrives Friday",
                  metadata={"tool_call_id": "call_1"})]
    decisions = [RoutingDecision("model", chosen=["track_order"], candidates=["track_order"],
                                 metadata={"tool_call_ids": ["call_1"], "args": [{"order_id": "A17"}]})]
    return add(fw, question, "Your order A17 arrives on Friday.", steps=steps, decisions=decisions)


def handler_for(fw: Flywheel) -> Any:
    if hasattr(fw, "langchain"):
        return fw.langchain()
    from flywheel_middleware.adapters.langchain import make_handler

    return make_handler(fw)


def test_selector_in_a_few_shot_chat_message_prompt_template(fw: Flywheel) -> None:
    good = add(fw, "How do I reset my password?", "Click 'Forgot password' on the login page.")
    add(fw, "How do I reset my password now?", "You cannot.", label="bad")
    add(fw, "What are your opening hours?", "9 to 5.")
    settle(fw)
    selector = FlywheelExampleSelector(fw, k=2, session_id=None)
    few_shot = FewShotChatMessagePromptTemplate(
        example_selector=selector,
        example_prompt=ChatPromptTemplate.from_messages([("human", "{input}"), ("ai", "{output}")]),
        input_variables=["input"],
    )
    prompt = ChatPromptTemplate.from_messages([("system", "You are a support bot."), few_shot, ("human", "{input}")])
    messages = prompt.invoke({"input": "I forgot my password"}).to_messages()
    assert [type(m) for m in messages] == [SystemMessage, HumanMessage, AIMessage, HumanMessage]
    assert messages[1].content == "How do I reset my password?" and messages[2].content.startswith("Click")
    assert selector.last_ids == [good]
    # the string flavour works too
    text = FewShotPromptTemplate(
        example_selector=selector, example_prompt=PromptTemplate.from_template("Q: {input}\nA: {output}"),
        prefix="Examples:", suffix="Q: {input}\nA:", input_variables=["input"],
    ).format(input="I forgot my password")
    assert "Q: How do I reset my password?\nA: Click" in text and "You cannot" not in text


def test_selector_add_example_makes_a_good_trajectory(fw: Flywheel) -> None:
    selector = FlywheelExampleSelector(fw, k=1, session_id=None)
    iid = selector.add_example({"input": "Do you ship to Canada?", "output": "Yes, in 5 to 7 days."})
    settle(fw)
    assert fw.reward(iid).label == "good"
    assert selector.select_examples({"input": "shipping to Canada?"})[0]["output"] == "Yes, in 5 to 7 days."


def test_example_messages_carry_the_tool_calls(fw: Flywheel) -> None:
    tool_trajectory(fw)
    settle(fw)
    (ex,) = fw.few_shot("where is my order", k=1, session_id=None)
    human, call, result, final = example_to_messages(ex)
    assert isinstance(human, HumanMessage) and human.content == "Where is order A17?"
    assert isinstance(call, AIMessage) and call.tool_calls[0]["name"] == "track_order"
    assert call.tool_calls[0]["args"] == {"order_id": "A17"}
    assert isinstance(result, ToolMessage) and result.tool_call_id == call.tool_calls[0]["id"]
    assert isinstance(final, AIMessage) and final.content == "Your order A17 arrives on Friday."


def test_create_react_agent_sees_the_examples_and_the_turn_records_them(fw: Flywheel) -> None:
    example = tool_trajectory(fw)
    add(fw, "Where is order C9? It is late.", "It was lost, sorry.", label="bad")
    settle(fw)
    model = ToolCallingFake()
    model.calls = []
    prompt = FlywheelFewShotPrompt(fw, k=2, system_prompt="You are a support agent.")
    agent = create_react_agent(model, [track_order], prompt=prompt)
    result = agent.invoke({"messages": [("user", "Where is my order B42?")]},
                          config={"callbacks": [handler_for(fw)], "metadata": {"session_id": "live", "user_id": "u9"}})
    assert result["messages"][-1].content.startswith("Your order is in transit")
    # the state keeps only the real conversation: user, tool call, tool result, answer
    assert [type(m) for m in result["messages"]] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    first = model.calls[0]
    assert [type(m) for m in first] == [SystemMessage, HumanMessage, AIMessage, ToolMessage, AIMessage, HumanMessage]
    assert first[1].content == "Where is order A17?" and first[2].tool_calls[0]["name"] == "track_order"
    assert first[-1].content == "Where is my order B42?"
    assert not any("lost" in str(m.content) for m in first)
    # after the tool result the model is called again, with the same examples before the user turn
    second = model.calls[1]
    assert second[:6] == first and isinstance(second[-1], ToolMessage)
    settle(fw)
    turns = [it for it in fw.interactions(session_id="live")]
    assert len(turns) == 1 and turns[0].few_shot_ids == [example]


def test_with_few_shot_wraps_a_chat_model_and_passes_the_ids_as_metadata(fw: Flywheel) -> None:
    example = add(fw, "How do I reset my password?", "Click 'Forgot password'.")
    settle(fw)
    model = ToolCallingFake()
    model.calls = []
    seen: dict[str, Any] = {}

    from langchain_core.callbacks import BaseCallbackHandler

    class Spy(BaseCallbackHandler):
        def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
            seen.update(kwargs.get("metadata") or {})

    chat = with_few_shot(fw, model, k=1)
    chat.invoke([HumanMessage("I forgot my password")], config={"callbacks": [Spy(), handler_for(fw)],
                                                                 "metadata": {"session_id": "s-wrap"}})
    assert [m.content for m in model.calls[0]][:2] == ["How do I reset my password?", "Click 'Forgot password'."]
    assert seen["flywheel.few_shot_ids"] == [example]
    settle(fw)
    (turn,) = fw.interactions(session_id="s-wrap")
    assert turn.few_shot_ids == [example]
    # streaming and async go through the same path
    model.calls = []
    list(chat.stream([HumanMessage("I forgot my password")]))
    assert model.calls[0][0].content == "How do I reset my password?"
    model.calls = []
    asyncio.run(chat.ainvoke("I forgot my password"))
    assert model.calls[0][0].content == "How do I reset my password?"


def test_outside_callbacks_the_context_variable_has_the_ids(fw: Flywheel) -> None:
    example = add(fw, "How do I reset my password?", "Click 'Forgot password'.")
    settle(fw)
    prompt = FlywheelFewShotPrompt(fw, k=1, session_id=None)
    with injection_scope() as ids:
        messages = (prompt | (lambda msgs: msgs)).invoke("I forgot my password")
        assert ids == [example] and injected_ids() == [example]
    assert messages[0].content == "How do I reset my password?"
    record = Interaction(input="I forgot my password", output="...", few_shot_ids=list(ids))
    assert record.few_shot_ids == [example]


def test_a_broken_store_degrades_to_no_examples(fw: Flywheel) -> None:
    prompt = FlywheelFewShotPrompt(fw, k=2, session_id=None)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("index down")

    fw.few_shot = boom  # type: ignore[method-assign]
    out = prompt.invoke([HumanMessage("hello")])
    assert [m.content for m in out] == ["hello"]


def test_a_failing_selector_gives_the_prompt_no_examples_not_an_error(fw: Flywheel) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("index down")

    fw.few_shot = boom  # type: ignore[method-assign]
    selector = FlywheelExampleSelector(fw, k=2)
    few_shot = FewShotChatMessagePromptTemplate(
        example_selector=selector,
        example_prompt=ChatPromptTemplate.from_messages([("human", "{input}"), ("ai", "{output}")]),
        input_variables=["input"],
    )
    prompt = ChatPromptTemplate.from_messages([("system", "You are a support bot."), few_shot, ("human", "{input}")])
    assert [m.content for m in prompt.invoke({"input": "hi"}).to_messages()] == ["You are a support bot.", "hi"]
    assert selector.select_examples({"input": "hi"}) == [] and selector.last_ids == []
    assert fw.stats()["counters"]["few_shot_errors"] == 2


async def test_a_failing_selector_degrades_in_async_prompts_too(fw: Flywheel) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("index down")

    fw.few_shot = boom  # type: ignore[method-assign]
    selector = FlywheelExampleSelector(fw, k=2)
    assert await selector.aselect_examples({"input": "hi"}) == []
    few_shot = FewShotChatMessagePromptTemplate(
        example_selector=selector,
        example_prompt=ChatPromptTemplate.from_messages([("human", "{input}"), ("ai", "{output}")]),
        input_variables=["input"],
    )
    messages = (await ChatPromptTemplate.from_messages([few_shot, ("human", "{input}")]).ainvoke({"input": "hi"})).to_messages()
    assert [m.content for m in messages] == ["hi"]
