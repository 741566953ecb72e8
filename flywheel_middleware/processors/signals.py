"""Runs the implicit detectors in the ingest worker, never on the agent's thread.

For each newly stored turn of a session it looks up the session's previous turn and asks:
- did the user restate the previous question (``rephrase`` on the previous turn)?
- did the user say the previous answer was wrong (``correction_phrase`` on the previous turn)?
- did the user ask for a human (``escalate`` on the previous turn, or on this one if first)?
On idle ticks it closes sessions that went quiet right after a failure (``abandon``).

Signals are emitted through the durable queue with deterministic ids, so replaying a batch after
a crash cannot duplicate them; their evidence holds scores and cues, never the texts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..feedback import make_signal
from ..records import Interaction, Signal
from ..signals.detectors import (
    AbandonmentConfig,
    AbandonmentRule,
    CorrectionConfig,
    CorrectionDetector,
    EscalationConfig,
    EscalationDetector,
    RephraseConfig,
    RephraseDetector,
)
from ..store.base import PreviousTurn, TrajectoryStore
from .base import Processor


@dataclass
class SignalsConfig:
    """``FlywheelConfig.signals``: which detectors run and their thresholds."""

    rephrase: dict[str, Any] = field(default_factory=dict)
    correction: dict[str, Any] = field(default_factory=dict)
    escalation: dict[str, Any] = field(default_factory=dict)
    abandonment: dict[str, Any] = field(default_factory=dict)
    enabled: tuple[str, ...] = ("rephrase", "correction_phrase", "escalate", "abandon")
    abandonment_check_interval_s: float = 30.0
    abandonment_horizon_s: float = 7 * 86_400.0  # sessions idle longer than this are not revisited

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SignalsConfig:
        data = dict(data)
        if "enabled" in data:
            data["enabled"] = tuple(data["enabled"])
        return cls(**data)


class SignalDetectionProcessor(Processor):
    """Worker processor: implicit signals from consecutive turns and idle sessions."""

    def __init__(self, store: TrajectoryStore, emit: Callable[[Signal], bool], config: SignalsConfig | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.emit = emit
        self.config = config or SignalsConfig()
        self.rephrase = RephraseDetector(RephraseConfig(**self.config.rephrase))
        self.correction = CorrectionDetector(CorrectionConfig(**self.config.correction))
        self.escalation = EscalationDetector(EscalationConfig(**self.config.escalation))
        self.abandonment = AbandonmentRule(AbandonmentConfig(**self.config.abandonment))
        self.clock = clock
        self._last_abandon_check = 0.0

    # -- consecutive turns ---------------------------------------------------------------------
    def on_ingested(self, interactions: Sequence[Interaction], embeddings: np.ndarray | None, signals: Sequence[Signal]) -> None:
        enabled = set(self.config.enabled)
        for i, current in enumerate(interactions):
            if not current.session_id:
                continue
            vector = None if embeddings is None else embeddings[i]
            for signal in self.detect(current, vector, enabled):
                self.emit(signal)

    def detect(self, current: Interaction, vector: np.ndarray | None, enabled: set[str]) -> list[Signal]:
        previous = self._previous_turn(current)
        text = current.input_text
        out: list[Signal] = []
        if previous is not None:
            prev_id, prev_text, prev_answer, prev_end, prev_vector = previous
            gap = max(0.0, current.started_at - prev_end)
            if "rephrase" in enabled and vector is not None and prev_vector is not None:
                reward = self.store.rewards_for([prev_id]).get(prev_id)
                label = reward.label if reward is not None else "unknown"
                result = self.rephrase.detect(prev_text, text, prev_vector, vector, gap, prev_answer=prev_answer,
                                              prev_answer_good=label == "good")
                if result.is_rephrase:
                    out.append(self._signal(prev_id, "rephrase", current, result.confidence, result.evidence))
            if "correction_phrase" in enabled:
                result = self.correction.detect(text, prev_answer)
                if result.is_correction:
                    out.append(self._signal(prev_id, "correction_phrase", current, result.confidence, result.evidence))
        if "escalate" in enabled:
            result = self.escalation.detect(text)
            if result.is_escalation:
                target = previous[0] if previous is not None else current.id
                out.append(self._signal(target, "escalate", current, result.confidence, result.evidence))
        return out

    def _previous_turn(self, current: Interaction) -> PreviousTurn | None:
        if not current.session_id:
            return None
        return self.store.previous_turn(current.session_id, current.started_at, current.id)

    def _signal(self, target: str, kind: str, trigger: Interaction, confidence: float, evidence: dict[str, Any]) -> Signal:
        detail = {"trigger_interaction_id": trigger.id, "confidence": round(float(confidence), 4)}
        detail.update(_numbers_and_cues(evidence))
        return make_signal(target, kind, None, source="implicit", evidence=detail, at=trigger.started_at)

    # -- idle sessions --------------------------------------------------------------------------
    def on_idle(self) -> None:
        if "abandon" not in self.config.enabled:
            return
        now = self.clock()
        if now - self._last_abandon_check < self.config.abandonment_check_interval_s:
            return
        self._last_abandon_check = now
        for signal in self.check_abandoned(now):
            self.emit(signal)

    def check_abandoned(self, now: float) -> list[Signal]:
        timeout = self.abandonment.config.timeout_s
        tails = self.store.stale_sessions(now - timeout, now - timeout - self.config.abandonment_horizon_s)
        out = []
        for _session, iid, last in tails:
            kinds = self.store.signals_for([iid]).get(iid, [])
            if any(s.kind == "abandon" for s in kinds):
                continue
            result = self.abandonment.evaluate(float(last), now, kinds)
            if result.is_abandoned:
                out.append(make_signal(iid, "abandon", None, source="implicit", evidence=result.evidence, at=now))
        return out


def _numbers_and_cues(evidence: dict[str, Any]) -> dict[str, Any]:
    """Keep scores, flags and matched cue names; drop anything that could quote the user at length."""
    keep: dict[str, Any] = {}
    for key, value in evidence.items():
        if isinstance(value, (int, float, bool)) or value is None:
            keep[key] = value
        elif isinstance(value, str) and len(value) <= 80:
            keep[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) and len(v) <= 40 for v in value):
            keep[key] = list(value)[:10]
    return keep
