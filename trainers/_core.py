"""The training pipeline shared by SFT, DPO and KTO: data, LoRA, TRL trainer, model card, registry."""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from flywheel_middleware._extras import requires_extra

from .config import TrainConfig, default_config
from .data import ExportData, load_export, render_row

if TYPE_CHECKING:
    from .registry import Registry

log = logging.getLogger("flywheel_middleware.trainers")

CARD_FILE = "flywheel_model.json"
RUN_FILE = "flywheel_run.json"
MANIFEST_COPY = "dataset_manifest.json"
CHECKPOINT_DIR = "checkpoints"
CARD_SCHEMA_VERSION = 1


@dataclass
class TrainResult:
    """What a training run produced: where the adapter is, what made it, how it went."""

    adapter_id: str
    method: str
    adapter_dir: Path
    base_model: str
    dataset_version: str
    metrics: dict[str, Any]
    global_step: int
    duration_s: float
    card: dict[str, Any] = field(repr=False, default_factory=dict)
    resumed_from: str | None = None

    @property
    def train_loss(self) -> float | None:
        return self.metrics.get("train_loss")

    @property
    def eval_loss(self) -> float | None:
        return self.metrics.get("eval_loss")


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _pick_device(config: TrainConfig) -> tuple[str, bool]:
    """(device, bf16): CUDA when present (unless forced to CPU); bf16 only where the GPU supports it."""
    import torch

    if config.device == "cpu":
        device = "cpu"
    elif config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available()):
        device = "cuda"
    else:
        device = "cpu"
    supported = device == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    bf16 = supported if config.bf16 is None else (bool(config.bf16) and supported)
    return device, bf16


def _base_model_info(base_model: str | Path) -> dict[str, Any]:
    """Identify the base model: the name given, its absolute path and a config fingerprint."""
    info: dict[str, Any] = {"name_or_path": str(base_model)}
    path = Path(base_model)
    if path.exists():
        info["path"] = str(path.resolve())
        cfg = path / "config.json"
        if cfg.exists():
            raw = cfg.read_bytes()
            info["config_sha256"] = hashlib.sha256(raw).hexdigest()[:16]
            try:
                info["model_type"] = json.loads(raw).get("model_type")
            except json.JSONDecodeError:
                pass
    return info


def _resolve_resume(resume: bool | str | None, ckpt_dir: Path) -> str | None:
    """A checkpoint path to resume from, or None. ``True`` with no checkpoint starts fresh."""
    if not resume:
        return None
    if isinstance(resume, str) and resume.lower() not in ("true", "1", "yes"):
        if not Path(resume).exists():
            raise FileNotFoundError(f"checkpoint {resume} not found")
        return resume
    from transformers.trainer_utils import get_last_checkpoint

    last = get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
    if last is None:
        log.warning("resume requested but no checkpoint in %s: training from the start", ckpt_dir)
    return last


def _versions() -> dict[str, str]:
    import peft
    import torch
    import transformers
    import trl

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "peft": peft.__version__}


def _to_dataset(kind: str, rows: list[dict[str, Any]], tokenizer: Any) -> Any:
    from datasets import Dataset

    return Dataset.from_list([render_row(kind, r, tokenizer) for r in rows])


def _trl_classes(method: str) -> tuple[type, type]:
    """(Trainer class, Config class) of TRL for ``method``; KTO may live in ``trl.experimental``."""
    if method == "sft":
        from trl import SFTConfig, SFTTrainer

        return SFTTrainer, SFTConfig
    if method == "dpo":
        from trl import DPOConfig, DPOTrainer

        return DPOTrainer, DPOConfig
    if method == "kto":
        try:
            from trl import KTOConfig, KTOTrainer
        except ImportError:  # newer TRL moved KTO out of the top level
            from trl.experimental.kto import KTOConfig, KTOTrainer
        return KTOTrainer, KTOConfig
    raise ValueError(f"unknown method {method!r}")


