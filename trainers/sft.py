"""Supervised fine-tuning (LoRA) on the final assistant turn of each conversation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ._core import TrainResult, run_training
from .config import SFTTrainConfig

if TYPE_CHECKING:
    from .registry import Registry


def train_sft(
    data_dir: str | Path,
    base_model: str | Path,
    out_dir: str | Path,
    config: SFTTrainConfig | None = None,
    *,
    registry: "Registry | str | Path | None" = None,
    parent: str | None = None,
    adapter_id: str | None = None,
    callbacks: list[Any] | None = None,
    on_top_of: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Train a SFT LoRA adapter on the export in ``data_dir`` and write it to ``out_dir``.

    ``base_model`` is any local Hugging Face causal-LM folder (or hub id) with a chat template.
    With ``registry``, the adapter is registered as a ``candidate`` with its lineage. ``on_top_of``:
    an adapter merged into the base first (the new one stacks on it); ``progress(step, max_steps)``.
    """
    return run_training("sft", data_dir, base_model, out_dir, config or SFTTrainConfig(),
                        registry=registry, parent=parent, adapter_id=adapter_id, callbacks=callbacks,
                        on_top_of=on_top_of, progress=progress)
