"""Per-turn overhead of LangChain capture on a 3-step tool-calling agent (fake model), side by side.

Configurations, interleaved round by round on the same compiled LangGraph agent
(``create_react_agent``: model -> tool -> model, i.e. LLM call, tool call, final LLM call):

* ``baseline``      no callback at all;
* ``instrumentor``  OpenInference ``LangChainInstrumentor`` alone (spans only);
* ``ours``          our one ``FlywheelCallbackHandler``: capture into an ``Interaction`` + the same
                    OpenInference spans, through the same tracer provider;
* ``ours_capture``  our handler with tracing off (capture only), for reference.

Spans go to a no-op exporter behind the same batch span processor, so export cost is not measured
(it is off the hot path anyway).  The recorder keeps the interaction in a list: serialisation and
the durable queue are the core's cost, not the adapter's.

Overhead of a configuration = its per-turn latency minus the baseline's (median and p99 over all
turns).  Target: ours <= 1.3x the instrumentor's overhead.

    python benchmarks/bench_langchain_overhead.py [--turns 300] [--rounds 6] [--json out.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from flywheel_middleware.adapters.langchain import make_handler
from flywheel_middleware.records import Interaction, Signal
from flywheel_middleware.tracing import setup_tracing


class NoopExporter(SpanExporter):
    def __init__(self) -> None:
        self.n = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.n += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class LoopModel(BaseChatModel):
    """Deterministic fake: asks for the weather tool, then answers from the tool result."""

    @property
    def _llm_type(self) -> str:
        return "loop-fake"

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        from langchain_core.utils.function_calling import convert_to_openai_tool

        return self.bind(tools=[convert_to_openai_tool(t) for t in tools])

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        last = messages[-1]
        usage = {"input_tokens": 42, "output_tokens": 7, "total_tokens": 49}
        if isinstance(last, ToolMessage):
            msg = AIMessage(content=f"The answer is: {last.content}", usage_metadata=usage)
        else:
            msg = AIMessage(
                content="",
                tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}],
                usage_metadata=usage,
            )
        return ChatResult(generations=[ChatGeneration(message=msg)])


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def get_time(city: str) -> str:
    """The local time in a city."""
    return "noon"


class ListRecorder:
    def __init__(self, tracer_provider: Any) -> None:
        self.tracer_provider = tracer_provider
        self.records: list[Interaction] = []
        self.signals: list[Signal] = []

    def record(self, interaction: Interaction) -> str | None:
        self.records.append(interaction)
        return interaction.id

    def add_signal(self, signal: Signal) -> bool:
        self.signals.append(signal)
        return True

    def current_session(self) -> tuple[str | None, str | None]:
        return (None, None)

    def count(self, name: str, n: int = 1) -> None:
        pass


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(q / 100 * (len(s) - 1)))))
    return s[k]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=300, help="turns per configuration per round")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--block", type=int, default=10, help="turns in a row per configuration")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    from openinference.instrumentation.langchain import LangChainInstrumentor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langgraph.prebuilt import create_react_agent

        agent = create_react_agent(LoopModel(), [get_weather, get_time])
    inputs = {"messages": [("user", "What is the weather in Paris?")]}
    exporter = NoopExporter()
    tracing = setup_tracing(exporter=exporter, use_env=False, schedule_delay_millis=200)
    provider = tracing.tracer_provider
    instrumentor = LangChainInstrumentor()

    recorder = ListRecorder(provider)
    handler = make_handler(recorder)
    capture_only = make_handler(ListRecorder(None))

    configs: dict[str, dict[str, Any]] = {
        "baseline": {},
        "instrumentor": {"metadata": {"session_id": "bench", "user_id": "u"}},
        "ours": {"callbacks": [handler], "metadata": {"session_id": "bench", "user_id": "u"}},
        "ours_capture": {"callbacks": [capture_only], "metadata": {"session_id": "bench", "user_id": "u"}},
    }

    def run_block(name: str, n: int, wall: list[float], cpu: list[float]) -> None:
        if name == "instrumentor":
            instrumentor.instrument(tracer_provider=provider)
        config = configs[name]
        try:
            for _ in range(n):
                c0 = time.process_time()
                t0 = time.perf_counter()
                out = agent.invoke(inputs, config=config)
                t1 = time.perf_counter()
                c1 = time.process_time()
                wall.append(t1 - t0)
                cpu.append(c1 - c0)
            assert out["messages"][-1].content == "The answer is: sunny in Paris"
        finally:
            if name == "instrumentor":
                instrumentor.uninstrument()
        recorder.records.clear()
        capture_only.recorder.records.clear()

    names = list(configs)
    for name in names:
        run_block(name, args.warmup, [], [])
    samples: dict[str, list[float]] = {n: [] for n in names}
    cpu_samples: dict[str, list[float]] = {n: [] for n in names}
    # small blocks, rotated: every configuration sees the same background load
    blocks = max(1, args.turns // args.block)
    for r in range(args.rounds * blocks):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            run_block(name, args.block, samples[name], cpu_samples[name])
        if r % blocks == blocks - 1:
            gc.collect()
            tracing.flush()

    # sanity: ours captured what it should
    recorder.records.clear()
    agent.invoke(inputs, config={"callbacks": [handler]})
    it = recorder.records[-1]
    assert [s.kind for s in it.steps if s.kind != "chain"] == ["llm", "tool", "llm"], it.steps

    base_med = statistics.median(samples["baseline"])
    base_p99 = percentile(samples["baseline"], 99)
    result: dict[str, Any] = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "turns_per_config": args.turns * args.rounds,
        "configs": {},
    }
    cpu_base_med = statistics.median(cpu_samples["baseline"])
    cpu_base_p99 = percentile(cpu_samples["baseline"], 99)
    for name in names:
        med = statistics.median(samples[name])
        p99 = percentile(samples[name], 99)
        cmed = statistics.median(cpu_samples[name])
        cp99 = percentile(cpu_samples[name], 99)
        result["configs"][name] = {
            "median_ms": med * 1e3,
            "p99_ms": p99 * 1e3,
            "overhead_median_ms": (med - base_med) * 1e3,
            "overhead_p99_ms": (p99 - base_p99) * 1e3,
            "cpu_median_ms": cmed * 1e3,
            "cpu_p99_ms": cp99 * 1e3,
            "cpu_overhead_median_ms": (cmed - cpu_base_med) * 1e3,
            "cpu_overhead_p99_ms": (cp99 - cpu_base_p99) * 1e3,
        }
    inst = result["configs"]["instrumentor"]
    ours = result["configs"]["ours"]
    result["ratio_median"] = ours["overhead_median_ms"] / inst["overhead_median_ms"] if inst["overhead_median_ms"] > 0 else float("nan")
    result["ratio_p99"] = ours["overhead_p99_ms"] / inst["overhead_p99_ms"] if inst["overhead_p99_ms"] > 0 else float("nan")
    result["cpu_ratio_median"] = ours["cpu_overhead_median_ms"] / inst["cpu_overhead_median_ms"]
    result["cpu_ratio_p99"] = ours["cpu_overhead_p99_ms"] / inst["cpu_overhead_p99_ms"]
    result["spans_exported"] = exporter.n
    tracing.shutdown()

    print(f"{'config':<14}{'median ms':>11}{'p99 ms':>10}{'overhead med':>14}{'overhead p99':>14}   (wall clock)")
    for name in names:
        c = result["configs"][name]
        print(
            f"{name:<14}{c['median_ms']:>11.3f}{c['p99_ms']:>10.3f}{c['overhead_median_ms']:>14.3f}{c['overhead_p99_ms']:>14.3f}"
        )
    print(f"{'config':<14}{'median ms':>11}{'p99 ms':>10}{'overhead med':>14}{'overhead p99':>14}   (process CPU time)")
    for name in names:
        c = result["configs"][name]
        print(
            f"{name:<14}{c['cpu_median_ms']:>11.3f}{c['cpu_p99_ms']:>10.3f}{c['cpu_overhead_median_ms']:>14.3f}"
            f"{c['cpu_overhead_p99_ms']:>14.3f}"
        )
    print(f"ours / instrumentor overhead, wall: median {result['ratio_median']:.2f}x, p99 {result['ratio_p99']:.2f}x")
    print(f"ours / instrumentor overhead, CPU:  median {result['cpu_ratio_median']:.2f}x, p99 {result['cpu_ratio_p99']:.2f}x (target <= 1.3x)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
