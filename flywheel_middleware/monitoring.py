"""Monitoring, the M and A of the MAPE loop: metrics per cohort over time, drift, regressions, stall.

Everything here is a pure, deterministic function of the store's contents (and a config):

- ``load(source, config)`` reads the store once (two SQL aggregations and the stored embeddings)
  into a ``MonitorData`` of numpy columns; the other functions only compute on it.
- ``cohort_metrics(data, dimension)``: per cohort and time window, volume, mean reward, share
  good/bad, and the rates of rephrase, abort, escalation, thumbs up/down, correction, copy, error.
- ``detect_drift(data)``: has the query mix moved between two windows? k-means on the reference
  window's embeddings, chi-square test on the cluster counts plus the population stability index.
- ``detect_regressions(data)``: cohorts whose failure rates (or reward) got worse, with a one-sided
  two-proportion z-test (Welch's t-test for the mean reward) and minimum volume and effect size.
- ``detect_stall(data)``: the "month-three stall": data keeps accumulating but reward is flat.
- ``make_plan(source, data)``: the P of MAPE: categories that need data (active learning), failures
  attributed to routing / retrieval / generation / knowledge gap, and an intervention for each.

Cohort dimensions: ``route`` (the first routing decision's chosen option, a ``router`` decision
preferred; else metadata ``route``), ``category`` (metadata ``category``; else a k-means cluster of
the input embeddings), ``user_segment`` (metadata ``user_segment`` or ``MonitorConfig.segment_fn``),
``model_version``; and ``all``. Thresholds are the ``MonitorConfig`` fields, documented there.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .store.base import HasStore, TrajectoryStore, store_of

#: what the analyses read: a store, or anything carrying one (a ``Flywheel``); with a vector index
#: and an embedder too (a ``curation.CurationSource``), the plan uses curation's attribution and queue
MonitorSource = TrajectoryStore | HasStore

WINDOW_SECONDS: dict[str, float] = {"hour": 3600.0, "day": 86_400.0, "week": 7 * 86_400.0}
# 1970-01-01 was a Thursday: weeks start on the Monday before it
_WINDOW_ORIGIN: dict[str, float] = {"week": -3 * 86_400.0}

#: signal kinds counted by each rate (an interaction counts once per group, however many signals)
SIGNAL_GROUPS: dict[str, tuple[str, ...]] = {
    "rephrase": ("rephrase",),
    "abort": ("abort",),
    "escalate": ("escalate",),
    "thumbs_up": ("thumbs_up",),
    "thumbs_down": ("thumbs_down",),
    "correction": ("correction", "correction_phrase"),
    "copy": ("copy",),
}
#: rates where higher is worse (regression candidates); ``error`` is the share with status error
FAILURE_RATES: tuple[str, ...] = ("bad", "rephrase", "abort", "escalate", "thumbs_down", "correction", "error")
DIMENSIONS: tuple[str, ...] = ("route", "category", "user_segment", "model_version")
NONE_COHORT = "(none)"


@dataclass(frozen=True)
class MonitorConfig:
    """Knobs of the analysis; the defaults are the documented thresholds (docs: "Report")."""

    window: str | float = "day"  # "hour" | "day" | "week" | a number of seconds
    dimensions: tuple[str, ...] = DIMENSIONS
    signal_groups: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(SIGNAL_GROUPS))
    segment_fn: Callable[[dict[str, Any]], Any] | None = None  # row -> user segment (row: user_id, metadata)
    since: float | None = None
    until: float | None = None
    # clustering (categories without metadata, drift)
    n_clusters: int | None = None  # None: round(sqrt(n / 2)) clamped to [2, 12]
    seed: int = 0
    kmeans_max_fit: int = 20_000  # fit on at most this many points (a seeded sample), assign all
    # drift: a significant chi-square AND a material PSI
    drift_alpha: float = 0.01
    psi_threshold: float = 0.1  # PSI < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift
    drift_min_volume: int = 30  # per window
    drift_examples: int = 3
    drift_outside_quantile: float = 0.95  # beyond this quantile of reference distances: "outside" bin
    # regressions: one-sided test, minimum volume per window, minimum absolute effect
    regression_alpha: float = 0.01
    regression_min_volume: int = 30
    regression_min_delta: float = 0.05  # on rates
    regression_min_reward_delta: float = 0.1  # on the mean reward
    regression_reference: str = "previous"  # "previous" window or "all" earlier windows pooled
    # stall
    stall_min_windows: int = 4
    stall_min_window_volume: int = 5  # rated interactions for a window to count
    stall_epsilon: float = 0.05  # improvement of the fitted mean reward over the span below this = flat
    stall_confidence: float = 0.95
    stall_min_growth: float = 1.5  # cumulative rated data grew at least this factor over the span
    # plan
    plan_min_volume: int = 30  # a category with fewer interactions needs data
    plan_min_confidence: float = 0.5  # mean reward confidence below this: labels needed
    plan_max_bad_rate: float = 0.25
    plan_max_failures: int = 300  # most recent failures attributed (curation embeds each: ~50 ms apiece)
    plan_review: int = 50  # size of curation's review queue shown
    plan_examples: int = 3
    sft_min_examples: int = 200  # good + corrected answers before SFT is worth it
    dpo_min_pairs: int = 100  # corrections + preferences before DPO is worth it

    def window_seconds(self) -> float:
        if isinstance(self.window, (int, float)) and not isinstance(self.window, bool):
            if self.window <= 0:
                raise ValueError("window must be positive seconds")
            return float(self.window)
        if self.window not in WINDOW_SECONDS:
            raise ValueError(f"window must be one of {sorted(WINDOW_SECONDS)} or seconds, got {self.window!r}")
        return WINDOW_SECONDS[self.window]

    def window_origin(self) -> float:
        return _WINDOW_ORIGIN.get(self.window, 0.0) if isinstance(self.window, str) else 0.0


# ---------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------
@dataclass
class MonitorData:
    """The store as numpy columns, one row per interaction (ordered by store key)."""

    config: MonitorConfig
    keys: np.ndarray  # int64
    ids: np.ndarray  # object
    started_at: np.ndarray  # float64
    window: np.ndarray  # int64 window index
    status: np.ndarray  # object
    input_text: np.ndarray  # object
    cohorts: dict[str, np.ndarray]  # dimension -> object array of cohort names
    label: np.ndarray  # object: good / bad / unknown
    reward: np.ndarray  # float64 (0 when no reward row)
    confidence: np.ndarray  # float64
    rated: np.ndarray  # bool: the reward rests on at least one signal (or an error)
    flags: dict[str, np.ndarray]  # rate name -> bool per interaction (signal groups + bad, good, error)
    embeddings: np.ndarray  # float32 (m, d) for rows where has_embedding
    has_embedding: np.ndarray  # bool
    cluster_names: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def windows(self) -> list[int]:
        """The non-empty windows, oldest first."""
        return [int(w) for w in np.unique(self.window)]

    def window_start(self, w: int) -> float:
        return self.config.window_origin() + w * self.config.window_seconds()

    def window_label(self, w: int) -> str:
        start = _dt.datetime.fromtimestamp(self.window_start(w), tz=_dt.timezone.utc)
        size = self.config.window_seconds()
        if size < 60:
            return start.strftime("%H:%M:%S")
        if size < 86_400:
            return start.strftime("%Y-%m-%d %H:%M")
        if self.config.window == "week":
            return "week of " + start.strftime("%Y-%m-%d")
        return start.strftime("%Y-%m-%d")

    def embedding_rows(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row indices, vectors) of the rows in ``mask`` that have an embedding."""
        rows = np.flatnonzero(mask & self.has_embedding)
        pos = np.cumsum(self.has_embedding) - 1
        return rows, self.embeddings[pos[rows]]


