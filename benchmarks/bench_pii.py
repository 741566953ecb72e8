"""PII redaction benchmark: recall per entity type, false positives, and texts/s.

    PYTHONPATH=. python benchmarks/bench_pii.py [--n 400] [--clean 1000] [--seed 7] [--spacy-model blank]

Recall: a labeled value counts as found when every non-space character of it is covered by some
detected span (of any type: for privacy a phone number redacted as an SSN is still gone);
"typed" recall also requires the right type. False positives are measured on PII-free sentences:
the share of sentences where anything was redacted, and the share of their tokens redacted.
Throughput is ``redact_batch`` over a shuffled mix of all sentences (about 3/4 of support-chat
traffic is PII-free), batches of 64, one thread.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data.make_pii_set import make_set  # noqa: E402

from flywheel_middleware.privacy import RedactionConfig, Redactor  # noqa: E402


def _covered(spans: list[Any], start: int, end: int, text: str, etype: str | None = None) -> bool:
    for pos in range(start, end):
        if text[pos].isspace():
            continue
        if not any(s.start <= pos < s.end and (etype is None or s.entity_type == etype) for s in spans):
            return False
    return True


def evaluate(redactor: Redactor, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall per group, typed recall, FP rates and the misses (for inspection)."""
    found = redactor.analyze_batch([r["text"] for r in records])
    hits: dict[str, int] = defaultdict(int)
    typed: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    misses: dict[str, list[str]] = defaultdict(list)
    fps: list[str] = []
    clean_n = clean_fp = clean_tokens = clean_fp_tokens = 0
    for rec, spans in zip(records, found):
        text, group = rec["text"], rec["group"]
        if group == "CLEAN":
            clean_n += 1
            tokens = [(m_start, m_start + len(tok)) for m_start, tok in _tokens(text)]
            clean_tokens += len(tokens)
            bad = [t for t in tokens if any(s.start < t[1] and t[0] < s.end for s in spans)]
            clean_fp_tokens += len(bad)
            if spans:
                clean_fp += 1
                fps.append(f"{text!r} -> {[(text[s.start:s.end], s.entity_type) for s in spans]}")
            continue
        for gold in rec["spans"]:
            key = group if group == "PERSON_OOV" else gold["type"]
            total[key] += 1
            if _covered(spans, gold["start"], gold["end"], text):
                hits[key] += 1
                want = "STREET_ADDRESS" if gold["type"] == "STREET_ADDRESS" else gold["type"]
                if _covered(spans, gold["start"], gold["end"], text, want):
                    typed[key] += 1
            else:
                misses[key].append(f"{text!r} -> {[(text[s.start:s.end], s.entity_type) for s in spans]}")
    return {
        "recall": {k: hits[k] / total[k] for k in total},
        "typed_recall": {k: typed[k] / total[k] for k in total},
        "support": dict(total),
        "fp_sentence_rate": clean_fp / max(1, clean_n),
        "fp_token_rate": clean_fp_tokens / max(1, clean_tokens),
        "clean_sentences": clean_n,
        "misses": dict(misses),
        "false_positives": fps,
    }


def _tokens(text: str) -> list[tuple[int, str]]:
    out, pos = [], 0
    for tok in text.split():
        pos = text.index(tok, pos)
        out.append((pos, tok))
        pos += len(tok)
    return out


def throughput(redactor: Redactor, texts: list[str], batch: int = 64, rounds: int = 1) -> float:
    """Texts per second through ``redact_batch`` (one thread)."""
    t0 = time.perf_counter()
    n = 0
    for _ in range(rounds):
        for i in range(0, len(texts), batch):
            redactor.redact_batch(texts[i:i + batch], conversation="bench")
            n += len(texts[i:i + batch])
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--clean", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--spacy-model", default=None, help="None: auto-detect; 'blank': offline engine")
    ap.add_argument("--mode", default="placeholder", choices=["placeholder", "pseudonym"])
    ap.add_argument("--show", type=int, default=5, help="misses / false positives to print per group")
    args = ap.parse_args()

    t0 = time.perf_counter()
    redactor = Redactor(RedactionConfig(spacy_model=args.spacy_model, mode=args.mode))
    redactor.warmup()
    print(f"engine: {redactor.engine_kind}, built in {time.perf_counter() - t0:.1f}s")

    records = make_set(args.n, args.clean, args.seed)
    report = evaluate(redactor, records)
    print("\n| entity | sentences | recall | typed recall |\n|---|---|---|---|")
    for k in sorted(report["recall"]):
        print(f"| {k} | {report['support'][k]} | {report['recall'][k]:.3f} | {report['typed_recall'][k]:.3f} |")
    print(f"\nclean sentences: {report['clean_sentences']}, FP sentence rate {report['fp_sentence_rate']:.3f}, "
          f"FP token rate {report['fp_token_rate']:.4f}")
    for k, ms in report["misses"].items():
        for m in ms[: args.show]:
            print(f"  miss {k}: {m}")
    for fp in report["false_positives"][: args.show * 4]:
        print(f"  FP: {fp}")

    texts = [r["text"] for r in records]
    # a realistic mix: ~3/4 of chat turns carry no PII
    clean = [r["text"] for r in records if r["group"] == "CLEAN"]
    mix = texts + clean * 3
    random.Random(0).shuffle(mix)
    redactor.redact_batch(mix[:64])
    tps = throughput(redactor, mix)
    single = Redactor(RedactionConfig(spacy_model=args.spacy_model, mode=args.mode))
    t1 = time.perf_counter()
    for t in mix[:1000]:
        single.redact(t)
    one = 1000 / (time.perf_counter() - t1)
    pii_only = [r["text"] for r in records if r["group"] != "CLEAN"]
    tps_pii = throughput(redactor, pii_only)
    print(f"\nthroughput (1 thread): redact_batch(64) on the mix {tps:.0f} texts/s; "
          f"PII-only sentences {tps_pii:.0f} texts/s; redact() one by one {one:.0f} texts/s "
          f"(mix of {len(mix)} texts, mean {sum(map(len, mix)) / len(mix):.0f} chars)")


if __name__ == "__main__":
    main()
