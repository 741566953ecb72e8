"""Build ``benchmarks/data/public/presidio_fresh/fresh.json``: fresh PII sentences from
presidio-research's own generator, an evaluation set nobody on this project wrote.

Generator: the PyPI package ``presidio-evaluator==0.3.2`` (MIT, Microsoft / Presidio
contributors), its ``PresidioSentenceFaker`` with its own ``templates.txt``, its person records
(``FakeNameGenerator.com_3000.csv``) and its Faker providers, locale ``en_US``,
``lower_case_ratio=0.05`` (the values of presidio-research's own ``__main__``), seed ``SEED``
(presidio-research uses 42; this set must not repeat its sentences). Two departures, both
mechanical: the template file writes line breaks as the two characters ``\\n`` and the published
synthetic set v2 has real line breaks, so they are turned into line breaks before generating; and
the hospital provider is left out (it queries WikiData over the network at start-up, and no
template uses it), so the output does not depend on the network. A rerun gives the same file except for DATE_TIME
values (not scored here), which Faker draws up to the clock's "now".

The set is kept apart from the project's own code: the redactor's names database is
names-dataset (``make_name_lists.py``), not these CSVs, and no recognizer reads this package.
Install it in a separate virtual environment, never in the project's:

    python3 -m venv /work/venv-pe
    /work/venv-pe/bin/pip install presidio-evaluator==0.3.2
    /work/venv-pe/bin/python benchmarks/data/make_presidio_fresh.py      # -> fresh.json

How the set is split into tune / report (by template, against the dev set's split) is
``benchmarks/pii_public.py``'s ``fresh_template_parts``, written before the set was generated.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SEED = 8731
COUNT = 8000
OUT = Path(__file__).resolve().parent / "public" / "presidio_fresh" / "fresh.json"


def _templates() -> list[str]:
    from presidio_evaluator.data_generator import presidio_templates_file_path

    lines = presidio_templates_file_path.read_text(encoding="utf-8").splitlines()
    return [line.strip().replace("\\n", "\n") for line in lines]


def generate(count: int, seed: int) -> list[dict]:
    """``count`` sentences in the dev set's record format (full_text, masked, spans, template_id)."""
    from presidio_evaluator.data_generator import PresidioSentenceFaker, presidio_additional_entity_providers
    from presidio_evaluator.data_generator.faker_extensions import HospitalProvider

    providers = [p for p in presidio_additional_entity_providers if p is not HospitalProvider]
    # The person records are built (middle initial or not, by the global ``random``) before the
    # constructor seeds anything: seed first, or every run draws other names.
    PresidioSentenceFaker.seed(seed)
    faker = PresidioSentenceFaker(locale="en_US", lower_case_ratio=0.05, sentence_templates=_templates(),
                                  entity_providers=providers, random_seed=seed)
    return [_record(sample.to_dict()) for sample in faker.generate_new_fake_sentences(num_samples=count)]


def _record(sample: dict) -> dict:
    """The dev set's fields only (the generator's span objects also carry empty token fields)."""
    spans = [{k: s[k] for k in ("entity_type", "entity_value", "start_position", "end_position")}
             for s in sample["spans"]]
    return {"full_text": sample["full_text"], "masked": sample["masked"], "spans": spans,
            "template_id": sample["template_id"], "metadata": sample["metadata"]}


def _write(records: list[dict], path: Path) -> None:
    """One record per line: a readable diff when the set is regenerated."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ",\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    path.write_text(f"[\n{body}\n]\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=COUNT)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    records = generate(args.count, args.seed)
    _write(records, args.out)
    print(f"{len(records)} sentences, {len({r['template_id'] for r in records})} templates -> {args.out}")


if __name__ == "__main__":
    main()
