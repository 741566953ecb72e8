"""Versioned SFT / DPO / KTO datasets from the store, in the formats TRL and OpenAI fine-tuning read.

``export(fw, kind, out_dir, **filters)`` (or ``fw.export(...)``) writes into ``out_dir``:

* ``train.jsonl`` / ``eval.jsonl`` — TRL conversational rows plus ``metadata``:
  sft ``{"messages": [...]}``, dpo ``{"prompt": [...], "chosen": [...], "rejected": [...]}``,
  kto ``{"prompt": [...], "completion": [...], "label": bool}``;
* ``train.openai.jsonl`` / ``eval.openai.jsonl`` (sft) — OpenAI chat fine-tuning lines;
* ``manifest.json`` — version (a content hash of the rows), kind, filters, counts, interaction
  ids, hashed user ids, store state, redaction re-check counts (README "Export");

and records the export in the registry (``exports_containing_user`` answers erasure requests).

Where rows come from:

* **sft**: interactions labelled *good* (reward label, optionally ``min_confidence``), and
  interactions with a correction, whose corrected answer replaces the output. The trajectory's
  tool calls become assistant ``tool_calls`` turns followed by ``tool`` results.
* **dpo**: corrections (chosen = edited, rejected = the agent's answer); pairwise preferences;
  regenerations (a turn with a ``regenerate`` signal is rejected, the next turn of the same
  session with a near-identical input and a *good* label is chosen); and near-identical prompts
  (input cosine >= ``pair_threshold``) answered well (chosen) and badly (rejected).
* **kto**: good answers (label true), bad answers (false) and corrected answers (true).
* **rephrase** (sft, kto, dpo; ``rephrases=True``): a turn the user rephrased (the worker's
  implicit ``rephrase`` signal) takes the answer that resolved it: the rephrased turn's good
  answer or its correction, following rephrases of rephrases up to ``rephrase_hops`` turns. It is
  an SFT target and a KTO desirable answer for the *first* wording, and the chosen side of a DPO
  pair against the answer the user rephrased away from. A turn with its own correction keeps it.

The pipeline streams: a first pass over a few columns picks the rows, deduplicates and splits
them (numpy arrays, no interaction held), a second pass reads the stored interactions in key order
and turns them into lines in worker processes (parse, build, redaction re-check, JSON), and the
main process writes them. Memory stays flat in the number of interactions.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
import tempfile
import time
from array import array
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Protocol, Sequence

import numpy as np

from . import _export_registry as registry
from ._export_rows import RedactionStats, materialize
from .curation import assign_splits, category_from_hint, find_duplicates, label_agreement, split_hash
from .errors import ExportError  # re-exported: ExportError's home before errors.py
from .store.base import HasStore, SimilarityIndex, TrajectoryStore, TurnQuery, store_of

if TYPE_CHECKING:
    from .privacy.records import Redacting

__all__ = [
    "KINDS",
    "ExportError",
    "ExportSource",
    "ExportInfo",
    "ExportOptions",
    "ExportResult",
    "export",
    "exports_containing_interaction",
    "exports_containing_user",
    "hash_user_id",
    "list_exports",
]

_log = logging.getLogger("flywheel_middleware.export")
KINDS = ("sft", "dpo", "kto")
FORMAT = "flywheel-export/1"
ExportInfo = registry.ExportInfo
Progress = Callable[[str, int, int], None]


@dataclass
class ExportOptions:
    """Filters and options of an export (every field is also a keyword of ``export``)."""

    # filters
    min_confidence: float | None = None  # label-derived rows need reward confidence >= this
    # categories whose turns are never a *good* target (a router's fallback route: its reply was no valid
    # route, so a thumbs-up on it is no label); their corrections, pairs and bad labels still qualify
    no_good_categories: str | Sequence[str] | None = None
    min_reward: float | None = None  # good rows need reward >= this, bad rows <= -this
    since: float | None = None  # started_at >= since (unix time)
    until: float | None = None  # started_at < until
    category: str | Sequence[str] | None = None  # the curation category (metadata.category, else route)
    users: Sequence[str] | None = None  # only these users
    exclude_users: Sequence[str] = ()  # never these users (opt-outs the store still holds, test accounts)
    model_version: str | Sequence[str] | None = None
    sources: Sequence[str] | None = None  # row sources to use, e.g. ("correction",); default: all of the kind
    limit: int | None = None  # at most this many interactions (oldest first)
    # curation
    dedup: str = "near"  # "near" (exact + near), "exact", or "none"
    near_threshold: float = 0.95
    output_threshold: float = 0.8
    near_max: int = 50_000  # near-dup search is exact and O(n^2): skipped above this many candidates (manifest says so)
    near_pairs_max: int = 50_000  # dpo: good-vs-bad pairs from near-identical prompts need a search per bad answer
    pair_threshold: float = 0.92  # dpo: input cosine for near-identical prompts / regenerations
    # a rephrased turn takes the answer that resolved the rephrase (source "rephrase"; module docstring)
    rephrases: bool = True
    rephrase_hops: int = 3
    # label agreement (curation.label_agreement): a label that other users' labels on near-identical
    # inputs contradict is not exported (careless thumbs-ups, corrections towards a wrong answer)
    agreement: bool = True
    min_agreement: float = 0.5
    agreement_similarity: float = 0.6
    agreement_k: int = 10
    # answers of at most this many words are mutually exclusive labels (routing, classification: two
    # different labels approved for near-identical inputs contradict each other); None: free text, only
    # claims about the same answer are compared (two different short answers may both be right)
    short_words: int | None = None
    agreement_max: int = 50_000  # exact O(n^2) search: skipped above this many labelled candidates
    eval_fraction: float = 0.1
    seed: int = 0
    min_rows: int | None = None  # fewer qualifying interactions is an error (default: 2 with an eval split, else 1)
    # output
    include_system: bool = True
    openai: bool = True  # sft: also write the OpenAI fine-tuning variant
    redact: bool = True  # the redaction re-check (the last line of defence); False: none
    redact_all: bool = False  # re-check every row, even those stored under the current redaction fingerprint
    redact_audit_fraction: float = 0.02  # of the rows stored under the current fingerprint, this share is re-checked anyway
    workers: int | None = None  # processes for building rows; None: 0 for small exports, else up to the cores
    batch_size: int = 256  # interactions per worker task
    inline_ids_max: int = 100_000  # more interaction ids than this go to interaction_ids.txt

    FILTERS = ("min_confidence", "no_good_categories", "min_reward", "since", "until", "category", "users", "exclude_users",
               "model_version", "sources", "limit")

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> ExportOptions:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise ExportError(f"unknown export option(s) {unknown}; known: {sorted(names)}")
        opts = cls(**dict(kwargs))
        if opts.dedup not in ("near", "exact", "none"):
            raise ExportError(f"dedup must be 'near', 'exact' or 'none', got {opts.dedup!r}")
        if not 0.0 <= opts.eval_fraction < 1.0:
            raise ExportError(f"eval_fraction must be in [0, 1), got {opts.eval_fraction!r}")
        if not 0.0 <= opts.min_agreement <= 1.0 or not -1.0 <= opts.agreement_similarity <= 1.0 or opts.agreement_k < 1:
            raise ExportError("label agreement needs min_agreement in [0, 1], agreement_similarity in [-1, 1] and "
                              f"agreement_k >= 1, got {opts.min_agreement!r}, {opts.agreement_similarity!r}, "
                              f"{opts.agreement_k!r}")
        if opts.short_words is not None and (isinstance(opts.short_words, bool) or not isinstance(opts.short_words, int)
                                             or opts.short_words < 1):
            raise ExportError(f"short_words must be None (free-text answers) or a word count >= 1, got {opts.short_words!r}")
        if isinstance(opts.rephrase_hops, bool) or not isinstance(opts.rephrase_hops, int) or opts.rephrase_hops < 1:
            raise ExportError(f"rephrase_hops must be a turn count >= 1, got {opts.rephrase_hops!r}")
        return opts

    def filters(self) -> dict[str, Any]:
        out = {}
        for name in self.FILTERS:
            value = getattr(self, name)
            if value is None or value == ():
                continue
            if name in ("users", "exclude_users"):
                value = f"{len(list(value))} user(s), hashed in the registry"  # never user ids in clear
            elif isinstance(value, (list, tuple, set, frozenset)):
                value = sorted(str(v) for v in value)
            out[name] = value
        return out

    def settings(self) -> dict[str, Any]:
        return {"dedup": self.dedup, "near_threshold": self.near_threshold, "output_threshold": self.output_threshold,
                "pair_threshold": self.pair_threshold, "eval_fraction": self.eval_fraction, "seed": self.seed,
                "agreement": self.agreement, "min_agreement": self.min_agreement,
                "agreement_similarity": self.agreement_similarity, "agreement_k": self.agreement_k,
                "short_words": self.short_words, "rephrases": self.rephrases, "rephrase_hops": self.rephrase_hops,
                "include_system": self.include_system, "redaction_recheck": self.redact}


@dataclass
class ExportResult:
    path: Path
    version: str
    kind: str
    rows: int
    train: int
    eval: int
    manifest: dict[str, Any] = field(default_factory=dict)  # without the interaction id list
    seconds: float = 0.0

    @property
    def files(self) -> dict[str, Path]:
        return {name: self.path / meta["name"] for name, meta in self.manifest.get("files", {}).items()}


def _h(text: Any) -> int:
    """In-process hash of normalised text (lowercase, collapsed whitespace) for grouping and dedup.

    Python's string hash: fast, and only ever compared within one export run."""
    return hash(" ".join(text.lower().split())) if isinstance(text, str) else hash("")