def _store_of(source: MonitorSource) -> TrajectoryStore:
    return store_of(source)


def _decode_chosen(raw: Any) -> str | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        value = raw
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(str(v if not isinstance(v, (dict, list)) else json.dumps(v, sort_keys=True)) for v in value) or None
    if isinstance(value, dict):
        for key in ("name", "tool", "route", "id"):
            if isinstance(value.get(key), str):
                return value[key]
        return json.dumps(value, sort_keys=True)[:80]
    return str(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def load(source: MonitorSource, config: MonitorConfig | None = None) -> MonitorData:
    """Read everything the analyses need from a ``Flywheel`` or its store, in one pass."""
    config = config or MonitorConfig()
    store = _store_of(source)
    size, origin = config.window_seconds(), config.window_origin()
    rows = store.monitor_rows(config.since, config.until, with_metadata=config.segment_fn is not None)
    n = len(rows)
    cols = list(zip(*rows)) if rows else [()] * 16
    keys = np.asarray(cols[0], dtype=np.int64)
    started = np.asarray([np.nan if t is None else t for t in cols[2]], dtype=np.float64)
    started = np.where(np.isnan(started), 0.0, started)
    window = np.floor((started - origin) / size).astype(np.int64)
    status = np.asarray(cols[3], dtype=object)
    model_version = np.asarray([v or NONE_COHORT for v in cols[4]], dtype=object)
    category_meta = [_text(v) for v in cols[7]]
    route = np.asarray([_decode_chosen(d) or _text(m) or NONE_COHORT for d, m in zip(cols[11], cols[8])], dtype=object)
    if config.segment_fn is not None:
        segment_list = []
        for user_id, meta in zip(cols[5], cols[10]):
            try:
                value = config.segment_fn({"user_id": user_id, "metadata": meta or {}})
            except Exception:  # noqa: BLE001 - a broken segment function yields "(none)", not a crash
                value = None
            segment_list.append(_text(value) or NONE_COHORT)
        segment = np.asarray(segment_list, dtype=object)
    else:
        segment = np.asarray([_text(v) or NONE_COHORT for v in cols[9]], dtype=object)
    label = np.asarray([v or "unknown" for v in cols[12]], dtype=object)
    reward = np.asarray([0.0 if v is None else v for v in cols[13]], dtype=np.float64)
    confidence = np.asarray([0.0 if v is None else v for v in cols[14]], dtype=np.float64)
    n_signals = np.asarray([0 if v is None else v for v in cols[15]], dtype=np.int64)
    rated = (n_signals > 0) | (reward != 0.0)

    # signal groups: one SQL aggregation, mapped to rows through the (sorted) keys
    kind_to_groups: dict[str, list[str]] = {}
    for group, kinds in config.signal_groups.items():
        for kind in kinds:
            kind_to_groups.setdefault(kind, []).append(group)
    flags = {group: np.zeros(n, dtype=bool) for group in config.signal_groups}
    if n and kind_to_groups:
        for kind, sig_keys in store.keys_with_signals(list(kind_to_groups)).items():
            if not len(sig_keys):
                continue
            pos = np.searchsorted(keys, sig_keys)
            ok = (pos < n) & (keys[np.minimum(pos, n - 1)] == sig_keys)
            for group in kind_to_groups[kind]:
                flags[group][pos[ok]] = True
    flags["abort"] = flags.get("abort", np.zeros(n, dtype=bool)) | (status == "aborted")
    flags["error"] = status == "error"
    flags["good"] = label == "good"
    flags["bad"] = label == "bad"

    # embeddings, aligned to rows
    has_embedding = np.zeros(n, dtype=bool)
    chunks: list[np.ndarray] = []
    chunk_pos: list[np.ndarray] = []
    if n:
        for emb_keys, vectors in store.iter_embeddings(after_key=int(keys[0]) - 1):
            pos = np.searchsorted(keys, emb_keys)
            ok = (pos < n) & (keys[np.minimum(pos, n - 1)] == emb_keys)
            chunk_pos.append(pos[ok])
            chunks.append(np.asarray(vectors, dtype=np.float32)[ok])
            if emb_keys[-1] >= keys[-1]:
                break
    if chunks:
        all_pos = np.concatenate(chunk_pos)
        all_vec = np.concatenate(chunks)
        order = np.argsort(all_pos, kind="stable")
        has_embedding[all_pos] = True
        embeddings = all_vec[order]
    else:
        embeddings = np.zeros((0, 0), dtype=np.float32)

    data = MonitorData(
        config=config, keys=keys, ids=np.asarray(cols[1], dtype=object), started_at=started, window=window,
        status=status, input_text=np.asarray([t or "" for t in cols[6]], dtype=object),
        cohorts={"route": route, "user_segment": segment, "model_version": model_version,
                 "all": np.full(n, "all", dtype=object)},
        label=label, reward=reward, confidence=confidence, rated=rated, flags=flags,
        embeddings=embeddings, has_embedding=has_embedding,
    )
    data.cohorts["category"] = _categories(data, category_meta)
    return data


def _categories(data: MonitorData, category_meta: list[str | None]) -> np.ndarray:
    """Metadata ``category``; interactions without one get the k-means cluster of their input."""
    out = np.asarray([c or NONE_COHORT for c in category_meta], dtype=object)
    missing = np.asarray([c is None for c in category_meta], dtype=bool)
    rows, vectors = data.embedding_rows(missing)
    if len(rows) >= 2:
        model = KMeansModel.fit(vectors, _auto_k(len(rows), data.config.n_clusters), seed=data.config.seed,
                                max_fit=data.config.kmeans_max_fit)
        assign = model.assign(vectors)
        names = model.names(vectors, assign, data.input_text[rows])
        data.cluster_names = names
        out[rows] = [names[int(a)] for a in assign]
    return out


# ---------------------------------------------------------------------------------------------
# k-means (numpy, deterministic)
# ---------------------------------------------------------------------------------------------
def _auto_k(n: int, requested: int | None) -> int:
    if requested is not None:
        return max(1, min(int(requested), n))
    return int(max(2, min(12, round(math.sqrt(n / 2.0)), n)))


def _sq_dists(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
    d = (x * x).sum(1)[:, None] - 2.0 * (x @ centers.T) + (centers * centers).sum(1)[None, :]
    return np.maximum(d, 0.0)


@dataclass
class KMeansModel:
    """Centroids from seeded k-means++ and Lloyd iterations (best inertia of ``n_init`` runs)."""

    centers: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, k: int, *, seed: int = 0, n_init: int = 4, iters: int = 60, max_fit: int = 20_000) -> KMeansModel:
        x = np.asarray(x, dtype=np.float64)
        rng = np.random.default_rng(seed)
        if len(x) > max_fit:
            x = x[np.sort(rng.choice(len(x), max_fit, replace=False))]
        k = max(1, min(k, len(x)))
        best, best_inertia = None, np.inf
        for _ in range(n_init):
            centers = _kmeans_pp(x, k, rng)
            for _ in range(iters):
                assign = _sq_dists(x, centers).argmin(1)
                counts = np.bincount(assign, minlength=len(centers)).astype(np.float64)
                sums = np.zeros_like(centers)
                np.add.at(sums, assign, x)
                new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1.0)[:, None], centers)
                if np.allclose(new, centers, atol=1e-7):
                    centers = new
                    break
                centers = new
            inertia = _sq_dists(x, centers).min(1).sum()
            if inertia < best_inertia - 1e-9:
                best, best_inertia = centers, inertia
        assert best is not None
        # a canonical order (by first coordinate sums) so cluster ids do not depend on init order
        order = np.lexsort(best.T[::-1])
        return cls(best[order].astype(np.float32))

    def assign(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0, dtype=np.int64)
        return _sq_dists(np.asarray(x, dtype=np.float32), self.centers).argmin(1).astype(np.int64)

    def names(self, x: np.ndarray, assign: np.ndarray, texts: Sequence[str], width: int = 48) -> dict[int, str]:
        """``c3: <the input nearest the centroid>`` per cluster."""
        names: dict[int, str] = {}
        d = _sq_dists(np.asarray(x, dtype=np.float32), self.centers)
        for j in range(len(self.centers)):
            members = np.flatnonzero(assign == j)
            if len(members):
                medoid = members[d[members, j].argmin()]
                names[j] = f"c{j}: {_clip(str(texts[medoid]), width)}"
            else:
                names[j] = f"c{j}"
        return names


