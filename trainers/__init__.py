"""Training and gating: LoRA SFT / DPO / KTO with peft + TRL, offline evaluation, a promotion gate.

Every adapter is traceable: its ``flywheel_model.json`` names the base model, the dataset version
and manifest it was trained on, its parent adapter and hyperparameters, and the registry keeps its
status and gate decisions. torch / transformers / trl / peft are imported only when a function
needs them, so importing this package is cheap.

Typical loop::

    from flywheel_middleware.trainers import (train_sft, load_cases, HFGenerator, evaluate_model,
                                              decide, Registry)
    reg = Registry("./.flywheel/models")
    result = train_sft("exports/sft-v3", "/models/qwen2.5-0.5b-instruct", "adapters/sft-v3", registry=reg)
    cases = load_cases("exports/sft-v3") + load_cases("regression.jsonl")
    base = evaluate_model(HFGenerator(result.base_model), cases, name="base")
    cand = evaluate_model(HFGenerator(result.base_model, adapter=result.adapter_dir), cases, name="candidate")
    decision = decide(cand, base, tolerance=0.02, registry=reg, adapter_id=result.adapter_id)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # config
    "TrainConfig": "config", "SFTTrainConfig": "config", "DPOTrainConfig": "config", "KTOTrainConfig": "config",
    "default_config": "config",
    # tiny model
    "build_tiny_model": "tiny_model", "CHAT_TEMPLATE": "tiny_model",
    # data
    "load_export": "data", "ExportData": "data",
    # training
    "train_sft": "sft", "train_dpo": "dpo", "train_kto": "kto", "TrainResult": "_core", "load_card": "_core",
    # registry
    "Registry": "registry", "ModelEntry": "registry", "default_registry_dir": "registry", "list_models": "registry",
    # evaluation
    "EvalCase": "evaluate", "Prediction": "evaluate", "CaseResult": "evaluate", "EvalReport": "evaluate",
    "Judge": "evaluate", "JudgeScore": "evaluate", "DeterministicJudge": "evaluate", "LangChainJudge": "evaluate",
    "HFGenerator": "evaluate", "load_cases": "evaluate", "evaluate_model": "evaluate", "with_few_shot": "evaluate",
    "LexicalFewShot": "evaluate", "compare_three_way": "evaluate", "parse_tool_calls": "evaluate",
    "normalize_text": "evaluate",
    # gate
    "GateDecision": "gate", "decide": "gate", "ShadowScorer": "gate", "ShadowRecord": "gate", "ShadowReport": "gate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import submodules on first use (PEP 562): keeps ``import flywheel_middleware.trainers`` fast."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
