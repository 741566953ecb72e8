"""Real TRL training (LoRA SFT / DPO / KTO) on a tiny local model: cards, lineage, resume, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")

import torch  # noqa: E402

from flywheel_middleware.trainers import (  # noqa: E402
    DPOTrainConfig,
    KTOTrainConfig,
    Registry,
    SFTTrainConfig,
    build_tiny_model,
    load_card,
    train_dpo,
    train_kto,
    train_sft,
)
from flywheel_middleware.trainers.data import load_export, render_row  # noqa: E402
from flywheel_middleware.trainers.testing import make_export  # noqa: E402

pytestmark = pytest.mark.train
torch.set_num_threads(1)

FAST = {"logging_steps": 1, "disable_tqdm": True, "max_length": 256}


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("exports")
    return {kind: make_export(root / kind, kind, n=20) for kind in ("sft", "dpo", "kto")}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return Registry(tmp_path_factory.mktemp("registry"))


@pytest.fixture(scope="module")
def sft_result(tiny_model: Path, exports: dict[str, Path], registry: Registry, tmp_path_factory: pytest.TempPathFactory):
    config = SFTTrainConfig(max_steps=8, learning_rate=5e-3, per_device_train_batch_size=4, save_steps=100, **FAST)
    return train_sft(exports["sft"], tiny_model, tmp_path_factory.mktemp("sft") / "adapter", config, registry=registry)


def test_tiny_model_loads_with_auto_classes(tiny_model: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert model.config.model_type == "llama" and model.config.num_hidden_layers == 2
    assert tok.pad_token is not None and tok.pad_token_id != tok.eos_token_id
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    full = tok.apply_chat_template(msgs, tokenize=False)
    prompt = tok.apply_chat_template(msgs[:1], tokenize=False, add_generation_prompt=True)
    assert full.startswith(prompt) and full[len(prompt):].rstrip().endswith(tok.eos_token)
    assert tok.decode(tok(full, add_special_tokens=False).input_ids) == full


def test_rendering_keeps_tool_arguments_exact(tiny_model: Path, exports: dict[str, Path]) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    data = load_export(exports["sft"])
    row = render_row("sft", data.train_rows[0], tok)
    assert set(row) == {"prompt", "completion"}
    assert row["completion"] == '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call><|end|>'
    assert "What is the weather in Paris?" in row["prompt"] and row["prompt"].endswith("<|assistant|>\n")
    dpo = render_row("dpo", load_export(exports["dpo"]).train_rows[1], tok)
    assert dpo["chosen"] == "Rome is a capital city.<|end|>" and dpo["rejected"].startswith("I do not know")


def test_sft_trains_writes_card_and_reloads(sft_result, tiny_model: Path, exports: dict[str, Path]) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = sft_result.adapter_dir
    assert sft_result.global_step == 8 and sft_result.train_loss is not None and sft_result.eval_loss is not None
    log = json.loads((out / "training_log.json").read_text())
    losses = [e["loss"] for e in log if "loss" in e]
    assert losses[-1] < losses[0]  # it learns
    card = load_card(out)
    manifest = json.loads((exports["sft"] / "manifest.json").read_text())
    assert card["dataset"]["version"] == manifest["version"] == sft_result.dataset_version
    assert card["manifest"] == manifest
    assert json.loads((out / "dataset_manifest.json").read_text()) == manifest
    assert card["base_model"]["path"] == str(Path(tiny_model).resolve()) and card["base_model"]["config_sha256"]
    hp = card["hyperparameters"]
    assert (hp["lora_r"], hp["lora_alpha"], hp["lora_dropout"], hp["target_modules"]) == (16, 32, 0.05, "all-linear")
    assert hp["effective"]["bf16"] is False and hp["effective"]["device"] == "cpu"
    assert card["started_at"] <= card["finished_at"] and card["environment"]["trl"]
    readme = (out / "README.md").read_text()
    assert "library_name: peft" in readme and manifest["version"] in readme

    tok = AutoTokenizer.from_pretrained(out)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), out).eval()
    prompt = tok.apply_chat_template([{"role": "user", "content": "What is the weather in Oslo?"}],
                                     tokenize=False, add_generation_prompt=True)
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        gen = model.generate(**enc, max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id)
    assert gen.shape[1] > enc["input_ids"].shape[1]
    # the adapter changed the model: logits differ from the base with the adapter disabled
    with torch.no_grad():
        tuned = model(**enc).logits
        with model.disable_adapter():
            base = model(**enc).logits
    assert not torch.allclose(tuned, base)


def test_dpo_trains_a_few_steps(tiny_model: Path, exports: dict[str, Path], tmp_path: Path) -> None:
    config = DPOTrainConfig(max_steps=3, per_device_train_batch_size=2, **FAST)
    result = train_dpo(exports["dpo"], tiny_model, tmp_path / "dpo", config)
    assert result.method == "dpo" and result.global_step == 3
    assert "eval_rewards/accuracies" in result.metrics
    card = load_card(tmp_path / "dpo")
    assert card["hyperparameters"]["beta"] == 0.1 and card["dataset"]["kind"] == "dpo"
    assert (tmp_path / "dpo" / "adapter_config.json").exists()


def test_kto_trains_with_batch_above_one(tiny_model: Path, exports: dict[str, Path], tmp_path: Path) -> None:
    config = KTOTrainConfig(max_steps=3, per_device_train_batch_size=4, **FAST)
    result = train_kto(exports["kto"], tiny_model, tmp_path / "kto", config)
    assert result.global_step == 3 and result.train_loss is not None
    eff = result.card["hyperparameters"]["effective"]
    assert eff["desirable_weight"] >= 1.0 and eff["undesirable_weight"] >= 1.0
    with pytest.raises(ValueError, match="batch_size > 1"):
        train_kto(exports["kto"], tiny_model, tmp_path / "kto1", KTOTrainConfig(per_device_train_batch_size=1))


def test_wrong_dataset_kind_is_refused(tiny_model: Path, exports: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot train 'dpo'"):
        train_dpo(exports["sft"], tiny_model, tmp_path / "x")


def test_resume_from_checkpoint(tiny_model: Path, exports: dict[str, Path], tmp_path: Path) -> None:
    from transformers import TrainerCallback

    class Interrupt(TrainerCallback):
        """Stops the run after step 2, as a crash or a pre-empted job would."""

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
            if state.global_step == 2:
                control.should_training_stop = True
            return control

    out = tmp_path / "sft-resume"
    config = SFTTrainConfig(max_steps=4, save_steps=2, **FAST)
    first = train_sft(exports["sft"], tiny_model, out, config, callbacks=[Interrupt()])
    assert first.global_step == 2 and (out / "checkpoints" / "checkpoint-2").is_dir()
    second = train_sft(exports["sft"], tiny_model, out, config.override(resume_from_checkpoint=True))
    assert second.resumed_from is not None and second.resumed_from.endswith("checkpoint-2")
    assert second.global_step == 4
    assert second.adapter_id == first.adapter_id  # the same run, continued
    assert load_card(out)["resumed_from"].endswith("checkpoint-2")


def test_registry_lineage(sft_result, tiny_model: Path, exports: dict[str, Path], registry: Registry, tmp_path: Path) -> None:
    entry = registry.get(sft_result.adapter_id)
    assert entry.status == "candidate" and entry.dataset_version == sft_result.dataset_version
    assert entry.base_model == str(Path(tiny_model).resolve())
    child = train_dpo(exports["dpo"], tiny_model, tmp_path / "child", DPOTrainConfig(max_steps=1, **FAST),
                      registry=registry, parent=sft_result.adapter_id)
    chain = registry.lineage(child.adapter_id)
    assert [e.id for e in chain] == [child.adapter_id, sft_result.adapter_id]
    assert chain[0].dataset_version != chain[1].dataset_version
    registry.set_status(sft_result.adapter_id, "promoted")
    registry.set_status(child.adapter_id, "promoted")
    assert registry.get(sft_result.adapter_id).status == "retired"
    assert registry.promoted().id == child.adapter_id
    assert [e["data"]["status"] for e in registry.events(sft_result.adapter_id) if e["kind"] == "status"] == ["promoted", "retired"]
    with pytest.raises(ValueError):
        registry.set_status(child.adapter_id, "bogus")


def test_cli_train_and_models(tiny_model: Path, exports: dict[str, Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flywheel_middleware.trainers.cli import app

    runner = CliRunner()
    reg = tmp_path / "reg"
    res = runner.invoke(app, ["train", "sft", "--data", str(exports["sft"]), "--base-model", str(tiny_model),
                              "--out", str(tmp_path / "cli-sft"), "--max-steps", "2", "--registry", str(reg)])
    assert res.exit_code == 0, res.output
    card = load_card(tmp_path / "cli-sft")
    assert card["hyperparameters"]["max_steps"] == 2
    res = runner.invoke(app, ["models", "--registry", str(reg), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert rows[0]["id"] == card["adapter_id"] and rows[0]["status"] == "candidate"


def test_import_is_lazy() -> None:
    code = ("import sys, flywheel_middleware.trainers as t; t.TrainConfig; t.Registry; t.decide; t.load_cases;"
            "import flywheel_middleware.trainers.cli;"
            "heavy = [m for m in ('torch', 'transformers', 'trl', 'peft', 'datasets') if m in sys.modules];"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