def _kmeans_pp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centers = [x[int(rng.integers(len(x)))]]
    d2 = ((x - centers[0]) ** 2).sum(1)
    for _ in range(1, k):
        total = d2.sum()
        if total <= 0:
            break
        idx = int(rng.choice(len(x), p=d2 / total))
        centers.append(x[idx])
        d2 = np.minimum(d2, ((x - x[idx]) ** 2).sum(1))
    return np.asarray(centers, dtype=np.float64)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------------------------------------
# metrics per cohort and window
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CohortMetrics:
    """One cohort in one window (``window`` None: the whole period)."""

    dimension: str
    cohort: str
    window: int | None
    window_label: str
    n: int
    n_rated: int
    mean_reward: float | None  # over rated interactions
    mean_confidence: float  # over all interactions (unrated count as 0)
    good_rate: float  # share of all interactions labelled good
    bad_rate: float
    rates: dict[str, float]  # share of interactions with >= 1 signal of each group, plus "error"
    counts: dict[str, int]


def cohort_metrics(data: MonitorData, dimension: str = "all", *, by_window: bool = True,
                   mask: np.ndarray | None = None) -> list[CohortMetrics]:
    """Metrics for every (cohort, window) of ``dimension``, sorted by cohort then window."""
    if dimension not in data.cohorts:
        raise ValueError(f"unknown dimension {dimension!r}; known: {sorted(data.cohorts)}")
    sel = np.ones(len(data), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if not sel.any():
        return []
    names, cohort_code = np.unique(data.cohorts[dimension][sel].astype(str), return_inverse=True)
    win = data.window[sel] if by_window else np.zeros(int(sel.sum()), dtype=np.int64)
    wins, win_code = np.unique(win, return_inverse=True)
    group = cohort_code * len(wins) + win_code
    n_groups = len(names) * len(wins)
    count = np.bincount(group, minlength=n_groups)
    rated = data.rated[sel]
    n_rated = np.bincount(group, weights=rated.astype(np.float64), minlength=n_groups)
    reward_sum = np.bincount(group, weights=np.where(rated, data.reward[sel], 0.0), minlength=n_groups)
    conf_sum = np.bincount(group, weights=data.confidence[sel], minlength=n_groups)
    flag_counts = {k: np.bincount(group, weights=v[sel].astype(np.float64), minlength=n_groups) for k, v in data.flags.items()}
    out = []
    for g in np.flatnonzero(count):
        c, w = divmod(int(g), len(wins))
        n = int(count[g])
        counts = {k: int(v[g]) for k, v in flag_counts.items()}
        window = int(wins[w]) if by_window else None
        out.append(CohortMetrics(
            dimension=dimension, cohort=str(names[c]), window=window,
            window_label=data.window_label(window) if window is not None else "all",
            n=n, n_rated=int(n_rated[g]),
            mean_reward=float(reward_sum[g] / n_rated[g]) if n_rated[g] else None,
            mean_confidence=float(conf_sum[g] / n),
            good_rate=counts["good"] / n, bad_rate=counts["bad"] / n,
            rates={k: v / n for k, v in counts.items() if k not in ("good", "bad")},
            counts=counts,
        ))
    return out


def time_series(data: MonitorData) -> list[CohortMetrics]:
    """The ``all`` cohort per window, oldest first."""
    return cohort_metrics(data, "all")


# ---------------------------------------------------------------------------------------------
# drift of the query distribution
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClusterShift:
    cluster: int
    name: str
    reference_count: int
    current_count: int
    reference_share: float
    current_share: float
    delta: float  # current - reference share
    examples: list[str]  # inputs nearest the centroid, from the window where the cluster is larger


@dataclass(frozen=True)
class DriftResult:
    reference: str
    current: str
    n_reference: int
    n_current: int
    k: int
    chi2: float
    p_value: float
    dof: int
    psi: float
    drifted: bool
    reason: str
    clusters: list[ClusterShift]  # sorted by |delta|, largest first

    @property
    def grew(self) -> list[ClusterShift]:
        return [c for c in self.clusters if c.delta > 0]

    @property
    def shrank(self) -> list[ClusterShift]:
        return [c for c in self.clusters if c.delta < 0]


def population_stability_index(reference: np.ndarray, current: np.ndarray, eps: float = 1e-4) -> float:
    """PSI = sum((cur - ref) * ln(cur / ref)) over bins of shares (floored at ``eps``)."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    ref = np.maximum(ref / max(ref.sum(), 1e-12), eps)
    cur = np.maximum(cur / max(cur.sum(), 1e-12), eps)
    return float(((cur - ref) * np.log(cur / ref)).sum())


def _resolve_windows(data: MonitorData, reference: int | Sequence[int] | None, current: int | None) -> tuple[list[int], int] | None:
    windows = data.windows
    if not windows:
        return None
    cur = windows[-1] if current is None else int(current)
    if reference is None:
        earlier = [w for w in windows if w < cur]
        if not earlier:
            return None
        ref = [earlier[-1]]
    elif isinstance(reference, (int, np.integer)):
        ref = [int(reference)]
    else:
        ref = [int(w) for w in reference]
    return ref, cur


def detect_drift(data: MonitorData, reference: int | Sequence[int] | None = None, current: int | None = None) -> DriftResult | None:
    """Compare the query mix of ``current`` (default: the last window) with ``reference``
    (default: the window before it; a list pools several windows). None when either side has no
    embedded interactions. ``drifted`` needs p < ``drift_alpha`` and PSI >= ``psi_threshold``."""
    cfg = data.config
    resolved = _resolve_windows(data, reference, current)
    if resolved is None:
        return None
    ref_windows, cur_window = resolved
    ref_rows, ref_x = data.embedding_rows(np.isin(data.window, ref_windows))
    cur_rows, cur_x = data.embedding_rows(data.window == cur_window)
    ref_label = ", ".join(data.window_label(w) for w in ref_windows)
    cur_label = data.window_label(cur_window)
    if len(ref_rows) < 2 or len(cur_rows) < 1:
        return None
    k = _auto_k(len(ref_rows), cfg.n_clusters)
    model = KMeansModel.fit(ref_x, k, seed=cfg.seed, max_fit=cfg.kmeans_max_fit)
    k = len(model.centers)
    d_ref = _sq_dists(ref_x.astype(np.float32), model.centers)
    d_cur = _sq_dists(cur_x.astype(np.float32), model.centers)
    ref_assign, cur_assign = d_ref.argmin(1), d_cur.argmin(1)
    # one more bin for queries unlike every reference cluster (a new topic has no cluster of its
    # own in a model fitted on the reference): farther from their centroid than the reference's
    # ``drift_outside_quantile`` distance. By construction ~5% of the reference lands there too.
    threshold = float(np.quantile(d_ref.min(1), cfg.drift_outside_quantile))
    ref_assign = np.where(d_ref.min(1) > threshold, k, ref_assign)
    cur_assign = np.where(d_cur.min(1) > threshold, k, cur_assign)
    ref_counts = np.bincount(ref_assign, minlength=k + 1)
    cur_counts = np.bincount(cur_assign, minlength=k + 1)
    names = model.names(np.vstack([ref_x, cur_x]), np.concatenate([ref_assign, cur_assign]),
                        np.concatenate([data.input_text[ref_rows], data.input_text[cur_rows]]))
    names[k] = "outside the reference clusters"
    used = (ref_counts + cur_counts) > 0
    chi2, dof, p_value = 0.0, 0, 1.0
    if used.sum() >= 2:
        from scipy.stats import chi2_contingency

        res = chi2_contingency(np.vstack([ref_counts[used], cur_counts[used]]), correction=False)
        chi2, p_value, dof = float(res[0]), float(res[1]), int(res[2])
    psi = population_stability_index(ref_counts, cur_counts)
    ref_share = ref_counts / max(ref_counts.sum(), 1)
    cur_share = cur_counts / max(cur_counts.sum(), 1)
    d_ref = np.hstack([d_ref, d_ref.min(1, keepdims=True)])  # "distance" to the outside bin, for examples
    # a grown cluster is shown by its *new* queries: current ones farthest from any reference query
    sample = ref_x[:: max(1, len(ref_x) // 5000)].astype(np.float32)
    novelty = np.empty(len(cur_x), dtype=np.float32)
    for start in range(0, len(cur_x), 2048):
        novelty[start:start + 2048] = _sq_dists(cur_x[start:start + 2048].astype(np.float32), sample).min(1)
    shifts = []
    for j in range(k + 1):
        delta = float(cur_share[j] - ref_share[j])
        cur_members = np.flatnonzero(cur_assign == j)
        ref_members = np.flatnonzero(ref_assign == j)
        if delta > 0 and len(cur_members):
            picked = cur_rows[cur_members[np.argsort(-novelty[cur_members], kind="stable")]]
        elif len(ref_members):
            picked = ref_rows[ref_members[np.argsort(d_ref[ref_members, j], kind="stable")]]
        else:
            picked = cur_rows[cur_members]
        examples = _unique_texts(data.input_text[picked], cfg.drift_examples)
        shifts.append(ClusterShift(j, names[j], int(ref_counts[j]), int(cur_counts[j]), float(ref_share[j]),
                                   float(cur_share[j]), delta, examples))
    shifts.sort(key=lambda s: (-abs(s.delta), s.cluster))
    enough = len(ref_rows) >= cfg.drift_min_volume and len(cur_rows) >= cfg.drift_min_volume
    drifted = bool(enough and p_value < cfg.drift_alpha and psi >= cfg.psi_threshold)
    if not enough:
        reason = f"too little data to judge (need {cfg.drift_min_volume} embedded queries per window)"
    elif drifted:
        reason = f"query mix shifted: chi2 p={p_value:.2g} < {cfg.drift_alpha}, PSI={psi:.3f} >= {cfg.psi_threshold}"
    else:
        reason = f"no material shift: chi2 p={p_value:.2g}, PSI={psi:.3f} (drift needs p < {cfg.drift_alpha} and PSI >= {cfg.psi_threshold})"
    return DriftResult(ref_label, cur_label, len(ref_rows), len(cur_rows), k, chi2, p_value, dof, psi, drifted, reason, shifts)


def drift_series(data: MonitorData, max_windows: int = 30) -> list[DriftResult]:
    """``detect_drift`` of each of the last ``max_windows`` windows against the window before it."""
    windows = data.windows[-(max_windows + 1):]
    out = []
    for before, after in zip(windows, windows[1:]):
        result = detect_drift(data, reference=before, current=after)
        if result is not None:
            out.append(result)
    return out


def _unique_texts(texts: Iterable[str], limit: int) -> list[str]:
    out: list[str] = []
    for text in texts:
        if text and text not in out:
            out.append(text)
        if len(out) >= limit:
            break
    return out


# ---------------------------------------------------------------------------------------------
# cohort regressions
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Regression:
    dimension: str
    cohort: str
    metric: str  # "bad", "rephrase", ..., "good" (lower is worse) or "mean_reward"
    reference: str
    current: str
    reference_value: float
    current_value: float
    n_reference: int
    n_current: int
    statistic: float  # z (proportions) or t (mean reward)
    p_value: float

    @property
    def delta(self) -> float:
        return self.current_value - self.reference_value


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """z and the one-sided p-value of H1: p2 > p1 (pooled standard error)."""
    from scipy.stats import norm

    if n1 <= 0 or n2 <= 0:
        return 0.0, 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if se == 0.0:
        return 0.0, 1.0
    z = (x2 / n2 - x1 / n1) / se
    return float(z), float(norm.sf(z))


def detect_regressions(data: MonitorData, dimensions: Sequence[str] | None = None, *,
                       reference: int | Sequence[int] | None = None, current: int | None = None) -> list[Regression]:
    """Cohorts that got worse in ``current`` (default: the last window) than in ``reference``
    (default per ``regression_reference``: the previous window, or all earlier windows pooled).

    A rate is flagged when both windows hold >= ``regression_min_volume`` interactions of the
    cohort, it rose by >= ``regression_min_delta`` (the good rate: fell), and the one-sided
    two-proportion z-test gives p < ``regression_alpha``; the mean reward when it fell by
    >= ``regression_min_reward_delta`` with Welch's t-test p < ``regression_alpha``.
    """
    from scipy.stats import ttest_ind

    cfg = data.config
    windows = data.windows
    if reference is None and current is None and cfg.regression_reference == "all" and len(windows) >= 2:
        reference = windows[:-1]
    resolved = _resolve_windows(data, reference, current)
    if resolved is None:
        return []
    ref_windows, cur_window = resolved
    ref_mask = np.isin(data.window, ref_windows)
    cur_mask = data.window == cur_window
    ref_label = ", ".join(data.window_label(w) for w in ref_windows)
    cur_label = data.window_label(cur_window)
    out: list[Regression] = []
    for dim in dimensions or cfg.dimensions:
        values = data.cohorts[dim]
        for cohort in sorted(set(values[ref_mask]) & set(values[cur_mask])):
            in_cohort = values == cohort
            a, b = ref_mask & in_cohort, cur_mask & in_cohort
            n1, n2 = int(a.sum()), int(b.sum())
            if n1 < cfg.regression_min_volume or n2 < cfg.regression_min_volume:
                continue
            for metric in (*FAILURE_RATES, "good"):
                flag = data.flags.get(metric)
                if flag is None:
                    continue
                x1, x2 = int(flag[a].sum()), int(flag[b].sum())
                worse_if_higher = metric != "good"
                if worse_if_higher:
                    z, p = two_proportion_z(x1, n1, x2, n2)
                    delta = x2 / n2 - x1 / n1
                else:
                    z, p = two_proportion_z(n1 - x1, n1, n2 - x2, n2)  # "not good" rose
                    delta = x1 / n1 - x2 / n2
                if delta >= cfg.regression_min_delta and p < cfg.regression_alpha:
                    out.append(Regression(dim, str(cohort), metric, ref_label, cur_label, x1 / n1, x2 / n2, n1, n2, z, p))
            r1, r2 = data.reward[a & data.rated], data.reward[b & data.rated]
            if len(r1) >= cfg.regression_min_volume and len(r2) >= cfg.regression_min_volume:
                drop = float(r1.mean() - r2.mean())
                if drop >= cfg.regression_min_reward_delta:
                    if np.var(r1) == 0 and np.var(r2) == 0:
                        t, p = float("inf"), 0.0
                    else:
                        res = ttest_ind(r2, r1, equal_var=False, alternative="less")
                        t, p = float(res.statistic), float(res.pvalue)
                    if p < cfg.regression_alpha:
                        out.append(Regression(dim, str(cohort), "mean_reward", ref_label, cur_label, float(r1.mean()),
                                              float(r2.mean()), len(r1), len(r2), t, p))
    out.sort(key=lambda r: (r.p_value, r.dimension, r.cohort, r.metric))
    return out


# ---------------------------------------------------------------------------------------------
# the month-three stall
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StallResult:
    verdict: str  # "stalled" | "improving" | "declining" | "flat" (no new data) | "insufficient data"
    stalled: bool
    slope: float | None  # mean reward per window
    ci: tuple[float, float] | None
    improvement: float | None  # slope * span (in windows): fitted change over the period
    data_growth: float | None  # cumulative rated interactions at the end / at the first window
    windows: list[str]
    mean_rewards: list[float]
    volumes: list[int]  # rated interactions per window
    reason: str


def detect_stall(data: MonitorData) -> StallResult:
    """Reward flat while data accumulates: a linear fit of the mean reward per window whose 95% CI
    includes 0, or whose improvement over the span is below ``stall_epsilon``, while the cumulative
    rated data grew >= ``stall_min_growth`` times. Windows with fewer than ``stall_min_window_volume``
    rated interactions are left out."""
    from scipy.stats import linregress, t as student_t

    cfg = data.config
    xs, ys, vols, labels = [], [], [], []
    for m in time_series(data):
        if m.n_rated >= cfg.stall_min_window_volume and m.mean_reward is not None:
            xs.append(m.window)
            ys.append(m.mean_reward)
            vols.append(m.n_rated)
            labels.append(m.window_label)
    if len(xs) < max(3, cfg.stall_min_windows):
        return StallResult("insufficient data", False, None, None, None, None, labels, ys, vols,
                           f"need {max(3, cfg.stall_min_windows)} windows with >= {cfg.stall_min_window_volume} rated interactions, have {len(xs)}")
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    fit = linregress(x, y)
    half = float(student_t.ppf(0.5 + cfg.stall_confidence / 2.0, len(x) - 2) * fit.stderr)
    slope = float(fit.slope)
    ci = (slope - half, slope + half)
    improvement = slope * float(x[-1] - x[0])
    cumulative = np.cumsum(vols)
    growth = float(cumulative[-1] / cumulative[0])
    growing = growth >= cfg.stall_min_growth
    pct = int(round(cfg.stall_confidence * 100))
    fitted = f"slope {slope:+.4f}/window, {pct}% CI [{ci[0]:+.4f}, {ci[1]:+.4f}], fitted change {improvement:+.3f}"
    if ci[0] > 0 and improvement >= cfg.stall_epsilon:
        verdict, reason = "improving", f"reward improves: {fitted}"
    elif ci[1] < 0 and improvement <= -cfg.stall_epsilon:
        verdict, reason = "declining", f"reward declines: {fitted}"
    elif growing:
        verdict = "stalled"
        reason = (f"reward flat ({fitted}; flat = CI includes 0 or change < {cfg.stall_epsilon}) "
                  f"while rated data grew {growth:.1f}x: more data alone is not helping")
    else:
        verdict, reason = "flat", f"reward flat ({fitted}) but data grew only {growth:.1f}x (< {cfg.stall_min_growth}x)"
    return StallResult(verdict, verdict == "stalled", slope, ci, improvement, growth, labels, ys, vols, reason)


# ---------------------------------------------------------------------------------------------
# the plan: where data is needed, what failed why, and what to do about it
# ---------------------------------------------------------------------------------------------
FAILURE_TYPES: tuple[str, ...] = ("routing", "retrieval", "generation", "knowledge_gap")

INTERVENTIONS: dict[str, str] = {
    "routing": "Fix the router: sharpen route/tool descriptions and add routing few-shot examples "
               "from good trajectories (Flywheel.few_shot(route=...)); retrain a learned router on the corrected routes.",
    "retrieval": "Fix retrieval: check knowledge-base coverage, chunking (size/overlap) and the retriever "
                 "(hybrid/BM25, a reranker, top-k) on the example queries.",
    "generation_prompt": "Improve the prompt and inject dynamic few-shot examples of good answers; "
                         "fine-tune once enough curated data exists.",
    "generation_finetune": "Fine-tune: SFT on good and corrected answers, then DPO on correction/preference pairs "
                           "(flywheel export + flywheel train), gated by flywheel eval.",
    "knowledge_gap": "Add documents: the knowledge base does not cover these queries; write or ingest sources for them.",
}


@dataclass(frozen=True)
class CategoryNeed:
    """A category that needs data (active learning): why, and how much is known about it."""

    category: str
    n: int
    n_rated: int
    mean_confidence: float
    mean_reward: float | None
    bad_rate: float
    reasons: list[str]
    priority: float
    selected: int = 0  # interactions curation's active learning picked for labelling here
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlanItem:
    failure_type: str
    count: int
    share: float  # of attributed failures
    mean_confidence: float  # of the attributions
    intervention: str
    rationale: str
    categories: list[tuple[str, int]]  # top categories of these failures
    examples: list[str]


@dataclass(frozen=True)
class Plan:
    needs: list[CategoryNeed]
    items: list[PlanItem]  # every failure type, most frequent first
    n_failures: int
    attribution_source: str  # "curation" or "heuristic"
    sft_examples: int
    dpo_pairs: int
    thresholds: dict[str, float]
    review: list[ReviewItem] = field(default_factory=list)  # what curation's active learning would label next


def recommend(failure_type: str, *, sft_examples: int = 0, dpo_pairs: int = 0, config: MonitorConfig | None = None) -> tuple[str, str]:
    """(intervention, rationale) for a failure type; generation escalates from prompt/few-shot to
    fine-tuning once ``sft_min_examples`` or ``dpo_min_pairs`` is reached."""
    cfg = config or MonitorConfig()
    if failure_type == "generation":
        if sft_examples >= cfg.sft_min_examples or dpo_pairs >= cfg.dpo_min_pairs:
            return (INTERVENTIONS["generation_finetune"],
                    f"{sft_examples} SFT examples (>= {cfg.sft_min_examples}) or {dpo_pairs} DPO pairs "
                    f"(>= {cfg.dpo_min_pairs}) are available")
        return (INTERVENTIONS["generation_prompt"],
                f"only {sft_examples} SFT examples (< {cfg.sft_min_examples}) and {dpo_pairs} DPO pairs "
                f"(< {cfg.dpo_min_pairs}): fine-tuning would overfit")
    if failure_type == "routing":
        return INTERVENTIONS["routing"], "the wrong route/tool was chosen; the answer path never had a chance"
    if failure_type == "retrieval":
        return INTERVENTIONS["retrieval"], "the right documents exist but were not retrieved (or retrieval failed)"
    if failure_type == "knowledge_gap":
        return INTERVENTIONS["knowledge_gap"], "no source covers the question; no model change can fix it"
    raise ValueError(f"unknown failure type {failure_type!r}; known: {FAILURE_TYPES}")


Attributor = Callable[[Any, Sequence[Any]], Any]  # (Interaction, signals) -> Attribution-like


def _curation() -> Any:
    """``flywheel_middleware.curation`` if it imports, else None (the report degrades gracefully)."""
    try:
        from . import curation
    except Exception:  # noqa: BLE001 - absent or broken: use the heuristic
        return None
    return curation


def _curation_attributor(source: MonitorSource) -> tuple[Callable[[Any, Sequence[Any]], Any] | None, str]:
    """curation's ``attribute(fw, interaction, signals=...)`` bound to ``source`` when both are
    available (it needs a Flywheel: the store, the FAISS index and the embedder), else None."""
    curation = _curation()
    fn = getattr(curation, "attribute", None)
    if fn is None or getattr(source, "index", None) is None or getattr(source, "store", None) is None:
        return None, "heuristic"
    good = None
    try:
        good = curation.good_mask(source.store)
    except Exception:  # noqa: BLE001 - optional speed-up
        good = None

    def call(interaction: Any, signals: Sequence[Any]) -> Any:
        if good is not None:
            try:
                return fn(source, interaction, signals=signals, _good=good)
            except TypeError:
                pass
        return fn(source, interaction, signals=signals)

    return call, "curation"


_GAP_CUES = ("i don't know", "i do not know", "i'm not sure", "no information", "couldn't find", "could not find",
             "not able to find", "no relevant", "don't have information", "do not have information", "unable to answer")


@dataclass(frozen=True)
class _HeuristicAttribution:
    category: str
    confidence: float
    evidence: dict[str, Any]


def heuristic_attribution(interaction: Any, signals: Sequence[Any] = ()) -> _HeuristicAttribution:
    """A small fallback, used only when curation's attribution is unavailable (same order of rules).

    routing: metadata ``expected_route`` disagrees with the route taken (0.8), a router decision
    recorded a confidence below 0.55 (0.55), or a tool call failed (0.4); retrieval: a retrieval
    step failed or returned nothing (0.8); knowledge gap: the answer says it does not know (0.6);
    else generation (0.45 after a retrieval that returned documents, 0.3 without).
    """
    meta = getattr(interaction, "metadata", {}) or {}
    expected = meta.get("expected_route")
    for d in getattr(interaction, "decisions", []):
        chosen = _decode_chosen(json.dumps(d.chosen, default=str))
        if expected is not None and chosen is not None and chosen != str(expected):
            return _HeuristicAttribution("routing", 0.8, {"rule": "expected route differs", "chosen": chosen, "expected": expected})
        confidence = (d.metadata or {}).get("confidence")
        if d.decider == "router" and isinstance(confidence, (int, float)) and confidence < 0.55:
            return _HeuristicAttribution("routing", 0.55, {"rule": "low router confidence", "chosen": chosen, "confidence": confidence})
    steps = getattr(interaction, "steps", [])
    if any(s.kind == "tool" and s.error for s in steps):
        return _HeuristicAttribution("routing", 0.4, {"rule": "a tool call failed"})
    retrievals = [s for s in steps if s.kind == "retrieval"]
    if retrievals and (any(s.error for s in retrievals) or all(not s.outputs for s in retrievals)):
        return _HeuristicAttribution("retrieval", 0.8, {"rule": "retrieval failed or returned nothing"})
    output = (getattr(interaction, "output_text", "") or "").lower()
    if any(cue in output for cue in _GAP_CUES):
        return _HeuristicAttribution("knowledge_gap", 0.6, {"rule": "the answer says it does not know"})
    if retrievals:
        return _HeuristicAttribution("generation", 0.45, {"rule": "documents were retrieved, the answer was bad"})
    return _HeuristicAttribution("generation", 0.3, {"rule": "no specific evidence"})


def _category_of_attribution(att: Any) -> tuple[str, float]:
    if isinstance(att, dict):
        category, confidence = att.get("category"), att.get("confidence", 0.0)
    else:
        category, confidence = getattr(att, "category", None), getattr(att, "confidence", 0.0)
    category = str(category or "generation").lower().replace(" ", "_").replace("-", "_")
    if category not in FAILURE_TYPES:
        category = "knowledge_gap" if "knowledge" in category else "generation"
    try:
        confidence = float(confidence)
    except (TypeError, ValueError):
        confidence = 0.0
    return category, confidence


@dataclass(frozen=True)
class ReviewItem:
    """An interaction curation's active learning wants labelled next, and why."""

    interaction_id: str
    score: float
    reason: str
    category: str
    input: str


def _review_queue(source: MonitorSource, data: MonitorData, limit: int) -> list[ReviewItem]:
    """curation's ``review_queue`` (needs a Flywheel), mapped to this report's categories; [] if unavailable."""
    curation = _curation()
    fn = getattr(curation, "review_queue", None)
    if fn is None or getattr(source, "index", None) is None or not len(data):
        return []
    try:
        items = fn(source, limit=limit, since=data.config.since, until=data.config.until)
    except Exception:  # noqa: BLE001 - optional enrichment
        return []
    position = {str(i): n for n, i in enumerate(data.ids)}
    out = []
    for item in items or []:
        iid = getattr(item, "interaction_id", None)
        if not isinstance(iid, str):
            continue
        row = position.get(iid)
        category = str(data.cohorts["category"][row]) if row is not None else str(getattr(item, "category", NONE_COHORT))
        out.append(ReviewItem(iid, float(getattr(item, "score", 0.0)), str(getattr(item, "reason", "")), category,
                              str(getattr(item, "input", "") or (data.input_text[row] if row is not None else ""))))
    return out


def make_plan(source: MonitorSource, data: MonitorData, *, attribute: Attributor | None = None) -> Plan:
    """The plan: categories needing data, failures by attributed cause, and the intervention for each.

    Failures are interactions labelled ``bad`` or corrected (the ``plan_max_failures`` most
    recent). Their cause comes from ``attribute(interaction, signals)`` if given, else
    ``flywheel_middleware.curation.attribute`` when available (it needs a ``Flywheel``), else
    ``heuristic_attribution``. Categories need data when they have low volume, low reward
    confidence, a negative mean reward or a high bad share; with a ``Flywheel``, curation's
    ``review_queue`` adds how many of each category's interactions it would send for labelling.
    """
    cfg = data.config
    store = _store_of(source)
    # -- categories that need data
    needs: list[CategoryNeed] = []
    review = _review_queue(source, data, cfg.plan_review)
    selected: dict[str, int] = {}
    for item in review:
        selected[item.category] = selected.get(item.category, 0) + 1
    for m in cohort_metrics(data, "category", by_window=False):
        reasons, priority = [], 0.0
        if m.n < cfg.plan_min_volume:
            reasons.append(f"low volume ({m.n} < {cfg.plan_min_volume})")
            priority += 1.0 - m.n / cfg.plan_min_volume
        if m.mean_confidence < cfg.plan_min_confidence:
            reasons.append(f"low confidence ({m.mean_confidence:.2f} < {cfg.plan_min_confidence})")
            priority += cfg.plan_min_confidence - m.mean_confidence
        if m.mean_reward is not None and m.mean_reward < 0:
            reasons.append(f"low reward ({m.mean_reward:+.2f})")
            priority += -m.mean_reward
        if m.bad_rate > cfg.plan_max_bad_rate:
            reasons.append(f"high bad rate ({m.bad_rate:.0%} > {cfg.plan_max_bad_rate:.0%})")
            priority += m.bad_rate - cfg.plan_max_bad_rate
        if reasons:
            in_cat = data.cohorts["category"] == m.cohort
            uncertain = in_cat & ~(data.flags["good"] | data.flags["bad"])
            examples = _unique_texts(data.input_text[np.flatnonzero(uncertain)[::-1]], cfg.plan_examples)
            needs.append(CategoryNeed(m.cohort, m.n, m.n_rated, m.mean_confidence, m.mean_reward, m.bad_rate,
                                      reasons, round(priority, 6), selected.get(m.cohort, 0), examples))
    needs.sort(key=lambda c: (-c.priority, c.category))

    # -- failures by cause
    if attribute is not None:
        attributor, source_name = attribute, "custom"
    else:
        attributor, source_name = _curation_attributor(source)
        if attributor is None:
            attributor = heuristic_attribution
    corrected_ids = set(_ids_with_kind(store, "correction"))
    corrected = np.fromiter((i in corrected_ids for i in data.ids), dtype=bool, count=len(data))
    failing = np.flatnonzero(data.flags["bad"] | corrected)
    failing = failing[np.argsort(-data.started_at[failing], kind="stable")][: cfg.plan_max_failures]
    ids = [str(i) for i in data.ids[failing]]
    signals_by_id = store.signals_for(ids) if ids else {}
    by_type: dict[str, list[tuple[int, float]]] = {t: [] for t in FAILURE_TYPES}
    for row, iid in zip(failing, ids):
        interaction = store.get(iid)
        if interaction is None:
            continue
        try:
            category, confidence = _category_of_attribution(attributor(interaction, signals_by_id.get(iid, [])))
        except Exception:  # noqa: BLE001 - one unattributable failure must not sink the report
            category, confidence = _category_of_attribution(heuristic_attribution(interaction, signals_by_id.get(iid, [])))
        by_type[category].append((int(row), confidence))
    n_failures = sum(len(v) for v in by_type.values())
    sft_examples = int((data.flags["good"] | corrected).sum())
    dpo_pairs = _count_pairs(store)
    items = []
    for failure_type in FAILURE_TYPES:
        entries = by_type[failure_type]
        intervention, rationale = recommend(failure_type, sft_examples=sft_examples, dpo_pairs=dpo_pairs, config=cfg)
        entries = sorted(entries, key=lambda e: -e[1])  # the clearest cases first
        rows = np.asarray([r for r, _ in entries], dtype=np.int64)
        cats: list[tuple[str, int]] = []
        if len(rows):
            names, counts = np.unique(data.cohorts["category"][rows].astype(str), return_counts=True)
            order = np.lexsort((names, -counts))
            cats = [(str(names[i]), int(counts[i])) for i in order[:5]]
        items.append(PlanItem(
            failure_type, len(entries), len(entries) / n_failures if n_failures else 0.0,
            float(np.mean([c for _, c in entries])) if entries else 0.0, intervention, rationale, cats,
            _unique_texts(data.input_text[rows], cfg.plan_examples) if len(rows) else [],
        ))
    items.sort(key=lambda it: (-it.count, FAILURE_TYPES.index(it.failure_type)))
    thresholds = {
        "plan_min_volume": cfg.plan_min_volume, "plan_min_confidence": cfg.plan_min_confidence,
        "plan_max_bad_rate": cfg.plan_max_bad_rate, "sft_min_examples": cfg.sft_min_examples,
        "dpo_min_pairs": cfg.dpo_min_pairs,
    }
    return Plan(needs, items, n_failures, source_name, sft_examples, dpo_pairs, thresholds, review)


def _ids_with_kind(store: TrajectoryStore, kind: str) -> list[str]:
    return sorted(store.ids_with_signals([kind]))


def _count_pairs(store: TrajectoryStore) -> int:
    return len(store.ids_with_signals(["correction", "preference"]))


# ---------------------------------------------------------------------------------------------
# everything at once
# ---------------------------------------------------------------------------------------------
@dataclass
class Analysis:
    data: MonitorData
    series: list[CohortMetrics]
    cohorts: dict[str, list[CohortMetrics]]  # dimension -> per cohort over the whole period
    cohort_series: dict[str, list[CohortMetrics]]  # dimension -> per cohort and window
    drift: DriftResult | None
    drift_history: list[DriftResult]  # each window against the one before (the last 30)
    regressions: list[Regression]
    stall: StallResult
    plan: Plan


ANALYSIS_STEPS: tuple[str, ...] = ("load", "metrics", "drift", "regressions", "stall", "plan")


def analyze(source: MonitorSource, config: MonitorConfig | None = None, *, on_step: Callable[[str], None] | None = None,
            attribute: Attributor | None = None) -> Analysis:
    """Run every analysis; ``on_step(name)`` is called after each of ``ANALYSIS_STEPS``."""
    step = on_step or (lambda name: None)
    data = load(source, config)
    step("load")
    series = time_series(data)
    dims = [d for d in data.config.dimensions if d in data.cohorts]
    cohorts = {d: cohort_metrics(data, d, by_window=False) for d in dims}
    cohort_series = {d: cohort_metrics(data, d) for d in dims}
    step("metrics")
    drift = detect_drift(data)
    history = drift_series(data)
    step("drift")
    regressions = detect_regressions(data)
    step("regressions")
    stall = detect_stall(data)
    step("stall")
    plan = make_plan(source, data, attribute=attribute)
    step("plan")
    return Analysis(data, series, cohorts, cohort_series, drift, history, regressions, stall, plan)


__all__ = [
    "ANALYSIS_STEPS", "Analysis", "CategoryNeed", "ClusterShift", "CohortMetrics", "DriftResult", "FAILURE_TYPES",
    "INTERVENTIONS", "KMeansModel", "MonitorConfig", "MonitorData", "Plan", "PlanItem", "Regression", "ReviewItem",
    "SIGNAL_GROUPS", "StallResult", "analyze", "cohort_metrics", "detect_drift", "detect_regressions",
    "detect_stall", "drift_series", "heuristic_attribution", "load", "make_plan", "population_stability_index", "recommend",
    "time_series", "two_proportion_z",
]
