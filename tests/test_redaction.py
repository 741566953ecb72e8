"""Behaviour of the PII redactor, with the real Presidio engine (offline, no spaCy model)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
pytest.importorskip("presidio_analyzer")

from flywheel_middleware.privacy import RedactionConfig, Redactor  # noqa: E402

BLANK = RedactionConfig(spacy_model="blank")


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    r = Redactor(BLANK)
    r.warmup()
    return r


@pytest.fixture(scope="module")
def pseudo() -> Redactor:
    return Redactor(RedactionConfig(spacy_model="blank", mode="pseudonym"))


@pytest.mark.parametrize(
    ("text", "value", "entity"),
    [
        ("Write to me at ann.lee@example.org please.", "ann.lee@example.org", "EMAIL_ADDRESS"),
        ("My number is (212) 555-0187.", "(212) 555-0187", "PHONE_NUMBER"),
        ("My card is 4111 1111 1111 1111.", "4111 1111 1111 1111", "CREDIT_CARD"),
        ("Wire it to DE89 3704 0044 0532 0130 00 today.", "DE89 3704 0044 0532 0130 00", "IBAN_CODE"),
        ("My SSN is 536-22-8729.", "536-22-8729", "US_SSN"),
        ("Requests come from 203.0.113.42 at night.", "203.0.113.42", "IP_ADDRESS"),
        ("Hi, my name is Rebecca Thornton.", "Rebecca Thornton", "PERSON"),
        ("Ship it to 1777 Kramer Court, Apt. 4B please.", "1777 Kramer Court, Apt. 4B", "STREET_ADDRESS"),
    ],
)
def test_each_entity_type_is_replaced_by_its_placeholder(redactor: Redactor, text: str, value: str, entity: str) -> None:
    out = redactor.redact(text)
    assert value not in out
    assert f"<{entity}>" in out


def test_engine_is_offline_without_a_spacy_model(redactor: Redactor) -> None:
    assert redactor.engine_kind == "spacy-blank"


@pytest.mark.parametrize(
    "text",
    [
        "Dear Olivia Hartley, thanks for reaching out.",
        "Please call Marcus tomorrow.",
        "Mr. Okonkwo asked for an update.",
        "Regards,\nPriya Raman",
        "hi my name is daniel kim and my order is late",
        "Thanks Jessica, that fixed it!",
    ],
)
def test_person_names_are_found_without_a_spacy_model(redactor: Redactor, text: str) -> None:
    out = redactor.redact(text)
    assert "<PERSON>" in out, out


def test_street_address_with_city_state_zip_is_one_span(redactor: Redactor) -> None:
    out = redactor.redact("Deliver to 9032 Michelle Union Suite 011\nSouth Alexisview, IA 35712 by Friday.")
    assert out == "Deliver to <STREET_ADDRESS> by Friday."


@pytest.mark.parametrize(
    "text",
    [
        "My order #45821 hasn't arrived yet.",
        "I'm on version 3.2.1 and the app keeps crashing.",
        "The meeting is on Monday at 10:00.",
        "Will you support dark mode soon?",
        "May I ask why my account was locked?",
        "I use Microsoft Teams for work and the sync is slow.",
        "Your refund of $41.20 will arrive within 5 business days.",
    ],
)
def test_clean_text_is_unchanged(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text) == text


def test_pseudonyms_are_consistent_within_a_conversation(pseudo: Redactor) -> None:
    first = pseudo.redact("Mail ann@example.com or bob@example.com", conversation="c1")
    later = pseudo.redact("ann@example.com again", conversation="c1")
    assert first == "Mail <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_2>"
    assert later == "<EMAIL_ADDRESS_1> again"


def test_pseudonyms_differ_across_conversations(pseudo: Redactor) -> None:
    pseudo.redact("bob@example.com", conversation="c2")
    out = pseudo.redact("ann@example.com", conversation="c2")
    fresh = pseudo.redact("ann@example.com", conversation="c3")
    assert out == "<EMAIL_ADDRESS_2>"
    assert fresh == "<EMAIL_ADDRESS_1>"


def test_pseudonyms_ignore_formatting_of_the_same_number(pseudo: Redactor) -> None:
    a = pseudo.redact("Call 212-555-0187", conversation="c4")
    b = pseudo.redact("Call (212) 555-0187", conversation="c4")
    assert a == b == "Call <PHONE_NUMBER_1>"


def test_nested_tool_arguments_are_redacted(redactor: Redactor) -> None:
    value = {
        "tool": "crm_lookup",
        "args": {"email": "ann@example.com", "filters": ["phone 212-555-0187", 3, None]},
        "result": [{"name": "Dear Olivia Hartley", "ip": ("203.0.113.42",)}],
    }
    out = redactor.redact_value(value)
    assert out == {
        "tool": "crm_lookup",
        "args": {"email": "<EMAIL_ADDRESS>", "filters": ["phone <PHONE_NUMBER>", 3, None]},
        "result": [{"name": "Dear <PERSON>", "ip": ("<IP_ADDRESS>",)}],
    }
    assert value["args"]["email"] == "ann@example.com"  # the input is not mutated


def test_unknown_objects_in_nested_data_become_redacted_strings(redactor: Redactor) -> None:
    out = redactor.redact_value({"ids": {"ann@example.com"}, "n": 3, "ok": True})
    assert out == {"ids": "{'<EMAIL_ADDRESS>'}", "n": 3, "ok": True}


def test_allow_list_values_are_kept() -> None:
    r = Redactor(RedactionConfig(spacy_model="blank", allow_list=("support@example.com",)))
    out = r.redact("Write to support@example.com, not ann@example.com")
    assert out == "Write to support@example.com, not <EMAIL_ADDRESS>"


def test_only_configured_entities_are_redacted() -> None:
    r = Redactor(RedactionConfig(spacy_model="blank", entities=("EMAIL_ADDRESS",)))
    assert r.redact("ann@example.com, 212-555-0187") == "<EMAIL_ADDRESS>, 212-555-0187"


def test_batch_matches_one_by_one(redactor: Redactor) -> None:
    texts = ["call 212-555-0187", "no pii here", "ann@example.com", "", "ip 10.0.0.7 and 4111111111111111"] * 5
    assert redactor.redact_batch(texts) == [redactor.redact(t) for t in texts]


def test_engine_is_shared_process_wide() -> None:
    a, b = Redactor(BLANK), Redactor(RedactionConfig(spacy_model="blank"))
    assert a._engine() is b._engine()


def test_concurrent_redaction_is_safe(pseudo: Redactor) -> None:
    results: list[list[str]] = []

    def work() -> None:
        results.append(pseudo.redact_batch(["ann@example.com and bob@example.com"] * 20, conversation="shared"))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {x for r in results for x in r} == {"<EMAIL_ADDRESS_1> and <EMAIL_ADDRESS_2>"}


def test_recall_on_a_generated_sample_meets_the_targets(redactor: Redactor) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_pii import evaluate  # noqa: E402

    from data.make_pii_set import make_set  # noqa: E402

    report = evaluate(redactor, make_set(n_per_type=60, n_clean=150, seed=11))
    recall = report["recall"]
    for entity in ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS"):
        assert recall[entity] >= 0.99, (entity, recall[entity])
    assert recall["PERSON"] >= 0.90
    assert report["fp_sentence_rate"] <= 0.05


def test_long_documents_are_redacted_across_internal_cuts(redactor: Redactor) -> None:
    # ~12k chars with no sentence end or space to cut at: the pieces are hard cuts, and their
    # overlap must keep every email that a cut falls into
    emails = [f"user{i:03d}@example.com" for i in range(600)]
    out = redactor.redact(";".join(emails))
    assert out == ";".join(["<EMAIL_ADDRESS>"] * len(emails))


def test_a_spacy_pipeline_with_ner_is_used_when_given(tmp_path: Path) -> None:
    # no English model can be installed here: an untrained NER pipeline saved to a folder stands
    # in for one, to show that a given model (name or path) replaces the offline engine
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("ner").add_label("PERSON")
    nlp.initialize()
    nlp.to_disk(tmp_path / "model")
    r = Redactor(RedactionConfig(spacy_model=str(tmp_path / "model"), entities=("EMAIL_ADDRESS", "PERSON")))
    assert r.engine_kind == f"spacy-ner:{tmp_path / 'model'}"
    assert r.redact("My name is Ann Lee, mail ann@example.com") == "My name is <PERSON>, mail <EMAIL_ADDRESS>"


def test_a_missing_spacy_model_falls_back_to_the_offline_engine() -> None:
    r = Redactor(RedactionConfig(spacy_model="en_core_web_not_installed"))
    assert r.engine_kind == "spacy-blank"
    assert r.redact("mail ann@example.com") == "mail <EMAIL_ADDRESS>"
