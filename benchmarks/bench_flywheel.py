"""The flywheel on a real model, measured: held-out accuracy of four arms per cycle, their cost,
and the label precision of what the flywheel exports.

Runs ``flywheel demo``'s loop (``flywheel_middleware.demo``) with more domains, sessions and
cycles, on CLINC150 from ``benchmarks/data/public/clinc150`` (public, CC BY 3.0):

- simulated users ask questions of the **train** split; the held-out questions come from the
  **test** split (``--split test``, what the table reports) or the **validation** split
  (``--split val``, what the demo's settings were tuned on); held-out questions are never asked,
  stored, retrieved or exported;
- per cycle: the four arms (base zero-shot, base + few-shot from the store, the adapter -- LoRA
  SFT then DPO on top -- zero-shot, adapter + few-shot) with 95 % Wilson intervals, prompt tokens
  and latency per answer (batched greedy generation on the CPU), the gate's decision with its
  McNemar statistic, and the precision of the SFT, DPO and KTO exports against the truth the
  simulator knows (20 % wrong clicks, 5 % wrong corrections by default).

By hand, not in CI (about 15 minutes on two busy cores with the defaults: 3 cycles x 60 sessions
over banking + travel, 30 intents, 1 held-out question per intent; the other settings are
``flywheel demo``'s, ``DemoConfig``)::

    flock /work/bench.lock .venv/bin/python benchmarks/bench_flywheel.py [--cycles 3] [--sessions 60]
        [--domains banking travel] [--heldout-per-intent 1] [--split test] [--out benchmarks/results/flywheel]

It writes ``summary.json`` and ``report.html`` under ``--out`` and prints the markdown table that
goes into ``benchmarks/README.md`` (with the load average it ran under).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "benchmarks" / "data" / "public" / "clinc150"


def markdown(summary: dict) -> str:
    """The benchmarks/README.md table: one row per cycle."""
    def acc(c: dict, arm: str) -> str:
        value = c["heldout"].get(arm)
        if value is None:
            return "-"
        lo, hi = c["heldout"]["ci95"][arm]
        return f"{100 * value:.1f} ({100 * lo:.0f}-{100 * hi:.0f})"

    def cost(c: dict, arm: str) -> str:
        if arm not in c["heldout"]["prompt_tokens"]:
            return "-"
        return f"{c['heldout']['prompt_tokens'][arm]:.0f} / {c['heldout']['latency_ms'][arm]:.0f}"

    def prec(c: dict, kind: str) -> str:
        e = c["exports"].get(kind) or {}
        p = e.get("precision")
        return "-" if p is None else f"{100 * p:.1f} ({e.get('rows', 0)})"

    lines = ["| cycle | base | + few-shot | adapter | adapter + few-shot | tokens / ms per answer: base, few-shot, adapter, adapter + fs "
             "| gate (McNemar p) | SFT prec. (rows) | DPO prec. (pairs) | KTO prec. (rows) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for c in summary["cycles"]:
        gate = c["gate"]
        p = gate.get("p_value")
        lines.append(f"| {c['cycle']} | {acc(c, 'base')} | {acc(c, 'few_shot')} | {acc(c, 'adapter')} | "
                     f"{acc(c, 'adapter_few_shot')} | "
                     + ", ".join(cost(c, a) for a in ("base", "few_shot", "adapter", "adapter_few_shot"))
                     + f" | {gate.get('decision')} ({'-' if p is None else f'{p:.2g}'}) | {prec(c, 'sft')} | "
                     f"{prec(c, 'dpo')} | {prec(c, 'kto')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--domains", nargs="+", default=["banking", "travel"])
    parser.add_argument("--split", choices=("val", "test"), default="test")
    parser.add_argument("--heldout-per-intent", type=int, default=1)
    parser.add_argument("--wrong-feedback", type=float, default=0.2)
    parser.add_argument("--base-model", default="smollm2")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "flywheel")
    args = parser.parse_args()

    from rich.console import Console

    from flywheel_middleware.demo import DemoConfig, run_demo

    cfg = DemoConfig(cycles=args.cycles, sessions=args.sessions, domains=tuple(args.domains),
                     heldout_per_intent=args.heldout_per_intent, wrong_feedback=args.wrong_feedback,
                     base_model=args.base_model, data_path=str(DATA), heldout_split=args.split)
    load_before = os.getloadavg()
    started = time.perf_counter()
    run_demo(args.out, config=cfg, console=Console(width=100))
    seconds = time.perf_counter() - started
    summary = json.loads((args.out / "summary.json").read_text())
    print()
    print(f"bench_flywheel: {args.cycles} cycles x {args.sessions} sessions, domains {', '.join(args.domains)}, "
          f"held-out = CLINC150 {args.split} split ({summary['cycles'][0]['heldout']['n']} questions), "
          f"{seconds / 60:.1f} min; load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}")
    print(markdown(summary))


if __name__ == "__main__":
    main()