SOURCES = {"sft": ("good", "correction", "rephrase"), "kto": ("good", "bad", "correction", "rephrase"),
           "dpo": ("correction", "rephrase", "preference", "regenerate", "near")}
_GOOD, _BAD = 1, -1


class ExportSource(Protocol):
    """What an export reads: the store, its vector index (near-identical-prompt pairs), and the
    redaction re-check's redactor (``redaction_settings`` rebuild it in worker processes).
    A ``Flywheel`` is one."""

    @property
    def store(self) -> TrajectoryStore: ...

    @property
    def index(self) -> SimilarityIndex: ...

    @property
    def redaction_settings(self) -> Mapping[str, Any]: ...

    def make_redactor(self) -> Redacting: ...


# -- pass 0: the explicit feedback that makes rows --------------------------------------------------
@dataclass
class _Feedback:
    corrections: dict[int, str] = field(default_factory=dict)  # key -> edited answer (latest), or a rephrase's resolution
    rephrased: set[int] = field(default_factory=set)  # keys whose entry in corrections came from a rephrase
    preferences: dict[int, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    regenerated: set[int] = field(default_factory=set)
    regen_sessions: set[str] = field(default_factory=set)


def _load_feedback(store: TrajectoryStore, kinds: Sequence[str]) -> _Feedback:
    fb = _Feedback()
    for key, session, kind, value in store.feedback_rows(kinds):
        if kind == "correction" and isinstance(value, dict) and isinstance(value.get("edited"), str) and value["edited"].strip():
            fb.corrections[key] = value["edited"]
        elif kind == "preference" and isinstance(value, dict):
            pair = (str(value.get("chosen") or ""), str(value.get("rejected") or ""))
            if pair[0].strip() and pair[1].strip() and pair not in fb.preferences[key]:
                fb.preferences[key].append(pair)
        elif kind == "regenerate":
            fb.regenerated.add(key)
            if session:
                fb.regen_sessions.add(session)
    return fb


def _category_set(value: str | Sequence[str] | None) -> set[str]:
    if value is None:
        return set()
    return {value} if isinstance(value, str) else {str(c) for c in value}


def _add_rephrase_resolutions(store: TrajectoryStore, fb: _Feedback, opts: ExportOptions) -> None:
    """Give each rephrased turn without a correction of its own the answer that resolved the rephrase."""
    keys = store.keys_with_signals(["rephrase"]).get("rephrase")
    if keys is None or not len(keys):
        return
    ids = store.ids_for_keys([int(k) for k in keys])
    trigger: dict[str, str] = {}  # interaction id -> the turn that rephrased it (the latest detection)
    for iid, signals in store.signals_for(list(ids.values())).items():
        for sig in sorted((s for s in signals if s.kind == "rephrase"), key=lambda s: s.at):
            nxt = (sig.evidence or {}).get("trigger_interaction_id")
            if isinstance(nxt, str) and nxt and nxt != iid:
                trigger[iid] = nxt
    cache: dict[str, tuple[int | None, str | None]] = {}  # id -> (key, resolved answer or None)
    no_good = _category_set(opts.no_good_categories)

    def resolve(iid: str, hops: int) -> str | None:
        nxt = trigger.get(iid)
        for _ in range(max(1, hops)):
            if nxt is None:
                return None
            if nxt not in cache:
                key = store.key_of(nxt)
                answer = fb.corrections.get(key) if key is not None and key not in fb.rephrased else None
                if answer is None and key is not None:
                    reward = store.rewards_for([nxt]).get(nxt)
                    good = reward is not None and reward.label == "good" and (
                        opts.min_confidence is None or reward.confidence >= opts.min_confidence)
                    if good:
                        rows = store.turns(TurnQuery(keys=[int(key)]))
                        if rows and category_from_hint(rows[0].category_hint) not in no_good:
                            answer = rows[0].output_text or None
                cache[nxt] = (key, answer)
            answer = cache[nxt][1]
            if answer is not None:
                return answer
            nxt = trigger.get(nxt)
        return None

    for key, iid in ids.items():
        if int(key) in fb.corrections:
            continue
        answer = resolve(iid, opts.rephrase_hops)
        if answer is not None and answer.strip():
            fb.corrections[int(key)] = answer
            fb.rephrased.add(int(key))


# -- pass 1: candidates as columns ------------------------------------------------------------------------
class _Candidates:
    """Columns of the interactions that can make rows, in key order (numpy after ``finish``)."""

    def __init__(self) -> None:
        self.key = array("q")
        self.started = array("d")
        self.reward = array("d")
        self.conf = array("d")
        self.label = array("b")
        self.eligible = array("b")  # the label passes min_confidence / min_reward
        self.cat = array("i")
        self.user = array("i")
        self.in_hash = array("q")
        self.out_hash = array("q")  # of the corrected answer when there is one
        self.own_out_hash = array("q")
        self.own_short = array("b")  # the agent's answer is label-like (<= short_words words)
        self.out_short = array("b")  # the same for the corrected answer when there is one
        self.split = array("Q")
        self.cat_names: dict[str, int] = {}
        self.user_ids: dict[str, int] = {}
        self.sessions: dict[str, list[tuple[float, int]]] = defaultdict(list)  # regenerate sessions only

    def finish(self) -> None:
        for name in ("key", "started", "reward", "conf", "label", "eligible", "cat", "user", "in_hash", "out_hash",
                     "own_out_hash", "own_short", "out_short", "split"):
            setattr(self, name, np.frombuffer(getattr(self, name), dtype=getattr(self, name).typecode).copy()
                    if len(getattr(self, name)) else np.zeros(0, dtype=getattr(self, name).typecode))
        self.categories = sorted(self.cat_names, key=self.cat_names.get)  # type: ignore[arg-type]
        self.users = sorted(self.user_ids, key=self.user_ids.get)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.key)


