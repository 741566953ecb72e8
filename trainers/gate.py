"""The promotion gate and shadow scoring.

``decide`` promotes a candidate only when it beats the baseline (the serving model: by default the
few-shot arm, which is what production serves with this middleware) by a margin a paired test
calls significant, on enough cases, with no category regressing beyond a tolerance, and
optionally with latency / token cost within bounds. A candidate that learned nothing (or learned
the wrong thing) is rejected with its reasons and its test statistic. Every decision is stored in
the registry with the adapter's lineage, so "why is this adapter live?" always has an answer.

``ShadowScorer`` runs a candidate on live traffic records without serving it: it generates for the
interaction's input, scores the output against the reference (a correction) when there is one and
against the served output otherwise, and stores the results.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .evaluate import (
    METRICS,
    DeterministicJudge,
    EvalReport,
    GenerateFn,
    Judge,
    _as_prediction,
    answer_string,
    load_reports,
)

if TYPE_CHECKING:
    from .registry import Registry


@dataclass
class GateDecision:
    """Whether to promote, why, the paired test behind it, and the per-category metric deltas."""

    promote: bool
    reasons: list[str]
    deltas: dict[str, dict[str, float]]
    latency_delta_s: float | None = None
    latency_ratio: float | None = None
    completion_token_delta: float | None = None
    prompt_token_delta: float | None = None
    tolerance: float = 0.05
    candidate: str = "candidate"
    baseline: str = "baseline"
    adapter_id: str | None = None
    metric: str = "normalized"
    n: int = 0  # paired cases
    delta: float | None = None  # candidate - baseline on ``metric``
    p_value: float | None = None  # one-sided, paired: "the candidate is better"
    statistic: float | None = None  # McNemar chi-square, or the mean difference of a permutation test
    test: dict[str, Any] = field(default_factory=dict)
    alpha: float = 0.05
    decided_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _report(obj: EvalReport | dict[str, Any] | str | Path, prefer: str | None = None) -> EvalReport:
    if isinstance(obj, EvalReport):
        return obj
    if isinstance(obj, dict):
        return EvalReport.from_dict(obj)
    reports = load_reports(obj)
    if prefer and prefer in reports:
        return reports[prefer]
    return next(iter(reports.values()))


def _delta(a: Any, b: Any) -> float | None:
    return None if a is None or b is None else float(a) - float(b)


def _case_score(case: Any, metric: str) -> float:
    """A case's score on ``metric``; a failed case scores 0."""
    if case.error:
        return 0.0
    value = getattr(case, metric)
    return 0.0 if value is None else float(value)


