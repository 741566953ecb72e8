"""The store interface: what the worker and the read APIs need from a backend.

SQLite + FAISS is the embedded default; a server backend (PostgreSQL + pgvector for a fleet of
replicas) implements the same methods and nothing above this layer changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol, Sequence

import numpy as np

from ..records import Interaction, Signal


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


class TrajectoryStore(Protocol):
    """The backend contract. Writes are batched and atomic with the queue offsets they consume."""

    def ingest(
        self,
        interactions: Sequence[StoredInteraction],
        signals: Sequence[Signal],
        cursors: dict[str, int],
    ) -> list[int]:
        """Upsert interactions and signals and commit the queue cursors in one transaction.

        Returns the integer keys (vector ids) of the interactions, in order."""

    def cursors(self) -> dict[str, int]: ...
    def drop_cursor(self, segment: str) -> None: ...
    def get(self, interaction_id: str) -> Interaction | None: ...
    def existing_ids(self, ids: Iterable[str]) -> set[str]: ...
    def signals_for(self, interaction_ids: Sequence[str]) -> dict[str, list[Signal]]: ...
    def list_interactions(self, query: InteractionQuery) -> list[Interaction]: ...
    def ids_for_keys(self, keys: Sequence[int]) -> dict[int, str]: ...
    def iter_embeddings(self, after_key: int = 0, batch: int = 10_000) -> Iterable[tuple[np.ndarray, np.ndarray]]: ...
    def max_key(self) -> int: ...
    def deletion_generation(self) -> int: ...
    def delete_interactions(self, ids: Sequence[str]) -> list[int]: ...
    def counts(self) -> StoreCounts: ...
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def close(self) -> None: ...
