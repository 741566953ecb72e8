"""The store contract: every read and write the rest of the package makes, as typed operations.

Nothing outside ``store/`` writes SQL or opens a database connection; callers use these methods.
``SQLiteStore`` (+ the FAISS index cache) is the embedded default; a server backend (PostgreSQL +
pgvector for a fleet of replicas) implements the same protocol and nothing above this layer
changes. ``tests/test_store_contract.py`` pins the behaviour every backend must have.

Conventions every backend follows:

* An interaction has a string ``id`` (the app's) and an integer **key** the store assigns on first
  ingest (1, 2, 3...). Keys never change for an id and are never reused after a deletion; vector
  indexes, masks and the export use keys because integers are cheap to hold in numpy arrays.
* Interactions reach the store already redacted; the store never sees raw user text.
* Timestamps are Unix seconds (float). Every method may raise ``StoreError`` (or the backend's
  connection error) when the database is unreachable; the worker retries, callers surface it.
* Reads of many ids or keys accept any number of them (backends chunk internally).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, NamedTuple, Protocol, Sequence, runtime_checkable

import numpy as np

from ..records import Interaction, Signal


# -- records that cross the seam ----------------------------------------------------------------
@dataclass(slots=True)
class StoredInteraction:
    """A redacted interaction ready to store, with its query embedding (None if embedding failed)."""

    interaction: Interaction
    embedding: np.ndarray | None = None


@dataclass(slots=True)
class InteractionQuery:
    """Filters of ``list_interactions``; every filter is optional and they combine with AND."""

    session_id: str | None = None
    user_id: str | None = None
    since: float | None = None
    until: float | None = None
    signal_kind: str | None = None
    status: str | None = None
    ids: Sequence[str] | None = None
    limit: int | None = 100
    offset: int = 0
    newest_first: bool = True


@dataclass(slots=True)
class StoreCounts:
    interactions: int = 0
    steps_by_kind: dict[str, int] = field(default_factory=dict)
    signals_by_kind: dict[str, int] = field(default_factory=dict)
    embedded: int = 0
    last_ingest_at: float | None = None
    rewards_by_label: dict[str, int] = field(default_factory=dict)
    rated: int = 0  # interactions whose reward rests on at least one signal


class RewardRow(NamedTuple):
    """An interaction's derived reward (see ``reward.aggregate``)."""

    interaction_id: str
    label: str  # "good" | "bad" | "unknown"
    reward: float
    confidence: float
    n_signals: int


class PreviousTurn(NamedTuple):
    """The turn before another one in the same session (what the implicit detectors compare)."""

    interaction_id: str
    input_text: str
    output_text: str
    ended_at: float  # ended_at, else started_at
    embedding: np.ndarray | None


class SessionTail(NamedTuple):
    """The last turn of a session that went quiet (a candidate for ``abandon``)."""

    session_id: str
    interaction_id: str
    last_at: float  # the last turn's ended_at, else started_at


class TurnSummary(NamedTuple):
    """The columns curation and export select on, without parsing the stored interaction.

    ``category_hint`` is what ``curation.category_from_hint`` turns into a category:
    ``metadata["category"]``, else ``metadata["run_metadata"]["category"]``, else the ``chosen``
    value (JSON text) of the first non-empty routing decision (router decisions first), else None.
    """

    key: int
    id: str
    started_at: float
    session_id: str | None
    input_text: str | None
    output_text: str | None
    label: str  # "unknown" when no reward row exists yet
    reward: float
    confidence: float
    n_signals: int
    category_hint: Any
    status: str | None
    user_id: str | None


@dataclass(slots=True)
class TurnQuery:
    """Filters of ``turns``; every filter is optional and they combine with AND.

    ``labels`` / ``or_signal_kinds`` select by judgement: reward label in ``labels``, OR at least
    one signal of a kind in ``or_signal_kinds`` (either alone when only one is given).
    ``after_key`` pages in key order (``key > after_key``, ordered by key); otherwise rows are
    ordered by ``started_at`` (then key), newest first when ``newest_first``.
    """

    ids: Sequence[str] | None = None
    keys: Sequence[int] | None = None
    since: float | None = None
    until: float | None = None
    users: Sequence[str] | None = None
    exclude_users: Sequence[str] | None = None
    model_versions: Sequence[str] | None = None
    labels: Sequence[str] | None = None
    or_signal_kinds: Sequence[str] | None = None
    after_key: int | None = None
    limit: int | None = None
    newest_first: bool = False


