"""Monitoring: cohort metrics, drift, regressions, stall and the plan, on stores built through a real
Flywheel (real redactor, real MiniLM embeddings) with timestamps spread over several days."""

from __future__ import annotations

import math

import pytest

from flywheel_middleware import Step
from flywheel_middleware.monitoring import (
    INTERVENTIONS,
    MonitorConfig,
    analyze,
    cohort_metrics,
    detect_drift,
    detect_regressions,
    detect_stall,
    load,
    make_plan,
    population_stability_index,
    recommend,
)
from traffic import DAY, T0, Turn, open_flywheel, queries, record

UP = math.tanh(1.0)  # reward of a lone thumbs up (weight 1, one actor)


@pytest.fixture
def wheel(tmp_path, embedder):
    fw = open_flywheel(tmp_path / "store", embedder)
    yield fw
    fw.close()


def test_cohort_metrics_match_a_hand_computed_example(wheel):
    day0, day1 = T0 + 3600, T0 + DAY + 3600
    record(wheel, [
        # route "billing" (a router decision), day 0: 2 up, 1 down, 1 without signals
        Turn("Why was I charged twice?", day0, ["thumbs_up"], route="billing", category="billing"),
        Turn("Refund for the annual plan?", day0 + 60, ["thumbs_up", "copy"], route="billing", category="billing"),
        Turn("Invoice is wrong", day0 + 120, ["thumbs_down"], route="billing", category="billing"),
        Turn("Receipt please", day0 + 180, [], route="billing", category="billing"),
        # route "search" (metadata only), day 0: a rephrase
        Turn("Where is my parcel?", day0 + 240, ["rephrase"], meta_route="search", category="shipping"),
        # route "search", day 1: escalation + abort, a correction, an error run without signals
        Turn("Parcel lost again", day1, ["escalate", "abort"], meta_route="search", category="shipping"),
        Turn("Track the sofa order", day1 + 60, [("correction", {"edited": "It ships Monday."})], meta_route="search", category="shipping"),
        Turn("Delivery to Canada?", day1 + 120, [], meta_route="search", category="shipping", status="error"),
    ])
    data = load(wheel, MonitorConfig(window="day"))
    by_route = {(m.cohort, m.window_label): m for m in cohort_metrics(data, "route")}
    assert set(by_route) == {("billing", "2024-03-04"), ("search", "2024-03-04"), ("search", "2024-03-05")}

    billing = by_route[("billing", "2024-03-04")]
    copy_and_up = math.tanh(1.0)  # thumbs up + copy = 1.6, capped at 1 per actor
    assert (billing.n, billing.n_rated) == (4, 3)
    assert billing.mean_reward == pytest.approx((UP + copy_and_up - UP) / 3, abs=1e-5)
    assert billing.good_rate == pytest.approx(2 / 4)
    assert billing.bad_rate == pytest.approx(1 / 4)
    assert billing.rates["thumbs_up"] == pytest.approx(2 / 4)
    assert billing.rates["thumbs_down"] == pytest.approx(1 / 4)
    assert billing.rates["copy"] == pytest.approx(1 / 4)
    assert billing.rates["rephrase"] == 0.0

    search0 = by_route[("search", "2024-03-04")]
    assert (search0.n, search0.rates["rephrase"], search0.mean_reward) == (1, 1.0, pytest.approx(math.tanh(-0.5), abs=1e-5))
    assert search0.bad_rate == 1.0  # -0.46 with confidence 0.5

    search1 = by_route[("search", "2024-03-05")]
    assert (search1.n, search1.n_rated) == (3, 3)
    assert search1.rates["escalate"] == pytest.approx(1 / 3)
    assert search1.rates["abort"] == pytest.approx(1 / 3)
    assert search1.rates["correction"] == pytest.approx(1 / 3)
    assert search1.rates["error"] == pytest.approx(1 / 3)
    # escalate + abort = -1.5 capped at -1; correction -1; an error run -0.5
    assert search1.mean_reward == pytest.approx((math.tanh(-1) + math.tanh(-1) + math.tanh(-0.5)) / 3, abs=1e-5)
    assert search1.bad_rate == pytest.approx(1.0)

    # the whole period per category, and the "all" cohort per window
    shipping = {m.cohort: m for m in cohort_metrics(data, "category", by_window=False)}["shipping"]
    assert (shipping.n, shipping.window) == (4, None)
    assert [m.n for m in cohort_metrics(data, "all")] == [5, 3]


