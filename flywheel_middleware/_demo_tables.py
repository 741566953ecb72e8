"""The demo's terminal tables: each fits 100 columns (rich folds, never truncates, what is longer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

ARMS = (("base", "base"), ("few_shot", "+few-shot"), ("adapter", "adapter"), ("adapter_few_shot", "adapter+fs"))


def _acc(fig: dict[str, Any] | None) -> str:
    if not fig:
        return "-"
    lo, hi = fig["ci95"]
    return f"{100 * fig['accuracy']:.0f} ({100 * lo:.0f}-{100 * hi:.0f})"


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _num(x: Any, digits: int = 0) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def print_tables(console: Any, results: Sequence[Any], root: Path, seconds: float) -> None:
    from rich.table import Table

    n = next((fig["n"] for r in results for fig in r.heldout.values()), 0)
    acc = Table(title=f"held-out accuracy % (95 % CI) on {n} unseen CLINC150 test questions")
    acc.add_column("cycle", justify="right")
    acc.add_column("serving", overflow="fold")
    for _, label in ARMS:
        acc.add_column(label, justify="right")
    acc.add_column("live 1st", justify="right")
    cost = Table(title="per answer: prompt tokens / ms (batched, CPU)")
    cost.add_column("cycle", justify="right")
    for _, label in ARMS:
        cost.add_column(label, justify="right")
    loop = Table(title="collected, exported (label precision), trained (loss)")
    for col in ("cycle", "users", "turns", "clicks/wrong", "SFT", "DPO", "KTO", "SFT loss", "DPO loss"):
        loop.add_column(col, justify="right", overflow="fold")
    gate = Table(title="gate: adapter + few-shot vs serving + few-shot, McNemar")
    for col in ("cycle", "decision", "n", "delta", "chi2", "p", "wins/losses"):
        gate.add_column(col, justify="right")
    for r in results:
        acc.add_row(str(r.cycle), r.serving, *(_acc(r.heldout.get(arm)) for arm, _ in ARMS), _pct(r.live_accuracy))
        cost.add_row(str(r.cycle), *(
            f"{_num(r.heldout[arm]['prompt_tokens'])} / {_num(r.heldout[arm]['latency_ms'])}" if arm in r.heldout else "-"
            for arm, _ in ARMS))
        ex = r.exports

        def rows(kind: str) -> str:
            e = ex.get(kind) or {}
            return f"{e.get('rows', 0)} {_pct(e.get('precision'))}"

        sft, dpo = r.training.get("sft") or {}, r.training.get("dpo") or {}
        loop.add_row(str(r.cycle), str(r.sessions), str(r.turns), f"{r.feedback_events}/{r.wrong_feedback_events}",
                     rows("sft"), rows("dpo"), rows("kto"),
                     _loss(sft), _loss(dpo))
        test = (r.gate or {}).get("test") or {}
        gate.add_row(str(r.cycle), (r.gate or {}).get("decision", "-"), str(test.get("n", "-")),
                     _num(test.get("delta"), 3) if test else "-", _num(test.get("statistic"), 2) if test else "-",
                     f"{test['p_value']:.2g}" if test.get("p_value") is not None else "-",
                     f"{test.get('candidate_only', '-')}/{test.get('baseline_only', '-')}" if test else "-")
    for table in (acc, cost, loop, gate):
        console.print(table)
    for r in results:
        for reason in (r.gate or {}).get("reasons", [])[:3]:
            console.print(f"  cycle {r.cycle} gate: {reason}", overflow="fold")
    console.print(f"everything is in {root}: report.html, summary.json, store/, exports/, models/ "
                  f"({seconds:.0f} s)", overflow="fold")


def _loss(train: dict[str, Any]) -> str:
    curve = train.get("loss_curve") or []
    if not curve:
        return "-"
    return f"{curve[0]:.2f}->{curve[-1]:.2f}"