def _method_args(config: TrainConfig, data: ExportData) -> dict[str, Any]:
    """TRL config arguments specific to the method (and what we derived, for the card)."""
    args: dict[str, Any] = {}
    if config.method == "sft":
        args["completion_only_loss"] = getattr(config, "completion_only_loss", True)
        args["packing"] = getattr(config, "packing", False)
    elif config.method == "dpo":
        args["beta"] = config.beta  # type: ignore[attr-defined]
        args["loss_type"] = config.loss_type  # type: ignore[attr-defined]
    elif config.method == "kto":
        if config.per_device_train_batch_size < 2:
            raise ValueError("KTO needs per_device_train_batch_size > 1 (its KL term uses pairs within a batch)")
        args["beta"] = config.beta  # type: ignore[attr-defined]
        dw, uw = config.desirable_weight, config.undesirable_weight  # type: ignore[attr-defined]
        if getattr(config, "balance_weights", False):
            n_d = sum(1 for r in data.train_rows if r.get("label"))
            n_u = len(data.train_rows) - n_d
            if n_d and n_u:
                dw, uw = (1.0, n_d / n_u) if n_d >= n_u else (n_u / n_d, 1.0)
        args["desirable_weight"], args["undesirable_weight"] = float(dw), float(uw)
    return args


def _write_readme(out: Path, card: dict[str, Any]) -> None:
    """A human-readable model card (Hugging Face front matter + lineage + metrics)."""
    base = card["base_model"]["name_or_path"]
    hp = card["hyperparameters"]
    metrics = "\n".join(f"| {k} | {v:.6g} |" if isinstance(v, float) else f"| {k} | {v} |"
                        for k, v in sorted(card["metrics"].items()))
    text = f"""---
base_model: {base}
library_name: peft
pipeline_tag: text-generation
tags: [flywheel-middleware, {card['method']}, lora, trl]
---

# {card['adapter_id']}

A LoRA adapter trained by flywheel-middleware with TRL ({card['method'].upper()}).

## Lineage
- Base model: `{base}`
- Dataset version: `{card['dataset']['version']}` (kind `{card['dataset']['kind']}`, \
{card['dataset']['train_rows']} train / {card['dataset']['eval_rows']} eval rows; manifest in `{MANIFEST_COPY}`)
- Parent adapter: `{card.get('parent') or '-'}`
- Trained: {card['started_at']} to {card['finished_at']} ({card['duration_s']:.1f} s on {card['environment']['device']})

## Hyperparameters
LoRA r={hp['lora_r']}, alpha={hp['lora_alpha']}, dropout={hp['lora_dropout']}, target modules `{hp['target_modules']}`;
learning rate {hp['learning_rate']}, epochs {hp['num_train_epochs']}, max steps {hp['max_steps']},
batch size {hp['per_device_train_batch_size']} x {hp['gradient_accumulation_steps']}, max length {hp['max_length']}.
Full list in `{CARD_FILE}`.

## Metrics
| metric | value |
|---|---|
{metrics}

## Use
```python
from transformers import AutoModelForCausalLM, AutoTokenizer
from peft import PeftModel
base = AutoModelForCausalLM.from_pretrained("{base}")
model = PeftModel.from_pretrained(base, "<this folder>")
tokenizer = AutoTokenizer.from_pretrained("<this folder>")
```
"""
    (out / "README.md").write_text(text, encoding="utf-8")


def _warmup_arg(config_cls: type, ratio: float) -> dict[str, float]:
    """transformers 5 folded ``warmup_ratio`` into ``warmup_steps`` (a float < 1 is a ratio)."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(config_cls)}
    if "warmup_ratio" in names:
        return {"warmup_ratio": ratio}
    return {"warmup_steps": ratio}


def _checkpointing_arg(config_cls: type, on: bool) -> dict[str, bool]:
    """transformers 5 renamed ``gradient_checkpointing`` to ``activation_checkpointing``."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(config_cls)}
    return {"activation_checkpointing": on} if "activation_checkpointing" in names else {"gradient_checkpointing": on}


def _as_registry(registry: "Registry | str | Path | None") -> "Registry | None":
    if registry is None:
        return None
    from .registry import Registry

    return registry if isinstance(registry, Registry) else Registry(registry)


