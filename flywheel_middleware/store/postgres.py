"""PostgreSQL + pgvector backend: one shared database for a fleet of agent replicas.

``Flywheel("postgresql://user@host/db")`` opens this store. Each replica keeps its own local
durable queue (``record()`` stays a local append) and its worker ingests into the shared database;
the queue offsets a replica has consumed are kept per replica (``queue_cursors(replica, segment)``),
committed in the same transaction as the rows they produced, so a replica killed mid-batch
re-ingests exactly what was not committed, and never another replica's records.

Writes that allocate ordered keys (interactions' ``key``, rewards' ``seq``) take one
transaction-level advisory lock, so keys become visible in the order they were allocated: a
reader that follows "everything after key K" (a replica's FAISS cache, the few-shot catalog)
never skips a row committed late by a slower replica. Readers never take it.

psycopg is imported here only, so ``import flywheel_middleware`` never loads it. A server that
cannot be reached raises ``StoreUnavailableError`` (a ``ConnectionError``): the worker retries it
forever and the records wait in the local queue.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from .._extras import requires_extra
from ..errors import StoreError, StoreUnavailableError
from ..records import Interaction, Signal
from . import base as _base
from .base import InteractionQuery, StoreCounts, StoredInteraction
from .postgres_migrations import MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION, WRITE_ORDER_LOCK

APP_ID = "flywheel-middleware"
URL_SCHEMES = ("postgresql://", "postgres://")
# state that belongs to one replica's queue, not to the shared store
REPLICA_META_KEYS = frozenset({"processed_cursors", "worker_counters"})

_UPSERT_SQL = (
    "INSERT INTO interactions(id, session_id, user_id, started_at, ended_at, status, model_version,"
    " prompt_version, input_text, output_text, data, embedding, ingested_at)"
    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s::jsonb,%s,%s)"
    " ON CONFLICT(id) DO UPDATE SET session_id=excluded.session_id, user_id=excluded.user_id,"
    " started_at=excluded.started_at, ended_at=excluded.ended_at, status=excluded.status,"
    " model_version=excluded.model_version, prompt_version=excluded.prompt_version,"
    " input_text=excluded.input_text, output_text=excluded.output_text, data=excluded.data,"
    " embedding=COALESCE(excluded.embedding, interactions.embedding), ingested_at=excluded.ingested_at"
    " RETURNING key"
)
# the SQL shapes of the embedded store's scans, in PostgreSQL (see sqlite.py for the same columns)
_CATEGORY_HINT = (
    "COALESCE(i.data #>> '{metadata,category}', i.data #>> '{metadata,run_metadata,category}',"
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
  CASE WHEN r.label IN ('good', 'bad') THEN COALESCE(i.data #>> '{metadata,category}', i.data #>> '{metadata,run_metadata,category}') END,
  CASE WHEN r.label IN ('good', 'bad') THEN COALESCE(i.data #>> '{metadata,language}', i.data #>> '{metadata,run_metadata,language}') END,
  CASE WHEN r.label = 'good' THEN COALESCE(i.data #>> '{metadata,route}', i.data #>> '{metadata,run_metadata,route}') END,
  CASE WHEN r.label = 'good' THEN ARRAY(SELECT s.name FROM steps s WHERE s.interaction_id = i.id AND s.kind = 'tool'
                                         AND s.name <> '' ORDER BY s.idx) END,
  CASE WHEN r.label = 'good' THEN ARRAY(SELECT d.chosen FROM decisions d WHERE d.interaction_id = i.id AND d.decider = 'router'
                                         AND d.chosen <> '' ORDER BY d.idx) END
FROM rewards r JOIN interactions i ON i.id = r.interaction_id
WHERE r.seq > %s ORDER BY r.seq LIMIT %s
"""
_MONITOR_SQL = """
SELECT i.key, i.id, i.started_at, i.status, i.model_version, i.user_id, i.input_text,
       i.data #>> '{{metadata,category}}', i.data #>> '{{metadata,route}}', i.data #>> '{{metadata,user_segment}}',
       {metadata_column},
       (SELECT d.chosen FROM decisions d WHERE d.interaction_id = i.id ORDER BY (d.decider = 'router') DESC, d.idx LIMIT 1),
       r.label, r.reward, r.confidence, r.n_signals
FROM interactions i LEFT JOIN rewards r ON r.interaction_id = i.id
WHERE (%(since)s::float8 IS NULL OR i.started_at >= %(since)s) AND (%(until)s::float8 IS NULL OR i.started_at < %(until)s)
ORDER BY i.key
"""


def is_postgres_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(URL_SCHEMES)


