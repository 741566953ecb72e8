"""Record-level redaction: which fields of an interaction or a signal carry free text, and
sending all of them through a redactor in one call.

The ingest worker calls ``redact_interaction`` / ``redact_signal`` before anything is stored;
this module only needs something with ``redact_value`` (a ``Redactor``), so it imports no NER
engine itself.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..records import Interaction, Signal

__all__ = ["Redacting", "redact_interaction", "redact_signal"]


class Redacting(Protocol):
    """What record redaction needs from a redactor."""

    def redact_value(self, value: Any, conversation: str | None = None) -> Any: ...


# fields of the interaction record that carry text a user or a tool produced
_SAFE_METADATA_KEYS = frozenset({"span_id", "trace_id", "run_id", "parent_run_id", "langgraph_node", "langgraph_step",
                                 "category", "route", "language", "tags", "ls_provider", "ls_model_name"})


def redact_interaction(it: Interaction, redactor: Redacting) -> Interaction:
    """A redacted copy: input, output, the turn's text, error, every step and decision, and free-form metadata.

    All the texts of one interaction go to the redactor in one call, so it can batch them.
    """
    data = it.to_dict()
    unsafe_meta = [k for k in data["metadata"] if k not in _SAFE_METADATA_KEYS and not k.startswith("flywheel.")]
    text = data.get("text") or {}  # the turn's text (records schema 2)
    parts = {
        "top": [data["input"], data["output"], data["error"], text.get("input", ""), text.get("output", "")],
        "steps": [[s["inputs"], s["outputs"], s["error"]] for s in data["steps"]],
        "decisions": [[d["chosen"], d["candidates"], d["reason"]] for d in data["decisions"]],
        "meta": [data["metadata"][k] for k in unsafe_meta],
    }
    clean = redactor.redact_value(parts, conversation=it.session_id or it.id)
    data["input"], data["output"], data["error"], clean_in, clean_out = clean["top"]
    if data.get("text"):
        data["text"] = {**text, "input": clean_in, "output": clean_out}
    for step, (inputs, outputs, error) in zip(data["steps"], clean["steps"]):
        step["inputs"], step["outputs"], step["error"] = inputs, outputs, error
    for decision, (chosen, candidates, reason) in zip(data["decisions"], clean["decisions"]):
        decision["chosen"], decision["candidates"], decision["reason"] = chosen, candidates, reason
    for key, value in zip(unsafe_meta, clean["meta"]):
        data["metadata"][key] = value
    fingerprint = getattr(redactor, "fingerprint", None)
    if fingerprint is not None:  # exports skip a second full pass over texts redacted like this
        data["metadata"]["flywheel.redaction"] = fingerprint()
    return Interaction.from_dict(data)


def redact_signal(signal: Signal, redactor: Redacting, conversation: str | None) -> Signal:
    """A redacted copy of a signal: its value and its evidence."""
    data = signal.to_dict()
    data["value"] = redactor.redact_value(data["value"], conversation=conversation)
    data["evidence"] = redactor.redact_value(data["evidence"], conversation=conversation)
    return Signal.from_dict(data)
