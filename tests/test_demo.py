"""`flywheel demo`, the README's first command, runs the whole loop end to end offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flywheel_middleware._demo_world import INTENTS, SupportModel, intent_of


def test_every_demo_question_is_understood_as_its_intent() -> None:
    assert all(intent_of(q) is intent for intent in INTENTS for q in intent.questions)


def test_the_simulated_model_follows_a_good_example_of_the_same_intent() -> None:
    from langchain_core.messages import AIMessage, HumanMessage

    refund = next(i for i in INTENTS if i.name == "refund")
    model = SupportModel(lucky_rate=0.0, example_rate=1.0)
    alone = model.respond([HumanMessage(refund.eval_questions[0])])
    shown = model.respond([HumanMessage(refund.questions[0]), AIMessage(refund.answer), HumanMessage(refund.eval_questions[0])])
    assert alone.content == refund.wrong and shown.content == refund.answer


@pytest.mark.slow
def test_the_demo_runs_every_stage_and_writes_the_report(tmp_path: Path) -> None:
    from rich.console import Console

    from flywheel_middleware.demo import run_demo

    console = Console(record=True, width=120)
    results = run_demo(tmp_path / "demo", quick=True, cycles=2, sessions=8, console=console)
    assert [r.cycle for r in results] == [1, 2]
    assert all(r.turns >= r.sessions for r in results)
    assert results[-1].good_examples > 0 and results[-1].sft_rows > 0
    assert results[-1].gate in ("promote", "reject")
    root = tmp_path / "demo"
    manifest = json.loads((root / "exports" / "cycle-2" / "sft" / "manifest.json").read_text())
    assert manifest["kind"] == "sft" and manifest["version"] == results[-1].sft_version
    html = (root / "report.html").read_text()
    assert "<img" in html and "data:image/png;base64," in html
    text = console.export_text()
    assert "flywheel cycles: before / after" in text and "signals per cycle" in text
