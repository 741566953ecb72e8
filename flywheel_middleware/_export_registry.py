"""The export registry: which dataset versions were written, where, and whose data they hold.

Two tables in the store's SQLite file, next to (never touched by) the store's own tables, so an
erasure request can list "the exported dataset versions that contained user U" even after the
user's interactions are gone:

* ``exports(version, kind, path, created_at, rows, n_interactions, n_users, manifest)`` —
  one row per written export (the same version written to two folders is two rows);
* ``export_members(version, path, user_hash, interaction_id)`` — one row per interaction used.

User ids are never stored in clear here or in a manifest: ``user_hash`` is HMAC-SHA256 with a
random key kept in the store (``meta.export_user_key``), so the hashes cannot be reversed by
guessing ids, and the same user always gets the same hash in one store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

_SCHEMA = """
CREATE TABLE IF NOT EXISTS exports(
    version TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, created_at REAL NOT NULL,
    rows INTEGER NOT NULL, n_interactions INTEGER NOT NULL, n_users INTEGER NOT NULL, manifest TEXT NOT NULL,
    PRIMARY KEY(version, path)
);
CREATE TABLE IF NOT EXISTS export_members(
    version TEXT NOT NULL, path TEXT NOT NULL, user_hash TEXT, interaction_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS export_members_user ON export_members(user_hash);
CREATE INDEX IF NOT EXISTS export_members_interaction ON export_members(interaction_id);
CREATE INDEX IF NOT EXISTS export_members_version ON export_members(version, path);
"""


@dataclass(frozen=True)
class ExportInfo:
    """One registered export."""

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


def _connect(store_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(store_path, timeout=60.0, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
    return conn


def _store_file(fw: Any) -> Path:
    return Path(fw.store.path)


def user_key(fw: Any) -> bytes:
    """The store's HMAC key for user ids (created on first use; the same for every process)."""
    conn = _connect(_store_file(fw))
    try:
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('export_user_key', ?)", (secrets.token_hex(32),))
        return bytes.fromhex(conn.execute("SELECT value FROM meta WHERE key='export_user_key'").fetchone()[0])
    finally:
        conn.close()


def hash_user(key: bytes, user_id: str) -> str:
    return "u_" + hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def register(fw: Any, info: ExportInfo, members: Iterable[tuple[str | None, str]], manifest_summary: dict[str, Any]) -> None:
    """Record an export and its (user hash, interaction id) members, replacing an earlier entry for the same folder."""
    conn = _connect(_store_file(fw))
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # a folder holds one export: whatever was registered there before is superseded
            conn.execute("DELETE FROM export_members WHERE path = ?", (info.path,))
            conn.execute("DELETE FROM exports WHERE path = ?", (info.path,))
            conn.execute(
                "INSERT INTO exports(version, kind, path, created_at, rows, n_interactions, n_users, manifest) VALUES (?,?,?,?,?,?,?,?)",
                (info.version, info.kind, info.path, info.created_at, info.rows, info.n_interactions, info.n_users,
                 json.dumps(manifest_summary, sort_keys=True, default=str)),
            )
            batch: list[tuple[str, str, str | None, str]] = []
            for user_hash, iid in members:
                batch.append((info.version, info.path, user_hash, iid))
                if len(batch) >= 10_000:
                    conn.executemany("INSERT INTO export_members(version, path, user_hash, interaction_id) VALUES (?,?,?,?)", batch)
                    batch.clear()
            if batch:
                conn.executemany("INSERT INTO export_members(version, path, user_hash, interaction_id) VALUES (?,?,?,?)", batch)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


def _infos(conn: sqlite3.Connection, where: str = "", args: Sequence[Any] = ()) -> list[ExportInfo]:
    rows = conn.execute(
        "SELECT version, kind, path, created_at, rows, n_interactions, n_users FROM exports " + where + " ORDER BY created_at, path", args
    ).fetchall()
    return [ExportInfo(*r) for r in rows]


def list_exports(fw: Any) -> list[ExportInfo]:
    """Every registered export, oldest first."""
    conn = _connect(_store_file(fw))
    try:
        return _infos(conn)
    finally:
        conn.close()


def exports_containing_user(fw: Any, user_id: str) -> list[ExportInfo]:
    """The exported dataset versions (and their folders) that contain data of ``user_id``."""
    key = user_key(fw)
    conn = _connect(_store_file(fw))
    try:
        return _infos(conn, "WHERE (version, path) IN (SELECT DISTINCT version, path FROM export_members WHERE user_hash = ?)",
                      (hash_user(key, user_id),))
    finally:
        conn.close()


def exports_containing_interaction(fw: Any, interaction_id: str) -> list[ExportInfo]:
    """The exported dataset versions that contain ``interaction_id``."""
    conn = _connect(_store_file(fw))
    try:
        return _infos(conn, "WHERE (version, path) IN (SELECT DISTINCT version, path FROM export_members WHERE interaction_id = ?)",
                      (interaction_id,))
    finally:
        conn.close()


def now() -> float:
    return time.time()
