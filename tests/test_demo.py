"""`flywheel demo`, the README's first command: the loop on the real model, its folder, its figures."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from flywheel_middleware._demo_world import SimulatedUser, load_intents, parse_label
from flywheel_middleware.demo import MARKER, DemoConfig, DemoError, export_precision, prepare_folder


def test_the_demo_refuses_a_folder_it_did_not_make_and_deletes_nothing(tmp_path: Path) -> None:
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    with pytest.raises(DemoError, match="not made by `flywheel demo`"):
        prepare_folder(mine)
    assert (mine / "thesis.txt").read_text() == "years of work"
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DemoError, match="not a folder"):
        prepare_folder(tmp_path / "afile")


def test_the_demo_replaces_its_own_previous_folder(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    prepare_folder(root)
    (root / "store").mkdir()
    prepare_folder(root)
    assert (root / MARKER).exists() and not (root / "store").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    prepare_folder(empty)
    assert (empty / MARKER).exists()


def test_the_packaged_clinc150_subset_has_disjoint_traffic_and_heldout_questions() -> None:
    data = load_intents()
    assert list(data.domains) == ["banking", "travel"] and len(data.intents) == 30
    assert all(len(data.train[i]) == 100 and len(data.test[i]) == 30 for i in data.intents)
    heldout = data.heldout(3)
    assert len(heldout) == 90 and {q for q, _ in heldout}.isdisjoint({q for i in data.intents for q in data.train[i]})
    with pytest.raises(ValueError, match="unknown domain"):
        load_intents(["cooking"])


def test_router_replies_are_read_as_labels() -> None:
    assert parse_label("freeze_account") == "freeze_account"
    assert parse_label(" Freeze account.\nSure!") == "freeze_account"
    assert parse_label("") == ""


def test_simulated_users_give_the_configured_share_of_wrong_clicks() -> None:
    rng = random.Random(0)
    intents = ["balance", "transfer", "pin_change"]
    careless = corrections = wrong_corrections = 0
    for n in range(4000):
        user = SimulatedUser(f"u{n}", "balance", intents, rng)
        reaction = user.react("balance" if n % 2 else "transfer", 0)
        careless += int(any(e is not None and e.wrong and e.kind != "correct" for e in (reaction.click, reaction)))
        for event in (reaction.click, reaction):
            if event is not None and event.kind == "correct":
                corrections += 1
                wrong_corrections += int(event.value != "balance")
                assert event.wrong == (event.value != "balance")
    assert careless / 4000 == pytest.approx(0.2, abs=0.02)  # a wrong click after right and after wrong answers
    assert wrong_corrections / corrections == pytest.approx(0.05, abs=0.03)


def test_export_precision_is_measured_against_the_truth(tmp_path: Path) -> None:
    def write(kind: str, rows: list[dict]) -> Path:
        folder = tmp_path / kind
        folder.mkdir()
        (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        return folder

    truth = {"a": "balance", "b": "transfer", "c": None}
    sft = write("sft", [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": label}],
                         "metadata": {"interaction_id": iid, "source": "good"}}
                        for iid, label in (("a", "balance"), ("b", "balance"), ("c", "balance"))])
    assert export_precision("sft", sft, truth)["precision"] == pytest.approx(1 / 3)
    dpo = write("dpo", [{"prompt": [], "chosen": [{"content": "transfer"}], "rejected": [{"content": rej}],
                         "metadata": {"interaction_id": "b", "source": "correction"}} for rej in ("balance", "transfer")])
    assert export_precision("dpo", dpo, truth)["precision"] == 0.5
    kto = write("kto", [{"prompt": [], "completion": [{"content": "balance"}], "label": label,
                         "metadata": {"interaction_id": "a", "source": "good"}} for label in (True, False)])
    assert export_precision("kto", kto, truth)["by_source"]["good"] == {"rows": 2, "precision": 0.5}


@pytest.mark.slow
@pytest.mark.train
@pytest.mark.timeout(1800)
def test_the_demo_runs_the_loop_on_the_real_model_and_writes_its_figures(tmp_path: Path) -> None:
    from rich.console import Console

    from flywheel_middleware.demo import run_demo

    console = Console(record=True, width=100)
    cfg = DemoConfig(cycles=1, sessions=24, domains=("banking",), heldout_per_intent=2, concurrency=2, min_train_rows=4)
    results = run_demo(tmp_path / "demo", config=cfg, console=console)
    (r,) = results
    assert r.sessions == 24 and r.turns >= 24 and r.exports["sft"]["rows"] >= 4
    assert r.training["sft"]["steps"] > 0 and r.training["sft"]["loss_curve"][-1] < r.training["sft"]["loss_curve"][0]
    assert set(r.heldout) >= {"base", "few_shot", "adapter", "adapter_few_shot"}
    assert r.heldout["base"]["n"] == 30 and r.gate["decision"] in ("promote", "reject")
    assert r.gate["p_value"] is not None and r.gate["reasons"]
    root = tmp_path / "demo"
    summary = json.loads((root / "summary.json").read_text())
    cycle = summary["cycles"][0]
    assert set(cycle["heldout"]) >= {"base", "few_shot", "adapter", "adapter_few_shot", "n"}
    assert 0.0 <= cycle["heldout"]["adapter"] <= 1.0 and cycle["gate"]["decision"] == r.gate["decision"]
    assert set(cycle["export_precision"]) == {"sft", "dpo", "kto"}
    html = (root / "report.html").read_text()
    assert "What the model learned" in html and "data:image/png;base64," in html
    text = console.export_text()
    assert "held-out accuracy" in text and "gate:" in text
    assert all(len(line) <= 100 for line in text.splitlines())
    assert "Loading weights" not in text and "'loss':" not in text  # library noise stays off


def test_training_threads_count_only_other_programs_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's own traffic threads are no reason to train on one core (the load average counted them)."""
    from flywheel_middleware import _cpu

    readings = iter([(10.0, 3.0), (11.0, 3.9)])  # (machine busy s, own s): over the window 1.0 s busy, 0.9 s ours
    now = iter([0.0, 0.5])
    state: dict[str, float] = {}

    def busy() -> float:
        state["busy"], state["own"] = next(readings)
        return state["busy"]

    monkeypatch.setattr(_cpu, "_busy_seconds", busy)
    monkeypatch.setattr(_cpu, "_own_seconds", lambda: state["own"])
    monkeypatch.setattr(_cpu.time, "perf_counter", lambda: next(now))
    monkeypatch.setattr(_cpu.time, "sleep", lambda s: None)
    monkeypatch.setattr(_cpu.os, "cpu_count", lambda: 2)
    assert _cpu.cores_used_by_others(0.5) == pytest.approx(0.2)  # (1.0 - 0.9) / 0.5
    readings, now = iter([(10.0, 3.0), (11.0, 3.0)]), iter([0.0, 0.5])  # another program used two cores
    assert _cpu.idle_cores(0.5) == 1