class FeedbackRow(NamedTuple):
    """One signal as the export reads it: the key of its interaction, that turn's session, the value."""

    key: int
    session_id: str | None
    kind: str
    value: Any  # decoded JSON (None when the signal has no value)


class FewShotCandidate(NamedTuple):
    """One reward change, with the retrieval metadata few-shot filters on (``store.filters``).

    ``seq`` is the store's change number for the reward row: strictly increasing over every
    upsert and never reused, so a reader that remembers the last ``seq`` it saw misses nothing.
    The metadata columns are filled only when ``label == "good"`` (only good turns are injected):
    ``category`` / ``language`` / ``route`` are ``metadata[name]`` or ``metadata["run_metadata"][name]``
    (a string, or the JSON text of a list/object); ``tools`` the names of the tool steps;
    ``routes`` the ``chosen`` values (JSON text) of the ``decider="router"`` decisions.
    """

    seq: int
    key: int
    label: str
    reward: float
    confidence: float
    session_id: str | None
    started_at: float | None
    model_version: str | None
    category: Any
    language: Any
    route: Any
    tools: tuple[str, ...]
    routes: tuple[str, ...]


class MonitorRow(NamedTuple):
    """One interaction as monitoring reads it (``monitoring.load``), in key order.

    ``category`` / ``route`` / ``user_segment`` are the raw ``metadata`` values (a string, or the
    JSON text of a list/object), ``metadata`` the whole decoded metadata (only when asked for),
    ``chosen`` the JSON text of the first routing decision's choice (router decisions first).
    The reward columns are None for an interaction that has no reward row yet.
    """

    key: int
    id: str
    started_at: float | None
    status: str | None
    model_version: str | None
    user_id: str | None
    input_text: str | None
    category: Any
    route: Any
    user_segment: Any
    metadata: dict[str, Any] | None
    chosen: str | None
    label: str | None
    reward: float | None
    confidence: float | None
    n_signals: int | None


class StoredDocument:
    """A stored interaction as its JSON document (``Interaction.to_dict()``), decoded on first use.

    Bulk readers (few-shot ranking, export workers) often need a few fields of many documents
    and the full record of a few; ``data`` decodes lazily, ``interaction()`` validates fully.
    """

    __slots__ = ("key", "id", "user_id", "session_id", "started_at", "embedding", "_raw", "_data")

    def __init__(self, key: int, id: str, user_id: str | None, session_id: str | None, started_at: float | None,
                 raw: str | bytes | Mapping[str, Any], embedding: np.ndarray | None = None) -> None:
        self.key = key
        self.id = id
        self.user_id = user_id
        self.session_id = session_id
        self.started_at = started_at
        self.embedding = embedding
        self._raw = raw
        self._data: dict[str, Any] | None = dict(raw) if isinstance(raw, Mapping) else None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = _loads(self._raw)  # type: ignore[arg-type]
        return self._data

    def interaction(self) -> Interaction:
        return Interaction.from_dict(self.data)

    def __repr__(self) -> str:
        return f"StoredDocument(key={self.key}, id={self.id!r})"


@dataclass(frozen=True)
class ExportInfo:
    """One registered export (a dataset version written to one folder)."""

    version: str
    kind: str
    path: str
    created_at: float
    rows: int
    n_interactions: int
    n_users: int

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "kind": self.kind, "path": self.path, "created_at": self.created_at,
                "rows": self.rows, "n_interactions": self.n_interactions, "n_users": self.n_users}