@pytest.fixture(scope="module")
def drift_store(tmp_path_factory, embedder):
    """Day 0 and day 1: the same mix (billing/password); day 2: mostly shipping, a new topic."""
    fw = open_flywheel(tmp_path_factory.mktemp("drift") / "store", embedder)
    turns = []
    for day, mix in enumerate([{"billing": 30, "password": 30}, {"billing": 30, "password": 30},
                               {"billing": 8, "password": 12, "shipping": 40}]):
        texts = [q for topic, n in mix.items() for q in queries(topic, n, offset=7 * day)]
        turns += [Turn(q, T0 + day * DAY + 60 * i, ["thumbs_up"]) for i, q in enumerate(texts)]
    record(fw, turns)
    yield fw
    fw.close()


def test_drift_is_detected_when_the_query_mix_shifts(drift_store):
    data = load(drift_store)
    drift = detect_drift(data)  # default: the last window against the one before
    assert drift is not None and drift.drifted, drift
    assert (drift.reference, drift.current) == ("2024-03-05", "2024-03-06")
    assert drift.p_value < 0.01 and drift.psi >= 0.1
    top = drift.grew[0]
    assert top.delta > 0.2
    assert any(word in top.examples[0].lower() for word in ("parcel", "delivery", "courier", "shipping", "address of"))
    assert drift.shrank  # billing/password lost share


def test_no_drift_when_the_query_mix_is_stable(drift_store):
    data = load(drift_store)
    w0, w1, _ = data.windows
    drift = detect_drift(data, reference=w0, current=w1)
    assert drift is not None
    assert not drift.drifted, drift.reason
    assert drift.psi < 0.1


def test_population_stability_index_hand_computed():
    psi = population_stability_index([50, 50], [80, 20])
    assert psi == pytest.approx((0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5))
    assert population_stability_index([10, 20, 30], [10, 20, 30]) == 0.0


def test_a_cohort_regression_is_flagged(wheel):
    turns = []
    for day, search_down in ((0, 4), (1, 20)):  # route "search": 10% thumbs down, then 50%
        for route, downs in (("billing", 4), ("search", search_down)):
            texts = queries("billing" if route == "billing" else "shipping", 30) + queries("password", 10)
            for i, q in enumerate(texts):
                turns.append(Turn(q, T0 + day * DAY + 60 * i, ["thumbs_down" if i < downs else "thumbs_up"], route=route))
    record(wheel, turns)
    regressions = detect_regressions(load(wheel), dimensions=["route"])
    flagged = {(r.cohort, r.metric) for r in regressions}
    assert ("search", "thumbs_down") in flagged
    assert ("search", "bad") in flagged
    assert ("search", "mean_reward") in flagged
    assert not any(cohort == "billing" for cohort, _ in flagged)
    r = next(r for r in regressions if (r.cohort, r.metric) == ("search", "thumbs_down"))
    assert (r.reference_value, r.current_value, r.n_reference, r.n_current) == (0.1, 0.5, 40, 40)
    assert r.p_value < 0.01 and r.statistic > 3


