"""Explicit feedback: the signal kinds an app may send, their values, and idempotent ids.

Duplicates are idempotent: a signal's id is a hash of (interaction, kind, actor, value), so a
double click or a retried HTTP request stores one signal. A changed mind (rating 3, then 5) is a
new signal; the reward uses the latest one per actor and kind.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import time
from dataclasses import dataclass
from typing import Any, Callable

from .errors import SignalError
from .records import RecordError, Signal, check_text, check_timestamp, to_jsonable


@dataclass(frozen=True, slots=True)
class SignalKind:
    """What a kind means and which values it accepts."""

    name: str
    polarity: int  # +1 success, -1 failure, 0 neutral/informative
    description: str
    check: Callable[[Any], Any] | None = None  # validates/normalises the value; raises SignalError


def _no_value(value: Any) -> Any:
    if value not in (None, True, 1):
        raise SignalError(f"this signal takes no value, got {value!r}")
    return None


def _rating(value: Any) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value))
            or not 1 <= value <= 5 or int(value) != value):
        raise SignalError(f"a rating is an integer from 1 to 5, got {value!r}")
    return int(value)


def _score(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 1:
        raise SignalError(f"a judge score is a number in [0, 1], got {value!r}")
    return float(value)


def _optional_text(value: Any) -> Any:
    if value is not None and not isinstance(value, str):
        raise SignalError(f"expected text or nothing, got {type(value).__name__}")
    return value


def _correction(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("edited"), str) or not value["edited"].strip():
        raise SignalError("a correction needs the edited output as non-empty text")
    return value


def _preference(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) and value[k].strip() for k in ("chosen", "rejected")):
        raise SignalError("a preference needs non-empty 'chosen' and 'rejected' texts")
    if value["chosen"] == value["rejected"]:
        raise SignalError("a preference needs two different answers")
    return value


SIGNAL_KINDS: dict[str, SignalKind] = {k.name: k for k in [
    SignalKind("thumbs_up", +1, "the user liked the answer", _no_value),
    SignalKind("thumbs_down", -1, "the user disliked the answer", _no_value),
    SignalKind("rating", 0, "a 1-5 rating (4-5 good, 1-2 bad, 3 neutral)", _rating),
    SignalKind("copy", +1, "the user copied (part of) the answer; value: the copied text", _optional_text),
    SignalKind("regenerate", -1, "the user asked for another answer", _no_value),
    SignalKind("abort", -1, "the run was stopped or cancelled before it finished", _optional_text),
    SignalKind("escalate", -1, "the user or agent handed off to a human", _optional_text),
    SignalKind("correction", -1, "the user supplied the right answer; value: {edited, diff}", _correction),
    SignalKind("preference", 0, "a pairwise choice; value: {chosen, rejected}", _preference),
    SignalKind("rephrase", -1, "the next message restated this one (implicit)", None),
    SignalKind("correction_phrase", -1, "the next message said the answer was wrong (implicit)", None),
    SignalKind("abandon", -1, "the session went idle right after a failure (implicit)", None),
    SignalKind("comment", 0, "free text from the user", _optional_text),
    SignalKind("judge", 0, "a score from an LLM or rule judge; value: a number in [0, 1]", _score),
]}
ALIASES = {"stop": "abort", "thumbsup": "thumbs_up", "thumbsdown": "thumbs_down", "like": "thumbs_up",
           "dislike": "thumbs_down", "up": "thumbs_up", "down": "thumbs_down", "copied": "copy"}


def canonical_kind(kind: str) -> str:
    if not isinstance(kind, str):
        raise SignalError(f"signal kind must be a string, got {type(kind).__name__}")
    name = ALIASES.get(kind.strip().lower(), kind.strip().lower())
    if name not in SIGNAL_KINDS:
        raise SignalError(f"unknown signal kind {kind!r}; known kinds: {sorted(SIGNAL_KINDS)} (aliases: {sorted(ALIASES)})")
    return name


def signal_id(interaction_id: str, kind: str, actor: str | None, value: Any, source: str) -> str:
    """Deterministic id: the same feedback twice is one signal."""
    payload = json.dumps([interaction_id, kind, actor, to_jsonable(value), source], sort_keys=True, default=repr)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def make_signal(
    interaction_id: str,
    kind: str,
    value: Any = None,
    *,
    source: str = "explicit",
    actor: str | None = None,
    evidence: dict[str, Any] | None = None,
    at: float | None = None,
) -> Signal:
    """A validated signal with its idempotent id; raises ``SignalError`` saying what is wrong.

    Free text (a comment, copied text, a correction) is kept, with lone surrogates replaced by
    U+FFFD (they are not Unicode and cannot be stored); a value or time that is not a finite number
    where one is needed (NaN, Infinity) is refused."""
    name = canonical_kind(kind)
    spec = SIGNAL_KINDS[name]
    value = to_jsonable(value) if not isinstance(value, (int, float)) or isinstance(value, bool) else value
    if spec.check is not None:
        value = spec.check(value)
    if evidence is not None and not isinstance(evidence, dict):
        raise SignalError(f"evidence must be a dict, got {type(evidence).__name__}")
    try:
        check_timestamp("at", time.time() if at is None else at)
        check_text("actor", actor)
        signal = Signal(interaction_id=interaction_id, kind=name, value=to_jsonable(value), source=source, actor=actor,
                        at=time.time() if at is None else float(at), evidence=to_jsonable(dict(evidence or {})),
                        id=signal_id(interaction_id, name, actor, value, source))
        signal.validate()
    except RecordError as exc:
        raise SignalError(str(exc)) from exc
    return signal


def correction_value(original: str, edited: str) -> dict[str, Any]:
    """The edited answer plus a unified diff against what the agent said (kept for review)."""
    diff = "\n".join(difflib.unified_diff(original.splitlines(), edited.splitlines(), "agent", "user", lineterm=""))
    return {"edited": edited, "diff": diff}