# -- the contract -----------------------------------------------------------------------------------
@runtime_checkable
class TrajectoryStore(Protocol):
    """The backend contract. The methods' docstrings are the specification."""

    #: exception types meaning "the database is busy or unreachable": the worker retries them
    #: forever (the records wait in the durable queue) instead of isolating a poison record
    transient_errors: tuple[type[BaseException], ...]

    @property
    def location(self) -> str:
        """Where the store lives, as a URL another process can open with ``store.open_store``
        (``sqlite:///abs/path/store.sqlite``, ``postgresql://...``). Export worker processes use it
        to open their own read-only twin."""

    # -- ingest (the worker) ------------------------------------------------------------------
    def ingest(self, interactions: Sequence[StoredInteraction], signals: Sequence[Signal], cursors: Mapping[str, int]) -> list[int]:
        """Upsert interactions (with their steps, decisions and embedding) and signals, and commit
        the queue ``cursors`` (segment -> byte offset), all in one transaction.

        Re-ingesting an id replaces the interaction but keeps its key, and keeps its embedding when
        the new one is None. The same signal id again keeps one row; a later ``at`` replaces the
        earlier one (a changed rating is the latest word), an earlier or equal one is ignored.
        Returns the keys of ``interactions``, in order. With nothing but cursors it only commits them.
        """

    def cursors(self) -> dict[str, int]:
        """The committed queue offsets (what ``ingest`` stored), segment -> byte offset."""

    def drop_cursor(self, segment: str) -> None:
        """Forget a finished, deleted queue segment's committed offset."""

    def processed_cursors(self) -> dict[str, int]:
        """Queue offsets whose records are stored *and* seen by every processor (``flush`` waits on these)."""

    def mark_processed(self, cursors: Mapping[str, int]) -> None:
        """Raise the processed offsets to ``cursors`` (an offset never moves backwards)."""

    def forget_processed(self, segment: str) -> None:
        """Drop a deleted segment from the processed offsets."""

    def missing_embeddings(self, limit: int = 256) -> list[Interaction]:
        """Up to ``limit`` interactions stored without an embedding, oldest key first; a turn
        without input text is never embedded, so it is not listed."""

    def set_embeddings(self, pairs: Sequence[tuple[str, np.ndarray]]) -> list[int]:
        """Store the embedding of each (interaction id, vector); returns the keys of those that exist."""

    def publish_counters(self, counters: Mapping[str, int]) -> None:
        """The ingesting process's counters, for ``stats()`` in other processes (replaces the last)."""

    def published_counters(self) -> dict[str, int]:
        """What ``publish_counters`` last stored ({} when nothing was)."""

    # -- single interactions and signals ------------------------------------------------------------
    def get(self, interaction_id: str) -> Interaction | None:
        """The stored interaction, or None."""

    def key_of(self, interaction_id: str) -> int | None:
        """The interaction's key, or None when it is not stored."""

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        """The subset of ``ids`` that are stored."""

    def ids_for_keys(self, keys: Sequence[int]) -> dict[int, str]:
        """key -> interaction id for the keys that exist."""

    def statuses(self, interaction_ids: Sequence[str]) -> dict[str, str]:
        """id -> run status ("ok", "error", "aborted") for the stored ones."""

    def span_ids(self, interaction_ids: Sequence[str]) -> dict[str, str]:
        """id -> root span id (``metadata["span_id"]``; "" when it was not traced) for the stored ones."""

    def signals_for(self, interaction_ids: Sequence[str]) -> dict[str, list[Signal]]:
        """Every asked id -> its signals, oldest first ([] for none or unknown ids)."""

    def list_interactions(self, query: InteractionQuery) -> list[Interaction]:
        """Interactions matching ``query``, ordered by ``started_at`` (then key)."""

    def documents(self, keys: Sequence[int], *, embeddings: bool = False) -> dict[int, StoredDocument]:
        """key -> the stored document for the keys that exist. With ``embeddings=True`` only keys
        that have an embedding are returned, each with its vector."""

    # -- sessions (implicit signals, attribution) -----------------------------------------------
    def previous_turn(self, session_id: str, before: float, exclude_id: str) -> PreviousTurn | None:
        """The session's latest turn that started strictly before ``before`` (other than ``exclude_id``)."""

    def previous_turns(self, session_id: str, before: float, exclude_id: str, limit: int) -> list[PreviousTurn]:
        """Up to ``limit`` of the session's turns that started strictly before ``before`` (other than
        ``exclude_id``), newest first; ``previous_turn`` is the first of them."""

    def next_turn(self, session_id: str, after: float, until: float, exclude_id: str) -> Interaction | None:
        """The session's first turn that started in ``(after, until]`` (other than ``exclude_id``)."""

    def stale_sessions(self, idle_since: float, not_before: float) -> list[SessionTail]:
        """Sessions whose latest turn started in ``(not_before, idle_since)``: quiet since
        ``idle_since`` but not older than ``not_before``. One row per session (its latest turn)."""

    # -- rewards --------------------------------------------------------------------------------------
    def upsert_rewards(self, rows: Sequence[RewardRow]) -> None:
        """Insert or replace the reward of each row's interaction; each gets a new change ``seq``."""

    def rewards_for(self, interaction_ids: Sequence[str]) -> dict[str, RewardRow]:
        """id -> its reward row, for the ids that have one."""

    def busy_actors(self, since: float, cap: int) -> set[str]:
        """Actors with more than ``cap`` explicit signals at or after ``since`` (anti-poisoning)."""

    # -- few-shot candidates --------------------------------------------------------------------------
    def reward_changes(self, after_seq: int, limit: int) -> list[FewShotCandidate]:
        """Up to ``limit`` reward rows with ``seq > after_seq``, in ``seq`` order, with their
        interaction's key and retrieval metadata (see ``FewShotCandidate``)."""

    def good_keys(self) -> np.ndarray:
        """Keys (int64) of the interactions whose reward label is "good"."""

    def good_keys_with_metadata(self, name: str, values: Sequence[str]) -> np.ndarray:
        """Keys of good interactions whose ``metadata[name]`` or ``metadata["run_metadata"][name]``,
        as text, is one of ``values`` (filters on metadata the few-shot catalog does not keep)."""

    # -- vectors --------------------------------------------------------------------------------------
    def iter_embeddings(self, after_key: int = 0, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(keys int64, vectors float32) batches of stored embeddings with key > ``after_key``, in key order."""

    def embeddings_for(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found bool mask, vectors) aligned to ``keys``; rows without an embedding are zero.
        With no embedding found at all the vectors have width 1."""

    def max_key(self) -> int:
        """The highest key that has an embedding (0 when none): how far a vector index must reach."""

    # -- curation, export, monitoring scans ------------------------------------------------------------
    def turns(self, query: TurnQuery) -> list[TurnSummary]:
        """Summaries of the interactions matching ``query`` (see ``TurnQuery`` for order and paging)."""

    def feedback_rows(self, kinds: Sequence[str]) -> list[FeedbackRow]:
        """Every signal of the given kinds with its interaction's key and session, oldest first."""

    def ids_with_signals(self, kinds: Sequence[str]) -> set[str]:
        """Ids of the interactions that have at least one signal of one of ``kinds``."""

    def keys_with_signals(self, kinds: Sequence[str]) -> dict[str, np.ndarray]:
        """kind -> sorted keys (int64) of the interactions with at least one signal of that kind."""

    def monitor_rows(self, since: float | None = None, until: float | None = None, *, with_metadata: bool = False) -> list[MonitorRow]:
        """Every interaction that started in ``[since, until)`` (open ends when None), in key order."""

    def counts(self) -> StoreCounts:
        """Totals for ``stats()`` and manifests."""

    # -- consent, erasure, retention -----------------------------------------------------------------
    def set_opt_out(self, user_hash: str, opted_out: bool) -> None:
        """Record (or withdraw) a user's opt-out, by user hash."""

    def opted_out_hashes(self) -> list[str]:
        """Hashes of the users who opted out."""

    def add_erasure(self, user_hash: str, erased_at: float) -> None:
        """Tombstone a user: their records from before ``erased_at`` must not be ingested again."""

    def finish_erasure(self, user_hash: str, report: str) -> None:
        """Attach the erasure report (JSON text) to the tombstone."""

    def erasure_tombstones(self) -> dict[str, float]:
        """user hash -> erased_at."""

    def interaction_ids_for_user(self, user_id: str) -> list[str]:
        """Ids of the interactions of ``user_id``."""

    def signal_ids_by_actor(self, actor: str) -> list[str]:
        """Ids of the signals ``actor`` sent (on anyone's interactions)."""

    def interaction_ids_before(self, cutoff: float) -> list[str]:
        """Ids of the interactions that started before ``cutoff`` (retention)."""

    def delete_interactions(self, ids: Sequence[str]) -> list[int]:
        """Delete interactions with their steps, decisions, signals and rewards, in one transaction
        that also bumps the deletion generation and logs the deleted keys; returns those keys."""

    def delete_signals(self, signal_ids: Sequence[str]) -> int:
        """Delete signals by id; returns how many existed."""

    # -- the deletion log (other processes' vector indexes follow it) ---------------------------------
    def deletion_generation(self) -> int:
        """A counter bumped by every ``delete_interactions`` (0 for a new store)."""

    def deleted_keys_since(self, generation: int) -> tuple[list[int], int]:
        """Keys deleted after ``generation``, and the current generation."""

    # -- the export registry --------------------------------------------------------------------------
    def export_user_key(self) -> bytes:
        """The store's secret HMAC key for user ids in manifests (created on first use, then stable)."""

    def register_export(self, info: ExportInfo, members: Iterable[tuple[str | None, str]], summary: Mapping[str, Any]) -> None:
        """Record an export and its (user hash, interaction id) members in one transaction,
        replacing whatever was registered for the same folder (``info.path``) before."""

    def exports(self, *, user_hash: str | None = None, interaction_id: str | None = None) -> list[ExportInfo]:
        """Registered exports, oldest first; only those holding ``user_hash`` / ``interaction_id`` when given."""

    def export_members(self, info: ExportInfo) -> list[tuple[str | None, str]]:
        """The (user hash, interaction id) members registered for that export (``flywheel migrate``)."""

    def export_summary(self, info: ExportInfo) -> dict[str, Any]:
        """The summary registered with that export ({} when none)."""

    def set_export_user_key(self, key: bytes) -> None:
        """Adopt another store's export HMAC key, so copied registries keep matching user hashes.
        Refused (``StoreError``) when this store already registered exports under a different key."""

    # -- integrity and erasure hygiene -----------------------------------------------------------------
    def check_integrity(self) -> None:
        """Raise ``StoreError`` naming the damage if the store's files are corrupt (the embedded
        store runs SQLite's quick_check; a server database may do nothing)."""

    def checkpoint(self, wait_s: float = 0.2) -> bool:
        """Make what was deleted unrecoverable from the store's own files now (SQLite: copy the
        write-ahead log in and truncate it), waiting at most ``wait_s`` for other connections;
        True when done, False when they kept it busy (it is retried at the next close)."""

    def close(self) -> None:
        """Release connections (idempotent); a closed store reconnects on next use."""


@runtime_checkable
class SimilarityIndex(Protocol):
    """Nearest-neighbour search over interaction embeddings, keyed by store keys.

    ``store.index.VectorIndex`` (FAISS, a cache of the store's embeddings) is the embedded one; a
    backend that searches in the database (pgvector) implements the same calls.
    """

    dim: int
    generation: int  # the store deletion generation this index reflects
    watermark: int  # the highest key it holds
    dirty: bool  # changed since the last save

    def __len__(self) -> int: ...

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               nprobe: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, keys) per query (key -1 in empty slots); ``allowed`` (a boolean
        array indexed by key, or an array of keys) restricts the result before the top-k cut."""

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace vectors."""

    def remove(self, keys: list[int], generation: int) -> int:
        """Remove vectors; ``generation`` is the store deletion generation this brings it to."""

    def sync(self, store: TrajectoryStore) -> str:
        """Open: load, then rebuild or catch up from the store. Returns what it did."""

    def rebuild(self, store: TrajectoryStore) -> int:
        """Rebuild from the store; returns the size."""

    def follow(self, store: TrajectoryStore | None) -> None:
        """Keep pulling what another process ingests into ``store`` before searches (None: this process owns it)."""

    def catch_up(self, store: TrajectoryStore, *, force: bool = False) -> int:
        """Apply the store's deletions and add its newer vectors now; returns how many were added."""

    def apply_deletions(self, store: TrajectoryStore) -> int:
        """Remove the vectors the store deleted since this index's generation; returns how many."""

    def save(self) -> None: ...

    def configure(self, **settings: Any) -> None: ...

    def info(self) -> dict[str, Any]: ...


def _loads(raw: str | bytes) -> dict[str, Any]:
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a core dependency
        return json.loads(raw)
    return orjson.loads(raw)


class HasStore(Protocol):
    """Anything that carries a store (a ``Flywheel``, a curation or export source)."""

    @property
    def store(self) -> TrajectoryStore: ...


def store_of(source: TrajectoryStore | HasStore) -> TrajectoryStore:
    """The store itself, or the store a flywheel (or any ``HasStore``) carries."""
    return source if isinstance(source, TrajectoryStore) else source.store
