"""Tracing plumbing: an OpenTelemetry tracer provider built from config, and Phoenix annotations.

Two public pieces:

* :func:`setup_tracing` builds the :class:`~opentelemetry.sdk.trace.TracerProvider` that adapters
  export their spans through (OTLP/HTTP to Phoenix or any OTLP backend), or returns a disabled
  :class:`Tracing` when nothing is configured: no provider, no spans, no cost.  Its batch processor
  is sized (``max_queue_size``) and *counts* what it drops and what fails to export, instead of the
  SDK's silent / log-per-span behaviour.
* :class:`PhoenixAnnotator` posts signals as span annotations to Phoenix's REST API
  (``POST {endpoint}/v1/span_annotations``) from a background thread: bounded queue, retries with
  backoff (a span that is still in an exporter's batch is simply not there *yet*), counted.

The module never imports ``phoenix``; it speaks HTTP with ``httpx``.  Nothing here raises into the
caller's hot path: failures become counters (through the ``count`` callable you pass, e.g.
``Counters.inc``) and a log line.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from .records import Signal, to_jsonable

__all__ = [
    "CountingBatchSpanProcessor",
    "TURN_INPUT_ATTRIBUTE",
    "TURN_OUTPUT_ATTRIBUTE",
    "PhoenixAnnotator",
    "SPAN_INDEX",
    "SpanIndex",
    "Tracing",
    "annotation_payload",
    "format_span_id",
    "format_trace_id",
    "setup_tracing",
    "with_turn_text",
]

_log = logging.getLogger("flywheel_middleware.tracing")

CountFn = Callable[..., None]  # count(name, n=1)

PROJECT_NAME_ATTRIBUTE = "openinference.project.name"  # Phoenix routes spans to a project by it


def _noop_count(name: str, n: int = 1) -> None:  # noqa: ARG001
    return None


def _safe_count(count: CountFn | None) -> CountFn:
    if count is None:
        return _noop_count

    def _count(name: str, n: int = 1) -> None:
        try:
            count(name, n)
        except Exception:  # noqa: BLE001 - a broken counter must not break tracing
            pass

    return _count


_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(key: str, message: str, *args: object) -> None:
    with _warned_lock:
        first = key not in _warned
        _warned.add(key)
    _log.log(logging.WARNING if first else logging.DEBUG, message, *args)


def format_trace_id(trace_id: int) -> str:
    """An OpenTelemetry trace id as the 32-hex-digit string Phoenix and OTLP JSON use."""
    return format(trace_id, "032x")


def format_span_id(span_id: int) -> str:
    """An OpenTelemetry span id as the 16-hex-digit string Phoenix's REST API expects (no ``0x``)."""
    return format(span_id, "016x")


# --------------------------------------------------------------------------------------------------
# interaction id -> (trace_id, span_id) of its root span
# --------------------------------------------------------------------------------------------------


class SpanIndex:
    """A bounded, thread-safe map ``interaction_id -> (trace_id_hex, span_id_hex)``.

    Adapters fill it when an interaction's root span ends; :class:`PhoenixAnnotator` reads it to
    know which span a signal annotates.  Old entries fall out (LRU) past ``maxsize``; the ids are
    also persisted in ``Interaction.metadata["trace_id"/"span_id"]`` for signals that come later.
    """

    def __init__(self, maxsize: int = 100_000) -> None:
        self._maxsize = max(1, int(maxsize))
        self._lock = threading.Lock()
        self._map: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def put(self, interaction_id: str, trace_id: str, span_id: str) -> None:
        with self._lock:
            self._map[interaction_id] = (trace_id, span_id)
            self._map.move_to_end(interaction_id)
            while len(self._map) > self._maxsize:
                self._map.popitem(last=False)

    def get(self, interaction_id: str) -> tuple[str, str] | None:
        with self._lock:
            return self._map.get(interaction_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._map)


SPAN_INDEX = SpanIndex()
"""The process-wide default index (interaction ids are UUIDs, so sharing it is safe)."""


# --------------------------------------------------------------------------------------------------
# root spans show the turn's text
# --------------------------------------------------------------------------------------------------

TURN_INPUT_ATTRIBUTE = "flywheel.turn.input"
"""Set by an adapter on a root span: the turn's input text; at export it becomes ``input.value``."""
TURN_OUTPUT_ATTRIBUTE = "flywheel.turn.output"
_TURN_SWAPS = (
    (TURN_INPUT_ATTRIBUTE, "input.value", "input.mime_type", "flywheel.raw_input.value", "flywheel.raw_input.mime_type"),
    (TURN_OUTPUT_ATTRIBUTE, "output.value", "output.mime_type", "flywheel.raw_output.value", "flywheel.raw_output.mime_type"),
)


