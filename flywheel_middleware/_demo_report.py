"""The demo's section of ``report.html``: held-out accuracy per arm per cycle, and what was exported.

Drawn from ``summary.json``'s figures with the report's own matplotlib helpers (Agg canvas, inline
PNG), so the section is as self-contained as the rest of the page.
"""

from __future__ import annotations

import html
from typing import Any

from .report import _PALETTE, _figure, _img, _png

ARMS = (("base", "base, zero-shot"), ("few_shot", "base + few-shot from the store"),
        ("adapter", "adapter (LoRA SFT, then DPO), zero-shot"), ("adapter_few_shot", "adapter + few-shot"))


def plot_accuracy(summary: dict[str, Any]) -> str:
    """Held-out accuracy (with its 95 % interval) of each arm, per cycle."""
    fig = _figure(9.0, 3.6)
    ax = fig.add_subplot(1, 1, 1)
    cycles = [c["cycle"] for c in summary["cycles"]]
    for n, (arm, label) in enumerate(ARMS):
        xs, ys, lo, hi = [], [], [], []
        for c in summary["cycles"]:
            value = c["heldout"].get(arm)
            if value is None:
                continue
            ci = c["heldout"]["ci95"][arm]
            xs.append(c["cycle"] + (n - 1.5) * 0.06)
            ys.append(100 * value)
            lo.append(100 * (value - ci[0]))
            hi.append(100 * (ci[1] - value))
        if xs:
            ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=label, color=_PALETTE[n])
    ax.set_xticks(cycles)
    ax.set_xticklabels([f"cycle {c}" for c in cycles])
    ax.set_ylim(0, 100)
    ax.set_ylabel("held-out accuracy, %")
    n_cases = summary["cycles"][0]["heldout"].get("n", 0) if summary["cycles"] else 0
    ax.set_title(f"Held-out accuracy per arm ({n_cases} CLINC150 test questions, 95 % Wilson intervals)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return _png(fig)


def _pct(x: Any) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def learning_section(summary: dict[str, Any]) -> str:
    """The ``<section>`` with the accuracy plot and a per-cycle table of gate and export figures."""
    rows = []
    for c in summary["cycles"]:
        gate = c.get("gate") or {}
        p = gate.get("p_value")
        prec = c.get("export_precision") or {}
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                c["cycle"], c.get("serving", "base"), _pct(c["heldout"].get("base")), _pct(c["heldout"].get("few_shot")),
                _pct(c["heldout"].get("adapter")), _pct(c["heldout"].get("adapter_few_shot")),
                gate.get("decision", "–"), "–" if p is None else f"{p:.2g}",
                _pct(prec.get("sft")), _pct(prec.get("dpo")), _pct(prec.get("kto")))) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("cycle", "serving", "base", "few-shot", "adapter", "adapter + few-shot",
                                             "gate", "p", "SFT label prec.", "DPO pair prec.", "KTO label prec."))
    return (
        '<section id="learning"><h2>What the model learned</h2>'
        f'<p class=muted>Base model {html.escape(str(summary.get("base_model")))}. {html.escape(summary.get("data", ""))}. '
        "The gate compares the candidate with few-shot against the serving model with few-shot (paired McNemar test).</p>"
        + _img(plot_accuracy(summary), "held-out accuracy per arm per cycle")
        + f"<table><tr>{head}</tr>{''.join(rows)}</table></section>"
    )
