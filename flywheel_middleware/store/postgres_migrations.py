"""The PostgreSQL schema, as numbered migrations the library applies when it opens a database.

Each migration runs once, in its own transaction, and is recorded in ``schema_version``; a
database whose newest version is above ``SCHEMA_VERSION`` was written by a newer library and is
refused (a ``StoreError``), never downgraded. Several replicas may open the same database at the
same moment: migrations run under a transaction-level advisory lock, so exactly one applies them.

Vectors live in a pgvector ``vector(dim)`` column with an HNSW index for inner product on the
normalised embeddings (``vector_ip_ops``; on unit vectors inner product is cosine). The dimension
is fixed when the schema is created and kept in ``meta.vector_dim``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

# one advisory-lock key for schema changes, another for ordered writes (see postgres.py)
MIGRATION_LOCK = 0x466C_7977_6565_6C01  # "Flywheel" + 1
WRITE_ORDER_LOCK = 0x466C_7977_6565_6C02


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: Callable[[int], str]  # vector dimension -> SQL text


def _v1(dim: int) -> str:
    return f"""
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE SEQUENCE write_seq;
CREATE TABLE interactions(
    key BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    session_id TEXT, user_id TEXT,
    started_at DOUBLE PRECISION, ended_at DOUBLE PRECISION, status TEXT,
    model_version TEXT, prompt_version TEXT,
    input_text TEXT, output_text TEXT,
    data JSONB NOT NULL,
    embedding vector({int(dim)}),
    ingested_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX interactions_session ON interactions(session_id, started_at);
CREATE INDEX interactions_user ON interactions(user_id, started_at);
CREATE INDEX interactions_time ON interactions(started_at);
CREATE INDEX interactions_embedding_hnsw ON interactions USING hnsw (embedding vector_ip_ops);
CREATE TABLE steps(
    interaction_id TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT, name TEXT,
    started_at DOUBLE PRECISION, ended_at DOUBLE PRECISION, error TEXT, data JSONB NOT NULL,
    PRIMARY KEY(interaction_id, idx)
);
CREATE TABLE decisions(
    interaction_id TEXT NOT NULL, idx INTEGER NOT NULL, decider TEXT, name TEXT, chosen TEXT,
    data JSONB NOT NULL,
    PRIMARY KEY(interaction_id, idx)
);
CREATE TABLE signals(
    id TEXT PRIMARY KEY, interaction_id TEXT NOT NULL, kind TEXT NOT NULL, source TEXT,
    actor TEXT, at DOUBLE PRECISION, value JSONB, data JSONB NOT NULL
);
CREATE INDEX signals_interaction ON signals(interaction_id);
CREATE INDEX signals_kind ON signals(kind);
CREATE INDEX signals_actor ON signals(actor, at);
CREATE TABLE rewards(
    interaction_id TEXT PRIMARY KEY, label TEXT NOT NULL, reward DOUBLE PRECISION NOT NULL,
    confidence DOUBLE PRECISION NOT NULL, n_signals INTEGER NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
    seq BIGINT NOT NULL
);
CREATE INDEX rewards_label ON rewards(label, reward);
CREATE UNIQUE INDEX rewards_seq ON rewards(seq);
CREATE TABLE consent(user_hash TEXT PRIMARY KEY, opted_out_at DOUBLE PRECISION NOT NULL);
CREATE TABLE erasures(user_hash TEXT PRIMARY KEY, erased_at DOUBLE PRECISION NOT NULL, report TEXT);
CREATE TABLE deleted_keys(key BIGINT NOT NULL, generation BIGINT NOT NULL);
CREATE INDEX deleted_keys_generation ON deleted_keys(generation);
-- each replica's local ingest queue has its own offsets: (replica, segment) -> offset
CREATE TABLE queue_cursors(replica TEXT NOT NULL, segment TEXT NOT NULL, "offset" BIGINT NOT NULL,
                           PRIMARY KEY(replica, segment));
-- per-replica state that the embedded store keeps in meta (processed offsets, worker counters)
CREATE TABLE replica_meta(replica TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                          updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY(replica, key));
"""


def _v2(dim: int) -> str:
    return """
CREATE TABLE exports(
    version TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
    rows BIGINT NOT NULL, n_interactions BIGINT NOT NULL, n_users BIGINT NOT NULL, manifest JSONB NOT NULL,
    PRIMARY KEY(version, path)
);
CREATE TABLE export_members(version TEXT NOT NULL, path TEXT NOT NULL, user_hash TEXT, interaction_id TEXT NOT NULL);
CREATE INDEX export_members_user ON export_members(user_hash);
CREATE INDEX export_members_interaction ON export_members(interaction_id);
CREATE INDEX export_members_version ON export_members(version, path);
"""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "interactions, steps, decisions, signals, rewards, consent, erasures, deletion log, "
                 "queue cursors, pgvector HNSW index", _v1),
    Migration(2, "export registry (exports, export_members)", _v2),
)

SCHEMA_VERSION = MIGRATIONS[-1].version
