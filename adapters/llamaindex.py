"""LlamaIndex capture: wrap a query or chat engine and each call becomes one ``Interaction``.

::

    engine = fw.llamaindex(index.as_query_engine())          # == wrap(fw, engine)
    response = engine.query("What is the refund policy?")    # same response object as before
    response.metadata["flywheel_interaction_id"]             # the interaction's id, for feedback

The wrapper is a drop-in: a ``BaseQueryEngine`` (or ``BaseChatEngine``) with the same methods
(``query``, ``aquery``, ``retrieve``, ``synthesize``; ``chat``, ``achat``, ``stream_chat``,
``astream_chat``, ``reset``, ``chat_history``), the same ``get_prompts``/``update_prompts`` and the
same response objects; any other attribute is the wrapped engine's. Retriever query engines,
``RouterQueryEngine``, ``SubQuestionQueryEngine`` and the chat engines work sync, async and streaming.

What one call becomes (collected by a span handler and an event handler of
``llama_index.core.instrumentation`` registered once on the root dispatcher; they only look at
spans and events of a call that a wrapper started, found through a context variable and the span
parent ids, so concurrent calls in threads and tasks stay apart):

* ``input`` the query / message text, ``output`` the answer text (streams: when consumed);
* ``steps`` in start order: each LLM call (prompt or messages, output, token usage, model, the
  component that called it and its prompt type), each retrieval (query; nodes as
  ``{"id", "text", "score", "metadata"}``; the tool whose engine retrieved), each rerank, and for a
  ``SubQuestionQueryEngine`` each sub-question (question, tool, answer);
* ``decisions``: a router's choice, ``RoutingDecision(decider="router", name=<router>,
  candidates=[tool names or descriptions], chosen=<name(s)>, reason=<selector reason>)``, taken
  from the selector's span when it exits with its ``MultiSelection`` (no LlamaIndex event carries
  it), else from ``response.metadata["selector_result"]``; for a sub-question engine one
  ``decider="sub_question"`` decision per sub-question with the engine (tool) chosen for it;
* session / user: per-call ``session_id=`` / ``user_id=`` keywords, else ``fw.session(...)``, else
  the wrapper's ``session_id=`` / ``user_id=``;
* status ``error`` on an exception, ``aborted`` (+ an implicit ``abort`` signal) on cancellation,
  ``KeyboardInterrupt`` or a stream closed before its end.

Tracing: with a tracer provider (``recorder.tracer_provider`` or ``tracer_provider=``), the spans
of the call are handed to OpenInference's own LlamaIndex span/event handlers
(``openinference-instrumentation-llama-index``) built on that provider, *scoped* to wrapped calls
(nothing global is instrumented), so they appear in Phoenix in OpenInference conventions; the root
span gets ``session.id``, ``user.id``, ``flywheel.interaction_id``, ``flywheel.few_shot_ids``,
``flywheel.routes``; the selector span a ``flywheel.route`` event. Its trace/span ids go to
``Interaction.metadata["trace_id"/"span_id"]`` and the span index, so signals become Phoenix
annotations as for LangChain. If ``LlamaIndexInstrumentor`` is already active, it does the tracing
and the wrapper only adds its attributes. No provider: no spans, no cost.

Few-shot (``few_shot=True``): the engine's QA/refine/summary templates (and a chat engine's
context template) get a ``{few_shot_examples}`` variable filled by a ``function_mappings``
function: the examples ``recorder.few_shot(query, k=few_shot_k)`` returns, selected once per call
and only when a prompt is formatted; what was injected goes to ``Interaction.few_shot_ids``.

Every hook is guarded: an exception in this module never reaches the app; it is logged once per
kind and counted (``llamaindex.callback_errors`` and ``llamaindex.callback_errors.<where>``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

from flywheel_middleware._extras import requires_extra

with requires_extra("llamaindex"):
    from llama_index.core.base.base_query_engine import BaseQueryEngine
    from llama_index.core.base.base_selector import BaseSelector
    from llama_index.core.base.llms.types import ChatMessage, MessageRole
    from llama_index.core.base.response.schema import AsyncStreamingResponse, PydanticResponse, Response, StreamingResponse
    from llama_index.core.chat_engine.types import AgentChatResponse, BaseChatEngine, StreamingAgentChatResponse
    from llama_index.core.instrumentation import get_dispatcher
    from llama_index.core.instrumentation.event_handlers import BaseEventHandler
    from llama_index.core.instrumentation.events.llm import (
        LLMChatEndEvent,
        LLMChatStartEvent,
        LLMCompletionEndEvent,
        LLMCompletionStartEvent,
        LLMPredictStartEvent,
    )
    from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
    from llama_index.core.instrumentation.events.retrieval import RetrievalEndEvent, RetrievalStartEvent
    from llama_index.core.instrumentation.span import SimpleSpan, active_span_id
    from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
    from llama_index.core.prompts import BasePromptTemplate, ChatPromptTemplate, PromptTemplate, SelectorPromptTemplate
    from llama_index.core.question_gen.types import BaseQuestionGenerator

from flywheel_middleware.adapters._guard import deliver, report_failure, safe_count
from flywheel_middleware.records import Interaction, RoutingDecision, Signal, Step
from flywheel_middleware.tracing import (
    SPAN_INDEX,
    TURN_INPUT_ATTRIBUTE,
    TURN_OUTPUT_ATTRIBUTE,
    SpanIndex,
    format_span_id,
    format_trace_id,
)
from flywheel_middleware.turn_text import turn_text

__all__ = [
    "DEFAULT_FEW_SHOT_PROMPTS",
    "FEW_SHOT_VAR",
    "FlywheelChatEngine",
    "FlywheelQueryEngine",
    "ROUTE_EVENT",
    "current_interaction_id",
    "format_examples",
    "wrap",
]

_log = logging.getLogger("flywheel_middleware.adapters.llamaindex")

FEW_SHOT_VAR = "few_shot_examples"
"""The template variable the few-shot block is formatted into."""
DEFAULT_FEW_SHOT_PROMPTS = ("text_qa_template", "refine_template", "summary_template", "context_template",
                            "context_prompt_template")
"""Prompt keys (the part after the last ``:``) / chat-engine template attributes that get the block."""
ROUTE_EVENT = "flywheel.route"
_CALL_KEYS = ("session_id", "user_id")
_SPAN_DECORATED = "__dispatcher_span_decorated__"  # llama_index_instrumentation.DISPATCHER_SPAN_DECORATED_ATTR
_MAX_SPANS = 200_000
_CHAT_TEMPLATE_ATTRS = ("_context_template", "_context_prompt_template", "_context_refine_template",
                        "_context_refine_prompt_template")

_ACTIVE: contextvars.ContextVar[_Turn | None] = contextvars.ContextVar("flywheel_llamaindex_turn", default=None)


def _no_span(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Keep ``DispatcherSpanMixin`` from wrapping our delegating methods in spans of their own."""
    setattr(fn, _SPAN_DECORATED, True)
    return fn


# --------------------------------------------------------------------------------------------------
# small converters (cheap; the store does the JSON later)
# --------------------------------------------------------------------------------------------------


def _query_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    qs = getattr(value, "query_str", None)
    return qs if isinstance(qs, str) else str(value)


def _role(m: Any) -> str:
    r = getattr(m, "role", None)
    return str(getattr(r, "value", r) or "user")


