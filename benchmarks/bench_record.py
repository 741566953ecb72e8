"""Caller-side cost of ``Flywheel.record()``: what an agent pays per turn (target p99 <= 100 us).

Three ways to keep a turn, side by side, for a small turn (question + answer + one LLM step) and a
tool-calling turn (4 steps, 2 decisions), each at ``--rate`` calls per second in two cadences (never
an unbounded tight loop, which no agent runs and which would only fill the queue):
``spread``, one call every 10 ms, the caller sleeping in between as between an agent's turns (each
call starts with cold caches), and ``bursts``, 100 calls back to back every second, as a busy
server handling many sessions (warm caches after the first):

* the cheapest thing a user could do instead: the same record as a JSON line appended to a
  buffered Python file (no durability);
* ``record()`` with no worker running;
* ``record()`` with the worker process **warm** (its model loaded and a first batch ingested
  before timing starts) and ingesting while the agent records, for ``--seconds`` (default 90) per
  cadence: long enough to include the worker's periodic work (the queue's group fsync, index saves
  every 30 s, the abandonment check every 30 s, counter publishing), so p99.9 and max show what
  those cost the caller.

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
          rate: float, burst: int = 1) -> tuple[list[float], list[float]]:
    """``call`` at ``rate`` per second on average for ``seconds``, ``burst`` calls back to back per
    tick (1: an agent's turns spread out, each call with cold caches; 100: a busy server's bursts,
    warm caches after the first); (wall seconds, thread CPU seconds) of each call."""
    wall: list[float] = []
    cpu: list[float] = []
    gap = burst / rate
    start = time.perf_counter()
    i = tick = 0
    while (now := time.perf_counter()) - start < seconds:
        due = start + tick * gap
        if now < due:
            time.sleep(due - now)
        for _ in range(burst):
            it = make(i)
            c0, t0 = time.thread_time(), time.perf_counter()
            call(it)
            t1, c1 = time.perf_counter(), time.thread_time()
            wall.append(t1 - t0)
            cpu.append(c1 - c0)
            i += 1
        tick += 1
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


CADENCES = {"spread": 1, "bursts": 100}  # calls back to back per tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="timed window per cadence with the worker ingesting")
    parser.add_argument("--rate", type=float, default=100.0,
                        help="record() calls per second (default: about what the worker ingests, so the queue stays short)")
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="timed window per cadence without a worker")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows, results = [], []
    for label, make in (("small turn", small), ("tool-calling turn", tool_turn)):
        timed: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            with open(Path(tmp) / "plain.jsonl", "w") as handle:
                for cadence, burst in CADENCES.items():
                    timed[("json.dumps + buffered file.write (no durability)", cadence)] = paced(
                        lambda it: handle.write(json.dumps(it.to_dict()) + "\n"), make, args.baseline_seconds, args.rate, burst)
            fw = Flywheel(Path(tmp) / "idle", start_worker=False)
            for cadence, burst in CADENCES.items():
                timed[("record(), no worker", cadence)] = paced(fw.record, make, args.baseline_seconds, args.rate, burst)
            fw.close()
            fw = Flywheel(Path(tmp) / "busy")
            warm_s = warm(fw, make)
            for cadence, burst in CADENCES.items():
                before = fw.stats()["counters"].get("ingested_interactions", 0)
                samples = paced(fw.record, make, args.seconds, args.rate, burst)
                ingested = fw.stats()["counters"].get("ingested_interactions", 0) - before
                timed[(f"record(), worker warm ({warm_s:.0f} s to warm) and ingesting ({ingested:,} in {args.seconds:.0f} s)",
                       cadence)] = samples
            fw.close(timeout=900)
        for (name, cadence), samples in timed.items():
            st = stats_row(samples)
            rows.append((label, name, cadence, st["n"], st["p50"], st["p99"], st["p999"], st["max"], st["cpu_p50"], st["cpu_p99"]))
            results.append({"turn": label, "what": name, "cadence": cadence, **st})
    load_after = os.getloadavg()
    print(_common.table(["record", "what", "cadence", "calls", "wall p50 us", "wall p99 us", "wall p99.9 us", "wall max us",
                         "CPU p50 us", "CPU p99 us"], rows))
    print(f"\npython {sys.version.split()[0]}; {os.cpu_count()} cores; load average before {load_before[0]:.2f}, "
          f"after {load_after[0]:.2f} (1 min); {args.rate:.0f} calls/s; 'spread' = one call every {1000 / args.rate:.0f} ms, "
          f"'bursts' = {CADENCES['bursts']} back to back every {CADENCES['bursts'] / args.rate:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"rows": results, "load_before": load_before, "load_after": load_after,
                                         "seconds": args.seconds, "rate": args.rate}, indent=2))


if __name__ == "__main__":
    main()
