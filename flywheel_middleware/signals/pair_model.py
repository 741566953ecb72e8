"""The learned part of the rephrase detector: does a new user message restate an earlier one?

Two messages' MiniLM cosine alone confuses "the same need, other words" with "a neighbouring
need": how close two questions must be depends on how crowded that region of the app's traffic
is (in a recipe assistant every question is near every other one). So the model reads the pair
*against a reference sample of the app's own past turns* (:class:`ReferenceSample`, kept by the
worker from what it stores): how many past questions are closer to the earlier message than the
new one is (its rank among the earlier message's neighbours, and the other way round), and the
cosine corrected for local density (CSLS). Without enough reference yet (a new store) a second
set of weights uses the pair alone.

Features, in the order the weights expect: :data:`PAIR_FEATURES` (cosine, word overlap both
ways, length ratio), then for the reference model :data:`REFERENCE_FEATURES`. Both models are
logistic regressions whose weights ship in the package (``flywheel_middleware/data/``), made by
``benchmarks/train_rephrase.py`` from public data (CLINC150: trained on some domains, thresholds
chosen for precision 0.95 on others, reported on a third set; see benchmarks/README.md).
Inference is a dot product in numpy (plus one ``(n, 384)`` matrix product with the reference).
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["PAIR_FEATURES", "REFERENCE_FEATURES", "PairModel", "ReferenceSample", "Weights", "content_tokens",
           "load_pair_model", "pair_features"]

MODEL_FILE = "rephrase_pair_model.json"
FORMAT = "flywheel-rephrase-pair-model"

PAIR_FEATURES: tuple[str, ...] = ("cosine", "overlap", "prev_in_next", "next_in_prev", "length_ratio")
REFERENCE_FEATURES: tuple[str, ...] = ("csls", "log_rank_next", "log_rank_prev")
"""``log_rank_next``: log of the share of reference turns closer to the earlier message than the new
one is (small: the new message is among the earlier one's nearest neighbours); ``log_rank_prev``
the same seen from the new message; ``csls``: ``2 cos - mean top-k cos(prev) - mean top-k cos(next)``."""

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOPWORDS = frozenset(
    """a an the and or but if so of to in on at by for with from into onto about as is are was were be
    been being am do does did doing have has had having i me my mine we us our you your yours he she it
    its they them their this that these those there here what which who whom whose when where why how
    can could would should will shall may might must not no yes please thanks thank hi hello hey just
    also too very really any some all each every more most other such own same than then now still
    get got let i'm i've i'd i'll it's that's what's don't doesn't didn't can't won't isn't aren't
    there's you're we're they're one again ok okay s t""".split()
)
_CSLS_K = 10


def _stem(word: str) -> str:
    """A crude suffix strip: enough to match 'fees'/'fee', 'cancelled'/'cancel'."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_tokens(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower().replace("\u2019", "'")) if w not in _STOPWORDS}


def _share(a: set[str], b: set[str]) -> float:
    """The share of ``a``'s tokens found in ``b`` (0 when ``a`` is empty)."""
    return len(a & b) / len(a) if a else 0.0


def _unit(x: Any) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32).ravel()
    n = float(np.linalg.norm(x))
    return x / n if n > 0 and abs(n - 1.0) > 1e-3 else x


class ReferenceSample:
    """A bounded uniform sample (reservoir) of the app's past turn embeddings, with their ids.

    Thread-safe; ``add`` is O(batch), ``features`` one matrix-vector product per message.
    """

    def __init__(self, size: int = 2000, dim: int = 384, seed: int = 0) -> None:
        self.size = int(size)
        self._vectors = np.zeros((self.size, dim), dtype=np.float32)
        self._ids: list[str] = []
        self._where: dict[str, int] = {}
        self._seen = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> list[str]:
        with self._lock:
            return list(self._ids)

    def seed(self, ids: Sequence[str], vectors: Sequence[Any], population: int) -> None:
        """Start from a uniform sample of a store holding ``population`` turns, so later turns
        enter at the rate a reservoir over the whole history would take them."""
        self.add(ids, vectors)
        with self._lock:
            self._seen = max(self._seen, int(population))

    def add(self, ids: Iterable[str], vectors: Iterable[Any]) -> None:
        with self._lock:
            for iid, vec in zip(ids, vectors):
                iid = str(iid)
                v = _unit(vec)
                if iid in self._where or v.shape[0] != self._vectors.shape[1] or not np.isfinite(v).all() or not v.any():
                    continue
                self._seen += 1
                if len(self._ids) < self.size:
                    j = len(self._ids)
                    self._ids.append(iid)
                else:
                    j = self._rng.randrange(self._seen)
                    if j >= self.size:
                        continue
                    del self._where[self._ids[j]]
                    self._ids[j] = iid
                self._vectors[j] = v
                self._where[iid] = j

    def remove(self, ids: Iterable[str]) -> None:
        """Forget turns (erasure): their rows are dropped from the sample."""
        gone = set(map(str, ids))
        with self._lock:
            keep = [i for i, iid in enumerate(self._ids) if iid not in gone]
            if len(keep) == len(self._ids):
                return
            self._vectors[: len(keep)] = self._vectors[keep]
            self._ids = [self._ids[i] for i in keep]
            self._where = {iid: j for j, iid in enumerate(self._ids)}

    def features(self, u: np.ndarray, v: np.ndarray, cosine: float, exclude: Sequence[str] = ()) -> np.ndarray | None:
        """:data:`REFERENCE_FEATURES` for a pair, or None with fewer than ``_CSLS_K`` usable rows."""
        with self._lock:
            n = len(self._ids)
            if n < _CSLS_K:
                return None
            mask = None
            rows = [self._where[i] for i in map(str, exclude) if i in self._where]
            if rows:
                mask = np.zeros((1, n), dtype=bool)
                mask[0, rows] = True
            out = reference_features(u[None, :], v[None, :], np.array([cosine]), self._vectors[:n], mask)
        return None if out is None else out[0]


