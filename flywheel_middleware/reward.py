"""Reward: one documented aggregation of an interaction's signals into label, reward, confidence.

The rule (README "Reward"):
1. Per actor and kind only the latest signal counts (a changed rating replaces the old one);
   duplicates were already collapsed by their deterministic ids.
2. Each signal contributes ``weight(kind) * strength(value)``: e.g. thumbs_up +1, rating 5 +1 and
   rating 1 -1, correction -1, rephrase -0.5. A run that ended in an error adds ``error_weight``.
3. Anti-poisoning: one actor's contributions to one interaction are clipped to ``[-actor_cap,
   actor_cap]``, and an actor over ``daily_signal_cap`` explicit signals in 24 h stops counting.
4. ``reward = tanh(sum)`` in (-1, 1).
5. Confidence grows with *independent* agreeing evidence: every actor (implicit detectors count
   as one actor "system") whose net contribution has the reward's sign adds its strength ``s``
   as ``conf = 1 - prod(1 - s)``; disagreement multiplies it by ``agree / (agree + disagree)``.
6. ``good`` when reward >= ``good_threshold`` and confidence >= ``min_confidence``; ``bad`` when
   reward <= -``bad_threshold`` with the same confidence; otherwise ``unknown``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from .records import Signal

DEFAULT_WEIGHTS: dict[str, float] = {
    "thumbs_up": 1.0,
    "thumbs_down": -1.0,
    "rating": 1.0,  # scaled by (rating - 3) / 2
    "copy": 0.6,
    "regenerate": -0.6,
    "abort": -0.7,
    "escalate": -0.8,
    "correction": -1.0,
    "correction_phrase": -0.7,
    "rephrase": -0.5,
    "abandon": -0.4,
    "judge": 0.5,  # scaled by 2 * score - 1
    "preference": 0.0,
    "comment": 0.0,
}


@dataclass
class RewardConfig:
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    error_weight: float = -0.5
    actor_cap: float = 1.0
    daily_signal_cap: int = 200
    good_threshold: float = 0.3
    bad_threshold: float = 0.3
    min_confidence: float = 0.5

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RewardConfig:
        data = dict(data)
        weights = dict(DEFAULT_WEIGHTS)
        weights.update(data.pop("weights", {}) or {})
        return cls(weights=weights, **data)


@dataclass(frozen=True, slots=True)
class Reward:
    label: str  # "good" | "bad" | "unknown"
    reward: float
    confidence: float
    n_signals: int
    contributions: dict[str, float] = field(default_factory=dict)  # per actor, after caps


def _strength(signal: Signal) -> float:
    if signal.kind == "rating":
        try:
            return (float(signal.value) - 3.0) / 2.0
        except (TypeError, ValueError):
            return 0.0
    if signal.kind == "judge":
        try:
            return 2.0 * min(1.0, max(0.0, float(signal.value))) - 1.0
        except (TypeError, ValueError):
            return 0.0
    return 1.0


def aggregate(
    signals: Sequence[Signal],
    *,
    status: str | None = None,
    config: RewardConfig | None = None,
    muted_actors: Iterable[str] = (),
) -> Reward:
    """The reward of one interaction from its signals (see the module docstring for the rule)."""
    config = config or RewardConfig()
    muted = set(muted_actors)
    latest: dict[tuple[str, str], Signal] = {}
    for signal in sorted(signals, key=lambda s: s.at):
        actor = signal.actor if signal.source == "explicit" and signal.actor else "system" if signal.source != "explicit" else "anonymous"
        if signal.source == "explicit" and actor in muted:
            continue
        latest[(actor, signal.kind)] = signal
    per_actor: dict[str, float] = defaultdict(float)
    for (actor, kind), signal in latest.items():
        per_actor[actor] += config.weights.get(kind, 0.0) * _strength(signal)
    if status == "error":
        per_actor["system"] += config.error_weight
    # an actor whose signals cancel out (a thumbs up, then a correction) stays listed with 0.0
    capped = {a: max(-config.actor_cap, min(config.actor_cap, v)) for a, v in per_actor.items()}
    total = sum(capped.values())
    reward = math.tanh(total)
    confidence = 0.0
    if total != 0.0:
        agree = [abs(v) for v in capped.values() if (v > 0) == (total > 0)]
        disagree = [abs(v) for v in capped.values() if (v > 0) != (total > 0)]
        miss = 1.0
        for strength in agree:
            miss *= 1.0 - min(0.95, strength)
        confidence = (1.0 - miss) * (sum(agree) / (sum(agree) + sum(disagree)))
    label = "unknown"
    if confidence >= config.min_confidence:
        if reward >= config.good_threshold:
            label = "good"
        elif reward <= -config.bad_threshold:
            label = "bad"
    return Reward(label, round(reward, 6), round(confidence, 6), len(latest), capped)
