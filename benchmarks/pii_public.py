"""The public PII dev data (presidio-research synthetic set v2, half; MIT) and its fixed split.

presidio-research builds its sentences from templates, so two sentences of one template share
their wording and differ only in the values. The split is therefore *grouped* by ``template_id``:
a template is in the tuning part or in the report part, never both, so the report figures are on
sentence shapes nobody looked at while the recognizers were tuned. Which part a template lands in
is a seeded hash (stable across Python versions and runs): ``sha256(f"{SEED}:{template_id}")``.
The seed was picked from *counts only* (the first of v1..v2000 whose report part holds 35-65 % of
the values of every target type and of the entity-free sentences), before any text was read.

    tune, report = load_split()      # lists of records: full_text, spans, template_id
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "public" / "presidio_synth" / "dev.json"
SEED = "flywheel-pii-split-v52"
REPORT_SHARE = 0.5

#: The entity types the redactor promises to remove, grouped as in the issue's targets.
STRUCTURED = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS")
TARGET_TYPES = STRUCTURED + ("PERSON", "STREET_ADDRESS")


def part_of(template_id: Any) -> str:
    """``"tune"`` or ``"report"`` for a template id (a seeded hash, fixed forever)."""
    digest = hashlib.sha256(f"{SEED}:{template_id}".encode()).digest()
    return "report" if int.from_bytes(digest[:8], "big") / 2**64 < REPORT_SHARE else "tune"


def load(path: Path = DATA) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def load_split(path: Path = DATA) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(tune, report): every record of one template is in the same part."""
    tune: list[dict[str, Any]] = []
    report: list[dict[str, Any]] = []
    for rec in load(path):
        (report if part_of(rec["template_id"]) == "report" else tune).append(rec)
    return tune, report


def gold_spans(rec: dict[str, Any], types: tuple[str, ...] = TARGET_TYPES) -> list[tuple[int, int, str, str]]:
    """(start, end, type, value) of the record's labelled entities of ``types``."""
    return [(s["start_position"], s["end_position"], s["entity_type"], s["entity_value"])
            for s in rec["spans"] if s["entity_type"] in types]


# ---------------------------------------------------------------------------------------------
# the fresh set (presidio-evaluator 0.3.2's own generator, seeded; data/make_presidio_fresh.py)
# ---------------------------------------------------------------------------------------------

FRESH = Path(__file__).resolve().parent / "data" / "public" / "presidio_fresh" / "fresh.json"


def fresh_template_parts(fresh: list[dict[str, Any]], dev: list[dict[str, Any]] | None = None) -> dict[Any, str]:
    """Which part each fresh template is in, fixed before any figure on the fresh set was read.

    The fresh sentences come from the same template file as the dev set (presidio-evaluator's
    ``templates.txt``; its line number is ``template_id``, the same numbering the dev set uses
    wherever both have the template's masked text). A fresh template is ``"tune"`` when the dev
    set's *tune* split holds it (by id, or a sentence with the same masked text); every other
    template is ``"report"``: either in the dev *report* split (its wording was read at the end
    of earlier shifts, its values here are new) or absent from the dev set (``"report-unseen"``,
    a subset of report that nobody on the project has read at all)."""
    dev = load(DATA) if dev is None else dev
    tune_ids = {r["template_id"] for r in dev if part_of(r["template_id"]) == "tune"}
    tune_masked = {r["masked"] for r in dev if part_of(r["template_id"]) == "tune"}
    dev_ids = {r["template_id"] for r in dev}
    dev_masked = {r["masked"] for r in dev}
    parts: dict[Any, str] = {}
    for tid in sorted({r["template_id"] for r in fresh}):
        masked = {r["masked"] for r in fresh if r["template_id"] == tid}
        if tid in tune_ids or masked & tune_masked:
            parts[tid] = "tune"
        elif tid in dev_ids or masked & dev_masked:
            parts[tid] = "report"
        else:
            parts[tid] = "report-unseen"
    return parts


def load_fresh_split(path: Path = FRESH) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(tune, report) of the fresh set; report includes the ``report-unseen`` templates (each
    record's ``part`` key says which)."""
    fresh = load(path)
    parts = fresh_template_parts(fresh)
    tune: list[dict[str, Any]] = []
    report: list[dict[str, Any]] = []
    for rec in fresh:
        part = parts[rec["template_id"]]
        (tune if part == "tune" else report).append({**rec, "part": part})
    return tune, report
