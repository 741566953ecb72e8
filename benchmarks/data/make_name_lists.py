"""Build ``flywheel_middleware/data/person_names.txt.gz``: the first/last-name gazetteer of the redactor.

Source: the PyPI package ``names-dataset`` 3.3.1 (MIT, Philippe Remy): first and last names with
their popularity rank in each of 105 countries. It is independent of the data the redactor is
scored on (presidio-research's synthetic set draws its names from Faker's provider lists and its
own CSVs); none of Faker's lists are used here. Lower-cased, best rank over countries per
spelling. Three whitespace-separated sections (fast to load into sets): ``names`` (best rank as a
first or last name within ``--max-rank``), ``first`` (first names within ``--first-rank``: a
"known" first name for the cue rules), ``last`` (last names within ``--last-rank``).

    pip install names-dataset==3.3.1      # only to regenerate (loads ~1.3 GB for a minute)
    python benchmarks/data/make_name_lists.py
"""

from __future__ import annotations

import argparse
import gzip
import pickle
import re
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "flywheel_middleware" / "data" / "person_names.txt.gz"
_NAME = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


def _best_ranks(path: Path, max_rank: int) -> dict[str, int]:
    with gzip.open(path, "rb") as fh:
        table = pickle.load(fh)  # noqa: S301 - the package's own data file
    out: dict[str, int] = {}
    for name, info in table.items():
        ranks = [r for r in (info.get("rank") or {}).values() if isinstance(r, int)]
        if not ranks or not _NAME.fullmatch(name) or len(name) < 2:
            continue
        best = min(ranks)
        key = name.lower()
        if best <= max_rank and best < out.get(key, max_rank + 1):
            out[key] = best
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-rank", type=int, default=5000)
    ap.add_argument("--first-rank", type=int, default=1000)
    ap.add_argument("--last-rank", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    import names_dataset

    base = Path(names_dataset.__file__).resolve().parent / "v3"
    first = _best_ranks(base / "first_names.pkl.gz", args.max_rank)
    last = _best_ranks(base / "last_names.pkl.gz", args.max_rank)
    sections = {
        "names": sorted(set(first) | set(last)),
        "first": sorted(n for n, r in first.items() if r <= args.first_rank),
        "last": sorted(n for n, r in last.items() if r <= args.last_rank),
    }
    header = (f"# person names from names-dataset 3.3.1 (MIT, Philippe Remy): best rank in any of its 105 countries; "
              f"names <= {args.max_rank}, first <= {args.first_rank}, last <= {args.last_rank}\n")
    body = "".join(f"## {key}\n" + "\n".join(values) + "\n" for key, values in sections.items())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(args.out, "wb", mtime=0) as fh:  # mtime 0: the same input gives the same bytes
        fh.write((header + body).encode("utf-8"))
    print(f"{args.out}: " + ", ".join(f"{len(v)} {k}" for k, v in sections.items()))


if __name__ == "__main__":
    main()