def run_training(
    method: str,
    data_dir: str | Path,
    base_model: str | Path,
    out_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    registry: "Registry | str | Path | None" = None,
    parent: str | None = None,
    adapter_id: str | None = None,
    callbacks: list[Any] | None = None,
    on_top_of: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Train a LoRA adapter with TRL; write the adapter, model card and manifest copy; register it.

    ``base_model`` may be ``"smollm2"`` (the packaged model) or any local folder / hub id.
    ``on_top_of``: an adapter folder (e.g. the SFT adapter under a DPO run) merged into the base
    first, so the new adapter learns on top of it and DPO's reference is that model; the card's
    ``stack`` lists it, and ``HFGenerator`` activates the whole stack. ``progress(step, max_steps)``
    is called after every optimizer step. transformers/TRL console output is off unless verbose.
    """
    with requires_extra("train"):
        import trl  # noqa: F401 - checked here so a missing extra fails before any work

    from ._quiet import quiet_libraries
    from .base_model import resolve_base_model

    given_base = base_model
    base_model = resolve_base_model(base_model)
    stack: list[str] = []
    if on_top_of is not None:
        from .evaluate import adapter_stack

        stack = [str(Path(p).resolve()) for p in adapter_stack([on_top_of])]

    cfg = config or default_config(method)
    if cfg.method != method:
        cfg = cfg.override(method=method)
    data = load_export(data_dir)
    if data.kind and data.kind != method:
        raise ValueError(f"{data_dir} holds a {data.kind!r} dataset; cannot train {method!r} on it")
    if not data.train_rows:
        raise ValueError(f"{data_dir}/train.jsonl has no rows")
    method_args = _method_args(cfg, data)  # validates (e.g. KTO batch size) before anything is written

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out / CHECKPOINT_DIR
    resume = _resolve_resume(cfg.resume_from_checkpoint, ckpt_dir)
    run_file = out / RUN_FILE
    run_info = json.loads(run_file.read_text()) if (resume and run_file.exists()) else {}
    started = time.time()
    run_info.setdefault("adapter_id", adapter_id or f"{method}-{data.version[:8]}-{time.strftime('%Y%m%d%H%M%S')}")
    run_info.setdefault("started_at", _now_iso())
    run_file.write_text(json.dumps(run_info, indent=2))

    job = _Job(method, cfg, data, Path(data_dir), base_model, given_base, out, ckpt_dir, resume, run_info, started,
               method_args, stack, registry, parent, callbacks, progress)
    with quiet_libraries():
        return _fit(job)


@dataclass
class _Job:
    """Everything ``run_training`` validated and prepared, for the part that runs TRL."""

    method: str
    cfg: TrainConfig
    data: ExportData
    data_dir: Path
    base_model: str
    given_base: Any
    out: Path
    ckpt_dir: Path
    resume: str | None
    run_info: dict[str, Any]
    started: float
    method_args: dict[str, Any]
    stack: list[str]
    registry: Any
    parent: str | None
    callbacks: list[Any] | None
    progress: Callable[[int, int], None] | None


def _fit(job: _Job) -> TrainResult:
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ._quiet import quiet_trainer

    method, cfg, data, data_dir, base_model, out, ckpt_dir = (job.method, job.cfg, job.data, job.data_dir, job.base_model,
                                                               job.out, job.ckpt_dir)
    resume, run_info, started, method_args, stack = job.resume, job.run_info, job.started, job.method_args, job.stack
    device, bf16 = _pick_device(cfg)
    tokenizer = AutoTokenizer.from_pretrained(str(base_model))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError(f"the tokenizer of {base_model} has no chat template; set tokenizer.chat_template first")
    train_ds = _to_dataset(method, data.train_rows, tokenizer)
    eval_ds = _to_dataset(method, data.eval_rows, tokenizer) if (cfg.evaluate and data.eval_rows) else None

    model = AutoModelForCausalLM.from_pretrained(str(base_model), dtype=torch.bfloat16 if bf16 else torch.float32)
    if stack:
        from .evaluate import attach_adapters

        model = attach_adapters(model, stack).merge_and_unload()  # the parent stack becomes the new base
    if cfg.gradient_checkpointing:
        model.config.use_cache = False
    layers: dict[str, Any] = {}
    targets = cfg.target_modules
    n_layers = int(getattr(model.config, "num_hidden_layers", 0) or 0)
    if cfg.lora_top_layers and n_layers and cfg.lora_top_layers < n_layers:
        # LoRA on the top layers only: backward stops there, which is most of a CPU step's time
        layers["layers_to_transform"] = list(range(n_layers - cfg.lora_top_layers, n_layers))
        if isinstance(targets, str):  # peft needs module names with layers_to_transform
            targets = _linear_module_names(model)
    peft_config = LoraConfig(
        r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
        target_modules=targets, bias="none", task_type="CAUSAL_LM", **layers,
    )
    trainer_cls, config_cls = _trl_classes(method)
    trl_args = config_cls(
        output_dir=str(ckpt_dir),
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        per_device_eval_batch_size=cfg.per_device_eval_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        max_length=cfg.max_length,
        lr_scheduler_type=cfg.lr_scheduler_type,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        seed=cfg.seed,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        eval_strategy="no",
        bf16=bf16,
        use_cpu=device == "cpu",
        report_to="none",
        disable_tqdm=cfg.disable_tqdm,
        **_warmup_arg(config_cls, cfg.warmup_ratio),
        **_checkpointing_arg(config_cls, cfg.gradient_checkpointing),
        **method_args,
        **cfg.extra,
    )
    with warnings.catch_warnings():
        # transformers 5 warns about its own internal use of a deprecated name on every step
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        trainer = trainer_cls(
            model=model, args=trl_args, train_dataset=train_ds, eval_dataset=eval_ds,
            processing_class=tokenizer, peft_config=peft_config, callbacks=_with_progress(job.callbacks, job.progress),
        )
        quiet_trainer(trainer)
        output = trainer.train(resume_from_checkpoint=resume)
        metrics: dict[str, Any] = {k: v for k, v in output.metrics.items() if isinstance(v, (int, float))}
        metrics["train_loss"] = float(output.training_loss)
        if eval_ds is not None:
            metrics.update({k: v for k, v in trainer.evaluate().items() if isinstance(v, (int, float))})
    trainer.save_model(str(out))  # adapter_config.json + adapter weights (PEFT)
    tokenizer.save_pretrained(str(out))
    finished = time.time()

    manifest = dict(data.manifest)
    (out / MANIFEST_COPY).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "training_log.json").write_text(json.dumps(trainer.state.log_history, indent=2, default=str))
    hyper = cfg.to_dict()
    hyper.update({"effective": {**method_args, "bf16": bf16, "device": device}})
    card: dict[str, Any] = {
        "schema_version": CARD_SCHEMA_VERSION,
        "adapter_id": run_info["adapter_id"],
        "method": method,
        "adapter_type": "lora",
        "adapter_path": str(out.resolve()),
        "base_model": {**_base_model_info(base_model), "given": str(job.given_base) if job.given_base is not None else None},
        "parent": job.parent,
        "stack": stack,
        "dataset": {
            "path": str(Path(data_dir).resolve()),
            "version": data.version,
            "kind": data.kind,
            "counts": manifest.get("counts", {}),
            "train_rows": len(data.train_rows),
            "eval_rows": len(data.eval_rows),
            "manifest_file": MANIFEST_COPY,
        },
        "manifest": manifest,
        "hyperparameters": hyper,
        "metrics": metrics,
        "global_step": int(trainer.state.global_step),
        "resumed_from": resume,
        "started_at": run_info["started_at"],
        "finished_at": _now_iso(),
        "duration_s": round(finished - started, 3),
        "environment": {**_versions(), "device": device},
    }
    (out / CARD_FILE).write_text(json.dumps(card, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    _write_readme(out, card)
    reg = _as_registry(job.registry)
    if reg is not None:
        reg.register(card)
    return TrainResult(
        adapter_id=card["adapter_id"], method=method, adapter_dir=out, base_model=str(base_model),
        dataset_version=data.version, metrics=metrics, global_step=card["global_step"],
        duration_s=card["duration_s"], card=card, resumed_from=resume,
    )


def _linear_module_names(model: Any) -> list[str]:
    """Names of the linear layers inside the transformer blocks (what ``"all-linear"`` means, minus the head)."""
    import torch

    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules()
             if isinstance(module, torch.nn.Linear) and ".layers." in f".{name}" and "lm_head" not in name}
    return sorted(names)


def _with_progress(callbacks: list[Any] | None, progress: Callable[[int, int], None] | None) -> list[Any] | None:
    """``callbacks`` plus one that reports each optimizer step to ``progress``."""
    if progress is None:
        return callbacks
    from transformers import TrainerCallback

    class _Progress(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            progress(int(state.global_step), int(state.max_steps or 0))

    return [*(callbacks or []), _Progress()]


def load_card(adapter_dir: str | Path) -> dict[str, Any]:
    """The ``flywheel_model.json`` of an adapter folder."""
    return json.loads((Path(adapter_dir) / CARD_FILE).read_text(encoding="utf-8"))


def remove_checkpoints(adapter_dir: str | Path) -> None:
    """Delete intermediate checkpoints once an adapter is final (they hold optimizer state)."""
    shutil.rmtree(Path(adapter_dir) / CHECKPOINT_DIR, ignore_errors=True)
