"""Choosing the judge of an evaluation: label match by default, any LangChain chat model on request.

``load_judge(spec)`` is what ``flywheel eval --judge SPEC`` calls:

* ``"exact"`` (default) — no judge: exact / normalised match against the reference, right for
  verifiable answers (labels, routes, tool calls, short facts);
* ``"f1"`` — :class:`~.evaluate.DeterministicJudge` (token F1, free and reproducible);
* ``"module.path:attribute"`` (or ``"module.path.attribute"``) — a LangChain chat model: an
  instance, a class (built without arguments) or a factory (called without arguments) that
  returns one, e.g. ``"myproject.judges:gpt4o"``;
* ``"provider:model"`` — a model name for LangChain's ``init_chat_model`` (``"openai:gpt-4o-mini"``,
  ``"anthropic:claude-sonnet-4-5"``, ``"ollama:llama3.1"``), which needs the ``langchain`` package and
  the provider's integration package.

A chat model becomes a :class:`~.evaluate.LangChainJudge`: reference-grounded prompt, length-bias
guards (the prompt says length is not quality, long candidates are truncated and penalised).
"""

from __future__ import annotations

import importlib
from typing import Any

from .evaluate import DeterministicJudge, Judge, LangChainJudge

LABEL_MATCH = "exact"


class JudgeError(ValueError):
    """A judge spec that names nothing usable; the message says what to pass instead."""


def _is_chat_model(obj: Any) -> bool:
    try:
        from langchain_core.language_models import BaseChatModel
    except ImportError:  # pragma: no cover - langchain-core is a dependency of the langchain extra
        return hasattr(obj, "invoke")
    return isinstance(obj, BaseChatModel)


def _from_import_path(spec: str) -> Any | None:
    """The object an import path names, or None when the module part does not import."""
    module_name, _, attr = spec.partition(":") if ":" in spec else spec.rpartition(".")
    if not module_name or not attr:
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    try:
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise JudgeError(f"{module_name} has no attribute {attr!r}") from exc
    if _is_chat_model(obj):
        return obj
    if callable(obj):
        built = obj()
        if _is_chat_model(built) or isinstance(built, Judge):
            return built
        raise JudgeError(f"{spec} returned {type(built).__name__}, not a LangChain chat model")
    raise JudgeError(f"{spec} is a {type(obj).__name__}, not a LangChain chat model")


def load_judge(spec: str | None, **judge_options: Any) -> Judge | None:
    """The judge ``spec`` names (see the module docstring); ``None`` for label / exact match."""
    if spec is None or spec.strip().lower() in (LABEL_MATCH, "label", "match", "none", ""):
        return None
    spec = spec.strip()
    if spec.lower() in ("f1", "token-f1", "deterministic"):
        return DeterministicJudge()
    obj = _from_import_path(spec)
    if obj is None and ":" in spec:
        try:
            from langchain.chat_models import init_chat_model
        except ImportError as exc:
            raise JudgeError(f"--judge {spec!r}: {spec.split(':')[0]!r} is not an importable module, and model names "
                             "need LangChain's init_chat_model: pip install langchain (plus the provider's package, "
                             "e.g. langchain-openai), or pass module.path:attribute of a chat model") from exc
        try:
            obj = init_chat_model(spec)
        except Exception as exc:  # noqa: BLE001 - the provider's own message says what is missing
            raise JudgeError(f"--judge {spec!r}: {exc}") from exc
    if obj is None:
        raise JudgeError(f"--judge {spec!r}: expected 'exact', 'f1', module.path:attribute of a LangChain chat "
                         "model, or provider:model for init_chat_model")
    if isinstance(obj, Judge) and not _is_chat_model(obj):
        return obj
    return LangChainJudge(obj, **judge_options)