def with_turn_text(span: ReadableSpan) -> ReadableSpan:
    """The span as exported: a root span's ``input.value``/``output.value`` become the turn's text
    (``text/plain``) and the raw payload (a LangGraph state, a prompt-variable mapping) moves to
    ``flywheel.raw_input.value``/``flywheel.raw_output.value``. Runs in the export thread, so the
    agent's thread only sets the two text attributes; other spans pass through untouched."""
    attrs = span.attributes
    if not attrs or (TURN_INPUT_ATTRIBUTE not in attrs and TURN_OUTPUT_ATTRIBUTE not in attrs):
        return span
    new = dict(attrs)
    for turn_key, value_key, mime_key, raw_value, raw_mime in _TURN_SWAPS:
        text = new.pop(turn_key, None)
        if not isinstance(text, str) or not text:
            continue
        if value_key in new and new[value_key] != text:
            new[raw_value] = new[value_key]
            if mime_key in new:
                new[raw_mime] = new[mime_key]
        new[value_key] = text
        new[mime_key] = "text/plain"
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=span.resource, attributes=new,
        events=span.events, links=span.links, kind=span.kind, status=span.status, start_time=span.start_time,
        end_time=span.end_time, instrumentation_scope=span.instrumentation_scope,
    )


# --------------------------------------------------------------------------------------------------
# a batch span processor that counts drops and export failures
# --------------------------------------------------------------------------------------------------


