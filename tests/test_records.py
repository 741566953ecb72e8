"""Records: a versioned JSON form that survives a round trip and rejects what it cannot keep."""

from __future__ import annotations

import json

import pytest

from flywheel_middleware import SCHEMA_VERSION, Interaction, RecordError, RoutingDecision, Signal, Step
from flywheel_middleware.records import text_of


def test_interaction_round_trips_through_json() -> None:
    it = Interaction(
        input={"messages": [{"role": "user", "content": "hi"}]},
        output="hello",
        session_id="s",
        user_id="u",
        model_version="m1",
        prompt_version="p1",
        steps=[Step("tool", "search", inputs={"q": "x"}, outputs=["doc"], started_at=1.0, ended_at=2.5)],
        decisions=[RoutingDecision("router", chosen="billing", candidates=["billing", "tech"], reason="keywords")],
        few_shot_ids=["a", "b"],
        metadata={"category": "billing"},
    )
    data = json.loads(json.dumps(it.to_dict()))
    assert data["schema_version"] == SCHEMA_VERSION
    back = Interaction.from_dict(data)
    assert back == it
    assert back.steps[0].duration_s == 1.5


def test_binary_payloads_are_described_not_stored_raw() -> None:
    it = Interaction(input="upload", output=b"\x00\xff" * 1000)
    out = it.to_dict()["output"]
    assert out["__binary__"] is True and out["size"] == 2000
    json.dumps(it.to_dict())


def test_unknown_fields_from_a_newer_writer_are_ignored() -> None:
    data = Interaction(input="q").to_dict() | {"future_field": 1}
    assert Interaction.from_dict(data).input == "q"


def test_newer_schema_version_is_refused_with_a_reason() -> None:
    data = Interaction(input="q").to_dict() | {"schema_version": SCHEMA_VERSION + 1}
    with pytest.raises(RecordError, match="newer"):
        Interaction.from_dict(data)


@pytest.mark.parametrize(
    "changes, message",
    [({"status": "exploded"}, "status"), ({"session_id": 5}, "session_id"), ({"id": ""}, "id"), ({"steps": ["x"]}, "steps")],
)
def test_invalid_interactions_say_what_is_wrong(changes, message) -> None:
    it = Interaction(input="q")
    for key, value in changes.items():
        setattr(it, key, value)
    with pytest.raises(RecordError, match=message):
        it.validate()


def test_signal_round_trip_and_validation() -> None:
    sig = Signal(interaction_id="i1", kind="thumbs_up", source="explicit", actor="u1")
    assert Signal.from_dict(json.loads(json.dumps(sig.to_dict()))) == sig
    with pytest.raises(RecordError, match="source"):
        Signal(interaction_id="i1", kind="x", source="guess").validate()


def test_text_of_reads_common_payload_shapes() -> None:
    assert text_of("plain") == "plain"
    assert text_of({"messages": [{"role": "user", "content": "first"}, {"role": "user", "content": "last"}]}) == "last"
    assert text_of({"question": "q?"}) == "q?"
    assert text_of(None) == ""


@pytest.mark.parametrize(
    "build, field",
    [
        (lambda: Interaction(input="q", started_at=float("nan")), "started_at"),
        (lambda: Interaction(input="q", started_at=float("inf")), "started_at"),
        (lambda: Interaction(input="q", started_at=1e300), "started_at"),
        (lambda: Interaction(input="q", ended_at=float("nan")), "ended_at"),
        (lambda: Interaction(input="q", steps=[Step("llm", "m", started_at=float("-inf"))]), r"steps\[0\].started_at"),
        (lambda: Interaction(input="q", decisions=[RoutingDecision("model", "a", at=float("nan"))]), r"decisions\[0\].at"),
        (lambda: Interaction(input="q", id="half an emoji \ud83d"), "id"),
        (lambda: Interaction(input="q", user_id="u\udc00"), "user_id"),
    ],
)
def test_non_finite_times_and_invalid_unicode_ids_are_refused_by_name(build, field) -> None:
    with pytest.raises(RecordError, match=field):
        build().validate()


def test_payload_values_json_cannot_hold_are_normalised_not_dropped() -> None:
    from flywheel_middleware.records import to_jsonable

    out = to_jsonable({"score": float("nan"), "inf": float("-inf"), "big": 2**70, "text": "emoji \ud83d!", "k\udc00": 1})
    assert out == {"score": None, "inf": None, "big": str(2**70), "text": "emoji \ufffd!", "k\ufffd": 1}
    json.dumps(out, allow_nan=False).encode("utf-8")  # strict JSON, valid UTF-8
