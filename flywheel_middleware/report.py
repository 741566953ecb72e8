"""The monitoring report: one self-contained HTML file (inline CSS, plots as base64 PNG data URIs).

``build_report(source, "report.html", window="day")`` runs ``monitoring.analyze`` and renders:
signals and reward over time, volume per window, per-cohort tables (route, category, model
version, user segment), drift, regressions, the stall verdict and the plan. It loads nothing from
the network: no scripts, fonts, stylesheets or images outside the file. Plots use matplotlib's Agg
canvas directly (no pyplot, so the process-wide backend is left alone).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .monitoring import ANALYSIS_STEPS, Analysis, CohortMetrics, MonitorConfig, analyze

REPORT_STEPS: tuple[str, ...] = (*ANALYSIS_STEPS, "plots", "write")
SECTIONS: tuple[str, ...] = ("summary", "over-time", "cohorts", "drift", "regressions", "stall", "plan")
_RATE_ORDER = ("rephrase", "abort", "escalate", "thumbs_up", "thumbs_down", "correction", "copy", "error")
_COLORS = {"good": "#2e7d32", "bad": "#c62828", "unknown": "#b0bec5", "reward": "#1565c0", "ref": "#90a4ae", "cur": "#ef6c00"}
_PALETTE = ["#1565c0", "#ef6c00", "#2e7d32", "#c62828", "#6a1b9a", "#00838f", "#5d4037", "#ad1457", "#9e9d24", "#455a64",
            "#f9a825", "#4fc3f7"]
#: most lines one cohort plot draws (the category k-means makes at most 12 clusters); the table lists all
COHORT_PLOT_MAX = 12


def build_report(
    source: Any,
    out: str | os.PathLike[str],
    *,
    window: str | float = "day",
    config: MonitorConfig | None = None,
    on_step: Callable[[str], None] | None = None,
    title: str = "Flywheel monitoring report",
    generated_at: float | None = None,
    extra_sections: Sequence[str] = (),
) -> Analysis:
    """Analyse a ``Flywheel`` (or its store) and write the HTML report to ``out``; returns the analysis.

    ``on_step(name)`` is called after each of ``REPORT_STEPS`` (the CLI drives a progress bar with it).
    ``extra_sections``: HTML ``<section>`` fragments placed after the header (the demo's learning curves).
    """
    step = on_step or (lambda name: None)
    cfg = config or MonitorConfig(window=window)
    analysis = analyze(source, cfg, on_step=step)
    page = render_html(analysis, title=title, source=str(getattr(source, "path", "")) or None,
                       generated_at=generated_at, on_plots=lambda: step("plots"), extra_sections=extra_sections)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    step("write")
    return analysis


# ---------------------------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------------------------
def _figure(width: float = 9.0, height: float = 3.2) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


def _png(fig: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{html.escape(alt)}">'


def _legend(fig: Any, handles: Sequence[Any], labels: Sequence[str], *, fontsize: int = 8) -> None:
    """The legend to the right of the axes (constrained layout makes room), never over the data."""
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize=fontsize, frameon=False)


def _ticks(ax: Any, labels: Sequence[str]) -> None:
    n = len(labels)
    step = max(1, int(np.ceil(n / 12)))
    idx = list(range(0, n, step))
    ax.set_xticks(idx)
    ax.set_xticklabels([labels[i] for i in idx], rotation=30, ha="right", fontsize=8)


def plot_volume(series: Sequence[CohortMetrics]) -> str:
    labels = [m.window_label for m in series]
    x = np.arange(len(series))
    good = np.array([m.counts["good"] for m in series])
    bad = np.array([m.counts["bad"] for m in series])
    unknown = np.array([m.n for m in series]) - good - bad
    fig = _figure()
    ax = fig.add_subplot()
    ax.bar(x, good, color=_COLORS["good"], label="good")
    ax.bar(x, bad, bottom=good, color=_COLORS["bad"], label="bad")
    ax.bar(x, unknown, bottom=good + bad, color=_COLORS["unknown"], label="unknown")
    ax.set_ylabel("interactions")
    ax.set_title("Volume per window, by reward label", fontsize=10)
    _legend(fig, *ax.get_legend_handles_labels())
    _ticks(ax, labels)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def plot_reward(series: Sequence[CohortMetrics]) -> str:
    labels = [m.window_label for m in series]
    x = np.arange(len(series))
    fig = _figure()
    left, right = fig.subplots(1, 2)
    reward = [np.nan if m.mean_reward is None else m.mean_reward for m in series]
    left.plot(x, reward, marker="o", color=_COLORS["reward"])
    left.axhline(0, color="#999", lw=0.8)
    left.set_ylim(-1.05, 1.05)
    left.set_ylabel("mean reward (rated)")
    left.set_title("Mean reward per window", fontsize=10)
    right.plot(x, [m.good_rate for m in series], marker="o", color=_COLORS["good"], label="good")
    right.plot(x, [m.bad_rate for m in series], marker="o", color=_COLORS["bad"], label="bad")
    right.plot(x, [1.0 - m.n_rated / m.n for m in series], color=_COLORS["unknown"], ls="--", label="no signal")
    right.set_ylim(0, 1)
    right.set_ylabel("share of interactions")
    right.set_title("Reward labels per window", fontsize=10)
    _legend(fig, *right.get_legend_handles_labels())
    for ax in (left, right):
        _ticks(ax, labels)
        ax.grid(alpha=0.3)
    return _png(fig)


def plot_signals(series: Sequence[CohortMetrics]) -> str:
    labels = [m.window_label for m in series]
    x = np.arange(len(series))
    fig = _figure()
    ax = fig.add_subplot()
    names = [r for r in _RATE_ORDER if any(r in m.rates for m in series)]
    names += sorted({r for m in series for r in m.rates} - set(names))
    for i, name in enumerate(names):
        ax.plot(x, [m.rates.get(name, 0.0) for m in series], marker=".", color=_PALETTE[i % len(_PALETTE)], label=name)
    ax.set_ylabel("share of interactions")
    ax.set_ylim(bottom=0)
    ax.set_title("Signal rates over time", fontsize=10)
    _legend(fig, *ax.get_legend_handles_labels())
    _ticks(ax, labels)
    ax.grid(alpha=0.3)
    return _png(fig)


def plot_cohort_reward(rows: Sequence[CohortMetrics], all_labels: Sequence[str], title: str,
                       top: int = COHORT_PLOT_MAX) -> str:
    return _png(cohort_reward_figure(rows, all_labels, title, top))


def cohort_reward_figure(rows: Sequence[CohortMetrics], all_labels: Sequence[str], title: str,
                         top: int = COHORT_PLOT_MAX) -> Any:
    """One line per cohort (the ``top`` largest), every one of them in the legend, beside the plot."""
    volume: dict[str, int] = {}
    for m in rows:
        volume[m.cohort] = volume.get(m.cohort, 0) + m.n
    ranked = sorted(volume, key=lambda c: (-volume[c], c))
    cohorts = ranked[:top]
    pos = {label: i for i, label in enumerate(all_labels)}
    fig = _figure(width=10.5, height=max(3.0, 0.22 * len(cohorts) + 1.0))
    ax = fig.add_subplot()
    for i, cohort in enumerate(cohorts):
        pts = sorted((pos[m.window_label], m.mean_reward) for m in rows
                     if m.cohort == cohort and m.mean_reward is not None and m.window_label in pos)
        label = f"{_short(cohort, 36)} ({volume[cohort]})"
        # a cohort without a rated turn has no line, but it keeps its legend entry (so none goes missing)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, color=_PALETTE[i % len(_PALETTE)],
                label=label if pts else f"{label}, no rated turns")
    ax.axhline(0, color="#999", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlim(-0.5, max(len(all_labels) - 0.5, 0.5))
    ax.set_ylabel("mean reward")
    shown = "" if len(ranked) <= top else f" ({top} largest of {len(ranked)}; all in the table)"
    ax.set_title(title + shown, fontsize=10)
    _legend(fig, *ax.get_legend_handles_labels(), fontsize=7)
    _ticks(ax, list(all_labels))
    ax.grid(alpha=0.3)
    return fig


def plot_drift(analysis: Analysis) -> str:
    drift = analysis.drift
    assert drift is not None
    clusters = sorted(drift.clusters, key=lambda c: c.cluster)
    x = np.arange(len(clusters))
    fig = _figure(height=max(3.0, 0.35 * len(clusters) + 1.2))
    ax = fig.add_subplot()
    ax.barh(x - 0.2, [c.reference_share for c in clusters], height=0.4, color=_COLORS["ref"], label=f"reference ({drift.reference})")
    ax.barh(x + 0.2, [c.current_share for c in clusters], height=0.4, color=_COLORS["cur"], label=f"current ({drift.current})")
    ax.set_yticks(x)
    ax.set_yticklabels([_short(c.name, 50) for c in clusters], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("share of queries")
    ax.set_title(f"Query clusters: PSI {drift.psi:.3f}, chi² p={drift.p_value:.2g}", fontsize=10)
    _legend(fig, *ax.get_legend_handles_labels())
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def plot_drift_history(analysis: Analysis) -> str:
    history = analysis.drift_history
    cfg = analysis.data.config
    x = np.arange(len(history))
    fig = _figure(height=2.6)
    ax = fig.add_subplot()
    colors = [_COLORS["bad"] if d.drifted else _COLORS["ref"] for d in history]
    ax.bar(x, [d.psi for d in history], color=colors)
    ax.axhline(cfg.psi_threshold, color=_COLORS["bad"], ls=":", lw=1, label=f"PSI threshold {cfg.psi_threshold}")
    ax.set_ylabel("PSI vs previous window")
    ax.set_title("Query drift per window (red: drift)", fontsize=10)
    _legend(fig, *ax.get_legend_handles_labels())
    _ticks(ax, [d.current for d in history])
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def plot_stall(analysis: Analysis) -> str:
    stall = analysis.stall
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(stall.windows))
    ax.plot(x, stall.mean_rewards, marker="o", color=_COLORS["reward"], label="mean reward")
    if stall.slope is not None and len(x) >= 2:
        # the fit is over window indices; redraw it over the plotted positions
        coef = np.polyfit(x, stall.mean_rewards, 1)
        ax.plot(x, np.polyval(coef, x), color=_COLORS["reward"], ls=":", label="linear fit")
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("mean reward")
    ax2 = ax.twinx()
    ax2.bar(x, np.cumsum(stall.volumes), color="#cfd8dc", alpha=0.5, label="cumulative rated data", zorder=0)
    ax2.set_ylabel("cumulative rated interactions")
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    _legend(fig, lines[0] + lines2[0], lines[1] + lines2[1])
    ax.set_title(f"Reward vs accumulated data: {stall.verdict}", fontsize=10)
    _ticks(ax, stall.windows)
    ax.grid(alpha=0.3)
    return _png(fig)


def plot_failures(analysis: Analysis) -> str:
    items = analysis.plan.items
    fig = _figure(height=2.4)
    ax = fig.add_subplot()
    names = [it.failure_type.replace("_", " ") for it in items]
    colors = {"routing": "#6a1b9a", "retrieval": "#00838f", "generation": "#ef6c00", "knowledge_gap": "#5d4037"}
    ax.barh(np.arange(len(items)), [it.count for it in items], color=[colors.get(it.failure_type, "#777") for it in items])
    ax.set_yticks(np.arange(len(items)))
    ax.set_yticklabels(names, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("failed interactions")
    ax.set_title(f"Failures by attributed cause ({analysis.plan.attribution_source})", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------
_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;background:#f5f6f8;color:#222}
main{max-width:1180px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:24px;margin:12px 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px solid #dde;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}.muted{color:#667;font-size:13px}
section{background:#fff;border-radius:8px;padding:8px 18px 14px;margin:14px 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0 10px;width:100%}
th,td{border-bottom:1px solid #e4e6ea;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.l,th.l{text-align:left}
img{max-width:100%;height:auto;display:block;margin:6px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{flex:1 1 150px;background:#f7f9fc;border:1px solid #e1e5ec;border-radius:6px;padding:8px 12px}
.card b{display:block;font-size:20px}.ok{color:#2e7d32}.warn{color:#c62828}.na{color:#667}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.b-ok{background:#2e7d32}.b-warn{background:#c62828}.b-na{background:#78909c}
ul.ex{margin:2px 0 2px 18px;padding:0;font-size:12.5px;color:#333}code{font-size:12px}code.id{white-space:nowrap;user-select:all}
.hint{background:#fff8e1;border-left:4px solid #f9a825;padding:6px 10px;font-size:13px}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _short(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, fmt: str = "{:+.3f}") -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else fmt.format(x)


def window_name(window: str | float) -> str:
    """``"day"``, or seconds as a person writes them: ``8.2 s``, ``15 min``, ``6 h``, ``2 days``."""
    if isinstance(window, str):
        return window
    seconds = float(window)
    for size, unit in ((86_400.0, "day"), (3600.0, "h"), (60.0, "min")):
        if seconds >= size:
            value = seconds / size
            text = f"{value:.3g}"
            return f"{text} {unit}{'s' if unit == 'day' and text != '1' else ''}"
    return f"{seconds:.3g} s"


def suggest_window(span_s: float, target_windows: int = 4) -> str | float:
    """A window that cuts a ``span_s``-long history into about ``target_windows`` points."""
    for name in ("week", "day", "hour"):
        if span_s / {"week": 604_800.0, "day": 86_400.0, "hour": 3600.0}[name] >= target_windows:
            return name
    return float(max(1, round(span_s / target_windows)))


def _few_windows_hint(analysis: Analysis) -> str:
    """A note when the window is too wide for the data: each plot would show one or two points."""
    series, data = analysis.series, analysis.data
    if len(series) >= 3 or not len(data):
        return ""
    started = np.asarray(data.started_at, dtype=float)
    span = float(started.max() - started.min()) if len(started) else 0.0
    if span <= 0:
        return ""
    better = suggest_window(span)
    flag = better if isinstance(better, str) else f"{better:g}"
    return (f'<p class="hint">All {len(data)} interactions fall in {len(series)} window{"s" if len(series) > 1 else ""} of '
            f'{_e(window_name(data.config.window))}, so the plots below have {len(series)} point{"s" if len(series) > 1 else ""} '
            f'each. Their history spans {_e(window_name(span))}: try <code>flywheel report --window {_e(flag)}</code> '
            f'(or <code>build_report(..., window={_e(repr(better))})</code>).</p>')


def _drift_enough(drift: Any, cfg: MonitorConfig) -> bool:
    """Whether a drift comparison had the volume to judge (else it says "too little data")."""
    return drift.n_reference >= cfg.drift_min_volume and drift.n_current >= cfg.drift_min_volume


def _badge(text: str, kind: str) -> str:
    return f'<span class="badge b-{kind}">{_e(text)}</span>'


def _examples(texts: Sequence[str]) -> str:
    if not texts:
        return ""
    return '<ul class="ex">' + "".join(f"<li>{_e(_short(t, 160))}</li>" for t in texts) + "</ul>"


def _cohort_table(rows: Sequence[CohortMetrics], limit: int = 25) -> str:
    rows = sorted(rows, key=lambda m: (-m.n, m.cohort))
    head = ("<tr><th class=l>cohort</th><th>n</th><th>rated</th><th>mean reward</th><th>good</th><th>bad</th>"
            + "".join(f"<th>{_e(r)}</th>" for r in _RATE_ORDER) + "</tr>")
    body = []
    for m in rows[:limit]:
        body.append(
            f"<tr><td class=l>{_e(_short(m.cohort, 60))}</td><td>{m.n}</td><td>{m.n_rated}</td><td>{_num(m.mean_reward)}</td>"
            f"<td>{_pct(m.good_rate)}</td><td>{_pct(m.bad_rate)}</td>"
            + "".join(f"<td>{_pct(m.rates.get(r, 0.0))}</td>" for r in _RATE_ORDER) + "</tr>")
    more = f'<p class="muted">{len(rows) - limit} more cohorts not shown.</p>' if len(rows) > limit else ""
    return f"<table>{head}{''.join(body)}</table>{more}"


def render_html(analysis: Analysis, *, title: str = "Flywheel monitoring report", source: str | None = None,
                generated_at: float | None = None, on_plots: Callable[[], None] | None = None,
                extra_sections: Sequence[str] = ()) -> str:
    """The report page for an ``Analysis`` (pure: the same analysis and time give the same bytes)."""
    data = analysis.data
    cfg = data.config
    series = analysis.series
    generated = _dt.datetime.fromtimestamp(generated_at if generated_at is not None else _dt.datetime.now().timestamp(),
                                           tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts: list[str] = []
    period = f"{series[0].window_label} – {series[-1].window_label}" if series else "no data"
    parts.append(f"<h1>{_e(title)}</h1><p class=muted>store {_e(source or '(in memory)')} · window {_e(window_name(cfg.window))} · "
                 f"period {_e(period)} · generated {generated}</p>")
    parts.extend(extra_sections)

    # -- summary
    n = len(data)
    rated = int(data.rated.sum())
    mean_reward = float(data.reward[data.rated].mean()) if rated else None
    drift = analysis.drift
    stall = analysis.stall
    shifted = [d.current for d in analysis.drift_history if d.drifted]
    if drift is not None and drift.drifted:
        drift_card = ("shifted", "warn")
    elif shifted:
        drift_card = (f"stable now, shifted {shifted[-1]}", "warn")
    elif drift is None:
        drift_card = ("needs 2 windows", "na")
    elif not _drift_enough(drift, cfg):  # the same words as the drift section, never "stable"
        drift_card = ("too little data", "na")
    else:
        drift_card = ("stable", "ok")
    stall_kind = {"stalled": "warn", "declining": "warn", "improving": "ok"}.get(stall.verdict, "na")
    cards = [
        ("interactions", str(n), ""), ("rated", _pct(rated / n) if n else "–", ""),
        ("mean reward", _num(mean_reward), ""),
        ("good / bad", f"{_pct(data.flags['good'].mean()) if n else '–'} / {_pct(data.flags['bad'].mean()) if n else '–'}", ""),
        ("query drift", drift_card[0], drift_card[1]), ("regressions", str(len(analysis.regressions)), "warn" if analysis.regressions else "ok"),
        ("stall verdict", stall.verdict, stall_kind),
    ]
    parts.append('<section id="summary"><h2>Summary</h2><div class="cards">' + "".join(
        f'<div class="card"><span class=muted>{_e(k)}</span><b class="{c}">{_e(v)}</b></div>' for k, v, c in cards) + "</div></section>")
    if not n:
        parts.append('<section id="over-time"><h2>Over time</h2><p>No interactions in the store yet.</p></section>')
        for sec, name in (("cohorts", "Cohorts"), ("drift", "Drift"), ("regressions", "Regressions"), ("stall", "Stall"), ("plan", "Plan")):
            parts.append(f'<section id="{sec}"><h2>{name}</h2><p class=muted>Nothing to analyse.</p></section>')
        if on_plots:
            on_plots()
        return _page(title, parts)

    # -- over time
    parts.append('<section id="over-time"><h2>Signals and reward over time</h2>' + _few_windows_hint(analysis)
                 + _img(plot_volume(series), "volume per window") + _img(plot_reward(series), "reward over time")
                 + _img(plot_signals(series), "signal rates over time")
                 + '<p class=muted>Mean reward is over rated interactions (with at least one signal or an error); '
                   'shares and rates are over all interactions in the window. A rate counts interactions with at least '
                   'one signal of that kind (correction includes implicit "that is wrong" phrases; abort includes aborted runs).</p></section>')

    # -- cohorts
    labels = [m.window_label for m in series]
    cohort_html = ['<section id="cohorts"><h2>Cohorts</h2>']
    titles = {"route": "Route", "category": "Query category", "model_version": "Model version", "user_segment": "User segment"}
    for dim, rows in analysis.cohorts.items():
        if dim == "user_segment" and all(m.cohort == "(none)" for m in rows):
            continue
        cohort_html.append(f"<h3>{_e(titles.get(dim, dim))}</h3>")
        if len(rows) > 1 and len(labels) > 1:
            cohort_html.append(_img(plot_cohort_reward(analysis.cohort_series[dim], labels, f"Mean reward per {titles.get(dim, dim).lower()}"),
                                    f"reward per {dim}"))
        cohort_html.append(_cohort_table(rows))
    cohort_html.append('<p class=muted>Route: the first routing decision (a router\'s preferred) else metadata <code>route</code>. '
                       'Category: metadata <code>category</code>, else a k-means cluster of the input embeddings '
                       '(named <code>cN: &lt;the query nearest its centre&gt;</code>).</p></section>')
    parts.append("".join(cohort_html))

    # -- drift
    drift_html = ['<section id="drift"><h2>Query drift</h2>']
    if len(analysis.drift_history) > 1:
        drift_html.append(_img(plot_drift_history(analysis), "PSI per window"))
        shifted = [d for d in analysis.drift_history if d.drifted]
        if shifted:
            drift_html.append("<h3>Windows where the query mix shifted</h3><table><tr><th class=l>window</th><th>PSI</th><th>p</th>"
                              "<th class=l>cluster that grew most</th><th class=l>its new queries</th></tr>")
            for d in shifted[-10:]:
                top = d.grew[0] if d.grew else None
                drift_html.append(f"<tr><td class=l>{_e(d.current)}</td><td>{d.psi:.3f}</td><td>{d.p_value:.2g}</td>"
                                  f"<td class=l>{_e(_short(top.name, 50)) if top else '–'} "
                                  f"{f'({100 * top.delta:+.1f} pts)' if top else ''}</td>"
                                  f"<td class=l>{_examples(top.examples) if top else ''}</td></tr>")
            drift_html.append("</table>")
        drift_html.append("<h3>Last window against the one before</h3>")
    if drift is None:
        drift_html.append("<p class=muted>Needs two windows with embedded queries.</p>")
    else:
        verdict = _badge("drift", "warn") if drift.drifted else _badge("no drift", "ok")
        drift_html.append(f"<p>{verdict} {_e(drift.reason)}</p>")
        drift_html.append(
            "<table><tr><th class=l>reference</th><th class=l>current</th><th>n ref</th><th>n cur</th><th>clusters</th>"
            "<th>chi²</th><th>dof</th><th>p</th><th>PSI</th></tr>"
            f"<tr><td class=l>{_e(drift.reference)}</td><td class=l>{_e(drift.current)}</td><td>{drift.n_reference}</td>"
            f"<td>{drift.n_current}</td><td>{drift.k}</td><td>{drift.chi2:.2f}</td><td>{drift.dof}</td>"
            f"<td>{drift.p_value:.3g}</td><td>{drift.psi:.3f}</td></tr></table>")
        drift_html.append(_img(plot_drift(analysis), "cluster shares, reference vs current"))
        drift_html.append("<table><tr><th class=l>cluster</th><th>reference</th><th>current</th><th>change</th><th class=l>example queries</th></tr>")
        for c in drift.clusters:
            arrow = "grew" if c.delta > 0 else "shrank" if c.delta < 0 else "same"
            drift_html.append(
                f"<tr><td class=l>{_e(_short(c.name, 50))}</td><td>{_pct(c.reference_share)} ({c.reference_count})</td>"
                f"<td>{_pct(c.current_share)} ({c.current_count})</td><td>{arrow} {100 * c.delta:+.1f} pts</td>"
                f"<td class=l>{_examples(c.examples)}</td></tr>")
        drift_html.append("</table>")
        drift_html.append(f"<p class=muted>k-means (seed {cfg.seed}) is fitted on the reference window's query embeddings and both "
                          f"windows are assigned to its clusters. Drift = chi-square test of the 2×k counts with p &lt; {cfg.drift_alpha} "
                          f"and population stability index ≥ {cfg.psi_threshold} (PSI &lt; 0.1 stable, 0.1–0.25 moderate, "
                          f"&gt; 0.25 major), with ≥ {cfg.drift_min_volume} queries per window. A grown cluster's examples "
                          "are its current queries least like any reference query.</p>")
    drift_html.append("</section>")
    parts.append("".join(drift_html))

    # -- regressions
    reg = analysis.regressions
    reg_html = ['<section id="regressions"><h2>Cohort regressions</h2>']
    if reg:
        reg_html.append("<table><tr><th class=l>dimension</th><th class=l>cohort</th><th class=l>metric</th><th>before</th>"
                        "<th>now</th><th>n before</th><th>n now</th><th>z / t</th><th>p</th></tr>")
        for r in reg:
            fmt = _num if r.metric == "mean_reward" else _pct
            reg_html.append(f"<tr><td class=l>{_e(r.dimension)}</td><td class=l>{_e(_short(r.cohort, 50))}</td>"
                            f"<td class=l>{_e(r.metric)}</td><td>{fmt(r.reference_value)}</td><td>{fmt(r.current_value)}</td>"
                            f"<td>{r.n_reference}</td><td>{r.n_current}</td><td>{r.statistic:.2f}</td><td>{r.p_value:.2g}</td></tr>")
        reg_html.append("</table>")
    else:
        reg_html.append(f"<p>{_badge('none', 'ok')} No cohort got significantly worse in the last window.</p>")
    reg_html.append(f"<p class=muted>Last window vs {'the previous one' if cfg.regression_reference == 'previous' else 'all earlier ones'}, "
                    f"per route, category, user segment and model version, for cohorts with ≥ {cfg.regression_min_volume} interactions "
                    f"in both. A failure rate (bad, rephrase, abort, escalate, thumbs down, correction, error) is flagged when it rose "
                    f"by ≥ {cfg.regression_min_delta:.0%} points with a one-sided two-proportion z-test p &lt; {cfg.regression_alpha} "
                    f"(the good share when it fell); the mean reward when it fell by ≥ {cfg.regression_min_reward_delta} with "
                    f"Welch's t-test p &lt; {cfg.regression_alpha}.</p></section>")
    parts.append("".join(reg_html))

    # -- stall
    kind = {"stalled": "warn", "declining": "warn", "improving": "ok"}.get(stall.verdict, "na")
    stall_html = [f'<section id="stall"><h2>Stall check (the "month-three stall")</h2><p>{_badge(stall.verdict, kind)} {_e(stall.reason)}</p>']
    if stall.windows:
        stall_html.append(_img(plot_stall(analysis), "reward vs accumulated data"))
    stall_html.append(f"<p class=muted>A linear fit of the mean reward per window (windows with ≥ {cfg.stall_min_window_volume} rated "
                      f"interactions; at least {cfg.stall_min_windows} windows). Improving: the {cfg.stall_confidence:.0%} CI of the slope "
                      f"is above 0 and the fitted change over the period ≥ {cfg.stall_epsilon}. Stalled: otherwise flat while the cumulative "
                      f"rated data grew ≥ {cfg.stall_min_growth}×. The usual cure is not more of the same data but the plan below.</p></section>")
    parts.append("".join(stall_html))

    # -- plan
    plan = analysis.plan
    plan_html = ['<section id="plan"><h2>Plan</h2><h3>Where data is needed (active learning)</h3>']
    if plan.needs:
        plan_html.append("<table><tr><th class=l>category</th><th>n</th><th>rated</th><th>mean confidence</th><th>mean reward</th>"
                         "<th>bad</th><th>picked for labelling</th><th class=l>why</th><th class=l>unlabelled examples</th></tr>")
        for c in plan.needs[:20]:
            plan_html.append(f"<tr><td class=l>{_e(_short(c.category, 50))}</td><td>{c.n}</td><td>{c.n_rated}</td>"
                             f"<td>{c.mean_confidence:.2f}</td><td>{_num(c.mean_reward)}</td><td>{_pct(c.bad_rate)}</td>"
                             f"<td>{c.selected}</td><td class=l>{_e('; '.join(c.reasons))}</td><td class=l>{_examples(c.examples)}</td></tr>")
        plan_html.append("</table><p class=muted>Send these categories' uncertain interactions for review or ask for explicit feedback there; "
                         "route more traffic to them in evaluation sets.</p>")
    else:
        plan_html.append(f"<p>{_badge('none', 'ok')} Every category has enough volume, confident labels and a non-negative reward.</p>")
    if plan.review:
        plan_html.append("<h3>Label next (curation's review queue)</h3><table><tr><th class=l>interaction</th><th>score</th>"
                         "<th class=l>main reason</th><th class=l>category</th><th class=l>input</th></tr>")
        for r in plan.review[:10]:
            plan_html.append(f"<tr><td class=l><code class=id>{_e(r.interaction_id)}</code></td><td>{r.score:.2f}</td>"
                             f"<td class=l>{_e(r.reason)}</td><td class=l>{_e(_short(r.category, 40))}</td>"
                             f"<td class=l>{_e(_short(r.input, 120))}</td></tr>")
        plan_html.append("</table>")
    plan_html.append("<h3>Failures by cause, and what to do</h3>")
    if plan.n_failures:
        plan_html.append(_img(plot_failures(analysis), "failures by attributed cause"))
    plan_html.append("<table><tr><th class=l>cause</th><th>failures</th><th>share</th><th>attribution confidence</th>"
                     "<th class=l>top categories</th><th class=l>examples</th><th class=l>recommended intervention</th></tr>")
    for it in plan.items:
        cats = ", ".join(f"{_short(c, 40)} ({k})" for c, k in it.categories)
        plan_html.append(f"<tr><td class=l><b>{_e(it.failure_type.replace('_', ' '))}</b></td><td>{it.count}</td><td>{_pct(it.share)}</td>"
                         f"<td>{it.mean_confidence:.2f}</td><td class=l>{_e(cats)}</td><td class=l>{_examples(it.examples)}</td>"
                         f"<td class=l>{_e(it.intervention)}<br><span class=muted>{_e(it.rationale)}</span></td></tr>")
    plan_html.append("</table>")
    t = plan.thresholds
    plan_html.append(
        f"<p class=muted>{plan.n_failures} failures (interactions labelled bad or corrected, the {cfg.plan_max_failures} most recent) attributed by "
        f"{_e(plan.attribution_source)}. Thresholds: a category needs data when it has &lt; {t['plan_min_volume']} interactions, "
        f"a mean reward confidence &lt; {t['plan_min_confidence']}, a negative mean reward or a bad share &gt; {t['plan_max_bad_rate']:.0%}. "
        f"Generation failures call for prompt work and dynamic few-shot until there are ≥ {t['sft_min_examples']} SFT examples "
        f"(good or corrected answers; now {plan.sft_examples}) or ≥ {t['dpo_min_pairs']} DPO pairs (corrections and preferences; "
        f"now {plan.dpo_pairs}), then fine-tuning (SFT, then DPO). Routing → router; retrieval → knowledge base, chunking, retriever; "
        "knowledge gap → new documents.</p></section>")
    parts.append("".join(plan_html))
    if on_plots:
        on_plots()
    return _page(title, parts)


def _page(title: str, parts: Sequence[str]) -> str:
    return ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body><main>" + "".join(parts) + "</main></body></html>\n")


__all__ = ["REPORT_STEPS", "SECTIONS", "build_report", "render_html"]