def _scan(store: TrajectoryStore, kind: str, opts: ExportOptions, fb: _Feedback, progress: Progress | None) -> _Candidates:
    versions = None
    if opts.model_version is not None:
        versions = [opts.model_version] if isinstance(opts.model_version, str) else list(opts.model_version)
    signal_kinds = {"sft": ("correction",), "kto": ("correction",), "dpo": ("correction", "preference", "regenerate")}[kind]
    if fb.rephrased:
        signal_kinds = (*signal_kinds, "rephrase")
    query = TurnQuery(since=None if opts.since is None else float(opts.since), until=None if opts.until is None else float(opts.until),
                      users=None if opts.users is None else list(opts.users), exclude_users=list(opts.exclude_users or ()),
                      model_versions=versions, labels=("good", "bad"), or_signal_kinds=signal_kinds)
    wanted = None
    if opts.category is not None:
        wanted = {opts.category} if isinstance(opts.category, str) else {str(c) for c in opts.category}
    no_good = _category_set(opts.no_good_categories)
    c = _Candidates()
    category_cache: dict[Any, str] = {}
    total = store.counts().interactions
    last, seen, page = 0, 0, 20_000
    while True:
        query.after_key, query.limit = last, page
        rows = store.turns(query)
        if not rows:
            break
        last = rows[-1].key
        for row in rows:
            key, iid, user, session, started = row.key, row.id, row.user_id, row.session_id, row.started_at
            label, reward, conf, cat_raw = row.label, row.reward, row.confidence, row.category_hint
            if opts.limit is not None and len(c.key) >= opts.limit:
                break
            cat = category_cache.get(cat_raw)
            if cat is None:
                cat = category_cache[cat_raw] = category_from_hint(cat_raw)
            if wanted is not None and cat not in wanted:
                continue
            code = _GOOD if label == "good" else _BAD if label == "bad" else 0
            ok = code != 0
            if ok and opts.min_confidence is not None and conf < opts.min_confidence:
                ok = False
            if ok and code == _GOOD and cat in no_good:
                ok = False
            if ok and opts.min_reward is not None and (reward < opts.min_reward if code == _GOOD else reward > -opts.min_reward):
                ok = False
            edited = fb.corrections.get(key)
            if not ok and edited is None and key not in fb.preferences and key not in fb.regenerated:
                continue
            c.key.append(key)
            c.started.append(float(started or 0.0))
            c.reward.append(float(reward))
            c.conf.append(float(conf))
            c.label.append(code)
            c.eligible.append(1 if ok else 0)
            c.cat.append(c.cat_names.setdefault(cat, len(c.cat_names)))
            c.user.append(-1 if user is None else c.user_ids.setdefault(user, len(c.user_ids)))
            c.in_hash.append(_h(row.input_text or ""))
            own = _h(row.output_text or "")
            c.own_out_hash.append(own)
            c.out_hash.append(_h(edited) if edited is not None else own)
            own_short = _label_like(row.output_text or "", opts.short_words)
            c.own_short.append(int(own_short))
            c.out_short.append(int(_label_like(edited, opts.short_words)) if edited is not None else int(own_short))
            c.split.append(split_hash(iid, opts.seed))
            if session and session in fb.regen_sessions:
                c.sessions[session].append((float(started or 0.0), len(c.key) - 1))
        seen += len(rows)
        if progress:
            progress("scan", seen, total)
        if opts.limit is not None and len(c.key) >= opts.limit:
            break
    c.finish()
    return c