def _message(m: Any) -> dict[str, Any]:
    content = getattr(m, "content", None)
    out: dict[str, Any] = {"role": _role(m), "content": content if content is not None else str(m)}
    kw = getattr(m, "additional_kwargs", None)
    if isinstance(kw, Mapping) and kw.get("tool_calls"):
        out["tool_calls"] = kw["tool_calls"]
    return out


def _node(n: Any, with_text: bool = True) -> dict[str, Any]:
    node = getattr(n, "node", n)
    out: dict[str, Any] = {"id": getattr(node, "node_id", None) or getattr(node, "id_", None), "score": getattr(n, "score", None)}
    if with_text:
        try:
            out["text"] = node.get_content()
        except Exception:  # noqa: BLE001 - image nodes and the like
            out["text"] = getattr(node, "text", None)
    md = getattr(node, "metadata", None)
    out["metadata"] = dict(md) if isinstance(md, Mapping) else {}
    return out


def _nodes(nodes: Any, with_text: bool = True) -> list[dict[str, Any]]:
    return [_node(n, with_text) for n in list(nodes or ())[:1000]]


def _usage(response: Any) -> dict[str, int]:
    """Token usage of a ChatResponse / CompletionResponse (OpenAI, Anthropic shapes; raw or kwargs)."""
    out: dict[str, int] = {}
    sources: list[Any] = []
    raw = getattr(response, "raw", None)
    if raw is not None:
        sources.append(raw.get("usage") if isinstance(raw, Mapping) else getattr(raw, "usage", None))
    sources.append(getattr(response, "additional_kwargs", None))
    for src in sources:
        if src is None:
            continue
        get = src.get if isinstance(src, Mapping) else (lambda k, _s=src: getattr(_s, k, None))
        for ours, keys in (
            ("input_tokens", ("prompt_tokens", "input_tokens")),
            ("output_tokens", ("completion_tokens", "output_tokens")),
            ("total_tokens", ("total_tokens",)),
        ):
            if ours in out:
                continue
            for k in keys:
                v = get(k)
                if isinstance(v, int) and not isinstance(v, bool):
                    out[ours] = v
                    break
    if out and "total_tokens" not in out and "input_tokens" in out and "output_tokens" in out:
        out["total_tokens"] = out["input_tokens"] + out["output_tokens"]
    return out


def _output_of(result: Any) -> Any:
    if isinstance(result, PydanticResponse):
        r = result.response
        try:
            return r.model_dump() if r is not None else None
        except Exception:  # noqa: BLE001
            return str(r)
    if isinstance(result, (Response, AgentChatResponse, StreamingAgentChatResponse)):
        return result.response
    if isinstance(result, (StreamingResponse, AsyncStreamingResponse)):
        return result.response_txt
    if isinstance(result, (str, int, float, bool)) or result is None:
        return result
    return str(result)


def _error_text(error: BaseException) -> str:
    msg = str(error)
    return (f"{type(error).__name__}: {msg}" if msg else type(error).__name__)[:4000]


def _abort_reason(error: BaseException) -> str | None:
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    if isinstance(error, KeyboardInterrupt):
        return "keyboard_interrupt"
    if isinstance(error, GeneratorExit):
        return "stream_closed"
    return None


def _class_of(span_name: str) -> str:
    return span_name.partition(".")[0]


def format_examples(examples: Sequence[Any]) -> str:
    """The default few-shot block: question/answer pairs, then a separator (empty if none)."""
    if not examples:
        return ""
    parts = ["Examples of questions that were answered well before:"]
    for i, ex in enumerate(examples, 1):
        parts.append(f"Example {i}\nQuestion: {getattr(ex, 'input', '')}\nAnswer: {getattr(ex, 'output', '')}")
    return "\n\n".join(parts) + "\n---------------------\n"


# --------------------------------------------------------------------------------------------------
# per-span and per-call state
# --------------------------------------------------------------------------------------------------


class _SpanInfo:
    __slots__ = ("turn", "parent", "name", "instance_id", "started", "open", "step", "nested_llm", "prompt_type")

    def __init__(self, turn: _Turn, parent: str | None, name: str, instance_id: int, started: float) -> None:
        self.turn = turn
        self.parent = parent  # the parent span id when it belongs to the same call, else None
        self.name = name  # "RouterQueryEngine._query"
        self.instance_id = instance_id
        self.started = started
        self.open = True
        self.step: Step | None = None  # the LLM / retrieval step this span carries
        self.nested_llm = False
        self.prompt_type: str | None = None