class _CountingExporter(SpanExporter):
    """Wraps the real exporter: counts spans handed over, exported, failed; never raises."""

    def __init__(self, inner: SpanExporter, count: CountFn, on_taken: Callable[[int], None]) -> None:
        self.inner = inner
        self._count = count
        self._on_taken = on_taken

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        n = len(spans)
        self._on_taken(n)
        try:
            result = self.inner.export([with_turn_text(s) for s in spans])
        except Exception as exc:  # noqa: BLE001
            self._count("tracing.export_failures")
            self._count("tracing.spans_export_failed", n)
            _warn_once("export", "span export failed (%s spans): %r", n, exc)
            return SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            self._count("tracing.spans_exported", n)
        else:
            self._count("tracing.export_failures")
            self._count("tracing.spans_export_failed", n)
            _warn_once("export", "span exporter reported a failure (%s spans)", n)
        return result

    def shutdown(self) -> None:
        try:
            self.inner.shutdown()
        except Exception as exc:  # noqa: BLE001
            _warn_once("export-shutdown", "span exporter shutdown failed: %r", exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            return bool(self.inner.force_flush(timeout_millis))
        except Exception:  # noqa: BLE001
            return False


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """A :class:`BatchSpanProcessor` whose queue bound is enforced here, so drops are *counted*.

    The SDK's processor (opentelemetry-sdk 1.45) drops the oldest span when its deque is full and
    logs a warning per span; it keeps no counter we could read.  We track the spans in flight
    (accepted by ``on_end`` and not yet handed to the exporter, through a wrapped exporter) and
    refuse the newest span once ``max_queue_size`` are waiting: ``tracing.spans_dropped`` counts it.
    Only public SDK interfaces are used.
    """

    def __init__(
        self,
        span_exporter: SpanExporter,
        max_queue_size: int = 16384,
        schedule_delay_millis: float = 1000,
        max_export_batch_size: int = 512,
        export_timeout_millis: float = 30000,
        *,
        count: CountFn | None = None,
    ) -> None:
        self._fw_count = _safe_count(count)
        self._fw_lock = threading.Lock()
        self._fw_pending = 0
        self._fw_max = int(max_queue_size)
        self._fw_closed = False
        self.exporter = span_exporter
        wrapped = _CountingExporter(span_exporter, self._fw_count, self._taken)
        super().__init__(
            wrapped,
            max_queue_size=max_queue_size,
            schedule_delay_millis=schedule_delay_millis,
            max_export_batch_size=min(max_export_batch_size, max_queue_size),
            export_timeout_millis=export_timeout_millis,
        )

    def _taken(self, n: int) -> None:
        with self._fw_lock:
            self._fw_pending = max(0, self._fw_pending - n)

    @property
    def max_queue_size(self) -> int:
        return self._fw_max

    @property
    def pending(self) -> int:
        """Spans accepted and not yet handed to the exporter."""
        with self._fw_lock:
            return self._fw_pending

    def on_end(self, span: ReadableSpan) -> None:
        if not span.context or not span.context.trace_flags.sampled:
            return
        with self._fw_lock:
            if self._fw_closed:
                drop = "closed"
            elif self._fw_pending >= self._fw_max:
                drop = "full"
            else:
                drop = None
                self._fw_pending += 1
        if drop is not None:
            self._fw_count("tracing.spans_dropped")
            _warn_once(
                "drop-" + drop,
                "span dropped (%s): the batch span processor queue holds %s spans; raise max_queue_size"
                " or check the exporter",
                drop,
                self._fw_max,
            )
            return
        try:
            super().on_end(span)
        except Exception as exc:  # noqa: BLE001
            self._taken(1)
            self._fw_count("tracing.spans_dropped")
            _warn_once("drop-error", "span dropped: %r", exc)

    def shutdown(self) -> None:
        with self._fw_lock:
            self._fw_closed = True
        super().shutdown()


# --------------------------------------------------------------------------------------------------
# setup_tracing
# --------------------------------------------------------------------------------------------------


@dataclass
class Tracing:
    """What :func:`setup_tracing` built.  ``tracer_provider is None`` means tracing is off."""

    tracer_provider: TracerProvider | None = None
    processor: CountingBatchSpanProcessor | None = None
    owned: bool = False  # True when we built the provider (so we flush/shut it down)
    endpoint: str | None = None  # the OTLP traces URL, when we built an OTLP exporter

    @property
    def enabled(self) -> bool:
        return self.tracer_provider is not None

    def flush(self, timeout_s: float = 30.0) -> bool:
        if self.tracer_provider is None:
            return True
        try:
            return bool(self.tracer_provider.force_flush(int(timeout_s * 1000)))
        except Exception as exc:  # noqa: BLE001
            _warn_once("flush", "tracer provider flush failed: %r", exc)
            return False

    def stats(self) -> dict[str, Any]:
        """What ``fw.stats()["tracing"]`` shows (counts of drops/failures go through ``count``)."""
        out: dict[str, Any] = {"enabled": self.enabled, "owned": self.owned, "endpoint": self.endpoint}
        if self.processor is not None:
            out["queue_pending"] = self.processor.pending
            out["max_queue_size"] = self.processor.max_queue_size
        return out

    def shutdown(self) -> None:
        """Flush and shut down the provider, only if we built it (a provider you passed is yours)."""
        if self.tracer_provider is None or not self.owned:
            return
        try:
            self.tracer_provider.shutdown()
        except Exception as exc:  # noqa: BLE001
            _warn_once("shutdown", "tracer provider shutdown failed: %r", exc)


_ENV_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def _traces_url(base: str) -> str:
    base = base.strip().rstrip("/")
    if base.endswith("/v1/traces"):
        return base
    return base + "/v1/traces"


def _parse_headers(value: str | Mapping[str, str] | None) -> dict[str, str]:
    if not value:
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    for part in str(value).split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def setup_tracing(
    *,
    phoenix_endpoint: str | None = None,
    tracer_provider: TracerProvider | None = None,
    exporter: SpanExporter | None = None,
    headers: Mapping[str, str] | None = None,
    api_key: str | None = None,
    project_name: str | None = None,
    service_name: str | None = None,
    use_env: bool = True,
    max_queue_size: int = 16384,
    max_export_batch_size: int = 512,
    schedule_delay_millis: float = 1000,
    export_timeout_s: float = 10.0,
    count: CountFn | None = None,
    redactor_factory: Callable[[], Any] | None = None,
) -> Tracing:
    """Build the tracer provider the adapters use, from the first thing configured.

    Precedence: ``tracer_provider`` (used as is, e.g. from ``phoenix.otel.register``; not owned);
    ``exporter`` (any span exporter, e.g. an ``InMemorySpanExporter`` in tests); ``phoenix_endpoint``
    (``http://127.0.0.1:6006`` -> OTLP/HTTP ``/v1/traces``); then, when ``use_env``, the standard
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT`` (with
    ``OTEL_EXPORTER_OTLP[_TRACES]_HEADERS``, read by the OTLP exporter) or ``PHOENIX_COLLECTOR_ENDPOINT``.
    Nothing configured -> ``Tracing(tracer_provider=None)``: tracing off, no spans, no cost.
    ``redactor_factory`` (a callable returning a ``privacy.Redactor``): every span is redacted on the
    batch processor's export thread before it leaves (``privacy.spans.RedactingSpanExporter``). A
    ``tracer_provider`` you pass is yours: wrap its exporter in ``RedactingSpanExporter`` yourself.

    Never raises: a broken configuration is logged, counted (``tracing.setup_failed``) and
    disables tracing.
    """
    _count = _safe_count(count)
    if tracer_provider is not None:
        return Tracing(tracer_provider=tracer_provider, owned=False)
    try:
        endpoint: str | None = None
        if exporter is None:
            hdrs = dict(_parse_headers(headers))
            key = api_key or (os.environ.get("PHOENIX_API_KEY") if use_env else None)
            if phoenix_endpoint:
                endpoint = _traces_url(phoenix_endpoint)
            elif use_env and any(os.environ.get(v) for v in _ENV_ENDPOINTS):
                endpoint = None  # the OTLP exporter resolves the OTEL_* variables itself
            elif use_env and os.environ.get("PHOENIX_COLLECTOR_ENDPOINT"):
                endpoint = _traces_url(os.environ["PHOENIX_COLLECTOR_ENDPOINT"])
                hdrs.update(_parse_headers(os.environ.get("PHOENIX_CLIENT_HEADERS")))
            else:
                return Tracing()
            if key and not any(k.lower() == "authorization" for k in hdrs):
                hdrs["authorization"] = f"Bearer {key}"
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=endpoint, headers=hdrs or None, timeout=export_timeout_s)
            endpoint = getattr(exporter, "_endpoint", endpoint)
        if project_name is None and use_env:
            project_name = os.environ.get("PHOENIX_PROJECT_NAME")
        attrs: dict[str, Any] = {
            "service.name": service_name or (os.environ.get("OTEL_SERVICE_NAME") if use_env else None) or "flywheel",
        }
        if project_name:
            attrs[PROJECT_NAME_ATTRIBUTE] = project_name
        provider = TracerProvider(resource=Resource.create(attrs))
        if redactor_factory is not None:
            from .privacy.spans import RedactingSpanExporter

            exporter = RedactingSpanExporter(exporter, redactor_factory, count=_count)
        processor = CountingBatchSpanProcessor(
            exporter,
            max_queue_size=max_queue_size,
            max_export_batch_size=max_export_batch_size,
            schedule_delay_millis=schedule_delay_millis,
            count=count,
        )
        provider.add_span_processor(processor)
        return Tracing(tracer_provider=provider, processor=processor, owned=True, endpoint=endpoint)
    except Exception as exc:  # noqa: BLE001
        _count("tracing.setup_failed")
        _warn_once("setup", "tracing disabled: could not build the tracer provider: %r", exc)
        return Tracing()