def _output_texts(store: TrajectoryStore, keys: Sequence[int]) -> dict[int, tuple[str, str, str | None]]:
    """key -> (id, output_text, user_id) for a few keys."""
    if not len(keys):
        return {}
    return {r.key: (r.id, r.output_text or "", r.user_id) for r in store.turns(TurnQuery(keys=[int(k) for k in keys]))}


# -- row plans --------------------------------------------------------------------------------------------
@dataclass
class _Plan:
    """Which rows to make, per candidate position; dedup stats; DPO pairs."""

    emit: np.ndarray  # int8 bitmask per candidate: 1 own answer good, 2 correction, 4 own answer bad
    pairs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # dpo: position -> pair specs
    dedup: dict[str, Any] = field(default_factory=dict)
    secondary: dict[int, tuple[str, str, str | None]] = field(default_factory=dict)  # dpo: chosen interactions
    agreement: dict[str, Any] = field(default_factory=dict)


def _label_like(answer: str, short_words: int | None) -> bool:
    """A non-empty answer of at most ``short_words`` words (never, with ``short_words`` None)."""
    return short_words is not None and 0 < len(answer.split()) <= short_words


def _agreement(store: TrajectoryStore, c: _Candidates, corrected: np.ndarray, opts: ExportOptions
               ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(right_ok, wrong_ok, info) per candidate: does its "right" claim (the good answer, or the
    corrected one) and its "wrong" claim (a bad answer, or the one a user corrected) hold up
    against other users' claims on near-identical inputs (``curation.label_agreement``)?"""
    n = len(c)
    right_ok, wrong_ok = np.ones(n, dtype=bool), np.ones(n, dtype=bool)
    if not opts.agreement or n < 2:
        return right_ok, wrong_ok, {"agreement": "off"}
    good, bad = c.label == _GOOD, c.label == _BAD
    has_right, has_wrong = corrected | (good & ~corrected), corrected | (bad & ~corrected)
    pos_r, pos_w = np.flatnonzero(has_right), np.flatnonzero(has_wrong)
    n_claims = len(pos_r) + len(pos_w)
    if n_claims > opts.agreement_max:
        return right_ok, wrong_ok, {"agreement": f"skipped: {n_claims} label claims > agreement_max {opts.agreement_max}"}
    found, vecs = store.embeddings_for(c.key)
    vecs = np.where(found[:, None], vecs, 0.0).astype(np.float32)
    positions = np.concatenate([pos_r, pos_w])
    answer = np.concatenate([c.out_hash[pos_r], c.own_out_hash[pos_w]])
    polarity = np.concatenate([np.ones(len(pos_r), np.int8), -np.ones(len(pos_w), np.int8)])
    weight = np.where(corrected[positions], 1.0, c.conf[positions]).astype(np.float32)
    group = np.where(c.user[positions] >= 0, c.user[positions], -1 - positions).astype(np.int64)
    short = np.concatenate([c.out_short[pos_r], c.own_short[pos_w]]).astype(bool)
    score, informed = label_agreement(vecs[positions], answer, polarity, weight, group, short,
                                      similarity=opts.agreement_similarity, k=opts.agreement_k)
    ok = score >= opts.min_agreement
    right_ok[pos_r] = ok[: len(pos_r)]
    wrong_ok[pos_w] = ok[len(pos_r):]
    info = {"agreement": f"on: {n_claims} label claims, cosine >= {opts.agreement_similarity}, "
                         f"k {opts.agreement_k}, min_agreement {opts.min_agreement}",
            "right_claims_dropped": int((~ok[: len(pos_r)]).sum()), "wrong_claims_dropped": int((~ok[len(pos_r):]).sum()),
            "claims_with_neighbours": int((informed > 0).sum())}
    return right_ok, wrong_ok, info


def _dedup(store: TrajectoryStore, c: _Candidates, positions: np.ndarray, out_hash: np.ndarray, rank_reward: np.ndarray,
           opts: ExportOptions, texts: Callable[[list[int]], list[str]]) -> tuple[np.ndarray, dict[str, Any]]:
    """Keep-mask over ``positions`` after exact/near dedup."""
    if opts.dedup == "none" or not len(positions):
        return np.ones(len(positions), dtype=bool), {"exact_removed": 0, "near_removed": 0, "near": "off"}
    keep, _, _, _, info = find_duplicates(
        c.key[positions], c.in_hash[positions], out_hash, rank_reward, c.started[positions],
        exact=True, near=opts.dedup == "near", store=store,
        output_text=lambda local: texts([int(positions[p]) for p in local]),
        near_threshold=opts.near_threshold, output_threshold=opts.output_threshold, near_max=opts.near_max,
    )
    return keep, info


def _merge_info(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    if not a:
        return dict(b)
    return {"exact_removed": a["exact_removed"] + b["exact_removed"], "near_removed": a["near_removed"] + b["near_removed"],
            "near": a["near"] if a["near"] == b["near"] else f"{a['near']}; {b['near']}"}


def _plan(source: ExportSource, kind: str, c: _Candidates, fb: _Feedback, opts: ExportOptions) -> _Plan:
    n = len(c)
    sources = set(opts.sources or SOURCES[kind])
    unknown = sources - set(SOURCES[kind])
    if unknown:
        raise ExportError(f"unknown {kind} source(s) {sorted(unknown)}; {kind} rows come from {list(SOURCES[kind])}")
    corrected = np.fromiter((int(k) in fb.corrections for k in c.key), dtype=bool, count=n)
    by_rephrase = np.fromiter((int(k) in fb.rephrased for k in c.key), dtype=bool, count=n)
    usable = (corrected & ~by_rephrase & ("correction" in sources)) | (by_rephrase & ("rephrase" in sources))
    right_ok, wrong_ok, agreement_info = _agreement(source.store, c, corrected, opts)
    good = (c.label == _GOOD) & (c.eligible == 1) & right_ok
    bad = (c.label == _BAD) & (c.eligible == 1) & wrong_ok
    emit = np.zeros(n, dtype=np.int8)
    plan = _Plan(emit=emit, agreement=agreement_info)
    text_cache: dict[int, str] = {}
    store = source.store

    def texts(pos: list[int]) -> list[str]:
        missing = [int(c.key[p]) for p in pos if int(c.key[p]) not in text_cache]
        for key, (_, text, _) in _output_texts(store, missing).items():
            text_cache[key] = text
        return [fb.corrections.get(int(c.key[p]), text_cache.get(int(c.key[p]), "")) if corrected[p] and use_edit
                else text_cache.get(int(c.key[p]), "") for p in pos]

    use_edit = True
    if kind in ("sft", "kto"):
        positive = np.zeros(n, dtype=bool)
        positive |= usable & right_ok
        if "good" in sources:
            positive |= good & ~corrected
        pos = np.flatnonzero(positive)
        rank = np.where(corrected[pos], 1.0, c.reward[pos])  # a human-corrected answer is the best target
        keep, info = _dedup(store, c, pos, c.out_hash[pos], rank, opts, texts)
        kept = pos[keep]
        emit[kept] = np.where(corrected[kept], 2, 1).astype(np.int8)
        plan.dedup = info
        if kind == "kto" and "bad" in sources:
            use_edit = False
            neg = np.flatnonzero(bad)
            keep, info = _dedup(store, c, neg, c.own_out_hash[neg], -c.reward[neg], opts, texts)
            emit[neg[keep]] |= 4
            plan.dedup = _merge_info(plan.dedup, info)
        return plan
    # dpo
    pairs: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for p in np.flatnonzero(usable & ~by_rephrase & right_ok & wrong_ok):
        if c.out_hash[p] != c.own_out_hash[p]:
            pairs[int(p)].append({"source": "correction", "chosen": fb.corrections[int(c.key[p])], "rejected": None})
    if "preference" in sources:
        pos_of = {int(k): i for i, k in enumerate(c.key)} if fb.preferences else {}
        for key, prefs in fb.preferences.items():
            p = pos_of.get(int(key))
            if p is not None:
                for chosen, rejected in prefs:
                    pairs[p].append({"source": "preference", "chosen": chosen, "rejected": rejected})
    linked: set[int] = set()
    secondary_pos: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    if "regenerate" in sources and fb.regenerated:
        regen_pos = [p for p in range(n) if int(c.key[p]) in fb.regenerated]
        session_vecs = {}
        involved = sorted({p for turns in c.sessions.values() for _, p in turns})
        if involved:
            found, vecs = store.embeddings_for(c.key[involved])
            session_vecs = {p: vecs[i] for i, p in enumerate(involved) if found[i]}
        by_pos_session = {p: s for s, turns in c.sessions.items() for _, p in turns}
        for r in regen_pos:
            session = by_pos_session.get(r)
            if session is None:
                continue
            for started, g in sorted(c.sessions[session]):
                if started <= c.started[r] or g == r:
                    continue
                if c.in_hash[g] == c.in_hash[r]:
                    sim = 1.0
                elif r in session_vecs and g in session_vecs:
                    sim = float(session_vecs[r] @ session_vecs[g])
                else:
                    continue
                if sim < opts.pair_threshold:
                    continue
                if good[g]:
                    if c.own_out_hash[g] != c.own_out_hash[r]:
                        spec = {"source": "regenerate", "chosen": None, "rejected": None, "similarity": round(sim, 4)}
                        pairs[r].append(spec)
                        secondary_pos[g].append((r, spec))
                        linked.add(r)
                    break
                if int(c.key[g]) not in fb.regenerated:
                    break  # a near-identical retry that was neither regenerated nor good: the chain ends
    if "near" in sources:
        bad_pos = np.flatnonzero(bad & ~np.isin(np.arange(n), list(linked)))
        good_pos = np.flatnonzero(good)
        if len(bad_pos) > opts.near_pairs_max:
            # one filtered nearest-good search per bad answer: bounded like near dedup, and said so
            plan.dedup["near_pairs"] = f"skipped: {len(bad_pos)} bad answers > near_pairs_max {opts.near_pairs_max}"
            bad_pos = bad_pos[:0]
        if len(bad_pos) and len(good_pos):
            found, vecs = store.embeddings_for(c.key[bad_pos])
            mask = np.zeros(int(c.key.max()) + 1, dtype=bool)
            mask[c.key[good_pos]] = True
            qpos = bad_pos[found]
            if len(qpos):
                scores, keys = source.index.search(vecs[found], 1, allowed=mask)
                key_to_pos = {int(c.key[g]): int(g) for g in good_pos}
                for b, s, k in zip(qpos, scores[:, 0] if scores.shape[1] else [], keys[:, 0] if keys.shape[1] else []):
                    g = key_to_pos.get(int(k))
                    if g is None or s < opts.pair_threshold or c.own_out_hash[g] == c.own_out_hash[b]:
                        continue
                    spec = {"source": "near", "chosen": None, "rejected": None, "similarity": round(float(s), 4)}
                    pairs[int(b)].append(spec)
                    secondary_pos[g].append((int(b), spec))
    # a rephrase's resolution last: the same pair from a regeneration or a near-identical prompt keeps that source
    for p in np.flatnonzero(usable & by_rephrase & right_ok & wrong_ok):
        if c.out_hash[p] != c.own_out_hash[p]:
            pairs[int(p)].append({"source": "rephrase", "chosen": fb.corrections[int(c.key[p])], "rejected": None})
    if secondary_pos:
        info = _output_texts(store, [int(c.key[g]) for g in secondary_pos])
        for g, links in secondary_pos.items():
            iid, text, user = info[int(c.key[g])]
            plan.secondary[g] = (iid, text, user)
            for _, spec in links:
                spec["chosen"] = text
                spec["chosen_pos"] = g
    # exact dedup of pairs: same prompt, same chosen, same rejected (kept: the first, in key order)
    seen: set[tuple[int, int, int]] = set()
    removed = 0
    for p in sorted(pairs):
        kept = []
        for spec in pairs[p]:
            rej = c.own_out_hash[p] if spec["rejected"] is None else _h(spec["rejected"])
            ident = (int(c.in_hash[p]), _h(spec["chosen"]), int(rej))
            if opts.dedup != "none" and ident in seen:
                removed += 1
                continue
            seen.add(ident)
            if ident[1] == ident[2]:
                continue  # the same answer on both sides teaches nothing
            kept.append(spec)
        if kept:
            pairs[p] = kept
            emit[p] = 8
        else:
            del pairs[p]
    plan.pairs = dict(pairs)
    plan.dedup = {"exact_removed": removed, "near_removed": 0, "near": "off (pairs are deduplicated exactly)"}
    return plan


# -- pass 2: stored interactions in key order -----------------------------------------------------------------
def _specs_for(kind: str, p: int, c: _Candidates, plan: _Plan, fb: _Feedback, is_eval: bool) -> list[dict[str, Any]]:
    base = {"category": c.categories[int(c.cat[p])], "reward": float(c.reward[p]), "confidence": float(c.conf[p]),
            "label": {_GOOD: "good", _BAD: "bad"}.get(int(c.label[p]), "unknown"), "split": "eval" if is_eval else "train"}
    flags = int(plan.emit[p])
    specs = []
    if kind in ("sft", "kto"):
        if flags & 2:
            source = "rephrase" if int(c.key[p]) in fb.rephrased else "correction"
            specs.append({**base, "source": source, "edited": fb.corrections[int(c.key[p])], "desirable": True,
                          "count_label": "desirable" if kind == "kto" else source})
        if flags & 1:
            specs.append({**base, "source": "good", "desirable": True, "count_label": "desirable" if kind == "kto" else "good"})
        if flags & 4:
            specs.append({**base, "source": "bad", "desirable": False, "count_label": "undesirable"})
        return specs
    for spec in plan.pairs.get(p, ()):
        g = spec.get("chosen_pos")
        specs.append({**base, "source": spec["source"], "chosen": spec["chosen"], "rejected": spec["rejected"],
                      "chosen_id": plan.secondary[g][0] if g is not None else None, "rejected_id": None,
                      "similarity": spec.get("similarity"), "count_label": spec["source"]})
    return specs


def _default_workers(rows: int) -> int:
    if rows < 20_000:
        return 0
    return max(1, min(4, os.cpu_count() or 1))


def export(fw: ExportSource, kind: str, out_dir: str | os.PathLike[str], *, progress: Progress | None = None, **kwargs: Any) -> ExportResult:
    """Write a versioned ``kind`` dataset (``sft``, ``dpo``, ``kto``) into ``out_dir``; see the module docstring.

    Keyword arguments are the fields of ``ExportOptions`` (filters such as ``min_confidence``,
    ``since``, ``category``, ``exclude_users``; curation settings such as ``dedup``,
    ``eval_fraction``, ``seed``). ``progress(stage, done, total)`` is called as it goes.
    Raises ``ExportError`` for an unknown kind or option, and ``SplitError`` (an ``ExportError``
    sibling) when too few rows qualify.
    """
    t0 = time.perf_counter()
    if kind not in KINDS:
        raise ExportError(f"unknown export kind {kind!r}; choose one of {list(KINDS)}")
    opts = ExportOptions.from_kwargs(kwargs)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder")
    store = fw.store
    fb = _load_feedback(store, {"sft": ("correction",), "kto": ("correction",),
                                "dpo": ("correction", "preference", "regenerate")}[kind])
    if opts.rephrases:
        _add_rephrase_resolutions(store, fb, opts)
    cands = _scan(store, kind, opts, fb, progress)
    plan = _plan(fw, kind, cands, fb, opts)
    primaries = np.flatnonzero(plan.emit != 0)
    if not len(primaries):
        raise ExportError(
            f"nothing to export: no interaction matches a {kind} row source ({', '.join(opts.sources or SOURCES[kind])}) "
            f"under the filters {opts.filters() or '{}'}"
        )
    split = assign_splits(None, [cands.categories[int(cands.cat[p])] for p in primaries],
                          eval_fraction=opts.eval_fraction, seed=opts.seed, min_rows=opts.min_rows,
                          hashes=cands.split[primaries])
    is_eval = np.zeros(len(cands), dtype=bool)
    is_eval[primaries] = split.is_eval
    n_rows_est = int(sum(bin(int(f)).count("1") for f in plan.emit[primaries][:1000]) / min(1000, len(primaries)) * len(primaries)) if kind != "dpo" else sum(len(v) for v in plan.pairs.values())
    workers = _default_workers(n_rows_est) if opts.workers is None else max(0, int(opts.workers))

    out.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    names = {"train": "train.jsonl", "eval": "eval.jsonl"}
    if kind == "sft" and opts.openai:
        names.update({"train_openai": "train.openai.jsonl", "eval_openai": "eval.openai.jsonl"})
    handles = {name: open(tmpdir / file, "w", encoding="utf-8") for name, file in names.items()}
    ids_file = open(tmpdir / "interaction_ids.txt", "w", encoding="utf-8")
    digests = {"train": bytearray(), "eval": bytearray()}
    file_hashes = {name: hashlib.sha256() for name in names}
    file_rows = Counter()
    per_category: Counter[str] = Counter()
    per_split_category: dict[str, Counter[str]] = {"train": Counter(), "eval": Counter()}
    per_source: Counter[str] = Counter()
    per_label: Counter[str] = Counter()
    red = RedactionStats()
    users_used: set[int] = set()
    dpo_ids: set[str] = set()
    members_path = tmpdir / "members.tsv"  # (user code, id) per interaction used, streamed to the registry
    members_out = open(members_path, "w", encoding="utf-8")
    n_interactions = 0

    def write(results: list[tuple[str, str, str | None, str, str, str]], stats: dict[str, Any]) -> None:
        red.add(stats)
        for split_name, line, oa, category, source, count_label in results:
            data = (line + "\n").encode("utf-8")
            handles[split_name].write(line + "\n")
            file_hashes[split_name].update(data)
            file_rows[split_name] += 1
            digests[split_name] += hashlib.blake2b(data, digest_size=16).digest()
            if oa is not None:
                name = f"{split_name}_openai"
                handles[name].write(oa + "\n")
                file_hashes[name].update((oa + "\n").encode("utf-8"))
                file_rows[name] += 1
            per_category[category] += 1
            per_split_category[split_name][category] += 1
            per_source[source] += 1
            per_label[count_label] += 1

    redactor = fw.make_redactor() if opts.redact and not workers else None  # workers build their own
    executor = None
    if workers:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from ._export_rows import init_worker

        executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker,
                                       initargs=(dict(fw.redaction_settings) if opts.redact else None, 1))
    pending: deque[Any] = deque()
    cache: dict[str, str] = {}
    location = store.location  # workers open their own read-only twin of the store

    def collect(result: tuple[list[Any], dict[str, Any], list[tuple[str, str | None]]]) -> None:
        nonlocal n_interactions
        lines, stats, members = result
        write(lines, stats)
        for iid, user in members:
            n_interactions += 1
            ucode = cands.user_ids.get(user, -1) if user is not None else -1
            if ucode >= 0:
                users_used.add(ucode)
            if kind == "dpo":
                dpo_ids.add(iid)
            else:
                ids_file.write(iid + "\n")
            members_out.write(f"{ucode}\t{iid}\n")

    local_redactor: list[Any] = [redactor]

    def inline(task: Any) -> None:
        if local_redactor[0] is None and opts.redact:
            local_redactor[0] = fw.make_redactor()
        collect(materialize(task, local_redactor[0], cache))

    def drain(limit: int) -> None:
        """Collect finished work in order; a broken pool (a worker killed) degrades to inline work."""
        nonlocal executor
        from concurrent.futures.process import BrokenProcessPool

        while len(pending) > limit:
            future, task = pending[0]
            try:
                result = future.result()
            except BrokenProcessPool:
                _log.warning("flywheel export: a worker process died; finishing in this process")
                executor.shutdown(wait=False, cancel_futures=True)
                executor = None
                for _, t in list(pending):
                    inline(t)
                pending.clear()
                return
            pending.popleft()
            collect(result)

    try:
        done = 0
        for start in range(0, len(primaries), opts.batch_size):
            part = primaries[start : start + opts.batch_size]
            items = []
            for p in part.tolist():
                specs = _specs_for(kind, p, cands, plan, fb, bool(is_eval[p]))
                if specs:
                    items.append((int(cands.key[p]), specs))
            task = (location, kind, opts.include_system, opts.openai, items, opts.redact_all, opts.redact_audit_fraction)
            if executor is None:
                inline(task)
            else:
                pending.append((executor.submit(materialize, task), task))
                drain(2 * workers)
            done += len(part)
            if progress:
                progress("write", done, len(primaries))
        drain(0)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        for h in handles.values():
            h.close()
        members_out.close()
    # secondary interactions (dpo: the chosen answers of regenerations / near-identical prompts)
    if kind == "dpo":
        for g, (iid, _, user) in plan.secondary.items():
            dpo_ids.add(iid)
            ucode = int(cands.user[g])
            if ucode >= 0:
                users_used.add(ucode)
            with open(members_path, "a", encoding="utf-8") as fh:
                fh.write(f"{ucode}\t{iid}\n")
        for iid in sorted(dpo_ids):
            ids_file.write(iid + "\n")
        n_interactions = len(dpo_ids)
    ids_file.close()

    version = _version(kind, digests)
    key = registry.user_key(store)
    user_hashes = {u: registry.hash_user(key, cands.users[u]) for u in sorted(users_used)}
    counts_store = store.counts()
    created = time.time()
    rows_total = file_rows["train"] + file_rows["eval"]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": version,
        "kind": kind,
        "created_at": _dt.datetime.fromtimestamp(created, _dt.timezone.utc).isoformat(timespec="seconds"),
        "created_at_unix": created,
        "library_version": _library_version(),
        "filters": opts.filters(),
        "options": opts.settings(),
        "counts": {
            "rows": rows_total,
            "train": file_rows["train"],
            "eval": file_rows["eval"],
            "interactions": n_interactions,
            "users": len(user_hashes),
            "per_category": dict(sorted(per_category.items())),
            "per_split": {s: dict(sorted(v.items())) for s, v in per_split_category.items()},
            "per_source": dict(sorted(per_source.items())),
            "per_label": dict(sorted(per_label.items())),
        },
        "dedup": plan.dedup,
        "agreement": plan.agreement,
        "split": {"eval_fraction": opts.eval_fraction, "seed": opts.seed, "strata": split.counts,
                  "rule": "stratified by category (singletons pooled into 'other'); per stratum the groups with the "
                          "smallest seeded blake2b hash of the interaction id go to eval"},
        "files": {name: {"name": file, "rows": file_rows[name], "sha256": file_hashes[name].hexdigest()}
                  for name, file in names.items()},
        "redaction": {"recheck": opts.redact, "mode": (fw.redaction_settings or {}).get("mode", "placeholder") if opts.redact else None,
                      "policy": ("every row" if opts.redact_all else
                                 f"rows not stamped with the current redaction fingerprint, plus a {opts.redact_audit_fraction:.0%} audit sample")
                      if opts.redact else "off",
                      **red.to_dict()},
        "store": {"location": store.location, "interactions": counts_store.interactions,
                  "last_ingest_at": counts_store.last_ingest_at, "deletion_generation": store.deletion_generation()},
        "user_id_hashing": "HMAC-SHA256 with a per-store secret key (meta.export_user_key), 'u_' + 32 hex",
        "user_ids": sorted(user_hashes.values()),
    }
    if kind == "kto":
        manifest["balance"] = _kto_balance(per_label)
    inline = n_interactions <= opts.inline_ids_max
    if not inline:
        manifest["interaction_ids_file"] = "interaction_ids.txt"
    _write_manifest(tmpdir / "manifest.json", manifest, tmpdir / "interaction_ids.txt" if inline else None)
    # publish: data files first, the manifest last (a folder with a manifest is complete)
    for file in list(names.values()) + ([] if inline else ["interaction_ids.txt"]):
        os.replace(tmpdir / file, out / file)
    if inline and (out / "interaction_ids.txt").exists():
        (out / "interaction_ids.txt").unlink()
    os.replace(tmpdir / "manifest.json", out / "manifest.json")
    info = registry.ExportInfo(version, kind, str(out.resolve()), created, rows_total, n_interactions, len(user_hashes))

    def members() -> Iterator[tuple[str | None, str]]:
        with open(members_path, encoding="utf-8") as fh:
            for line in fh:
                code, iid = line.rstrip("\n").split("\t", 1)
                yield (user_hashes.get(int(code)), iid)

    registry.register(store, info, members(), {k: manifest[k] for k in ("version", "kind", "counts", "filters", "created_at")})
    for leftover in tmpdir.iterdir():
        leftover.unlink()
    tmpdir.rmdir()
    summary = {k: v for k, v in manifest.items() if k != "interaction_ids"}
    return ExportResult(out, version, kind, rows_total, file_rows["train"], file_rows["eval"], summary, time.perf_counter() - t0)