def _daily(ups: list[int], volumes: list[int]) -> list[Turn]:
    turns = []
    for day, (up, n) in enumerate(zip(ups, volumes)):
        texts = queries("billing", n // 2, offset=day) + queries("password", n - n // 2, offset=day)
        turns += [Turn(q, T0 + day * DAY + 60 * i, ["thumbs_up" if i % n < up else "thumbs_down"])
                  for i, q in enumerate(texts)]
    return turns


VOLUMES = [10, 15, 20, 25, 30, 35]  # data keeps coming, more every day


def test_stall_is_detected_for_flat_reward_with_growing_volume(wheel):
    record(wheel, _daily([6, 9, 12, 14, 19, 21], VOLUMES))  # ~60% thumbs up every day
    stall = detect_stall(load(wheel))
    assert stall.verdict == "stalled" and stall.stalled, stall.reason
    assert stall.ci[0] <= 0 <= stall.ci[1] or abs(stall.improvement) < 0.05
    assert stall.data_growth == pytest.approx(sum(VOLUMES) / VOLUMES[0])
    assert stall.volumes == VOLUMES


def test_no_stall_when_reward_improves(wheel):
    record(wheel, _daily([3, 6, 10, 15, 21, 28], VOLUMES))  # 30% -> 80% thumbs up
    stall = detect_stall(load(wheel))
    assert stall.verdict == "improving" and not stall.stalled, stall.reason
    assert stall.ci[0] > 0 and stall.improvement > 0.05


def _failure_turns() -> list[Turn]:
    """Clear-cut failures of each type, corrected by the user, in one category each."""
    day = T0 + 3600
    turns = []
    for i in range(6):
        # routing: the router sent an account question to billing (unsure), the user names the account team
        turns.append(Turn(f"How do I change the email on my profile, case {i}?", day + i,
                          [("correction", {"edited": "Ask the account team: change it under account settings."})],
                          route="billing", route_confidence=0.3, category="profile", metadata={"expected_route": "account"},
                          output="Your last invoice was paid."))
        # retrieval: the retriever returned nothing
        turns.append(Turn(f"What does clause {i} of the rental contract say?", day + 100 + i, ["thumbs_down"], route="search",
                          category="contracts", output="Clauses usually describe obligations.",
                          steps=[Step("retrieval", "kb", inputs="rental contract clause", outputs=[])]))
        # knowledge gap: relevant documents, but none holds the answer the user gave
        turns.append(Turn(f"How long is the warranty on the model X{i} dryer?", day + 200 + i,
                          [("correction", {"edited": "Five years, parts and labour, registered online."})], route="search",
                          category="warranty", output="I don't know; I could not find how long the warranty lasts.",
                          steps=[Step("retrieval", "kb", inputs="warranty X dryer", outputs=[
                              {"page_content": "Model X dryers come with a manufacturer warranty on the dryer; see the warranty card.",
                               "score": 0.88}])]))
        # generation: the retrieved document held the answer, the model still got it wrong
        turns.append(Turn(f"What is the refund policy for order {i}?", day + 300 + i,
                          [("correction", {"edited": "Refunds are possible within 30 days of purchase."})], route="search",
                          category="policy", output="Refunds are never possible.",
                          steps=[Step("retrieval", "kb", inputs="refund policy",
                                      outputs=[{"page_content": "Refund policy: refunds within 30 days of purchase.", "score": 0.91}])]))
    return turns


@pytest.fixture(scope="module")
def failure_store(tmp_path_factory, embedder):
    fw = open_flywheel(tmp_path_factory.mktemp("failures") / "store", embedder)
    record(fw, _failure_turns())
    yield fw
    fw.close()


EXPECTED_CATEGORY = {"routing": "profile", "retrieval": "contracts", "knowledge_gap": "warranty", "generation": "policy"}


def test_the_plan_recommends_the_intervention_for_each_failure_type(failure_store):
    data = load(failure_store)
    plan = make_plan(failure_store, data)
    by_type = {it.failure_type: it for it in plan.items}
    for failure_type, category in EXPECTED_CATEGORY.items():
        item = by_type[failure_type]
        assert item.count == 6, (failure_type, plan.items, plan.attribution_source)
        assert item.categories[0][0] == category
        assert item.examples
    assert by_type["routing"].intervention == INTERVENTIONS["routing"]
    assert by_type["retrieval"].intervention == INTERVENTIONS["retrieval"]
    assert by_type["knowledge_gap"].intervention == INTERVENTIONS["knowledge_gap"]
    assert by_type["generation"].intervention == INTERVENTIONS["generation_prompt"]  # too little data to fine-tune
    assert plan.attribution_source == "curation"
    assert (plan.sft_examples, plan.dpo_pairs) == (18, 18)  # the corrected answers
    assert plan.n_failures == 24
    # four small, all-bad categories need data
    assert {c.category for c in plan.needs} == set(EXPECTED_CATEGORY.values())
    assert all(any("low volume" in r for r in c.reasons) for c in plan.needs)


def test_the_plan_falls_back_to_heuristic_attribution_on_a_bare_store(failure_store):
    """Curation's attribution needs a Flywheel (index, embedder); on a bare store the plan still works."""
    plan = make_plan(failure_store.store, load(failure_store.store))
    assert plan.attribution_source == "heuristic"
    assert plan.review == []
    assert {it.failure_type: (it.count, it.categories[0][0]) for it in plan.items} == {
        t: (6, c) for t, c in EXPECTED_CATEGORY.items()}


def test_generation_failures_escalate_to_fine_tuning_with_enough_data():
    cfg = MonitorConfig(sft_min_examples=200, dpo_min_pairs=100)
    assert recommend("generation", sft_examples=199, dpo_pairs=99, config=cfg)[0] == INTERVENTIONS["generation_prompt"]
    assert recommend("generation", sft_examples=200, dpo_pairs=0, config=cfg)[0] == INTERVENTIONS["generation_finetune"]
    assert recommend("generation", sft_examples=0, dpo_pairs=100, config=cfg)[0] == INTERVENTIONS["generation_finetune"]


def test_categories_without_metadata_are_clustered_deterministically(drift_store):
    first = analyze(drift_store)
    second = analyze(drift_store)
    categories = first.data.cohorts["category"]
    assert all(c.startswith("c") and ": " in c for c in categories)
    assert 2 <= len(set(categories)) <= 12
    assert list(categories) == list(second.data.cohorts["category"])
    assert first.drift == second.drift
