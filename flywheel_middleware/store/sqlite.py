"""SQLite (WAL) backend: the source of truth for interactions, steps, decisions, signals, embeddings.

Every SQL statement of the embedded store is in this file (the few-shot catalog, curation,
export, monitoring and consent call the methods of ``TrajectoryStore``; see ``base.py`` for the
contract each method implements).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ..errors import StoreBusyError, StoreError
from ..records import Interaction, Signal
from .base import (
    ExportInfo,
    FeedbackRow,
    FewShotCandidate,
    InteractionQuery,
    MonitorRow,
    PreviousTurn,
    RewardRow,
    SessionTail,
    StoreCounts,
    StoredDocument,
    StoredInteraction,
    TurnQuery,
    TurnSummary,
)

APP_ID = "flywheel-middleware"


def read_folder_marker(marker: Path, folder: Path, what: str) -> dict[str, Any]:
    """The JSON marker of a flywheel folder (a store or a replica's queue folder), checked to be ours;
    ``what`` names the folder kind in the error ("store", "queue folder")."""
    try:
        meta = json.loads(marker.read_text())
    except (OSError, ValueError) as exc:
        raise StoreError(f"{marker} is unreadable ({exc}); the {what} may be corrupt") from exc
    if meta.get("app") != APP_ID:
        raise StoreError(f"{folder} belongs to another application ({meta.get('app')!r})")
    return meta
STORE_FORMAT = 1
SCHEME = "sqlite://"
_CHUNK = 500
_SEP = "\x1f"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS interactions(
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    session_id TEXT, user_id TEXT,
    started_at REAL, ended_at REAL, status TEXT,
    model_version TEXT, prompt_version TEXT,
    input_text TEXT, output_text TEXT,
    data TEXT NOT NULL,
    embedding BLOB,
    ingested_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS interactions_session ON interactions(session_id, started_at);
CREATE INDEX IF NOT EXISTS interactions_user ON interactions(user_id, started_at);
CREATE INDEX IF NOT EXISTS interactions_time ON interactions(started_at);
CREATE TABLE IF NOT EXISTS steps(
    interaction_id TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT, name TEXT,
    started_at REAL, ended_at REAL, error TEXT, data TEXT NOT NULL,
    PRIMARY KEY(interaction_id, idx)
);
CREATE TABLE IF NOT EXISTS decisions(
    interaction_id TEXT NOT NULL, idx INTEGER NOT NULL, decider TEXT, name TEXT, chosen TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY(interaction_id, idx)
);
CREATE TABLE IF NOT EXISTS signals(
    id TEXT PRIMARY KEY, interaction_id TEXT NOT NULL, kind TEXT NOT NULL, source TEXT,
    actor TEXT, at REAL, value TEXT, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS signals_interaction ON signals(interaction_id);
CREATE INDEX IF NOT EXISTS signals_kind ON signals(kind);
CREATE INDEX IF NOT EXISTS signals_actor ON signals(actor, at);
CREATE TABLE IF NOT EXISTS rewards(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    interaction_id TEXT NOT NULL UNIQUE, label TEXT NOT NULL, reward REAL NOT NULL, confidence REAL NOT NULL,
    n_signals INTEGER NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS consent(user_hash TEXT PRIMARY KEY, opted_out_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS erasures(user_hash TEXT PRIMARY KEY, erased_at REAL NOT NULL, report TEXT);
CREATE TABLE IF NOT EXISTS deleted_keys(key INTEGER NOT NULL, generation INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS deleted_keys_generation ON deleted_keys(generation);
CREATE TABLE IF NOT EXISTS queue_cursors(segment TEXT PRIMARY KEY, offset INTEGER NOT NULL);
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

# rewards before the change sequence: the implicit rowid was reused after deletions
_MIGRATE_REWARDS = """
ALTER TABLE rewards RENAME TO rewards_v1;
CREATE TABLE rewards(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    interaction_id TEXT NOT NULL UNIQUE, label TEXT NOT NULL, reward REAL NOT NULL, confidence REAL NOT NULL,
    n_signals INTEGER NOT NULL, updated_at REAL NOT NULL
);
INSERT INTO rewards(seq, interaction_id, label, reward, confidence, n_signals, updated_at)
    SELECT rowid, interaction_id, label, reward, confidence, n_signals, updated_at FROM rewards_v1 ORDER BY rowid;
DROP TABLE rewards_v1;
"""
_INDEXES_AFTER_MIGRATION = "CREATE INDEX IF NOT EXISTS rewards_label ON rewards(label, reward);"
_SCHEMA_OBJECTS = frozenset(re.findall(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", _SCHEMA + _INDEXES_AFTER_MIGRATION))
_META_DEFAULTS = ("app", "store_format", "created_at", "deletion_generation")
_log = logging.getLogger("flywheel_middleware")

#: ``TurnSummary.category_hint`` over ``interactions i`` (the chosen value is JSON text)
_CATEGORY_HINT = (
    "COALESCE(json_extract(i.data, '$.metadata.category'), json_extract(i.data, '$.metadata.run_metadata.category'),"
    " (SELECT d.chosen FROM decisions d WHERE d.interaction_id = i.id AND d.chosen NOT IN ('null', '[]', '\"\"')"
    " ORDER BY (d.decider = 'router') DESC, d.idx LIMIT 1))"
)
_TURN_SELECT = (
    "SELECT i.key, i.id, i.started_at, i.session_id, i.input_text, i.output_text, COALESCE(r.label, 'unknown'),"
    " COALESCE(r.reward, 0.0), COALESCE(r.confidence, 0.0), COALESCE(r.n_signals, 0), " + _CATEGORY_HINT
    + ", i.status, i.user_id FROM interactions i LEFT JOIN rewards r ON r.interaction_id = i.id"
)
_CHANGES_SQL = """
SELECT r.seq, i.key, r.label, r.reward, r.confidence, i.session_id, i.started_at,
  CASE WHEN r.label = 'good' THEN i.model_version END,
  CASE WHEN r.label IN ('good', 'bad') THEN COALESCE(json_extract(i.data, '$.metadata.category'),
                                           json_extract(i.data, '$.metadata.run_metadata.category')) END,
  CASE WHEN r.label IN ('good', 'bad') THEN COALESCE(json_extract(i.data, '$.metadata.language'),
                                           json_extract(i.data, '$.metadata.run_metadata.language')) END,
  CASE WHEN r.label = 'good' THEN COALESCE(json_extract(i.data, '$.metadata.route'),
                                           json_extract(i.data, '$.metadata.run_metadata.route')) END,
  CASE WHEN r.label = 'good' THEN (SELECT group_concat(s.name, char(31)) FROM steps s
                                   WHERE s.interaction_id = i.id AND s.kind = 'tool') END,
  CASE WHEN r.label = 'good' THEN (SELECT group_concat(d.chosen, char(31)) FROM decisions d
                                   WHERE d.interaction_id = i.id AND d.decider = 'router') END
FROM rewards r JOIN interactions i ON i.id = r.interaction_id
WHERE r.seq > ? ORDER BY r.seq LIMIT ?
"""
_MONITOR_SQL = """
SELECT i.key, i.id, i.started_at, i.status, i.model_version, i.user_id, i.input_text,
       json_extract(i.data, '$.metadata.category'), json_extract(i.data, '$.metadata.route'),
       json_extract(i.data, '$.metadata.user_segment'), {metadata_column},
       (SELECT d.chosen FROM decisions d WHERE d.interaction_id = i.id
          ORDER BY (d.decider = 'router') DESC, d.idx LIMIT 1),
       r.label, r.reward, r.confidence, r.n_signals
FROM interactions i LEFT JOIN rewards r ON r.interaction_id = i.id
WHERE (? IS NULL OR i.started_at >= ?) AND (? IS NULL OR i.started_at < ?)
ORDER BY i.key
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


def path_from_location(location: str) -> Path:
    """``sqlite:///abs/path`` -> the path (a plain path is accepted as it is)."""
    if location.startswith(SCHEME):
        return Path(location[len(SCHEME):])
    return Path(location)


class SQLiteStore:
    """One SQLite file in WAL mode; a connection per thread, one writer (the worker).

    ``read_only=True`` opens an existing store without touching it (no schema creation, writes
    fail): what export worker processes use through ``store.open_store(location, read_only=True)``.

    Opening verifies the file with ``PRAGMA quick_check`` (a corrupt page is a ``StoreError``, not
    a store that "works" until a read hits the page) when it is at most ``quick_check_max_bytes``
    (about 1 s per 400 MB here); a bigger store is checked by ``check_integrity()``, which its
    ingesting worker runs once in the background. Deleted rows are overwritten with zeros
    (``secure_delete``) and ``close()`` / ``checkpoint()`` truncate the write-ahead log, so an erased
    user's ids do not linger in free pages or in the WAL. Another process holding the write lock
    longer than ``busy_timeout_s`` is a ``StoreBusyError`` for the user-facing writes (opt-out,
    erasure, opening a store that needs a schema change); opening a current store needs no write.
    """

    transient_errors: tuple[type[BaseException], ...] = (sqlite3.Error, StoreBusyError)
    quick_check_max_bytes: int = int(os.environ.get("FLYWHEEL_QUICK_CHECK_MAX_BYTES", 512 << 20))

    def __init__(self, path: Path, *, busy_timeout_s: float = 5.0, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"{self.path} is a directory, not a flywheel SQLite store")
        self.integrity_checked = False  # True once quick_check passed (on open, or later by check_integrity)
        if read_only:
            if not self.path.exists():
                raise StoreError(f"{self.path} does not exist; a read-only store must open an existing one")
        else:
            self._init_schema()

    @property
    def location(self) -> str:
        return SCHEME + str(self.path.resolve())

    # -- connection handling -------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                if self.read_only:
                    conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True, timeout=self._busy_timeout_s,
                                           check_same_thread=False, isolation_level=None)
                else:
                    conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, check_same_thread=False, isolation_level=None)
                    conn.execute("PRAGMA journal_mode=WAL")
                    # FULL: a commit is on disk before the queue segments it consumed can be deleted, so a
                    # power cut cannot lose a batch (one fsync per worker transaction, off the hot path)
                    conn.execute("PRAGMA synchronous=FULL")
                    conn.execute("PRAGMA secure_delete=ON")  # erased rows leave zeros, not their bytes, in free pages
                conn.execute("PRAGMA foreign_keys=OFF")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path} is not a flywheel store (SQLite says: {exc}); refusing to touch it") from exc
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn().execute(sql, args).fetchall()

    def _init_schema(self) -> None:
        conn = self._conn()
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a flywheel store (SQLite says: {exc}); refusing to touch it") from exc
        if tables and "meta" not in tables:
            raise StoreError(f"{self.path} is a SQLite database of another application (tables: {sorted(tables)[:5]})")
        if tables:
            app = self._meta(conn, "app")
            if app != APP_ID:
                raise StoreError(f"{self.path} belongs to another application (app={app!r})")
            fmt = int(self._meta(conn, "store_format") or 0)
            if fmt > STORE_FORMAT:
                raise StoreError(f"{self.path} has store format {fmt}; this library reads up to {STORE_FORMAT}. Upgrade it.")
            if self.path.stat().st_size <= self.quick_check_max_bytes:
                self.check_integrity(conn)
        if self._schema_is_current(conn):
            return  # opening needs no write (and so no write lock another process may hold)
        try:
            with self._write_lock:
                conn.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
                columns = {r[1] for r in conn.execute("PRAGMA table_info(rewards)")}
                if "seq" not in columns:
                    conn.executescript("BEGIN IMMEDIATE;" + _MIGRATE_REWARDS + "COMMIT;")
                conn.execute(_INDEXES_AFTER_MIGRATION)
                conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('app', ?)", (APP_ID,))
                conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('store_format', ?)", (str(STORE_FORMAT),))
                conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('created_at', ?)", (str(time.time()),))
                conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('deletion_generation', '0')")
        except sqlite3.OperationalError as exc:
            _rollback(conn)
            raise self._busy(exc, "create or migrate its tables") from exc

    def _schema_is_current(self, conn: sqlite3.Connection) -> bool:
        objects = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}
        if not objects >= _SCHEMA_OBJECTS or "seq" not in {r[1] for r in conn.execute("PRAGMA table_info(rewards)")}:
            return False
        marks = _marks(_META_DEFAULTS)
        return conn.execute(f"SELECT COUNT(*) FROM meta WHERE key IN ({marks})", _META_DEFAULTS).fetchone()[0] == len(_META_DEFAULTS)

    def check_integrity(self, conn: sqlite3.Connection | None = None) -> None:
        """``PRAGMA quick_check``: raise ``StoreError`` naming what SQLite found, if anything."""
        conn = conn or self._conn()
        try:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
        except sqlite3.DatabaseError as exc:
            rows = [str(exc)]
        if rows != ["ok"]:
            raise StoreError(
                f"{self.path} is corrupt (SQLite quick_check: {'; '.join(rows)[:400]}); nothing was changed. "
                "Restore a backup, or salvage what is readable with `sqlite3 store.sqlite .recover | sqlite3 new.sqlite`"
            )
        self.integrity_checked = True

    def _busy(self, exc: sqlite3.OperationalError, doing: str) -> Exception:
        """A lock held too long becomes a ``StoreBusyError`` that says so; other errors stay as they are."""
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return StoreBusyError(
                f"{self.path} is locked by another process (a long write or an open transaction) for over "
                f"{self._busy_timeout_s:g} s, so this process could not {doing}; retry when it is done"
            )
        return exc

    @contextlib.contextmanager
    def _user_write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """A write a user asked for (opt-out, erasure): a held lock is a clear ``StoreBusyError``."""
        conn = self._conn()
        try:
            with self._write_lock:
                yield conn
        except sqlite3.OperationalError as exc:
            _rollback(conn)
            raise self._busy(exc, doing) from exc

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _get_meta(self, key: str) -> str | None:
        return self._meta(self._conn(), key)

    def _set_meta(self, key: str, value: str) -> None:
        with self._write_lock:
            self._conn().execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def _json_meta(self, key: str) -> dict[str, Any]:
        try:
            value = json.loads(self._get_meta(key) or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    # -- ingest ------------------------------------------------------------------------------
    def ingest(self, interactions: Sequence[StoredInteraction], signals: Sequence[Signal], cursors: Mapping[str, int]) -> list[int]:
        conn = self._conn()
        now = time.time()
        keys: list[int] = []
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for stored in interactions:
                    keys.append(self._upsert(conn, stored, now))
                for signal in signals:
                    # the same signal again is one signal; sent again later, it is the latest word
                    # (rating 3, then 5, then 3 again: the reward must see 3)
                    conn.execute(
                        "INSERT INTO signals(id, interaction_id, kind, source, actor, at, value, data)"
                        " VALUES (?,?,?,?,?,?,?,?)"
                        " ON CONFLICT(id) DO UPDATE SET at=excluded.at, data=excluded.data WHERE excluded.at > signals.at",
                        (signal.id, signal.interaction_id, signal.kind, signal.source, signal.actor, signal.at,
                         _dumps(signal.value), _dumps(signal.to_dict())),
                    )
                conn.executemany(
                    "INSERT INTO queue_cursors(segment, offset) VALUES (?, ?)"
                    " ON CONFLICT(segment) DO UPDATE SET offset=excluded.offset",
                    list(cursors.items()),
                )
                if interactions or signals:
                    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('last_ingest_at', ?)", (str(now),))
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)  # SQLite may have rolled back already (a full disk): keep the real error
                raise
        return keys

    def _upsert(self, conn: sqlite3.Connection, stored: StoredInteraction, now: float) -> int:
        it = stored.interaction
        blob = None if stored.embedding is None else np.asarray(stored.embedding, dtype=np.float32).tobytes()
        conn.execute(
            "INSERT INTO interactions(id, session_id, user_id, started_at, ended_at, status, model_version,"
            " prompt_version, input_text, output_text, data, embedding, ingested_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(id) DO UPDATE SET session_id=excluded.session_id, user_id=excluded.user_id,"
            " started_at=excluded.started_at, ended_at=excluded.ended_at, status=excluded.status,"
            " model_version=excluded.model_version, prompt_version=excluded.prompt_version,"
            " input_text=excluded.input_text, output_text=excluded.output_text, data=excluded.data,"
            " embedding=COALESCE(excluded.embedding, interactions.embedding), ingested_at=excluded.ingested_at",
            (it.id, it.session_id, it.user_id, it.started_at, it.ended_at, it.status, it.model_version,
             it.prompt_version, it.input_text, it.output_text, _dumps(it.to_dict()), blob, now),
        )
        key = conn.execute("SELECT key FROM interactions WHERE id=?", (it.id,)).fetchone()[0]
        conn.execute("DELETE FROM steps WHERE interaction_id=?", (it.id,))
        conn.execute("DELETE FROM decisions WHERE interaction_id=?", (it.id,))
        conn.executemany(
            "INSERT INTO steps(interaction_id, idx, kind, name, started_at, ended_at, error, data) VALUES (?,?,?,?,?,?,?,?)",
            [(it.id, i, s.kind, s.name, s.started_at, s.ended_at, s.error, _dumps(s.to_dict())) for i, s in enumerate(it.steps)],
        )
        conn.executemany(
            "INSERT INTO decisions(interaction_id, idx, decider, name, chosen, data) VALUES (?,?,?,?,?,?)",
            [(it.id, i, d.decider, d.name, _dumps(d.chosen), _dumps(d.to_dict())) for i, d in enumerate(it.decisions)],
        )
        return int(key)

    def cursors(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self._rows("SELECT segment, offset FROM queue_cursors")}

    def drop_cursor(self, segment: str) -> None:
        with self._write_lock:
            self._conn().execute("DELETE FROM queue_cursors WHERE segment=?", (segment,))

    def processed_cursors(self) -> dict[str, int]:
        try:
            return {str(k): int(v) for k, v in self._json_meta("processed_cursors").items()}
        except (TypeError, ValueError):
            return {}

    def mark_processed(self, cursors: Mapping[str, int]) -> None:
        if not cursors:
            return
        current = self.processed_cursors()
        for name, offset in cursors.items():
            current[name] = max(current.get(name, 0), int(offset))
        self._set_meta("processed_cursors", json.dumps(current))

    def forget_processed(self, segment: str) -> None:
        current = self.processed_cursors()
        if current.pop(segment, None) is not None:
            self._set_meta("processed_cursors", json.dumps(current))

    def missing_embeddings(self, limit: int = 256) -> list[Interaction]:
        rows = self._rows("SELECT data FROM interactions WHERE embedding IS NULL AND COALESCE(input_text, '') != ''"
                          " ORDER BY key LIMIT ?", (limit,))
        return [Interaction.from_dict(json.loads(r[0])) for r in rows]

    def set_embeddings(self, pairs: Sequence[tuple[str, np.ndarray]]) -> list[int]:
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "UPDATE interactions SET embedding=? WHERE id=?",
                    [(np.asarray(v, dtype=np.float32).tobytes(), i) for i, v in pairs],
                )
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)  # SQLite may have rolled back already (a full disk): keep the real error
                raise
        return [k for k in (self.key_of(i) for i, _ in pairs) if k is not None]

    def publish_counters(self, counters: Mapping[str, int]) -> None:
        self._set_meta("worker_counters", json.dumps(dict(counters)))

    def published_counters(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for key, value in self._json_meta("worker_counters").items():
            try:
                out[str(key)] = int(value)
            except (TypeError, ValueError):
                continue
        return out

    # -- single interactions and signals ----------------------------------------------------------
    def get(self, interaction_id: str) -> Interaction | None:
        row = self._conn().execute("SELECT data FROM interactions WHERE id=?", (interaction_id,)).fetchone()
        return Interaction.from_dict(json.loads(row[0])) if row else None

    def key_of(self, interaction_id: str) -> int | None:
        row = self._conn().execute("SELECT key FROM interactions WHERE id=?", (interaction_id,)).fetchone()
        return int(row[0]) if row else None

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(ids), _CHUNK):
            found.update(r[0] for r in self._rows(f"SELECT id FROM interactions WHERE id IN ({_marks(chunk)})", chunk))
        return found

    def ids_for_keys(self, keys: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in _chunks([int(k) for k in keys], _CHUNK):
            out.update((int(k), i) for k, i in self._rows(f"SELECT key, id FROM interactions WHERE key IN ({_marks(chunk)})", chunk))
        return out

    def statuses(self, interaction_ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(list(interaction_ids), _CHUNK):
            out.update(self._rows(f"SELECT id, status FROM interactions WHERE id IN ({_marks(chunk)})", chunk))
        return out

    def span_ids(self, interaction_ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(list(interaction_ids), _CHUNK):
            rows = self._rows(f"SELECT id, json_extract(data, '$.metadata.span_id') FROM interactions WHERE id IN ({_marks(chunk)})", chunk)
            out.update((iid, span or "") for iid, span in rows)
        return out

    def signals_for(self, interaction_ids: Sequence[str]) -> dict[str, list[Signal]]:
        out: dict[str, list[Signal]] = {i: [] for i in interaction_ids}
        for chunk in _chunks(list(interaction_ids), _CHUNK):
            for iid, data in self._rows(
                f"SELECT interaction_id, data FROM signals WHERE interaction_id IN ({_marks(chunk)}) ORDER BY at", chunk
            ):
                out.setdefault(iid, []).append(Signal.from_dict(json.loads(data)))
        return out

    def list_interactions(self, query: InteractionQuery) -> list[Interaction]:
        where, args = [], []
        for column, value in (("session_id", query.session_id), ("user_id", query.user_id), ("status", query.status)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if query.since is not None:
            where.append("started_at >= ?")
            args.append(query.since)
        if query.until is not None:
            where.append("started_at < ?")
            args.append(query.until)
        if query.signal_kind is not None:
            where.append("id IN (SELECT interaction_id FROM signals WHERE kind = ?)")
            args.append(query.signal_kind)
        if query.ids is not None:
            ids = list(query.ids)
            where.append(f"id IN ({_marks(ids) or 'NULL'})")
            args.extend(ids)
        sql = "SELECT data FROM interactions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY started_at {'DESC' if query.newest_first else 'ASC'}, key"
        if query.limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [int(query.limit), int(query.offset)]
        return [Interaction.from_dict(json.loads(r[0])) for r in self._rows(sql, args)]

    def documents(self, keys: Sequence[int], *, embeddings: bool = False) -> dict[int, StoredDocument]:
        out: dict[int, StoredDocument] = {}
        extra = ", embedding" if embeddings else ""
        cond = " AND embedding IS NOT NULL" if embeddings else ""
        for chunk in _chunks([int(k) for k in keys], _CHUNK):
            for row in self._rows(
                f"SELECT key, id, user_id, session_id, started_at, data{extra} FROM interactions WHERE key IN ({_marks(chunk)}){cond}", chunk
            ):
                vector = np.frombuffer(row[6], dtype=np.float32) if embeddings else None
                out[int(row[0])] = StoredDocument(int(row[0]), row[1], row[2], row[3], row[4], row[5], vector)
        return out

    # -- sessions -------------------------------------------------------------------------------------
    def previous_turn(self, session_id: str, before: float, exclude_id: str) -> PreviousTurn | None:
        turns = self.previous_turns(session_id, before, exclude_id, 1)
        return turns[0] if turns else None

    def previous_turns(self, session_id: str, before: float, exclude_id: str, limit: int) -> list[PreviousTurn]:
        rows = self._rows(
            "SELECT id, input_text, output_text, COALESCE(ended_at, started_at), embedding FROM interactions"
            " WHERE session_id = ? AND started_at < ? AND id != ? ORDER BY started_at DESC, key DESC LIMIT ?",
            (session_id, before, exclude_id, int(limit)),
        )
        return [PreviousTurn(iid, text or "", answer or "", float(end or 0.0), None if blob is None else np.frombuffer(blob, dtype=np.float32))
                for iid, text, answer, end, blob in rows]

    def next_turn(self, session_id: str, after: float, until: float, exclude_id: str) -> Interaction | None:
        row = self._conn().execute(
            "SELECT data FROM interactions WHERE session_id = ? AND started_at > ? AND started_at <= ? AND id != ?"
            " ORDER BY started_at LIMIT 1",
            (session_id, after, until, exclude_id),
        ).fetchone()
        return Interaction.from_dict(json.loads(row[0])) if row else None

    def stale_sessions(self, idle_since: float, not_before: float) -> list[SessionTail]:
        rows = self._rows(
            "SELECT i.session_id, i.id, COALESCE(i.ended_at, i.started_at) FROM interactions i"
            " JOIN (SELECT session_id, MAX(started_at) AS m FROM interactions WHERE session_id IS NOT NULL"
            "       GROUP BY session_id HAVING m < ? AND m > ?) s"
            " ON i.session_id = s.session_id AND i.started_at = s.m",
            (idle_since, not_before),
        )
        return [SessionTail(session, iid, float(last or 0.0)) for session, iid, last in rows]

    # -- rewards ----------------------------------------------------------------------------------------
    def upsert_rewards(self, rows: Sequence[RewardRow]) -> None:
        now = time.time()
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                # REPLACE deletes and re-inserts: the row gets the next seq (AUTOINCREMENT never reuses one)
                conn.executemany(
                    "INSERT OR REPLACE INTO rewards(interaction_id, label, reward, confidence, n_signals, updated_at)"
                    " VALUES (?,?,?,?,?,?)",
                    [(r[0], r[1], float(r[2]), float(r[3]), int(r[4]), now) for r in rows],
                )
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)  # SQLite may have rolled back already (a full disk): keep the real error
                raise

    def rewards_for(self, interaction_ids: Sequence[str]) -> dict[str, RewardRow]:
        out: dict[str, RewardRow] = {}
        for chunk in _chunks(list(interaction_ids), _CHUNK):
            for iid, label, reward, conf, n in self._rows(
                f"SELECT interaction_id, label, reward, confidence, n_signals FROM rewards WHERE interaction_id IN ({_marks(chunk)})", chunk
            ):
                out[iid] = RewardRow(iid, label, reward, conf, n)
        return out

    def busy_actors(self, since: float, cap: int) -> set[str]:
        rows = self._rows(
            "SELECT actor FROM signals WHERE source='explicit' AND actor IS NOT NULL AND at >= ? GROUP BY actor HAVING COUNT(*) > ?",
            (since, cap),
        )
        return {r[0] for r in rows}

    # -- few-shot candidates ------------------------------------------------------------------------------
    def reward_changes(self, after_seq: int, limit: int) -> list[FewShotCandidate]:
        # the catalog reads every reward row at start: keep this loop lean (no per-row generators)
        return [
            FewShotCandidate(seq, key, label, reward, conf, session, started, model, category, language, route,
                             tuple(tools.split(_SEP)) if tools else (), tuple(routes.split(_SEP)) if routes else ())
            for seq, key, label, reward, conf, session, started, model, category, language, route, tools, routes
            in self._rows(_CHANGES_SQL, (int(after_seq), int(limit)))
        ]

    def good_keys(self) -> np.ndarray:
        rows = self._rows("SELECT i.key FROM rewards r JOIN interactions i ON i.id = r.interaction_id WHERE r.label = 'good'")
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def good_keys_with_metadata(self, name: str, values: Sequence[str]) -> np.ndarray:
        values = [str(v) for v in values]
        if not values:
            return np.zeros(0, dtype=np.int64)
        rows = self._rows(
            "SELECT i.key FROM interactions i JOIN rewards r ON r.interaction_id = i.id WHERE r.label = 'good' AND"
            f" (CAST(json_extract(i.data, ?) AS TEXT) IN ({_marks(values)}) OR CAST(json_extract(i.data, ?) AS TEXT) IN ({_marks(values)}))",
            (f'$.metadata."{name}"', *values, f'$.metadata.run_metadata."{name}"', *values),
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    # -- vectors -----------------------------------------------------------------------------------------
    def iter_embeddings(self, after_key: int = 0, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        last = after_key
        while True:
            rows = self._rows(
                "SELECT key, embedding FROM interactions WHERE key > ? AND embedding IS NOT NULL ORDER BY key LIMIT ?",
                (last, batch),
            )
            if not rows:
                return
            keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vectors = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            yield keys, vectors
            last = int(keys[-1])

    def embeddings_for(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = np.asarray(keys, dtype=np.int64)
        found = np.zeros(len(keys), dtype=bool)
        vectors: np.ndarray | None = None
        if not len(keys):
            return found, np.zeros((0, 0), np.float32)
        pos = {int(k): i for i, k in enumerate(keys)}

        def put(k: int, v: np.ndarray) -> None:
            nonlocal vectors
            i = pos.get(int(k))
            if i is None:
                return
            if vectors is None:
                vectors = np.zeros((len(keys), len(v)), np.float32)
            vectors[i] = v
            found[i] = True

        if len(keys) > 20_000:  # a sequential scan beats many IN lookups
            for batch_keys, batch_vecs in self.iter_embeddings():
                for k, v in zip(batch_keys, batch_vecs):
                    put(int(k), v)
        else:
            for chunk in _chunks([int(k) for k in keys], _CHUNK):
                for k, blob in self._rows(
                    f"SELECT key, embedding FROM interactions WHERE embedding IS NOT NULL AND key IN ({_marks(chunk)})", chunk
                ):
                    put(int(k), np.frombuffer(blob, dtype=np.float32))
        if vectors is None:
            vectors = np.zeros((len(keys), 1), np.float32)
        return found, vectors

    def max_key(self) -> int:
        row = self._conn().execute("SELECT MAX(key) FROM interactions WHERE embedding IS NOT NULL").fetchone()
        return int(row[0] or 0)

    # -- scans --------------------------------------------------------------------------------------------
    def turns(self, query: TurnQuery) -> list[TurnSummary]:
        where: list[str] = []
        args: list[Any] = []
        if query.since is not None:
            where.append("i.started_at >= ?")
            args.append(float(query.since))
        if query.until is not None:
            where.append("i.started_at < ?")
            args.append(float(query.until))
        if query.users is not None:
            users = list(query.users)
            where.append(f"i.user_id IN ({_marks(users) or 'NULL'})")
            args += users
        if query.exclude_users:
            users = list(query.exclude_users)
            where.append(f"(i.user_id IS NULL OR i.user_id NOT IN ({_marks(users)}))")
            args += users
        if query.model_versions is not None:
            versions = list(query.model_versions)
            where.append(f"i.model_version IN ({_marks(versions) or 'NULL'})")
            args += versions
        judged = []
        if query.labels:
            labels = list(query.labels)
            judged.append(f"r.label IN ({_marks(labels)})")
            args += labels
        if query.or_signal_kinds:
            kinds = list(query.or_signal_kinds)
            # a non-correlated IN (built once) rather than EXISTS, which SQLite would run per row
            judged.append(f"i.id IN (SELECT s.interaction_id FROM signals s WHERE s.kind IN ({_marks(kinds)}))")
            args += kinds
        if judged:
            where.append("(" + " OR ".join(judged) + ")")
        if query.after_key is not None:
            where.append("i.key > ?")
            args.append(int(query.after_key))
            order = " ORDER BY i.key"
        else:
            order = f" ORDER BY i.started_at {'DESC' if query.newest_first else 'ASC'}, i.key"
        limit = f" LIMIT {int(query.limit)}" if query.limit else ""
        members: tuple[str, list[Any]] | None = None
        if query.ids is not None:
            members = ("i.id", list(dict.fromkeys(query.ids)))
        elif query.keys is not None:
            members = ("i.key", list(dict.fromkeys(int(k) for k in query.keys)))
        if members is None:
            sql = _TURN_SELECT + (" WHERE " + " AND ".join(where) if where else "") + order + limit
            return [TurnSummary(*r) for r in self._rows(sql, args)]
        column, values = members
        out: list[TurnSummary] = []
        for chunk in _chunks(values, _CHUNK):
            sql = _TURN_SELECT + " WHERE " + " AND ".join(where + [f"{column} IN ({_marks(chunk)})"]) + order
            out += [TurnSummary(*r) for r in self._rows(sql, args + chunk)]
        if query.after_key is not None:
            out.sort(key=lambda r: r.key)
        else:
            out.sort(key=lambda r: (r.started_at or 0.0, r.key), reverse=query.newest_first)
        return out[: query.limit] if query.limit else out

    def feedback_rows(self, kinds: Sequence[str]) -> list[FeedbackRow]:
        kinds = list(kinds)
        if not kinds:
            return []
        out = []
        for key, session, kind, value in self._rows(
            "SELECT i.key, i.session_id, s.kind, s.value FROM signals s JOIN interactions i ON i.id = s.interaction_id"
            f" WHERE s.kind IN ({_marks(kinds)}) ORDER BY s.at, s.id",
            kinds,
        ):
            try:
                decoded = json.loads(value) if isinstance(value, str) else value
            except ValueError:
                decoded = value
            out.append(FeedbackRow(int(key), session, kind, decoded))
        return out

    def ids_with_signals(self, kinds: Sequence[str]) -> set[str]:
        kinds = list(kinds)
        if not kinds:
            return set()
        return {r[0] for r in self._rows(f"SELECT DISTINCT interaction_id FROM signals WHERE kind IN ({_marks(kinds)})", kinds)}

    def keys_with_signals(self, kinds: Sequence[str]) -> dict[str, np.ndarray]:
        kinds = list(dict.fromkeys(kinds))
        found: dict[str, list[int]] = {kind: [] for kind in kinds}
        if kinds:
            for key, kind in self._rows(
                "SELECT i.key, s.kind FROM signals s JOIN interactions i ON i.id = s.interaction_id"
                f" WHERE s.kind IN ({_marks(kinds)}) GROUP BY i.key, s.kind",
                kinds,
            ):
                found[kind].append(int(key))
        return {kind: np.unique(np.asarray(keys, dtype=np.int64)) for kind, keys in found.items()}

    def monitor_rows(self, since: float | None = None, until: float | None = None, *, with_metadata: bool = False) -> list[MonitorRow]:
        column = "json_extract(i.data, '$.metadata')" if with_metadata else "NULL"
        rows = self._rows(_MONITOR_SQL.format(metadata_column=column), (since, since, until, until))
        if not with_metadata:
            return [MonitorRow(*r) for r in rows]
        out = []
        for r in rows:
            try:
                meta = json.loads(r[10]) if r[10] else {}
            except ValueError:
                meta = {}
            out.append(MonitorRow(*r[:10], meta if isinstance(meta, dict) else {}, *r[11:]))
        return out

    def counts(self) -> StoreCounts:
        conn = self._conn()
        last = self._get_meta("last_ingest_at")
        return StoreCounts(
            interactions=conn.execute("SELECT COUNT(*) FROM interactions").fetchone()[0],
            steps_by_kind=dict(conn.execute("SELECT kind, COUNT(*) FROM steps GROUP BY kind ORDER BY kind").fetchall()),
            signals_by_kind=dict(conn.execute("SELECT kind, COUNT(*) FROM signals GROUP BY kind ORDER BY kind").fetchall()),
            embedded=conn.execute("SELECT COUNT(*) FROM interactions WHERE embedding IS NOT NULL").fetchone()[0],
            last_ingest_at=float(last) if last else None,
            rewards_by_label=dict(conn.execute("SELECT label, COUNT(*) FROM rewards GROUP BY label ORDER BY label").fetchall()),
            rated=conn.execute("SELECT COUNT(*) FROM rewards WHERE n_signals > 0").fetchone()[0],
        )

    # -- consent, erasure, retention ---------------------------------------------------------------
    def set_opt_out(self, user_hash: str, opted_out: bool) -> None:
        with self._user_write("record the opt-out" if opted_out else "record the opt-in") as conn:
            if opted_out:
                conn.execute("INSERT OR IGNORE INTO consent(user_hash, opted_out_at) VALUES (?, ?)", (user_hash, time.time()))
            else:
                conn.execute("DELETE FROM consent WHERE user_hash=?", (user_hash,))

    def opted_out_hashes(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT user_hash FROM consent")]

    def add_erasure(self, user_hash: str, erased_at: float) -> None:
        with self._user_write("record the erasure") as conn:
            conn.execute("INSERT OR REPLACE INTO erasures(user_hash, erased_at) VALUES (?, ?)", (user_hash, erased_at))

    def finish_erasure(self, user_hash: str, report: str) -> None:
        with self._user_write("record the erasure report") as conn:
            conn.execute("UPDATE erasures SET report=? WHERE user_hash=?", (report, user_hash))

    def erasure_tombstones(self) -> dict[str, float]:
        return {h: float(t) for h, t in self._rows("SELECT user_hash, erased_at FROM erasures")}

    def interaction_ids_for_user(self, user_id: str) -> list[str]:
        return [r[0] for r in self._rows("SELECT id FROM interactions WHERE user_id=?", (user_id,))]

    def signal_ids_by_actor(self, actor: str) -> list[str]:
        return [r[0] for r in self._rows("SELECT id FROM signals WHERE actor=?", (actor,))]

    def interaction_ids_before(self, cutoff: float) -> list[str]:
        return [r[0] for r in self._rows("SELECT id FROM interactions WHERE started_at < ?", (cutoff,))]

    def delete_interactions(self, ids: Sequence[str]) -> list[int]:
        if not ids:
            return []
        keys: list[int] = []
        with self._user_write("delete interactions") as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for chunk in _chunks(list(ids), _CHUNK):
                    marks = _marks(chunk)
                    keys += [r[0] for r in conn.execute(f"SELECT key FROM interactions WHERE id IN ({marks})", chunk)]
                    for table, column in (("interactions", "id"), ("steps", "interaction_id"), ("decisions", "interaction_id"),
                                          ("signals", "interaction_id"), ("rewards", "interaction_id")):
                        conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk)
                conn.execute(
                    "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key='deletion_generation'"
                )
                generation = int(self._meta(conn, "deletion_generation") or 0)
                conn.executemany("INSERT INTO deleted_keys(key, generation) VALUES (?, ?)", [(k, generation) for k in keys])
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)  # SQLite may have rolled back already (a full disk): keep the real error
                raise
        return keys

    def delete_signals(self, signal_ids: Sequence[str]) -> int:
        if not signal_ids:
            return 0
        with self._user_write("delete signals") as conn:
            n = 0
            for chunk in _chunks(list(signal_ids), _CHUNK):
                n += conn.execute(f"DELETE FROM signals WHERE id IN ({_marks(chunk)})", chunk).rowcount
            return n

    # -- the deletion log ------------------------------------------------------------------------------
    def deletion_generation(self) -> int:
        return int(self._get_meta("deletion_generation") or 0)

    def deleted_keys_since(self, generation: int) -> tuple[list[int], int]:
        current = self.deletion_generation()
        keys = [r[0] for r in self._rows("SELECT key FROM deleted_keys WHERE generation > ?", (generation,))]
        return keys, current

    # -- the export registry ----------------------------------------------------------------------------
    def export_user_key(self) -> bytes:
        with self._write_lock:
            self._conn().execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('export_user_key', ?)", (secrets.token_hex(32),))
        return bytes.fromhex(self._get_meta("export_user_key") or "")

    def register_export(self, info: ExportInfo, members: Iterable[tuple[str | None, str]], summary: Mapping[str, Any]) -> None:
        insert = "INSERT INTO export_members(version, path, user_hash, interaction_id) VALUES (?,?,?,?)"
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                # a folder holds one export: whatever was registered there before is superseded
                conn.execute("DELETE FROM export_members WHERE path = ?", (info.path,))
                conn.execute("DELETE FROM exports WHERE path = ?", (info.path,))
                conn.execute(
                    "INSERT INTO exports(version, kind, path, created_at, rows, n_interactions, n_users, manifest) VALUES (?,?,?,?,?,?,?,?)",
                    (info.version, info.kind, info.path, info.created_at, info.rows, info.n_interactions, info.n_users,
                     json.dumps(dict(summary), sort_keys=True, default=str)),
                )
                batch: list[tuple[str, str, str | None, str]] = []
                for user_hash, iid in members:
                    batch.append((info.version, info.path, user_hash, iid))
                    if len(batch) >= 10_000:
                        conn.executemany(insert, batch)
                        batch.clear()
                if batch:
                    conn.executemany(insert, batch)
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)  # SQLite may have rolled back already (a full disk): keep the real error
                raise

    def export_members(self, info: ExportInfo) -> list[tuple[str | None, str]]:
        return [(h, i) for h, i in self._rows("SELECT user_hash, interaction_id FROM export_members WHERE version = ? AND path = ?",
                                              (info.version, info.path))]

    def export_summary(self, info: ExportInfo) -> dict[str, Any]:
        rows = self._rows("SELECT manifest FROM exports WHERE version = ? AND path = ?", (info.version, info.path))
        try:
            value = json.loads(rows[0][0]) if rows else {}
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def set_export_user_key(self, key: bytes) -> None:
        current = self._get_meta("export_user_key")
        if current is not None and current != key.hex() and self._rows("SELECT 1 FROM exports LIMIT 1"):
            raise StoreError(f"{self.path} already registered exports under another user-hash key")
        self._set_meta("export_user_key", key.hex())

    def exports(self, *, user_hash: str | None = None, interaction_id: str | None = None) -> list[ExportInfo]:
        where, args = [], []
        for column, value in (("user_hash", user_hash), ("interaction_id", interaction_id)):
            if value is not None:
                where.append(f"(version, path) IN (SELECT DISTINCT version, path FROM export_members WHERE {column} = ?)")
                args.append(value)
        sql = "SELECT version, kind, path, created_at, rows, n_interactions, n_users FROM exports"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [ExportInfo(*r) for r in self._rows(sql + " ORDER BY created_at, path", args)]

    def set_thread_busy_timeout(self, seconds: float) -> None:
        """How long this thread's connection waits for another process's lock before a ``locked``
        error (the ingest worker waits little and retries with backoff, so a held lock shows in
        ``stats()`` within a second or two instead of after the default 5 s)."""
        self._conn().execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")

    def checkpoint(self, wait_s: float = 0.2) -> bool:
        """Copy the write-ahead log into the database and truncate it to zero bytes, so rows deleted
        (an erasure) leave no old copy in the WAL. Waits at most ``wait_s`` for other processes'
        readers and writers; returns False if they kept it busy (the WAL is truncated next time)."""
        if self.read_only:
            return False
        try:
            conn = self._conn()
            with self._write_lock:
                conn.execute(f"PRAGMA busy_timeout={int(wait_s * 1000)}")
                try:
                    busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                finally:
                    conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_s * 1000)}")
        except sqlite3.Error as exc:
            _log.debug("flywheel: WAL checkpoint failed: %s", exc)
            return False
        return busy == 0

    def close(self) -> None:
        if self._connections:
            self.checkpoint()
        with self._connections_lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open; SQLite rolls some back itself (a full disk), and a
    ROLLBACK then would raise "no transaction is active" and hide the error that matters."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        _log.debug("flywheel: rollback failed: %s", exc)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
