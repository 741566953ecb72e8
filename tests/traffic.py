"""Synthetic production traffic for the monitoring and report tests: turns with explicit timestamps,
cohort metadata, routing decisions and signals, recorded through a real ``Flywheel``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Sequence

from flywheel_middleware import Flywheel, Interaction, RoutingDecision, Step

DAY = 86_400.0
T0 = 1_709_510_400.0  # Monday 2024-03-04 00:00 UTC
IMPLICIT = {"rephrase", "correction_phrase", "abandon"}

TOPICS: dict[str, tuple[list[str], list[str]]] = {
    "billing": (["Why was I charged twice for", "How do I get a refund for", "Can you explain the invoice for",
                 "Where can I download the receipt for", "Why did the price go up for"],
                ["my monthly subscription", "the annual plan", "last month's order", "the premium upgrade",
                 "my team account", "the extra storage add-on"]),
    "password": (["I forgot my password for", "How do I reset the password of", "Two-factor login is failing on",
                  "I am locked out of", "The password reset email never arrives for"],
                 ["my work account", "the mobile app", "the admin console", "my old email login",
                  "the shared family account", "the desktop client"]),
    "shipping": (["Where is my parcel with", "How long does delivery take for", "Can I change the address of",
                  "The courier lost", "Is express shipping available for"],
                 ["the blue sofa order", "a package to Canada", "my last shipment", "the replacement laptop",
                  "an order of garden chairs", "the gift box"]),
}


def queries(topic: str, n: int, offset: int = 0) -> list[str]:
    """``n`` distinct questions about ``topic`` (deterministic; ``offset`` picks other ones)."""
    heads, tails = TOPICS[topic]
    combos = list(itertools.product(heads, tails))
    return [f"{h} {t}?" for h, t in (combos[(offset + i) % len(combos)] for i in range(n))]


@dataclass
class Turn:
    text: str
    at: float
    signals: Sequence[Any] = ()  # kind or (kind, value)
    category: str | None = None
    route: str | None = None  # a router decision
    route_confidence: float | None = None  # the router's recorded confidence
    meta_route: str | None = None  # metadata "route"
    model_version: str = "m1"
    user_segment: str | None = None
    status: str = "ok"
    output: str = "Here is what you can do."
    steps: list[Step] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


def record(fw: Flywheel, turns: Sequence[Turn]) -> list[str]:
    """Record ``turns`` (one session each, so no implicit detector links them) and their signals."""
    ids = []
    for n, t in enumerate(turns):
        metadata = dict(t.metadata)
        if t.category is not None:
            metadata["category"] = t.category
        if t.meta_route is not None:
            metadata["route"] = t.meta_route
        if t.user_segment is not None:
            metadata["user_segment"] = t.user_segment
        decision_meta = {} if t.route_confidence is None else {"confidence": t.route_confidence}
        decisions = [RoutingDecision("router", chosen=t.route, candidates=["billing", "search", "account"], name="router",
                                     metadata=decision_meta)] if t.route else []
        it = Interaction(input=t.text, output=t.output, session_id=f"sess-{n}-{t.at}", user_id=f"user-{n % 7}",
                         started_at=t.at, ended_at=t.at + 2, status=t.status, model_version=t.model_version,
                         decisions=decisions, steps=list(t.steps), metadata=metadata)
        iid = fw.record(it)
        assert iid is not None
        ids.append(iid)
        for s in t.signals:
            kind, value = (s, None) if isinstance(s, str) else s
            fw.feedback(iid, kind, value, at=t.at + 30, source="implicit" if kind in IMPLICIT else "explicit")
    assert fw.flush(120)
    # flush() returns once the queue cursors are committed, which happens just before the worker's
    # processors (the reward) run on that batch; re-derive the rewards so reads see the final labels
    from flywheel_middleware.processors import RewardProcessor

    for processor in fw.processors:
        if isinstance(processor, RewardProcessor):
            processor.update(ids)
    return ids


def open_flywheel(path: Any, embedder: Any) -> Flywheel:
    return Flywheel(path, embedder=embedder, flush_interval_s=0.05, signals={"enabled": []})
