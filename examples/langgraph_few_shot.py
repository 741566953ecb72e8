"""Dynamic few-shot for a LangChain agent, offline: past good trajectories go into the prompt.

    python examples/langgraph_few_shot.py

1. seeds a fresh store with a few past turns (one with a tool call), each judged by a thumbs up
   or down, as an app would with ``fw.feedback``;
2. builds ``create_agent(model, tools, middleware=[fw.few_shot_middleware(k=2)])`` (LangChain 1.x;
   with LangGraph's older ``create_react_agent`` pass ``prompt=fw.few_shot_prompt(k=2)``) around a
   deterministic fake tool-calling chat model (no network, no API key);
3. runs a turn with ``fw.langchain()`` as callback and shows what the model received (the
   examples, with their tool calls, before the user's message) and the ``few_shot_ids`` recorded
   on the captured interaction.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from langchain.agents import create_agent  # noqa: E402
from langchain_core.language_models.chat_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_core.tools import tool  # noqa: E402

from flywheel_middleware import Flywheel, Interaction, RoutingDecision, Step  # noqa: E402


class FakeSupportModel(BaseChatModel):
    """Calls ``track_order`` once per user turn, then answers from the tool result."""

    received: list[list[BaseMessage]] = []

    @property
    def _llm_type(self) -> str:
        return "fake-support-model"

    def bind_tools(self, tools: Any, **kwargs: Any) -> FakeSupportModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        self.received.append(list(messages))
        last_user = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        results = [m for m in messages[last_user:] if isinstance(m, ToolMessage)]
        if results:
            msg = AIMessage(content=f"Good news: {results[-1].content}.")
        else:
            msg = AIMessage(content="", tool_calls=[{"name": "track_order", "args": {"order_id": "B42"}, "id": "call_live"}])
        return ChatResult(generations=[ChatGeneration(message=msg)])


@tool
def track_order(order_id: str) -> str:
    """Look up where an order is."""
    return f"order {order_id} is in transit and arrives on Friday"


def seed(fw: Flywheel) -> None:
    """Past turns of other sessions, judged by their users."""
    past = [
        ("Where is order A17?", "Order A17 is in transit; it arrives on Friday.", "thumbs_up", True),
        ("Where is order C9?", "No idea, sorry.", "thumbs_down", True),
        ("How do I reset my password?", "Click 'Forgot password' on the login page.", "thumbs_up", False),
    ]
    for question, answer, verdict, with_tool in past:
        steps, decisions = [], []
        if with_tool:
            steps = [Step("tool", "track_order", inputs={"order_id": question.split()[-1].rstrip("?")},
                          outputs="in transit, arrives Friday", metadata={"tool_call_id": "c1"})]
            decisions = [RoutingDecision("model", chosen=["track_order"], candidates=["track_order"],
                                         metadata={"tool_call_ids": ["c1"], "args": [steps[0].inputs]})]
        it = Interaction(input=question, output=answer, session_id="past", user_id="someone", steps=steps,
                         decisions=decisions, metadata={"category": "orders" if with_tool else "account"})
        fw.record(it)
        fw.feedback(it.id, verdict, actor="someone")
    fw.flush()
    deadline = time.monotonic() + 30  # the worker derives rewards right after storing a batch
    while fw.store.counts().rated < len(past) and time.monotonic() < deadline:
        time.sleep(0.05)


def main() -> None:
    folder = tempfile.mkdtemp(prefix="flywheel-few-shot-")
    with Flywheel(folder, worker_mode="thread") as fw:
        seed(fw)
        model = FakeSupportModel()
        agent = create_agent(model, [track_order], system_prompt="You are a helpful support agent.",
                             middleware=[fw.few_shot_middleware(k=2)])
        result = agent.invoke(
            {"messages": [("user", "Where is my order B42?")]},
            config={"callbacks": [fw.langchain()], "metadata": {"session_id": "live", "user_id": "u1"}},
        )
        print("agent answer:", result["messages"][-1].content)
        print("\nwhat the model received on its first call:")
        for m in model.received[0]:
            calls = f" tool_calls={[c['name'] for c in m.tool_calls]}" if getattr(m, "tool_calls", None) else ""
            print(f"  {type(m).__name__:13} {str(m.content)[:70]!r}{calls}")
        fw.flush()
        (turn,) = fw.interactions(session_id="live")
        print("\ninjected examples recorded on the turn:", turn.few_shot_ids)
        for iid in turn.few_shot_ids:
            print("  ", iid, "->", fw.get(iid).input, "| reward", fw.reward(iid).label)


if __name__ == "__main__":
    main()
