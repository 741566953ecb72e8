"""Small statistics the evaluation and the gate need: intervals and paired tests.

Why these: accuracy on a few hundred held-out questions is a binomial proportion, so its interval
is Wilson's (good at 0 and 1, where the normal approximation says nonsense). Two models answer the
*same* cases, so the gate compares them with a paired test: exact McNemar on the discordant cases
for right/wrong scores, and a sign-flip permutation test on the per-case differences for graded
(judge) scores. Both report a one-sided p-value for "the candidate is better".
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95 % (by default) Wilson score interval of ``successes / n``; (0, 1) for n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class PairedTest:
    """The outcome of a paired comparison of a candidate with a baseline on the same cases."""

    test: str  # "mcnemar-exact" | "sign-flip permutation"
    n: int  # paired cases
    candidate_mean: float
    baseline_mean: float
    delta: float  # candidate - baseline
    p_value: float  # one-sided: candidate better than baseline
    statistic: float  # McNemar chi-square (continuity-corrected), or the mean difference
    candidate_only: int = 0  # cases only the candidate got right (binary scores)
    baseline_only: int = 0  # cases only the baseline got right

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        if self.test.startswith("mcnemar"):
            return (f"McNemar exact on {self.n} paired cases: candidate-only right {self.candidate_only}, "
                    f"baseline-only right {self.baseline_only}, chi2 {self.statistic:.2f}, one-sided p {self.p_value:.3g}")
        return f"sign-flip permutation on {self.n} paired cases: mean delta {self.delta:+.3f}, one-sided p {self.p_value:.3g}"


def mcnemar(candidate: Sequence[bool], baseline: Sequence[bool]) -> PairedTest:
    """Exact McNemar test on paired right/wrong outcomes (binomial on the discordant pairs)."""
    if len(candidate) != len(baseline):
        raise ValueError("paired outcomes must have the same length")
    n = len(candidate)
    b = sum(1 for c, s in zip(candidate, baseline) if c and not s)  # candidate-only
    c_ = sum(1 for c, s in zip(candidate, baseline) if s and not c)  # baseline-only
    discordant = b + c_
    if discordant == 0:
        p = 1.0
        chi2 = 0.0
    else:
        from scipy.stats import binomtest

        p = float(binomtest(b, discordant, 0.5, alternative="greater").pvalue)
        chi2 = (abs(b - c_) - 1) ** 2 / discordant
    cm = sum(map(bool, candidate)) / n if n else 0.0
    bm = sum(map(bool, baseline)) / n if n else 0.0
    return PairedTest("mcnemar-exact", n, cm, bm, cm - bm, p, chi2, b, c_)


def sign_flip(candidate: Sequence[float], baseline: Sequence[float], *, rounds: int = 10_000, seed: int = 0) -> PairedTest:
    """Paired permutation test (random sign flips of the per-case differences) for graded scores."""
    if len(candidate) != len(baseline):
        raise ValueError("paired scores must have the same length")
    diffs = [float(c) - float(b) for c, b in zip(candidate, baseline)]
    n = len(diffs)
    observed = sum(diffs) / n if n else 0.0
    nonzero = [d for d in diffs if d != 0.0]
    if not nonzero:
        p = 1.0
    else:
        rng = random.Random(seed)
        hits = 0
        for _ in range(rounds):
            total = sum(d if rng.random() < 0.5 else -d for d in nonzero)
            if total / n >= observed - 1e-12:
                hits += 1
        p = (hits + 1) / (rounds + 1)
    cm = sum(map(float, candidate)) / n if n else 0.0
    bm = sum(map(float, baseline)) / n if n else 0.0
    return PairedTest("sign-flip permutation", n, cm, bm, observed, p, observed)


def paired_test(candidate: Sequence[float | bool], baseline: Sequence[float | bool]) -> PairedTest:
    """McNemar when every score is 0/1, else the sign-flip permutation test."""
    binary = all(float(v) in (0.0, 1.0) for v in list(candidate) + list(baseline))
    if binary:
        return mcnemar([bool(v) for v in candidate], [bool(v) for v in baseline])
    return sign_flip([float(v) for v in candidate], [float(v) for v in baseline])
