"""The reward processor: re-derives the reward of every interaction a batch touched (``reward.aggregate``)."""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from ..records import Interaction, Signal
from ..reward import Reward, RewardConfig, aggregate
from ..store.base import RewardRow, TrajectoryStore
from .base import Processor


class RewardProcessor(Processor):
    """Keeps the store's rewards current: after each batch, the turns it stored and the turns its
    signals judge get their label, reward and confidence recomputed from all their signals."""

    def __init__(self, store: TrajectoryStore, config: RewardConfig | None = None) -> None:
        self.store = store
        self.config = config or RewardConfig()

    def on_ingested(self, interactions: Sequence[Interaction], embeddings: np.ndarray | None, signals: Sequence[Signal]) -> None:
        ids = list(dict.fromkeys([it.id for it in interactions] + [s.interaction_id for s in signals]))
        if ids:
            self.update(ids)

    def update(self, ids: Sequence[str]) -> dict[str, Reward]:
        """Recompute and store the rewards of ``ids``; returns them."""
        muted = self.store.busy_actors(time.time() - 86_400, self.config.daily_signal_cap)
        by_id = self.store.signals_for(ids)
        statuses = self.store.statuses(ids)
        results = {iid: aggregate(by_id.get(iid, []), status=statuses.get(iid), config=self.config, muted_actors=muted) for iid in ids}
        self.store.upsert_rewards([RewardRow(iid, r.label, r.reward, r.confidence, r.n_signals) for iid, r in results.items()])
        return results