class _Registry:
    """The process-wide span map and the handlers registered on LlamaIndex's root dispatcher."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: dict[str, _SpanInfo] = {}
        self.installed = False
        self.tracers: dict[int, tuple[Any, Any, Any]] = {}  # id(provider) -> (provider, span handler, event handler)
        self.oi_class: Any = False  # OpenInference's _SpanHandler class (None when not installed)

    def install(self) -> None:
        if self.installed:
            return
        with self.lock:
            if self.installed:
                return
            root = get_dispatcher()
            root.add_span_handler(_FlywheelSpanHandler())
            root.add_event_handler(_FlywheelEventHandler())
            self.installed = True

    def put(self, span_id: str, info: _SpanInfo) -> int:
        spans = self.spans
        spans[span_id] = info
        if len(spans) <= _MAX_SPANS:
            return 0
        with self.lock:  # calls that never finished (streams never read): forget the oldest spans
            n = len(spans) - _MAX_SPANS // 2
            for key in list(spans)[:n]:
                spans.pop(key, None)
        return n

    def global_oi(self) -> Any:
        """The span handler of an active ``LlamaIndexInstrumentor``, if any."""
        cls = self.oi_class
        if cls is False:
            try:
                from openinference.instrumentation.llama_index._handler import _SpanHandler

                cls = _SpanHandler
            except Exception:  # noqa: BLE001 - not installed
                cls = None
            self.oi_class = cls
        if cls is None:
            return None
        for h in get_dispatcher().span_handlers:
            if isinstance(h, cls):
                return h
        return None

    def tracer_for(self, provider: Any) -> tuple[Any, Any]:
        """OpenInference span + event handlers on ``provider`` (one pair per provider, not registered)."""
        key = id(provider)
        got = self.tracers.get(key)
        if got is not None and got[0] is provider:
            return got[1], got[2]
        from openinference.instrumentation import OITracer, TraceConfig
        from openinference.instrumentation.llama_index import __version__ as oi_version
        from openinference.instrumentation.llama_index._handler import EventHandler, _SpanHandler
        from opentelemetry import trace as trace_api

        tracer = OITracer(trace_api.get_tracer(__name__, oi_version, provider), config=TraceConfig())
        span_handler = _SpanHandler(tracer=tracer)
        event_handler = EventHandler(span_handler=span_handler)
        with self.lock:
            got = self.tracers.get(key)
            if got is not None and got[0] is provider:
                return got[1], got[2]
            self.tracers[key] = (provider, span_handler, event_handler)
        return span_handler, event_handler


_REG = _Registry()


def _otel_span(oi_span: Any) -> Any:
    from opentelemetry import trace as trace_api

    return trace_api.get_current_span(oi_span.context)


class _Turn:
    """One wrapped call: the interaction being filled, its spans, its few-shot selection."""

    def __init__(self, cap: _Capture, interaction: Interaction, query: str) -> None:
        self.cap = cap
        self.interaction = interaction
        self.query = query
        self.lock = threading.RLock()
        self.done = False
        self.span_ids: list[str] = []
        self.root_span_id: str | None = None
        self.root_otel: Any = None
        self.root_decorated = False
        self.oi: Any = None  # our OpenInference span handler (scoped), or None
        self.oi_events: Any = None
        self.global_oi: Any = None  # an active LlamaIndexInstrumentor's span handler
        self.usage: dict[str, int] = {}
        self.signals: list[Signal] = []
        self.subq: dict[str, list[RoutingDecision]] = {}
        self.few_shot: list[Any] | None = None
        self.few_shot_lock = threading.Lock()
        self.written: dict[int, BaseException | None] = {}
        self.awaiting: int | None = None
        self.session_cm: Any = contextlib.nullcontext()
        self.started = time.monotonic()

    # -- helpers -------------------------------------------------------------------------------

    def fail(self, where: str, exc: BaseException) -> None:
        self.cap.fail(where, exc)

    def _ancestors(self, info: _SpanInfo) -> Iterator[_SpanInfo]:
        spans = _REG.spans
        parent = info.parent
        for _ in range(64):
            if parent is None:
                return
            p = spans.get(parent)
            if p is None:
                return
            yield p
            parent = p.parent

    def _tool_of(self, info: _SpanInfo) -> str | None:
        names = self.cap.tool_names
        if not names:
            return None
        if info.instance_id in names:
            return names[info.instance_id]
        for p in self._ancestors(info):
            if p.instance_id in names:
                return names[p.instance_id]
        return None

    def _add_step(self, step: Step) -> bool:
        with self.lock:
            steps = self.interaction.steps
            if len(steps) >= self.cap.max_steps:
                self.cap.count("llamaindex.steps_truncated")
                return False
            steps.append(step)
            return True

    def _oi_span(self, span_id: str) -> Any:
        h = self.oi if self.oi is not None else self.global_oi
        if h is None:
            return None
        try:
            return h.open_spans.get(span_id)
        except Exception:  # noqa: BLE001
            return None

    # -- spans ---------------------------------------------------------------------------------

    def on_span_enter(self, id_: str, bound_args: Any, instance: Any, parent_in_turn: str | None,
                      parent_id: str | None, tags: Any) -> None:
        info = _SpanInfo(self, parent_in_turn, id_.partition("-")[0], id(instance) if instance is not None else 0, time.time())
        evicted = _REG.put(id_, info)
        if evicted:
            self.cap.count("llamaindex.spans_evicted", evicted)
        is_root = False
        with self.lock:
            self.span_ids.append(id_)
            if self.root_span_id is None:
                self.root_span_id = id_
                is_root = True
        if self.oi is not None:
            oi_parent = parent_id
            if parent_in_turn is None and not is_root:
                oi_parent = self.root_span_id  # a second top-level span of the call: keep one trace
            try:
                self.oi.span_enter(id_=id_, bound_args=bound_args, instance=instance, parent_id=oi_parent, tags=tags)
            except Exception as exc:  # noqa: BLE001
                self.fail("trace.span_enter", exc)
        if not self.root_decorated:
            self.decorate_root()
        if self.subq and isinstance(instance, BaseQueryEngine) and info.name.endswith("query"):
            self._sub_question_started(id_, info, bound_args)

    def on_span_exit(self, id_: str, info: _SpanInfo, bound_args: Any, instance: Any, result: Any,
                     err: BaseException | None, dropped: bool) -> None:
        info.open = False
        written = False
        if not self.done:
            try:
                written = self._observe_exit(id_, info, bound_args, instance, result, err, dropped)
            except Exception as exc:  # noqa: BLE001
                self.fail("span_exit", exc)
        oi = self.oi
        if oi is not None:
            try:
                if dropped:
                    oi.span_drop(id_=id_, bound_args=bound_args, instance=instance, err=err)
                else:
                    oi.span_exit(id_=id_, bound_args=bound_args, instance=instance, result=result)
            except Exception as exc:  # noqa: BLE001
                self.fail("trace.span_exit", exc)
        if self.done:
            _REG.spans.pop(id_, None)
        if written:
            self.stream_written(instance, err if dropped else None)

    def _observe_exit(self, id_: str, info: _SpanInfo, bound_args: Any, instance: Any, result: Any,
                      err: BaseException | None, dropped: bool) -> bool:
        if not self.root_decorated:
            self.decorate_root()
        if id_ == self.root_span_id:
            status = "ok"
            if dropped:
                status = "aborted" if err is not None and _abort_reason(err) else "error"
            self.root_attributes(status)
        if isinstance(instance, BaseSelector) and not dropped and hasattr(result, "selections"):
            self._router_decision(id_, info, bound_args, result)
        elif isinstance(instance, BaseQuestionGenerator) and not dropped and isinstance(result, list):
            self._sub_questions(info, bound_args, result)
        elif info.step is not None and info.step.kind == "chain" and info.step.name.startswith("sub_question"):
            self._sub_question_done(info, result, err if dropped else None)
        return isinstance(instance, StreamingAgentChatResponse) and info.name.endswith("write_response_to_history")

    # -- root span -------------------------------------------------------------------------------

    def decorate_root(self) -> None:
        """Find the root OpenInference span; note its ids; put session/user/interaction id on it."""
        if self.root_span_id is None or (self.oi is None and self.global_oi is None):
            return
        oi_span = self._oi_span(self.root_span_id)
        if oi_span is None:
            return
        self.root_decorated = True
        try:
            otel = _otel_span(oi_span)
            ctx = otel.get_span_context()
            it = self.interaction
            it.metadata["trace_id"] = format_trace_id(ctx.trace_id)
            it.metadata["span_id"] = format_span_id(ctx.span_id)
            attrs: dict[str, Any] = {"flywheel.interaction_id": it.id}
            if it.session_id:
                attrs["session.id"] = it.session_id
            if it.user_id:
                attrs["user.id"] = it.user_id
            otel.set_attributes(attrs)
            self.root_otel = otel
        except Exception as exc:  # noqa: BLE001
            self.fail("root_span", exc)

    def root_attributes(self, status: str) -> None:
        otel = self.root_otel
        if otel is None:
            return
        try:
            if not otel.is_recording():
                return
            it = self.interaction
            attrs: dict[str, Any] = {"flywheel.status": status}
            if it.few_shot_ids:
                attrs["flywheel.few_shot_ids"] = list(it.few_shot_ids)
            routes = [str(d.chosen) for d in it.decisions if d.decider == "router"]
            if routes:
                attrs["flywheel.routes"] = routes
            if it.text is not None:  # shown as input.value / output.value at export (tracing.with_turn_text)
                if it.text.input:
                    attrs[TURN_INPUT_ATTRIBUTE] = it.text.input
                if it.text.output:
                    attrs[TURN_OUTPUT_ATTRIBUTE] = it.text.output
            otel.set_attributes(attrs)
        except Exception as exc:  # noqa: BLE001
            self.fail("root_attributes", exc)

    # -- routing ---------------------------------------------------------------------------------

    def _owner_name(self, info: _SpanInfo, skip_class: str) -> str | None:
        """The router / engine a selector or question generator works for."""
        cap = self.cap
        for p in self._ancestors(info):
            cls = _class_of(p.name)
            if cls == skip_class:
                continue
            if p.instance_id in cap.tool_names:
                return cap.tool_names[p.instance_id]
            if p.instance_id == cap.engine_id and cap.name:
                return cap.name
            return cls
        return cap.name

    def _router_decision(self, id_: str, info: _SpanInfo, bound_args: Any, result: Any) -> None:
        args = getattr(bound_args, "arguments", {}) or {}
        choices = list(args.get("choices") or ())
        decision = _selection_decision(result, choices, _query_text(args.get("query")))
        decision.name = self._owner_name(info, _class_of(info.name))
        decision.metadata["selector"] = _class_of(info.name)
        decision.metadata["span"] = id_
        with self.lock:
            self.interaction.decisions.append(decision)
        oi_span = self._oi_span(id_)
        if oi_span is not None:
            try:
                _otel_span(oi_span).add_event(ROUTE_EVENT, {
                    "router": str(decision.name),
                    "chosen": str(decision.chosen),
                    "candidates": [str(c) for c in decision.candidates],
                    "reason": decision.reason or "",
                })
            except Exception as exc:  # noqa: BLE001
                self.fail("route_event", exc)

    def _sub_questions(self, info: _SpanInfo, bound_args: Any, result: list[Any]) -> None:
        args = getattr(bound_args, "arguments", {}) or {}
        tools = [getattr(t, "name", None) or str(t) for t in args.get("tools") or ()]
        owner = self._owner_name(info, _class_of(info.name))
        now = time.time()
        with self.lock:
            for i, sq in enumerate(result):
                question = getattr(sq, "sub_question", None)
                tool = getattr(sq, "tool_name", None)
                if question is None:
                    continue
                d = RoutingDecision(
                    decider="sub_question",
                    chosen=tool,
                    candidates=list(tools),
                    name=owner,
                    at=now,
                    metadata={"sub_question": question, "index": i, "generator": _class_of(info.name),
                              "query": _query_text(args.get("query"))},
                )
                self.interaction.decisions.append(d)
                self.subq.setdefault(question, []).append(d)

    def _sub_question_started(self, id_: str, info: _SpanInfo, bound_args: Any) -> None:
        args = getattr(bound_args, "arguments", {}) or {}
        question = _query_text(args.get("str_or_query_bundle"))
        with self.lock:
            pending = self.subq.get(question)
            if not pending:
                return
            d = pending.pop(0)
            if not pending:
                self.subq.pop(question, None)
        step = Step(kind="chain", name=f"sub_question:{d.chosen}", inputs={"question": question, "tool": d.chosen},
                    started_at=info.started, run_id=id_, parent_run_id=info.parent,
                    metadata={"tool": d.chosen, "sub_question_index": d.metadata.get("index")})
        step.metadata["_decision"] = d  # dropped when the answer comes
        if self._add_step(step):
            info.step = step

    def _sub_question_done(self, info: _SpanInfo, result: Any, err: BaseException | None) -> None:
        step = info.step
        if step is None:
            return
        d = step.metadata.pop("_decision", None)
        step.ended_at = time.time()
        if err is not None:
            step.error = _error_text(err)
            if d is not None:
                d.metadata["error"] = step.error
            return
        answer = _output_of(result)
        step.outputs = answer
        if d is not None:
            d.metadata["answer"] = answer
            d.metadata["source_node_ids"] = [n["id"] for n in _nodes(getattr(result, "source_nodes", None), False)][:50]

    # -- events ----------------------------------------------------------------------------------

    def on_event(self, event: Any, info: _SpanInfo | None, span_id: str | None) -> None:
        if isinstance(event, (LLMCompletionStartEvent, LLMChatStartEvent)):
            if info is not None:
                self._llm_start(event, info, span_id)
        elif isinstance(event, (LLMCompletionEndEvent, LLMChatEndEvent)):
            if info is not None and info.step is not None:
                self._llm_end(event, info)
        elif isinstance(event, LLMPredictStartEvent):
            if info is not None:
                pt = (getattr(event.template, "metadata", None) or {}).get("prompt_type")
                info.prompt_type = None if pt is None else str(getattr(pt, "value", pt))
        elif isinstance(event, RetrievalStartEvent):
            if info is not None:
                self._retrieval_start(info, span_id, "retrieval", _class_of(info.name), _query_text(event.str_or_query_bundle))
        elif isinstance(event, RetrievalEndEvent):
            if info is not None and info.step is not None:
                self._retrieval_end(info, event.nodes)
        elif isinstance(event, ReRankStartEvent):
            if info is not None:
                step = self._retrieval_start(info, span_id, "rerank", f"rerank:{event.model_name}", _query_text(event.query))
                if step is not None:
                    step.metadata.update(rerank=True, top_n=event.top_n, n_input_nodes=len(event.nodes or ()))
        elif isinstance(event, ReRankEndEvent):
            if info is not None and info.step is not None:
                self._retrieval_end(info, event.nodes)

    def _llm_start(self, event: Any, info: _SpanInfo, span_id: str | None) -> None:
        for p in self._ancestors(info):  # CustomLLM.chat -> complete: one call, not two
            if p.step is not None and p.step.kind == "llm" and p.step.ended_at is None:
                info.nested_llm = True
                return
        md = event.model_dict if isinstance(getattr(event, "model_dict", None), Mapping) else {}
        model = md.get("model_name") or md.get("model") or _class_of(info.name)
        if isinstance(event, LLMChatStartEvent):
            inputs: Any = [_message(m) for m in event.messages]
        else:
            inputs = event.prompt
        caller = None
        prompt_type = info.prompt_type
        llm_class = _class_of(info.name)
        for p in self._ancestors(info):
            if prompt_type is None and p.prompt_type is not None:
                prompt_type = p.prompt_type
            if _class_of(p.name) != llm_class:
                caller = p.name
                break
        step = Step(kind="llm", name=str(model), inputs=inputs, started_at=time.time(), run_id=span_id,
                    parent_run_id=info.parent, metadata={"model": str(model)})
        if caller:
            step.metadata["caller"] = caller
        if prompt_type:
            step.metadata["prompt_type"] = prompt_type
        tool = self._tool_of(info)
        if tool:
            step.metadata["tool"] = tool
        it = self.interaction
        if it.model_version is None and md.get("model_name"):
            it.model_version = str(md["model_name"])
        if self._add_step(step):
            info.step = step

    def _llm_end(self, event: Any, info: _SpanInfo) -> None:
        step = info.step
        assert step is not None
        response = event.response
        step.ended_at = time.time()
        if response is None:
            return
        if isinstance(event, LLMChatEndEvent):
            step.outputs = _message(response.message)
        else:
            step.outputs = response.text
        usage = _usage(response)
        if usage:
            step.metadata["token_usage"] = usage
            with self.lock:
                for k, v in usage.items():
                    self.usage[k] = self.usage.get(k, 0) + v

    def _retrieval_start(self, info: _SpanInfo, span_id: str | None, kind: str, name: str, query: str) -> Step | None:
        step = Step(kind="retrieval", name=name, inputs=query, started_at=time.time(), run_id=span_id,
                    parent_run_id=info.parent, metadata={})
        tool = self._tool_of(info)
        if tool:
            step.metadata["tool"] = tool
        if self._add_step(step):
            info.step = step
            return step
        return None

    def _retrieval_end(self, info: _SpanInfo, nodes: Any) -> None:
        step = info.step
        assert step is not None
        step.ended_at = time.time()
        out = _nodes(nodes, self.cap.capture_text)
        step.outputs = out
        step.metadata["n_nodes"] = len(out)
        scores = [n["score"] for n in out if isinstance(n.get("score"), (int, float))]
        if scores:
            step.metadata["top_score"] = max(scores)

    # -- few-shot --------------------------------------------------------------------------------

    def examples(self) -> list[Any]:
        with self.few_shot_lock:
            if self.few_shot is not None:
                return self.few_shot
            self.few_shot = []
            cap = self.cap
            try:
                it = self.interaction
                with cap.session_scope(it.session_id, it.user_id):
                    got = cap.recorder.few_shot(self.query, k=cap.few_shot_k, **cap.few_shot_options)
                self.few_shot = list(got or [])
            except Exception as exc:  # noqa: BLE001
                self.fail("few_shot", exc)
            return self.few_shot

    def few_shot_text(self) -> str:
        examples = self.examples()
        if not examples:
            return ""
        with self.lock:
            fs = self.interaction.few_shot_ids
            for ex in examples:
                iid = str(getattr(ex, "interaction_id", ""))
                if iid and iid not in fs:
                    fs.append(iid)
        return str(self.cap.few_shot_formatter(examples))

    # -- the end of the call ---------------------------------------------------------------------

    def after(self, result: Any) -> Any:
        """The wrapped method returned: finish now, or when its stream ends."""
        try:
            _set_interaction_id(result, self.interaction.id)
            if isinstance(result, StreamingResponse) and result.response_gen is not None:
                result.response_gen = _wrap_stream(self, result.response_gen)
            elif isinstance(result, AsyncStreamingResponse) and result.response_gen is not None:
                result.response_gen = _wrap_astream(self, result.response_gen)
            elif isinstance(result, StreamingAgentChatResponse):
                self.await_stream(result)
            else:
                self.finish(output=_output_of(result), response=result)
        except Exception as exc:  # noqa: BLE001
            self.fail("after", exc)
            self.finish(output=None)
        return result

    def await_stream(self, response: StreamingAgentChatResponse) -> None:
        key = id(response)
        with self.lock:
            if key in self.written:
                go, err = True, self.written[key]
            else:
                self.awaiting = key
                go, err = False, None
        if go:
            self._stream_done(response, err)

    def stream_written(self, instance: Any, err: BaseException | None) -> None:
        key = id(instance)
        with self.lock:
            self.written[key] = err
            go = self.awaiting == key
        if go:
            self._stream_done(instance, err)

    def _stream_done(self, response: Any, err: BaseException | None) -> None:
        output = getattr(response, "response", None) or getattr(response, "unformatted_response", None)
        self.finish(output=output, error=err, response=response)

    def finish(self, *, output: Any = None, error: BaseException | None = None, response: Any = None) -> None:
        """Fill in the end of the interaction, record it (once) and forget the call's spans."""
        with self.lock:
            if self.done:
                return
            self.done = True
        try:
            self._complete(output, error, response)
        except Exception as exc:  # noqa: BLE001
            self.fail("finish", exc)
        self._record()
        try:
            spans = _REG.spans
            for sid in self.span_ids:
                info = spans.get(sid)
                if info is not None and info.turn is self and not info.open:
                    spans.pop(sid, None)
        except Exception as exc:  # noqa: BLE001
            self.fail("cleanup", exc)

    def _complete(self, output: Any, error: BaseException | None, response: Any) -> None:
        it = self.interaction
        it.ended_at = time.time()
        if output is not None:
            it.output = output
        status = "ok"
        if error is not None:
            reason = _abort_reason(error)
            if reason is None:
                it.status = status = "error"
                it.error = _error_text(error)
            else:
                it.status = status = "aborted"
                last = next((s.name for s in reversed(it.steps) if s.kind != "chain"), None)
                self.signals.append(Signal(interaction_id=it.id, kind="abort", value=True, source="implicit",
                                           evidence={"reason": reason, "last_step": last,
                                                     "partial_output": bool(output)}))
        if response is not None:
            md = getattr(response, "metadata", None)
            if isinstance(md, Mapping) and md.get("selector_result") is not None and not any(
                d.decider == "router" for d in it.decisions
            ):  # a selector whose span we did not see: the router put its choice on the response
                d = _selection_decision(md["selector_result"], list(self.cap.router_choices), it.input_text)
                d.name = self.cap.name or self.cap.engine_class
                d.metadata["from"] = "response.metadata"
                it.decisions.append(d)
            sources = getattr(response, "source_nodes", None)
            if sources is not None:
                it.metadata["n_source_nodes"] = len(sources)
                if sources and not any(s.kind == "retrieval" for s in it.steps):
                    it.steps.append(Step(kind="retrieval", name="source_nodes", inputs=it.input_text,
                                         outputs=_nodes(sources, self.cap.capture_text), ended_at=it.ended_at,
                                         metadata={"n_nodes": len(sources), "from": "response.source_nodes"}))
        if self.usage:
            it.metadata["token_usage"] = dict(self.usage)
        it.metadata["duration_s"] = round(time.monotonic() - self.started, 6)
        for s in it.steps:
            s.metadata.pop("_decision", None)
        it.text = turn_text(it)
        self.root_attributes(status)

    def _record(self) -> None:
        deliver(self.cap.recorder, self.cap.span_index, self.interaction, self.signals, self.fail)


