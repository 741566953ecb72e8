"""The export registry: which dataset versions were written, where, and whose data they hold.

The store keeps it (``TrajectoryStore.register_export`` / ``exports``), next to (never touched by)
the interactions, so an erasure request can list "the exported dataset versions that contained
user U" even after the user's interactions are gone:

* one entry per written export (version, kind, folder, created_at, counts, a manifest summary);
  the same version written to two folders is two entries;
* one member row per interaction used: (user hash, interaction id).

User ids are never stored in clear here or in a manifest: ``user_hash`` is HMAC-SHA256 with a
random key kept in the store (``TrajectoryStore.export_user_key``), so the hashes cannot be
reversed by guessing ids, and the same user always gets the same hash in one store.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Iterable

from .store.base import ExportInfo, HasStore, TrajectoryStore, store_of

__all__ = ["ExportInfo", "exports_containing_interaction", "exports_containing_user", "hash_user", "list_exports",
           "register", "user_key"]


def user_key(source: TrajectoryStore | HasStore) -> bytes:
    """The store's HMAC key for user ids (created on first use; the same for every process)."""
    return store_of(source).export_user_key()


def hash_user(key: bytes, user_id: str) -> str:
    return "u_" + hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def register(source: TrajectoryStore | HasStore, info: ExportInfo, members: Iterable[tuple[str | None, str]],
             manifest_summary: dict[str, Any]) -> None:
    """Record an export and its (user hash, interaction id) members, replacing an earlier entry for the same folder."""
    store_of(source).register_export(info, members, manifest_summary)


def list_exports(source: TrajectoryStore | HasStore) -> list[ExportInfo]:
    """Every registered export, oldest first."""
    return store_of(source).exports()


def exports_containing_user(source: TrajectoryStore | HasStore, user_id: str) -> list[ExportInfo]:
    """The exported dataset versions (and their folders) that contain data of ``user_id``."""
    store = store_of(source)
    return store.exports(user_hash=hash_user(store.export_user_key(), user_id))


def exports_containing_interaction(source: TrajectoryStore | HasStore, interaction_id: str) -> list[ExportInfo]:
    """The exported dataset versions that contain ``interaction_id``."""
    return store_of(source).exports(interaction_id=interaction_id)
