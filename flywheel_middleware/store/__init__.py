"""Storage: the backend interface, the embedded SQLite backend, and the FAISS index cache."""

from .base import InteractionQuery, StoreCounts, StoredInteraction, TrajectoryStore
from .sqlite import SQLiteStore

__all__ = ["InteractionQuery", "SQLiteStore", "StoreCounts", "StoredInteraction", "TrajectoryStore"]
