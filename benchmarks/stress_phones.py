"""Cue-free phone stress set: a regression guard built from constructed data, never a reported figure.

The public sets word most phone numbers with a phone word nearby ("call me at ..."). Users do not
always: "you can get me at 0486 28 54 49 after six". This set puts phone values into neutral
frames written without phone words, and counts how many a redactor still finds:

* ``tune``: the phone values of the *tune* parts only (dev tune split + fresh tune part);
* ``examples``: ``phonenumbers`` example numbers (fixed line and mobile) of every region, in
  national and international format;
* ``negatives``: non-phones in the same frames (amounts, dates, times, years, versions, order
  and reference numbers, IP-like strings, postcodes): none should become a phone.

    python benchmarks/stress_phones.py            # recall per source, false positives, misses
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pii_public  # noqa: E402

#: Frames without a phone word ("call", "phone", "number", "reach", "contact", "text", ...).
FRAMES: tuple[str, ...] = (
    "{}",
    "Mine is {}.",
    "You can get me at {} after six.",
    "Here it is: {}",
    "{} - that's my wife's.",
    "Please write down {} for the Boston office visit.",
    "I'm at {} most evenings",
    "Details for the booking: Anna Berg, {}, arriving Friday.",
)

#: Non-phones that share a phone's digits and separators (the frames must not turn them into phones).
NEGATIVES: tuple[str, ...] = (
    "12/03/2024", "2024-03-12", "03.12.2024", "12 03 2024", "1999-2004", "10:30", "14:45:10",
    "$1,250,000", "1 250 000 EUR", "€ 12 500", "3.2.1", "10.0.0", "v2.14.3", "1.5", "192.168.0.12",
    "order 12345678", "invoice 2023-000123", "ticket #4821", "ref 88-1234", "2,500 users", "98101",
    "SW1A 1AA", "12 14 18 21 25", "ORD-2023-000123", "page 12 of 40", "3 x 4", "1997", "2019 10 15",
    "4111 1111 1111 1111", "account 0012 3456", "item 1234 5678", "build 20240312",
)


def tune_phones() -> list[str]:
    """Distinct phone values of the tune parts (dev tune split + fresh tune part), sorted."""
    dev_tune, _ = pii_public.load_split()
    fresh_tune, _ = pii_public.load_fresh_split()
    return sorted({v for r in dev_tune + fresh_tune for _s, _e, _t, v in pii_public.gold_spans(r, ("PHONE_NUMBER",))})


def example_phones() -> list[str]:
    """phonenumbers' example fixed-line and mobile numbers of every region, national and +CC format."""
    import phonenumbers
    from phonenumbers import PhoneNumberFormat, PhoneNumberType

    out: set[str] = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
            num = phonenumbers.example_number_for_type(region, kind)
            if num is not None:
                out.add(phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL))
                out.add(phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL))
    return sorted(out)


def _caught(value: str, text: str, spans: list[tuple[int, int, str]]) -> bool:
    """The value's digits lie inside phone spans (most of them: an edge bracket may stay out)."""
    start = text.index(value)
    digits = [i for i in range(start, start + len(value)) if text[i].isdigit()]
    inside = [i for i in digits if any(s <= i < e and t == "PHONE_NUMBER" for s, e, t in spans)]
    return len(inside) == len(digits)


def evaluate(spans_fn: Callable[[list[str]], list[list[tuple[int, int, str]]]],
             values: list[str], frames: tuple[str, ...] = FRAMES) -> tuple[float, list[str]]:
    """(recall over value x frame, missed texts)."""
    pairs = [(v, f.format(v)) for v in values for f in frames]
    texts = [t for _v, t in pairs]
    found = spans_fn(texts)
    missed = [t for (v, t), sp in zip(pairs, found) if not _caught(v, t, sp)]
    return 1 - len(missed) / max(1, len(texts)), missed


def false_positives(spans_fn: Callable[[list[str]], list[list[tuple[int, int, str]]]],
                    frames: tuple[str, ...] = FRAMES) -> tuple[float, list[str]]:
    """Share of negative texts (negatives x frames) that get any phone span, and those texts."""
    texts = [f.format(v) for v in NEGATIVES for f in frames]
    found = spans_fn(texts)
    hits = [t for t, sp in zip(texts, found) if any(ty == "PHONE_NUMBER" for _s, _e, ty in sp)]
    return len(hits) / len(texts), hits


def main() -> None:
    from bench_pii import spans_of

    from flywheel_middleware.privacy import Redactor

    r = Redactor()
    r.warmup()
    fn = spans_of(r)
    report: dict[str, Any] = {}
    for name, values in (("tune", tune_phones()), ("examples", example_phones())):
        recall, missed = evaluate(fn, values)
        report[name] = recall
        print(f"{name}: {len(values)} values x {len(FRAMES)} frames, recall {recall:.1%}, missed {len(missed)}")
        for t in missed[: int(sys.argv[1]) if len(sys.argv) > 1 else 40]:
            print("   ", repr(t))
    rate, hits = false_positives(fn)
    print(f"negatives: {len(NEGATIVES)} x {len(FRAMES)} frames, phone spans on {rate:.1%}")
    for t in hits:
        print("   ", repr(t))


if __name__ == "__main__":
    main()
