"""The SQLite file: corruption is refused on open, a held lock is a clear error (or no obstacle),
and deleted rows leave no copy in free pages or in the write-ahead log."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from flywheel_middleware import Flywheel, Interaction, StoreBusyError, StoreError
from flywheel_middleware.store.base import StoredInteraction
from flywheel_middleware.store.sqlite import SQLiteStore


def _fill(path: Path, n: int = 400) -> None:
    store = SQLiteStore(path)
    rng = np.random.default_rng(0)
    rows = [StoredInteraction(Interaction(input=f"question {i} " + "word " * 50, output="answer " * 50, id=f"id-{i}", user_id=f"u{i % 7}"),
                              rng.standard_normal(384).astype(np.float32)) for i in range(n)]
    store.ingest(rows, [], {})
    store.close()
    for extra in ("-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)


def _corrupt_pages(path: Path, pages: list[int], page_size: int = 4096) -> None:
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(7)
    for page in pages:
        data[page * page_size : (page + 1) * page_size] = rng.integers(0, 256, page_size, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("count", [1, 50])
def test_corrupt_middle_pages_are_refused_on_open(tmp_path: Path, count: int) -> None:
    db = tmp_path / "store.sqlite"
    _fill(db)
    n_pages = db.stat().st_size // 4096
    middle = n_pages // 2
    _corrupt_pages(db, list(range(middle, middle + count)))
    before = db.read_bytes()
    with pytest.raises(StoreError, match="corrupt.*quick_check"):
        SQLiteStore(db)
    assert db.read_bytes() == before  # refused, not "repaired"


def test_a_corrupt_store_folder_is_refused_by_flywheel(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    with Flywheel(folder, start_worker=False):
        pass
    _fill(folder / "store.sqlite")
    db = folder / "store.sqlite"
    _corrupt_pages(db, [db.stat().st_size // 4096 // 2])
    with pytest.raises(StoreError, match="corrupt"):
        Flywheel(folder, start_worker=False)


def test_a_big_store_is_checked_later_not_on_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "store.sqlite"
    _fill(db)
    _corrupt_pages(db, [db.stat().st_size // 4096 // 2])
    monkeypatch.setattr(SQLiteStore, "quick_check_max_bytes", 1000)
    store = SQLiteStore(db)  # too big to check on open: the ingesting worker checks it in the background
    assert not store.integrity_checked
    with pytest.raises(StoreError, match="corrupt"):
        store.check_integrity()
    store.close()


def test_opening_a_store_another_process_holds_locked_needs_no_lock(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    with Flywheel(folder, start_worker=False):
        pass
    blocker = sqlite3.connect(folder / "store.sqlite", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        with Flywheel(folder, start_worker=False) as fw:
            assert time.monotonic() - t0 < 3
            assert fw.record(Interaction(input="recorded while locked")) is not None
            fw.store._busy_timeout_s = 0.2
            fw.store.close()  # reconnect with the short timeout
            with pytest.raises(StoreBusyError, match="locked by another process"):
                fw.opt_out("u1")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_deleted_rows_leave_nothing_in_free_pages_or_the_wal(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    store = SQLiteStore(db)
    secret = "user-to-erase-7f3a9c"
    rows = [StoredInteraction(Interaction(input=f"q{i}", id=f"id-{i}", user_id=secret if i % 2 else "someone-else",
                                          session_id=f"{secret}-session"), None) for i in range(200)]
    store.ingest(rows, [], {})
    store.delete_interactions(store.interaction_ids_for_user(secret) + [f"id-{i}" for i in range(0, 200, 2)])
    assert store.checkpoint()
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert secret.encode() not in blob
    assert Path(f"{db}-wal").stat().st_size == 0
    store.close()