def reference_features(u: np.ndarray, v: np.ndarray, cosine: np.ndarray, ref: np.ndarray,
                       exclude: np.ndarray | None = None) -> np.ndarray | None:
    """:data:`REFERENCE_FEATURES` of pairs ``(u[i], v[i])`` (rows, unit vectors) against ``ref``.

    ``exclude[i, j]``: reference row ``j`` is pair ``i``'s own turn and does not count. None when a
    pair would have fewer than ``_CSLS_K`` reference rows.
    """
    m = len(ref)
    if len(u) == 1:  # one pair (the worker): einsum runs on this thread, where BLAS would spawn threads
        su = np.einsum("ij,j->i", ref, u[0])[None, :]
        sv = np.einsum("ij,j->i", ref, v[0])[None, :]
    else:
        su = u @ ref.T
        sv = v @ ref.T
    counts = np.full(len(u), m, dtype=np.float64)
    if exclude is not None:
        su[exclude] = -np.inf
        sv[exclude] = -np.inf
        counts = m - exclude.sum(axis=1)
    if m < _CSLS_K or counts.min() < _CSLS_K:
        return None
    k = _CSLS_K
    ru = np.partition(su, m - k, axis=1)[:, m - k:].mean(axis=1)
    rv = np.partition(sv, m - k, axis=1)[:, m - k:].mean(axis=1)
    rank_next = (su > cosine[:, None]).sum(axis=1) / counts
    rank_prev = (sv > cosine[:, None]).sum(axis=1) / counts
    return np.column_stack([2.0 * cosine - ru - rv, np.log(rank_next + 1.0 / counts),
                            np.log(rank_prev + 1.0 / counts)]).astype(np.float32)


def pair_features(prev_text: str, next_text: str, u: Any, v: Any) -> np.ndarray:
    """:data:`PAIR_FEATURES` for one (earlier message, new message) pair."""
    u, v = _unit(u), _unit(v)
    a, b = content_tokens(prev_text), content_tokens(next_text)
    union = a | b
    la, lb = len(_WORD.findall(prev_text.lower())), len(_WORD.findall(next_text.lower()))
    return np.array([
        float(u @ v),
        len(a & b) / len(union) if union else 1.0,
        _share(a, b),
        _share(b, a),
        min(la, lb) / max(la, lb) if max(la, lb) else 1.0,
    ], dtype=np.float32)


@dataclass(frozen=True)
class Weights:
    """One logistic model: ``sigmoid(x @ weights + bias)`` and the threshold chosen for it."""

    weights: np.ndarray
    bias: float
    threshold: float

    def probability(self, x: np.ndarray) -> float:
        z = float(np.asarray(x, dtype=np.float64) @ self.weights) + self.bias
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = np.asarray(x, dtype=np.float64) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def to_dict(self) -> dict[str, Any]:
        return {"weights": [round(float(w), 6) for w in self.weights], "bias": round(float(self.bias), 6),
                "threshold": round(float(self.threshold), 4)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], n: int) -> Weights:
        w = np.asarray(data["weights"], dtype=np.float64)
        if w.shape != (n,):
            raise ValueError(f"expected {n} weights, got {w.shape}")
        return cls(w, float(data["bias"]), float(data["threshold"]))


@dataclass(frozen=True)
class PairModel:
    """The pair model: weights without a reference (``alone``) and with one (``with_reference``)."""

    alone: Weights
    with_reference: Weights
    min_reference: int = 200
    info: dict[str, Any] = field(default_factory=dict)

    def score(self, pair: np.ndarray, reference: np.ndarray | None) -> tuple[float, float, bool]:
        """``(probability, threshold, used_reference)`` for a pair's features."""
        if reference is not None:
            w = self.with_reference
            return w.probability(np.concatenate([pair, reference])), w.threshold, True
        return self.alone.probability(pair), self.alone.threshold, False

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": 1, "features": list(PAIR_FEATURES),
                "reference_features": list(REFERENCE_FEATURES), "min_reference": self.min_reference,
                "alone": self.alone.to_dict(), "with_reference": self.with_reference.to_dict(), "info": self.info}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PairModel:
        if data.get("format") != FORMAT or data.get("version") != 1:
            raise ValueError(f"not a version-1 {FORMAT} file")
        if list(data["features"]) != list(PAIR_FEATURES) or list(data["reference_features"]) != list(REFERENCE_FEATURES):
            raise ValueError(f"the model was trained on other features ({data['features']}, {data['reference_features']})")
        n = len(PAIR_FEATURES)
        return cls(Weights.from_dict(data["alone"], n), Weights.from_dict(data["with_reference"], n + len(REFERENCE_FEATURES)),
                   int(data.get("min_reference", 200)), dict(data.get("info") or {}))


@lru_cache(maxsize=1)
def load_pair_model() -> PairModel:
    """The pair model shipped with the package (read once)."""
    text = resources.files("flywheel_middleware").joinpath("data", MODEL_FILE).read_text(encoding="utf-8")
    return PairModel.from_dict(json.loads(text))
