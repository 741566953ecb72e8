"""Caller-side cost of ``Flywheel.record()``: what an agent pays per turn (target p99 <= 100 us).

Three ways to keep a turn, side by side, for a small turn (question + answer + one LLM step) and a
tool-calling turn (4 steps, 2 decisions). Every row is paced like an agent's turns (``--rate`` per
second, the caller sleeping in between, so each call starts with cold caches), not a tight loop:

* the cheapest thing a user could do instead: the same record as a JSON line appended to a
  buffered Python file (no durability);
* ``record()`` with no worker running;
* ``record()`` with the worker process **warm** (its model loaded and a first batch ingested
  before timing starts) and ingesting while the agent records, for ``--seconds`` (default 90) at
  ``--rate`` turns/s: long enough to include the worker's periodic work (queue fsync every 1 s, an
  index save every 30 s, the abandonment check every 30 s, counter publishing), so its p99.9 and
  max show what those cost the caller.

Each call is timed twice: wall time (what the agent waits, including any time the OS gave the core
to another process) and the calling thread's CPU time (``time.thread_time``: what the call itself
costs, which a busy shared machine does not inflate). Run it alone (``flock /work/bench.lock``) and
note the load average: the worker competes with the agent for the two cores.

    .venv/bin/python benchmarks/bench_record.py [--seconds 90] [--baseline-seconds 20] [--rate 100]
"""

from __future__ import annotations

import _common  # noqa: F401  (threads, env)

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from flywheel_middleware import Flywheel, Interaction, RoutingDecision, Step


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


def paced(call: Callable[[Interaction], object], make: Callable[[int], Interaction], seconds: float,
          rate: float) -> tuple[list[float], list[float]]:
    """``call`` at ``rate`` per second for ``seconds`` (an agent's turns arrive spread out, not in a
    tight loop); (wall seconds, thread CPU seconds) of each call."""
    wall: list[float] = []
    cpu: list[float] = []
    gap = 1.0 / rate
    start = time.perf_counter()
    i = 0
    while (now := time.perf_counter()) - start < seconds:
        due = start + i * gap
        if now < due:
            time.sleep(due - now)
        it = make(i)
        c0, t0 = time.thread_time(), time.perf_counter()
        call(it)
        t1, c1 = time.perf_counter(), time.thread_time()
        wall.append(t1 - t0)
        cpu.append(c1 - c0)
        i += 1
    return wall, cpu


def warm(fw: Flywheel, make: Callable[[int], Interaction]) -> float:
    """Record a first batch and wait until the worker stored it: its process, torch and MiniLM are loaded."""
    t = time.perf_counter()
    for i in range(200):
        fw.record(make(10_000_000 + i))
    assert fw.flush(900), "the worker did not ingest the warm-up batch"
    return time.perf_counter() - t


def stats_row(timed: tuple[list[float], list[float]]) -> dict[str, float]:
    wall, cpu = (np.asarray(x) * 1e6 for x in timed)
    return {"n": len(wall), "p50": float(np.percentile(wall, 50)), "p99": float(np.percentile(wall, 99)),
            "p999": float(np.percentile(wall, 99.9)), "max": float(wall.max()), "mean": float(wall.mean()),
            "cpu_p50": float(np.percentile(cpu, 50)), "cpu_p99": float(np.percentile(cpu, 99))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="timed window with the worker ingesting")
    parser.add_argument("--rate", type=float, default=100.0,
                        help="record() calls per second (default: about what the worker ingests, so the queue stays short)")
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="timed window of the two rows without a worker")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows, results = [], []
    for label, make in (("small turn", small), ("tool-calling turn", tool_turn)):
        with tempfile.TemporaryDirectory() as tmp:
            with open(Path(tmp) / "plain.jsonl", "w") as handle:
                plain = paced(lambda it: handle.write(json.dumps(it.to_dict()) + "\n"), make, args.baseline_seconds, args.rate)
            fw = Flywheel(Path(tmp) / "idle", start_worker=False)
            idle = paced(fw.record, make, args.baseline_seconds, args.rate)
            fw.close()
            fw = Flywheel(Path(tmp) / "busy")
            warm_s = warm(fw, make)
            before = fw.stats()["counters"].get("ingested_interactions", 0)
            busy = paced(fw.record, make, args.seconds, args.rate)
            after = fw.stats()["counters"].get("ingested_interactions", 0)
            fw.close(timeout=900)
        window = f"worker warm ({warm_s:.0f} s to warm), ingesting {after - before:,} during {args.seconds:.0f} s"
        for name, samples in (("json.dumps + buffered file.write (no durability)", plain),
                              ("record(), no worker", idle), (f"record(), {window}", busy)):
            s = stats_row(samples)
            rows.append((label, name, s["n"], s["p50"], s["p99"], s["p999"], s["max"], s["cpu_p50"], s["cpu_p99"]))
            results.append({"turn": label, "what": name, **s})
    load_after = os.getloadavg()
    print(_common.table(["record", "what", "calls", "wall p50 us", "wall p99 us", "wall p99.9 us", "wall max us",
                         "CPU p50 us", "CPU p99 us"], rows))
    print(f"\npython {sys.version.split()[0]}; {os.cpu_count()} cores; load average before {load_before[0]:.2f}, "
          f"after {load_after[0]:.2f} (1 min); paced window {args.seconds:.0f} s at {args.rate:.0f}/s")
    if args.json:
        args.json.write_text(json.dumps({"rows": results, "load_before": load_before, "load_after": load_after,
                                         "seconds": args.seconds, "rate": args.rate}, indent=2))


if __name__ == "__main__":
    main()
