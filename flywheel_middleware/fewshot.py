"""Dynamic few-shot retrieval: the best *good* past trajectories for a query.

``Flywheel.few_shot(query, k=3, ...)`` (or ``fw.few_shot_retriever.select(...)``) returns up to
``k`` :class:`FewShotExample`\\ s. How they are chosen, in order:

1. **Eligible set** (a boolean mask over store keys, see ``store/filters.py``): reward label
   ``good`` with ``reward >= min_reward`` and ``confidence >= min_confidence``; not from the
   current session (``session_id``, default ``fw.current_session()``); matching every metadata
   filter (``category``, ``language``, ``model_version``, ``route``, ``tool`` or any metadata key);
   minus ``exclude_ids``. With ``corrections`` (on by default) also the turns a user corrected
   (``fw.correct``; labelled ``bad`` at ``confidence >= min_confidence``), shown with the user's
   answer in place of the agent's (``FewShotExample.source == "correction"``): on a cold start
   they are the only right answers there are. A filter on what the agent did (``route``, ``tool``,
   ``model_version``, other metadata keys) leaves them out: the correction replaced that answer.
2. **Search** over the FAISS index restricted to that mask *inside* FAISS (``IDSelectorBitmap``),
   so filters apply before the top-k cut: ``fetch_k`` (default ``max(4k, 20)``) candidates.
3. **Similarity floor**: candidates below ``min_similarity`` (cosine) are dropped, so nothing
   irrelevant is injected; fewer than ``k`` (or none) is a valid answer.
4. **Ranking** by similarity, most similar first; a candidate whose cosine to a picked one is
   ``>= dedup_threshold`` (0.98) or whose input+output text equals a picked one's is a
   near-duplicate and skipped. Exact ties go to the most recent trajectory. ``mmr_lambda`` < 1
   turns on MMR (each pick maximises ``lambda * sim(query) - (1 - lambda) * max sim(picked)``).
   The defaults were chosen by measurement (``benchmarks/fewshot_quality.py --tune``, CLINC150
   tune domains, 20 % bad trajectories flagged only by thumbs down): every MMR setting cost label
   precision (lambda 0.9: -0.5 pt, 0.7: -2.3 pt at k = 4), so diversity is limited to skipping
   near-identical examples, which costs none.
5. **Token budget**: with ``max_tokens``, examples that would overflow it are skipped (the next
   best one that fits is tried). Tokens are ``count_tokens(text)`` (default ``ceil(chars / 4)``)
   over every message of the example plus 4 per message.

Defaults come from ``FlywheelConfig.few_shot`` (a dict with any of the keyword names below).

Recording what was injected: every selection that is *used* should end up in the turn's
``Interaction.few_shot_ids`` (and so on its root span as ``flywheel.few_shot_ids``). Three ways:

* LangChain: the adapters in ``flywheel_middleware.adapters.fewshot_langchain`` dispatch the
  ``"flywheel.few_shot"`` custom event (``{"ids": [...]}``) from inside the run, which the
  LangChain handler attaches to the current turn; they also put ``flywheel.few_shot_ids`` in the
  metadata of the child run they invoke.
* Anything else: ``select()`` notes the ids in a context variable; read them with
  :func:`injected_ids` when building the ``Interaction`` (``Interaction(..., few_shot_ids=injected_ids())``).
  Outside a scope that is the last selection made in the context; ``with injection_scope() as ids:``
  around a turn collects every selection in it, including those made in contexts copied from it
  (asyncio tasks, LangChain child runs, ``contextvars.copy_context().run``): the collector is a
  shared list, so children append to the same list.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence

import numpy as np

from .embedding import Embedder
from .records import Interaction, text_of
from .store.base import SimilarityIndex, StoredDocument, TrajectoryStore
from .store.filters import FilterCatalog, corrected_answer, normalise_filter

DEFAULTS: dict[str, Any] = {
    "k": 3,
    "min_similarity": 0.35,
    "min_reward": 0.3,
    "min_confidence": 0.5,
    "fetch_k": None,  # max(4 * k, 20)
    "mmr_lambda": 1.0,  # no MMR: on CLINC150 every step towards diversity cost label precision
    "dedup_threshold": 0.98,  # near-identical examples only: a slot for the same one twice is waste
    "max_tokens": None,
    "exclude_session": True,
    "corrections": True,  # corrected turns, with the user's answer, are examples too
}

FEW_SHOT_METADATA_KEY = "flywheel.few_shot_ids"
FEW_SHOT_EVENT = "flywheel.few_shot"

_CURRENT = object()  # sentinel: "the current session"
_injected: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("flywheel_few_shot_ids", default=None)


# -- recording injected ids --------------------------------------------------------------------
def injected_ids() -> list[str]:
    """Ids of the few-shot examples injected in the current context.

    Inside :func:`injection_scope`: every id injected in the scope, oldest first, no repeats.
    Outside one: the ids of the last selection made in this context (so nothing accumulates in
    a long-lived thread).
    """
    ids = _injected.get()
    return list(ids) if ids else []


def note_injected(ids: Sequence[str]) -> None:
    """Record ``ids`` as injected in the current context (what ``select()`` calls)."""
    current = _injected.get()
    if isinstance(current, _Collector):
        for iid in ids:
            if str(iid) not in current:
                current.append(str(iid))
    else:
        _injected.set(list(dict.fromkeys(str(i) for i in ids)))


class _Collector(list):  # type: ignore[type-arg]
    """The shared list of an injection scope (children that inherit the context append to it)."""


@contextlib.contextmanager
def injection_scope() -> Iterator[list[str]]:
    """Collect the ids injected inside the block (in this context and contexts copied from it)."""
    collector = _Collector()
    token = _injected.set(collector)
    try:
        yield collector
    finally:
        _injected.reset(token)


def clear_injected() -> None:
    _injected.set(None)


# -- examples -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FewShotExample:
    """One past trajectory to show the model."""

    interaction_id: str
    input: str
    output: str
    messages: list[dict[str, Any]]  # OpenAI-style: user, assistant(tool_calls), tool, assistant
    similarity: float
    reward: float
    confidence: float
    started_at: float
    tokens: int
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = "good"  # "good": the agent's answer was approved; "correction": the user's corrected answer

    @property
    def has_tool_calls(self) -> bool:
        return any(m.get("tool_calls") for m in self.messages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "interaction_id": self.interaction_id, "input": self.input, "output": self.output,
            "messages": self.messages, "similarity": self.similarity, "reward": self.reward,
            "confidence": self.confidence, "started_at": self.started_at, "tokens": self.tokens,
            "metadata": self.metadata, "source": self.source,
        }


def approx_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    text = text_of(value)
    if text:
        return text
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def example_messages(it: Interaction, *, tag: str = "") -> list[dict[str, Any]]:
    """The trajectory as chat messages: the user turn, each tool-calling assistant turn with its
    tool results, and the final answer. Tool-call ids are rewritten (``fs<tag>_<n>``) so examples
    never collide with each other or with the live conversation."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": it.input_text}]
    tool_steps = [s for s in it.steps if s.kind == "tool"]
    used: set[int] = set()
    n = 0

    def new_id() -> str:
        nonlocal n
        n += 1
        return f"fs{tag}_{n}"

    def result_for(call_id: Any, name: str) -> int | None:
        for i, step in enumerate(tool_steps):
            if i not in used and call_id and step.metadata.get("tool_call_id") == call_id:
                return i
        for i, step in enumerate(tool_steps):
            if i not in used and step.name == name:
                return i
        return None

    for decision in it.decisions:
        if decision.decider != "model" or not decision.chosen or not isinstance(decision.chosen, list):
            continue
        ids = list(decision.metadata.get("tool_call_ids") or [])
        args = list(decision.metadata.get("args") or [])
        calls, results = [], []
        for j, name in enumerate(decision.chosen):
            call_id = ids[j] if j < len(ids) else None
            idx = result_for(call_id, str(name))
            step = tool_steps[idx] if idx is not None else None
            arg = args[j] if j < len(args) and args[j] is not None else (step.inputs if step is not None else {})
            new = new_id()
            calls.append({"id": new, "name": str(name), "args": arg if isinstance(arg, dict) else {"input": arg}})
            if idx is not None:
                used.add(idx)
                results.append({"role": "tool", "tool_call_id": new, "name": str(name), "content": _content(step.outputs)})
            else:
                results.append({"role": "tool", "tool_call_id": new, "name": str(name), "content": ""})
        messages.append({"role": "assistant", "content": "", "tool_calls": calls})
        messages.extend(results)
    for i, step in enumerate(tool_steps):  # tool steps no recorded model decision accounts for
        if i in used:
            continue
        new = new_id()
        arg = step.inputs
        messages.append({"role": "assistant", "content": "",
                         "tool_calls": [{"id": new, "name": step.name, "args": arg if isinstance(arg, dict) else {"input": arg}}]})
        messages.append({"role": "tool", "tool_call_id": new, "name": step.name, "content": _content(step.outputs)})
    messages.append({"role": "assistant", "content": it.output_text})
    return messages


