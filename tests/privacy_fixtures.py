"""The default redactor (real Presidio + the pinned NER model), shared by the privacy tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from flywheel_middleware.privacy import Redactor  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.fixture(scope="session")
def ner() -> Redactor:
    """Built once per run: the engine and names database take seconds to load."""
    r = Redactor()
    r.warmup()
    return r


def leak_report(redactor: Redactor, records: list[dict[str, Any]]) -> dict[str, Any]:
    """``bench_pii.evaluate_public`` of ``redactor`` on public records (leak per type, FP rate)."""
    from bench_pii import evaluate_public, spans_of

    return evaluate_public(spans_of(redactor), records)
