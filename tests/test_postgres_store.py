"""The PostgreSQL store's own behaviour: schema migrations, refusals, per-replica queue offsets,
text PostgreSQL cannot hold, and an outage that becomes ``StoreUnavailableError`` then heals.

What both backends share is in test_store_contract.py (one set of tests, parametrised)."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from flywheel_middleware.errors import StoreError, StoreUnavailableError
from flywheel_middleware.records import Interaction, Signal
from flywheel_middleware.store.base import StoredInteraction
from flywheel_middleware.store.postgres import PostgresStore, safe_url
from flywheel_middleware.store.postgres_migrations import SCHEMA_VERSION


def _vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
    return v / np.linalg.norm(v)


def _turn(iid: str, **kw) -> StoredInteraction:
    return StoredInteraction(Interaction(id=iid, input=f"question {iid}", output="answer", **kw), _vec(hash(iid) % 1000))


def test_opening_an_empty_database_applies_every_migration(postgres_url):
    store = PostgresStore(postgres_url)
    assert store.schema_version() == SCHEMA_VERSION
    with psycopg.connect(postgres_url) as conn:
        indexes = {r[0]: r[1] for r in conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename='interactions'")}
        assert "hnsw" in indexes["interactions_embedding_hnsw"] and "vector_ip_ops" in indexes["interactions_embedding_hnsw"]
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname='vector'").fetchone()[0].startswith("0.")
    store.close()
    PostgresStore(postgres_url).close()  # reopening applies nothing twice


def test_a_schema_from_a_newer_library_is_refused(postgres_url):
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version(version, description, applied_at) VALUES (%s, 'future', 0)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="schema version"):
        PostgresStore(postgres_url)


def test_a_database_of_another_application_is_refused(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers(id int)")
    with pytest.raises(StoreError, match="another application"):
        PostgresStore(postgres_url)


def test_another_vector_dimension_is_refused(postgres_url):
    PostgresStore(postgres_url, dim=384).close()
    with pytest.raises(StoreError, match="384-d"):
        PostgresStore(postgres_url, dim=768)


def test_each_replica_has_its_own_queue_offsets(postgres_url):
    a, b = PostgresStore(postgres_url, replica="a"), PostgresStore(postgres_url, replica="b")
    a.ingest([_turn("t1")], [], {"seg-000001": 120})
    b.ingest([_turn("t2")], [], {"seg-000001": 7})
    assert a.cursors() == {"seg-000001": 120} and b.cursors() == {"seg-000001": 7}
    a.drop_cursor("seg-000001")
    assert a.cursors() == {} and b.cursors() == {"seg-000001": 7}
    assert a.existing_ids(["t1", "t2"]) == {"t1", "t2"}  # the data itself is shared


def test_keys_grow_in_commit_order_across_replicas(postgres_url):
    a, b = PostgresStore(postgres_url, replica="a"), PostgresStore(postgres_url, replica="b")
    keys = a.ingest([_turn("x1"), _turn("x2")], [], {}) + b.ingest([_turn("x3")], [], {})
    assert keys == sorted(keys)
    assert [k for batch_keys, _ in a.iter_embeddings() for k in batch_keys.tolist()] == keys


def test_text_with_nul_bytes_is_kept_without_the_byte(postgres_url):
    store = PostgresStore(postgres_url)
    store.ingest([StoredInteraction(Interaction(id="n1", input="bad\x00byte", output={"x": "a\x00b"}), None)], [], {})
    got = store.get("n1")
    assert got is not None and got.input_text == "bad\ufffdbyte"


def test_signals_upsert_keeps_the_latest_word(postgres_url):
    store = PostgresStore(postgres_url)
    store.ingest([_turn("r1")], [], {})
    first = Signal(interaction_id="r1", kind="rating", value=3, id="sig1", at=10.0)
    later = Signal(interaction_id="r1", kind="rating", value=5, id="sig1", at=20.0)
    store.ingest([], [later], {})
    store.ingest([], [first], {})  # an older copy arriving late does not win
    assert [s.value for s in store.signals_for(["r1"])["r1"]] == [5]


def test_the_password_never_appears_in_messages():
    assert safe_url("postgresql://app:s3cret@db.internal:5432/flywheel") == "postgresql://app:***@db.internal:5432/flywheel"


def test_an_outage_raises_unavailable_and_the_store_heals_when_the_server_returns(postgres_server):
    url = postgres_server.new_url()
    outages = []
    store = PostgresStore(url, replica="r", on_unavailable=lambda: outages.append(1), connect_timeout_s=1)
    store.ingest([_turn("o1")], [], {"s": 1})
    postgres_server.stop()
    try:
        with pytest.raises(StoreUnavailableError):
            store.cursors()
        with pytest.raises(ConnectionError):  # the worker's retry-forever class of fault
            store.ingest([_turn("o2")], [], {"s": 2})
        assert outages and store.available is False
    finally:
        postgres_server.start()
    store.ingest([_turn("o2")], [], {"s": 2})
    assert store.cursors() == {"s": 2} and store.existing_ids(["o1", "o2"]) == {"o1", "o2"} and store.available