def count_message_tokens(messages: Sequence[Mapping[str, Any]], count: Callable[[str], int]) -> int:
    total = 0
    for m in messages:
        total += 4 + count(str(m.get("content") or ""))
        for call in m.get("tool_calls") or ():
            total += count(str(call.get("name", ""))) + count(json.dumps(call.get("args", {}), ensure_ascii=False, default=repr))
    return total


def _metadata_of(it: Interaction) -> dict[str, Any]:
    md = it.metadata or {}
    run_md = md.get("run_metadata") if isinstance(md.get("run_metadata"), dict) else {}
    out: dict[str, Any] = {}
    for name in ("category", "language", "route"):
        value = md.get(name, run_md.get(name))
        if value is not None:
            out[name] = value
    tools = list(dict.fromkeys(s.name for s in it.steps if s.kind == "tool"))
    if tools:
        out["tools"] = tools
    routes = [d.chosen for d in it.decisions if d.decider == "router"]
    if routes:
        out["routes"] = routes
    for name in ("model_version", "prompt_version", "session_id"):
        value = getattr(it, name)
        if value is not None:
            out[name] = value
    return out


# -- retrieval ------------------------------------------------------------------------------------
class FewShotSource(Protocol):
    """What few-shot retrieval needs: the store, its vector index, the embedder and the current session."""

    @property
    def store(self) -> TrajectoryStore: ...

    @property
    def index(self) -> SimilarityIndex: ...

    @property
    def embedder(self) -> Embedder: ...

    def current_session(self) -> tuple[str | None, str | None]: ...


