"""Training configuration: one dataclass per method, with defaults that are safe for LoRA.

Why these defaults (all overridable, every field documented here and in the model card):

* LoRA rank 16, alpha 32 (scale 2), dropout 0.05 on ``"all-linear"`` modules: the QLoRA / TRL
  recipe that works across Llama, Qwen, Mistral and Phi without naming projection layers.
* SFT lr 2e-4: LoRA adapters need ~10x the full fine-tuning learning rate.
* DPO / KTO lr 5e-6 and beta 0.1: preference losses are sharp; the alignment-handbook LoRA recipes
  use 5e-6 (raise towards 5e-5 for small data sets), beta 0.1 is the DPO paper's default.
* KTO needs batch size > 1 (its KL estimate uses mismatched pairs inside a batch).
* ``bf16=None`` means "decide from the device": bf16 only on a GPU that supports it, never on CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from flywheel_middleware.errors import ConfigError

Method = Literal["sft", "dpo", "kto"]


@dataclass
class TrainConfig:
    """Hyperparameters shared by every method; subclasses set method-specific defaults."""

    method: str = "sft"
    learning_rate: float = 2e-4
    num_train_epochs: float = 3.0
    max_steps: int = -1  # > 0 overrides epochs (tests, smoke runs)
    per_device_train_batch_size: int = 4
    per_device_eval_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_length: int = 1024
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"  # or ["q_proj", "k_proj", "v_proj", "o_proj"]
    lora_top_layers: int | None = None  # LoRA on the top N transformer layers only (cheaper backward on a CPU)
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 42
    logging_steps: int = 10
    save_steps: int = 200  # checkpoint every N steps (resume support); the final adapter is always saved
    save_total_limit: int = 2
    evaluate: bool = True  # evaluate on eval.jsonl at the end when it has rows
    gradient_checkpointing: bool = False
    bf16: bool | None = None  # None: bf16 iff a bf16-capable GPU is used
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    disable_tqdm: bool = False
    resume_from_checkpoint: bool | str | None = None  # True: the latest checkpoint in out_dir/checkpoints
    extra: dict[str, Any] = field(default_factory=dict)  # passed verbatim to the TRL config

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe hyperparameters for the model card."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """Rebuild from a model card's ``hyperparameters``; unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def override(self, **changes: Any) -> "TrainConfig":
        """A copy with the given non-None fields replaced (how the CLI applies its options)."""
        data = self.to_dict()
        data.update({k: v for k, v in changes.items() if v is not None})
        return type(self).from_dict(data)


@dataclass
class SFTTrainConfig(TrainConfig):
    """Supervised fine-tuning on the final assistant turn (``completion_only_loss``)."""

    method: str = "sft"
    learning_rate: float = 2e-4
    num_train_epochs: float = 3.0
    completion_only_loss: bool = True  # loss on the assistant reply only, not on the prompt
    packing: bool = False


@dataclass
class DPOTrainConfig(TrainConfig):
    """Direct preference optimisation on (prompt, chosen, rejected) pairs."""

    method: str = "dpo"
    learning_rate: float = 5e-6
    num_train_epochs: float = 1.0
    per_device_train_batch_size: int = 2
    per_device_eval_batch_size: int = 2
    beta: float = 0.1
    loss_type: str = "sigmoid"
    warmup_ratio: float = 0.1


@dataclass
class KTOTrainConfig(TrainConfig):
    """Kahneman-Tversky optimisation on unpaired (prompt, completion, label) rows."""

    method: str = "kto"
    learning_rate: float = 5e-6
    num_train_epochs: float = 1.0
    per_device_train_batch_size: int = 4  # must be > 1
    per_device_eval_batch_size: int = 4
    beta: float = 0.1
    desirable_weight: float = 1.0  # None-like 0 means: balance from label counts
    undesirable_weight: float = 1.0
    balance_weights: bool = True  # set weights so desirable*n_d ~ undesirable*n_u (KTO paper, 1 to 4/3)
    warmup_ratio: float = 0.1


CONFIG_CLASSES: dict[str, type[TrainConfig]] = {
    "sft": SFTTrainConfig,
    "dpo": DPOTrainConfig,
    "kto": KTOTrainConfig,
}


def default_config(method: str) -> TrainConfig:
    """The default configuration for ``method`` ("sft", "dpo" or "kto")."""
    try:
        return CONFIG_CLASSES[method]()
    except KeyError:
        raise ConfigError(f"unknown training method {method!r}; expected one of {sorted(CONFIG_CLASSES)}") from None
