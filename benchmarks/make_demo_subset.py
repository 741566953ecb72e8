"""Write ``flywheel_middleware/data/clinc150_demo.json``: the CLINC150 domains ``flywheel demo`` uses.

The demo ships this subset inside the package (installed users have no ``benchmarks/`` folder):
every train and test question of the intents of ``DEMO_DOMAINS``, copied unchanged from
``benchmarks/data/public/clinc150/data_full.json`` (CLINC150, CC BY 3.0; attribution in
``flywheel_middleware/data/README.md``). The validation split is left out: it is what the
demo's settings were tuned on (``benchmarks/bench_flywheel.py --split val``).

    python benchmarks/make_demo_subset.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "benchmarks" / "data" / "public" / "clinc150"
TARGET = ROOT / "flywheel_middleware" / "data" / "clinc150_demo.json"


def main() -> None:
    import sys

    sys.path.insert(0, str(ROOT))
    from flywheel_middleware._demo_world import DEMO_DOMAINS

    full = json.loads((SOURCE / "data_full.json").read_text(encoding="utf-8"))
    domains = json.loads((SOURCE / "domains.json").read_text(encoding="utf-8"))
    picked = {d: domains[d] for d in DEMO_DOMAINS}
    intents = {i for d in picked.values() for i in d}
    out: dict[str, object] = {
        "source": "CLINC150, https://github.com/clinc/oos-eval (data_full.json), CC BY 3.0",
        "domains": picked,
    }
    for split in ("train", "test"):
        rows: dict[str, list[str]] = {}
        for text, intent in full[split]:
            if intent in intents:
                rows.setdefault(intent, []).append(text)
        out[split] = {i: rows[i] for i in sorted(rows)}
    TARGET.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes): {len(intents)} intents in {list(picked)}")


if __name__ == "__main__":
    main()
