"""Tracing plumbing: provider from config, counted span drops / export failures, the Phoenix annotator."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flywheel_middleware.records import Signal
from flywheel_middleware.tracing import (
    PhoenixAnnotator,
    SpanIndex,
    annotation_payload,
    setup_tracing,
)

_ENV = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "PHOENIX_COLLECTOR_ENDPOINT",
    "PHOENIX_API_KEY",
    "PHOENIX_PROJECT_NAME",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in _ENV:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


class Counts(dict):
    def __call__(self, name: str, n: int = 1) -> None:
        self[name] = self.get(name, 0) + n


def test_nothing_configured_means_no_provider(clean_env: pytest.MonkeyPatch) -> None:
    tracing = setup_tracing()
    assert tracing.tracer_provider is None and not tracing.enabled
    assert tracing.flush() is True
    tracing.shutdown()
    assert tracing.stats()["enabled"] is False


def test_phoenix_endpoint_and_env_vars(clean_env: pytest.MonkeyPatch) -> None:
    t = setup_tracing(phoenix_endpoint="http://127.0.0.1:6006/", project_name="agents")
    try:
        assert t.enabled and t.owned and t.endpoint == "http://127.0.0.1:6006/v1/traces"
        assert t.tracer_provider.resource.attributes["openinference.project.name"] == "agents"
        assert t.stats()["max_queue_size"] == 16384
    finally:
        t.shutdown()
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    clean_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=k1")
    t = setup_tracing(max_queue_size=100)
    try:
        assert t.endpoint == "http://collector:4318/v1/traces"
        assert t.stats()["max_queue_size"] == 100
    finally:
        t.shutdown()
    clean_env.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://other:4318/custom")
    t = setup_tracing()
    try:
        assert t.endpoint == "http://other:4318/custom"
    finally:
        t.shutdown()


def test_an_existing_provider_is_used_as_is_and_not_shut_down(clean_env: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider()
    t = setup_tracing(tracer_provider=provider, phoenix_endpoint="http://ignored")
    assert t.tracer_provider is provider and not t.owned
    t.shutdown()  # not ours: must stay usable
    with provider.get_tracer("x").start_as_current_span("still-works") as span:
        assert span.is_recording()


class BlockingExporter(SpanExporter):
    def __init__(self) -> None:
        self.release = threading.Event()
        self.exported: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait(10)
        self.exported.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()


def test_a_full_queue_drops_spans_and_counts_them(caplog: pytest.LogCaptureFixture) -> None:
    counts = Counts()
    exporter = BlockingExporter()
    t = setup_tracing(exporter=exporter, max_queue_size=50, max_export_batch_size=10, schedule_delay_millis=10, count=counts, use_env=False)
    tracer = t.tracer_provider.get_tracer("burst")
    for i in range(500):
        tracer.start_span(f"s{i}").end()
    dropped = counts.get("tracing.spans_dropped", 0)
    # at most the queue plus one batch in the blocked exporter survive; the rest is counted
    assert dropped >= 500 - 50 - 10
    exporter.release.set()
    t.flush()
    assert len(exporter.exported) + dropped == 500
    assert counts["tracing.spans_exported"] == len(exporter.exported)
    assert len([r for r in caplog.records if "span dropped" in r.getMessage()]) <= 1  # not a warning per span
    t.shutdown()


class FailingExporter(SpanExporter):
    def __init__(self, mode: str) -> None:
        self.mode = mode

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.mode == "raise":
            raise ConnectionError("collector down")
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        pass


@pytest.mark.parametrize("mode", ["raise", "failure"])
def test_export_failures_are_counted(mode: str) -> None:
    counts = Counts()
    t = setup_tracing(exporter=FailingExporter(mode), count=counts, use_env=False)
    tracer = t.tracer_provider.get_tracer("x")
    for i in range(7):
        tracer.start_span(f"s{i}").end()
    t.flush()
    assert counts["tracing.spans_export_failed"] == 7
    assert counts["tracing.export_failures"] >= 1
    t.shutdown()


def test_spans_after_shutdown_are_counted_as_dropped() -> None:
    counts = Counts()
    t = setup_tracing(exporter=InMemorySpanExporter(), count=counts, use_env=False)
    tracer = t.tracer_provider.get_tracer("x")
    t.processor.shutdown()
    tracer.start_span("late").end()
    assert counts["tracing.spans_dropped"] == 1


# --------------------------------------------------------------------------------------------------
# annotations
# --------------------------------------------------------------------------------------------------


def test_annotation_payload_maps_signal_sources_and_values() -> None:
    s = Signal(interaction_id="i1", kind="thumbs_down", value=-1, source="explicit", actor="u1", evidence={"comment": "wrong city"})
    p = annotation_payload(s, "00000000000000ab")
    assert p["span_id"] == "00000000000000ab" and p["name"] == "thumbs_down" and p["identifier"] == s.id
    assert p["annotator_kind"] == "HUMAN"
    assert p["result"] == {"label": None, "score": -1.0, "explanation": "wrong city"}
    assert p["metadata"]["interaction_id"] == "i1" and p["metadata"]["actor"] == "u1"
    assert annotation_payload(Signal("i1", "abort", True, source="implicit"), "ab")["annotator_kind"] == "CODE"
    assert annotation_payload(Signal("i1", "abort", True, source="implicit"), "ab")["result"]["label"] == "true"
    judged = annotation_payload(Signal("i1", "correctness", {"label": "incorrect", "score": 0.2, "explanation": "x"}, source="judge"), "ab")
    assert judged["annotator_kind"] == "LLM" and judged["result"] == {"label": "incorrect", "score": 0.2, "explanation": "x"}
    assert annotation_payload(Signal("i1", "copy"), "ab")["result"]["label"] == "copy"


class FakePhoenix:
    """An httpx MockTransport that behaves like Phoenix's POST /v1/span_annotations?sync=true."""

    def __init__(self, known: set[str], fail_first: int = 0) -> None:
        self.known = known
        self.fail_first = fail_first
        self.received: list[dict[str, Any]] = []
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        import json

        self.calls += 1
        assert request.url.path == "/v1/span_annotations" and request.url.params["sync"] == "true"
        if self.calls <= self.fail_first:
            return httpx.Response(503, json={"detail": "busy"})
        data = json.loads(request.content)["data"]
        missing = sorted({d["span_id"] for d in data} - self.known)
        if missing:
            return httpx.Response(404, json={"detail": f"Spans with IDs {', '.join(missing)} do not exist."})
        if any(d["name"] == "note" for d in data):
            return httpx.Response(400, json={"detail": "reserved"})
        self.received.extend(data)
        return httpx.Response(200, json={"data": [{"id": str(i)} for i in range(len(data))]})


