"""Curation on a real store: dedup, the active-learning queue, error attribution, stratified splits."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from flywheel_middleware import Flywheel, Interaction, RoutingDecision, Step
from flywheel_middleware.curation import (
    SplitError,
    assign_splits,
    attribute,
    attribute_failures,
    category_of,
    dedup,
    review_queue,
)

_n = itertools.count()


def add(fw: Flywheel, question: str, answer: str = "an answer", *, feedback: tuple[str, ...] = (), category: str | None = None,
        steps: list[Step] | None = None, decisions: list[RoutingDecision] | None = None, session: str | None = None,
        started_at: float | None = None, **kwargs: Any) -> str:
    """Record one turn (its own session unless given, so no implicit rephrase signal links turns)."""
    n = next(_n)
    it = Interaction(input=question, output=answer, session_id=session or f"s-{n}", user_id=kwargs.pop("user_id", "u1"),
                     steps=steps or [Step("llm", "fake", outputs=answer)], decisions=decisions or [],
                     metadata={"category": category} if category else {}, **kwargs)
    if started_at is not None:
        it.started_at = started_at
    fw.record(it)
    fw._pending_feedback = getattr(fw, "_pending_feedback", []) + [(it.id, kind) for kind in feedback]  # type: ignore[attr-defined]
    return it.id


def settle(fw: Flywheel) -> None:
    """Store everything recorded, then send the queued feedback and store that too."""
    assert fw.flush(60)
    for n, (iid, kind) in enumerate(getattr(fw, "_pending_feedback", [])):
        fw.feedback(iid, kind, actor=f"reviewer-{n}")
    fw._pending_feedback = []  # type: ignore[attr-defined]
    assert fw.flush(60)


# -- dedup -----------------------------------------------------------------------------------------------
def test_exact_duplicates_keep_the_best_rewarded(fw: Flywheel) -> None:
    plain = add(fw, "How do I reset my password?", "Use the reset link.")
    liked = add(fw, "how do i   reset my password?", "use the reset link.", feedback=("thumbs_up",))
    other = add(fw, "Where is my parcel?", "It left the depot today.")
    settle(fw)
    result = dedup(fw, near=False)
    assert set(result.kept) == {liked, other}
    assert result.removed[plain].kept == liked and result.removed[plain].reason == "exact"
    assert result.exact_removed == 1 and result.near_removed == 0


def test_near_duplicates_need_a_close_input_and_a_similar_output(fw: Flywheel) -> None:
    older = add(fw, "How do I reset my password?", "Click the reset link in the login page and follow the steps.", started_at=1000.0)
    newer = add(fw, "How can I reset my password?", "Click the reset link in the login page, then follow the steps.", started_at=2000.0)
    different_answer = add(fw, "How do I reset my password", "Call support and ask them to unlock the account.", started_at=3000.0)
    settle(fw)
    result = dedup(fw, exact=False, near_threshold=0.95, output_threshold=0.7)
    assert result.removed[older].kept == newer  # equal reward: the most recent wins
    assert result.removed[older].reason == "near" and result.removed[older].similarity >= 0.95
    assert newer in result.kept and different_answer in result.kept
    assert result.near_removed == 1


# -- active learning --------------------------------------------------------------------------------------
def test_review_queue_ranks_disagreement_first_and_explains_every_item(fw: Flywheel) -> None:
    disputed = add(fw, "Can I return an opened laptop?", "Yes, within 30 days.", feedback=("thumbs_up",))
    unlabelled = add(fw, "Do you sell gift cards?", "Yes, in every store.")
    confident = add(fw, "What are your opening hours?", "9 to 5 on weekdays.", feedback=("thumbs_up",))
    add(fw, "When do you open on Monday?", "At 9.", feedback=("thumbs_up",))
    settle(fw)
    fw.feedback(disputed, "thumbs_down", actor="another-user")
    fw.flush(60)
    queue = review_queue(fw, 10)
    by_id = {item.interaction_id: item for item in queue}
    assert queue[0].interaction_id == disputed
    assert queue[0].reason == "disagreement"
    assert "thumbs_up" in queue[0].reasons[0].detail and "thumbs_down" in queue[0].reasons[0].detail
    assert by_id[unlabelled].reason in ("low_confidence", "far_from_good")
    assert {r.kind for r in by_id[unlabelled].reasons} >= {"low_confidence"}
    assert confident not in by_id  # confidently good and near other good examples: nothing to review
    assert [item.score for item in queue] == sorted((item.score for item in queue), reverse=True)


def test_review_queue_flags_queries_far_from_any_good_example(fw: Flywheel) -> None:
    for q in ("How do I reset my password?", "I forgot my password, what now?", "Password reset link does not work"):
        add(fw, q, "Use the reset link.", feedback=("thumbs_up",))
    near = add(fw, "How can I change my password?", "Use the reset link.", feedback=("thumbs_down",))
    far = add(fw, "Which port does the harbour ferry leave from?", "Pier 4.", feedback=("thumbs_down",))
    settle(fw)
    items = {i.interaction_id: i for i in review_queue(fw, 10)}
    far_reason = next(r for r in items[far].reasons if r.kind == "far_from_good")
    assert "nearest good example at cosine" in far_reason.detail and far_reason.score > 0.5
    assert near not in items or all(r.kind != "far_from_good" for r in items[near].reasons)


def test_review_queue_flags_categories_with_low_reward(fw: Flywheel) -> None:
    for q in ("Why was I charged twice?", "My invoice is wrong", "Refund has not arrived"):
        add(fw, q, "Please wait.", category="billing", feedback=("thumbs_down",))
    pending = add(fw, "Can I get an invoice copy?", "Sure.", category="billing")
    add(fw, "How do I reset my password?", "Use the link.", category="account", feedback=("thumbs_up",))
    settle(fw)
    items = {i.interaction_id: i for i in review_queue(fw, 20)}
    weak = next(r for r in items[pending].reasons if r.kind == "weak_category")
    assert "billing" in weak.detail and weak.score > 0.5
    assert all(r.kind != "weak_category" for i in items.values() if i.category == "account" for r in i.reasons)
    only_billing = review_queue(fw, 20, category="billing")
    assert only_billing and {i.category for i in only_billing} == {"billing"}


# -- error attribution ------------------------------------------------------------------------------------
REFUND_DOCS = [
    {"id": "kb-1", "text": "Refund policy: damaged items are refunded in full within 14 days of the return.", "score": 0.82},
    {"id": "kb-2", "text": "Refunds go back to the original payment method.", "score": 0.71},
]


def test_retrieval_failure_is_blamed_on_weak_documents(fw: Flywheel) -> None:
    docs = [{"id": "kb-9", "text": "Our office dog is called Biscuit and loves long walks.", "score": 0.18}]
    iid = add(fw, "What is the refund policy for damaged items?", "Biscuit loves walks.", feedback=("thumbs_down",),
              steps=[Step("retrieval", "kb", inputs="refund policy damaged items", outputs=docs), Step("llm", "fake", outputs="x")])
    settle(fw)
    result = attribute(fw, iid)
    assert result.category == "retrieval" and result.confidence >= 0.75
    assert result.evidence["retrieval"]["max_score"] == pytest.approx(0.18)
    assert result.evidence["retrieval"]["max_doc_similarity"] < 0.35
    assert "weak retrieval" in result.evidence["rule"]


def test_generation_failure_when_the_documents_held_the_answer(fw: Flywheel) -> None:
    iid = add(fw, "What is the refund policy for damaged items?", "We do not refund damaged items.",
              steps=[Step("retrieval", "kb", inputs="refund policy", outputs=REFUND_DOCS), Step("llm", "fake", outputs="x")])
    settle(fw)
    fw.correct(iid, "Damaged items are refunded in full within 14 days of the return.")
    fw.flush(60)
    result = attribute(fw, iid)
    assert result.category == "generation" and result.confidence == pytest.approx(0.8)
    assert result.evidence["correction_overlap_with_docs"] >= 0.5
    assert result.evidence["retrieval"]["max_score"] == pytest.approx(0.82)


def test_knowledge_gap_when_no_document_holds_the_correction(fw: Flywheel) -> None:
    iid = add(fw, "What is the refund policy for damaged items?", "Damaged items are refunded.",
              steps=[Step("retrieval", "kb", inputs="refund policy", outputs=REFUND_DOCS), Step("llm", "fake", outputs="x")])
    settle(fw)
    fw.correct(iid, "Since March, customers must upload a photograph through the warranty portal before shipping anything back.")
    fw.flush(60)
    result = attribute(fw, iid)
    assert result.category == "knowledge_gap"
    assert result.evidence["correction_overlap_with_docs"] < 0.3
    assert {"photograph", "warranty", "portal"} <= set(result.evidence["correction_new_words"])


def test_routing_failure_when_the_correction_names_the_other_route(fw: Flywheel) -> None:
    decision = RoutingDecision("router", chosen="tech_support_engine", candidates=["billing_engine", "tech_support_engine"],
                               reason="mentions an error")
    iid = add(fw, "I got an error on my invoice", "Try restarting the app.", decisions=[decision],
              steps=[Step("retrieval", "tech_kb", outputs=[{"text": "Restart the app to fix an error on startup.", "score": 0.7}]),
                     Step("llm", "fake", outputs="x")])
    settle(fw)
    fw.correct(iid, "This is a billing question: the invoice total was wrong and has been credited.")
    fw.flush(60)
    result = attribute(fw, iid)
    assert result.category == "routing"
    assert result.evidence["routing"]["chosen"] == ["tech_support_engine"]
    assert result.evidence["routing"]["indicated"] == "billing_engine"


def test_routing_failure_when_a_tool_errors_and_the_user_escalates(fw: Flywheel) -> None:
    iid = add(fw, "Cancel order 1234", "Sorry, something went wrong.", feedback=("escalate",),
              steps=[Step("llm", "fake", outputs={"role": "assistant", "content": "", "tool_calls": [{"name": "track_order", "args": {"order": "1234"}, "id": "c1"}]}),
                     Step("tool", "track_order", inputs={"order": "1234"}, error="KeyError: no tracking for cancelled orders")])
    settle(fw)
    result = attribute(fw, iid)
    assert result.category == "routing" and result.confidence == pytest.approx(0.75)
    assert result.evidence["tool_errors"][0]["tool"] == "track_order"


def test_attribute_failures_covers_bad_and_corrected_interactions(fw: Flywheel) -> None:
    bad = add(fw, "Where can I park?", "No idea.", feedback=("thumbs_down",))
    good = add(fw, "Where is the entrance?", "Around the corner.", feedback=("thumbs_up",))
    settle(fw)
    results, counts = attribute_failures(fw)
    assert [iid for iid, _ in results] == [bad]
    assert sum(counts.values()) == 1 and good not in dict(results)


# -- splits -------------------------------------------------------------------------------------------------
def test_split_is_stratified_by_category() -> None:
    ids = [f"id-{i}" for i in range(100)]
    strata = ["billing"] * 60 + ["shipping"] * 30 + ["account"] * 10
    split = assign_splits(ids, strata, eval_fraction=0.2, seed=1)
    assert split.n_eval == 20
    assert split.counts == {"billing": {"train": 48, "eval": 12}, "shipping": {"train": 24, "eval": 6}, "account": {"train": 8, "eval": 2}}
    again = assign_splits(ids, strata, eval_fraction=0.2, seed=1)
    assert np.array_equal(split.is_eval, again.is_eval)  # deterministic
    assert not np.array_equal(split.is_eval, assign_splits(ids, strata, eval_fraction=0.2, seed=2).is_eval)


def test_split_pools_singleton_strata_into_other() -> None:
    split = assign_splits([f"i{n}" for n in range(6)], ["a", "a", "a", "a", "rare-1", "rare-2"], eval_fraction=0.34)
    assert split.strata[-2:] == ["other", "other"]
    assert set(split.counts) == {"a", "other"}
    assert split.n_eval == 2


def test_split_refuses_too_few_rows_with_a_clear_error() -> None:
    with pytest.raises(SplitError, match="too few rows.*at least 2"):
        assign_splits(["only-one"], ["a"], eval_fraction=0.1)
    assert assign_splits(["only-one"], ["a"], eval_fraction=0.0).n_train == 1
    with pytest.raises(SplitError, match="at least 10"):
        assign_splits([f"i{n}" for n in range(5)], ["a"] * 5, min_rows=10)


def test_split_keeps_assignments_when_data_is_added() -> None:
    ids = [f"id-{i}" for i in range(200)]
    small = assign_splits(ids, ["x"] * 200, eval_fraction=0.1)
    large = assign_splits(ids + [f"new-{i}" for i in range(20)], ["x"] * 220, eval_fraction=0.1)
    moved = int((small.is_eval != large.is_eval[:200]).sum())
    assert moved <= 4  # hash order: new rows take a few eval slots, old rows rarely move


def test_category_falls_back_to_the_first_routing_choice() -> None:
    assert category_of(Interaction(input="q", metadata={"category": "billing"})) == "billing"
    assert category_of(Interaction(input="q", decisions=[RoutingDecision("model", chosen=["search"]),
                                                         RoutingDecision("router", chosen={"name": "faq_engine"})])) == "faq_engine"
    assert category_of(Interaction(input="q")) == "default"
