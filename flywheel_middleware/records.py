"""The records the flywheel keeps: interactions, their steps and routing decisions, and signals.

Every record is a plain dataclass with a versioned JSON form (``to_dict`` / ``from_dict``), so a
queue segment or an export written by one version of the library can be read by the next.
"""

from __future__ import annotations

import base64
import math
import re
import time
import uuid
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from .errors import RecordError  # re-exported: its home before errors.py
from .turn_text import TurnText, text_of, turn_text  # noqa: F401 - text_of: its home before turn_text.py

SCHEMA_VERSION = 2
"""2: ``Interaction.text`` (the turn's text, :class:`~flywheel_middleware.turn_text.TurnText`); version-1
records are read as before and get their text from :func:`~flywheel_middleware.turn_text.turn_text`."""

StepKind = Literal["llm", "tool", "retrieval", "chain", "agent", "embedding", "other"]
Status = Literal["ok", "error", "aborted"]
SignalSource = Literal["explicit", "implicit", "judge"]

STEP_KINDS: frozenset[str] = frozenset(("llm", "tool", "retrieval", "chain", "agent", "embedding", "other"))
STATUSES: frozenset[str] = frozenset(("ok", "error", "aborted"))
SIGNAL_SOURCES: frozenset[str] = frozenset(("explicit", "implicit", "judge"))


def new_id() -> str:
    """A fresh interaction / signal id (a UUID4 string, like LangChain run ids)."""
    return str(uuid.uuid4())


# JSON text is UTF-8 and has no NaN, so these cannot be kept as they are (see ``to_jsonable``)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
#: timestamps must be finite and within about +-3000 years of 1970 (``datetime`` and SQLite cope)
MAX_TIMESTAMP = 1e11


def clean_text(value: str) -> str:
    """``value`` with lone UTF-16 surrogates (half an emoji) replaced by U+FFFD: they are not
    Unicode text, cannot be encoded as UTF-8, and would break every later stage."""
    if value.isascii() or _LONE_SURROGATE.search(value) is None:
        return value
    return _LONE_SURROGATE.sub("\ufffd", value)


def has_lone_surrogate(value: str) -> bool:
    return not value.isascii() and _LONE_SURROGATE.search(value) is not None


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """Turn arbitrary payloads (messages, documents, bytes, objects) into strict-JSON data.

    Framework objects are not JSON; we keep what a person would want to read back (their
    ``dict()``/``model_dump()`` when they have one, else ``repr``), and never fail. Values
    strict JSON cannot hold are normalised, not dropped: NaN and infinities become ``None``
    (``null``), integers beyond 64 bits their decimal text, lone surrogates U+FFFD.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, int):
        return value if _INT64_MIN <= value <= _INT64_MAX else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if _depth > 12:
        return clean_text(repr(value)[:1000])
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return {"__binary__": True, "size": len(raw), "b64_prefix": base64.b64encode(raw[:48]).decode()}
    if isinstance(value, dict):
        return {clean_text(str(k)): to_jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v, _depth + 1) for v in value]
    if hasattr(value, "to_dict") and callable(value.to_dict):
        try:
            return to_jsonable(value.to_dict(), _depth + 1)
        except Exception:  # noqa: BLE001 - best effort on foreign objects
            pass
    if hasattr(value, "model_dump") and callable(value.model_dump):
        try:
            return to_jsonable(value.model_dump(), _depth + 1)
        except Exception:  # noqa: BLE001
            pass
    return clean_text(repr(value)[:10_000])


def check_timestamp(name: str, value: Any, *, optional: bool = False) -> None:
    """Raise ``RecordError`` unless ``value`` is a finite unix timestamp (or None when optional).

    NaN sorts nowhere and SQLite stores it as NULL, so a NaN ``started_at`` would escape retention
    for ever and a NaN signal time would break the reward: refused here, with the field's name."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(f"{name} must be a unix timestamp (seconds), got {value!r}")
    if not math.isfinite(value) or abs(value) > MAX_TIMESTAMP:
        raise RecordError(f"{name} must be a finite unix timestamp within +-{MAX_TIMESTAMP:.0e} s, got {value!r}")


def check_text(name: str, value: Any) -> None:
    """An identifier must be valid Unicode text: a lone surrogate in an id cannot be stored or matched."""
    if isinstance(value, str) and has_lone_surrogate(value):
        raise RecordError(f"{name} contains a lone UTF-16 surrogate (invalid Unicode): {value.encode('utf-8', 'backslashreplace')[:80]!r}")


