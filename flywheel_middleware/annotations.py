"""Signals become Phoenix span annotations, posted from the ingest worker.

The worker is where every signal passes (explicit ones from the app or the HTTP API, implicit
ones from the detectors and adapters), possibly in another process than the agent, so the root
span id is read from the stored interaction (``metadata["span_id"]``, written by the adapters)
rather than from memory. A signal whose interaction is not stored yet waits (bounded) for it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Sequence

from .feedback import SIGNAL_KINDS
from .records import Interaction, Signal
from .store.base import TrajectoryStore


def signal_score(signal: Signal) -> float | None:
    """A [0, 1] score Phoenix can chart: 1 for success kinds, 0 for failure kinds, ratings / 5."""
    if signal.kind == "rating" and isinstance(signal.value, (int, float)):
        return float(signal.value) / 5.0
    if signal.kind == "judge" and isinstance(signal.value, (int, float)):
        return float(signal.value)
    spec = SIGNAL_KINDS.get(signal.kind)
    if spec is None or spec.polarity == 0:
        return None
    return 1.0 if spec.polarity > 0 else 0.0


class PhoenixAnnotationProcessor:
    """Worker processor: posts each stored signal to Phoenix through a ``PhoenixAnnotator``."""

    def __init__(self, store: TrajectoryStore, annotator: Any, *, max_pending: int = 10_000, max_wait_s: float = 600.0) -> None:
        self.store = store
        self.annotator = annotator
        self.max_pending = max_pending
        self.max_wait_s = max_wait_s
        self._pending: OrderedDict[str, tuple[float, Signal]] = OrderedDict()

    def on_ingested(self, interactions: Sequence[Interaction], embeddings: Any, signals: Sequence[Signal]) -> None:
        now = time.monotonic()
        for signal in signals:
            self._pending[signal.id] = (now, signal)
        while len(self._pending) > self.max_pending:
            self._pending.popitem(last=False)
        if self._pending:
            self._post_ready(now)

    def on_idle(self) -> None:
        if self._pending:
            self._post_ready(time.monotonic())

    def _post_ready(self, now: float) -> None:
        wanted = list({s.interaction_id for _, s in self._pending.values()})
        spans = self.store.span_ids(wanted)
        for signal_id, (since, signal) in list(self._pending.items()):
            found = spans.get(signal.interaction_id)
            if found is None:  # interaction not stored yet: keep waiting, for a while
                if now - since > self.max_wait_s:
                    del self._pending[signal_id]
                continue
            del self._pending[signal_id]
            if found:  # stored with a root span (it was traced)
                self.annotator.submit(signal, span_id=found)

    def flush(self, timeout: float = 30.0) -> bool:
        return bool(self.annotator.flush(timeout))

    def close(self) -> None:
        self.annotator.close()
