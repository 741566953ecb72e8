"""Dynamic few-shot for LangChain 1.x agents (``langchain.agents.create_agent``) as agent middleware.

LangGraph 1.x deprecates ``create_react_agent(..., prompt=...)`` in favour of
``langchain.agents.create_agent``, whose extension point is middleware: this one wraps every model
call of the agent and puts the best *good* past trajectories in front of the latest user turn::

    from langchain.agents import create_agent

    agent = create_agent(model, tools, system_prompt="You are a support agent.",
                         middleware=[fw.few_shot_middleware(k=3)])
    agent.invoke({"messages": [("user", "Where is my parcel?")]},
                 config={"callbacks": [fw.langchain()], "metadata": {"session_id": "s1", "user_id": "u1"}})

The examples only reach the model request, never the agent state. What was injected is announced
with the ``"flywheel.few_shot"`` custom event, so ``fw.langchain()``'s handler records it on the turn
(``Interaction.few_shot_ids``). The selection, session exclusion and caching are
:class:`~flywheel_middleware.adapters.fewshot_langchain.FlywheelFewShotPrompt`'s; a failing retrieval
gives the model no examples, never an error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from flywheel_middleware._extras import requires_extra

with requires_extra("langchain", "few-shot middleware for create_agent"):
    from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
    from langchain_core.runnables.config import run_in_executor
    from langgraph.config import get_config

from .fewshot_langchain import FlywheelFewShotPrompt, _aannounce, _announce, _retrieval_failed

__all__ = ["FlywheelFewShotMiddleware"]


def _current_config() -> Any:
    """The running graph node's config (callbacks, metadata), or None outside a run."""
    try:
        return get_config()
    except RuntimeError:
        return None


class FlywheelFewShotMiddleware(AgentMiddleware):
    """``create_agent`` middleware that injects few-shot examples into each model request."""

    def __init__(self, fw: Any, k: int = 3, *, cache_ttl_s: float = 60.0, **options: Any) -> None:
        super().__init__()
        # the agent's own system prompt stays in request.system_message; examples go before the user turn
        self.prompt = FlywheelFewShotPrompt(fw, k, cache_ttl_s=cache_ttl_s, position="before_user", **options)

    @property
    def name(self) -> str:
        return "FlywheelFewShot"

    @property
    def last_ids(self) -> list[str]:
        """The interaction ids injected into the latest model call."""
        return self.prompt.last_ids

    def _with_examples(self, request: ModelRequest, messages: list[Any], ids: list[str]) -> ModelRequest:
        return request.override(messages=messages) if ids else request

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> ModelResponse:
        try:
            config = _current_config()
            messages, ids = self.prompt.inject(request.messages, config)
            _announce(ids, config)
            request = self._with_examples(request, messages, ids)
        except Exception as exc:  # noqa: BLE001 - never break the agent: the model call goes on without examples
            _retrieval_failed(self.prompt.fw, exc)
        return handler(request)

    async def awrap_model_call(self, request: ModelRequest,
                               handler: Callable[[ModelRequest], Awaitable[ModelResponse]]) -> ModelResponse:
        try:
            config = _current_config()
            messages, ids = await run_in_executor(config, self.prompt.inject, request.messages, config)
            await _aannounce(ids, config)
            request = self._with_examples(request, messages, ids)
        except Exception as exc:  # noqa: BLE001
            _retrieval_failed(self.prompt.fw, exc)
        return await handler(request)
