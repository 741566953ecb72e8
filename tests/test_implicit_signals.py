"""Implicit signals are detected in the worker and land on the turn they judge."""

from __future__ import annotations

import time

from flywheel_middleware import Flywheel, Interaction
from flywheel_middleware.processors import SignalDetectionProcessor


def _turn(fw: Flywheel, question: str, answer: str, at: float, session: str = "s1") -> Interaction:
    it = Interaction(input=question, output=answer, session_id=session, user_id="u1", started_at=at, ended_at=at + 2)
    fw.record(it)
    fw.flush(60)
    return it


def _kinds(fw: Flywheel, it: Interaction) -> list[str]:
    fw.flush(60)
    return sorted(s.kind for s in fw.signals(it.id))


def test_a_rephrase_marks_the_previous_turn(fw: Flywheel) -> None:
    first = _turn(fw, "How do I cancel my subscription?", "Our store opens at 9am.", 1000.0)
    second = _turn(fw, "I want to stop paying for my membership plan, how?", "Go to Billing > Cancel.", 1030.0)
    assert "rephrase" in _kinds(fw, first)
    assert "rephrase" not in _kinds(fw, second)
    signal = next(s for s in fw.signals(first.id) if s.kind == "rephrase")
    assert signal.source == "implicit" and signal.evidence["trigger_interaction_id"] == second.id


def test_a_same_topic_follow_up_is_not_a_rephrase(fw: Flywheel) -> None:
    first = _turn(fw, "How do I open a savings account?", "Open the app, tap Accounts > New > Savings.", 1000.0)
    _turn(fw, "And what about the fees?", "There are no monthly fees.", 1030.0)
    assert "rephrase" not in _kinds(fw, first)


def test_a_correction_phrase_marks_the_previous_turn(fw: Flywheel) -> None:
    first = _turn(fw, "What is the refund window?", "You can return items within 90 days.", 1000.0)
    _turn(fw, "That's not right, your website says 30 days.", "Sorry, it is 30 days.", 1030.0)
    assert "correction_phrase" in _kinds(fw, first)
    assert fw.reward(first.id).label == "bad"


def test_asking_for_a_human_is_an_escalation(fw: Flywheel) -> None:
    first = _turn(fw, "My parcel never arrived", "Please wait a few more days.", 1000.0)
    _turn(fw, "This is useless, let me talk to a real person", "Transferring you.", 1030.0)
    assert "escalate" in _kinds(fw, first)


def test_turns_in_other_sessions_are_not_compared(fw: Flywheel) -> None:
    first = _turn(fw, "How do I cancel my subscription?", "Our store opens at 9am.", 1000.0, session="a")
    _turn(fw, "I want to stop paying for my membership plan, how?", "Billing > Cancel.", 1030.0, session="b")
    assert _kinds(fw, first) == []


def test_replaying_detection_does_not_duplicate_signals(fw: Flywheel) -> None:
    first = _turn(fw, "What is the refund window?", "You can return items within 90 days.", 1000.0)
    second = _turn(fw, "That's wrong, it is 30 days.", "Sorry.", 1030.0)
    fw.record(second)  # the same turn recorded again (a retry, a replayed queue)
    assert _kinds(fw, first).count("correction_phrase") == 1


def test_a_session_idle_after_a_failure_is_abandoned(fw: Flywheel) -> None:
    now = time.time()
    first = _turn(fw, "Where is my parcel?", "I don't know.", now - 4000)
    fw.feedback(first.id, "thumbs_down", actor="u1")
    fw.flush(60)
    processor = next(p for p in fw.processors if isinstance(p, SignalDetectionProcessor))
    for signal in processor.check_abandoned(now):
        fw.add_signal(signal)
    assert "abandon" in _kinds(fw, first)


def test_a_session_idle_after_success_is_not_abandoned(fw: Flywheel) -> None:
    now = time.time()
    first = _turn(fw, "Where is my parcel?", "It arrives tomorrow.", now - 4000)
    fw.feedback(first.id, "thumbs_up", actor="u1")
    fw.flush(60)
    processor = next(p for p in fw.processors if isinstance(p, SignalDetectionProcessor))
    assert processor.check_abandoned(now) == []


def test_restating_the_question_before_last_marks_that_turn(fw: Flywheel) -> None:
    first = _turn(fw, "How do I cancel my gym membership?", "Our clubs are open from 6 am.", 1000.0)
    middle = _turn(fw, "What are your opening hours on Sunday?", "We open at 10 on Sundays.", 1030.0)
    _turn(fw, "I want to stop my subscription at the fitness club, how do I end it?", "Billing > Cancel.", 1060.0)
    assert "rephrase" in _kinds(fw, first)
    assert "rephrase" not in _kinds(fw, middle)
    signal = next(s for s in fw.signals(first.id) if s.kind == "rephrase")
    assert signal.evidence["turns_back"] == 2


def test_stored_signal_evidence_holds_no_user_text(fw: Flywheel) -> None:
    turns = [_turn(fw, "What is the refund window for order 77812?", "You can return items within 90 days.", 1000.0),
             _turn(fw, "No, I meant the window for my order from Lisbon", "Sorry, it is 30 days.", 1030.0),
             _turn(fw, "Please let me talk to a real person about Lisbon", "Transferring you.", 1060.0)]
    fw.flush(60)
    signals = [s for it in turns for s in fw.signals(it.id) if s.source == "implicit"]
    assert {"correction_phrase", "escalate"} <= {s.kind for s in signals}
    for s in signals:
        dumped = str(s.evidence).lower()
        assert "lisbon" not in dumped and "77812" not in dumped and "window" not in dumped, s.evidence


def test_erased_turns_leave_the_rephrase_reference(fw: Flywheel) -> None:
    for i in range(3):
        _turn(fw, f"Where is parcel number {i}?", "On its way.", 1000.0 + i, session=f"p{i}")
    processor = next(p for p in fw.processors if isinstance(p, SignalDetectionProcessor))
    assert processor.reference is not None and len(processor.reference) == 3
    fw.forget("u1")
    processor._prune_reference()
    assert len(processor.reference) == 0
