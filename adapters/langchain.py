"""LangChain / LangGraph capture: one callback handler turns each root run into an ``Interaction``.

Add the handler to a run's config and every turn is captured, whatever runs inside it: LCEL
chains, tool-calling loops, ``langgraph.prebuilt.create_react_agent``, custom ``StateGraph``\\ s with
conditional edges; sync, async and streaming; nested and parallel runs; many sessions at once::

    handler = fw.langchain()                      # == make_handler(fw)
    agent.invoke(inputs, config={"callbacks": [handler],
                                 "metadata": {"session_id": "s1", "user_id": "u1"}})

What one turn (one root run, ``parent_run_id is None``) becomes:

* ``Interaction.id`` = the root run id (pass ``run_id`` in the config to choose it);
* ``steps`` in start order: LLM calls (messages, output, token usage, model), tool calls (args,
  result), retrievals (query, documents with scores), chains (name, LangGraph node/step; their
  inputs/outputs only with ``capture_chain_io=True``);
* ``decisions``: the tools a model chose out of those bound to it (``decider="model"``), each
  LangGraph conditional edge taken (``"graph_edge"``), the node path of the graph (``"graph_path"``),
  and router decisions the app announces with
  ``dispatch_custom_event("flywheel.route", {"router": ..., "chosen": ..., "candidates": [...], "reason": ...})``
  (``"router"``);
* session / user from the config metadata (``session_id`` | ``thread_id`` | ``conversation_id``;
  ``user_id``) or ``recorder.current_session()``;
* status ``aborted`` + an implicit ``abort`` signal on cancellation, ``KeyboardInterrupt``, a stream
  closed early, or a LangGraph interrupt that stops the turn; ``error`` with type and message on an
  exception (LangGraph control flow — ``GraphInterrupt``, ``ParentCommand``/``GraphBubbleUp`` — is
  not an error); an implicit ``escalate`` signal when a handoff/escalation tool was called.

Tracing: when the recorder has a ``tracer_provider``, the handler drives OpenInference's own
LangChain tracer (``openinference-instrumentation-langchain``) with the same callbacks, so the run
tree becomes spans in OpenInference conventions, and adds ``session.id``, ``user.id``,
``flywheel.interaction_id`` (and ``flywheel.few_shot_ids``) on the root span.  Do not also enable
``LangChainInstrumentor`` for the same runs, or you get every span twice.

Every callback is guarded: an exception inside the handler never reaches the agent; it is logged
once per kind and counted (``recorder.count("langchain.callback_errors")`` and a per-callback
counter).  The callbacks do no I/O: ``recorder.record()`` and ``add_signal()`` must be cheap.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from flywheel_middleware._extras import requires_extra

with requires_extra("langchain"):
    from langchain_core.callbacks import BaseCallbackHandler

try:  # LangGraph (>= 1.2) sends on_interrupt / on_resume only to GraphCallbackHandler subclasses
    from langgraph.callbacks import GraphCallbackHandler as _HandlerBase
except Exception:  # noqa: BLE001 - no (or an older) LangGraph: plain LangChain callbacks
    _HandlerBase = BaseCallbackHandler  # type: ignore[assignment,misc]

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
    "DEFAULT_ESCALATION_PATTERN",
    "FlywheelCallbackHandler",
    "Recorder",
    "ROUTE_EVENT",
    "FEW_SHOT_EVENT",
    "make_handler",
]

_log = logging.getLogger("flywheel_middleware.adapters.langchain")

ROUTE_EVENT = "flywheel.route"
"""``dispatch_custom_event(ROUTE_EVENT, {"router", "chosen", "candidates", "reason", ...})``."""
FEW_SHOT_EVENT = "flywheel.few_shot"
"""``dispatch_custom_event(FEW_SHOT_EVENT, {"ids": [...]})``: the few-shot examples injected."""

DEFAULT_ESCALATION_PATTERN = re.compile(
    r"hand_?off|escalat|transfer_to_(human|agent|operator|support|person)|"
    r"(human|live)_(agent|operator|handoff|support)|talk_to_(a_)?human|contact_support",
    re.IGNORECASE,
)

_SESSION_KEYS = ("session_id", "thread_id", "conversation_id")
_FEW_SHOT_KEYS = ("flywheel.few_shot_ids", "flywheel_few_shot_ids", "few_shot_ids")
_LANGGRAPH_CONTROL_FLOW = frozenset(("GraphBubbleUp", "GraphInterrupt", "NodeInterrupt", "ParentCommand"))
_INTERRUPTS = frozenset(("GraphInterrupt", "NodeInterrupt"))
_HIDDEN_TAG = "langsmith:hidden"
_SCORE_KEYS = ("score", "relevance_score", "similarity_score", "_score", "similarity", "distance")
_ROLE = {"human": "user", "ai": "assistant", "AIMessageChunk": "assistant", "system": "system", "tool": "tool"}


@runtime_checkable
class Recorder(Protocol):
    """What the handler needs from its owner (``Flywheel`` satisfies it)."""

    tracer_provider: Any  # an OpenTelemetry TracerProvider, or None: tracing off

    def record(self, interaction: Interaction) -> str | None: ...  # cheap, never raises

    def add_signal(self, signal: Signal) -> bool: ...  # cheap, never raises

    def current_session(self) -> tuple[str | None, str | None]: ...  # (session_id, user_id)

    def count(self, name: str, n: int = 1) -> None: ...


# --------------------------------------------------------------------------------------------------
# compact, snapshot copies of LangChain payloads (cheap; the store does the JSON later)
# --------------------------------------------------------------------------------------------------


def _message(m: Any) -> dict[str, Any]:
    t = getattr(m, "type", None) or type(m).__name__
    out: dict[str, Any] = {"role": _ROLE.get(t, t), "content": getattr(m, "content", None)}
    name = getattr(m, "name", None)
    if name:
        out["name"] = name
    tcs = getattr(m, "tool_calls", None)
    if tcs:
        out["tool_calls"] = [
            {"name": tc.get("name"), "args": tc.get("args"), "id": tc.get("id")} for tc in tcs if isinstance(tc, Mapping)
        ]
    tcid = getattr(m, "tool_call_id", None)
    if tcid:
        out["tool_call_id"] = tcid
    return out


def _is_message(v: Any) -> bool:
    return hasattr(v, "content") and hasattr(v, "type") and hasattr(v, "additional_kwargs")


def _compact(value: Any, depth: int = 0) -> Any:
    """Snapshot ``value``: containers copied, messages and documents turned into small dicts."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if depth > 6:
        return value
    if isinstance(value, Mapping):
        return {k: _compact(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if len(value) > 1000:
            value = list(value)[:1000]
        return [_compact(v, depth + 1) for v in value]
    if _is_message(value):
        return _message(value)
    if hasattr(value, "page_content"):
        return _document(value)
    if type(value).__name__ == "Send":  # langgraph.types.Send
        return {"send": getattr(value, "node", None)}
    return value


def _document(d: Any) -> dict[str, Any]:
    md = getattr(d, "metadata", None) or {}
    out: dict[str, Any] = {"content": getattr(d, "page_content", None), "metadata": dict(md)}
    if getattr(d, "id", None):
        out["id"] = d.id
    for key in _SCORE_KEYS:
        if key in md and isinstance(md[key], (int, float)):
            out["score"] = md[key]
            break
    return out


def _run_name(serialized: Any, kwargs: Mapping[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if name:
        return str(name)
    if isinstance(serialized, Mapping):
        if serialized.get("name"):
            return str(serialized["name"])
        ids = serialized.get("id")
        if isinstance(ids, list) and ids:
            return str(ids[-1])
    return default


def _tool_names(tools: Any) -> list[str]:
    """Names of the tools bound to a model, from ``invocation_params["tools"]`` (any provider shape)."""
    names: list[str] = []
    if not isinstance(tools, (list, tuple)):
        return names
    for t in tools:
        name = None
        if isinstance(t, Mapping):
            fn = t.get("function")
            if isinstance(fn, Mapping):
                name = fn.get("name")
            name = name or t.get("name") or t.get("title")
        else:
            name = getattr(t, "name", None) or getattr(t, "__name__", None)
        if name:
            names.append(str(name))
    return names


def _model_name(params: Mapping[str, Any] | None, metadata: Mapping[str, Any] | None, serialized: Any) -> str | None:
    for src in (params, metadata):
        if isinstance(src, Mapping):
            for key in ("model", "model_name", "ls_model_name", "model_id", "deployment_name"):
                v = src.get(key)
                if isinstance(v, str) and v:
                    return v
    if isinstance(params, Mapping) and isinstance(params.get("_type"), str):
        return params["_type"]
    return None


def _add_usage(total: dict[str, int], usage: Mapping[str, Any] | None) -> None:
    if not isinstance(usage, Mapping):
        return
    for ours, keys in (
        ("input_tokens", ("input_tokens", "prompt_tokens")),
        ("output_tokens", ("output_tokens", "completion_tokens")),
        ("total_tokens", ("total_tokens",)),
    ):
        for k in keys:
            v = usage.get(k)
            if isinstance(v, int):
                total[ours] = total.get(ours, 0) + v
                break


def _exc_names(error: BaseException) -> set[str]:
    return {c.__name__ for c in type(error).__mro__}


def _abort_reason(error: BaseException) -> str | None:
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    if isinstance(error, KeyboardInterrupt):
        return "keyboard_interrupt"
    if isinstance(error, GeneratorExit):
        return "stream_closed"
    if _exc_names(error) & _INTERRUPTS:
        return "interrupt"
    return None


def _error_text(error: BaseException) -> str:
    msg = str(error)
    text = f"{type(error).__name__}: {msg}" if msg else type(error).__name__
    return text[:4000]


#: LangGraph's END node name: an edge to it ends the turn; it is no route and no category.
_GRAPH_END = "__end__"


def _is_edge_choice(output: Any) -> bool:
    """A conditional edge's path function returns node names / ``Send``\\ s (or a list of them)."""
    if isinstance(output, str) or type(output).__name__ == "Send":
        return True
    if isinstance(output, (list, tuple)) and output:
        return all(isinstance(o, str) or type(o).__name__ == "Send" for o in output)
    return False


def _edge_targets(output: Any) -> list[str]:
    items = output if isinstance(output, (list, tuple)) else [output]
    return [o if isinstance(o, str) else str(getattr(o, "node", o)) for o in items]


def _seq_step(tags: Sequence[str] | None) -> int | None:
    for t in tags or ():
        if t.startswith("seq:step:"):
            try:
                return int(t[9:])
            except ValueError:
                return None
    return None


# --------------------------------------------------------------------------------------------------
# per-run and per-turn state
# --------------------------------------------------------------------------------------------------


class _Run:
    __slots__ = ("turn", "step", "kind", "node", "lg_step", "is_node", "parent", "tools", "model", "seq")

    def __init__(self, turn: _Turn, step: Step | None, kind: str, parent: _Run | None) -> None:
        self.turn = turn
        self.step = step
        self.kind = kind
        self.parent = parent
        self.node: str | None = None
        self.lg_step: int | None = None
        self.is_node = False
        self.tools: list[str] | None = None
        self.model: str | None = None
        self.seq: int | None = None


class _Turn:
    __slots__ = (
        "interaction",
        "run_ids",
        "signals",
        "escalated",
        "path",
        "usage",
        "span",
        "interrupted",
        "root_name",
        "started",
    )

    def __init__(self, interaction: Interaction) -> None:
        self.interaction = interaction
        self.run_ids: list[UUID] = []
        self.signals: list[Signal] = []
        self.escalated = False
        self.path: list[tuple[int | None, str]] = []
        self.usage: dict[str, int] = {}
        self.span: Any = None
        self.interrupted: list[Any] | None = None
        self.root_name = ""
        self.started = time.monotonic()


# --------------------------------------------------------------------------------------------------
# the handler
# --------------------------------------------------------------------------------------------------


class FlywheelCallbackHandler(_HandlerBase):  # a BaseCallbackHandler
    """The one LangChain callback: captures each root run as an ``Interaction`` and traces it.

    Thread-safe (state keyed by run id under one lock), runs inline (no executor hop in async
    code), and never raises into the agent.
    """

    raise_error = False
    run_inline = True

    def __init__(
        self,
        recorder: Recorder,
        *,
        capture_chain_io: bool = False,
        capture_hidden: bool = False,
        model_version: str | None = None,
        prompt_version: str | None = None,
        interrupt_is_abort: bool = True,
        escalation: re.Pattern[str] | Callable[[str], bool] | None = DEFAULT_ESCALATION_PATTERN,
        trace: bool = True,
        tracer_provider: Any = None,
        span_index: SpanIndex | None = None,
        max_open_turns: int = 10_000,
        max_steps: int = 2_000,
    ) -> None:
        super().__init__()
        self.recorder = recorder
        self.capture_chain_io = capture_chain_io
        self.capture_hidden = capture_hidden
        self.model_version = model_version
        self.prompt_version = prompt_version
        self.interrupt_is_abort = interrupt_is_abort
        if isinstance(escalation, re.Pattern):
            pattern = escalation
            self._is_escalation: Callable[[str], bool] | None = lambda name: bool(pattern.search(name))
        else:
            self._is_escalation = escalation
        if span_index is None:
            span_index = getattr(recorder, "span_index", None)
        self.span_index: SpanIndex = span_index if span_index is not None else SPAN_INDEX
        self.max_open_turns = max_open_turns
        self.max_steps = max_steps
        self._lock = threading.RLock()
        self._runs: dict[UUID, _Run] = {}
        self._turns: dict[UUID, _Turn] = {}
        self._warned: set[str] = set()
        self._oi: Any = None
        self._ignored: OrderedDict[UUID, None] = OrderedDict()
        self._last: contextvars.ContextVar[str | None] = contextvars.ContextVar(f"flywheel_last_turn_{id(self)}", default=None)
        if trace:
            provider = tracer_provider if tracer_provider is not None else getattr(recorder, "tracer_provider", None)
            if provider is not None:
                self._oi = self._make_tracer(provider)

    # -- infrastructure ------------------------------------------------------------------------

    def _make_tracer(self, provider: Any) -> Any:
        try:
            from openinference.instrumentation import OITracer, TraceConfig
            from openinference.instrumentation.langchain import __version__ as oi_version
            from openinference.instrumentation.langchain._tracer import OpenInferenceTracer
            from opentelemetry import trace as trace_api

            tracer = OITracer(
                trace_api.get_tracer("flywheel_middleware.adapters.langchain", oi_version, provider),
                config=TraceConfig(),
            )
            return OpenInferenceTracer(tracer, False)
        except Exception as exc:  # noqa: BLE001 - tracing is optional, capture is not
            self._fail("tracer_setup", exc)
            return None

    def _count(self, name: str, n: int = 1) -> None:
        safe_count(self.recorder, name, n)

    def _fail(self, where: str, exc: BaseException) -> None:
        """An exception inside the handler: warn once per kind, count, never re-raise."""
        report_failure(self.recorder, self._warned, "langchain", "the agent is unaffected", where, exc, _log)

    def _forward(self, method: str, *args: Any, **kwargs: Any) -> None:
        oi = self._oi
        if oi is None:
            return
        if self._ignored and kwargs.get("run_id") in self._ignored:
            return  # an opted-out user's run: not traced
        try:
            getattr(oi, method)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            self._fail(f"trace.{method}", exc)

    def _span(self, run_id: UUID) -> Any:
        oi = self._oi
        if oi is None:
            return None
        try:
            return oi.get_span(run_id)
        except Exception:  # noqa: BLE001
            return None

    # -- run bookkeeping -----------------------------------------------------------------------

    def _begin(
        self,
        kind: str,
        name: str,
        run_id: UUID,
        parent_run_id: UUID | None,
        inputs: Any,
        tags: Sequence[str] | None,
        metadata: Mapping[str, Any] | None,
        *,
        make_step: bool = True,
        root_inputs: Any = None,
    ) -> _Run | None:
        """Register a run; a root run (or one whose parent we never saw) opens a turn."""
        now = time.time()
        with self._lock:
            if parent_run_id is not None and parent_run_id in self._ignored:
                self._ignore(run_id)
                return None
            parent = self._runs.get(parent_run_id) if parent_run_id is not None else None
        if parent is None:
            return self._begin_turn(kind, name, run_id, inputs if root_inputs is None else root_inputs, tags, metadata, now)
        turn = parent.turn
        step = None
        if make_step and (self.capture_hidden or not tags or _HIDDEN_TAG not in tags):
            step = Step(
                kind=kind,
                name=name,
                inputs=inputs,
                started_at=now,
                run_id=str(run_id),
                parent_run_id=str(parent_run_id),
            )
        run = _Run(turn, step, kind, parent)
        md = metadata or {}
        node = md.get("langgraph_node")
        if node is not None:
            run.node = str(node)
            run.lg_step = md.get("langgraph_step")
            # LangGraph tags each node's task run (not inherited by its children) "graph:step:N"
            run.is_node = kind == "chain" and bool(tags) and any(t.startswith("graph:step:") for t in tags)
        run.seq = _seq_step(tags)
        few = next((md[k] for k in _FEW_SHOT_KEYS if md.get(k)), None) if md else None
        if step is not None and node is not None:
            step.metadata["langgraph_node"] = run.node
            if run.lg_step is not None:
                step.metadata["langgraph_step"] = run.lg_step
        with self._lock:
            self._runs[run_id] = run
            turn.run_ids.append(run_id)
            if step is not None:
                steps = turn.interaction.steps
                if len(steps) < self.max_steps:
                    steps.append(step)
                else:
                    run.step = None
                    self._count("langchain.steps_truncated")
            if run.is_node:
                turn.path.append((run.lg_step, run.node))  # type: ignore[arg-type]
            if isinstance(few, (list, tuple)):  # a few-shot runnable's child run names what it injected
                fs = turn.interaction.few_shot_ids
                fs.extend(str(i) for i in few if str(i) not in fs)
        return run

    def _ignore(self, run_id: UUID) -> None:
        """Remember a run to leave alone (caller holds the lock); bounded like the open turns."""
        self._ignored[run_id] = None
        if len(self._ignored) > 4 * self.max_open_turns:
            self._ignored.popitem(last=False)

    def _opted_out(self, user: str) -> bool:
        check = getattr(self.recorder, "is_opted_out", None)
        if check is None:
            return False
        try:
            return bool(check(user))
        except Exception as exc:  # noqa: BLE001
            self._fail("is_opted_out", exc)
            return False

    def _begin_turn(
        self,
        kind: str,
        name: str,
        run_id: UUID,
        inputs: Any,
        tags: Sequence[str] | None,
        metadata: Mapping[str, Any] | None,
        now: float,
    ) -> _Run:
        md = metadata or {}
        session = next((md[k] for k in _SESSION_KEYS if md.get(k)), None)
        user = md.get("user_id")
        if session is None or user is None:
            try:
                cs, cu = self.recorder.current_session()
            except Exception as exc:  # noqa: BLE001
                self._fail("current_session", exc)
                cs = cu = None
            session = session if session is not None else cs
            user = user if user is not None else cu
        if user is not None and self._opted_out(str(user)):
            with self._lock:
                self._ignore(run_id)
            self._count("langchain.opted_out_turns")
            return None
        few = next((md[k] for k in _FEW_SHOT_KEYS if md.get(k)), None)
        interaction = Interaction(
            input=_compact(inputs),
            id=str(run_id),
            session_id=None if session is None else str(session),
            user_id=None if user is None else str(user),
            started_at=now,
            model_version=str(md["model_version"]) if md.get("model_version") else self.model_version,
            prompt_version=str(md["prompt_version"]) if md.get("prompt_version") else self.prompt_version,
            few_shot_ids=[str(x) for x in few] if isinstance(few, (list, tuple)) else [],
        )
        interaction.metadata["framework"] = "langchain"
        interaction.metadata["root_name"] = name
        interaction.metadata["root_kind"] = kind
        if tags:
            interaction.metadata["tags"] = list(tags)
        extra = {
            k: v
            for k, v in md.items()
            if isinstance(v, (str, int, float, bool)) and k not in _SESSION_KEYS and k != "user_id"
            and not k.startswith(("langgraph_", "ls_", "checkpoint_", "__"))
        }
        if extra:
            interaction.metadata["run_metadata"] = extra
        turn = _Turn(interaction)
        turn.root_name = name
        try:
            self._last.set(interaction.id)
        except Exception:  # noqa: BLE001
            pass
        run = _Run(turn, None, kind, None)
        with self._lock:
            self._runs[run_id] = run
            turn.run_ids.append(run_id)
            self._turns[run_id] = turn
            overflow = len(self._turns) - self.max_open_turns
            evicted = []
            if overflow > 0:
                for rid in list(self._turns)[:overflow]:
                    evicted.append(self._turns.pop(rid))
        for old in evicted:
            self._count("langchain.turns_evicted")
            with self._lock:
                for rid in old.run_ids:
                    self._runs.pop(rid, None)
        return run

    def _root_span_started(self, run_id: UUID, turn: _Turn) -> None:
        span = self._span(run_id)
        if span is None:
            return
        turn.span = span
        try:
            ctx = span.get_span_context()
            it = turn.interaction
            it.metadata["trace_id"] = format_trace_id(ctx.trace_id)
            it.metadata["span_id"] = format_span_id(ctx.span_id)
            attrs: dict[str, Any] = {"flywheel.interaction_id": it.id}
            if it.session_id:
                attrs["session.id"] = it.session_id
            if it.user_id:
                attrs["user.id"] = it.user_id
            span.set_attributes(attrs)
        except Exception as exc:  # noqa: BLE001
            self._fail("root_span", exc)

    def _end(self, run_id: UUID) -> _Run | None:
        with self._lock:
            return self._runs.pop(run_id, None)

    def _finish_turn(self, run_id: UUID, outputs: Any, error: BaseException | None) -> tuple[_Turn, bool] | None:
        """Fill the interaction of a root run; returns it (recording happens after the span ends)."""
        with self._lock:
            turn = self._turns.pop(run_id, None)
            if turn is None:
                return None
            for rid in turn.run_ids:
                self._runs.pop(rid, None)
        it = turn.interaction
        it.ended_at = time.time()
        if outputs is not None:
            it.output = _compact(outputs)
        interrupted = turn.interrupted is not None or (isinstance(outputs, Mapping) and "__interrupt__" in outputs)
        abort = None
        if error is not None:
            abort = _abort_reason(error)
            if abort == "interrupt":
                interrupted = True
            elif abort is None and not (_exc_names(error) & _LANGGRAPH_CONTROL_FLOW):
                it.status = "error"
                it.error = _error_text(error)
        if interrupted:
            it.metadata["interrupted"] = True
            if turn.interrupted:
                it.metadata["interrupts"] = _compact(turn.interrupted)
            elif isinstance(outputs, Mapping) and "__interrupt__" in outputs:
                it.metadata["interrupts"] = _compact(outputs["__interrupt__"])
            if self.interrupt_is_abort and abort is None:
                abort = "interrupt"
        if abort is not None:
            it.status = "aborted"
            last = next((s.name for s in reversed(it.steps) if s.kind != "chain"), None)
            turn.signals.append(
                Signal(
                    interaction_id=it.id,
                    kind="abort",
                    value=True,
                    source="implicit",
                    evidence={"reason": abort, "last_step": last, "partial_output": it.output is not None},
                )
            )
        # decisions derived from the graph's path
        if turn.path:
            nodes = [n for _, n in turn.path]
            it.decisions.append(
                RoutingDecision(
                    decider="graph_path",
                    chosen=nodes,
                    candidates=sorted(set(nodes)),
                    name=turn.root_name,
                    at=it.ended_at,
                    metadata={"steps": [s for s, _ in turn.path]},
                )
            )
            by_step: dict[Any, list[str]] = {}
            for s, n in turn.path:
                by_step.setdefault(s, []).append(n)
            for d in it.decisions:
                if d.decider == "graph_edge" and isinstance(d.metadata.get("langgraph_step"), int):
                    d.metadata["next_nodes"] = by_step.get(d.metadata["langgraph_step"] + 1, [])
        if turn.usage:
            it.metadata["token_usage"] = dict(turn.usage)
        it.text = turn_text(it)  # the turn's text, read while the payload's objects are still objects
        return turn, True

    def _record(self, turn: _Turn) -> None:
        deliver(self.recorder, self.span_index, turn.interaction, turn.signals, self._fail)

    def _root_end(self, run_id: UUID, outputs: Any, error: BaseException | None, method: str, args: tuple, kwargs: dict) -> None:
        done = None
        try:
            done = self._finish_turn(run_id, outputs, error)
            if done is not None and done[0].span is not None:
                self._decorate_root_span(done[0])
        except Exception as exc:  # noqa: BLE001
            self._fail(method, exc)
        self._forward(method, *args, **kwargs)  # ends the root span
        if done is not None:
            try:
                self._record(done[0])
            except Exception as exc:  # noqa: BLE001
                self._fail("record", exc)

    def _decorate_root_span(self, turn: _Turn) -> None:
        it = turn.interaction
        attrs: dict[str, Any] = {"flywheel.status": it.status}
        if it.few_shot_ids:
            attrs["flywheel.few_shot_ids"] = list(it.few_shot_ids)
        if it.session_id:
            attrs["session.id"] = it.session_id
        if it.user_id:
            attrs["user.id"] = it.user_id
        if it.text is not None:  # the exporter shows them as input.value / output.value (tracing.with_turn_text)
            if it.text.input:
                attrs[TURN_INPUT_ATTRIBUTE] = it.text.input
            if it.text.output:
                attrs[TURN_OUTPUT_ATTRIBUTE] = it.text.output
        turn.span.set_attributes(attrs)

    def _signal_escalation(self, turn: _Turn, tool: str, how: str) -> None:
        if turn.escalated or self._is_escalation is None:
            return
        try:
            hit = self._is_escalation(tool)
        except Exception as exc:  # noqa: BLE001
            self._fail("escalation", exc)
            return
        if hit:
            turn.escalated = True
            turn.signals.append(
                Signal(
                    interaction_id=turn.interaction.id,
                    kind="escalate",
                    value=True,
                    source="implicit",
                    evidence={"tool": tool, "via": how},
                )
            )

    # -- chains --------------------------------------------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        run = None
        try:
            name = _run_name(serialized, kwargs, "chain")
            run = self._begin(
                "chain",
                name,
                run_id,
                parent_run_id,
                _compact(inputs) if self.capture_chain_io else None,
                tags,
                metadata,
                root_inputs=inputs,
            )
        except Exception as exc:  # noqa: BLE001
            self._fail("on_chain_start", exc)
        self._forward(
            "on_chain_start", serialized, inputs, run_id=run_id, parent_run_id=parent_run_id, tags=tags,
            metadata=metadata, **kwargs,
        )
        if run is not None and run.parent is None:
            self._root_span_started(run_id, run.turn)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        root = False
        try:
            with self._lock:
                root = run_id in self._turns
            if not root:
                run = self._end(run_id)
                if run is not None:
                    self._chain_done(run, outputs)
        except Exception as exc:  # noqa: BLE001
            self._fail("on_chain_end", exc)
        if root:
            self._root_end(run_id, outputs, None, "on_chain_end", (outputs,), dict(run_id=run_id, parent_run_id=parent_run_id, **kwargs))
        else:
            self._forward("on_chain_end", outputs, run_id=run_id, parent_run_id=parent_run_id, **kwargs)

    def _chain_done(self, run: _Run, outputs: Any) -> None:
        step = run.step
        if step is not None:
            step.ended_at = time.time()
            if self.capture_chain_io:
                step.outputs = _compact(outputs)
        # a conditional edge: the path function runs inside the source node, after its body
        parent = run.parent
        if (
            parent is not None
            and parent.is_node
            and not run.is_node
            and run.node == parent.node
            and (run.seq or 0) >= 2
            and _is_edge_choice(outputs)
        ):
            targets = _edge_targets(outputs)
            name = step.name if step is not None else None
            if step is not None:
                step.kind = "chain"
                step.metadata["conditional_edge"] = True
                step.outputs = targets
            targets = [t for t in targets if t != _GRAPH_END]  # ending the turn is not a route
            if not targets:
                return
            decision = RoutingDecision(
                decider="graph_edge",
                chosen=targets[0] if len(targets) == 1 else targets,
                candidates=[],
                name=name,
                at=time.time(),
                metadata={"source_node": parent.node, "langgraph_step": run.lg_step},
            )
            with self._lock:
                run.turn.interaction.decisions.append(decision)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        self._on_error("on_chain_error", error, run_id, parent_run_id, kwargs)

    def _on_error(self, method: str, error: BaseException, run_id: UUID, parent_run_id: UUID | None, kwargs: dict[str, Any]) -> None:
        """Every ``on_*_error``: a step fails (the turn goes on), or the whole turn ends in error."""
        root = False
        try:
            with self._lock:
                root = run_id in self._turns
            if not root:
                run = self._end(run_id)
                if run is not None:
                    self._step_error(run, error)
        except Exception as exc:  # noqa: BLE001
            self._fail(method, exc)
        if root:
            self._root_end(run_id, None, error, method, (error,), dict(run_id=run_id, parent_run_id=parent_run_id, **kwargs))
        else:
            self._forward(method, error, run_id=run_id, parent_run_id=parent_run_id, **kwargs)

    def _step_error(self, run: _Run, error: BaseException) -> None:
        names = _exc_names(error)
        if names & _INTERRUPTS and run.turn.interrupted is None:
            # older LangGraph has no on_interrupt: the interrupt shows as a node's control-flow error
            values = error.args[0] if error.args and isinstance(error.args[0], (list, tuple)) else error.args
            run.turn.interrupted = [getattr(i, "value", i) for i in values]
        step = run.step
        if step is None:
            return
        step.ended_at = time.time()
        if names & _LANGGRAPH_CONTROL_FLOW:
            step.metadata["control_flow"] = type(error).__name__
        elif (reason := _abort_reason(error)) is not None:
            step.metadata["aborted"] = reason
        else:
            step.error = _error_text(error)

    # -- models --------------------------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            batch = [[_message(m) for m in ms] for ms in messages]
            self._llm_start(serialized, batch[0] if len(batch) == 1 else batch, run_id, parent_run_id, tags, metadata, kwargs)
        except Exception as exc:  # noqa: BLE001
            self._fail("on_chat_model_start", exc)
        self._forward(
            "on_chat_model_start", serialized, messages, run_id=run_id, parent_run_id=parent_run_id, tags=tags,
            metadata=metadata, **kwargs,
        )

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            self._llm_start(serialized, list(prompts) if len(prompts) != 1 else prompts[0], run_id, parent_run_id, tags, metadata, kwargs)
        except Exception as exc:  # noqa: BLE001
            self._fail("on_llm_start", exc)
        self._forward(
            "on_llm_start", serialized, prompts, run_id=run_id, parent_run_id=parent_run_id, tags=tags,
            metadata=metadata, **kwargs,
        )

    def _llm_start(self, serialized: Any, inputs: Any, run_id: UUID, parent_run_id: UUID | None, tags: Any, metadata: Any, kwargs: dict) -> None:
        params = kwargs.get("invocation_params") or {}
        model = _model_name(params, metadata, serialized)
        name = _run_name(serialized, kwargs, model or "llm")
        run = self._begin("llm", name, run_id, parent_run_id, inputs, tags, metadata)
        if run is None:
            return
        run.model = model
        run.tools = _tool_names(params.get("tools")) if isinstance(params, Mapping) else []
        if run.parent is None:  # a model called on its own is a turn of its own
            run.turn.interaction.input = inputs
        step = run.step
        if step is not None:
            if model:
                step.metadata["model"] = model
            if run.tools:
                step.metadata["tools"] = run.tools
            if isinstance(params, Mapping):
                kept = {
                    k: v
                    for k, v in params.items()
                    if k in ("temperature", "top_p", "max_tokens", "stop", "tool_choice", "seed") and v is not None
                }
                if kept:
                    step.metadata["params"] = kept
        it = run.turn.interaction
        if it.model_version is None and model:
            it.model_version = model

    def on_llm_new_token(self, token: str, *, chunk: Any = None, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        try:
            with self._lock:
                run = self._runs.get(run_id)
            if run is not None and run.step is not None:
                md = run.step.metadata
                if "first_token_at" not in md:
                    md["first_token_at"] = time.time()
                md["chunks"] = md.get("chunks", 0) + 1
        except Exception as exc:  # noqa: BLE001
            self._fail("on_llm_new_token", exc)
        self._forward("on_llm_new_token", token, chunk=chunk, run_id=run_id, parent_run_id=parent_run_id, **kwargs)

    def on_llm_end(self, response: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        root = False
        try:
            with self._lock:
                root = run_id in self._turns
            run = self._runs.get(run_id) if root else self._end(run_id)
            if run is not None:
                self._llm_done(run, response)
        except Exception as exc:  # noqa: BLE001
            self._fail("on_llm_end", exc)
        if root:
            out = None
            try:
                out = self._llm_output(response)
            except Exception:  # noqa: BLE001
                pass
            self._root_end(run_id, out, None, "on_llm_end", (response,), dict(run_id=run_id, parent_run_id=parent_run_id, **kwargs))
        else:
            self._forward("on_llm_end", response, run_id=run_id, parent_run_id=parent_run_id, **kwargs)

    @staticmethod
    def _llm_output(response: Any) -> Any:
        outs = []
        for gens in getattr(response, "generations", None) or []:
            for g in gens:
                msg = getattr(g, "message", None)
                outs.append(_message(msg) if msg is not None else getattr(g, "text", None))
        return outs[0] if len(outs) == 1 else outs

    def _llm_done(self, run: _Run, response: Any) -> None:
        now = time.time()
        usage: dict[str, int] = {}
        tool_calls: list[dict[str, Any]] = []
        for gens in getattr(response, "generations", None) or []:
            for g in gens:
                msg = getattr(g, "message", None)
                if msg is None:
                    continue
                _add_usage(usage, getattr(msg, "usage_metadata", None))
                for tc in getattr(msg, "tool_calls", None) or ():
                    if isinstance(tc, Mapping):
                        tool_calls.append(tc)
        if not usage:
            llm_output = getattr(response, "llm_output", None)
            if isinstance(llm_output, Mapping):
                _add_usage(usage, llm_output.get("token_usage") or llm_output.get("usage"))
        step = run.step
        if step is not None:
            step.ended_at = now
            step.outputs = self._llm_output(response)
            if usage:
                step.metadata["token_usage"] = usage
        turn = run.turn
        chosen = [str(tc.get("name")) for tc in tool_calls]
        with self._lock:
            if usage:
                for k, v in usage.items():
                    turn.usage[k] = turn.usage.get(k, 0) + v
            if chosen or run.tools:
                turn.interaction.decisions.append(
                    RoutingDecision(
                        decider="model",
                        chosen=chosen,
                        candidates=list(run.tools or []),
                        name=run.model or (step.name if step is not None else None),
                        at=now,
                        metadata={
                            "run_id": step.run_id if step is not None else None,
                            "tool_call_ids": [tc.get("id") for tc in tool_calls],
                            "args": [tc.get("args") for tc in tool_calls],
                            "final_answer": not chosen,
                            **({"langgraph_node": run.node} if run.node else {}),
                        },
                    )
                )
        for name in chosen:
            self._signal_escalation(turn, name, "tool_call")

    def on_llm_error(self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        self._on_error("on_llm_error", error, run_id, parent_run_id, kwargs)

    # -- tools ---------------------------------------------------------------------------------

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            name = _run_name(serialized, kwargs, "tool")
            run = self._begin("tool", name, run_id, parent_run_id, _compact(inputs) if inputs is not None else input_str, tags, metadata)
            if run is not None:
                if run.step is not None and kwargs.get("tool_call_id"):
                    run.step.metadata["tool_call_id"] = kwargs["tool_call_id"]
                self._signal_escalation(run.turn, name, "tool_run")
        except Exception as exc:  # noqa: BLE001
            self._fail("on_tool_start", exc)
        self._forward(
            "on_tool_start", serialized, input_str, run_id=run_id, parent_run_id=parent_run_id, tags=tags,
            metadata=metadata, inputs=inputs, **kwargs,
        )

    def on_tool_end(self, output: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        root = False
        try:
            with self._lock:
                root = run_id in self._turns
            run = self._runs.get(run_id) if root else self._end(run_id)
            if run is not None and run.step is not None:
                run.step.ended_at = time.time()
                content = getattr(output, "content", None) if _is_message(output) else None
                run.step.outputs = content if content is not None else _compact(output)
                status = getattr(output, "status", None)
                if status == "error":
                    run.step.error = str(content)[:4000]
        except Exception as exc:  # noqa: BLE001
            self._fail("on_tool_end", exc)
        if root:
            self._root_end(run_id, _compact(output), None, "on_tool_end", (output,), dict(run_id=run_id, parent_run_id=parent_run_id, **kwargs))
        else:
            self._forward("on_tool_end", output, run_id=run_id, parent_run_id=parent_run_id, **kwargs)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        self._on_error("on_tool_error", error, run_id, parent_run_id, kwargs)

    # -- retrievers ----------------------------------------------------------------------------

    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            name = _run_name(serialized, kwargs, "retriever")
            self._begin("retrieval", name, run_id, parent_run_id, query, tags, metadata)
        except Exception as exc:  # noqa: BLE001
            self._fail("on_retriever_start", exc)
        self._forward(
            "on_retriever_start", serialized, query, run_id=run_id, parent_run_id=parent_run_id, tags=tags,
            metadata=metadata, **kwargs,
        )

    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        root = False
        docs = None
        try:
            with self._lock:
                root = run_id in self._turns
            run = self._runs.get(run_id) if root else self._end(run_id)
            docs = [_document(d) for d in documents or ()]
            if run is not None and run.step is not None:
                run.step.ended_at = time.time()
                run.step.outputs = docs
                run.step.metadata["n_documents"] = len(docs)
        except Exception as exc:  # noqa: BLE001
            self._fail("on_retriever_end", exc)
        if root:
            self._root_end(run_id, docs, None, "on_retriever_end", (documents,), dict(run_id=run_id, parent_run_id=parent_run_id, **kwargs))
        else:
            self._forward("on_retriever_end", documents, run_id=run_id, parent_run_id=parent_run_id, **kwargs)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        self._on_error("on_retriever_error", error, run_id, parent_run_id, kwargs)

    # -- custom events, graph lifecycle, misc ---------------------------------------------------

    def on_custom_event(
        self,
        name: str,
        data: Any,
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            if name in (ROUTE_EVENT, FEW_SHOT_EVENT):
                with self._lock:
                    run = self._runs.get(run_id)
                if run is None:
                    self._count("langchain.orphan_events")
                elif name == ROUTE_EVENT:
                    self._route(run, data, run_id)
                else:
                    ids = data.get("ids") if isinstance(data, Mapping) else data
                    if isinstance(ids, (list, tuple)):
                        with self._lock:
                            fs = run.turn.interaction.few_shot_ids
                            fs.extend(str(i) for i in ids if str(i) not in fs)
        except Exception as exc:  # noqa: BLE001
            self._fail("on_custom_event", exc)
        self._forward("on_custom_event", name, data, run_id=run_id, tags=tags, metadata=metadata, **kwargs)

    def _route(self, run: _Run, data: Any, run_id: UUID) -> None:
        d = dict(data) if isinstance(data, Mapping) else {"chosen": data}
        router = d.pop("router", None) or d.pop("name", None)
        chosen = d.pop("chosen", None)
        candidates = d.pop("candidates", None) or []
        reason = d.pop("reason", None)
        decision = RoutingDecision(
            decider="router",
            chosen=_compact(chosen),
            candidates=list(_compact(list(candidates))) if isinstance(candidates, (list, tuple, set)) else [candidates],
            reason=None if reason is None else str(reason),
            name=None if router is None else str(router),
            at=time.time(),
            metadata={**_compact(d), **({"langgraph_node": run.node} if run.node else {})},
        )
        with self._lock:
            run.turn.interaction.decisions.append(decision)
        span = self._span(run_id)
        if span is not None:
            try:
                span.add_event(
                    ROUTE_EVENT,
                    {
                        "router": str(decision.name),
                        "chosen": str(decision.chosen),
                        "candidates": [str(c) for c in decision.candidates],
                        "reason": decision.reason or "",
                    },
                )
            except Exception:  # noqa: BLE001
                pass

    def on_interrupt(self, event: Any) -> None:  # LangGraph >= 1.2 graph lifecycle callback
        try:
            rid = getattr(event, "run_id", None)
            with self._lock:
                run = self._runs.get(rid) if rid is not None else None
            if run is not None:
                ints = list(getattr(event, "interrupts", ()) or ())
                run.turn.interrupted = [getattr(i, "value", i) for i in ints]
        except Exception as exc:  # noqa: BLE001
            self._fail("on_interrupt", exc)
        self._forward("on_interrupt", event)

    def on_resume(self, event: Any) -> None:
        try:
            rid = getattr(event, "run_id", None)
            with self._lock:
                run = self._runs.get(rid) if rid is not None else None
            if run is not None:
                run.turn.interaction.metadata["resumed_from"] = getattr(event, "checkpoint_id", None)
        except Exception as exc:  # noqa: BLE001
            self._fail("on_resume", exc)
        self._forward("on_resume", event)

    def on_agent_action(self, action: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        self._forward("on_agent_action", action, run_id=run_id, parent_run_id=parent_run_id, **kwargs)

    def on_agent_finish(self, finish: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        self._forward("on_agent_finish", finish, run_id=run_id, parent_run_id=parent_run_id, **kwargs)

    def on_text(self, text: str, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        self._forward("on_text", text, run_id=run_id, parent_run_id=parent_run_id, **kwargs)

    def on_retry(self, retry_state: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        try:
            with self._lock:
                run = self._runs.get(run_id)
            if run is not None and run.step is not None:
                run.step.metadata["retries"] = run.step.metadata.get("retries", 0) + 1
        except Exception as exc:  # noqa: BLE001
            self._fail("on_retry", exc)
        self._forward("on_retry", retry_state, run_id=run_id, parent_run_id=parent_run_id, **kwargs)

    # -- introspection -------------------------------------------------------------------------

    def last_interaction_id(self) -> str | None:
        """The id of the last turn this handler started *in the caller's context* (thread / task).

        Best effort, for sending feedback right after ``invoke``; passing ``run_id`` in the config
        is the exact way (the interaction id is the root run id).
        """
        return self._last.get()

    @property
    def open_turns(self) -> int:
        """Root runs started and not yet ended (for tests and stats)."""
        with self._lock:
            return len(self._turns)

    @property
    def open_runs(self) -> int:
        with self._lock:
            return len(self._runs)

    def __deepcopy__(self, memo: dict) -> FlywheelCallbackHandler:  # handlers are shared, not copied
        return self

    def __copy__(self) -> FlywheelCallbackHandler:
        return self


def make_handler(recorder: Recorder, **options: Any) -> FlywheelCallbackHandler:
    """The handler ``fw.langchain(**options)`` returns; see :class:`FlywheelCallbackHandler`."""
    return FlywheelCallbackHandler(recorder, **options)
