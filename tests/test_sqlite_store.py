"""What is particular to the embedded SQLite backend (the shared behaviour is in test_store_contract.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from flywheel_middleware import Interaction
from flywheel_middleware.errors import StoreError
from flywheel_middleware.store import RewardRow, SQLiteStore, StoredInteraction, open_store


def test_a_store_from_before_the_reward_change_sequence_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    store = SQLiteStore(path)
    store.ingest([StoredInteraction(Interaction(id=i, input="q", output="a")) for i in ("a", "b")], [], {})
    store.upsert_rewards([RewardRow("a", "good", 0.8, 0.9, 1), RewardRow("b", "bad", -0.8, 0.9, 1)])
    store.close()
    conn = sqlite3.connect(path)  # the rewards table as the library wrote it before (no seq column)
    conn.executescript("""
        CREATE TABLE old AS SELECT interaction_id, label, reward, confidence, n_signals, updated_at FROM rewards;
        DROP TABLE rewards;
        CREATE TABLE rewards(interaction_id TEXT PRIMARY KEY, label TEXT NOT NULL, reward REAL NOT NULL,
            confidence REAL NOT NULL, n_signals INTEGER NOT NULL, updated_at REAL NOT NULL);
        INSERT INTO rewards SELECT * FROM old; DROP TABLE old;
    """)
    conn.close()
    migrated = SQLiteStore(path)
    changes = migrated.reward_changes(0, 10)
    assert [c.label for c in changes] == ["good", "bad"] and changes[0].seq < changes[1].seq
    migrated.upsert_rewards([RewardRow("a", "bad", -0.5, 0.9, 2)])
    assert migrated.reward_changes(changes[-1].seq, 10)[0].label == "bad"
    assert migrated.rewards_for(["a", "b"])["a"].n_signals == 2


def test_the_location_is_a_sqlite_url_of_the_file(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.sqlite")
    assert store.location == "sqlite://" + str((tmp_path / "store.sqlite").resolve())
    assert isinstance(open_store(str(tmp_path / "store.sqlite")), SQLiteStore)


def test_a_read_only_store_must_exist(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        SQLiteStore(tmp_path / "missing.sqlite", read_only=True)
    assert not (tmp_path / "missing.sqlite").exists()


def test_an_unknown_location_scheme_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="no store backend"):
        open_store("mysql://host/db")
