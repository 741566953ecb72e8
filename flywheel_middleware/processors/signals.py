"""Runs the implicit detectors in the ingest worker, never on the agent's thread.

For each newly stored turn of a session it looks up the session's last user turns and asks:
- did the user restate one of the last ``lookback`` questions (``rephrase`` on that turn), judged
  against a reference sample of the app's past turns (a reservoir the processor keeps from what
  it stores, seeded from the store at start and pruned of erased turns)?
- did the user say the previous answer was wrong (``correction_phrase`` on the previous turn)?
- did the user ask for a human (``escalate`` on the previous turn, or on this one if first)?
On idle ticks it closes sessions that went quiet right after a failure (``abandon``).

Signals are emitted through the durable queue with deterministic ids, so replaying a batch after
a crash cannot duplicate them; their evidence holds scores and cue names, never the texts. A turn
whose text is empty (nothing readable in its input) is neither judged nor used as an earlier turn.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..feedback import make_signal
from ..records import Interaction, Signal
from ..signals.detectors import (
    EarlierTurn,
    AbandonmentConfig,
    AbandonmentRule,
    CorrectionConfig,
    CorrectionDetector,
    EscalationConfig,
    EscalationDetector,
    RephraseConfig,
    RephraseDetector,
)
from ..signals.pair_model import ReferenceSample
from ..store.base import TrajectoryStore
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
    reference_size: int = 2000  # past turns sampled as the rephrase model's reference
    reference_prune_interval_s: float = 60.0  # how often erased turns leave the reference sample

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
        self._last_prune = clock()
        self.reference: ReferenceSample | None = None

    # -- consecutive turns ---------------------------------------------------------------------
    def on_ingested(self, interactions: Sequence[Interaction], embeddings: np.ndarray | None, signals: Sequence[Signal]) -> None:
        enabled = set(self.config.enabled)
        reference = self._reference() if "rephrase" in enabled else None
        for i, current in enumerate(interactions):
            vector = None if embeddings is None or not current.input_text.strip() else embeddings[i]
            if current.session_id:
                for signal in self.detect(current, vector, enabled):
                    self.emit(signal)
            if reference is not None and vector is not None:
                reference.add([current.id], [vector])

    def detect(self, current: Interaction, vector: np.ndarray | None, enabled: set[str]) -> list[Signal]:
        text = current.input_text
        if not text.strip():  # nothing the user said could be read: nothing to judge
            return []
        earlier = self._earlier_turns(current)
        previous = earlier[0] if earlier else None
        out: list[Signal] = []
        if "rephrase" in enabled and vector is not None and earlier:
            result = self.rephrase.detect_in_session(earlier, text, vector, current.started_at,
                                                     reference=self.reference, next_id=current.id)
            if result is not None and result.is_rephrase:
                target = earlier[result.turns_back - 1]
                out.append(self._signal(str(target.id), "rephrase", current, result.confidence, result.evidence))
        if previous is not None and "correction_phrase" in enabled:
            result = self.correction.detect(text, previous.answer)
            if result.is_correction:
                out.append(self._signal(str(previous.id), "correction_phrase", current, result.confidence, result.evidence))
        if "escalate" in enabled:
            result = self.escalation.detect(text)
            if result.is_escalation:
                target = str(previous.id) if previous is not None else current.id
                out.append(self._signal(target, "escalate", current, result.confidence, result.evidence))
        return out

    def _earlier_turns(self, current: Interaction) -> list[EarlierTurn]:
        """The session's last ``lookback`` turns with readable text before ``current``, newest first."""
        if not current.session_id:
            return []
        n = max(1, int(self.rephrase.config.lookback))
        rows = [t for t in self.store.previous_turns(current.session_id, current.started_at, current.id, n + 2)
                if t.input_text.strip()][:n]
        rewards = self.store.rewards_for([t.interaction_id for t in rows]) if rows else {}
        out = []
        for t in rows:
            reward = rewards.get(t.interaction_id)
            out.append(EarlierTurn(t.input_text, t.embedding, t.output_text,
                                   reward is not None and reward.label == "good", float(t.ended_at), t.interaction_id))
        return out

    # -- the rephrase model's reference sample -------------------------------------------------
    def _reference(self) -> ReferenceSample:
        """The reservoir of past turn vectors, seeded from the store on first use."""
        if self.reference is None:
            sample = ReferenceSample(self.config.reference_size)
            try:
                seen, ids, vectors = self._stored_sample(self.config.reference_size)
                sample.seed(ids, vectors, population=seen)
            except Exception:  # noqa: BLE001 - a store without vectors yet: start empty
                pass
            self.reference = sample
        return self.reference

    def _stored_sample(self, n: int) -> tuple[int, list[str], list[np.ndarray]]:
        """(embedded turns in the store, ids, vectors) of a uniform sample of up to ``n`` of them."""
        top = int(self.store.max_key())
        if top <= 0:
            return 0, [], []
        rng = np.random.default_rng(0)
        keys = np.unique(rng.integers(1, top + 1, size=min(top, 3 * n))).astype(np.int64)
        found, vectors = self.store.embeddings_for(keys)
        keys, vectors = keys[found], vectors[found]
        ids_by_key = self.store.ids_for_keys([int(k) for k in keys])
        rows = [(ids_by_key[int(k)], vectors[i]) for i, k in enumerate(keys) if int(k) in ids_by_key]
        order = rng.permutation(len(rows))[:n]
        return top, [rows[i][0] for i in order], [rows[i][1] for i in order]  # keys ~ turns stored so far

    def _prune_reference(self) -> None:
        """Erased turns leave the reference sample (erasure removes a user everywhere)."""
        sample = self.reference
        if sample is None or not len(sample):
            return
        ids = sample.ids
        alive = self.store.existing_ids(ids)
        sample.remove([i for i in ids if i not in alive])

    def _signal(self, target: str, kind: str, trigger: Interaction, confidence: float, evidence: dict[str, Any]) -> Signal:
        detail = {"trigger_interaction_id": trigger.id, "confidence": round(float(confidence), 4)}
        detail.update(_numbers_and_cues(evidence))
        return make_signal(target, kind, None, source="implicit", evidence=detail, at=trigger.started_at)

    # -- idle sessions --------------------------------------------------------------------------
    def on_idle(self) -> None:
        now = self.clock()
        if self.reference is not None and now - self._last_prune >= self.config.reference_prune_interval_s:
            self._last_prune = now
            self._prune_reference()
        if "abandon" not in self.config.enabled:
            return
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


_EVIDENCE_KEYS = frozenset((
    "similarity", "overlap", "gap_s", "probability", "threshold", "reference", "rank_next", "turns_back",
    "rephrase_cues", "follow_up_cues", "acknowledged", "reason", "pattern", "negated", "start_word",
))


def _numbers_and_cues(evidence: dict[str, Any]) -> dict[str, Any]:
    """Keep the detectors' scores, flags and cue / pattern names (a fixed set of keys); anything
    else, in particular any text of the user's, is dropped."""
    keep: dict[str, Any] = {}
    for key, value in evidence.items():
        if key not in _EVIDENCE_KEYS:
            continue
        if isinstance(value, (int, float, bool)) or value is None:
            keep[key] = value
        elif isinstance(value, str) and len(value) <= 40:
            keep[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) and len(v) <= 40 for v in value):
            keep[key] = list(value)[:10]
    return keep
