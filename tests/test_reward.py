"""Reward: signals aggregate into a label, a scalar and a confidence that grows with agreement."""

from __future__ import annotations

import time

from flywheel_middleware import Flywheel, Signal
from flywheel_middleware.reward import RewardConfig, aggregate
from helpers import turn


def sig(kind: str, value=None, actor: str | None = "u1", source: str = "explicit", at: float = 1.0) -> Signal:
    return Signal(interaction_id="i", kind=kind, value=value, actor=actor, source=source, at=at)


def test_no_signals_means_unknown() -> None:
    r = aggregate([])
    assert (r.label, r.reward, r.confidence) == ("unknown", 0.0, 0.0)


def test_thumbs_up_is_good_and_thumbs_down_is_bad() -> None:
    assert aggregate([sig("thumbs_up")]).label == "good"
    assert aggregate([sig("thumbs_down")]).label == "bad"


def test_rating_scales_around_three() -> None:
    assert aggregate([sig("rating", 5)]).reward > aggregate([sig("rating", 4)]).reward > 0
    assert aggregate([sig("rating", 3)]).label == "unknown"
    assert aggregate([sig("rating", 1)]).label == "bad"


def test_independent_agreeing_signals_raise_confidence() -> None:
    one = aggregate([sig("copy", actor="u1")])
    two = aggregate([sig("copy", actor="u1"), sig("rating", 4, actor="u2")])
    assert two.confidence > one.confidence


def test_disagreement_lowers_confidence() -> None:
    agree = aggregate([sig("thumbs_up", actor="u1"), sig("copy", actor="u2")])
    mixed = aggregate([sig("thumbs_up", actor="u1"), sig("rephrase", actor=None, source="implicit")])
    assert mixed.confidence < agree.confidence


def test_a_changed_mind_counts_once() -> None:
    r = aggregate([sig("rating", 1, at=1.0), sig("rating", 5, at=2.0)])
    assert r.label == "good" and r.n_signals == 1


def test_one_actor_cannot_outweigh_the_cap() -> None:
    flood = [sig("thumbs_up"), sig("copy"), sig("rating", 5)]
    r = aggregate(flood, config=RewardConfig(actor_cap=0.5))
    assert r.contributions == {"u1": 0.5}


def test_muted_actors_do_not_count() -> None:
    assert aggregate([sig("thumbs_up", actor="spammer")], muted_actors={"spammer"}).label == "unknown"


def test_weights_are_configurable() -> None:
    config = RewardConfig.from_dict({"weights": {"copy": 0.0}})
    assert aggregate([sig("copy")], config=config).label == "unknown"


def test_an_error_run_without_feedback_leans_bad() -> None:
    assert aggregate([], status="error").reward < 0


def test_the_worker_keeps_rewards_current(fw: Flywheel) -> None:
    it = turn("how do I export my data?")
    fw.record(it)
    fw.flush(60)
    fw.feedback(it.id, "thumbs_up", actor="u1")
    fw.flush(60)
    assert fw.store.rewards_for([it.id])[it.id].label == "good"
    assert fw.reward(it.id).label == "good"


def test_a_user_over_the_daily_cap_stops_counting(store_path, embedder) -> None:
    with Flywheel(store_path, embedder=embedder, reward={"daily_signal_cap": 3}) as fw:
        turns = [turn(f"question {i}", session_id=f"s{i}") for i in range(5)]
        for it in turns:
            fw.record(it)
        fw.flush(60)
        for it in turns:
            fw.feedback(it.id, "thumbs_up", actor="flooder")
        fw.flush(60)
        assert fw.reward(turns[0].id).label == "unknown"


def test_returning_to_an_earlier_rating_makes_it_the_latest_again(fw: Flywheel) -> None:
    it = turn("rate me")
    fw.record(it)
    fw.flush(60)
    for value in (3, 5, 3):
        fw.feedback(it.id, "rating", value, actor="u1")
        time.sleep(0.01)
    fw.flush(60)
    assert fw.reward(it.id).label == "unknown"  # the 3 counts, not the 5
    assert len(fw.signals(it.id)) == 2