def paired_scores(cand: EvalReport, base: EvalReport, metric: str) -> tuple[list[float], list[float]]:
    """Per-case scores of both reports on the cases they share (matched by case id)."""
    theirs = {c.case_id: c for c in base.cases}
    pairs = [(_case_score(c, metric), _case_score(theirs[c.case_id], metric)) for c in cand.cases if c.case_id in theirs]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def decide(
    candidate_report: EvalReport | dict[str, Any] | str | Path,
    baseline_report: EvalReport | dict[str, Any] | str | Path,
    tolerance: float = 0.05,
    *,
    metrics: Iterable[str] = METRICS,
    category_tolerance: dict[str, float] | None = None,
    min_cases: int = 30,
    alpha: float = 0.05,
    min_delta: float = 0.0,
    max_latency_ratio: float | None = None,
    max_token_ratio: float | None = None,
    require_improvement: bool = True,
    registry: "Registry | str | Path | None" = None,
    adapter_id: str | None = None,
) -> GateDecision:
    """Promote only a candidate that is significantly better than the baseline (the serving model).

    Every rule must hold:

    * at least ``min_cases`` cases answered by both (paired by case id);
    * with ``require_improvement`` (the default), the candidate's mean score on the primary metric
      (the judge when both reports have one, else normalised match) beats the baseline's by more
      than ``min_delta``, and a paired one-sided test says so at level ``alpha``: exact McNemar on
      right/wrong cases, a sign-flip permutation test on graded scores;
    * no baseline category is missing from the candidate, and no category's metric drops by more
      than ``tolerance`` (absolute; ``category_tolerance`` per category);
    * the candidate fails on no more cases than the baseline; mean latency / completion tokens stay
      within ``max_latency_ratio`` / ``max_token_ratio`` when given.

    Otherwise the candidate is rejected with a reason per broken rule. With ``registry`` and
    ``adapter_id`` the decision is recorded with the adapter's lineage and its status set.
    """
    from .stats import paired_test

    cand, base = _report(candidate_report, "candidate"), _report(baseline_report, "few_shot")
    metrics = tuple(metrics)
    reasons: list[str] = []
    failed = False
    primary = "judge" if cand.overall.get("judge") is not None and base.overall.get("judge") is not None else "normalized"
    c_scores, b_scores = paired_scores(cand, base, primary)
    test = paired_test(c_scores, b_scores) if c_scores else None
    if len(c_scores) < min_cases:
        failed = True
        reasons.append(f"only {len(c_scores)} paired cases < min_cases={min_cases}: too few to tell")
    if test is not None:
        better = test.delta > min_delta and test.p_value < alpha
        verdict = "significantly better" if better else "not significantly better"
        reasons.append(f"{primary}: candidate {test.candidate_mean:.3f} vs baseline {test.baseline_mean:.3f} "
                       f"(delta {test.delta:+.3f}), {verdict}: {test.describe()}, alpha {alpha}")
        if require_improvement and not better:
            failed = True
    elif require_improvement:
        failed = True
        reasons.append("no paired cases: the reports share no case ids")
    deltas: dict[str, dict[str, float]] = {}
    for category, b in sorted(base.categories.items()):
        c = cand.categories.get(category)
        if c is None:
            failed = True
            reasons.append(f"category {category!r}: missing from the candidate report")
            continue
        tol = (category_tolerance or {}).get(category, tolerance)
        deltas[category] = {}
        for m in metrics:
            d = _delta(c.get(m), b.get(m))
            if d is None:
                continue
            deltas[category][m] = round(d, 6)
            if d < -tol - 1e-12:
                failed = True
                reasons.append(f"category {category!r}: {m} regressed {b[m]:.3f} -> {c[m]:.3f} "
                               f"(delta {d:+.3f}, tolerance {tol})")
    if cand.overall.get("errors", 0) > base.overall.get("errors", 0):
        failed = True
        reasons.append(f"candidate failed on {cand.overall['errors']} cases vs {base.overall.get('errors', 0)}")
    lat_c, lat_b = cand.overall.get("latency_mean_s"), base.overall.get("latency_mean_s")
    latency_ratio = lat_c / lat_b if lat_c is not None and lat_b else None
    if max_latency_ratio is not None and latency_ratio is not None and latency_ratio > max_latency_ratio:
        failed = True
        reasons.append(f"latency x{latency_ratio:.2f} exceeds x{max_latency_ratio}")
    tok_c, tok_b = cand.overall.get("completion_tokens_mean"), base.overall.get("completion_tokens_mean")
    if max_token_ratio is not None and tok_c is not None and tok_b:
        if tok_c / tok_b > max_token_ratio:
            failed = True
            reasons.append(f"completion tokens x{tok_c / tok_b:.2f} exceed x{max_token_ratio}")
    if not failed:
        reasons.append(f"no category regressed beyond tolerance {tolerance} on {', '.join(metrics)}")
        improved = [f"{cat}.{m} {d:+.3f}" for cat, ds in deltas.items() for m, d in ds.items() if d > tolerance]
        if improved:
            reasons.append("improved: " + ", ".join(improved))
    decision = GateDecision(
        promote=not failed, reasons=reasons, deltas=deltas,
        latency_delta_s=_delta(lat_c, lat_b), latency_ratio=latency_ratio,
        completion_token_delta=_delta(tok_c, tok_b),
        prompt_token_delta=_delta(cand.overall.get("prompt_tokens_mean"), base.overall.get("prompt_tokens_mean")),
        tolerance=tolerance, candidate=cand.name, baseline=base.name, adapter_id=adapter_id, metric=primary,
        n=len(c_scores), delta=None if test is None else round(test.delta, 6),
        p_value=None if test is None else test.p_value, statistic=None if test is None else round(test.statistic, 6),
        test={} if test is None else test.to_dict(), alpha=alpha,
    )
    if registry is not None and adapter_id:
        from ._core import _as_registry

        reg = _as_registry(registry)
        assert reg is not None
        reg.record_decision(adapter_id, decision)
    return decision


