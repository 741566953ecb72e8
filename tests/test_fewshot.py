"""Few-shot retrieval: good examples only, floor, MMR, filters before the cut, sessions, budget,
recency, and the index switching between exact and IVF with deletions and rebuilds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flywheel_middleware import Flywheel, Interaction, RoutingDecision, Step
from flywheel_middleware.fewshot import FewShotExample, clear_injected, injected_ids, injection_scope
from flywheel_middleware.store import InteractionQuery


def add(
    fw: Flywheel,
    question: str,
    answer: str = "Here is how.",
    *,
    label: str = "good",
    session_id: str = "history",
    started_at: float | None = None,
    metadata: dict[str, Any] | None = None,
    model_version: str | None = None,
    steps: list[Step] | None = None,
    decisions: list[RoutingDecision] | None = None,
) -> str:
    kwargs: dict[str, Any] = {}
    if started_at is not None:
        kwargs["started_at"] = started_at
    it = Interaction(input=question, output=answer, session_id=session_id, user_id="u1", metadata=dict(metadata or {}),
                     model_version=model_version, steps=steps or [], decisions=decisions or [], **kwargs)
    assert fw.record(it) == it.id
    if label == "good":
        fw.feedback(it.id, "thumbs_up", actor="rater")
    elif label == "bad":
        fw.feedback(it.id, "thumbs_down", actor="rater")
    return it.id


def settle(fw: Flywheel, timeout: float = 120.0) -> None:
    """flush(), then wait for what the worker does after committing a batch (index add, rewards):
    ``flush()`` returns once the queue cursors are committed, which is just before that."""
    assert fw.flush(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stored = [it.id for it in fw.store.list_interactions(InteractionQuery(limit=None))]
        rewards = fw.store.rewards_for(stored)
        signals = fw.store.signals_for(stored)
        stale = sum(1 for iid in stored if iid not in rewards
                    or rewards[iid].n_signals < len({(s.actor or "", s.kind) for s in signals[iid]}))
        fw.index.catch_up(fw.store, force=True)
        if stale == 0 and len(fw.index) == fw.store.counts().embedded:
            return
        time.sleep(0.02)
    raise AssertionError("the worker did not settle")


def ids(examples: list[FewShotExample]) -> list[str]:
    return [e.interaction_id for e in examples]


def erase(fw: Flywheel, interaction_ids: list[str]) -> None:
    """What erasure/retention do: delete from SQLite, then remove the keys from the index."""
    keys = fw.store.delete_interactions(interaction_ids)
    fw.index.remove(keys, fw.store.deletion_generation())


def test_only_good_trajectories_are_returned(fw: Flywheel) -> None:
    good = add(fw, "How do I reset my password?", "Click 'Forgot password' on the login page.")
    bad = add(fw, "How can I reset my password?", "Passwords cannot be reset.", label="bad")
    unknown = add(fw, "I need to reset my password", "Try the reset link.", label=None)  # type: ignore[arg-type]
    settle(fw)
    assert fw.reward(good).label == "good" and fw.reward(bad).label == "bad" and fw.reward(unknown).label == "unknown"
    got = fw.few_shot("reset password please", k=3, session_id=None)
    assert ids(got) == [good]
    ex = got[0]
    assert ex.input == "How do I reset my password?" and ex.output.startswith("Click")
    assert ex.reward > 0.3 and ex.confidence >= 0.5 and 0 < ex.similarity <= 1
    assert ex.messages == [{"role": "user", "content": ex.input}, {"role": "assistant", "content": ex.output}]
    # a stricter reward threshold than the label's excludes it too
    assert fw.few_shot("reset password please", k=3, session_id=None, min_reward=0.9) == []


def test_similarity_floor_keeps_irrelevant_examples_out(fw: Flywheel) -> None:
    add(fw, "How do I reset my password?")
    add(fw, "What are your opening hours on Sunday?")
    settle(fw)
    assert fw.few_shot("explain lattice quantum chromodynamics renormalisation", k=3, session_id=None) == []
    assert len(fw.few_shot("explain lattice quantum chromodynamics renormalisation", k=3, session_id=None, min_similarity=-1.0)) == 2
    got = fw.few_shot("I forgot my password", k=3, session_id=None)
    assert [e.input for e in got] == ["How do I reset my password?"]


def test_mmr_diversity_and_near_duplicate_removal(fw: Flywheel, embedder) -> None:
    dups = [add(fw, "How do I reset my password?", "Use the reset link.") for _ in range(3)]
    near = add(fw, "How do I reset my password ?", "Use the reset link!")
    other1 = add(fw, "My account is locked after too many login attempts", "Wait 15 minutes or contact us.")
    other2 = add(fw, "Can I change the email address I log in with?", "Yes, under Settings > Account.")
    settle(fw)
    got = fw.few_shot("how to reset my password", k=3, session_id=None, min_similarity=0.1, mmr_lambda=0.7,
                      dedup_threshold=0.95)
    assert len(got) == 3
    chosen = set(ids(got))
    assert len(chosen & set(dups + [near])) == 1, "near-duplicates must not fill the slots"
    assert chosen & {other1, other2}
    vecs = embedder.embed([e.input for e in got])
    sims = vecs @ vecs.T
    assert (sims[np.triu_indices(3, 1)] < 0.95).all()
    # the defaults (no MMR, near-dup 0.98) still never spend two slots on the same example
    plain = fw.few_shot("how to reset my password", k=3, session_id=None, min_similarity=0.1)
    assert len(set(ids(plain)) & set(dups + [near])) == 1


FILTER_CASES = {
    "category": ({"category": "shipping"}, {"category": "billing"}, {"category": "billing"}),
    "language": ({"language": "en"}, {"language": "de"}, {"language": "de"}),
    "model_version": ("m1", "m2", {"model_version": "m2"}),
    "route": ({"route": "orders"}, {"route": "payments"}, {"route": "payments"}),
    "tool": ("track_order", "refund", {"tool": "refund"}),
    "metadata_key": ({"tier": "free"}, {"tier": "gold"}, {"tier": "gold"}),
}


@pytest.mark.parametrize("field", list(FILTER_CASES))
def test_each_metadata_filter_applies_before_the_top_k_cut(fw: Flywheel, field: str) -> None:
    meta_a, meta_b, flt = FILTER_CASES[field]

    def extra(meta: Any) -> dict[str, Any]:
        if field == "model_version":
            return {"model_version": meta}
        if field == "tool":
            return {"steps": [Step("tool", meta, inputs={"order": "A1"}, outputs="done")]}
        return {"metadata": meta}

    a_ids = [add(fw, f"Where is my parcel number {i}? It has not arrived yet.", "It is on its way.", **extra(meta_a))
             for i in range(50)]
    b_ids = [add(fw, "I was charged twice for one order, please refund me", "Refund issued.", **extra(meta_b)),
             add(fw, "Can you refund the duplicate payment on my card?", "Done, refunded.", **extra(meta_b))]
    settle(fw)
    query = "Where is my parcel? It has not arrived."
    unfiltered = fw.few_shot(query, k=3, session_id=None, min_similarity=0.0, mmr_lambda=1.0)
    assert set(ids(unfiltered)) <= set(a_ids)
    got = fw.few_shot(query, k=3, session_id=None, min_similarity=0.0, filter=flt)
    assert sorted(ids(got)) == sorted(b_ids)
    key, value = next(iter(flt.items()))
    assert fw.few_shot(query, k=3, session_id=None, min_similarity=0.0, **({key: value} if key != "tier" else {"filter": flt}))
    assert fw.few_shot(query, k=3, session_id=None, min_similarity=0.0, filter={key: "nope"}) == []
    # a list means any of
    both = fw.few_shot(query, k=60, session_id=None, min_similarity=0.0, dedup_threshold=1.01,
                       filter={key: [value, next(iter(meta_a.values())) if isinstance(meta_a, dict) else meta_a]})
    assert len(both) == 52


def test_router_decisions_count_as_routes(fw: Flywheel) -> None:
    routed = add(fw, "What is the status of my refund?", "Processing.",
                 decisions=[RoutingDecision("router", chosen="refunds", candidates=["refunds", "faq"], name="intent-router")])
    add(fw, "What is the status of my refund request?", "Processing.")
    settle(fw)
    assert ids(fw.few_shot("refund status", k=3, session_id=None, route="refunds")) == [routed]


def test_the_current_session_is_excluded(fw: Flywheel) -> None:
    mine = add(fw, "How do I reset my password?", "Use the link.", session_id="live")
    other = add(fw, "I forgot my password and cannot log in", "Use the reset link.", session_id="earlier")
    settle(fw)
    with fw.session("live", "u1"):
        assert ids(fw.few_shot("reset my password", k=3)) == [other]
    assert ids(fw.few_shot("reset my password", k=3, session_id="earlier")) == [mine]
    assert set(ids(fw.few_shot("reset my password", k=3, session_id=None))) == {mine, other}
    assert ids(fw.few_shot("reset my password", k=3, session_id=None, exclude_ids=[mine])) == [other]


def test_token_budget_is_respected(fw: Flywheel) -> None:
    long = add(fw, "What are the steps to reset a forgotten password?", "Step. " * 400)
    short1 = add(fw, "How can I reset my password?", "Use the reset link.")
    short2 = add(fw, "I forgot my password and cannot log in", "Click 'Forgot password'.")
    settle(fw)
    got = fw.few_shot("reset my password", k=3, session_id=None, max_tokens=60)
    assert set(ids(got)) == {short1, short2} and sum(e.tokens for e in got) <= 60
    words = fw.few_shot("reset my password", k=3, session_id=None, max_tokens=1000,
                        count_tokens=lambda s: len(s.split()))
    assert long in ids(words) and sum(e.tokens for e in words) <= 1000
    assert fw.few_shot("reset my password", k=3, session_id=None, max_tokens=5) == []


def test_recency_breaks_ties(fw: Flywheel) -> None:
    old = add(fw, "How do I reset my password?", "Use the reset link.", started_at=1_000.0)
    new = add(fw, "How do I reset my password?", "Use the reset link.", started_at=2_000.0)
    settle(fw)
    assert ids(fw.few_shot("reset my password", k=1, session_id=None)) == [new]
    assert ids(fw.few_shot("reset my password", k=3, session_id=None)) == [new]  # the older one is a duplicate
    erase(fw, [new])
    assert ids(fw.few_shot("reset my password", k=1, session_id=None)) == [old]


def test_tool_calls_become_messages(fw: Flywheel) -> None:
    steps = [Step("llm", "model", inputs="q", outputs="call"),
             Step("tool", "track_order", inputs={"order_id": "A17"}, outputs="in transit, arrives Friday",
                  metadata={"tool_call_id": "call_1"})]
    decisions = [RoutingDecision("model", chosen=["track_order"], candidates=["track_order", "refund"],
                                 metadata={"tool_call_ids": ["call_1"], "args": [{"order_id": "A17"}]}),
                 RoutingDecision("model", chosen=[], candidates=["track_order", "refund"])]
    iid = add(fw, "Where is order A17?", "Your order arrives on Friday.", steps=steps, decisions=decisions)
    settle(fw)
    (ex,) = fw.few_shot("where is my order", k=1, session_id=None)
    assert ex.interaction_id == iid and ex.has_tool_calls and ex.metadata["tools"] == ["track_order"]
    user, call, result, final = ex.messages
    assert user == {"role": "user", "content": "Where is order A17?"}
    assert call["role"] == "assistant" and call["tool_calls"][0]["name"] == "track_order"
    assert call["tool_calls"][0]["args"] == {"order_id": "A17"}
    assert result == {"role": "tool", "tool_call_id": call["tool_calls"][0]["id"], "name": "track_order",
                      "content": "in transit, arrives Friday"}
    assert final == {"role": "assistant", "content": "Your order arrives on Friday."}


def test_injected_ids_are_noted_in_the_context(fw: Flywheel) -> None:
    iid = add(fw, "How do I reset my password?")
    other = add(fw, "Where is my parcel?")
    settle(fw)
    clear_injected()
    assert injected_ids() == []
    assert ids(fw.few_shot("where is my parcel", k=1, session_id=None)) == [other]
    assert injected_ids() == [other]  # outside a scope: the last selection in this context
    with injection_scope() as collected:
        got = fw.few_shot("reset my password", k=2, session_id=None)
        assert injected_ids() == ids(got) == [iid] == collected
        fw.few_shot("reset my password", k=2, session_id=None)
        fw.few_shot("where is my parcel", k=1, session_id=None)
        assert injected_ids() == [iid, other] == collected  # inside a scope: everything, no repeats
        it = Interaction(input="reset my password", output="...", few_shot_ids=injected_ids())
        assert it.few_shot_ids == [iid, other]
    assert injected_ids() == [other]  # the scope is over
    assert fw.few_shot("reset my password", k=2, session_id=None, record=False)
    assert injected_ids() == [other]


def test_rewards_that_change_are_picked_up(fw: Flywheel) -> None:
    iid = add(fw, "How do I reset my password?", label="good")
    settle(fw)
    assert ids(fw.few_shot("reset password", session_id=None)) == [iid]
    fw.feedback(iid, "thumbs_down", actor="rater")  # the rater changed their mind
    fw.feedback(iid, "escalate", actor="other")
    settle(fw)
    assert fw.reward(iid).label != "good"
    assert fw.few_shot("reset password", session_id=None) == []


def test_a_corrected_turn_is_an_example_with_the_users_answer(fw: Flywheel) -> None:
    iid = add(fw, "How do I reset my password?", "Passwords cannot be reset.", label=None)  # type: ignore[arg-type]
    fw.correct(iid, "Click 'Forgot password' on the login page.", actor="customer")
    settle(fw)
    assert fw.reward(iid).label == "bad"  # the agent's answer was wrong...
    (ex,) = fw.few_shot("reset password please", k=3, session_id=None)
    assert ex.interaction_id == iid and ex.source == "correction"  # ...and the user's answer is the example
    assert ex.output == "Click 'Forgot password' on the login page." and ex.reward == 1.0
    assert ex.messages[-1] == {"role": "assistant", "content": ex.output}
    assert "cannot be reset" not in str(ex.to_dict())
    assert fw.few_shot("reset password please", k=3, session_id=None, corrections=False) == []


def test_a_thumbs_down_alone_is_no_example(fw: Flywheel) -> None:
    add(fw, "How do I reset my password?", "Passwords cannot be reset.", label="bad")
    settle(fw)
    assert fw.few_shot("reset password please", k=3, session_id=None) == []


def test_the_latest_correction_is_the_one_shown(fw: Flywheel) -> None:
    iid = add(fw, "How do I reset my password?", "Passwords cannot be reset.", label=None)  # type: ignore[arg-type]
    fw.correct(iid, "Call us.", actor="customer")
    fw.correct(iid, "Use the reset link.", actor="customer")
    settle(fw)
    assert [e.output for e in fw.few_shot("reset password", session_id=None)] == ["Use the reset link."]


def test_question_filters_apply_to_corrected_turns_and_answer_filters_leave_them_out(fw: Flywheel) -> None:
    wrong_route = [RoutingDecision("router", chosen="faq", candidates=["refunds", "faq"], name="intent-router")]
    corrected = add(fw, "Where is my refund?", "See our FAQ.", label=None, metadata={"category": "billing"},  # type: ignore[arg-type]
                    decisions=wrong_route)
    fw.correct(corrected, "refunds", actor="customer")
    routed = add(fw, "What is the status of my refund?", "refunds", metadata={"category": "billing"},
                 decisions=[RoutingDecision("router", chosen="refunds", candidates=["refunds", "faq"], name="intent-router")])
    settle(fw)
    # what the user asked about filters both kinds
    assert set(ids(fw.few_shot("refund status", k=3, session_id=None, category="billing"))) == {corrected, routed}
    assert fw.few_shot("refund status", k=3, session_id=None, category="shipping") == []
    # the router's "faq" is what the user replaced: a route filter shows only turns that went there and were right
    assert ids(fw.few_shot("refund status", k=3, session_id=None, route="refunds")) == [routed]
    assert ids(fw.few_shot("refund status", k=3, session_id=None, route="faq")) == []
    with fw.session(fw.store.get(corrected).session_id, "u1"):
        assert ids(fw.few_shot("refund status", k=3)) == []  # the current session's turns are never examples
