"""The store folder: foreign or corrupt files are refused, the index is a rebuildable cache."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from flywheel_middleware import Flywheel, StoreError
from flywheel_middleware.config import FlywheelConfig
from helpers import turn


def _filled(store_path: Path, embedder, n: int = 5) -> list[str]:
    with Flywheel(store_path, embedder=embedder) as fw:
        ids = [fw.record(turn(f"question number {i}")) for i in range(n)]
        fw.flush(60)
    return ids


def test_a_file_at_the_store_path_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("precious")
    with pytest.raises(StoreError, match="is a file"):
        Flywheel(target, start_worker=False)
    assert target.read_text() == "precious"


def test_a_foreign_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "thesis.docx").write_text("precious")
    with pytest.raises(StoreError, match="not a flywheel store"):
        Flywheel(tmp_path, start_worker=False)


def test_a_corrupt_database_is_refused_not_overwritten(store_path: Path, embedder) -> None:
    _filled(store_path, embedder)
    db = store_path / "store.sqlite"
    for extra in ("store.sqlite-wal", "store.sqlite-shm"):
        (store_path / extra).unlink(missing_ok=True)
    db.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a flywheel store"):
        Flywheel(store_path, start_worker=False)
    assert db.read_bytes().startswith(b"this is not sqlite")


def test_another_applications_sqlite_is_refused(store_path: Path) -> None:
    store_path.mkdir()
    conn = sqlite3.connect(store_path / "store.sqlite")
    conn.execute("CREATE TABLE users(name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="another application"):
        Flywheel(store_path, start_worker=False)


def test_a_missing_index_is_rebuilt_from_sqlite(store_path: Path, embedder) -> None:
    _filled(store_path, embedder)
    (store_path / "index.faiss").unlink()
    with Flywheel(store_path, embedder=embedder, start_worker=False) as fw:
        assert fw.index_sync_action == "rebuilt"
        assert len(fw.index) == 5
        assert fw.search("question number 3", k=1)[0][0].input == "question number 3"


def test_a_corrupt_index_is_rebuilt_from_sqlite(store_path: Path, embedder) -> None:
    _filled(store_path, embedder)
    (store_path / "index.faiss").write_bytes(b"garbage")
    with Flywheel(store_path, embedder=embedder, start_worker=False) as fw:
        assert fw.index_sync_action == "rebuilt" and len(fw.index) == 5


def test_an_index_behind_the_store_is_caught_up(store_path: Path, embedder) -> None:
    _filled(store_path, embedder, n=3)
    saved = (store_path / "index.faiss").read_bytes(), (store_path / "index.json").read_text()
    _filled(store_path, embedder, n=2)
    (store_path / "index.faiss").write_bytes(saved[0])  # as if the process died before saving
    (store_path / "index.json").write_text(saved[1])
    with Flywheel(store_path, embedder=embedder, start_worker=False) as fw:
        assert fw.index_sync_action == "caught up 2"
        assert len(fw.index) == 5


def test_reindex_rebuilds_from_the_source_of_truth(store_path: Path, embedder) -> None:
    _filled(store_path, embedder)
    with Flywheel(store_path, embedder=embedder, start_worker=False) as fw:
        assert fw.reindex() == 5


def test_a_second_flywheel_on_the_same_folder_only_appends(store_path: Path, embedder) -> None:
    with Flywheel(store_path, embedder=embedder) as owner:
        with Flywheel(store_path, embedder=embedder) as guest:
            assert guest.stats()["worker"] == "other process"
            iid = guest.record(turn("from the guest"))
        assert owner.flush(60)
        assert owner.get(iid) is not None


def test_config_from_toml_file(tmp_path: Path) -> None:
    file = tmp_path / "flywheel.toml"
    file.write_text(f'[flywheel]\npath = "{tmp_path / "s"}"\nbatch_size = 7\nstart_worker = false\n')
    with Flywheel.from_config(file) as fw:
        assert fw.config.batch_size == 7 and fw.path == tmp_path / "s"


def test_unknown_config_keys_are_named(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="batchsize"):
        FlywheelConfig.from_dict({"batchsize": 3})


@pytest.mark.parametrize("url", ["mysql://user@db/flywheel", "s3://bucket/flywheel", "https://example.com/store"])
def test_a_url_no_backend_handles_is_a_clear_error_not_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=r"no store backend handles"):
        Flywheel(url, start_worker=False)
    assert list(tmp_path.iterdir()) == []  # nothing named after the URL was created


def test_a_file_url_is_a_folder(tmp_path: Path) -> None:
    with Flywheel((tmp_path / "via url").as_uri(), start_worker=False) as fw:
        assert fw.path == tmp_path / "via url" and (tmp_path / "via url" / "store.sqlite").exists()
