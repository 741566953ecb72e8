"""Dynamic few-shot for LangChain / LangGraph, backed by ``Flywheel.few_shot``.

Three ways in, pick the one that fits the app::

    from flywheel_middleware.adapters.fewshot_langchain import (
        FlywheelExampleSelector, FlywheelFewShotPrompt, with_few_shot)

    # 1. a drop-in example selector for FewShotChatMessagePromptTemplate / FewShotPromptTemplate
    few_shot = FewShotChatMessagePromptTemplate(
        example_selector=FlywheelExampleSelector(fw, k=3), input_variables=["input"],
        example_prompt=ChatPromptTemplate.from_messages([("human", "{input}"), ("ai", "{output}")]))

    # 2. the prompt hook of a LangGraph agent: examples (tool calls included) go in as messages
    agent = create_react_agent(model, tools, prompt=FlywheelFewShotPrompt(fw, k=3, system_prompt="..."))

    # 3. any chat model / chain / graph taking messages (or {"messages": [...]}) wrapped
    chat = with_few_shot(fw, model, k=3)

Examples are the best *good* past trajectories for the latest user message (see
``flywheel_middleware.fewshot``): a user message, for each tool-calling step an ``AIMessage`` with
``tool_calls`` and the ``ToolMessage`` results, and the final ``AIMessage``. They are inserted in
front of the latest user turn (``position="before_user"``, default) or right after the leading
system messages (``position="after_system"``); they never enter the graph state.

The current session (config metadata ``session_id`` | ``thread_id`` | ``conversation_id``, the
``configurable.thread_id``, or ``fw.current_session()``) is excluded from the candidates.

What was injected is recorded on the turn: each of these dispatches the ``"flywheel.few_shot"``
custom event (``{"ids": [...]}``) from inside its run, which ``fw.langchain()``'s handler adds to
``Interaction.few_shot_ids`` (and the root span's ``flywheel.few_shot_ids``); ``with_few_shot``
also passes ``metadata={"flywheel.few_shot_ids": [...]}`` to the run it wraps. Outside LangChain
callbacks, ``flywheel_middleware.fewshot.injected_ids()`` has them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any, AsyncIterator, Iterator, Mapping, Sequence

from .._extras import requires_extra

with requires_extra("langchain"):
    from langchain_core.callbacks.manager import adispatch_custom_event, dispatch_custom_event
    from langchain_core.example_selectors.base import BaseExampleSelector
    from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
    from langchain_core.prompt_values import PromptValue
    from langchain_core.runnables import Runnable, RunnableConfig
    from langchain_core.runnables.config import ensure_config, patch_config, run_in_executor

from ..fewshot import FEW_SHOT_EVENT, FEW_SHOT_METADATA_KEY, FewShotExample
from ..records import Interaction, Signal, text_of

__all__ = [
    "FlywheelExampleSelector",
    "FlywheelFewShotPrompt",
    "FewShotInjected",
    "example_to_messages",
    "with_few_shot",
]

_log = logging.getLogger("flywheel_middleware.adapters.fewshot_langchain")
_SESSION_KEYS = ("session_id", "thread_id", "conversation_id")


def example_to_messages(example: FewShotExample) -> list[BaseMessage]:
    """One example as LangChain messages: Human, [AI(tool_calls), Tool...]..., AI."""
    out: list[BaseMessage] = []
    for m in example.messages:
        role = m.get("role")
        content = m.get("content") or ""
        if role == "user":
            out.append(HumanMessage(content=content))
        elif role == "assistant" and m.get("tool_calls"):
            calls = [{"name": c["name"], "args": c.get("args") or {}, "id": c["id"], "type": "tool_call"} for c in m["tool_calls"]]
            out.append(AIMessage(content=content, tool_calls=calls))
        elif role == "assistant":
            out.append(AIMessage(content=content))
        elif role == "tool":
            out.append(ToolMessage(content=content, tool_call_id=m["tool_call_id"], name=m.get("name")))
    return out


def _session_of(config: Mapping[str, Any] | None, fw: Any) -> str | None:
    md = (config or {}).get("metadata") or {}
    for key in _SESSION_KEYS:
        if md.get(key):
            return str(md[key])
    thread = ((config or {}).get("configurable") or {}).get("thread_id")
    if thread:
        return str(thread)
    return fw.current_session()[0]


def _announce(ids: list[str], config: RunnableConfig | None) -> None:
    """Tell the flywheel callback handler which examples this run injected (never raises)."""
    if not ids:
        return
    try:
        dispatch_custom_event(FEW_SHOT_EVENT, {"ids": ids}, config=config)
    except Exception as exc:  # noqa: BLE001 - no parent run (called outside a runnable): nothing to tell
        _log.debug("few-shot event not dispatched: %s", exc)


async def _aannounce(ids: list[str], config: RunnableConfig | None) -> None:
    if not ids:
        return
    try:
        await adispatch_custom_event(FEW_SHOT_EVENT, {"ids": ids}, config=config)
    except Exception as exc:  # noqa: BLE001
        _log.debug("few-shot event not dispatched: %s", exc)


def _retrieval_failed(fw: Any, exc: BaseException) -> None:
    """Count (``few_shot_errors``) and log a failed retrieval; never raises."""
    try:
        fw.count("few_shot_errors")
    except Exception:  # noqa: BLE001 - a broken counter must not reach the agent either
        pass
    _log.warning("flywheel few-shot retrieval failed (%r); the prompt gets no examples", exc)


# -- example selector ---------------------------------------------------------------------------
class FlywheelExampleSelector(BaseExampleSelector):
    """A ``BaseExampleSelector`` returning ``{input_key: ..., output_key: ...}`` dicts.

    ``query_key`` names the prompt variable to search with (default ``input_key``). Each example
    also carries ``"flywheel_id"`` (and, with ``messages_key``, its messages for a
    ``MessagesPlaceholder``). Extra keyword arguments go to ``fw.few_shot`` (``filter``,
    ``min_similarity``, ``max_tokens``, ...). ``add_example`` records the pair as a turn with a
    thumbs-up, so it becomes a *good* trajectory once ingested.
    """

    def __init__(
        self,
        fw: Any,
        k: int = 3,
        *,
        input_key: str = "input",
        output_key: str = "output",
        query_key: str | None = None,
        messages_key: str | None = None,
        **options: Any,
    ) -> None:
        self.fw = fw
        self.k = k
        self.input_key = input_key
        self.output_key = output_key
        self.query_key = query_key or input_key
        self.messages_key = messages_key
        self.options = options
        self.last_ids: list[str] = []

    def _query(self, input_variables: Mapping[str, Any]) -> str:
        if self.query_key in input_variables:
            return text_of(input_variables[self.query_key])
        texts = [text_of(v) for v in input_variables.values()]
        return " ".join(t for t in texts if t)

    def _as_dicts(self, examples: list[FewShotExample]) -> list[dict[str, Any]]:
        out = []
        for ex in examples:
            d: dict[str, Any] = {self.input_key: ex.input, self.output_key: ex.output, "flywheel_id": ex.interaction_id}
            if self.messages_key:
                d[self.messages_key] = example_to_messages(ex)
            out.append(d)
        return out

    def _select(self, input_variables: Mapping[str, Any], config: RunnableConfig) -> list[FewShotExample]:
        options = dict(self.options)
        options.setdefault("session_id", _session_of(config, self.fw))
        return self.fw.few_shot(self._query(input_variables), self.k, **options)

    def select_examples(self, input_variables: dict[str, Any]) -> list[dict[str, Any]]:
        """The examples for this prompt; a failure (store, index, model) means no examples, never an error."""
        try:
            config = ensure_config()  # the running prompt's config, when called inside a runnable
            examples = self._select(input_variables, config)
            self.last_ids = [e.interaction_id for e in examples]
            selected = self._as_dicts(examples)
        except Exception as exc:  # noqa: BLE001 - never break the agent: no examples instead
            return self._failed(exc)
        _announce(self.last_ids, None)
        return selected

    async def aselect_examples(self, input_variables: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            config = ensure_config()
            examples = await run_in_executor(None, self._select, input_variables, config)
            self.last_ids = [e.interaction_id for e in examples]
            selected = self._as_dicts(examples)
        except Exception as exc:  # noqa: BLE001
            return self._failed(exc)
        await _aannounce(self.last_ids, None)
        return selected

    def _failed(self, exc: BaseException) -> list[dict[str, Any]]:
        self.last_ids = []
        _retrieval_failed(self.fw, exc)
        return []

    def add_example(self, example: dict[str, str]) -> str | None:
        it = Interaction(input=example.get(self.input_key, ""), output=example.get(self.output_key, ""),
                         metadata={"source": "example_selector"})
        iid = self.fw.record(it)
        if iid is not None:
            self.fw.add_signal(Signal(iid, "thumbs_up", source="explicit", actor="flywheel.example_selector"))
        return iid


# -- message injection ----------------------------------------------------------------------------
def _messages_of(value: Any) -> list[BaseMessage]:
    if isinstance(value, PromptValue):
        return list(value.to_messages())
    if isinstance(value, str):
        return [HumanMessage(content=value)]
    if isinstance(value, BaseMessage):
        return [value]
    if isinstance(value, Mapping):
        if "messages" in value:
            return _messages_of(value["messages"])
        for key in ("input", "question", "query"):
            if key in value:
                return _messages_of(value[key])
        raise ValueError("few-shot injection needs messages, a string, or a dict with 'messages'/'input'")
    if hasattr(value, "messages"):  # a pydantic / dataclass agent state
        return _messages_of(value.messages)
    if isinstance(value, Sequence):
        from langchain_core.messages import convert_to_messages

        return list(convert_to_messages(list(value)))
    raise ValueError(f"cannot read messages from {type(value).__name__}")


def _last_user(messages: Sequence[BaseMessage]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return i
    return None


class FlywheelFewShotPrompt(Runnable[Any, list[BaseMessage]]):
    """A Runnable from messages / agent state to messages with few-shot examples injected.

    Use it as LangGraph's ``create_react_agent(..., prompt=...)`` or ahead of a chat model
    (``FlywheelFewShotPrompt(fw) | model``). Input: a list of messages, a string, a
    ``PromptValue``, or a state / dict with ``"messages"`` (or ``"input"``). The query is the latest
    user message. Within one agent turn the model is called again after each tool result; the same
    query within ``cache_ttl_s`` reuses the same examples (no re-embedding, a stable prompt).
    """

    def __init__(
        self,
        fw: Any,
        k: int = 3,
        *,
        system_prompt: str | SystemMessage | None = None,
        position: str = "before_user",
        cache_ttl_s: float = 60.0,
        name: str = "FlywheelFewShot",
        **options: Any,
    ) -> None:
        if position not in ("before_user", "after_system"):
            raise ValueError("position must be 'before_user' or 'after_system'")
        self.fw = fw
        self.k = k
        self.system = SystemMessage(content=system_prompt) if isinstance(system_prompt, str) else system_prompt
        self.position = position
        self.cache_ttl_s = cache_ttl_s
        self.options = options
        self.name = name
        self._cache: OrderedDict[tuple[Any, ...], tuple[float, list[FewShotExample]]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.last_ids: list[str] = []

    # -- core ---------------------------------------------------------------------------------
    def select(self, query: str, config: RunnableConfig | None = None) -> list[FewShotExample]:
        session = _session_of(config, self.fw)
        key = (query, session)
        now = time.monotonic()
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None and now - hit[0] <= self.cache_ttl_s:
                self._cache.move_to_end(key)
                return hit[1]
        options = dict(self.options)
        options.setdefault("session_id", session)
        examples = self.fw.few_shot(query, self.k, **options)
        with self._cache_lock:
            self._cache[key] = (now, examples)
            while len(self._cache) > 256:
                self._cache.popitem(last=False)
        return examples

    def inject(self, value: Any, config: RunnableConfig | None = None) -> tuple[list[BaseMessage], list[str]]:
        """(messages with examples injected, injected ids) for ``value``."""
        messages = _messages_of(value)
        at = _last_user(messages)
        examples: list[FewShotExample] = []
        if at is not None:
            query = text_of(messages[at].content)
            if query.strip():
                try:
                    examples = self.select(query, config)
                except Exception as exc:  # noqa: BLE001 - never break the agent: no examples instead
                    _retrieval_failed(self.fw, exc)
        shots = [m for ex in examples for m in example_to_messages(ex)]
        lead = [self.system] if self.system is not None else []
        if not shots:
            return lead + messages, []
        if self.position == "after_system" or at is None:
            n_sys = 0
            while n_sys < len(messages) and isinstance(messages[n_sys], SystemMessage):
                n_sys += 1
            out = lead + messages[:n_sys] + shots + messages[n_sys:]
        else:
            out = lead + messages[:at] + shots + messages[at:]
        ids = [e.interaction_id for e in examples]
        self.last_ids = ids
        return out, ids

    # -- Runnable -------------------------------------------------------------------------------
    def _run(self, value: Any, config: RunnableConfig) -> list[BaseMessage]:
        messages, ids = self.inject(value, config)
        _announce(ids, config)
        return messages

    async def _arun(self, value: Any, config: RunnableConfig) -> list[BaseMessage]:
        messages, ids = await run_in_executor(config, self.inject, value, config)
        await _aannounce(ids, config)
        return messages

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> list[BaseMessage]:  # noqa: A002
        return self._call_with_config(self._run, input, config, run_type="prompt")

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> list[BaseMessage]:  # noqa: A002
        return await self._acall_with_config(self._arun, input, config, run_type="prompt")


class FewShotInjected(Runnable[Any, Any]):
    """``bound`` called with few-shot examples injected into its input (see :func:`with_few_shot`)."""

    def __init__(self, prompt: FlywheelFewShotPrompt, bound: Runnable[Any, Any], name: str | None = None) -> None:
        self.prompt = prompt
        self.bound = bound
        self.name = name or f"FlywheelFewShot[{bound.get_name()}]"

    @staticmethod
    def _reshape(original: Any, messages: list[BaseMessage]) -> Any:
        """The input in its original shape, with the injected messages."""
        if isinstance(original, Mapping) and "messages" in original:
            return {**original, "messages": messages}
        return messages

    def _child(self, config: RunnableConfig, run_manager: Any, ids: list[str]) -> RunnableConfig:
        child = patch_config(config, callbacks=run_manager.get_child())
        if ids:
            child["metadata"] = {**(child.get("metadata") or {}), FEW_SHOT_METADATA_KEY: list(ids)}
        return child

    def _prepare(self, input: Any, run_manager: Any, config: RunnableConfig) -> tuple[Any, RunnableConfig]:  # noqa: A002
        messages, ids = self.prompt.inject(input, config)
        _announce(ids, patch_config(config, callbacks=run_manager.get_child()))
        return self._reshape(input, messages), self._child(config, run_manager, ids)

    def _invoke(self, input: Any, run_manager: Any, config: RunnableConfig, **kwargs: Any) -> Any:  # noqa: A002
        value, child = self._prepare(input, run_manager, config)
        return self.bound.invoke(value, child, **kwargs)

    async def _ainvoke(self, input: Any, run_manager: Any, config: RunnableConfig, **kwargs: Any) -> Any:  # noqa: A002
        messages, ids = await run_in_executor(config, self.prompt.inject, input, config)
        await _aannounce(ids, patch_config(config, callbacks=run_manager.get_child()))
        return await self.bound.ainvoke(self._reshape(input, messages), self._child(config, run_manager, ids), **kwargs)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:  # noqa: A002
        return self._call_with_config(self._invoke, input, config, **kwargs)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:  # noqa: A002
        return await self._acall_with_config(self._ainvoke, input, config, **kwargs)

    def _stream(self, inputs: Iterator[Any], run_manager: Any, config: RunnableConfig, **kwargs: Any) -> Iterator[Any]:
        value, child = self._prepare(_single(inputs), run_manager, config)
        yield from self.bound.stream(value, child, **kwargs)

    async def _astream(self, inputs: AsyncIterator[Any], run_manager: Any, config: RunnableConfig, **kwargs: Any) -> AsyncIterator[Any]:
        items = [x async for x in inputs]
        value = items[0] if len(items) == 1 else _single(iter(items))
        messages, ids = await run_in_executor(config, self.prompt.inject, value, config)
        await _aannounce(ids, patch_config(config, callbacks=run_manager.get_child()))
        async for chunk in self.bound.astream(self._reshape(value, messages), self._child(config, run_manager, ids), **kwargs):
            yield chunk

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:  # noqa: A002
        yield from self._transform_stream_with_config(iter([input]), self._stream, ensure_config(config), **kwargs)

    async def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AsyncIterator[Any]:  # noqa: A002
        async def once() -> AsyncIterator[Any]:
            yield input

        async for chunk in self._atransform_stream_with_config(once(), self._astream, ensure_config(config), **kwargs):
            yield chunk


def _single(inputs: Iterator[Any]) -> Any:
    items = list(inputs)
    if len(items) != 1:
        raise ValueError(f"few-shot injection takes one input, got {len(items)}")
    return items[0]


def with_few_shot(fw: Any, runnable: Runnable[Any, Any], k: int = 3, **options: Any) -> FewShotInjected:
    """``runnable`` (a chat model, chain or graph taking messages or ``{"messages": [...]}``) with
    few-shot examples injected into each call's input. For a LangGraph agent with a checkpointer,
    prefer ``prompt=FlywheelFewShotPrompt(fw)``: this wrapper puts the examples into the input
    messages, which a graph keeps in its state."""
    return FewShotInjected(FlywheelFewShotPrompt(fw, k, **options), runnable)