def _version(kind: str, digests: Mapping[str, bytearray]) -> str:
    """Content hash of the rows: independent of row order, sensitive to content and split membership."""
    h = hashlib.sha256(f"{FORMAT}\n{kind}\n".encode())
    for split_name in ("train", "eval"):
        raw = np.frombuffer(bytes(digests[split_name]), dtype=np.uint8).reshape(-1, 16)
        if len(raw):
            order = np.lexsort(raw.T[::-1])
            raw = raw[order]
        h.update(f"{split_name}:{len(raw)}\n".encode())
        h.update(raw.tobytes())
    return h.hexdigest()[:16]


def _kto_balance(per_label: Mapping[str, int]) -> dict[str, Any]:
    """Counts of both classes and the loss weights TRL's KTO docs recommend for the imbalance.

    TRL suggests ``desirable_weight * n_desirable / (undesirable_weight * n_undesirable)`` within
    [1, 4/3]; we keep one weight at 1 and scale the other into that range.
    """
    d, u = int(per_label.get("desirable", 0)), int(per_label.get("undesirable", 0))
    out: dict[str, Any] = {"desirable": d, "undesirable": u, "desirable_share": round(d / (d + u), 4) if d + u else None,
                           "desirable_weight": 1.0, "undesirable_weight": 1.0}
    if d and u:
        ratio = d / u
        if ratio < 1.0:
            out["desirable_weight"] = round(1.0 / ratio, 4)
        elif ratio > 4 / 3:
            out["undesirable_weight"] = round(ratio / (4 / 3), 4)
    out["balanced"] = bool(d and u and 1.0 <= (out["desirable_weight"] * d) / (out["undesirable_weight"] * u) <= 4 / 3 + 1e-9)
    return out


