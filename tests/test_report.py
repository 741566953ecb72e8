"""The HTML report: self-contained (every image an inline data URI, no external resource), every
section present, the CLI command, and a real render in headless Chromium when it is installed."""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flywheel_middleware import Step
from flywheel_middleware.cli import app
from flywheel_middleware.report import SECTIONS, build_report
from traffic import DAY, T0, Turn, open_flywheel, queries, record


def _traffic() -> list[Turn]:
    """Five days: routes, categories from embeddings, a topic shift on the last day, failures of
    several kinds, two model versions."""
    turns = []
    for day in range(5):
        mix = {"billing": 18, "password": 18} if day < 4 else {"billing": 6, "password": 6, "shipping": 28}
        n = 0
        for topic, k in mix.items():
            for q in queries(topic, k, offset=5 * day):
                route = {"billing": "billing", "password": "account", "shipping": "search"}[topic]
                kinds = [["thumbs_up"], ["thumbs_up", "copy"], ["thumbs_down"], ["rephrase"], [], ["escalate"]][n % 6]
                steps = [Step("retrieval", "kb", inputs=q, outputs=[] if n % 5 == 0 else
                              [{"page_content": f"Help article about {topic}: {q}", "score": 0.9}])]
                turns.append(Turn(q, T0 + day * DAY + 300 * n, kinds, route=route, steps=steps,
                                  model_version="m1" if day < 3 else "m2", user_segment=("free", "pro")[n % 2]))
                n += 1
    return turns


@pytest.fixture(scope="module")
def report_store(tmp_path_factory, embedder):
    fw = open_flywheel(tmp_path_factory.mktemp("report") / "store", embedder)
    record(fw, _traffic())
    yield fw
    fw.close()


