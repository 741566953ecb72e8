"""Record-level redaction: every free-text field of an interaction or a signal goes through the
redactor before it is stored.

What is redacted: input, output, error, every field of ``Interaction`` this module does not know
(new fields such as the turn's text are redacted by default), every metadata value (tags
included) and metadata key, each step's name, inputs, outputs, error and metadata, each routing
decision's chosen value, candidates, reason, name and metadata, and a signal's value and evidence.

What is kept as is: structural fields (ids of the record, its runs and spans, timestamps, status,
step kind, schema version, the few-shot ids, model and prompt versions) and ``user_id`` /
signal ``actor``, which are the keys of opt-out and erasure. ``session_id`` is kept verbatim when
the redactor finds nothing in it; one that holds PII (``"chat of ann@example.com"``) is stored as
``stored_session_id(value)``, a stable hash, so the turns of a session stay together and
``fw.interactions(session_id=raw)`` still finds them (it looks up both forms).

All the texts of a batch go to the redactor in one call (``redact_interactions``), so it can
analyse repeated texts once and run its NER model batched.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol, Sequence

from ..records import Interaction, Signal

__all__ = ["Redacting", "redact_interaction", "redact_interactions", "redact_signal", "stored_session_id"]


class Redacting(Protocol):
    """What record redaction needs from a redactor."""

    def redact_value(self, value: Any, conversation: str | None = None) -> Any: ...


#: Interaction fields that are structure, not text anybody typed.
_KEEP_TOP = frozenset({"schema_version", "id", "user_id", "started_at", "ended_at", "status", "few_shot_ids",
                       "model_version", "prompt_version", "session_id", "steps", "decisions", "metadata"})
_KEEP_STEP = frozenset({"kind", "started_at", "ended_at", "run_id", "parent_run_id"})
_KEEP_DECISION = frozenset({"decider", "at"})
#: metadata keys whose values are ids the library itself wrote (span/run ids, graph step numbers)
_ID_METADATA_KEYS = frozenset({"span_id", "trace_id", "run_id", "parent_run_id", "langgraph_step",
                               "langgraph_checkpoint_ns", "checkpoint_ns", "thread_id"})
_SESSION_PREFIX = "sid:"


def stored_session_id(session_id: str) -> str:
    """The stable stand-in stored for a session id that holds PII."""
    if session_id.startswith(_SESSION_PREFIX):
        return session_id
    return _SESSION_PREFIX + hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:24]


def _metadata_parts(meta: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    free = [k for k in meta if not (k in _ID_METADATA_KEYS or k.startswith("flywheel."))]
    return free, {k: meta[k] for k in free}


def _parts(data: dict[str, Any]) -> dict[str, Any]:
    """Everything to redact in one interaction dict, in a shape ``_apply`` puts back."""
    meta_keys, meta = _metadata_parts(data.get("metadata") or {})
    return {
        "top": {k: v for k, v in data.items() if k not in _KEEP_TOP},
        "session": data.get("session_id"),
        "meta": meta,
        "steps": [{k: v for k, v in s.items() if k not in _KEEP_STEP} for s in data.get("steps") or []],
        "decisions": [{k: v for k, v in d.items() if k not in _KEEP_DECISION} for d in data.get("decisions") or []],
        "_meta_keys": meta_keys,
    }


def _apply(data: dict[str, Any], parts: dict[str, Any], clean: dict[str, Any]) -> None:
    data.update(clean["top"])
    raw_session = parts["session"]
    if isinstance(raw_session, str) and clean["session"] != raw_session:
        data["session_id"] = stored_session_id(raw_session)
    meta = data.get("metadata") or {}
    for key in parts["_meta_keys"]:
        meta.pop(key, None)
    meta.update(clean["meta"])  # keys redacted too: a key can be an email
    data["metadata"] = meta
    for step, cleaned in zip(data.get("steps") or [], clean["steps"]):
        step.update(cleaned)
    for decision, cleaned in zip(data.get("decisions") or [], clean["decisions"]):
        decision.update(cleaned)


def _fingerprint(redactor: Any) -> str | None:
    fingerprint = getattr(redactor, "fingerprint", None)
    return fingerprint() if fingerprint is not None else None


def redact_interactions(interactions: Sequence[Interaction], redactor: Redacting) -> list[Interaction]:
    """Redacted copies of ``interactions``; one redactor call for the whole batch when it can."""
    datas = [it.to_dict() for it in interactions]
    parts = [_parts(d) for d in datas]
    payloads = [{k: v for k, v in p.items() if not k.startswith("_")} for p in parts]
    conversations = [it.session_id or it.id for it in interactions]
    many = getattr(redactor, "redact_values", None)
    if many is not None:
        cleaned = many(payloads, conversations)
    else:
        cleaned = [redactor.redact_value(p, conversation=c) for p, c in zip(payloads, conversations)]
    stamp = _fingerprint(redactor)
    out = []
    for data, part, clean in zip(datas, parts, cleaned):
        _apply(data, part, clean)
        if stamp is not None:  # exports skip a second full pass over texts redacted like this
            data["metadata"]["flywheel.redaction"] = stamp
        out.append(Interaction.from_dict(data))
    return out


def redact_interaction(it: Interaction, redactor: Redacting) -> Interaction:
    """A redacted copy of one interaction (see the module docstring for the fields)."""
    return redact_interactions([it], redactor)[0]


def redact_signal(signal: Signal, redactor: Redacting, conversation: str | None) -> Signal:
    """A redacted copy of a signal: its value and its evidence."""
    data = signal.to_dict()
    data["value"], data["evidence"] = redactor.redact_value([data["value"], data["evidence"]], conversation=conversation)
    return Signal.from_dict(data)
