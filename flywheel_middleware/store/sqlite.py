"""SQLite (WAL) backend: the source of truth for interactions, steps, decisions, signals, embeddings."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ..errors import StoreError
from ..records import Interaction, Signal
from .base import InteractionQuery, StoreCounts, StoredInteraction

APP_ID = "flywheel-middleware"
STORE_FORMAT = 1

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
    interaction_id TEXT PRIMARY KEY, label TEXT NOT NULL, reward REAL NOT NULL, confidence REAL NOT NULL,
    n_signals INTEGER NOT NULL, updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rewards_label ON rewards(label, reward);
CREATE TABLE IF NOT EXISTS consent(user_hash TEXT PRIMARY KEY, opted_out_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS erasures(user_hash TEXT PRIMARY KEY, erased_at REAL NOT NULL, report TEXT);
CREATE TABLE IF NOT EXISTS deleted_keys(key INTEGER NOT NULL, generation INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS deleted_keys_generation ON deleted_keys(generation);
CREATE TABLE IF NOT EXISTS queue_cursors(segment TEXT PRIMARY KEY, offset INTEGER NOT NULL);
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)


class SQLiteStore:
    """One SQLite file in WAL mode; a connection per thread, one writer (the worker)."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"{self.path} is a directory, not a flywheel SQLite store")
        self._init_schema()

    # -- connection handling -------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=OFF")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path} is not a flywheel store (SQLite says: {exc}); refusing to touch it") from exc
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

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
        with self._write_lock:
            conn.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('app', ?)", (APP_ID,))
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('store_format', ?)", (str(STORE_FORMAT),))
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('created_at', ?)", (str(time.time()),))
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('deletion_generation', '0')")

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def get_meta(self, key: str) -> str | None:
        return self._meta(self._conn(), key)

    def set_meta(self, key: str, value: str) -> None:
        with self._write_lock:
            self._conn().execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- writes ------------------------------------------------------------------------------
    def ingest(self, interactions: Sequence[StoredInteraction], signals: Sequence[Signal], cursors: dict[str, int]) -> list[int]:
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
                conn.execute("ROLLBACK")
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

    def upsert_rewards(self, rows: Sequence[tuple[str, str, float, float, int]]) -> None:
        """(interaction_id, label, reward, confidence, n_signals) rows, derived from signals."""
        now = time.time()
        with self._write_lock:
            self._conn().executemany(
                "INSERT OR REPLACE INTO rewards(interaction_id, label, reward, confidence, n_signals, updated_at)"
                " VALUES (?,?,?,?,?,?)",
                [(*row, now) for row in rows],
            )

    def rewards_for(self, interaction_ids: Sequence[str]) -> dict[str, tuple[str, float, float, int]]:
        out: dict[str, tuple[str, float, float, int]] = {}
        for chunk in _chunks(list(interaction_ids), 500):
            marks = ",".join("?" * len(chunk))
            for iid, label, reward, conf, n in self._conn().execute(
                f"SELECT interaction_id, label, reward, confidence, n_signals FROM rewards WHERE interaction_id IN ({marks})", chunk
            ):
                out[iid] = (label, reward, conf, n)
        return out

    # -- consent, erasure, retention ---------------------------------------------------------------
    def set_opt_out(self, user_hash: str, opted_out: bool) -> None:
        with self._write_lock:
            if opted_out:
                self._conn().execute("INSERT OR IGNORE INTO consent(user_hash, opted_out_at) VALUES (?, ?)", (user_hash, time.time()))
            else:
                self._conn().execute("DELETE FROM consent WHERE user_hash=?", (user_hash,))

    def opted_out_hashes(self) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT user_hash FROM consent")]

    def add_erasure(self, user_hash: str, erased_at: float) -> None:
        with self._write_lock:
            self._conn().execute("INSERT OR REPLACE INTO erasures(user_hash, erased_at) VALUES (?, ?)", (user_hash, erased_at))

    def finish_erasure(self, user_hash: str, report: str) -> None:
        with self._write_lock:
            self._conn().execute("UPDATE erasures SET report=? WHERE user_hash=?", (report, user_hash))

    def erasure_tombstones(self) -> dict[str, float]:
        return {h: float(t) for h, t in self._conn().execute("SELECT user_hash, erased_at FROM erasures")}

    def interaction_ids_for_user(self, user_id: str) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT id FROM interactions WHERE user_id=?", (user_id,))]

    def signal_ids_by_actor(self, actor: str) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT id FROM signals WHERE actor=?", (actor,))]

    def interaction_ids_before(self, cutoff: float) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT id FROM interactions WHERE started_at < ?", (cutoff,))]

    def deleted_keys_since(self, generation: int) -> tuple[list[int], int]:
        """Vector keys deleted after ``generation``, and the current generation."""
        current = self.deletion_generation()
        keys = [r[0] for r in self._conn().execute("SELECT key FROM deleted_keys WHERE generation > ?", (generation,))]
        return keys, current

    def span_ids(self, interaction_ids: Sequence[str]) -> dict[str, str]:
        """Root span id per stored interaction ('' when it was not traced)."""
        out: dict[str, str] = {}
        for chunk in _chunks(list(interaction_ids), 500):
            marks = ",".join("?" * len(chunk))
            rows = self._conn().execute(
                f"SELECT id, json_extract(data, '$.metadata.span_id') FROM interactions WHERE id IN ({marks})", chunk
            )
            out.update((iid, span or "") for iid, span in rows)
        return out

    def statuses(self, interaction_ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(list(interaction_ids), 500):
            marks = ",".join("?" * len(chunk))
            out.update(self._conn().execute(f"SELECT id, status FROM interactions WHERE id IN ({marks})", chunk).fetchall())
        return out

    def busy_actors(self, since: float, cap: int) -> set[str]:
        """Actors with more than ``cap`` explicit signals since ``since`` (anti-poisoning)."""
        rows = self._conn().execute(
            "SELECT actor FROM signals WHERE source='explicit' AND actor IS NOT NULL AND at >= ? GROUP BY actor HAVING COUNT(*) > ?",
            (since, cap),
        )
        return {r[0] for r in rows}

    def drop_cursor(self, segment: str) -> None:
        with self._write_lock:
            self._conn().execute("DELETE FROM queue_cursors WHERE segment=?", (segment,))

    def delete_interactions(self, ids: Sequence[str]) -> list[int]:
        """Delete interactions with their steps, decisions and signals; returns their vector keys."""
        if not ids:
            return []
        conn = self._conn()
        keys: list[int] = []
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for chunk in _chunks(list(ids), 500):
                    marks = ",".join("?" * len(chunk))
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
                conn.execute("ROLLBACK")
                raise
        return keys

    def delete_signals(self, signal_ids: Sequence[str]) -> int:
        if not signal_ids:
            return 0
        with self._write_lock:
            conn = self._conn()
            n = 0
            for chunk in _chunks(list(signal_ids), 500):
                n += conn.execute(f"DELETE FROM signals WHERE id IN ({','.join('?' * len(chunk))})", chunk).rowcount
            return n

    # -- reads -------------------------------------------------------------------------------
    def cursors(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self._conn().execute("SELECT segment, offset FROM queue_cursors")}

    def get(self, interaction_id: str) -> Interaction | None:
        row = self._conn().execute("SELECT data FROM interactions WHERE id=?", (interaction_id,)).fetchone()
        return Interaction.from_dict(json.loads(row[0])) if row else None

    def key_of(self, interaction_id: str) -> int | None:
        row = self._conn().execute("SELECT key FROM interactions WHERE id=?", (interaction_id,)).fetchone()
        return int(row[0]) if row else None

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self._conn().execute(f"SELECT id FROM interactions WHERE id IN ({marks})", chunk))
        return found

    def signals_for(self, interaction_ids: Sequence[str]) -> dict[str, list[Signal]]:
        out: dict[str, list[Signal]] = {i: [] for i in interaction_ids}
        for chunk in _chunks(list(interaction_ids), 500):
            marks = ",".join("?" * len(chunk))
            for iid, data in self._conn().execute(
                f"SELECT interaction_id, data FROM signals WHERE interaction_id IN ({marks}) ORDER BY at", chunk
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
            where.append(f"id IN ({','.join('?' * len(ids)) or 'NULL'})")
            args.extend(ids)
        sql = "SELECT data FROM interactions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY started_at {'DESC' if query.newest_first else 'ASC'}, key"
        if query.limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [int(query.limit), int(query.offset)]
        return [Interaction.from_dict(json.loads(r[0])) for r in self._conn().execute(sql, args)]

    def ids_for_keys(self, keys: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in _chunks([int(k) for k in keys], 500):
            marks = ",".join("?" * len(chunk))
            out.update((int(k), i) for k, i in self._conn().execute(f"SELECT key, id FROM interactions WHERE key IN ({marks})", chunk))
        return out

    def iter_embeddings(self, after_key: int = 0, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(keys, vectors) batches of stored embeddings with key > ``after_key``, in key order."""
        last = after_key
        while True:
            rows = self._conn().execute(
                "SELECT key, embedding FROM interactions WHERE key > ? AND embedding IS NOT NULL ORDER BY key LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vectors = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            yield keys, vectors
            last = int(keys[-1])

    def missing_embeddings(self, limit: int = 256) -> list[Interaction]:
        rows = self._conn().execute("SELECT data FROM interactions WHERE embedding IS NULL AND COALESCE(input_text, '') != ''"
                                  " ORDER BY key LIMIT ?", (limit,))
        return [Interaction.from_dict(json.loads(r[0])) for r in rows]

    def set_embeddings(self, pairs: Sequence[tuple[str, np.ndarray]]) -> list[int]:
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "UPDATE interactions SET embedding=? WHERE id=?",
                [(np.asarray(v, dtype=np.float32).tobytes(), i) for i, v in pairs],
            )
            conn.execute("COMMIT")
        return [k for k in (self.key_of(i) for i, _ in pairs) if k is not None]

    def max_key(self) -> int:
        row = self._conn().execute("SELECT MAX(key) FROM interactions WHERE embedding IS NOT NULL").fetchone()
        return int(row[0] or 0)

    def deletion_generation(self) -> int:
        return int(self.get_meta("deletion_generation") or 0)

    def counts(self) -> StoreCounts:
        conn = self._conn()
        last = self.get_meta("last_ingest_at")
        return StoreCounts(
            interactions=conn.execute("SELECT COUNT(*) FROM interactions").fetchone()[0],
            steps_by_kind=dict(conn.execute("SELECT kind, COUNT(*) FROM steps GROUP BY kind ORDER BY kind").fetchall()),
            signals_by_kind=dict(conn.execute("SELECT kind, COUNT(*) FROM signals GROUP BY kind ORDER BY kind").fetchall()),
            embedded=conn.execute("SELECT COUNT(*) FROM interactions WHERE embedding IS NOT NULL").fetchone()[0],
            last_ingest_at=float(last) if last else None,
        )

    def execute(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read-only SQL for curation/monitoring code inside the library."""
        return self._conn().execute(sql, args).fetchall()

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