# ---------------------------------------------------------------------------------------------
# shadow mode
# ---------------------------------------------------------------------------------------------
@dataclass
class ShadowRecord:
    """A live interaction: its input messages, what was served, and a reference if one exists."""

    interaction_id: str
    messages: list[dict[str, Any]]
    served_output: str
    reference: str | None = None
    category: str = "default"

    @classmethod
    def from_interaction(cls, interaction: Any, reference: str | None = None, category: str | None = None) -> "ShadowRecord":
        """Build from a ``flywheel_middleware.records.Interaction`` (or its dict form)."""
        data = interaction.to_dict() if hasattr(interaction, "to_dict") else dict(interaction)
        inp, out = data.get("input"), data.get("output")
        meta = data.get("metadata") or {}
        return cls(
            interaction_id=str(data.get("id")), messages=_to_messages(inp), served_output=_to_text(out),
            reference=reference, category=category or str(meta.get("category") or "default"),
        )


def _to_messages(value: Any) -> list[dict[str, Any]]:
    """Interaction inputs come as a string, a messages list, or a dict holding either."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, list):
        out = []
        for m in value:
            if isinstance(m, dict) and "content" in m:
                role = {"human": "user", "ai": "assistant"}.get(str(m.get("role") or m.get("type")), m.get("role") or m.get("type") or "user")
                out.append({"role": role, "content": _to_text(m["content"])})
            else:
                out.append({"role": "user", "content": _to_text(m)})
        return out
    if isinstance(value, dict):
        for key in ("messages", "input", "query", "question", "content"):
            if key in value:
                return _to_messages(value[key])
    return [{"role": "user", "content": _to_text(value)}]


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("content", "output", "answer", "text", "response"):
            if key in value:
                return _to_text(value[key])
    if isinstance(value, list) and value:
        return _to_text(value[-1])
    return json.dumps(value, default=str)


@dataclass
class ShadowResult:
    interaction_id: str
    category: str
    candidate_output: str
    served_output: str
    reference: str | None
    agreement: float  # judge(candidate vs served)
    candidate_score: float | None  # judge(candidate vs reference)
    served_score: float | None  # judge(served vs reference)
    latency_s: float
    completion_tokens: int | None
    error: str | None = None
    scored_at: float = field(default_factory=time.time)


@dataclass
class ShadowReport:
    n: int
    agreement_mean: float | None
    candidate_score_mean: float | None
    served_score_mean: float | None
    win_rate: float | None  # among records with a reference: candidate > served (ties count half)
    per_category: dict[str, dict[str, Any]]
    results: list[ShadowResult] = field(default_factory=list, repr=False)
    path: str | None = None

    def to_dict(self, with_results: bool = False) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "results"}
        if with_results:
            d["results"] = [asdict(r) for r in self.results]
        return d


class ShadowScorer:
    """Score a candidate on live traffic without serving it; results go to a JSONL file and the registry."""

    def __init__(self, candidate: GenerateFn, *, judge: Judge | None = None, out_path: str | Path | None = None,
                 registry: "Registry | str | Path | None" = None, adapter_id: str | None = None) -> None:
        from ._core import _as_registry

        self.candidate = candidate
        self.judge = judge or DeterministicJudge()
        self.registry = _as_registry(registry)
        self.adapter_id = adapter_id
        if out_path is None and self.registry is not None and adapter_id:
            out_path = self.registry.root / "shadow" / f"{adapter_id}.jsonl"
        self.out_path = Path(out_path) if out_path is not None else None

    def _judge(self, question: str, candidate: str, reference: str) -> float:
        return float(self.judge.score(question=question, candidate=candidate, reference=reference).score)

    def score_one(self, record: ShadowRecord) -> ShadowResult:
        """Generate for one record and score it; errors are recorded in the result."""
        question = next((m["content"] for m in reversed(record.messages) if m.get("role") == "user"), "")
        start = time.perf_counter()
        try:
            pred = _as_prediction(self.candidate(record.messages))
        except Exception as exc:  # noqa: BLE001 - shadow scoring must never affect serving
            return ShadowResult(record.interaction_id, record.category, "", record.served_output, record.reference,
                                0.0, None, None, time.perf_counter() - start, None, f"{type(exc).__name__}: {exc}")
        latency = pred.latency_s if pred.latency_s is not None else time.perf_counter() - start
        cand = answer_string(pred.text, pred.tool_calls)
        agreement = self._judge(question, cand, record.served_output)
        cand_score = served_score = None
        if record.reference:
            cand_score = self._judge(question, cand, record.reference)
            served_score = self._judge(question, record.served_output, record.reference)
        return ShadowResult(record.interaction_id, record.category, cand, record.served_output, record.reference,
                            agreement, cand_score, served_score, latency, pred.completion_tokens)

    def score(self, records: Iterable[ShadowRecord | Any]) -> ShadowReport:
        """Score records (``ShadowRecord`` or ``Interaction``), append them to ``out_path``, summarise."""
        results = [self.score_one(r if isinstance(r, ShadowRecord) else ShadowRecord.from_interaction(r))
                   for r in records]
        if self.out_path is not None:
            self.out_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.out_path, "a", encoding="utf-8") as fh:
                for r in results:
                    fh.write(json.dumps({**asdict(r), "adapter_id": self.adapter_id}, default=str) + "\n")
        report = _summarise(results, str(self.out_path) if self.out_path else None)
        if self.registry is not None and self.adapter_id:
            self.registry.log_event(self.adapter_id, "shadow", report.to_dict())
            if self.registry.get(self.adapter_id).status == "candidate":
                self.registry.set_status(self.adapter_id, "shadow", "shadow scoring on live traffic")
        return report


def _summarise(results: list[ShadowResult], path: str | None) -> ShadowReport:
    def mean(vals: Iterable[float | None]) -> float | None:
        v = [x for x in vals if x is not None]
        return sum(v) / len(v) if v else None

    def win(rs: list[ShadowResult]) -> float | None:
        pairs = [(r.candidate_score, r.served_score) for r in rs
                 if r.candidate_score is not None and r.served_score is not None]
        if not pairs:
            return None
        return sum(1.0 if c > s else 0.5 if c == s else 0.0 for c, s in pairs) / len(pairs)

    by_cat: dict[str, list[ShadowResult]] = defaultdict(list)
    for r in results:
        by_cat[r.category].append(r)
    per_cat = {c: {"n": len(rs), "agreement_mean": mean(r.agreement for r in rs),
                   "candidate_score_mean": mean(r.candidate_score for r in rs),
                   "served_score_mean": mean(r.served_score for r in rs), "win_rate": win(rs),
                   "errors": sum(1 for r in rs if r.error)} for c, rs in sorted(by_cat.items())}
    return ShadowReport(
        n=len(results), agreement_mean=mean(r.agreement for r in results),
        candidate_score_mean=mean(r.candidate_score for r in results),
        served_score_mean=mean(r.served_score for r in results), win_rate=win(results),
        per_category=per_cat, results=results, path=path,
    )
