"""Few-shot candidate filters: an in-memory column store of retrieval metadata, keyed by store key.

Few-shot retrieval searches only *eligible* trajectories: reward label ``good``, reward and
confidence above a threshold, not from the current session, matching metadata filters. Asking
SQLite for that set on every query would cost tens of milliseconds at a million rows, so the
catalog keeps the columns it needs as numpy arrays indexed by the store's integer ``key`` (the
same key FAISS uses) and turns a query's filters into a boolean mask in about a millisecond. The
mask goes to FAISS as an ``IDSelectorBitmap``, so filters apply *before* the top-k cut.

It is a cache of the store, kept current incrementally: every reward upsert gets a new change
number (``seq``, never reused), and the catalog reads the changes past the last one it saw
(``TrajectoryStore.reward_changes``). A deletion (erasure, retention) bumps the store's deletion
generation; the catalog drops the deleted keys (the store's deletion log, ``deleted_keys_since``).

Filterable fields (values compared as strings; a list means "any of"):

* ``category``, ``language``: ``Interaction.metadata[field]`` or ``metadata["run_metadata"][field]``
  (what the LangChain handler stores from the run's config metadata);
* ``model_version``: the interaction's column;
* ``route``: ``metadata["route"]`` / ``run_metadata["route"]`` and the chosen value of every
  ``RoutingDecision`` with ``decider="router"`` (multi-valued);
* ``tool``: the name of every tool step (multi-valued);
* any other name: ``metadata[name]`` / ``run_metadata[name]``, looked up in the store per query
  (``good_keys_with_metadata``).

**Corrected trajectories** (``mask(..., corrections=True)``): a turn labelled ``bad`` that a user
corrected (a ``correction`` signal with the edited answer) is an example too, with the user's answer
in place of the agent's. The catalog keeps which keys have one (looked up in the store only for
rows whose reward changed to ``bad``). Filters on what the user asked (``category``, ``language``,
session, time, excluded ids) apply to them as to good turns. Filters on what the agent did
(``route``, ``tool``, ``model_version``) describe the answer the correction replaced, so under
such a filter (or one on any other metadata key, a good-only store lookup) corrected turns are
left out: what is shown would not be what the filter asked for.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .base import FewShotCandidate, TrajectoryStore

SINGLE_FIELDS = ("session", "category", "language", "model_version")
INPUT_FIELDS = ("category", "language")  # about the question: they filter corrected turns as well
MULTI_FIELDS = ("route", "tool")
FILTER_FIELDS = ("category", "language", "model_version", "route", "tool")
_ALIASES = {"tools": "tool", "tool_used": "tool", "routes": "route", "model": "model_version", "lang": "language"}
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]+$")



def normalise_filter(spec: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    """``{"tools": "x", "category": ["a", "b"]}`` -> ``{"tool": ("x",), "category": ("a", "b")}``."""
    out: dict[str, tuple[str, ...]] = {}
    for name, value in (spec or {}).items():
        if value is None:
            continue
        field = _ALIASES.get(name, name)
        if field.startswith("metadata."):
            field = field[len("metadata."):]
        if field not in FILTER_FIELDS and not _KEY_RE.match(field):
            raise ValueError(f"bad filter field {name!r}")
        values = tuple(str(v) for v in value) if isinstance(value, (list, tuple, set, frozenset)) else (str(value),)
        out[field] = tuple(sorted(set(out.get(field, ())) | set(values)))
    return out


def _values(raw: Any) -> list[str]:
    """A metadata value as strings: JSON arrays and router ``chosen`` payloads are flattened."""
    if raw is None:
        return []
    if isinstance(raw, str):
        text = raw.strip()
        if text[:1] in ("[", '"', "{"):
            try:
                parsed = json.loads(text)
            except ValueError:
                return [raw]
            return [parsed] if isinstance(parsed, str) else _values(parsed)
        return [raw]
    if isinstance(raw, (list, tuple)):
        return [v for item in raw for v in _values(item)]
    if isinstance(raw, dict):
        for key in ("name", "engine", "route", "choice", "value"):
            if key in raw:
                return _values(raw[key])
        return [json.dumps(raw, sort_keys=True)]
    return [str(raw)]


class FilterCatalog:
    """Columns of retrieval metadata indexed by store key; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.generation = -1
        self.last_seq = 0
        self._reset(0)

    def _reset(self, capacity: int) -> None:
        self.capacity = capacity
        self.good = np.zeros(capacity, dtype=bool)
        self.corrected = np.zeros(capacity, dtype=bool)  # labelled bad and corrected by a user
        self.reward = np.zeros(capacity, dtype=np.float32)
        self.confidence = np.zeros(capacity, dtype=np.float32)
        self.started_at = np.zeros(capacity, dtype=np.float64)
        self.codes = {f: np.zeros(capacity, dtype=np.int32) for f in SINGLE_FIELDS}
        self.vocab: dict[str, dict[str, int]] = {f: {} for f in SINGLE_FIELDS}
        self.multi: dict[str, dict[str, set[int]]] = {f: {} for f in MULTI_FIELDS}
        self._multi_of: dict[str, dict[int, tuple[str, ...]]] = {f: {} for f in MULTI_FIELDS}
        self._multi_cache: dict[tuple[str, str], np.ndarray] = {}
        self.n_good = 0

    def _grow(self, max_key: int) -> None:
        if max_key < self.capacity:
            return
        new = max(max_key + 1, int(self.capacity * 1.5) + 1024)
        for name in ("good", "corrected", "reward", "confidence", "started_at"):
            old = getattr(self, name)
            arr = np.zeros(new, dtype=old.dtype)
            arr[: len(old)] = old
            setattr(self, name, arr)
        for f, old in self.codes.items():
            arr = np.zeros(new, dtype=np.int32)
            arr[: len(old)] = old
            self.codes[f] = arr
        self.capacity = new

    def _code(self, field: str, value: Any) -> int:
        if value is None or value == "":
            return 0
        vocab = self.vocab[field]
        value = str(value)
        code = vocab.get(value)
        if code is None:
            code = vocab[value] = len(vocab) + 1
        return code

    # -- keeping current -----------------------------------------------------------------------
    def refresh(self, store: TrajectoryStore, batch: int = 50_000) -> int:
        """Apply what changed in the store since the last call; returns the number of rows read."""
        with self._lock:
            generation = store.deletion_generation()
            if generation != self.generation:
                if self.generation >= 0:
                    keys, generation = store.deleted_keys_since(self.generation)
                    self._forget(keys)
                else:
                    self._reset(0)
                    self.last_seq = 0
                self.generation = generation
            read = 0
            while True:
                rows = store.reward_changes(self.last_seq, batch)
                if not rows:
                    return read
                self._apply(rows)
                self._mark_corrected(store, [int(r.key) for r in rows if r.label == "bad"])
                read += len(rows)
                self.last_seq = int(rows[-1].seq)
                if len(rows) < batch:
                    return read

    def _forget(self, keys: Iterable[int]) -> None:
        for key in keys:
            key = int(key)
            if not 0 <= key < self.capacity:
                continue
            self.n_good -= int(self.good[key])
            self.good[key] = False
            self.corrected[key] = False
            self.reward[key] = 0.0
            self.confidence[key] = 0.0
            for codes in self.codes.values():
                codes[key] = 0
            for field in MULTI_FIELDS:
                for value in self._multi_of[field].pop(key, ()):
                    self.multi[field].get(value, set()).discard(key)
        self._multi_cache.clear()

    def _apply(self, rows: Sequence[FewShotCandidate]) -> None:
        self._grow(max(int(r.key) for r in rows))
        self._multi_cache.clear()
        for (_seq, key, label, reward, conf, session, started, model, category, language, route,
             tools, routes) in rows:
            key = int(key)
            was_good = bool(self.good[key])
            is_good = label == "good"
            self.n_good += int(is_good) - int(was_good)
            self.good[key] = is_good
            self.corrected[key] = False  # re-checked for bad rows by _mark_corrected
            self.reward[key] = reward
            self.confidence[key] = conf
            self.started_at[key] = started or 0.0
            self.codes["session"][key] = self._code("session", session)
            for field in MULTI_FIELDS:
                for value in self._multi_of[field].pop(key, ()):
                    members = self.multi[field].get(value)
                    if members is not None:
                        members.discard(key)
            cats = _values(category)
            self.codes["category"][key] = self._code("category", cats[0] if cats else None)
            langs = _values(language)
            self.codes["language"][key] = self._code("language", langs[0] if langs else None)
            if not is_good:
                self.codes["model_version"][key] = 0
                continue
            self.codes["model_version"][key] = self._code("model_version", model)
            multi = {
                "route": tuple(dict.fromkeys(_values(route) + [v for c in routes for v in _values(c)])),
                "tool": tuple(dict.fromkeys(tools)),
            }
            for field, values in multi.items():
                if values:
                    self._multi_of[field][key] = values
                    for value in values:
                        self.multi[field].setdefault(value, set()).add(key)

    def _mark_corrected(self, store: TrajectoryStore, bad_keys: Sequence[int]) -> None:
        """Flag the keys among ``bad_keys`` whose interaction a user corrected (non-blank edited answer)."""
        if not bad_keys:
            return
        ids = store.ids_for_keys(bad_keys)
        signals = store.signals_for(list(ids.values()))
        for key, iid in ids.items():
            if 0 <= key < self.capacity and corrected_answer(signals.get(iid, ())) is not None:
                self.corrected[key] = True

    # -- queries ---------------------------------------------------------------------------------
    def mask(
        self,
        store: TrajectoryStore,
        *,
        min_reward: float = -1.0,
        min_confidence: float = 0.0,
        filters: Mapping[str, tuple[str, ...]] | None = None,
        exclude_session: str | None = None,
        exclude_keys: Iterable[int] = (),
        since: float | None = None,
        corrections: bool = False,
    ) -> np.ndarray:
        """Boolean array indexed by key: which trajectories may be injected (good ones, and with
        ``corrections`` the corrected ones; see the module docstring)."""
        with self._lock:
            common = self.confidence >= np.float32(min_confidence)
            if since is not None:
                common &= self.started_at >= since
            if exclude_session is not None:
                code = self.vocab["session"].get(str(exclude_session))
                if code:
                    common &= self.codes["session"] != code
            for key in exclude_keys:
                if 0 <= key < self.capacity:
                    common[key] = False
            m = self._filtered(store, common & self.good & (self.reward >= np.float32(min_reward)), filters or {})
            if corrections and self.corrected.any():
                m |= self._filtered_corrected(common & self.corrected, filters or {})
            return m

    def _filtered_corrected(self, m: np.ndarray, filters: Mapping[str, tuple[str, ...]]) -> np.ndarray:
        for field, values in filters.items():
            if field in INPUT_FIELDS:
                codes = [self.vocab[field][v] for v in values if v in self.vocab[field]]
                m &= np.isin(self.codes[field], codes) if codes else False
            else:  # what the agent did (route, tool, model_version) or a good-only store lookup
                return np.zeros_like(m)
        return m

    def _filtered(self, store: TrajectoryStore, m: np.ndarray, filters: Mapping[str, tuple[str, ...]]) -> np.ndarray:
        for field, values in filters.items():
            if not m.any():
                break
            if field in self.codes:
                codes = [self.vocab[field][v] for v in values if v in self.vocab[field]]
                m &= np.isin(self.codes[field], codes) if codes else False
            elif field in self.multi:
                allowed = np.zeros(self.capacity, dtype=bool)
                for value in values:
                    allowed[self._keys_of(field, value)] = True
                m &= allowed
            else:
                allowed = np.zeros(self.capacity, dtype=bool)
                keys = store.good_keys_with_metadata(field, values)
                allowed[keys[keys < self.capacity]] = True
                m &= allowed
        return m

    def _keys_of(self, field: str, value: str) -> np.ndarray:
        cached = self._multi_cache.get((field, value))
        if cached is None:
            members = self.multi[field].get(value, ())
            cached = np.fromiter(members, dtype=np.int64, count=len(members))
            self._multi_cache[(field, value)] = cached
        return cached


def corrected_answer(signals: Iterable[Any]) -> str | None:
    """The latest non-blank edited answer among an interaction's ``correction`` signals (the rule the
    export uses), or None."""
    answer = None
    for signal in sorted(signals, key=lambda s: s.at):
        value = signal.value if signal.kind == "correction" else None
        if isinstance(value, dict) and isinstance(value.get("edited"), str) and value["edited"].strip():
            answer = value["edited"]
    return answer