# --------------------------------------------------------------------------------------------------
# Phoenix span annotations
# --------------------------------------------------------------------------------------------------

ANNOTATOR_KINDS = {"implicit": "CODE", "explicit": "HUMAN", "judge": "LLM"}


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    return None


def annotation_payload(
    signal: Signal, span_id: str, *, score: float | None = None, name: str | None = None,
    described: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One ``SpanAnnotationData`` item (arize-phoenix 20.x ``POST /v1/span_annotations``) for a signal.

    ``name`` is the signal kind; ``annotator_kind`` is CODE for implicit signals, HUMAN for explicit
    ones, LLM for a judge's; ``identifier`` is the signal id, so a retried post upserts instead of
    duplicating.  ``result`` gets a label and/or score from the value (numbers and booleans score,
    strings label, dicts may carry ``label``/``score``/``explanation``). ``described`` (from the
    annotator's ``describe`` hook) overrides ``label``/``score``/``explanation`` and adds ``metadata``.
    """
    value = signal.value
    label: str | None = None
    explanation: str | None = None
    if isinstance(value, Mapping):
        if value.get("label") is not None:
            label = str(value["label"])
        if score is None:
            score = _as_float(value.get("score"))
        if value.get("explanation") is not None:
            explanation = str(value["explanation"])
    elif isinstance(value, str):
        label = value
    else:
        if score is None:
            score = _as_float(value)
        if isinstance(value, bool):
            label = "true" if value else "false"
    if label is None and score is None:
        label = signal.kind
    evidence = signal.evidence if isinstance(signal.evidence, Mapping) else {}
    if explanation is None:
        for key in ("explanation", "reason", "text", "comment"):
            if evidence.get(key):
                explanation = str(evidence[key])
                break
    metadata = {
        "interaction_id": signal.interaction_id,
        "signal_id": signal.id,
        "source": signal.source,
        "actor": signal.actor,
        "at": signal.at,
        "evidence": to_jsonable(evidence),
    }
    if described:
        label = described.get("label", label)
        score = described.get("score", score)
        explanation = described.get("explanation", explanation)
        metadata.update(described.get("metadata") or {})
    result: dict[str, Any] = {"label": label, "score": score, "explanation": explanation}
    return {
        "span_id": span_id,
        "name": name or signal.kind,
        "annotator_kind": ANNOTATOR_KINDS.get(signal.source, "CODE"),
        "result": result,
        "metadata": to_jsonable(metadata),
        "identifier": signal.id,
    }


_MISSING_SPANS = re.compile(r"Spans with IDs (.+?) do not exist")


@dataclass(order=True)
class _Item:
    due: float
    seq: int
    payload: dict[str, Any]
    attempt: int = 0


class PhoenixAnnotator:
    """Posts signals as Phoenix span annotations from a background thread.

    ``score(signal)`` and ``describe(signal)`` (a mapping with any of ``label``, ``score``,
    ``explanation``, ``metadata``) let the caller say what each kind of signal looks like in Phoenix.

    ``submit()`` is cheap and never raises or blocks: it finds the root span of the signal's
    interaction (``span_id=`` or the :class:`SpanIndex`), builds the payload and queues it (bounded:
    ``max_queue``; overflow is counted as ``phoenix.annotations_dropped``).  The worker posts batches
    with ``?sync=true`` so Phoenix says which spans it does not have yet (still in a span batch):
    those are retried with exponential backoff up to ``max_retries``; network errors and 5xx too;
    other 4xx are counted as rejected.  Counters: ``phoenix.annotations_posted``, ``_retried``,
    ``_failed``, ``_rejected``, ``_dropped``, ``_no_span``.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        span_index: SpanIndex | None = None,
        headers: Mapping[str, str] | None = None,
        api_key: str | None = None,
        count: CountFn | None = None,
        score: Callable[[Signal], float | None] | None = None,
        describe: Callable[[Signal], Mapping[str, Any] | None] | None = None,
        max_queue: int = 10_000,
        max_batch: int = 100,
        max_retries: int = 8,
        backoff_s: float = 0.5,
        max_backoff_s: float = 15.0,
        timeout_s: float = 10.0,
        client: Any = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._index = span_index if span_index is not None else SPAN_INDEX
        self._count = _safe_count(count)
        self._score = score
        self._describe = describe
        self._max_queue = max_queue
        self._max_batch = max(1, max_batch)
        self._max_retries = max_retries
        self._backoff = backoff_s
        self._max_backoff = max_backoff_s
        hdrs = {"content-type": "application/json"}
        hdrs.update(_parse_headers(headers))
        key = api_key or os.environ.get("PHOENIX_API_KEY")
        if key and not any(k.lower() == "authorization" for k in hdrs):
            hdrs["authorization"] = f"Bearer {key}"
        self._headers = hdrs
        self._timeout = timeout_s
        self._client = client
        self._heap: list[_Item] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._inflight = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- producer side -------------------------------------------------------------------------

    def submit(self, signal: Signal, *, span_id: str | None = None) -> bool:
        """Queue ``signal`` as an annotation of its interaction's root span.  Never raises."""
        try:
            if span_id is None:
                ids = self._index.get(signal.interaction_id)
                if ids is None:
                    self._count("phoenix.annotations_no_span")
                    return False
                span_id = ids[1]
            score = None
            if self._score is not None:
                try:
                    score = self._score(signal)
                except Exception:  # noqa: BLE001
                    score = None
            described = None
            if self._describe is not None:
                try:
                    described = self._describe(signal)
                except Exception:  # noqa: BLE001 - a broken description falls back to the generic one
                    described = None
            payload = annotation_payload(signal, span_id, score=score, described=described)
            return self._enqueue(_Item(time.monotonic(), next(self._seq), payload))
        except Exception as exc:  # noqa: BLE001
            self._count("phoenix.annotations_failed")
            _warn_once("annotate-submit", "could not queue a Phoenix annotation: %r", exc)
            return False

    def _enqueue(self, item: _Item) -> bool:
        with self._cond:
            if self._closed:
                self._count("phoenix.annotations_dropped")
                return False
            if len(self._heap) + self._inflight >= self._max_queue:
                self._count("phoenix.annotations_dropped")
                _warn_once("annotate-full", "Phoenix annotation queue full (%s): dropping", self._max_queue)
                return False
            heapq.heappush(self._heap, item)
            self._ensure_thread()
            self._cond.notify()
        return True

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="flywheel-phoenix-annotator", daemon=True)
            self._thread.start()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + self._inflight

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until everything queued was posted or given up (including scheduled retries)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._heap or self._inflight:
                # wake the worker so retries that are due get sent promptly
                self._cond.notify_all()
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Flush (up to ``timeout_s``), then stop the worker; what is left is counted as dropped."""
        self.flush(timeout_s)
        with self._cond:
            self._closed = True
            left = len(self._heap)
            self._heap.clear()
            self._cond.notify_all()
        if left:
            self._count("phoenix.annotations_dropped", left)
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._client is not None and getattr(self, "_owns_client", False):
            try:
                self._client.close()
            except Exception:  # noqa: BLE001
                pass

    # -- worker side ---------------------------------------------------------------------------

    def _get_client(self) -> Any:
        if self._client is None:
            import httpx

            self._client = httpx.Client(timeout=self._timeout, headers=self._headers)
            self._owns_client = True
        return self._client

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._heap and self._heap[0].due <= time.monotonic():
                        break
                    wait = (self._heap[0].due - time.monotonic()) if self._heap else None
                    self._cond.wait(wait if wait is None else max(0.0, min(wait, 1.0)))
                if self._closed:
                    return
                batch: list[_Item] = []
                now = time.monotonic()
                while self._heap and self._heap[0].due <= now and len(batch) < self._max_batch:
                    batch.append(heapq.heappop(self._heap))
                self._inflight += len(batch)
            try:
                self._post(batch)
            except Exception as exc:  # noqa: BLE001 - the worker must survive anything
                self._count("phoenix.annotations_failed", len(batch))
                _warn_once("annotate-worker", "Phoenix annotator error: %r", exc)
            finally:
                with self._cond:
                    self._inflight -= len(batch)
                    self._cond.notify_all()

    def _retry(self, items: list[_Item], reason: str) -> None:
        for item in items:
            item.attempt += 1
            if item.attempt > self._max_retries:
                self._count("phoenix.annotations_failed")
                _warn_once("annotate-giveup-" + reason, "gave up posting a Phoenix annotation (%s)", reason)
                continue
            delay = min(self._max_backoff, self._backoff * (2 ** (item.attempt - 1)))
            item.due = time.monotonic() + delay
            item.seq = next(self._seq)
            self._count("phoenix.annotations_retried")
            with self._cond:
                if self._closed:
                    self._count("phoenix.annotations_dropped")
                    continue
                heapq.heappush(self._heap, item)

    def _post(self, batch: list[_Item]) -> None:
        if not batch:
            return
        url = f"{self.endpoint}/v1/span_annotations"
        try:
            resp = self._get_client().post(
                url, params={"sync": "true"}, json={"data": [i.payload for i in batch]}, headers=self._headers
            )
        except Exception as exc:  # noqa: BLE001 - connection refused, timeout...
            _warn_once("annotate-net", "Phoenix unreachable at %s: %r (will retry)", url, exc)
            self._retry(batch, "network")
            return
        code = resp.status_code
        if 200 <= code < 300:
            self._count("phoenix.annotations_posted", len(batch))
            return
        if code == 404:
            missing: set[str] | None = None
            try:
                detail = resp.json().get("detail", "")
                m = _MISSING_SPANS.search(str(detail))
                if m:
                    missing = {s.strip() for s in m.group(1).split(",")}
            except Exception:  # noqa: BLE001
                missing = None
            if missing is None:
                self._retry(batch, "not-found")
                return
            waiting = [i for i in batch if i.payload["span_id"] in missing]
            ready = [i for i in batch if i.payload["span_id"] not in missing]
            self._retry(waiting, "span-not-found")
            if ready:
                self._post(ready)
            return
        if code in (408, 425, 429) or code >= 500:
            self._retry(batch, f"http-{code}")
            return
        if len(batch) > 1:  # isolate the bad item
            for item in batch:
                self._post([item])
            return
        self._count("phoenix.annotations_rejected")
        _warn_once("annotate-rejected", "Phoenix rejected an annotation (%s): %s", code, resp.text[:300])