@pytest.fixture(scope="module")
def report_file(report_store, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out") / "report.html"
    steps: list[str] = []
    build_report(report_store, out, window="day", on_step=steps.append, generated_at=T0 + 10 * DAY)
    assert steps[-1] == "write" and "plan" in steps
    return out


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.section_ids: list[str] = []
        self.external: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "img":
            self.images.append(attrs.get("src") or "")
        if tag == "section":
            self.section_ids.append(attrs.get("id") or "")
        for name in ("src", "href"):
            value = attrs.get(name)
            if value and not value.startswith(("data:", "#")):
                self.external.append(f"{tag} {name}={value}")
        if tag == "link" or (tag == "script" and attrs.get("src")):
            self.external.append(tag)


def test_report_is_self_contained_with_plots_and_every_section(report_file):
    page = report_file.read_text(encoding="utf-8")
    parser = _Page()
    parser.feed(page)
    assert parser.external == []
    assert "script" not in parser.tags and "@import" not in page and "url(" not in page
    assert set(SECTIONS) <= set(parser.section_ids)
    # volume, reward, signals, per-cohort reward, drift history and clusters, stall, failures
    assert len(parser.images) >= 8
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    for heading in ("Signals and reward over time", "Cohorts", "Query drift", "Cohort regressions", "Stall check", "Plan",
                    "Where data is needed", "Failures by cause, and what to do"):
        assert heading in page
    # the shift to shipping questions on the last day is reported with an example query
    assert "shifted" in page and any(w in page for w in ("parcel", "courier", "delivery", "express shipping"))
    # every failure type has its recommended intervention
    for phrase in ("Fix the router", "Fix retrieval", "Add documents", "Improve the prompt"):
        assert phrase in page


def test_report_cli_writes_the_file_with_a_progress_bar(report_store, tmp_path):
    out = tmp_path / "cli-report.html"
    result = CliRunner().invoke(app, ["report", "--path", str(report_store.path), "--out", str(out), "--window", "day"])
    assert result.exit_code == 0, result.output
    assert "report:" in result.output and "8/8" in result.output  # the rich progress bar's last state
    assert out.exists() and out.stat().st_size > 10_000
    assert "wrote" in result.output


def test_report_cli_rejects_a_bad_window(report_store, tmp_path):
    result = CliRunner().invoke(app, ["report", "--path", str(report_store.path), "--out", str(tmp_path / "r.html"),
                                      "--window", "fortnight"])
    assert result.exit_code == 2
    assert "window must be one of" in result.output


def test_report_of_an_empty_store(tmp_path, embedder):
    fw = open_flywheel(tmp_path / "empty", embedder)
    try:
        out = tmp_path / "empty.html"
        build_report(fw, out)
    finally:
        fw.close()
    page = out.read_text()
    parser = _Page()
    parser.feed(page)
    assert set(SECTIONS) <= set(parser.section_ids)
    assert "No interactions in the store yet" in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(report_file, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1280,4000", report_file.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 4000)
    colors = image.getcolors(maxcolors=1 << 20)
    assert colors is None or len(colors) > 50  # text, plots and tables, not a blank page
    # the plots rendered: the reward/volume charts' green and red bars are on the page
    small = image.resize((320, 1000))
    pixels = set(small.getdata())
    assert any(g > 100 and r < 80 and b < 80 for r, g, b in pixels)  # good (green)
    assert any(r > 150 and g < 80 and b < 80 for r, g, b in pixels)  # bad (red)


# -- what a newcomer trips on: legends, window names, drift wording, one-point plots, copyable ids ------
def _cohort_rows(n_cohorts: int, windows: list[str]):
    from flywheel_middleware.monitoring import CohortMetrics

    rows = []
    for c in range(n_cohorts):
        for i, w in enumerate(windows):
            rated = 0 if c == n_cohorts - 1 else 4  # the smallest cohort has no rated turn at all
            rows.append(CohortMetrics("category", f"c{c}: a question about topic {c}", i, w, 10 + n_cohorts - c, rated,
                                      0.1 * (c % 5) if rated else None, 0.6, 0.5, 0.2, {}, {"good": 3, "bad": 1}))
    return rows


def test_the_cohort_plot_lists_every_cohort_beside_the_axes_not_over_them():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from flywheel_middleware.report import cohort_reward_figure

    windows = ["2024-03-04", "2024-03-05", "2024-03-06"]
    fig = cohort_reward_figure(_cohort_rows(12, windows), windows, "Mean reward per query category")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert len(texts) == 12  # all twelve categories, the unrated one too
    assert texts[-1].endswith("no rated turns")
    renderer = canvas.get_renderer()
    axes_box = fig.axes[0].get_window_extent(renderer)
    assert legend.get_window_extent(renderer).x0 >= axes_box.x1  # to the right of the data


def test_more_cohorts_than_fit_say_so_in_the_title():
    from flywheel_middleware.report import COHORT_PLOT_MAX, cohort_reward_figure

    windows = ["2024-03-04", "2024-03-05"]
    fig = cohort_reward_figure(_cohort_rows(COHORT_PLOT_MAX + 3, windows), windows, "Mean reward per route")
    assert f"{COHORT_PLOT_MAX} largest of {COHORT_PLOT_MAX + 3}" in fig.axes[0].get_title()


@pytest.mark.parametrize(("window", "name"), [("day", "day"), (8.16871, "8.17 s"), (90.0, "1.5 min"), (7200.0, "2 h"),
                                              (86_400.0, "1 day"), (172_800.0, "2 days")])
def test_window_names_read_like_a_person_wrote_them(window, name):
    from flywheel_middleware.report import window_name

    assert window_name(window) == name


def test_the_summary_says_too_little_data_when_the_drift_section_does(report_store, tmp_path):
    from flywheel_middleware.monitoring import MonitorConfig

    out = tmp_path / "thin.html"
    analysis = build_report(report_store, out, config=MonitorConfig(window="day", drift_min_volume=1000))
    page = out.read_text()
    assert "too little data" in analysis.drift.reason
    assert 'query drift</span><b class="na">too little data' in page
    assert ">stable<" not in page


def test_a_window_wider_than_the_history_gets_a_hint_in_the_report_and_the_cli(report_store, tmp_path):
    out = tmp_path / "week.html"
    analysis = build_report(report_store, out, window="week")  # five weekdays: one weekly point
    assert len(analysis.series) == 1
    page = out.read_text()
    assert 'class="hint"' in page and "--window day" in page
    result = CliRunner().invoke(app, ["report", "--path", str(report_store.path), "--out", str(tmp_path / "w.html"),
                                      "--window", "week"])
    assert result.exit_code == 0 and "try --window day" in result.output
    daily = tmp_path / "day.html"
    build_report(report_store, daily, window="day")
    assert 'class="hint"' not in daily.read_text()


def test_label_next_shows_whole_interaction_ids(report_store, report_file):
    import re

    ids = re.findall(r'<code class=id>([^<]+)</code>', report_file.read_text())
    assert ids, "the report lists interactions to label next"
    for iid in ids:
        assert report_store.get(iid) is not None  # a whole id: it can be pasted into fw.feedback / flywheel