def _selection_decision(result: Any, choices: list[Any], query: str) -> RoutingDecision:
    """A router decision from a selector's ``MultiSelection`` and the choices it chose from."""
    described = []
    for i, c in enumerate(choices):
        name = getattr(c, "name", None)
        desc = getattr(c, "description", None) if not isinstance(c, str) else c
        described.append({"index": i, "name": name, "description": desc})
    names = [d["name"] for d in described]
    use_names = all(names) and len(set(names)) == len(names)
    labels = [str(d["name"]) if use_names else str(d["description"] or d["index"])[:200] for d in described]
    selections = list(getattr(result, "selections", None) or [])
    inds = [int(getattr(s, "index", -1)) for s in selections]
    reasons = [str(getattr(s, "reason", "") or "") for s in selections]
    chosen = [labels[i] if 0 <= i < len(labels) else i for i in inds]
    return RoutingDecision(
        decider="router",
        chosen=chosen[0] if len(chosen) == 1 else chosen,
        candidates=labels,
        reason=reasons[0] if len(reasons) == 1 else ("; ".join(reasons) or None),
        at=time.time(),
        metadata={"indices": inds, "reasons": reasons, "choices": described, "query": query},
    )


def _set_interaction_id(result: Any, interaction_id: str) -> None:
    md = getattr(result, "metadata", None)
    if md is None:
        try:
            result.metadata = md = {}
        except Exception:  # noqa: BLE001 - frozen or slotted objects
            return
    if isinstance(md, dict):
        md["flywheel_interaction_id"] = interaction_id


