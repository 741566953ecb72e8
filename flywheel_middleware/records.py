"""The records the flywheel keeps: interactions, their steps and routing decisions, and signals.

Every record is a plain dataclass with a versioned JSON form (``to_dict`` / ``from_dict``), so a
queue segment or an export written by one version of the library can be read by the next.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from .turn_text import TurnText, text_of, turn_text

SCHEMA_VERSION = 2
"""2: ``Interaction.text`` (the turn's text, :class:`~flywheel_middleware.turn_text.TurnText`); version-1
records are read as before and get their text from :func:`~flywheel_middleware.turn_text.turn_text`."""

StepKind = Literal["llm", "tool", "retrieval", "chain", "agent", "embedding", "other"]
Status = Literal["ok", "error", "aborted"]
SignalSource = Literal["explicit", "implicit", "judge"]

STEP_KINDS: frozenset[str] = frozenset(("llm", "tool", "retrieval", "chain", "agent", "embedding", "other"))
STATUSES: frozenset[str] = frozenset(("ok", "error", "aborted"))
SIGNAL_SOURCES: frozenset[str] = frozenset(("explicit", "implicit", "judge"))


class RecordError(ValueError):
    """A record that cannot be accepted: wrong type, bad field, unknown schema version."""


def new_id() -> str:
    """A fresh interaction / signal id (a UUID4 string, like LangChain run ids)."""
    return str(uuid.uuid4())


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """Turn arbitrary payloads (messages, documents, bytes, objects) into JSON-safe data.

    Framework objects are not JSON; we keep what a person would want to read back (their
    ``dict()``/``model_dump()`` when they have one, else ``repr``), and never fail.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if _depth > 12:
        return repr(value)[:1000]
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return {"__binary__": True, "size": len(raw), "b64_prefix": base64.b64encode(raw[:48]).decode()}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, _depth + 1) for k, v in value.items()}
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
    return repr(value)[:10_000]


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
        if not isinstance(self.started_at, (int, float)):
            raise RecordError(f"started_at must be a unix timestamp, got {self.started_at!r}")
        if not isinstance(self.steps, list) or not all(isinstance(s, Step) for s in self.steps):
            raise RecordError("steps must be a list of Step")
        if not isinstance(self.decisions, list) or not all(isinstance(d, RoutingDecision) for d in self.decisions):
            raise RecordError("decisions must be a list of RoutingDecision")
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
