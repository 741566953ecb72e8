"""Storage: the backend contract, the embedded SQLite backend, and the FAISS index cache.

Every SQL statement and database connection of the package lives under this folder.
"""

from __future__ import annotations

from .base import (
    ExportInfo,
    FeedbackRow,
    FewShotCandidate,
    InteractionQuery,
    MonitorRow,
    PreviousTurn,
    RewardRow,
    SessionTail,
    SimilarityIndex,
    StoreCounts,
    StoredDocument,
    StoredInteraction,
    TrajectoryStore,
    TurnQuery,
    TurnSummary,
)
from .sqlite import SQLiteStore


def open_store(location: str, *, read_only: bool = False) -> TrajectoryStore:
    """Open the store at ``location`` (a ``TrajectoryStore.location`` URL, or a SQLite file path).

    What another process uses to reach the same store (export workers open a read-only twin).
    """
    from ..errors import StoreError
    from .sqlite import SCHEME, path_from_location

    if location.startswith(SCHEME) or "://" not in location:
        return SQLiteStore(path_from_location(location), read_only=read_only)
    from .postgres import PostgresStore, is_postgres_url

    if is_postgres_url(location):
        return PostgresStore(location, replica="reader", read_only=read_only)
    raise StoreError(f"no store backend for {location!r}")


__all__ = [
    "ExportInfo",
    "FeedbackRow",
    "FewShotCandidate",
    "InteractionQuery",
    "MonitorRow",
    "PreviousTurn",
    "RewardRow",
    "SQLiteStore",
    "SessionTail",
    "SimilarityIndex",
    "StoreCounts",
    "StoredDocument",
    "StoredInteraction",
    "TrajectoryStore",
    "TurnQuery",
    "TurnSummary",
    "open_store",
]