def _wrap_stream(turn: _Turn, gen: Iterator[str]) -> Iterator[str]:
    """Yield the tokens; the LLM runs while they are pulled, so pull them inside the call's context."""
    parts: list[str] = []
    it = iter(gen)
    while True:
        ctx = _ACTIVE.set(turn)
        try:
            token = next(it)
        except StopIteration:
            break
        except BaseException as exc:
            turn.finish(output="".join(parts) or None, error=exc)
            raise
        finally:
            _ACTIVE.reset(ctx)
        parts.append(token)
        try:
            yield token
        except BaseException as exc:  # GeneratorExit: the consumer stopped reading
            turn.finish(output="".join(parts) or None, error=exc)
            close = getattr(it, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
            raise
    turn.finish(output="".join(parts))


async def _wrap_astream(turn: _Turn, agen: AsyncIterator[str]) -> AsyncIterator[str]:
    parts: list[str] = []
    it = agen.__aiter__()
    while True:
        ctx = _ACTIVE.set(turn)
        try:
            token = await it.__anext__()
        except StopAsyncIteration:
            break
        except BaseException as exc:
            turn.finish(output="".join(parts) or None, error=exc)
            raise
        finally:
            _ACTIVE.reset(ctx)
        parts.append(token)
        try:
            yield token
        except BaseException as exc:
            turn.finish(output="".join(parts) or None, error=exc)
            aclose = getattr(it, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
            raise
    turn.finish(output="".join(parts))


def _current_turn() -> _Turn | None:
    turn = _ACTIVE.get()
    if turn is not None:
        return turn
    sid = active_span_id.get()
    info = _REG.spans.get(sid) if sid else None
    return info.turn if info is not None else None


def current_interaction_id() -> str | None:
    """The id of the interaction a wrapped call is capturing in this context (thread / task), if any."""
    turn = _current_turn()
    return turn.interaction.id if turn is not None else None


def _few_shot_examples(**kwargs: Any) -> str:
    """``function_mappings`` entry: the few-shot block of the current call ('' outside one)."""
    turn = _current_turn()
    if turn is None or turn.done or not turn.cap.few_shot:
        return ""
    try:
        return turn.few_shot_text()
    except Exception as exc:  # noqa: BLE001
        turn.fail("few_shot_text", exc)
        return ""


# --------------------------------------------------------------------------------------------------
# the handlers registered on the root dispatcher
# --------------------------------------------------------------------------------------------------


def _guard(turn: _Turn | None, where: str, exc: BaseException) -> None:
    try:
        if turn is not None:
            turn.fail(where, exc)
        else:
            _log.debug("flywheel LlamaIndex capture: %s failed: %r", where, exc)
    except Exception:  # noqa: BLE001
        pass


class _FlywheelSpanHandler(BaseSpanHandler[SimpleSpan]):
    """Sees every span of the process; acts only on those of a wrapped call (a dict lookup otherwise)."""

    @classmethod
    def class_name(cls) -> str:
        return "FlywheelSpanHandler"

    def span_enter(self, id_: str, bound_args: Any, instance: Any = None, parent_id: str | None = None,
                   tags: Any = None, **kwargs: Any) -> None:
        turn = None
        try:
            info = _REG.spans.get(parent_id) if parent_id else None
            turn = info.turn if info is not None else _ACTIVE.get()
            if turn is None or turn.done:
                return
            turn.on_span_enter(id_, bound_args, instance, parent_id if info is not None else None, parent_id, tags)
        except Exception as exc:  # noqa: BLE001
            _guard(turn, "span_enter", exc)

    def span_exit(self, id_: str, bound_args: Any, instance: Any = None, result: Any = None, **kwargs: Any) -> None:
        self._exit(id_, bound_args, instance, result, None, False)

    def span_drop(self, id_: str, bound_args: Any, instance: Any = None, err: BaseException | None = None,
                  **kwargs: Any) -> None:
        self._exit(id_, bound_args, instance, None, err, True)

    @staticmethod
    def _exit(id_: str, bound_args: Any, instance: Any, result: Any, err: BaseException | None, dropped: bool) -> None:
        info = None
        try:
            info = _REG.spans.get(id_)
            if info is None:
                return
            info.turn.on_span_exit(id_, info, bound_args, instance, result, err, dropped)
        except Exception as exc:  # noqa: BLE001
            _guard(info.turn if info is not None else None, "span_exit", exc)

    def new_span(self, id_: str, bound_args: Any, instance: Any = None, parent_span_id: str | None = None,
                 tags: Any = None, **kwargs: Any) -> None:
        return None

    def prepare_to_exit_span(self, id_: str, bound_args: Any, instance: Any = None, result: Any = None,
                             **kwargs: Any) -> None:
        return None

    def prepare_to_drop_span(self, id_: str, bound_args: Any, instance: Any = None, err: BaseException | None = None,
                             **kwargs: Any) -> None:
        return None


class _FlywheelEventHandler(BaseEventHandler):
    @classmethod
    def class_name(cls) -> str:
        return "FlywheelEventHandler"

    def handle(self, event: Any, **kwargs: Any) -> None:
        turn = None
        try:
            sid = event.span_id
            info = _REG.spans.get(sid) if sid else None
            turn = info.turn if info is not None else _ACTIVE.get()
            if turn is None or turn.done:
                return
            turn.on_event(event, info, sid)
            if info is not None and turn.oi_events is not None:
                try:
                    turn.oi_events.handle(event)
                except Exception as exc:  # noqa: BLE001
                    turn.fail("trace.event", exc)
        except Exception as exc:  # noqa: BLE001
            _guard(turn, "event", exc)


# --------------------------------------------------------------------------------------------------
# per-wrapper settings and the start of a call
# --------------------------------------------------------------------------------------------------


class _Capture:
    """What a wrapper was configured with, and how it starts a call."""

    def __init__(
        self,
        recorder: Any,
        engine: Any,
        *,
        name: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        model_version: str | None = None,
        prompt_version: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        few_shot: bool = False,
        few_shot_k: int = 3,
        few_shot_options: Mapping[str, Any] | None = None,
        few_shot_prompts: Sequence[str] = DEFAULT_FEW_SHOT_PROMPTS,
        few_shot_formatter: Callable[[Sequence[Any]], str] | None = None,
        trace: bool = True,
        tracer_provider: Any = None,
        span_index: SpanIndex | None = None,
        capture_text: bool = True,
        max_steps: int = 2_000,
    ) -> None:
        self.recorder = recorder
        self.engine_id = id(engine)
        self.engine_class = type(engine).__name__
        self.name = name
        self.session_id = session_id
        self.user_id = user_id
        self.model_version = model_version
        self.prompt_version = prompt_version
        self.metadata = dict(metadata or {})
        self.few_shot = bool(few_shot)
        self.few_shot_k = int(few_shot_k)
        self.few_shot_options = dict(few_shot_options or {})
        self.few_shot_prompts = tuple(few_shot_prompts)
        self.few_shot_formatter = few_shot_formatter or format_examples
        self.few_shot_targets: list[str] = []
        self.trace = trace
        self.tracer_provider = tracer_provider
        if span_index is None:
            span_index = getattr(recorder, "span_index", None)
        self.span_index: SpanIndex = span_index if span_index is not None else SPAN_INDEX
        self.capture_text = capture_text
        self.max_steps = max_steps
        self._warned: set[str] = set()
        self.tool_names: dict[int, str] = {}
        self.router_choices: list[Any] = []
        try:
            for sub, tool in _walk_engines(engine):
                if tool:
                    self.tool_names.setdefault(id(sub), tool)
            if isinstance(getattr(engine, "_metadatas", None), (list, tuple)) and hasattr(engine, "_selector"):
                self.router_choices = list(engine._metadatas)
        except Exception as exc:  # noqa: BLE001
            self.fail("walk_engines", exc)

    def count(self, name: str, n: int = 1) -> None:
        safe_count(self.recorder, name, n)

    def fail(self, where: str, exc: BaseException) -> None:
        """An exception inside the capture: warn once per kind, count, never re-raise."""
        report_failure(self.recorder, self._warned, "llamaindex", "the query is unaffected", where, exc, _log)

    def warn_once(self, key: str, message: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            _log.warning(message, *args)

    def session_scope(self, session_id: str | None, user_id: str | None) -> Any:
        scope = getattr(self.recorder, "session", None)
        if session_id is None or scope is None:
            return contextlib.nullcontext()
        try:
            current = self.recorder.current_session()
            if tuple(current) == (session_id, user_id):
                return contextlib.nullcontext()
            return scope(session_id, user_id)
        except Exception as exc:  # noqa: BLE001
            self.fail("session_scope", exc)
            return contextlib.nullcontext()

    def begin(self, query: Any, method: str, call: Mapping[str, Any]) -> _Turn | None:
        """Start capturing one call; None when nested in another wrapped call (or on a failure)."""
        try:
            outer = _ACTIVE.get()
            if outer is not None and not outer.done:
                return None  # the outer call captures everything inside it
            _REG.install()
            session, user = call.get("session_id"), call.get("user_id")
            if session is None or user is None:
                try:
                    cs, cu = self.recorder.current_session()
                except Exception as exc:  # noqa: BLE001
                    self.fail("current_session", exc)
                    cs = cu = None
                session = session if session is not None else cs
                user = user if user is not None else cu
            session = session if session is not None else self.session_id
            user = user if user is not None else self.user_id
            text = _query_text(query)
            interaction = Interaction(
                input=text,
                session_id=None if session is None else str(session),
                user_id=None if user is None else str(user),
                model_version=self.model_version,
                prompt_version=self.prompt_version,
                metadata={"framework": "llamaindex", "engine": self.engine_class, "method": method},
            )
            if self.name:
                interaction.metadata["name"] = self.name
            if self.metadata:
                interaction.metadata.update(self.metadata)
            turn = _Turn(self, interaction, text)
            turn.global_oi = _REG.global_oi()
            provider = None
            if self.trace:
                provider = self.tracer_provider if self.tracer_provider is not None else getattr(self.recorder, "tracer_provider", None)
            if provider is not None:
                if turn.global_oi is not None:
                    self.warn_once("global-oi", "flywheel: LlamaIndexInstrumentor is active; it traces the wrapped "
                                   "engine and flywheel only adds its attributes (no duplicate spans)")
                else:
                    try:
                        turn.oi, turn.oi_events = _REG.tracer_for(provider)
                    except Exception as exc:  # noqa: BLE001 - tracing is optional, capture is not
                        self.fail("tracer_setup", exc)
            turn.session_cm = self.session_scope(interaction.session_id, interaction.user_id)
            return turn
        except Exception as exc:  # noqa: BLE001
            self.fail("begin", exc)
            return None


def _walk_engines(engine: Any, tool: str | None = None, depth: int = 0,
                  seen: set[int] | None = None) -> Iterator[tuple[Any, str | None]]:
    """The engine and the engines it routes to / asks sub-questions of / wraps, with their tool names."""
    seen = set() if seen is None else seen
    engine = getattr(engine, "_fw_engine", engine)
    if id(engine) in seen or depth > 6:
        return
    seen.add(id(engine))
    yield engine, tool
    subs: list[tuple[str | None, Any]] = []
    qes = getattr(engine, "_query_engines", None)
    if isinstance(qes, Mapping):
        subs.extend((str(k), v) for k, v in qes.items())
    elif isinstance(qes, (list, tuple)):
        mds = getattr(engine, "_metadatas", None)
        names = [getattr(m, "name", None) for m in mds] if isinstance(mds, (list, tuple)) and len(mds) == len(qes) else []
        subs.extend((names[i] if names else None, q) for i, q in enumerate(qes))
    inner = getattr(engine, "_query_engine", None)
    if inner is not None:
        subs.append((None, inner))
    for name, sub in subs:
        yield from _walk_engines(sub, name, depth + 1, seen)


# --------------------------------------------------------------------------------------------------
# few-shot injection into prompt templates
# --------------------------------------------------------------------------------------------------


def _has_few_shot(t: BasePromptTemplate) -> bool:
    return FEW_SHOT_VAR in (t.template_vars or []) or FEW_SHOT_VAR in (t.function_mappings or {})


def inject_few_shot(t: Any) -> Any:
    """A copy of template ``t`` with the ``{few_shot_examples}`` block in front (None if unsupported)."""
    if not isinstance(t, BasePromptTemplate):
        return None
    if _has_few_shot(t):
        return t
    mappings = {**(t.function_mappings or {}), FEW_SHOT_VAR: _few_shot_examples}
    prompt_type = (t.metadata or {}).get("prompt_type", "custom")
    if isinstance(t, SelectorPromptTemplate):
        default = inject_few_shot(t.default_template)
        if default is None:
            return None
        conds = [(cond, inject_few_shot(p) or p) for cond, p in (t.conditionals or [])]
        return SelectorPromptTemplate(default_template=default, conditionals=conds or None)
    if isinstance(t, ChatPromptTemplate):
        messages = list(t.message_templates)
        pos = next((i for i, m in enumerate(messages) if m.role == MessageRole.USER), 0 if messages else None)
        if pos is None:
            return None
        m = messages[pos]
        messages[pos] = ChatMessage(role=m.role, content="{" + FEW_SHOT_VAR + "}" + (m.content or ""),
                                    additional_kwargs=dict(m.additional_kwargs or {}))
        return ChatPromptTemplate(message_templates=messages, prompt_type=prompt_type, output_parser=t.output_parser,
                                  metadata=dict(t.metadata or {}), template_var_mappings=t.template_var_mappings,
                                  function_mappings=mappings, **dict(t.kwargs or {}))
    if isinstance(t, PromptTemplate):
        return PromptTemplate("{" + FEW_SHOT_VAR + "}" + t.template, prompt_type=prompt_type,
                              output_parser=t.output_parser, metadata=dict(t.metadata or {}),
                              template_var_mappings=t.template_var_mappings, function_mappings=mappings,
                              **dict(t.kwargs or {}))
    return None


def _install_few_shot(engine: Any, cap: _Capture) -> None:
    targets = set(cap.few_shot_prompts)
    for sub, _tool in _walk_engines(engine):
        label = type(sub).__name__
        if hasattr(sub, "get_prompts") and hasattr(sub, "update_prompts"):
            updates = {}
            for key, tmpl in sub.get_prompts().items():
                if key.rsplit(":", 1)[-1] in targets:
                    new = inject_few_shot(tmpl)
                    if new is None:
                        cap.count("llamaindex.few_shot_unsupported_template")
                    elif new is not tmpl:
                        updates[key] = new
                        cap.few_shot_targets.append(f"{label}:{key}")
            if updates:
                sub.update_prompts(updates)
        for attr in _CHAT_TEMPLATE_ATTRS:
            tmpl = getattr(sub, attr, None)
            if attr.lstrip("_") in targets and isinstance(tmpl, BasePromptTemplate):
                new = inject_few_shot(tmpl)
                if new is not None and new is not tmpl:
                    setattr(sub, attr, new)
                    cap.few_shot_targets.append(f"{label}:{attr.lstrip('_')}")
    if not cap.few_shot_targets:
        cap.count("llamaindex.few_shot_no_prompt")
        cap.warn_once("few-shot-none", "flywheel: few_shot=True but %s has no prompt to inject examples into "
                      "(looked for %s)", cap.engine_class, ", ".join(cap.few_shot_prompts))


# --------------------------------------------------------------------------------------------------
# the wrappers
# --------------------------------------------------------------------------------------------------


def _pop_call(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: kwargs.pop(k) for k in _CALL_KEYS if k in kwargs}


class _Wrapper:
    """Shared by both wrappers: delegation and the capture around one call."""

    _fw_engine: Any
    _fw_capture: _Capture

    def __init__(self, engine: Any, capture: _Capture) -> None:
        object.__setattr__(self, "_fw_engine", engine)
        object.__setattr__(self, "_fw_capture", capture)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_fw_"):
            raise AttributeError(name)
        return getattr(self._fw_engine, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._fw_engine!r})"

    @property
    def wrapped(self) -> Any:
        """The engine inside."""
        return self._fw_engine

    @property
    def few_shot_targets(self) -> list[str]:
        """The prompts the few-shot block was put into (``Class:key``)."""
        return list(self._fw_capture.few_shot_targets)

    @property
    def callback_manager(self) -> Any:
        return getattr(self._fw_engine, "callback_manager", None)

    @callback_manager.setter
    def callback_manager(self, value: Any) -> None:
        self._fw_engine.callback_manager = value

    def _fw_call(self, method: str, query: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = _pop_call(kwargs)
        fn = getattr(self._fw_engine, method)
        turn = self._fw_capture.begin(query, method, call)
        if turn is None:
            return fn(*args, **kwargs)
        token = _ACTIVE.set(turn)
        try:
            with turn.session_cm:
                result = fn(*args, **kwargs)
        except BaseException as exc:
            turn.finish(error=exc)
            raise
        finally:
            _ACTIVE.reset(token)
        return turn.after(result)

    async def _fw_acall(self, method: str, query: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = _pop_call(kwargs)
        fn = getattr(self._fw_engine, method)
        turn = self._fw_capture.begin(query, method, call)
        if turn is None:
            return await fn(*args, **kwargs)
        token = _ACTIVE.set(turn)
        try:
            with turn.session_cm:
                result = await fn(*args, **kwargs)
        except BaseException as exc:
            turn.finish(error=exc)
            raise
        finally:
            _ACTIVE.reset(token)
        return turn.after(result)

    # -- prompts (PromptMixin) -----------------------------------------------------------------

    def get_prompts(self) -> dict[str, Any]:
        return self._fw_engine.get_prompts()

    def update_prompts(self, prompts_dict: dict[str, Any]) -> None:
        cap = self._fw_capture
        if cap.few_shot:  # a prompt the app swaps in keeps the few-shot block
            prompts_dict = dict(prompts_dict)
            for key, tmpl in list(prompts_dict.items()):
                if key.rsplit(":", 1)[-1] in cap.few_shot_prompts:
                    try:
                        new = inject_few_shot(tmpl)
                    except Exception as exc:  # noqa: BLE001
                        cap.fail("update_prompts", exc)
                        new = None
                    if new is not None:
                        prompts_dict[key] = new
        self._fw_engine.update_prompts(prompts_dict)

    @_no_span
    def _get_prompts(self) -> dict[str, Any]:
        return self._fw_engine._get_prompts()

    @_no_span
    def _get_prompt_modules(self) -> dict[str, Any]:
        return self._fw_engine._get_prompt_modules()

    @_no_span
    def _update_prompts(self, prompts: dict[str, Any]) -> None:
        self._fw_engine._update_prompts(prompts)


class FlywheelQueryEngine(_Wrapper, BaseQueryEngine):
    """A query engine that records each ``query`` / ``aquery`` as an ``Interaction``."""

    def __init__(self, engine: BaseQueryEngine, capture: _Capture) -> None:
        _Wrapper.__init__(self, engine, capture)

    @_no_span
    def query(self, str_or_query_bundle: Any, **kwargs: Any) -> Any:
        return self._fw_call("query", str_or_query_bundle, (str_or_query_bundle,), kwargs)

    @_no_span
    async def aquery(self, str_or_query_bundle: Any, **kwargs: Any) -> Any:
        return await self._fw_acall("aquery", str_or_query_bundle, (str_or_query_bundle,), kwargs)

    @_no_span
    def _query(self, query_bundle: Any) -> Any:
        return self._fw_engine._query(query_bundle)

    @_no_span
    async def _aquery(self, query_bundle: Any) -> Any:
        return await self._fw_engine._aquery(query_bundle)

    def retrieve(self, query_bundle: Any) -> Any:
        return self._fw_engine.retrieve(query_bundle)

    def synthesize(self, *args: Any, **kwargs: Any) -> Any:
        return self._fw_engine.synthesize(*args, **kwargs)

    async def asynthesize(self, *args: Any, **kwargs: Any) -> Any:
        return await self._fw_engine.asynthesize(*args, **kwargs)


class FlywheelChatEngine(_Wrapper, BaseChatEngine):
    """A chat engine that records each ``chat`` / ``achat`` / ``stream_chat`` / ``astream_chat`` turn."""

    def __init__(self, engine: BaseChatEngine, capture: _Capture) -> None:
        _Wrapper.__init__(self, engine, capture)

    @staticmethod
    def _args(message: Any, chat_history: Any) -> tuple[Any, ...]:
        return (message,) if chat_history is None else (message, chat_history)

    @_no_span
    def chat(self, message: str, chat_history: Any = None, **kwargs: Any) -> Any:
        return self._fw_call("chat", message, self._args(message, chat_history), kwargs)

    @_no_span
    def stream_chat(self, message: str, chat_history: Any = None, **kwargs: Any) -> Any:
        return self._fw_call("stream_chat", message, self._args(message, chat_history), kwargs)

    @_no_span
    async def achat(self, message: str, chat_history: Any = None, **kwargs: Any) -> Any:
        return await self._fw_acall("achat", message, self._args(message, chat_history), kwargs)

    @_no_span
    async def astream_chat(self, message: str, chat_history: Any = None, **kwargs: Any) -> Any:
        return await self._fw_acall("astream_chat", message, self._args(message, chat_history), kwargs)

    @_no_span
    def reset(self) -> None:
        self._fw_engine.reset()

    @property
    def chat_history(self) -> Any:
        return self._fw_engine.chat_history


def wrap(recorder: Any, engine: Any, **options: Any) -> FlywheelQueryEngine | FlywheelChatEngine:
    """What ``fw.llamaindex(engine, **options)`` returns.

    Options: ``session_id``, ``user_id`` (defaults for every call; per-call keywords and
    ``fw.session()`` win), ``name`` (the router / engine name in decisions), ``model_version``,
    ``prompt_version``, ``metadata`` (merged into each interaction's metadata), ``few_shot``
    (inject examples), ``few_shot_k``, ``few_shot_options`` (passed to ``recorder.few_shot``:
    filters, ``min_similarity``...), ``few_shot_prompts`` (prompt keys to inject into),
    ``few_shot_formatter`` (examples -> text), ``trace`` / ``tracer_provider`` / ``span_index``,
    ``capture_text`` (keep node texts; default True), ``max_steps``.
    """
    if isinstance(engine, _Wrapper):
        engine = engine._fw_engine
    if isinstance(engine, BaseChatEngine):
        cls: type[_Wrapper] = FlywheelChatEngine
    elif isinstance(engine, BaseQueryEngine):
        cls = FlywheelQueryEngine
    else:
        raise TypeError(
            f"fw.llamaindex() wraps a LlamaIndex query engine (BaseQueryEngine) or chat engine (BaseChatEngine); "
            f"got {type(engine).__name__}"
        )
    capture = _Capture(recorder, engine, **options)
    if capture.few_shot:
        try:
            _install_few_shot(engine, capture)
        except Exception as exc:  # noqa: BLE001
            capture.fail("install_few_shot", exc)
    _REG.install()
    return cls(engine, capture)  # type: ignore[arg-type]
