"""Bad input at the boundary: values JSON cannot hold are normalised or refused with a reason,
never stored as poison that breaks ingestion or a whole feature later."""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import pytest

from flywheel_middleware import Flywheel, Interaction, SignalError
from flywheel_middleware.store import InteractionQuery
from helpers import turn


def test_nan_infinity_and_huge_ints_in_a_payload_are_stored_as_strict_json(fw: Flywheel) -> None:
    iid = fw.record(Interaction(input="how big?", output={"score": math.nan, "big": 2**70, "inf": math.inf}, user_id="u1"))
    assert iid is not None and fw.flush(60)
    assert fw.get(iid).output == {"score": None, "big": str(2**70), "inf": None}
    fw.review_queue()  # SQLite's JSON functions read every stored row
    with sqlite3.connect(fw.path / "store.sqlite") as raw:
        assert raw.execute("SELECT COUNT(*) FROM interactions WHERE json_valid(data)").fetchone()[0] == 1


def test_a_lone_surrogate_is_normalised_and_does_not_stall_ingestion(fw: Flywheel) -> None:
    ids = [fw.record(turn(f"ordinary question {i}")) for i in range(20)]
    bad = fw.record(turn("I love it \ud83d", "thanks \udc00"))
    t0 = time.monotonic()
    assert bad is not None and fw.flush(60)
    assert time.monotonic() - t0 < 30
    assert fw.get(bad).input == "I love it \ufffd"
    assert all(fw.get(i) is not None for i in ids)
    counters = fw.stats()["counters"]
    assert counters.get("dead_lettered", 0) == 0 and counters.get("worker_errors", 0) == 0


@pytest.mark.parametrize("field, value", [("started_at", math.nan), ("started_at", math.inf), ("ended_at", math.nan)])
def test_a_non_finite_time_is_rejected_at_record(fw: Flywheel, field: str, value: float) -> None:
    assert fw.record(Interaction(input="when?", **{field: value})) is None
    assert fw.stats()["counters"]["rejected_invalid"] == 1


def test_feedback_with_a_non_finite_time_or_rating_is_a_signal_error(fw: Flywheel) -> None:
    iid = fw.record(turn("rate me"))
    for kwargs in ({"kind": "thumbs_up", "at": math.nan}, {"kind": "rating", "value": math.nan},
                   {"kind": "rating", "value": math.inf}, {"kind": "rating", "value": 1e999}):
        with pytest.raises(SignalError):
            fw.feedback(iid, **kwargs)
    assert fw.flush(60)
    fw.feedback(iid, "rating", 4)
    assert fw.flush(60)
    assert fw.reward(iid).label == "good"


def test_free_text_feedback_with_a_lone_surrogate_is_kept_normalised(fw: Flywheel) -> None:
    iid = fw.record(turn("comment on me"))
    signal = fw.feedback(iid, "comment", "great \ud83d")
    assert signal.value == "great \ufffd"
    assert fw.flush(60)
    assert [s.value for s in fw.signals(iid) if s.kind == "comment"] == ["great \ufffd"]


def test_stored_times_are_all_finite(store_path: Path, embedder) -> None:
    with Flywheel(store_path, embedder=embedder, worker_mode="thread") as fw:
        fw.record(Interaction(input="q", started_at=time.time() - 10))
        fw.record(Interaction(input="q2", started_at=math.nan))
        assert fw.flush(60)
        rows = fw.store.list_interactions(InteractionQuery(limit=None))
    assert len(rows) == 1 and math.isfinite(rows[0].started_at)
