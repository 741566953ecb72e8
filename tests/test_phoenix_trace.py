"""What a LangChain turn looks like in Phoenix: each signal an annotation whose label and
explanation say what the user did, a correction carrying its redacted text and a diff summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from flywheel_middleware import Flywheel, Signal
from flywheel_middleware.feedback import correction_value
from flywheel_middleware.processors.annotations import describe_signal, diff_summary
from flywheel_middleware.tracing import annotation_payload


def test_a_correction_is_described_by_its_diff_with_the_corrected_text_in_metadata():
    value = correction_value("Refunds take 30 days.\nContact support.", "Refunds take 5 business days.\nContact support.")
    described = describe_signal(Signal("i1", "correction", value, actor="u1"))
    assert described["label"] == "correction"
    assert described["explanation"] == "corrected: 1 line removed, 1 added: Refunds take 5 business days."
    assert described["metadata"]["corrected_text"] == value["edited"]
    assert "-Refunds take 30 days." in described["metadata"]["diff"]


def test_labels_name_what_happened():
    assert describe_signal(Signal("i1", "thumbs_up"))["label"] == "thumbs_up"
    assert describe_signal(Signal("i1", "rating", 4))["label"] == "4/5"
    copied = describe_signal(Signal("i1", "copy", "Settings > Security"))
    assert copied == {"label": "copy", "explanation": "Settings > Security"}
    judged = describe_signal(Signal("i1", "judge", {"label": "incorrect", "score": 0.2}, source="judge"))
    assert judged["label"] == "incorrect"


def test_the_description_goes_into_the_phoenix_payload():
    signal = Signal("i1", "correction", correction_value("a", "b"), actor="u1")
    payload = annotation_payload(signal, "00000000000000ab", score=0.0, described=describe_signal(signal))
    assert payload["name"] == "correction" and payload["result"]["label"] == "correction"
    assert payload["result"]["explanation"].startswith("corrected: 1 line removed, 1 added")
    assert payload["metadata"]["corrected_text"] == "b" and payload["metadata"]["actor"] == "u1"


def test_diff_summary_of_an_unchanged_answer():
    assert diff_summary("") == "no change"


@pytest.mark.phoenix
def test_in_phoenix_a_correction_annotation_has_the_redacted_text_and_the_diff(store_path: Path, embedder,
                                                                               phoenix_server: str) -> None:
    pytest.importorskip("langchain.agents")
    from langchain.agents import create_agent

    from phoenix_server import get_span_annotations, wait_for
    from test_langchain_capture import answer, calls, get_weather, model

    with Flywheel(store_path, embedder=embedder, phoenix_endpoint=phoenix_server, flush_interval_s=0.05) as fw:
        agent = create_agent(model(calls(("get_weather", {"city": "Oslo"})), answer("It is raining in Oslo.")), [get_weather])
        handler = fw.langchain()
        agent.invoke({"messages": [("user", "Weather in Oslo?")]},
                     config={"callbacks": [handler], "metadata": {"session_id": "phx-corr", "user_id": "ann"}})
        iid = handler.last_interaction_id()
        assert fw.flush(60)
        fw.feedback(iid, "thumbs_up", actor="ann")
        fw.correct(iid, "It is snowing in Oslo. Questions: write to ann.berg@example.com", actor="ann")
        assert fw.flush(120)
        span_id = fw.get(iid).metadata["span_id"]
        notes = wait_for(lambda: [n for n in get_span_annotations(phoenix_server, [span_id]) if n["name"] == "correction"])
    (note,) = notes
    assert note["result"]["label"] == "correction" and note["result"]["score"] == 0.0
    assert note["result"]["explanation"].startswith("corrected: 1 line removed, 1 added: It is snowing in Oslo.")
    corrected = note["metadata"]["corrected_text"]
    assert corrected.startswith("It is snowing in Oslo.")
    assert "ann.berg@example.com" not in corrected and "<EMAIL_ADDRESS" in corrected  # redacted before it left
    assert "-It is raining in Oslo." in note["metadata"]["diff"]
