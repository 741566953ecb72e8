"""A LangChain agent (``create_agent``) with one flywheel callback, traced to Phoenix, judged by feedback. Offline.

    # optional: a local Phoenix to look at (see README "See it in a local Phoenix")
    python examples/langchain_phoenix.py [--phoenix http://127.0.0.1:6006] [--path FOLDER]

The chat model is a deterministic fake that calls a tool and answers (no API key); swap in any
LangChain chat model. Without --phoenix the turns are still captured, judged and stored.
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool

from flywheel_middleware import Flywheel
from flywheel_middleware.config import url_argument


class FakeToolModel(BaseChatModel):
    """Asks `get_order_status` once, then answers from its result."""

    @property
    def _llm_type(self) -> str:
        return "fake-tool-model"

    def bind_tools(self, tools: Any, **kwargs: Any) -> FakeToolModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        results = [m for m in messages if isinstance(m, ToolMessage)]
        usage = {"input_tokens": 30, "output_tokens": 12, "total_tokens": 42}
        if results:
            message = AIMessage(content=f"Your order is {results[-1].content}.", usage_metadata=usage)
        else:
            message = AIMessage(content="", tool_calls=[{"name": "get_order_status", "args": {"order_id": "A17"}, "id": "c1"}],
                                usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])


@tool
def get_order_status(order_id: str) -> str:
    """Where an order is."""
    return "in transit, arriving Friday"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phoenix", type=url_argument, metavar="URL", help="a running Phoenix, e.g. http://127.0.0.1:6006")
    parser.add_argument("--path", help="the store folder (default: a new temporary folder)")
    args = parser.parse_args(argv)

    # a short script ingests in a thread of its own; a long-running app keeps the default worker process
    with Flywheel(args.path or tempfile.mkdtemp(prefix="flywheel-example-"), phoenix_endpoint=args.phoenix,
                  worker_mode="thread") as fw:
        agent = create_agent(FakeToolModel(), [get_order_status], system_prompt="You are a support agent.")
        handler = fw.langchain()
        run_id = uuid.uuid4()  # pass run_id to know the interaction id before the run...
        agent.invoke({"messages": [("user", "Where is my order A17? Email me at jo@example.com")]},
                     config={"callbacks": [handler], "run_id": run_id,
                             "metadata": {"session_id": "example-session", "user_id": "jo"}})
        assert handler.last_interaction_id() == str(run_id)  # ...or ask the handler afterwards
        fw.feedback(str(run_id), "thumbs_up", actor="jo")
        fw.flush()
        it = fw.get(str(run_id))
        print("stored input (redacted):", it.input_text)
        print("steps:", [f"{s.kind}:{s.name}" for s in it.steps if s.kind in ("llm", "tool")])
        print("decisions:", [(d.decider, d.chosen) for d in it.decisions])
        print("reward:", fw.reward(it.id))
        if args.phoenix:
            # Phoenix's own link to a span's trace page (its UI resolves the project and trace)
            print(f"open {args.phoenix.rstrip('/')}/redirects/spans/{it.metadata.get('span_id')}: the turn's question "
                  "and answer, and its thumbs_up annotation (session 'example-session' under Sessions)")


if __name__ == "__main__":
    main()
