"""Caller-side cost of ``Flywheel.record()``: what an agent pays per turn (target p99 <= 100 us).

Measured with the worker running (the realistic case: it competes for the GIL) and without it,
for a small turn (question + answer + one LLM step) and a tool-calling turn (4 steps, 2 decisions).
Compared side by side with the cheapest thing a user could do instead: appending the same record
as a JSON line to a Python file object (buffered, no durability).

Run: .venv/bin/python benchmarks/bench_record.py
"""

from __future__ import annotations

import _common  # noqa: F401  (threads, env)

import json
import sys
import tempfile
import time
from pathlib import Path

from flywheel_middleware import Flywheel, Interaction, RoutingDecision, Step

N = 20_000


def small(i: int) -> Interaction:
    return Interaction(input=f"How do I reset my password? ({i})", output="Open Settings > Security > Reset.",
                       session_id="s1", user_id="u1", steps=[Step("llm", "gpt", inputs="...", outputs="...")])


def tool_turn(i: int) -> Interaction:
    q = f"Where is my order A{i}?"
    return Interaction(
        input=q, output="Your order ships tomorrow.", session_id=f"s{i % 50}", user_id="u1",
        steps=[Step("llm", "gpt", inputs=[{"role": "user", "content": q}], outputs={"tool_calls": [{"name": "track", "args": {"id": i}}]}),
               Step("tool", "track", inputs={"id": i}, outputs={"status": "in transit", "eta": "tomorrow"}),
               Step("llm", "gpt", inputs=[{"role": "tool", "content": "in transit"}], outputs="Your order ships tomorrow."),
               Step("chain", "agent", inputs=q, outputs="done")],
        decisions=[RoutingDecision("model", chosen="track", candidates=["track", "refund", "escalate"]),
                   RoutingDecision("graph_edge", chosen="tools", candidates=["tools", "__end__"], name="agent")],
    )


def measure(fw_or_file, make, n: int) -> list[float]:
    samples = []
    for i in range(n):
        it = make(i)
        t0 = time.perf_counter()
        fw_or_file(it)
        samples.append(time.perf_counter() - t0)
    return samples


def main() -> None:
    rows = []
    for label, make in (("small turn", small), ("tool-calling turn", tool_turn)):
        with tempfile.TemporaryDirectory() as tmp:
            with open(Path(tmp) / "plain.jsonl", "w") as handle:
                plain = measure(lambda it: handle.write(json.dumps(it.to_dict()) + "\n"), make, N)
            fw = Flywheel(Path(tmp) / "idle", start_worker=False)
            idle = measure(fw.record, make, N)
            fw.close()
            fw = Flywheel(Path(tmp) / "busy")
            busy = measure(fw.record, make, N)
            fw.close(timeout=600)
        for name, samples in (("json.dumps + buffered file.write (no durability)", plain),
                              ("record(), worker idle", idle), ("record(), worker ingesting", busy)):
            p = _common.percentiles(samples)
            rows.append((label, name, p["p50"], p["p99"], p["mean"]))
    print(_common.table(["record", "what", "p50 us", "p99 us", "mean us"], rows))
    print(f"\nN={N} per row; python {sys.version.split()[0]}; 2 cores")


if __name__ == "__main__":
    main()