class FewShotRetriever:
    """Few-shot selection over one store and index (``Flywheel.few_shot_retriever`` is the shared one).

    ``defaults`` override ``DEFAULTS`` (the flywheel passes its ``few_shot`` setting); an ``index``
    entry in them configures the vector index.
    """

    def __init__(self, source: FewShotSource, defaults: Mapping[str, Any] | None = None) -> None:
        self.source = source
        self.defaults = dict(DEFAULTS)
        settings = dict(defaults or {})
        index_settings = settings.pop("index", None)
        self.defaults.update(settings)
        unknown = set(self.defaults) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown few-shot settings {sorted(unknown)}; known: {sorted(DEFAULTS)} and 'index'")
        if index_settings:
            source.index.configure(**index_settings)
        self.catalog = FilterCatalog()
        self._lock = threading.Lock()
        self.last_timings: dict[str, float] = {}

    def refresh(self) -> int:
        return self.catalog.refresh(self.source.store)

    def select(
        self,
        query: str | None,
        k: int | None = None,
        *,
        filter: Mapping[str, Any] | None = None,  # noqa: A002 - the natural name
        session_id: Any = _CURRENT,
        min_similarity: float | None = None,
        min_reward: float | None = None,
        min_confidence: float | None = None,
        fetch_k: int | None = None,
        mmr_lambda: float | None = None,
        dedup_threshold: float | None = None,
        max_tokens: int | None = None,
        count_tokens: Callable[[str], int] | None = None,
        exclude_ids: Sequence[str] = (),
        since: float | None = None,
        corrections: bool | None = None,
        query_vector: np.ndarray | None = None,
        record: bool = True,
        category: Any = None,
        language: Any = None,
        model_version: Any = None,
        route: Any = None,
        tool: Any = None,
    ) -> list[FewShotExample]:
        d = self.defaults
        k = int(d["k"] if k is None else k)
        if k <= 0:
            return []
        min_similarity = float(d["min_similarity"] if min_similarity is None else min_similarity)
        min_reward = float(d["min_reward"] if min_reward is None else min_reward)
        min_confidence = float(d["min_confidence"] if min_confidence is None else min_confidence)
        fetch_k = int(fetch_k or d["fetch_k"] or max(4 * k, 20))
        mmr_lambda = float(d["mmr_lambda"] if mmr_lambda is None else mmr_lambda)
        dedup_threshold = float(d["dedup_threshold"] if dedup_threshold is None else dedup_threshold)
        max_tokens = d["max_tokens"] if max_tokens is None else max_tokens
        corrections = bool(d["corrections"] if corrections is None else corrections)
        count = count_tokens or approx_tokens
        spec = dict(filter or {})
        for name, value in (("category", category), ("language", language), ("model_version", model_version),
                            ("route", route), ("tool", tool)):
            if value is not None:
                spec[name] = value
        filters = normalise_filter(spec)
        if session_id is _CURRENT:
            session_id = self.source.current_session()[0] if d["exclude_session"] else None
        timings: dict[str, float] = {}
        t0 = time.perf_counter()

        store = self.source.store
        with self._lock:
            self.catalog.refresh(store)
        exclude_keys = [k_ for k_ in (store.key_of(i) for i in exclude_ids) if k_ is not None]
        mask = self.catalog.mask(store, min_reward=min_reward, min_confidence=min_confidence, filters=filters,
                                 exclude_session=session_id, exclude_keys=exclude_keys, since=since,
                                 corrections=corrections)
        t1 = time.perf_counter()
        timings["filter_ms"] = (t1 - t0) * 1e3
        if not mask.any():
            self.last_timings = timings
            return []
        if query_vector is None:
            if not isinstance(query, str):
                raise TypeError(f"few_shot() takes a string query, got {type(query).__name__}")
            query_vector = self.source.embedder.embed([query])[0]
        t2 = time.perf_counter()
        timings["embed_ms"] = (t2 - t1) * 1e3
        qv = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        scores, keys = self.source.index.search(qv, fetch_k, allowed=mask)
        t3 = time.perf_counter()
        timings["faiss_ms"] = (t3 - t2) * 1e3
        cands = [(float(s), int(key)) for s, key in zip(scores[0], keys[0]) if key >= 0 and s >= min_similarity]
        if not cands:
            self.last_timings = timings
            return []
        rows = store.documents([key for _, key in cands], embeddings=True)
        examples = self._pick(qv, cands, rows, k, mmr_lambda, dedup_threshold, max_tokens, count,
                              self._corrected_answers(store, cands, rows) if corrections else {})
        timings["rank_ms"] = (time.perf_counter() - t3) * 1e3
        self.last_timings = timings
        if record and examples:
            note_injected([e.interaction_id for e in examples])
        return examples

    def _corrected_answers(self, store: TrajectoryStore, cands: list[tuple[float, int]],
                           rows: Mapping[int, StoredDocument]) -> dict[int, str]:
        """key -> the user's corrected answer, for the corrected (not good) candidates."""
        keys = [key for _, key in cands if key in rows and self.catalog.corrected[key] and not self.catalog.good[key]]
        if not keys:
            return {}
        signals = store.signals_for([rows[key].id for key in keys])
        out = {}
        for key in keys:
            answer = corrected_answer(signals.get(rows[key].id, ()))
            if answer is not None:
                out[key] = answer
        return out

    def _pick(
        self,
        qv: np.ndarray,
        cands: list[tuple[float, int]],
        rows: Mapping[int, StoredDocument],
        k: int,
        mmr_lambda: float,
        dedup_threshold: float,
        max_tokens: int | None,
        count: Callable[[str], int],
        corrected: Mapping[int, str],
    ) -> list[FewShotExample]:
        cands = [(s, key) for s, key in cands if key in rows and (self.catalog.good[key] or key in corrected)]
        if not cands:
            return []
        sims = np.array([s for s, _ in cands], dtype=np.float32)
        vecs = np.vstack([rows[key].embedding for _, key in cands])
        recency = np.array([rows[key].started_at or 0.0 for _, key in cands], dtype=np.float64)
        rewards = self.catalog.reward
        confidences = self.catalog.confidence
        redundancy = np.full(len(cands), -np.inf, dtype=np.float32)
        remaining = list(range(len(cands)))
        picked: list[FewShotExample] = []
        seen_texts: set[tuple[str, str]] = set()
        used_tokens = 0
        while remaining and len(picked) < k:
            red = np.where(np.isfinite(redundancy[remaining]), redundancy[remaining], 0.0)
            mmr = mmr_lambda * sims[remaining] - (1.0 - mmr_lambda) * red if picked else sims[remaining]
            best_pos = max(range(len(remaining)), key=lambda p: (round(float(mmr[p]), 5), recency[remaining[p]]))
            i = remaining.pop(best_pos)
            if picked and redundancy[i] >= dedup_threshold:
                continue
            sim, key = cands[i]
            doc = rows[key]
            iid, started = doc.id, doc.started_at
            it = doc.interaction()
            answer = corrected.get(key, it.output_text)
            text_key = (" ".join(it.input_text.lower().split()), " ".join(answer.lower().split()))
            if text_key in seen_texts:
                continue
            messages = example_messages(it, tag=str(len(picked) + 1))
            if key in corrected:
                messages[-1] = {"role": "assistant", "content": answer}
            tokens = count_message_tokens(messages, count)
            if max_tokens is not None and used_tokens + tokens > max_tokens:
                continue
            used_tokens += tokens
            seen_texts.add(text_key)
            picked.append(FewShotExample(
                interaction_id=iid, input=it.input_text, output=answer, messages=messages,
                similarity=round(sim, 6), reward=1.0 if key in corrected else float(rewards[key]),  # a user's answer
                confidence=float(confidences[key]), started_at=float(started or 0.0), tokens=tokens,
                metadata=_metadata_of(it), source="correction" if key in corrected else "good",
            ))
            redundancy = np.maximum(redundancy, vecs @ vecs[i])
        return picked


class _HasRetriever(Protocol):
    @property
    def few_shot_retriever(self) -> FewShotRetriever: ...


def retriever_for(fw: _HasRetriever) -> FewShotRetriever:
    """The flywheel's shared retriever (``fw.few_shot_retriever``, created on first use)."""
    return fw.few_shot_retriever


__all__ = [
    "DEFAULTS",
    "FEW_SHOT_EVENT",
    "FEW_SHOT_METADATA_KEY",
    "FewShotExample",
    "FewShotRetriever",
    "FewShotSource",
    "approx_tokens",
    "clear_injected",
    "example_messages",
    "injected_ids",
    "injection_scope",
    "note_injected",
    "retriever_for",
]