@dataclass(slots=True)
class Step:
    """One unit of work inside a turn: an LLM call, a tool call, a retrieval, a chain."""

    kind: str
    name: str
    inputs: Any = None
    outputs: Any = None
    started_at: float | None = None
    ended_at: float | None = None
    error: str | None = None
    run_id: str | None = None
    parent_run_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "inputs": to_jsonable(self.inputs),
            "outputs": to_jsonable(self.outputs),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "error": self.error,
            "run_id": self.run_id,
            "parent_run_id": self.parent_run_id,
            "metadata": to_jsonable(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        return cls(**_known(cls, data))

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


@dataclass(slots=True)
class RoutingDecision:
    """A choice the agent made between alternatives: tools, graph edges, a router's engines."""

    decider: str  # "model" | "router" | "graph_edge" | "user_code" ...
    chosen: Any
    candidates: list[Any] = field(default_factory=list)
    reason: str | None = None
    name: str | None = None  # which router / node / model decided
    at: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decider": self.decider,
            "chosen": to_jsonable(self.chosen),
            "candidates": to_jsonable(self.candidates),
            "reason": self.reason,
            "name": self.name,
            "at": self.at,
            "metadata": to_jsonable(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoutingDecision:
        return cls(**_known(cls, data))


@dataclass(slots=True)
class Interaction:
    """One user turn and everything the agent did to answer it."""

    input: Any
    output: Any = None
    id: str = field(default_factory=new_id)
    session_id: str | None = None
    user_id: str | None = None
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    model_version: str | None = None
    prompt_version: str | None = None
    status: str = "ok"
    error: str | None = None
    steps: list[Step] = field(default_factory=list)
    decisions: list[RoutingDecision] = field(default_factory=list)
    few_shot_ids: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    text: TurnText | None = None  # the turn's text; None: derived from input/output/steps when read
    schema_version: int = SCHEMA_VERSION

    def validate(self) -> None:
        """Raise ``RecordError`` with a reason a person can act on."""
        if not isinstance(self.id, str) or not self.id:
            raise RecordError(f"interaction id must be a non-empty string, got {self.id!r}")
        if self.status not in STATUSES:
            raise RecordError(f"status must be one of {sorted(STATUSES)}, got {self.status!r}")
        for name in ("session_id", "user_id", "model_version", "prompt_version"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise RecordError(f"{name} must be a string or None, got {type(value).__name__}")
            check_text(name, value)
        check_text("id", self.id)
        check_timestamp("started_at", self.started_at)
        check_timestamp("ended_at", self.ended_at, optional=True)
        if not isinstance(self.steps, list) or not all(isinstance(s, Step) for s in self.steps):
            raise RecordError("steps must be a list of Step")
        for i, step in enumerate(self.steps):
            check_timestamp(f"steps[{i}].started_at", step.started_at, optional=True)
            check_timestamp(f"steps[{i}].ended_at", step.ended_at, optional=True)
        if not isinstance(self.decisions, list) or not all(isinstance(d, RoutingDecision) for d in self.decisions):
            raise RecordError("decisions must be a list of RoutingDecision")
        for i, decision in enumerate(self.decisions):
            check_timestamp(f"decisions[{i}].at", decision.at, optional=True)
        if not isinstance(self.metadata, dict):
            raise RecordError("metadata must be a dict")
        if self.text is not None and not isinstance(self.text, TurnText):
            raise RecordError(f"text must be a TurnText or None, got {type(self.text).__name__}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "id": self.id,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "input": to_jsonable(self.input),
            "output": to_jsonable(self.output),
            "model_version": self.model_version,
            "prompt_version": self.prompt_version,
            "status": self.status,
            "error": self.error,
            "steps": [s.to_dict() for s in self.steps],
            "decisions": [d.to_dict() for d in self.decisions],
            "few_shot_ids": list(self.few_shot_ids),
            "metadata": to_jsonable(self.metadata),
            "text": None if self.text is None else self.text.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Interaction:
        if not isinstance(data, dict):
            raise RecordError(f"an interaction must be a dict, got {type(data).__name__}")
        version = data.get("schema_version", SCHEMA_VERSION)
        if version > SCHEMA_VERSION:
            raise RecordError(f"interaction schema version {version} is newer than this library ({SCHEMA_VERSION})")
        if "input" not in data:
            raise RecordError("an interaction needs an 'input'")
        values = _known(cls, data)
        values["steps"] = [Step.from_dict(s) for s in data.get("steps") or []]
        values["decisions"] = [RoutingDecision.from_dict(d) for d in data.get("decisions") or []]
        values["text"] = TurnText.from_dict(data.get("text"))
        values["schema_version"] = SCHEMA_VERSION
        return cls(**values)

    def fill_text(self) -> TurnText:
        """Set (and return) ``text`` from the input, output and steps unless it is already set."""
        if self.text is None:
            self.text = turn_text(self)
        return self.text

    @property
    def input_text(self) -> str:
        """What the user said in this turn (see :mod:`flywheel_middleware.turn_text`)."""
        return (self.text if self.text is not None else turn_text(self)).input

    @property
    def output_text(self) -> str:
        """What the agent answered in this turn."""
        return (self.text if self.text is not None else turn_text(self)).output


@dataclass(slots=True)
class Signal:
    """Evidence about how good an interaction was: what the user did or said, or a judge's verdict."""

    interaction_id: str
    kind: str
    value: Any = None
    source: str = "explicit"
    actor: str | None = None
    at: float = field(default_factory=time.time)
    evidence: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    schema_version: int = SCHEMA_VERSION

    def validate(self) -> None:
        if not isinstance(self.interaction_id, str) or not self.interaction_id:
            raise RecordError(f"signal needs an interaction id, got {self.interaction_id!r}")
        if not isinstance(self.kind, str) or not self.kind:
            raise RecordError(f"signal kind must be a non-empty string, got {self.kind!r}")
        if self.source not in SIGNAL_SOURCES:
            raise RecordError(f"signal source must be one of {sorted(SIGNAL_SOURCES)}, got {self.source!r}")
        if self.actor is not None and not isinstance(self.actor, str):
            raise RecordError(f"signal actor must be a string or None, got {type(self.actor).__name__}")
        for name in ("id", "interaction_id", "kind", "actor"):
            check_text(f"signal {name}", getattr(self, name))
        check_timestamp("signal at", self.at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "id": self.id,
            "interaction_id": self.interaction_id,
            "kind": self.kind,
            "value": to_jsonable(self.value),
            "source": self.source,
            "actor": self.actor,
            "at": self.at,
            "evidence": to_jsonable(self.evidence),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signal:
        if not isinstance(data, dict):
            raise RecordError(f"a signal must be a dict, got {type(data).__name__}")
        values = _known(cls, data)
        values["schema_version"] = SCHEMA_VERSION
        return cls(**values)


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The fields ``cls`` knows; unknown keys (from a newer writer) are ignored, not fatal."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}