def test_annotator_retries_until_the_span_exists_and_on_5xx() -> None:
    phoenix = FakePhoenix(known={"aa"}, fail_first=1)
    counts = Counts()
    index = SpanIndex()
    index.put("i1", "t" * 32, "aa")
    index.put("i2", "t" * 32, "bb")
    client = httpx.Client(transport=httpx.MockTransport(phoenix), base_url="http://phoenix")
    ann = PhoenixAnnotator("http://phoenix", span_index=index, count=counts, client=client, backoff_s=0.01)
    assert ann.submit(Signal("i1", "thumbs_up", 1))
    assert ann.submit(Signal("i2", "thumbs_up", 1))
    assert not ann.submit(Signal("unknown", "thumbs_up", 1))  # no span known: counted, not queued
    time.sleep(0.3)
    phoenix.known.add("bb")  # the second span is ingested later
    assert ann.flush(10)
    assert sorted(d["span_id"] for d in phoenix.received) == ["aa", "bb"]
    assert counts["phoenix.annotations_posted"] == 2
    assert counts["phoenix.annotations_retried"] >= 2
    assert counts["phoenix.annotations_no_span"] == 1
    ann.close()


def test_annotator_gives_up_rejects_and_never_raises() -> None:
    phoenix = FakePhoenix(known={"aa"})
    counts = Counts()
    client = httpx.Client(transport=httpx.MockTransport(phoenix), base_url="http://phoenix")
    ann = PhoenixAnnotator("http://phoenix", count=counts, client=client, backoff_s=0.001, max_retries=2)
    assert ann.submit(Signal("i1", "note", 1), span_id="aa")  # Phoenix rejects this name
    assert ann.submit(Signal("i1", "ok", 1), span_id="aa")
    assert ann.submit(Signal("i1", "never", 1), span_id="cc")  # span never arrives
    assert ann.flush(10)
    assert counts["phoenix.annotations_rejected"] == 1
    assert counts["phoenix.annotations_failed"] == 1
    assert counts["phoenix.annotations_posted"] == 1
    ann.close()
    assert not ann.submit(Signal("i1", "late", 1), span_id="aa")


def test_annotator_with_phoenix_down_and_a_bounded_queue() -> None:
    counts = Counts()
    ann = PhoenixAnnotator("http://127.0.0.1:9", count=counts, max_queue=3, backoff_s=0.01, max_retries=1, timeout_s=0.5)
    results = [ann.submit(Signal("i", "k", 1), span_id="aa") for _ in range(5)]
    assert results.count(False) >= 2 and counts["phoenix.annotations_dropped"] >= 2
    assert ann.flush(10)
    assert counts["phoenix.annotations_failed"] == results.count(True)
    ann.close()