def safe_url(url: str) -> str:
    """The URL without its password, for logs, stats and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[1]}" if len(netloc) == 2 else netloc[0]))


def _dumps(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)
    # PostgreSQL text and jsonb cannot hold NUL; the embedded store can. Keep the record, lose the byte.
    return text.replace("\\u0000", "\\ufffd") if "\\u0000" in text else text


def _text(value: str | None) -> str | None:
    return value.replace("\x00", "\ufffd") if value and "\x00" in value else value


def _vector(value: np.ndarray | None) -> Any:
    return None if value is None else np.asarray(value, dtype=np.float32).reshape(-1)


def _array(value: Any) -> np.ndarray:
    """A pgvector value (the adapter's ``Vector``, or already an array) as float32."""
    to_numpy = getattr(value, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy is not None else value, dtype=np.float32)


class PostgresStore:
    """A store in one PostgreSQL database; one connection per thread, any number of replicas."""

    transient_errors: tuple[type[BaseException], ...] = (StoreUnavailableError,)

    def __init__(self, url: str, *, replica: str = "default", dim: int | None = None, connect_timeout_s: float = 5.0,
                 on_unavailable: Callable[[], None] | None = None, read_only: bool = False) -> None:
        if not is_postgres_url(url):
            raise StoreError(f"{url!r} is not a postgresql:// URL")
        with requires_extra("postgres"):  # MissingExtraError with the install command
            import psycopg  # noqa: F401
            import pgvector.psycopg  # noqa: F401
        self.url = url
        self.replica = str(replica)
        self._asked_dim = dim  # None: the database's dimension (384, MiniLM's, for a new one)
        self.dim = int(dim or 384)
        self._connect_timeout_s = connect_timeout_s
        self._on_unavailable = on_unavailable
        self.read_only = read_only  # every transaction read-only (export workers' twin); no migrations
        self.available = True  # whether the last operation reached the server
        self._local = threading.local()
        self._connections: list[Any] = []
        self._connections_lock = threading.Lock()
        with self._guard():
            self._migrate()

    @property
    def location(self) -> str:
        """The URL another process opens (``store.open_store``); it carries the password, if any."""
        return self.url

    def __repr__(self) -> str:
        return f"PostgresStore({safe_url(self.url)!r}, replica={self.replica!r})"

    # -- connections and errors ----------------------------------------------------------------
    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        import psycopg
        from pgvector.psycopg import register_vector

        extra = {"options": "-c default_transaction_read_only=on"} if self.read_only else {}
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, int(self._connect_timeout_s)),
                               application_name=f"flywheel-middleware:{self.replica}"[:63], **extra)
        try:
            register_vector(conn)
        except psycopg.ProgrammingError:  # a fresh database: the extension is created by migration 1
            pass
        self._local.conn = conn
        with self._connections_lock:
            self._connections = [c for c in self._connections if not c.closed] + [conn]
        return conn

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Connection trouble becomes ``StoreUnavailableError``; the broken connection is dropped."""
        import psycopg

        try:
            yield
            self.available = True
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            conn = getattr(self._local, "conn", None)
            if conn is not None and (conn.closed or conn.broken):
                self._local.conn = None
            self.available = False
            if self._on_unavailable is not None:
                self._on_unavailable()
            raise StoreUnavailableError(f"PostgreSQL at {safe_url(self.url)} is unavailable: {exc}".strip()) from exc
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL at {safe_url(self.url)} refused an operation: {exc}") from exc

    def _rows(self, sql: str, args: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        with self._guard():
            return self._conn().execute(sql, args).fetchall()

    def _one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self._guard():
            return self._conn().execute(sql, args).fetchone()

    @contextmanager
    def _write(self, ordered: bool = False) -> Iterator[Any]:
        """A transaction; ``ordered`` ones serialise on the write-order lock (see the module docstring)."""
        with self._guard():
            conn = self._conn()
            with conn.transaction():
                if ordered:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_ORDER_LOCK,))
                yield conn

    # -- schema ----------------------------------------------------------------------------------
    def _migrate(self) -> None:
        conn = self._conn()
        with conn.transaction():
            if not self.read_only:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            tables = {r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
            if tables and "schema_version" not in tables:
                raise StoreError(f"{safe_url(self.url)} holds tables of another application ({sorted(tables)[:5]}); "
                                 "use an empty database for flywheel-middleware")
            if not tables and not self.read_only:
                conn.execute("CREATE TABLE schema_version(version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
                             " applied_at DOUBLE PRECISION NOT NULL)")
            current = int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]) if tables else 0
            if self.read_only and current < SCHEMA_VERSION:
                raise StoreError(f"{safe_url(self.url)} is not a flywheel store at schema {SCHEMA_VERSION} (it is at {current}); "
                                 "a read-only store must open an existing, migrated one")
            if current > SCHEMA_VERSION:
                raise StoreError(f"{safe_url(self.url)} has schema version {current}; this library knows up to "
                                 f"{SCHEMA_VERSION}. Upgrade flywheel-middleware on this replica.")
            if current:
                app = conn.execute("SELECT value FROM meta WHERE key='app'").fetchone()
                if app is None or app[0] != APP_ID:
                    raise StoreError(f"{safe_url(self.url)} belongs to another application (app={app and app[0]!r})")
                dim = conn.execute("SELECT value FROM meta WHERE key='vector_dim'").fetchone()
                if dim is not None and self._asked_dim is None:
                    self.dim = int(dim[0])
                elif dim is not None and int(dim[0]) != self.dim:
                    raise StoreError(f"{safe_url(self.url)} stores {dim[0]}-d vectors; this embedder makes {self.dim}-d ones")
            for migration in MIGRATIONS:
                if migration.version > current:
                    conn.execute(migration.sql(self.dim))
                    conn.execute("INSERT INTO schema_version(version, description, applied_at) VALUES (%s, %s, %s)",
                                 (migration.version, migration.description, time.time()))
            if not current:
                for key, value in (("app", APP_ID), ("created_at", str(time.time())), ("deletion_generation", "0"),
                                   ("vector_dim", str(self.dim))):
                    conn.execute("INSERT INTO meta(key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING", (key, value))
        from pgvector.psycopg import register_vector

        register_vector(conn)

    def schema_version(self) -> int:
        row = self._one("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        return int(row[0]) if row else 0

    # -- meta ------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        if key in REPLICA_META_KEYS:
            row = self._one("SELECT value FROM replica_meta WHERE replica=%s AND key=%s", (self.replica, key))
        else:
            row = self._one("SELECT value FROM meta WHERE key=%s", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            if key in REPLICA_META_KEYS:
                conn.execute("INSERT INTO replica_meta(replica, key, value, updated_at) VALUES (%s,%s,%s,%s)"
                             " ON CONFLICT(replica, key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
                             (self.replica, key, value, time.time()))
            else:
                conn.execute("INSERT INTO meta(key, value) VALUES (%s, %s) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                             (key, value))

    def _replica_json(self, key: str) -> dict[str, Any]:
        try:
            value = json.loads(self.get_meta(key) or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def processed_cursors(self) -> dict[str, int]:
        try:
            return {str(k): int(v) for k, v in self._replica_json("processed_cursors").items()}
        except (TypeError, ValueError):
            return {}

    def mark_processed(self, cursors: dict[str, int]) -> None:
        if not cursors:
            return
        current = self.processed_cursors()
        for name, offset in cursors.items():
            current[name] = max(current.get(name, 0), int(offset))
        self.set_meta("processed_cursors", json.dumps(current))

    def forget_processed(self, segment: str) -> None:
        current = self.processed_cursors()
        if current.pop(segment, None) is not None:
            self.set_meta("processed_cursors", json.dumps(current))

    def publish_counters(self, counters: dict[str, int]) -> None:
        self.set_meta("worker_counters", json.dumps(dict(counters)))

    def published_counters(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for key, value in self._replica_json("worker_counters").items():
            try:
                out[str(key)] = int(value)
            except (TypeError, ValueError):
                continue
        return out

    def replica_meta(self, key: str) -> dict[str, str]:
        """``key`` as every replica last published it (e.g. each worker's counters)."""
        return dict(self._rows("SELECT replica, value FROM replica_meta WHERE key=%s", (key,)))

    # -- writes ----------------------------------------------------------------------------------
    def ingest(self, interactions: Sequence[StoredInteraction], signals: Sequence[Signal], cursors: Mapping[str, int]) -> list[int]:
        now = time.time()
        with self._write(ordered=bool(interactions)) as conn:
            with conn.pipeline():  # one round trip for the batch, not one per statement
                returned = [conn.execute(_UPSERT_SQL, self._interaction_row(stored, now)) for stored in interactions]
                latest = list({stored.interaction.id: stored.interaction for stored in interactions}.values())
                ids = [it.id for it in latest]  # an id twice in one batch: the last copy's steps, as across batches
                cur = conn.cursor()
                if ids:
                    conn.execute("DELETE FROM steps WHERE interaction_id = ANY(%s)", (ids,))
                    conn.execute("DELETE FROM decisions WHERE interaction_id = ANY(%s)", (ids,))
                steps = [(it.id, i, s.kind, _text(s.name), s.started_at, s.ended_at, _text(s.error), _dumps(s.to_dict()))
                         for it in latest for i, s in enumerate(it.steps)]
                if steps:
                    cur.executemany("INSERT INTO steps(interaction_id, idx, kind, name, started_at, ended_at, error, data)"
                                    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s::jsonb)", steps)
                decisions = [(it.id, i, _text(d.decider), _text(d.name), _dumps(d.chosen), _dumps(d.to_dict()))
                             for it in latest for i, d in enumerate(it.decisions)]
                if decisions:
                    cur.executemany("INSERT INTO decisions(interaction_id, idx, decider, name, chosen, data)"
                                    " VALUES (%s,%s,%s,%s,%s,%s::jsonb)", decisions)
                if signals:
                    # the same signal again is one signal; sent again later, it is the latest word
                    cur.executemany(
                        "INSERT INTO signals(id, interaction_id, kind, source, actor, at, value, data)"
                        " VALUES (%s,%s,%s,%s,%s,%s,%s::jsonb,%s::jsonb)"
                        " ON CONFLICT(id) DO UPDATE SET at=excluded.at, data=excluded.data, value=excluded.value"
                        " WHERE excluded.at > signals.at",
                        [(s.id, s.interaction_id, s.kind, s.source, _text(s.actor), s.at, _dumps(s.value), _dumps(s.to_dict()))
                         for s in signals],
                    )
                if cursors:
                    cur.executemany(
                        'INSERT INTO queue_cursors(replica, segment, "offset") VALUES (%s, %s, %s)'
                        ' ON CONFLICT(replica, segment) DO UPDATE SET "offset"=excluded."offset"',
                        [(self.replica, name, int(offset)) for name, offset in cursors.items()],
                    )
                if interactions or signals:
                    conn.execute("INSERT INTO meta(key, value) VALUES ('last_ingest_at', %s)"
                                 " ON CONFLICT(key) DO UPDATE SET value=excluded.value", (str(now),))
            return [int(c.fetchone()[0]) for c in returned]

    @staticmethod
    def _interaction_row(stored: StoredInteraction, now: float) -> tuple[Any, ...]:
        it = stored.interaction
        return (it.id, _text(it.session_id), _text(it.user_id), it.started_at, it.ended_at, it.status, _text(it.model_version),
                _text(it.prompt_version), _text(it.input_text), _text(it.output_text), _dumps(it.to_dict()),
                _vector(stored.embedding), now)

    def upsert_rewards(self, rows: Sequence[tuple[str, str, float, float, int]]) -> None:
        """(interaction_id, label, reward, confidence, n_signals) rows, derived from signals."""
        if not rows:
            return
        now = time.time()
        with self._write(ordered=True) as conn:
            conn.cursor().executemany(
                "INSERT INTO rewards(interaction_id, label, reward, confidence, n_signals, updated_at, seq)"
                " VALUES (%s,%s,%s,%s,%s,%s,nextval('write_seq'))"
                " ON CONFLICT(interaction_id) DO UPDATE SET label=excluded.label, reward=excluded.reward,"
                " confidence=excluded.confidence, n_signals=excluded.n_signals, updated_at=excluded.updated_at, seq=excluded.seq",
                [(r[0], r[1], float(r[2]), float(r[3]), int(r[4]), now) for r in rows],
            )

    def rewards_for(self, interaction_ids: Sequence[str]) -> dict[str, Any]:
        rows = self._rows("SELECT interaction_id, label, reward, confidence, n_signals FROM rewards WHERE interaction_id = ANY(%s)",
                          (list(interaction_ids),))
        return {iid: _base.RewardRow(iid, label, float(reward), float(conf), int(n)) for iid, label, reward, conf, n in rows}

    # -- consent, erasure, retention -----------------------------------------------------------------
    def set_opt_out(self, user_hash: str, opted_out: bool) -> None:
        with self._write() as conn:
            if opted_out:
                conn.execute("INSERT INTO consent(user_hash, opted_out_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                             (user_hash, time.time()))
            else:
                conn.execute("DELETE FROM consent WHERE user_hash=%s", (user_hash,))

    def opted_out_hashes(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT user_hash FROM consent")]

    def add_erasure(self, user_hash: str, erased_at: float) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO erasures(user_hash, erased_at) VALUES (%s, %s)"
                         " ON CONFLICT(user_hash) DO UPDATE SET erased_at=excluded.erased_at, report=NULL", (user_hash, erased_at))

    def finish_erasure(self, user_hash: str, report: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE erasures SET report=%s WHERE user_hash=%s", (_text(report), user_hash))

    def erasure_tombstones(self) -> dict[str, float]:
        return {h: float(t) for h, t in self._rows("SELECT user_hash, erased_at FROM erasures")}

    def interaction_ids_for_user(self, user_id: str) -> list[str]:
        return [r[0] for r in self._rows("SELECT id FROM interactions WHERE user_id=%s", (_text(user_id),))]

    def signal_ids_by_actor(self, actor: str) -> list[str]:
        return [r[0] for r in self._rows("SELECT id FROM signals WHERE actor=%s", (_text(actor),))]

    def interaction_ids_before(self, cutoff: float) -> list[str]:
        return [r[0] for r in self._rows("SELECT id FROM interactions WHERE started_at < %s", (cutoff,))]

    def deleted_keys_since(self, generation: int) -> tuple[list[int], int]:
        """Vector keys deleted after ``generation``, and the current generation."""
        with self._guard():
            conn = self._conn()
            with conn.transaction():  # one snapshot: the keys and the generation they add up to
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                current = int(conn.execute("SELECT value FROM meta WHERE key='deletion_generation'").fetchone()[0])
                keys = [int(r[0]) for r in conn.execute("SELECT key FROM deleted_keys WHERE generation > %s", (generation,))]
        return keys, current

    def span_ids(self, interaction_ids: Sequence[str]) -> dict[str, str]:
        """Root span id per stored interaction ('' when it was not traced)."""
        rows = self._rows("SELECT id, data->'metadata'->>'span_id' FROM interactions WHERE id = ANY(%s)", (list(interaction_ids),))
        return {iid: span or "" for iid, span in rows}

    def statuses(self, interaction_ids: Sequence[str]) -> dict[str, str]:
        return dict(self._rows("SELECT id, status FROM interactions WHERE id = ANY(%s)", (list(interaction_ids),)))

    def busy_actors(self, since: float, cap: int) -> set[str]:
        """Actors with more than ``cap`` explicit signals since ``since`` (anti-poisoning)."""
        rows = self._rows("SELECT actor FROM signals WHERE source='explicit' AND actor IS NOT NULL AND at >= %s"
                          " GROUP BY actor HAVING COUNT(*) > %s", (since, cap))
        return {r[0] for r in rows}

    def drop_cursor(self, segment: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM queue_cursors WHERE replica=%s AND segment=%s", (self.replica, segment))

    def delete_interactions(self, ids: Sequence[str]) -> list[int]:
        """Delete interactions with their steps, decisions, signals and rewards; returns their vector keys."""
        ids = list(ids)
        if not ids:
            return []
        with self._write() as conn:
            keys = [int(r[0]) for r in conn.execute("DELETE FROM interactions WHERE id = ANY(%s) RETURNING key", (ids,))]
            for table in ("steps", "decisions", "signals", "rewards"):
                conn.execute(f"DELETE FROM {table} WHERE interaction_id = ANY(%s)", (ids,))
            generation = int(conn.execute(
                "UPDATE meta SET value = (value::bigint + 1)::text WHERE key='deletion_generation' RETURNING value").fetchone()[0])
            if keys:
                conn.cursor().executemany("INSERT INTO deleted_keys(key, generation) VALUES (%s, %s)", [(k, generation) for k in keys])
        return keys

    def delete_signals(self, signal_ids: Sequence[str]) -> int:
        if not signal_ids:
            return 0
        with self._write() as conn:
            return conn.execute("DELETE FROM signals WHERE id = ANY(%s)", (list(signal_ids),)).rowcount

    # -- reads -----------------------------------------------------------------------------------
    def cursors(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self._rows('SELECT segment, "offset" FROM queue_cursors WHERE replica=%s', (self.replica,))}

    def get(self, interaction_id: str) -> Interaction | None:
        row = self._one("SELECT data FROM interactions WHERE id=%s", (interaction_id,))
        return Interaction.from_dict(row[0]) if row else None

    def key_of(self, interaction_id: str) -> int | None:
        row = self._one("SELECT key FROM interactions WHERE id=%s", (interaction_id,))
        return int(row[0]) if row else None

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        return {r[0] for r in self._rows("SELECT id FROM interactions WHERE id = ANY(%s)", (list(ids),))}

    def signals_for(self, interaction_ids: Sequence[str]) -> dict[str, list[Signal]]:
        out: dict[str, list[Signal]] = {i: [] for i in interaction_ids}
        for iid, data in self._rows("SELECT interaction_id, data FROM signals WHERE interaction_id = ANY(%s) ORDER BY at, id",
                                    (list(interaction_ids),)):
            out.setdefault(iid, []).append(Signal.from_dict(data))
        return out

    def list_interactions(self, query: InteractionQuery) -> list[Interaction]:
        where, args = [], []
        for column, value in (("session_id", query.session_id), ("user_id", query.user_id), ("status", query.status)):
            if value is not None:
                where.append(f"{column} = %s")
                args.append(value)
        if query.since is not None:
            where.append("started_at >= %s")
            args.append(query.since)
        if query.until is not None:
            where.append("started_at < %s")
            args.append(query.until)
        if query.signal_kind is not None:
            where.append("id IN (SELECT interaction_id FROM signals WHERE kind = %s)")
            args.append(query.signal_kind)
        if query.ids is not None:
            where.append("id = ANY(%s)")
            args.append(list(query.ids))
        sql = "SELECT data FROM interactions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY started_at {'DESC' if query.newest_first else 'ASC'}, key"
        if query.limit is not None:
            sql += " LIMIT %s OFFSET %s"
            args += [int(query.limit), int(query.offset)]
        return [Interaction.from_dict(r[0]) for r in self._rows(sql, args)]

    def ids_for_keys(self, keys: Sequence[int]) -> dict[int, str]:
        rows = self._rows("SELECT key, id FROM interactions WHERE key = ANY(%s)", ([int(k) for k in keys],))
        return {int(k): i for k, i in rows}

    def iter_embeddings(self, after_key: int = 0, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(keys, vectors) batches of stored embeddings with key > ``after_key``, in key order."""
        last = after_key
        while True:
            rows = self._rows("SELECT key, embedding FROM interactions WHERE key > %s AND embedding IS NOT NULL"
                              " ORDER BY key LIMIT %s", (last, batch))
            if not rows:
                return
            keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vectors = np.vstack([_array(r[1]) for r in rows])
            yield keys, vectors
            last = int(keys[-1])

    def missing_embeddings(self, limit: int = 256) -> list[Interaction]:
        rows = self._rows("SELECT data FROM interactions WHERE embedding IS NULL AND COALESCE(input_text, '') <> ''"
                          " ORDER BY key LIMIT %s", (limit,))
        return [Interaction.from_dict(r[0]) for r in rows]

    def set_embeddings(self, pairs: Sequence[tuple[str, np.ndarray]]) -> list[int]:
        if not pairs:
            return []
        with self._write() as conn:
            keys = []
            for iid, vector in pairs:
                row = conn.execute("UPDATE interactions SET embedding=%s WHERE id=%s RETURNING key", (_vector(vector), iid)).fetchone()
                if row is not None:
                    keys.append(int(row[0]))
        return keys

    def max_key(self) -> int:
        row = self._one("SELECT MAX(key) FROM interactions WHERE embedding IS NOT NULL")
        return int(row[0] or 0) if row else 0

    def deletion_generation(self) -> int:
        return int(self.get_meta("deletion_generation") or 0)

    def counts(self) -> StoreCounts:
        last = self.get_meta("last_ingest_at")
        return StoreCounts(
            interactions=int(self._one("SELECT COUNT(*) FROM interactions")[0]),
            steps_by_kind={k: int(n) for k, n in self._rows("SELECT kind, COUNT(*) FROM steps GROUP BY kind ORDER BY kind")},
            signals_by_kind={k: int(n) for k, n in self._rows("SELECT kind, COUNT(*) FROM signals GROUP BY kind ORDER BY kind")},
            embedded=int(self._one("SELECT COUNT(*) FROM interactions WHERE embedding IS NOT NULL")[0]),
            last_ingest_at=float(last) if last else None,
            rewards_by_label={k: int(n) for k, n in self._rows("SELECT label, COUNT(*) FROM rewards GROUP BY label ORDER BY label")},
            rated=int(self._one("SELECT COUNT(*) FROM rewards WHERE n_signals > 0")[0]),
        )

    def documents(self, keys: Sequence[int], *, embeddings: bool = False) -> dict[int, Any]:
        extra, cond = (", embedding", " AND embedding IS NOT NULL") if embeddings else ("", "")
        out: dict[int, Any] = {}
        for row in self._rows(f"SELECT key, id, user_id, session_id, started_at, data::text{extra} FROM interactions"
                              f" WHERE key = ANY(%s){cond}", ([int(k) for k in keys],)):
            vector = _array(row[6]) if embeddings else None
            out[int(row[0])] = _base.StoredDocument(int(row[0]), row[1], row[2], row[3], row[4], row[5], vector)
        return out

    # -- sessions --------------------------------------------------------------------------------
    def previous_turn(self, session_id: str, before: float, exclude_id: str) -> Any:
        turns = self.previous_turns(session_id, before, exclude_id, 1)
        return turns[0] if turns else None

    def previous_turns(self, session_id: str, before: float, exclude_id: str, limit: int) -> list[Any]:
        rows = self._rows("SELECT id, input_text, output_text, COALESCE(ended_at, started_at), embedding FROM interactions"
                          " WHERE session_id = %s AND started_at < %s AND id <> %s ORDER BY started_at DESC, key DESC LIMIT %s",
                          (session_id, before, exclude_id, int(limit)))
        return [_base.PreviousTurn(iid, text or "", answer or "", float(end or 0.0), None if vector is None else _array(vector))
                for iid, text, answer, end, vector in rows]

    def next_turn(self, session_id: str, after: float, until: float, exclude_id: str) -> Interaction | None:
        row = self._one("SELECT data FROM interactions WHERE session_id = %s AND started_at > %s AND started_at <= %s"
                        " AND id <> %s ORDER BY started_at LIMIT 1", (session_id, after, until, exclude_id))
        return Interaction.from_dict(row[0]) if row else None

    def stale_sessions(self, idle_since: float, not_before: float) -> list[Any]:
        rows = self._rows(
            "SELECT i.session_id, i.id, COALESCE(i.ended_at, i.started_at) FROM interactions i"
            " JOIN (SELECT session_id, MAX(started_at) AS m FROM interactions WHERE session_id IS NOT NULL"
            "       GROUP BY session_id HAVING MAX(started_at) < %s AND MAX(started_at) > %s) s"
            " ON i.session_id = s.session_id AND i.started_at = s.m",
            (idle_since, not_before),
        )
        return [_base.SessionTail(session, iid, float(last or 0.0)) for session, iid, last in rows]

    # -- few-shot candidates ---------------------------------------------------------------------
    def reward_changes(self, after_seq: int, limit: int) -> list[Any]:
        return [
            _base.FewShotCandidate(int(seq), int(key), label, float(reward), float(conf), session, started, model,
                                   category, language, route, tuple(t for t in (tools or ()) if t),
                                   tuple(c for c in (routes or ()) if c))
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
            " ((i.data -> 'metadata' ->> %s) = ANY(%s) OR (i.data -> 'metadata' -> 'run_metadata' ->> %s) = ANY(%s))",
            (name, values, name, values),
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def embeddings_for(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = np.asarray(keys, dtype=np.int64)
        found = np.zeros(len(keys), dtype=bool)
        if not len(keys):
            return found, np.zeros((0, 0), np.float32)
        pos = {int(k): i for i, k in enumerate(keys.tolist())}
        rows = self._rows("SELECT key, embedding FROM interactions WHERE key = ANY(%s) AND embedding IS NOT NULL", (list(pos),))
        if not rows:
            return found, np.zeros((len(keys), 1), np.float32)
        vectors = np.zeros((len(keys), self.dim), np.float32)
        for key, vector in rows:
            i = pos[int(key)]
            vectors[i] = _array(vector)
            found[i] = True
        return found, vectors

    # -- curation, export, monitoring scans ---------------------------------------------------------
    def turns(self, query: Any) -> list[Any]:
        where: list[str] = []
        args: list[Any] = []
        if query.ids is not None:
            where.append("i.id = ANY(%s)")
            args.append(list(dict.fromkeys(query.ids)))
        elif query.keys is not None:
            where.append("i.key = ANY(%s)")
            args.append([int(k) for k in dict.fromkeys(query.keys)])
        if query.since is not None:
            where.append("i.started_at >= %s")
            args.append(float(query.since))
        if query.until is not None:
            where.append("i.started_at < %s")
            args.append(float(query.until))
        if query.users is not None:
            where.append("i.user_id = ANY(%s)")
            args.append(list(query.users))
        if query.exclude_users:
            where.append("(i.user_id IS NULL OR NOT (i.user_id = ANY(%s)))")
            args.append(list(query.exclude_users))
        if query.model_versions is not None:
            where.append("i.model_version = ANY(%s)")
            args.append(list(query.model_versions))
        judged = []
        if query.labels:
            judged.append("r.label = ANY(%s)")
            args.append(list(query.labels))
        if query.or_signal_kinds:
            judged.append("i.id IN (SELECT s.interaction_id FROM signals s WHERE s.kind = ANY(%s))")
            args.append(list(query.or_signal_kinds))
        if judged:
            where.append("(" + " OR ".join(judged) + ")")
        if query.after_key is not None:
            where.append("i.key > %s")
            args.append(int(query.after_key))
            order = " ORDER BY i.key"
        else:
            order = f" ORDER BY i.started_at {'DESC' if query.newest_first else 'ASC'}, i.key"
        sql = _TURN_SELECT + (" WHERE " + " AND ".join(where) if where else "") + order
        if query.limit:
            sql += f" LIMIT {int(query.limit)}"
        return [_base.TurnSummary(*r) for r in self._rows(sql, args)]

    def feedback_rows(self, kinds: Sequence[str]) -> list[Any]:
        kinds = list(kinds)
        if not kinds:
            return []
        rows = self._rows("SELECT i.key, i.session_id, s.kind, s.value FROM signals s JOIN interactions i ON i.id = s.interaction_id"
                          " WHERE s.kind = ANY(%s) ORDER BY s.at, s.id", (kinds,))
        return [_base.FeedbackRow(int(key), session, kind, value) for key, session, kind, value in rows]

    def ids_with_signals(self, kinds: Sequence[str]) -> set[str]:
        kinds = list(kinds)
        if not kinds:
            return set()
        return {r[0] for r in self._rows("SELECT DISTINCT interaction_id FROM signals WHERE kind = ANY(%s)", (kinds,))}

    def keys_with_signals(self, kinds: Sequence[str]) -> dict[str, np.ndarray]:
        kinds = list(dict.fromkeys(kinds))
        found: dict[str, list[int]] = {kind: [] for kind in kinds}
        if kinds:
            for key, kind in self._rows("SELECT DISTINCT i.key, s.kind FROM signals s JOIN interactions i ON i.id = s.interaction_id"
                                        " WHERE s.kind = ANY(%s)", (kinds,)):
                found[kind].append(int(key))
        return {kind: np.unique(np.asarray(keys, dtype=np.int64)) for kind, keys in found.items()}

    def monitor_rows(self, since: float | None = None, until: float | None = None, *, with_metadata: bool = False) -> list[Any]:
        column = "i.data -> 'metadata'" if with_metadata else "NULL::jsonb"
        rows = self._rows(_MONITOR_SQL.format(metadata_column=column), {"since": since, "until": until})
        if with_metadata:
            return [_base.MonitorRow(*r[:10], r[10] if isinstance(r[10], dict) else {}, *r[11:]) for r in rows]
        return [_base.MonitorRow(*r) for r in rows]

    # -- the export registry -----------------------------------------------------------------------
    def export_user_key(self) -> bytes:
        import secrets

        with self._write() as conn:
            conn.execute("INSERT INTO meta(key, value) VALUES ('export_user_key', %s) ON CONFLICT DO NOTHING", (secrets.token_hex(32),))
        return bytes.fromhex(self.get_meta("export_user_key") or "")

    def register_export(self, info: Any, members: Iterable[tuple[str | None, str]], summary: dict[str, Any]) -> None:
        with self._write() as conn:
            # a folder holds one export: whatever was registered there before is superseded
            conn.execute("DELETE FROM export_members WHERE path = %s", (info.path,))
            conn.execute("DELETE FROM exports WHERE path = %s", (info.path,))
            conn.execute("INSERT INTO exports(version, kind, path, created_at, rows, n_interactions, n_users, manifest)"
                         " VALUES (%s,%s,%s,%s,%s,%s,%s,%s::jsonb)",
                         (info.version, info.kind, info.path, info.created_at, info.rows, info.n_interactions, info.n_users,
                          _dumps(dict(summary))))
            with conn.cursor().copy("COPY export_members(version, path, user_hash, interaction_id) FROM STDIN") as copy:
                for user_hash, iid in members:
                    copy.write_row((info.version, info.path, user_hash, iid))

    def export_members(self, info: Any) -> list[tuple[str | None, str]]:
        return [(h, i) for h, i in self._rows("SELECT user_hash, interaction_id FROM export_members WHERE version = %s AND path = %s",
                                              (info.version, info.path))]

    def export_summary(self, info: Any) -> dict[str, Any]:
        row = self._one("SELECT manifest FROM exports WHERE version = %s AND path = %s", (info.version, info.path))
        return row[0] if row and isinstance(row[0], dict) else {}

    def set_export_user_key(self, key: bytes) -> None:
        with self._write() as conn:
            current = conn.execute("SELECT value FROM meta WHERE key='export_user_key'").fetchone()
            if current is not None and current[0] != key.hex() and conn.execute("SELECT 1 FROM exports LIMIT 1").fetchone():
                raise StoreError(f"{safe_url(self.url)} already registered exports under another user-hash key")
            conn.execute("INSERT INTO meta(key, value) VALUES ('export_user_key', %s)"
                         " ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key.hex(),))

    def exports(self, *, user_hash: str | None = None, interaction_id: str | None = None) -> list[Any]:
        where, args = [], []
        for column, value in (("user_hash", user_hash), ("interaction_id", interaction_id)):
            if value is not None:
                where.append(f"(version, path) IN (SELECT DISTINCT version, path FROM export_members WHERE {column} = %s)")
                args.append(value)
        sql = "SELECT version, kind, path, created_at, rows, n_interactions, n_users FROM exports"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_base.ExportInfo(v, k, p, float(c), int(r), int(n), int(u)) for v, k, p, c, r, n, u
                in self._rows(sql + " ORDER BY created_at, path", args)]

    @contextmanager
    def vector_index_deferred(self) -> Iterator[None]:
        """Bulk loads (``flywheel migrate``): drop the HNSW index, load, build it once at the end.

        Inserting into an HNSW index costs far more per row than building it over the loaded
        rows (see benchmarks/README.md); other replicas keep working meanwhile (FAISS searches)."""
        with self._write() as conn:
            conn.execute("DROP INDEX IF EXISTS interactions_embedding_hnsw")
        try:
            yield
        finally:
            with self._write() as conn:
                conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
                conn.execute("CREATE INDEX IF NOT EXISTS interactions_embedding_hnsw ON interactions"
                             " USING hnsw (embedding vector_ip_ops)")

    # -- integrity and erasure hygiene ---------------------------------------------------------------
    def check_integrity(self) -> None:
        """The server guards its own files (checksums, WAL); here: the schema answers."""
        self.schema_version()

    def checkpoint(self, wait_s: float = 0.2) -> bool:
        """VACUUM the tables an erasure deletes from, so dead row versions are not kept in them;
        at most ``wait_s`` (False when it did not finish: autovacuum gets them later)."""
        if self.read_only:
            return False
        import psycopg

        try:
            with self._guard():
                conn = self._conn()
                conn.execute(f"SET statement_timeout = {max(1, int(wait_s * 1000))}")
                try:
                    for table in ("interactions", "steps", "decisions", "signals", "rewards"):
                        conn.execute(f"VACUUM {table}")
                finally:
                    conn.execute("SET statement_timeout = 0")
        except StoreError as exc:
            if isinstance(exc.__cause__, psycopg.errors.QueryCanceled):
                return False
            raise
        return True

    def ping(self) -> bool:
        """Whether the server answers now (no exception)."""
        try:
            self._one("SELECT 1")
            return True
        except StoreError:
            return False

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 - closing a dead connection
                    pass
            self._connections.clear()
        self._local = threading.local()


__all__ = ["PostgresStore", "is_postgres_url", "safe_url"]
