"""Signals become Phoenix span annotations, posted from the ingest worker.

The worker is where every signal passes (explicit ones from the app or the HTTP API, implicit
ones from the detectors and adapters), possibly in another process than the agent, so the root
span id is read from the stored interaction (``metadata["span_id"]``, written by the adapters)
rather than from memory. A signal whose interaction is not stored yet waits (bounded) for it.

In Phoenix an annotation's *name* is the signal kind, its *label* the kind too (``"4/5"`` for a
rating, a judge's own label), its *score* 1 / 0 / rating / 5, and its *explanation* what the user
said or did: a correction's diff summary (the redacted corrected text and the diff are in its
metadata), the copied text, a comment, the reason given for a stop or an escalation. The worker
posts signals after redaction, so these texts are the redacted ones.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Mapping, Sequence

from ..feedback import SIGNAL_KINDS
from ..records import Interaction, Signal
from ..store.base import TrajectoryStore
from .base import Processor


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


#: longest text an annotation carries (Phoenix shows explanations inline; the store keeps the rest)
ANNOTATION_TEXT_CHARS = 2000


def _clip(text: str, limit: int = ANNOTATION_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_summary(diff: str) -> str:
    """``"2 lines removed, 3 added: <first added line>"`` from a unified diff (the correction's)."""
    lines = diff.splitlines()
    removed = [ln[1:] for ln in lines if ln.startswith("-") and not ln.startswith("---")]
    added = [ln[1:] for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
    if not removed and not added:
        return "no change"
    parts = [f"{len(removed)} line{'s' if len(removed) != 1 else ''} removed" if removed else "",
             f"{len(added)} added" if added else ""]
    head = ", ".join(p for p in parts if p)
    first = next((ln.strip() for ln in added if ln.strip()), "")
    return f"{head}: {_clip(first, 160)}" if first else head


def describe_signal(signal: Signal) -> Mapping[str, Any]:
    """Label, explanation and metadata of a signal's Phoenix annotation (the score is ``signal_score``)."""
    value, kind = signal.value, signal.kind
    out: dict[str, Any] = {"label": kind}
    if kind == "rating" and isinstance(value, (int, float)):
        out["label"] = f"{value:g}/5"
    elif kind == "correction" and isinstance(value, Mapping):
        edited, diff = str(value.get("edited") or ""), str(value.get("diff") or "")
        out["explanation"] = f"corrected: {diff_summary(diff)}" if diff else "corrected"
        out["metadata"] = {"corrected_text": _clip(edited), "diff": _clip(diff, 4 * ANNOTATION_TEXT_CHARS)}
    elif kind == "preference" and isinstance(value, Mapping):
        out["explanation"] = f"preferred: {_clip(str(value.get('chosen') or ''), 300)}"
        out["metadata"] = {"chosen": _clip(str(value.get("chosen") or "")), "rejected": _clip(str(value.get("rejected") or ""))}
    elif isinstance(value, str) and value:  # copy (the copied text), comment, a stop's or escalation's reason
        out["explanation"] = _clip(value)
    elif isinstance(value, Mapping) and value.get("label") is not None:  # a judge's verdict keeps its own label
        out["label"] = str(value["label"])
    return out


class PhoenixAnnotationProcessor(Processor):
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