def _write_manifest(path: Path, manifest: dict[str, Any], ids_file: Path | None) -> None:
    """``manifest.json`` with the interaction ids streamed in from ``ids_file`` (never all in memory)."""
    marker = "__FLYWHEEL_INTERACTION_IDS__"
    body = dict(manifest)
    if ids_file is not None:
        body["interaction_ids"] = marker
    text = json.dumps(body, indent=2, ensure_ascii=False, default=str)
    with open(path, "w", encoding="utf-8") as fh:
        if ids_file is None:
            fh.write(text + "\n")
            return
        head, tail = text.split(json.dumps(marker), 1)
        fh.write(head + "[")
        first = True
        with open(ids_file, encoding="utf-8") as ids:
            for line in ids:
                fh.write(("" if first else ",") + "\n    " + json.dumps(line.rstrip("\n")))
                first = False
        fh.write(("\n  " if not first else "") + "]" + tail + "\n")


def _library_version() -> str:
    try:
        from . import __version__

        return __version__
    except ImportError:  # pragma: no cover
        return "unknown"


def list_exports(source: TrajectoryStore | HasStore) -> list[ExportInfo]:
    """Every export written from this store (version, kind, path, created_at, counts), oldest first."""
    return registry.list_exports(source)


def exports_containing_user(source: TrajectoryStore | HasStore, user_id: str) -> list[ExportInfo]:
    """The exported dataset versions that contained data of ``user_id`` (for erasure requests)."""
    return registry.exports_containing_user(source, user_id)


def exports_containing_interaction(source: TrajectoryStore | HasStore, interaction_id: str) -> list[ExportInfo]:
    """The exported dataset versions that contained ``interaction_id``."""
    return registry.exports_containing_interaction(source, interaction_id)


def hash_user_id(source: TrajectoryStore | HasStore, user_id: str) -> str:
    """The hash a manifest lists for ``user_id`` (HMAC with the store's key)."""
    return registry.hash_user(registry.user_key(store_of(source)), user_id)
