"""Curation: deduplication, active-learning selection, error attribution and stratified splits.

Everything here reads the store (``TrajectoryStore`` + its vector index) and never writes it. The rules are
deliberately simple and documented, so a reviewer can tell *why* an item was dropped, queued or
blamed on a component (README "Curation"):

Deduplication (``dedup``)
    *Exact*: same normalised input (lowercase, collapsed whitespace) and same normalised output.
    *Near*: input embeddings with cosine >= ``near_threshold`` (0.95) **and** outputs whose word
    sets have Jaccard >= ``output_threshold`` (0.8). Duplicates form connected groups; each group
    keeps its best-rewarded member, then the most recent.

Active learning (``review_queue``)
    Each interaction gets reasons with a score in [0, 1]: ``disagreement`` (signals that point
    both ways: the smaller side over the larger), ``far_from_good`` (1 - cosine to the nearest
    *good* example in FAISS, when that cosine is below ``far_threshold``), ``weak_category`` (the
    category's mean reward, when negative), ``low_confidence`` (1 - reward confidence, for
    unlabelled items). The item's score is the noisy-or of ``weight * score`` over its reasons.

Error attribution (``attribute``): see ``attribute``'s docstring; returns
``Attribution(category, confidence, evidence)``.

Label agreement (``label_agreement``)
    Noisy users click thumbs-up on wrong answers and now and then correct towards a wrong answer.
    A label is a *claim*: "answer y is right (or wrong) for input x", weighted by its evidence
    (reward confidence; a correction counts 1). Each claim is checked against the claims other
    users made about near-identical inputs (cosine >= ``similarity``, the ``k`` nearest
    informative ones): the same answer with the same verdict agrees; the same answer with the
    opposite verdict disagrees; where answers are mutually exclusive labels (routing,
    classification: the export's ``short_words`` marks answers of at most that many words, off by
    default) another label approved for a near-identical input disagrees with an approval and
    agrees with a rejection. Free-text answers that differ say nothing about each other (two
    short answers to similar questions may both be right). ``agreement = (w_self + agree) / (w_self + agree + disagree)`` (similarity- and
    evidence-weighted); the export keeps a claim at ``min_agreement`` or above.

Splits (``assign_splits``)
    Stratum = ``metadata.category``, else the first routing decision's choice, else
    ``"default"``; strata with one group are pooled into ``"other"``. Every stratum sends
    ``eval_fraction`` of its groups to eval (largest-remainder rounding, so the eval set mirrors
    the strata), choosing the groups with the smallest seeded hash of their id: deterministic,
    and stable when data is added. Too few groups for a train and an eval part is an error.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol, Sequence

import numpy as np

from .errors import CurationError, SplitError  # re-exported: their home before errors.py
from .records import Interaction, Signal, Step, text_of
from .store.base import SimilarityIndex, TrajectoryStore, TurnQuery, TurnSummary

if TYPE_CHECKING:
    from .embedding import Embedder
    from .reward import RewardConfig


class CurationSource(Protocol):
    """What curation reads: the store, its vector index, the embedder (None: stored vectors only)
    and the reward settings (their signal weights). A ``Flywheel`` is one."""

    @property
    def store(self) -> TrajectoryStore: ...

    @property
    def index(self) -> SimilarityIndex: ...

    @property
    def embedder(self) -> Embedder | None: ...

    @property
    def reward_config(self) -> RewardConfig: ...

__all__ = [
    "Attribution",
    "AttributionConfig",
    "CurationError",
    "CurationSource",
    "DedupResult",
    "QueueItem",
    "Reason",
    "SplitError",
    "SplitResult",
    "assign_splits",
    "attribute",
    "attribute_failures",
    "category_of",
    "content_tokens",
    "dedup",
    "find_duplicates",
    "label_agreement",
    "normalize_text",
    "retrieved_docs",
    "review_queue",
]


# -- text helpers ------------------------------------------------------------------------------
_WS = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    """the a an and or but of to in on at for with from by is are was were be been being it its this that
    these those as if then than so not no yes do does did done have has had you he she we they me my your our
    their them his her what which who whom when where why how can could should would will shall may might must
    there here about into over under again very just also only any some all each more most other such own same
    too up down out off please thanks thank hello answer question get got use used using one""".split()
)
_GENERIC_ROUTE_WORDS = frozenset(
    "engine engines tool tools query index router retriever search agent node route chain llm model api the of "
    "and for qa rag".split()
)


def normalize_text(text: Any) -> str:
    """Lowercase, whitespace collapsed: what exact dedup compares."""
    return _WS.sub(" ", (text if isinstance(text, str) else text_of(text)).strip().lower())


def text_hash(text: Any) -> int:
    """A stable signed 64-bit hash of the normalised text."""
    digest = hashlib.blake2b(normalize_text(text).encode("utf-8", "replace"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def words(text: Any) -> set[str]:
    return set(_WORD.findall(normalize_text(text)))


def content_tokens(text: Any) -> set[str]:
    """Words that carry information: numbers, and words of 3+ letters that are not stopwords."""
    return {w for w in _WORD.findall(normalize_text(text)) if w.isdigit() or (len(w) >= 3 and w not in _STOPWORDS)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def route_value(raw: Any) -> str | None:
    """A routing choice as a string: JSON text, router selections and tool-name lists flattened."""
    if raw is None:
        return None
    if isinstance(raw, str):
        text = raw.strip()
        if text[:1] in ("[", "{", '"'):
            try:
                return route_value(json.loads(text))
            except ValueError:
                return text or None
        return text or None
    if isinstance(raw, (list, tuple)):
        values = [v for v in (route_value(x) for x in raw) if v]
        return ",".join(values) if values else None
    if isinstance(raw, Mapping):
        for key in ("name", "engine", "route", "choice", "tool", "value", "index", "description"):
            if raw.get(key) is not None:
                return route_value(raw[key])
        return json.dumps(raw, sort_keys=True, default=repr)
    return str(raw)


def category_of(it: Interaction) -> str:
    """``metadata.category`` (or the run metadata's), else the first routing choice, else ``default``."""
    md = it.metadata or {}
    run_md = md.get("run_metadata") if isinstance(md.get("run_metadata"), Mapping) else {}
    for value in (md.get("category"), run_md.get("category")):
        if value is not None and str(value).strip():
            return str(value)
    routers = [d for d in it.decisions if d.decider == "router"] or list(it.decisions)
    for d in routers:
        value = route_value(d.chosen)
        if value:
            return value
    return "default"


def category_from_hint(raw: Any) -> str:
    """``category_of`` from a ``TurnSummary.category_hint`` (no need to parse the interaction)."""
    value = route_value(raw) if raw is not None else None
    return value if value else "default"


# -- deduplication -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DuplicateOf:
    kept: str  # the interaction id kept in its place
    reason: str  # "exact" | "near"
    similarity: float  # input cosine (1.0 for exact)


@dataclass
class DedupResult:
    kept: list[str]
    removed: dict[str, DuplicateOf] = field(default_factory=dict)

    @property
    def exact_removed(self) -> int:
        return sum(1 for d in self.removed.values() if d.reason == "exact")

    @property
    def near_removed(self) -> int:
        return sum(1 for d in self.removed.values() if d.reason == "near")


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def load_embeddings(store: TrajectoryStore, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(found mask, vectors) for ``keys`` (store keys); rows without an embedding are zero."""
    return store.embeddings_for(np.asarray(keys, dtype=np.int64))


def find_duplicates(
    keys: np.ndarray,
    input_hash: np.ndarray,
    output_hash: np.ndarray,
    reward: np.ndarray,
    started_at: np.ndarray,
    *,
    exact: bool = True,
    near: bool = True,
    store: TrajectoryStore | None = None,
    output_text: Callable[[list[int]], Sequence[str]] | None = None,
    near_threshold: float = 0.95,
    output_threshold: float = 0.8,
    near_max: int = 50_000,
    vectors: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """The array core of ``dedup`` (positions, not ids), used by the export on large candidate sets.

    Returns ``(keep, kept_by, similarity, reason, info)``: ``keep[i]`` is False for a removed
    duplicate, ``kept_by[i]`` is the position that replaced it (-1 when kept), ``similarity[i]``
    the input cosine (1.0 for exact), ``reason[i]`` 1 for exact, 2 for near, 0 when kept. ``output_text(positions)`` returns the output texts for the near-dup
    output check. Near-dup search is an exact inner-product search among the candidates: cost
    O(n^2 * dim), so it is skipped (and reported in ``info``) above ``near_max`` candidates.
    """
    n = len(keys)
    keep = np.ones(n, dtype=bool)
    kept_by = np.full(n, -1, dtype=np.int64)
    similarity = np.zeros(n, dtype=np.float32)
    reason = np.zeros(n, dtype=np.int8)
    info: dict[str, Any] = {"exact_removed": 0, "near_removed": 0, "near": "off"}
    if n == 0:
        return keep, kept_by, similarity, reason, info
    # best first: reward desc, then the most recent, then the key (deterministic)
    rank_order = np.lexsort((np.asarray(keys), -np.asarray(started_at, dtype=np.float64), -np.asarray(reward, dtype=np.float64)))
    rank = np.empty(n, dtype=np.int64)
    rank[rank_order] = np.arange(n)
    if exact:
        order = np.lexsort((rank, np.asarray(output_hash), np.asarray(input_hash)))
        ih, oh = np.asarray(input_hash)[order], np.asarray(output_hash)[order]
        first = np.ones(n, dtype=bool)
        first[1:] = (ih[1:] != ih[:-1]) | (oh[1:] != oh[:-1])
        group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
        dup = ~first
        keep[order[dup]] = False
        kept_by[order[dup]] = order[group_start[dup]]
        similarity[order[dup]] = 1.0
        reason[order[dup]] = 1
        info["exact_removed"] = int(dup.sum())
    if near and store is not None:
        live = np.flatnonzero(keep)
        if len(live) > near_max:
            info["near"] = f"skipped: {len(live)} candidates > near_max {near_max}"
        elif len(live) > 1:
            if vectors is None:
                found, vecs = load_embeddings(store, np.asarray(keys)[live])
            else:
                vecs = np.asarray(vectors, np.float32)[live]
                found = np.linalg.norm(vecs, axis=1) > 0
            live, vecs = live[found], np.ascontiguousarray(vecs[found], dtype=np.float32)
            info["near"] = f"on: {len(live)} embedded candidates, cosine >= {near_threshold}, output jaccard >= {output_threshold}"
            pairs = _near_pairs(vecs, near_threshold)
            if pairs:
                involved = sorted({p for a, b, _ in pairs for p in (a, b)})
                texts = dict(zip(involved, output_text([int(live[p]) for p in involved]) if output_text else [""] * len(involved)))
                wsets = {p: words(texts[p]) for p in involved}
                uf = _UnionFind(len(live))
                best_sim: dict[int, float] = {}
                for a, b, s in pairs:
                    same_output = output_hash[live[a]] == output_hash[live[b]] or jaccard(wsets[a], wsets[b]) >= output_threshold
                    if same_output:
                        uf.union(a, b)
                        best_sim[a] = max(best_sim.get(a, 0.0), s)
                        best_sim[b] = max(best_sim.get(b, 0.0), s)
                groups: dict[int, list[int]] = defaultdict(list)
                for p in involved:
                    groups[uf.find(p)].append(p)
                removed = 0
                for members in groups.values():
                    if len(members) < 2:
                        continue
                    winner = min(members, key=lambda p: rank[live[p]])
                    for p in members:
                        if p != winner:
                            keep[live[p]] = False
                            kept_by[live[p]] = live[winner]
                            similarity[live[p]] = best_sim.get(p, near_threshold)
                            reason[live[p]] = 2
                            removed += 1
                info["near_removed"] = removed
    return keep, kept_by, similarity, reason, info


def label_agreement(
    vectors: np.ndarray,
    answer: np.ndarray,
    polarity: np.ndarray,
    weight: np.ndarray,
    group: np.ndarray,
    short: np.ndarray,
    *,
    similarity: float = 0.6,
    k: int = 10,
    self_weight: float = 1.0,
    block: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """How well each label claim agrees with other users' claims on near-identical inputs.

    Arrays are aligned, one entry per claim: ``vectors`` (normalised input embeddings; a zero row
    has no neighbours), ``answer`` (hash of the normalised answer), ``polarity`` (+1 "right",
    -1 "wrong"), ``weight`` (evidence in [0, 1]), ``group`` (claims of one group, e.g. one user,
    never vote for each other), ``short`` (the answer is label-like). Returns ``(agreement,
    informed)``: the agreement score in [0, 1] (see the module docstring; 1.0 without informative
    neighbours) and how many neighbours informed it. Exact search in blocks: O(n^2 * dim).
    """
    vecs = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vecs)
    ans, pol = np.asarray(answer), np.asarray(polarity, dtype=np.int8)
    w = np.asarray(weight, dtype=np.float32)
    grp, brief = np.asarray(group), np.asarray(short, dtype=bool)
    agreement = np.ones(n, dtype=np.float32)
    informed = np.zeros(n, dtype=np.int32)
    if n < 2:
        return agreement, informed
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block))
        sims = vecs[rows] @ vecs.T
        same = ans[rows, None] == ans[None, :]
        both_short = brief[rows, None] & brief[None, :]
        same_verdict = pol[rows, None] == pol[None, :]
        agree = (same & same_verdict) | (~same & both_short & (pol[rows, None] < 0) & (pol[None, :] > 0))
        disagree = (same & ~same_verdict) | (~same & both_short & (pol[rows, None] > 0) & (pol[None, :] > 0))
        useful = (agree | disagree) & (sims >= similarity) & (grp[rows, None] != grp[None, :])
        sims = np.where(useful, sims, -np.inf)
        if k < n:
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            top = np.broadcast_to(np.arange(n), (len(rows), n))
        s = np.take_along_axis(sims, top, axis=1)
        live = np.isfinite(s)
        contrib = np.where(live, s * w[top], 0.0)
        pro = (contrib * np.take_along_axis(agree, top, axis=1)).sum(axis=1)
        con = (contrib * np.take_along_axis(disagree, top, axis=1)).sum(axis=1)
        own = self_weight * w[rows]
        total = own + pro + con
        agreement[rows] = np.where(total > 0, (own + pro) / np.maximum(total, 1e-9), 1.0)
        informed[rows] = live.sum(axis=1)
    return agreement, informed


def _near_pairs(vecs: np.ndarray, threshold: float, block: int = 512) -> list[tuple[int, int, float]]:
    """All (i, j, cosine) with i < j and cosine >= threshold (normalised vectors), blockwise."""
    out: list[tuple[int, int, float]] = []
    n = len(vecs)
    for start in range(0, n, block):
        sims = vecs[start : start + block] @ vecs.T
        rows, cols = np.nonzero(sims >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist()):
            i = start + r
            if i < c:
                out.append((i, c, float(sims[r, c])))
    return out


def dedup(
    fw: CurationSource,
    ids: Sequence[str] | None = None,
    *,
    exact: bool = True,
    near: bool = True,
    near_threshold: float = 0.95,
    output_threshold: float = 0.8,
    outputs: Mapping[str, str] | None = None,
    since: float | None = None,
    until: float | None = None,
) -> DedupResult:
    """Exact and near-duplicate removal over ``ids`` (default: every stored interaction in the time window).

    ``outputs`` overrides the output of some interactions (e.g. a corrected answer). The kept
    member of each duplicate group is the best-rewarded one, then the most recent.
    """
    rows = _reward_rows(fw.store, ids=ids, since=since, until=until)
    if not rows:
        return DedupResult(kept=[])
    outputs = dict(outputs or {})
    keys = np.array([r[0] for r in rows], dtype=np.int64)
    iids = [r[1] for r in rows]
    out_texts = [outputs.get(r[1], r[5]) or "" for r in rows]
    keep, kept_by, sim, why, _ = find_duplicates(
        keys,
        np.array([text_hash(r[4] or "") for r in rows], dtype=np.int64),
        np.array([text_hash(t) for t in out_texts], dtype=np.int64),
        np.array([r[7] for r in rows], dtype=np.float64),
        np.array([r[2] for r in rows], dtype=np.float64),
        exact=exact,
        near=near,
        store=fw.store,
        output_text=lambda positions: [out_texts[p] for p in positions],
        near_threshold=near_threshold,
        output_threshold=output_threshold,
    )
    removed = {
        iids[i]: DuplicateOf(iids[int(kept_by[i])], "exact" if why[i] == 1 else "near", round(float(sim[i]), 4))
        for i in np.flatnonzero(~keep)
    }
    return DedupResult(kept=[iids[i] for i in np.flatnonzero(keep)], removed=removed)



def _reward_rows(store: TrajectoryStore, *, ids: Sequence[str] | None = None, since: float | None = None,
                 until: float | None = None, limit: int | None = None, newest_first: bool = False,
                 failing: bool = False) -> list[TurnSummary]:
    """The turns in the window (``failing``: labelled bad or corrected), oldest first by default."""
    query = TurnQuery(ids=ids, since=since, until=until, limit=limit, newest_first=newest_first)
    if failing:
        query.labels, query.or_signal_kinds = ("bad",), ("correction",)
    return store.turns(query)


# -- signal polarity -------------------------------------------------------------------------------
def _signal_contribution(signal: Signal | tuple[str, Any], weights: Mapping[str, float]) -> float:
    kind, value = (signal.kind, signal.value) if isinstance(signal, Signal) else signal
    weight = weights.get(kind, 0.0)
    if kind == "rating":
        try:
            return weight * (float(value) - 3.0) / 2.0
        except (TypeError, ValueError):
            return 0.0
    if kind == "judge":
        try:
            return weight * (2.0 * min(1.0, max(0.0, float(value))) - 1.0)
        except (TypeError, ValueError):
            return 0.0
    return weight


def _weights(fw: CurationSource) -> Mapping[str, float]:
    return fw.reward_config.weights


# -- active learning ---------------------------------------------------------------------------------
REASON_WEIGHTS: dict[str, float] = {"disagreement": 1.0, "far_from_good": 0.8, "weak_category": 0.6, "low_confidence": 0.5}


@dataclass(frozen=True, slots=True)
class Reason:
    kind: str  # disagreement | far_from_good | weak_category | low_confidence
    score: float  # in [0, 1]
    detail: str


@dataclass
class QueueItem:
    """One interaction worth a human look (or a training slot), with why."""

    interaction_id: str
    score: float
    reasons: list[Reason]
    label: str
    reward: float
    confidence: float
    category: str
    input: str
    started_at: float

    @property
    def reason(self) -> str:
        """The strongest reason's kind."""
        return max(self.reasons, key=lambda r: r.score * REASON_WEIGHTS.get(r.kind, 1.0)).kind if self.reasons else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "interaction_id": self.interaction_id, "score": self.score, "reason": self.reason,
            "reasons": [{"kind": r.kind, "score": r.score, "detail": r.detail} for r in self.reasons],
            "label": self.label, "reward": self.reward, "confidence": self.confidence,
            "category": self.category, "input": self.input, "started_at": self.started_at,
        }


def good_mask(store: TrajectoryStore) -> np.ndarray:
    """A boolean array indexed by store key: True for interactions labelled good."""
    keys = store.good_keys()
    mask = np.zeros(int(keys.max()) + 1 if len(keys) else 0, dtype=bool)
    mask[keys] = True
    return mask


def nearest_good(fw: CurationSource, vectors: np.ndarray, self_keys: Sequence[int] | None = None,
                 mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(cosine, key) of the nearest *good* interaction to each vector (excluding ``self_keys``); key -1 if none."""
    n = len(vectors)
    sims = np.full(n, -1.0, dtype=np.float32)
    best = np.full(n, -1, dtype=np.int64)
    mask = good_mask(fw.store) if mask is None else mask
    if n == 0 or not mask.any():
        return sims, best
    scores, keys = fw.index.search(np.asarray(vectors, np.float32), 2, allowed=mask)
    for i in range(n):
        for s, k in zip(scores[i], keys[i]):
            if k < 0 or (self_keys is not None and int(k) == int(self_keys[i])):
                continue
            sims[i], best[i] = float(s), int(k)
            break
    return sims, best


def review_queue(
    fw: CurationSource,
    limit: int = 20,
    *,
    scan: int = 20_000,
    since: float | None = None,
    until: float | None = None,
    category: str | Sequence[str] | None = None,
    far_threshold: float = 0.5,
    min_category_n: int = 3,
    weights: Mapping[str, float] | None = None,
) -> list[QueueItem]:
    """The ``limit`` interactions most worth a human look first, ranked, each with its reasons.

    Looks at the ``scan`` most recent interactions in the window (see the module docstring for
    the reasons and how they combine). Interactions with no reason are not queued.
    """
    weights = {**REASON_WEIGHTS, **(weights or {})}
    rows = _reward_rows(fw.store, since=since, until=until, limit=scan, newest_first=True)
    if not rows:
        return []
    cats = [category_from_hint(r.category_hint) for r in rows]
    wanted = {category} if isinstance(category, str) else set(category) if category else None
    # per-category mean reward over interactions that have signals
    cat_rewards: dict[str, list[float]] = defaultdict(list)
    for r, c in zip(rows, cats):
        if r[9] > 0:
            cat_rewards[c].append(float(r[7]))
    sig_by_id = _signals_by_id(fw.store, [r[1] for r in rows])
    # nearest good example for each item (FAISS over the good keys)
    keys = np.array([r[0] for r in rows], dtype=np.int64)
    found, vecs = load_embeddings(fw.store, keys)
    near_sim = np.full(len(rows), np.nan, dtype=np.float32)
    mask = good_mask(fw.store)
    if found.any() and mask.any():
        s, _ = nearest_good(fw, vecs[found], self_keys=keys[found], mask=mask)
        near_sim[np.flatnonzero(found)] = s
    w = _weights(fw)
    items: list[QueueItem] = []
    for i, r in enumerate(rows):
        key, iid, started, _, input_text, _, label, reward, conf, n_signals, _, _, _ = r
        cat = cats[i]
        if wanted is not None and cat not in wanted:
            continue
        reasons: list[Reason] = []
        pos, neg, pos_kinds, neg_kinds = 0.0, 0.0, [], []
        for kind, value in sig_by_id.get(iid, ()):
            c = _signal_contribution((kind, value), w)
            if c > 0:
                pos, pos_kinds = pos + c, pos_kinds + [kind]
            elif c < 0:
                neg, neg_kinds = neg - c, neg_kinds + [kind]
        if pos > 0 and neg > 0:
            reasons.append(Reason("disagreement", round(min(pos, neg) / max(pos, neg), 4),
                                  f"positive {pos:.2f} ({', '.join(sorted(set(pos_kinds)))}) vs negative {neg:.2f} "
                                  f"({', '.join(sorted(set(neg_kinds)))})"))
        sim = near_sim[i]
        if label != "good" and not np.isnan(sim) and sim < far_threshold:
            reasons.append(Reason("far_from_good", round(float(min(1.0, max(0.0, 1.0 - sim))), 4),
                                  "no good example nearby" if sim < 0 else f"nearest good example at cosine {sim:.2f}"))
        values = cat_rewards.get(cat, [])
        if len(values) >= min_category_n:
            mean = sum(values) / len(values)
            if mean < 0:
                reasons.append(Reason("weak_category", round(min(1.0, -mean), 4),
                                      f"category {cat!r}: mean reward {mean:.2f} over {len(values)} rated"))
        if label == "unknown":
            reasons.append(Reason("low_confidence", round(1.0 - float(conf), 4),
                                  f"confidence {conf:.2f} from {n_signals} signal(s)" if n_signals else "no signals yet"))
        miss = 1.0
        for reason in reasons:
            miss *= 1.0 - min(1.0, weights.get(reason.kind, 1.0) * reason.score)
        score = round(1.0 - miss, 4)
        if score <= 0:
            continue
        reasons.sort(key=lambda x: -x.score * weights.get(x.kind, 1.0))
        items.append(QueueItem(iid, score, reasons, label, float(reward), float(conf), cat, (input_text or "")[:300], float(started or 0)))
    items.sort(key=lambda x: (-x.score, -x.started_at, x.interaction_id))
    return items[:limit]


def _signals_by_id(store: TrajectoryStore, ids: Sequence[str]) -> dict[str, list[tuple[str, Any]]]:
    """Latest signal per (interaction, actor, kind), as (kind, value) — the reward's view of them."""
    latest: dict[tuple[str, str, str], tuple[float, str, Any]] = {}
    for iid, signals in store.signals_for(list(ids)).items():
        for s in signals:
            who = s.actor if s.source == "explicit" and s.actor else ("system" if s.source != "explicit" else "anonymous")
            k = (iid, who, s.kind)
            if k not in latest or (s.at or 0) >= latest[k][0]:
                latest[k] = (s.at or 0.0, s.kind, s.value)
    out: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for (iid, _, _), (_, kind, value) in sorted(latest.items()):
        out[iid].append((kind, value))
    return out


# -- error attribution -------------------------------------------------------------------------------
CATEGORIES = ("routing", "retrieval", "generation", "knowledge_gap")


@dataclass(frozen=True, slots=True)
class Attribution:
    """Which component most likely caused a bad interaction, how sure the rules are, and why."""

    category: str  # routing | retrieval | generation | knowledge_gap
    confidence: float
    evidence: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "confidence": self.confidence, "evidence": self.evidence}


@dataclass
class AttributionConfig:
    """Thresholds of the attribution rules (see ``attribute``)."""

    retrieval_score_min: float = 0.5  # a retriever score below this is a weak hit (cosine-like scores)
    doc_similarity_min: float = 0.35  # embedding cosine between the query and its best document
    overlap_generation: float = 0.5  # share of the correction's new words found in the documents
    overlap_gap: float = 0.3  # below this share the documents did not hold the answer
    near_good: float = 0.75  # cosine to the nearest good example that counts as "answered before"
    router_confidence_min: float = 0.5  # a router score below this is a low-confidence choice
    next_turn_window_s: float = 1800.0


@dataclass(frozen=True, slots=True)
class Doc:
    text: str
    score: float | None
    id: str | None


_DOC_TEXT_KEYS = ("text", "content", "page_content", "document", "chunk")


def retrieved_docs(step: Step) -> list[Doc]:
    """Documents of a retrieval step, whatever the adapter's shape (LlamaIndex nodes, LangChain documents)."""
    outputs = step.outputs
    if isinstance(outputs, Mapping):
        for key in ("documents", "nodes", "source_nodes", "results", "docs"):
            if isinstance(outputs.get(key), list):
                outputs = outputs[key]
                break
        else:
            outputs = [outputs]
    if not isinstance(outputs, list):
        return [Doc(str(outputs), None, None)] if outputs else []
    docs: list[Doc] = []
    for item in outputs:
        if isinstance(item, str):
            docs.append(Doc(item, None, None))
            continue
        if not isinstance(item, Mapping):
            continue
        node = item.get("node") if isinstance(item.get("node"), Mapping) else item
        text = next((str(node[k]) for k in _DOC_TEXT_KEYS if isinstance(node.get(k), str)), "")
        score = item.get("score", node.get("score"))
        if score is None and isinstance(node.get("metadata"), Mapping):
            score = node["metadata"].get("score") or node["metadata"].get("relevance_score")
        doc_id = node.get("id") or node.get("id_") or node.get("node_id") or item.get("id")
        docs.append(Doc(text, float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
                        str(doc_id) if doc_id is not None else None))
    return docs


def _mentions(text_words: set[str], candidate: str | None, exclude: set[str] = frozenset()) -> bool:
    """Whether the text names ``candidate`` by one of its distinctive words."""
    if not candidate:
        return False
    distinctive = {w for w in _WORD.findall(candidate.lower().replace("_", " ")) if len(w) >= 3} - _GENERIC_ROUTE_WORDS - exclude
    return bool(distinctive & text_words)


def _candidate_names(candidates: Sequence[Any]) -> list[str]:
    names = []
    for c in candidates or []:
        value = route_value(c)
        if value:
            names.append(value)
    return names


def _next_turn(store: TrajectoryStore, it: Interaction, window_s: float) -> Interaction | None:
    if not it.session_id:
        return None
    return store.next_turn(it.session_id, it.started_at, it.started_at + window_s, it.id)


def attribute(
    fw: CurationSource,
    interaction: str | Interaction,
    *,
    signals: Sequence[Signal] | None = None,
    config: AttributionConfig | None = None,
    _good: np.ndarray | None = None,
) -> Attribution:
    """Attribute a bad interaction to routing, retrieval, generation or a knowledge gap.

    Rules (each yields a confidence; the highest wins, ties in the order listed):

    * **routing** — a routing decision (router or tool choice) whose ``chosen`` option differs
      from the one the correction or the next turn of the session names (0.8); a tool step that
      errored followed by an escalation (0.75) or by a different tool (0.6); a router decision
      whose recorded score/confidence is below ``router_confidence_min`` (0.55).
    * **retrieval** — a retrieval step returned no documents (0.85), or its best score is below
      ``retrieval_score_min`` or its best document's embedding cosine to the query is below
      ``doc_similarity_min`` (0.75; 0.85 when both).
    * **generation** — retrieval was fine (or none was needed) but the answer was bad: the
      correction's new words (not in the answer or the question) appear in the retrieved
      documents (share >= ``overlap_generation``: 0.8); without retrieval, a good example within
      ``near_good`` cosine shows the system has answered this before (0.55); a bad answer with
      fine retrieval and no correction (0.45).
    * **knowledge gap** — the correction brings information no retrieved document contains
      (share < ``overlap_gap``: 0.7), or, without retrieval, no good example is near (0.6 with a
      correction, 0.45 without).

    ``evidence`` holds every number the rules looked at and ``rule``: the one that decided.
    """
    config = config or AttributionConfig()
    it = fw.store.get(interaction) if isinstance(interaction, str) else interaction
    if it is None:
        from .errors import UnknownInteractionError

        raise UnknownInteractionError(f"unknown interaction id {interaction!r}")
    if signals is None:
        signals = fw.store.signals_for([it.id]).get(it.id, [])
    scores: dict[str, float] = {c: 0.0 for c in CATEGORIES}
    rules: dict[str, str] = {}
    evidence: dict[str, Any] = {"interaction_id": it.id}

    def vote(category: str, confidence: float, rule: str) -> None:
        if confidence > scores[category]:
            scores[category] = confidence
            rules[category] = rule

    query = it.input_text
    answer = it.output_text
    corrections = [s for s in signals if s.kind == "correction" and isinstance(s.value, Mapping)]
    correction = str(corrections[-1].value.get("edited", "")) if corrections else ""
    nxt = _next_turn(fw.store, it, config.next_turn_window_s)
    indicated_text = " ".join(t for t in (correction, nxt.input_text if nxt else "") if t)
    indicated_words = words(indicated_text)
    if correction:
        evidence["correction"] = correction[:500]
    if nxt is not None:
        evidence["next_turn"] = {"interaction_id": nxt.id, "input": nxt.input_text[:300]}

    # routing
    for d in it.decisions:
        chosen_value = d.chosen if not isinstance(d.chosen, list) else [route_value(c) for c in d.chosen]
        chosen_names = [c for c in (chosen_value if isinstance(chosen_value, list) else [route_value(chosen_value)]) if c]
        cand = _candidate_names(d.candidates)
        others = [c for c in cand if c not in chosen_names]
        chosen_words = {w for c in chosen_names for w in _WORD.findall(c.lower().replace("_", " "))}
        if indicated_words and others and chosen_names:
            named = [c for c in others if _mentions(indicated_words, c, exclude=chosen_words)]
            if named and not any(_mentions(indicated_words, c) for c in chosen_names):
                evidence["routing"] = {"decider": d.decider, "name": d.name, "chosen": chosen_names, "candidates": cand,
                                       "indicated": named[0], "indicated_by": "correction" if correction and _mentions(words(correction), named[0]) else "next_turn"}
                vote("routing", 0.8, f"the {evidence['routing']['indicated_by']} names {named[0]!r}, the {d.decider} chose {chosen_names}")
        if d.decider == "router":
            conf = _router_confidence(d)
            if conf is not None and conf < config.router_confidence_min:
                evidence.setdefault("routing", {"decider": d.decider, "name": d.name, "chosen": chosen_names, "candidates": cand})
                evidence["routing"]["router_confidence"] = conf
                vote("routing", 0.55, f"router chose {chosen_names} with low confidence {conf:.2f}")
    tool_steps = [s for s in it.steps if s.kind == "tool"]
    failed = [s for s in tool_steps if s.error]
    if failed:
        escalated = any(s.kind == "escalate" for s in signals) or any("escalat" in (s.name or "").lower() or "human" in (s.name or "").lower() for s in tool_steps)
        later = [s.name for s in tool_steps[tool_steps.index(failed[0]) + 1 :] if s.name != failed[0].name and not s.error]
        evidence["tool_errors"] = [{"tool": s.name, "error": (s.error or "")[:200]} for s in failed]
        if escalated:
            vote("routing", 0.75, f"tool {failed[0].name!r} failed, then the turn was escalated")
        elif later:
            evidence["tool_errors_then"] = later
            vote("routing", 0.6, f"tool {failed[0].name!r} failed, then the agent switched to {later[0]!r}")

    # retrieval
    retrieval_steps = [s for s in it.steps if s.kind == "retrieval"]
    docs = [d for s in retrieval_steps for d in retrieved_docs(s)]
    retrieval_ok: bool | None = None
    if retrieval_steps:
        doc_scores = [d.score for d in docs if d.score is not None]
        info: dict[str, Any] = {"steps": len(retrieval_steps), "documents": len(docs),
                                "max_score": max(doc_scores) if doc_scores else None}
        texts = [d.text for d in docs if d.text][:10]
        if texts and getattr(fw, "embedder", None) is not None:
            vecs = fw.embedder.embed([query] + texts)
            sims = vecs[1:] @ vecs[0]
            info["max_doc_similarity"] = round(float(sims.max()), 4)
            info["doc_similarities"] = [round(float(x), 4) for x in sims]
        qwords = content_tokens(query)
        info["query_word_coverage"] = round(max((len(qwords & content_tokens(t)) / len(qwords) for t in texts), default=0.0), 4) if qwords else None
        evidence["retrieval"] = info
        low_score = bool(doc_scores) and max(doc_scores) < config.retrieval_score_min
        low_sim = info.get("max_doc_similarity") is not None and info["max_doc_similarity"] < config.doc_similarity_min
        if not docs:
            vote("retrieval", 0.85, "the retrieval step returned no documents")
            retrieval_ok = False
        elif low_score or low_sim:
            what = [w for w, flag in (("best score %.2f < %.2f" % (max(doc_scores) if doc_scores else 0, config.retrieval_score_min), low_score),
                                      ("best document cosine %.2f < %.2f" % (info.get("max_doc_similarity") or 0, config.doc_similarity_min), low_sim)) if flag]
            vote("retrieval", 0.85 if low_score and low_sim else 0.75, "weak retrieval: " + "; ".join(what))
            retrieval_ok = False
        else:
            retrieval_ok = True

    # generation vs knowledge gap
    near_sim = None
    if not retrieval_steps:
        near_sim = _nearest_good_sim(fw, it, _good)
        evidence["nearest_good_similarity"] = None if near_sim is None else round(near_sim, 4)
    new_words = content_tokens(correction) - content_tokens(answer) - content_tokens(query) if correction else set()
    if correction:
        evidence["correction_new_words"] = sorted(new_words)[:30]
    if correction and new_words and docs and retrieval_ok is not False:
        doc_words = set().union(*(content_tokens(d.text) for d in docs))
        overlap = len(new_words & doc_words) / len(new_words)
        evidence["correction_overlap_with_docs"] = round(overlap, 4)
        if overlap >= config.overlap_generation:
            vote("generation", 0.8, f"{overlap:.0%} of the correction's new words were in the retrieved documents")
        elif overlap < config.overlap_gap:
            vote("knowledge_gap", 0.7, f"only {overlap:.0%} of the correction's new words were in any retrieved document")
        else:
            vote("generation", 0.5, f"{overlap:.0%} of the correction's new words were in the retrieved documents")
            vote("knowledge_gap", 0.45, "the documents held part of the correction's information")
    elif retrieval_ok:
        vote("generation", 0.45, "retrieval looked relevant but the answer was judged bad")
    elif not retrieval_steps:
        if near_sim is not None and near_sim >= config.near_good:
            vote("generation", 0.55 if correction else 0.4, f"a good example at cosine {near_sim:.2f} shows this was answered well before")
        elif correction and new_words:
            vote("knowledge_gap", 0.6, "no retrieval, no good example near, and the correction brings new information")
        else:
            vote("knowledge_gap", 0.45, "no retrieval and no good example near" if near_sim is not None else "no retrieval and no good example at all")
    best = max(CATEGORIES, key=lambda c: (scores[c], -CATEGORIES.index(c)))
    if scores[best] == 0.0:
        best, scores[best], rules[best] = "generation", 0.3, "no specific evidence; the answer itself was judged bad"
    evidence["rule"] = rules[best]
    evidence["scores"] = {c: scores[c] for c in CATEGORIES}
    return Attribution(best, scores[best], evidence)


def _router_confidence(d: Any) -> float | None:
    md = d.metadata or {}
    for key in ("confidence", "score", "selector_score", "probability"):
        value = md.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    scores = md.get("scores")
    if isinstance(scores, list) and scores and all(isinstance(x, (int, float)) for x in scores):
        return float(max(scores))
    return None


def _nearest_good_sim(fw: CurationSource, it: Interaction, mask: np.ndarray | None) -> float | None:
    key = fw.store.key_of(it.id)
    vec = None
    if key is not None:
        found, vecs = load_embeddings(fw.store, np.array([key]))
        vec = vecs[0] if found[0] else None
    if vec is None:
        if fw.embedder is None:
            return None
        vec = fw.embedder.embed([it.input_text])[0]
    sims, keys = nearest_good(fw, vec[None, :], self_keys=[key if key is not None else -2], mask=mask)
    return None if keys[0] < 0 else float(sims[0])


def attribute_failures(
    fw: CurationSource, *, limit: int = 100, since: float | None = None, until: float | None = None,
    config: AttributionConfig | None = None,
) -> tuple[list[tuple[str, Attribution]], dict[str, int]]:
    """Attribute the most recent ``limit`` bad (or corrected) interactions; returns them and counts per category."""
    rows = _reward_rows(
        fw.store, since=since, until=until, limit=limit, newest_first=True, failing=True,
    )
    mask = good_mask(fw.store)
    sigs = fw.store.signals_for([r[1] for r in rows])
    out = []
    for r in rows:
        it = fw.store.get(r[1])
        if it is not None:
            out.append((it.id, attribute(fw, it, signals=sigs.get(it.id, []), config=config, _good=mask)))
    return out, dict(Counter(a.category for _, a in out))


# -- splits -------------------------------------------------------------------------------------------
@dataclass
class SplitResult:
    is_eval: np.ndarray  # per group
    strata: list[str]  # per group, after pooling singletons into "other"
    counts: dict[str, dict[str, int]]  # stratum -> {"train": n, "eval": n}

    @property
    def n_eval(self) -> int:
        return int(self.is_eval.sum())

    @property
    def n_train(self) -> int:
        return int(len(self.is_eval) - self.is_eval.sum())


def split_hash(group_id: str, seed: int = 0) -> int:
    """The seeded 64-bit hash that orders groups inside a stratum."""
    digest = hashlib.blake2b(group_id.encode("utf-8", "replace"), digest_size=8, key=str(int(seed)).encode()).digest()
    return int.from_bytes(digest, "big")


def assign_splits(
    group_ids: Sequence[str] | None,
    strata: Sequence[str],
    *,
    eval_fraction: float = 0.1,
    seed: int = 0,
    min_rows: int | None = None,
    hashes: np.ndarray | None = None,
) -> SplitResult:
    """Stratified, deterministic train/eval assignment of groups (an interaction and all its rows).

    ``hashes`` (uint64 per group, from ``split_hash``) may be given instead of ``group_ids``.
    Raises ``SplitError`` when there are fewer than ``min_rows`` groups (default: 2 with an eval
    split, one for each part; 1 without).
    """
    if not 0.0 <= eval_fraction < 1.0:
        raise CurationError(f"eval_fraction must be in [0, 1), got {eval_fraction!r}")
    n = len(strata)
    if hashes is None:
        if group_ids is None:
            raise CurationError("assign_splits needs group_ids or hashes")
        hashes = np.fromiter((split_hash(g, seed) for g in group_ids), dtype=np.uint64, count=n)
    need = max(int(min_rows or 1), 2 if eval_fraction > 0 else 1)
    if n < need:
        raise SplitError(
            f"too few rows to export: {n} interaction(s) qualify, at least {need} are needed"
            + (f" for a train and an eval split (eval_fraction={eval_fraction})" if eval_fraction > 0 else "")
            + "; collect more data, relax the filters, or pass eval_fraction=0 / min_rows=1"
        )
    size = Counter(strata)
    pooled = [s if size[s] > 1 else "other" for s in strata]
    codes: dict[str, int] = {}
    code = np.fromiter((codes.setdefault(s, len(codes)) for s in pooled), dtype=np.int64, count=n)
    names = sorted(codes, key=codes.get)  # type: ignore[arg-type]
    per = np.bincount(code, minlength=len(names))
    target_total = int(math.floor(n * eval_fraction + 0.5))
    if eval_fraction > 0:
        target_total = min(max(target_total, 1), n - 1)
    exact = per * eval_fraction
    take = np.floor(exact).astype(np.int64)
    remainder = target_total - int(take.sum())
    if remainder > 0:
        order = sorted(range(len(names)), key=lambda j: (-(exact[j] - take[j]), -per[j], names[j]))
        for j in order:
            if remainder <= 0:
                break
            if take[j] < per[j]:
                take[j] += 1
                remainder -= 1
    is_eval = np.zeros(n, dtype=bool)
    order = np.lexsort((np.asarray(hashes, dtype=np.uint64), code))
    start = 0
    for j in range(len(names)):
        members = order[start : start + per[j]]
        is_eval[members[: take[j]]] = True
        start += per[j]
    counts = {names[j]: {"train": int(per[j] - take[j]), "eval": int(take[j])} for j in range(len(names))}
    return SplitResult(is_eval=is_eval, strata=pooled, counts=counts)


def since_days(days: float | None) -> float | None:
    return None if days is None else time.time() - days * 86_400.0


def iter_chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
