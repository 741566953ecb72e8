"""Phone numbers with no phone word near them, found by their grouping and a region's numbering
plan, and the identifiers, dates, counts and amounts of the same shape that stay text.
Real Presidio + the pinned NER model."""

from __future__ import annotations

import pytest

from flywheel_middleware.privacy import Redactor


def _phones(ner: Redactor, text: str) -> list[str]:
    return [text[s.start:s.end] for s in ner.analyze(text) if s.entity_type == "PHONE_NUMBER"]


@pytest.mark.parametrize("value", ["473 6400", "22 456311", "9472 7916", "315 219 361", "77 385 106", "221 12 34",
                                   "123-4567"])
def test_local_and_national_groupings_are_phones_without_a_phone_word(ner: Redactor, value: str) -> None:
    assert _phones(ner, f"You can get me at {value} after six.") == [value]


@pytest.mark.parametrize("value", ["0598384330", "00823841297"])
def test_unseparated_digits_with_a_trunk_or_international_prefix_are_phones(ner: Redactor, value: str) -> None:
    assert _phones(ner, f"Mine is {value}.") == [value]


def test_three_pairs_that_are_no_date_or_time_are_phones(ner: Redactor) -> None:
    assert _phones(ner, "Here it is: 33 66 18") == ["33 66 18"]


@pytest.mark.parametrize("text", ["order 473 6400", "invoice 2023-000123", "account 0012 3456", "ticket #22 456311",
                                  "item no. 9472 7916"])
def test_the_same_groupings_after_an_identifier_word_are_kept(ner: Redactor, text: str) -> None:
    assert _phones(ner, text) == []


@pytest.mark.parametrize("text", ["on 12 03 24 at 10 30 45", "between 2019 2020", "We had 12 500 000 visitors",
                                  "It costs 1 250 000 EUR", "ref 2023-000123 closed"])
def test_dates_times_years_counts_and_amounts_are_kept(ner: Redactor, text: str) -> None:
    assert _phones(ner, text) == []


def test_every_tune_part_phone_is_found_in_sentences_without_a_phone_word(ner: Redactor) -> None:
    """The stress guard of benchmarks/stress_phones.py on three of its frames (constructed data)."""
    import stress_phones as sp
    from bench_pii import spans_of

    frames = sp.FRAMES[1:4]
    recall, missed = sp.evaluate(spans_of(ner), sp.tune_phones(), frames)
    rate, hits = sp.false_positives(spans_of(ner), frames)
    assert recall == 1.0, missed[:10]
    assert rate == 0.0, hits
