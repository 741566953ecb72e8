"""Spans leave the process redacted: a ``SpanExporter`` that redacts, wrapping the real one.

It sits inside the batch span processor, so it runs on the processor's background export
thread, never on the agent's thread, and sees whole batches (up to ``max_export_batch_size``
spans): all their texts go through the redactor in one call. Every string attribute is redacted
(``input.value``, ``output.value``, messages, documents, tool parameters, metadata, whatever an
instrumentor or a span transform put there), JSON attributes as JSON (so they stay valid), plus
event attributes (exception messages) and the status description. A few attributes that are
structure, not text (span kind, mime types, model names, our interaction id), are left alone.

If redaction fails, the span's text attributes are replaced by ``<REDACTION_FAILED>`` and
``tracing.spans_redaction_failed`` is counted: nothing raw is exported.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

__all__ = ["RedactingSpanExporter"]

_log = logging.getLogger("flywheel_middleware.tracing")
_FAILED = "<REDACTION_FAILED>"

#: attribute keys whose values are structure, not text someone typed
_KEEP_KEYS = frozenset({
    "openinference.span.kind", "input.mime_type", "output.mime_type", "llm.model_name", "llm.provider", "llm.system",
    "llm.invocation_parameters", "embedding.model_name", "reranker.model_name", "service.name",
    "openinference.project.name", "flywheel.interaction_id", "flywheel.run_id", "flywheel.kind", "tool.id",
    "message.role", "metadata.langgraph_node", "metadata.langgraph_step",
})
_KEEP_SUFFIXES = (".mime_type", ".message.role", ".role", "_id", ".id", ".span_kind", ".token_count.total",
                  ".token_count.prompt", ".token_count.completion")


def _keep(key: str) -> bool:
    return key in _KEEP_KEYS or key.endswith(_KEEP_SUFFIXES)


def _as_json(value: str) -> Any:
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return None
    return None


class _Slot:
    """One redactable value of a span: where it goes back, and how (text, JSON, or a sequence)."""

    __slots__ = ("target", "key", "kind", "payload")

    def __init__(self, target: dict[str, Any], key: str, kind: str, payload: Any) -> None:
        self.target, self.key, self.kind, self.payload = target, key, kind, payload


class RedactingSpanExporter(SpanExporter):
    """Redacts every batch before handing it to ``inner``; never raises into the processor."""

    def __init__(self, inner: SpanExporter, redactor_factory: Callable[[], Any],
                 count: Callable[..., None] | None = None) -> None:
        self.inner = inner
        self._factory = redactor_factory
        self._redactor: Any = None
        self._count = count or (lambda *_a, **_k: None)

    def _get(self) -> Any:
        if self._redactor is None:
            self._redactor = self._factory()
        return self._redactor

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            redacted = self._redact(spans)
        except Exception as exc:  # noqa: BLE001 - fail closed: export without the texts
            self._count("tracing.spans_redaction_failed", len(spans))
            _log.warning("flywheel: span redaction failed (%r); exporting %d spans without their texts", exc, len(spans))
            redacted = [self._blank(s) for s in spans]
        return self.inner.export(redacted)

    def _collect(self, attrs: dict[str, Any], slots: list[_Slot], payloads: list[Any]) -> None:
        for key, value in attrs.items():
            if _keep(key):
                continue
            if isinstance(value, str):
                parsed = _as_json(value)
                slot = _Slot(attrs, key, "json" if parsed is not None else "text", parsed if parsed is not None else value)
            elif isinstance(value, (list, tuple)) and any(isinstance(v, str) for v in value):
                slot = _Slot(attrs, key, "seq", list(value))
            else:
                continue
            slots.append(slot)
            payloads.append(slot.payload)

    def _redact(self, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
        # one scope per trace: a value found in one span of a turn is redacted where the turn's
        # other spans repeat it (the answer echoing the question, the LLM span's prompt)
        traces: dict[int, tuple[list[_Slot], list[Any]]] = {}
        plans = []
        for span in spans:
            attrs = dict(span.attributes or {})
            events = [(e.name, dict(e.attributes or {}), e.timestamp) for e in span.events]
            status = {"d": span.status.description} if span.status.description else {}
            trace_slots, trace_payloads = traces.setdefault(span.context.trace_id if span.context else 0, ([], []))
            for target in (attrs, status, *(ev[1] for ev in events)):
                self._collect(target, trace_slots, trace_payloads)
            plans.append((span, attrs, events, status))
        groups = [group for group in traces.values() if group[1]]
        if groups:
            redactor = self._get()
            many = getattr(redactor, "redact_values", None)
            objs = [payloads for _, payloads in groups]
            cleaned_groups = many(objs, [None] * len(objs)) if many else [redactor.redact_value(o) for o in objs]
            slots = [slot for trace_slots, _ in groups for slot in trace_slots]
            cleaned = [clean for group in cleaned_groups for clean in group]
            for slot, clean in zip(slots, cleaned):
                if slot.kind == "json":
                    slot.target[slot.key] = json.dumps(clean, ensure_ascii=False)
                elif slot.kind == "seq":
                    slot.target[slot.key] = tuple(clean)
                else:
                    slot.target[slot.key] = clean
        return [self._copy(span, attrs, events, status.get("d")) for span, attrs, events, status in plans]

    @staticmethod
    def _copy(span: ReadableSpan, attrs: dict[str, Any], events: list[tuple[str, dict[str, Any], int]],
              description: str | None) -> ReadableSpan:
        status = span.status
        if description is not None:
            status = Status(status.status_code, description)
        return ReadableSpan(
            name=span.name, context=span.context, parent=span.parent, resource=span.resource, attributes=attrs,
            events=[Event(name, a, timestamp=ts) for name, a, ts in events], links=span.links, kind=span.kind,
            status=status, start_time=span.start_time, end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def _blank(self, span: ReadableSpan) -> ReadableSpan:
        attrs = {k: (_FAILED if isinstance(v, (str, list, tuple)) and not _keep(k) else v)
                 for k, v in (span.attributes or {}).items()}
        events = [(e.name, {k: _FAILED for k in (e.attributes or {})}, e.timestamp) for e in span.events]
        return self._copy(span, attrs, events, _FAILED if span.status.description else None)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self.inner.force_flush(timeout_millis))
