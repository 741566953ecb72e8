"""The queue's background thread: it fsyncs what was appended without ever holding up record(),
and closes segments that are idle, old, or that ``forget`` asked every process to close."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from flywheel_middleware import queue as queue_module
from flywheel_middleware.queue import DurableQueue


def _wait(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_appended_records_are_fsynced_in_the_background_within_the_interval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.fstat(fd).st_ino)
        real(fd)

    monkeypatch.setattr(queue_module.os, "fsync", spy)
    queue = DurableQueue(tmp_path, fsync_interval_s=0.1, segment_idle_s=60)
    queue.append("i", {"n": 1})
    inode = (tmp_path / queue.active_segment()).stat().st_ino
    assert _wait(lambda: inode in synced, 2.0)
    queue.close()


def test_a_slow_fsync_never_holds_up_an_append(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = threading.Event()

    def slow(fd: int) -> None:
        started.set()
        time.sleep(1.0)  # a disk that takes a second to flush

    monkeypatch.setattr(queue_module.os, "fsync", slow)
    queue = DurableQueue(tmp_path, fsync_interval_s=3600, segment_idle_s=3600)
    queue.append("i", {"n": 0})
    syncing = threading.Thread(target=queue.fsync)
    syncing.start()
    assert started.wait(5)
    t0 = time.perf_counter()
    for n in range(100):
        queue.append("i", {"n": n})
    assert time.perf_counter() - t0 < 0.5  # the append path never waits for the fsync
    syncing.join()
    queue.close()


def test_an_idle_segment_is_closed_so_its_raw_text_can_be_deleted(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path, fsync_interval_s=0.05, segment_idle_s=0.2)
    queue.append("i", {"n": 1})
    name = queue.active_segment()
    assert _wait(lambda: queue.active_segment() is None, 3.0)
    assert queue.is_complete(name)
    queue.append("i", {"n": 2})  # the next record opens a new segment
    assert queue.active_segment() not in (None, name)
    queue.close()


def test_a_roll_request_closes_every_writers_segment(tmp_path: Path) -> None:
    app = DurableQueue(tmp_path, fsync_interval_s=0.05, segment_idle_s=3600, segment_max_age_s=3600)
    cli = DurableQueue(tmp_path, fsync_interval_s=0.05)
    app.append("i", {"user_id": "u1", "input": "raw text"})
    held = app.active_segment()
    assert not cli.is_complete(held)
    when = cli.request_roll()
    assert _wait(lambda: cli.is_complete(held), 3.0)
    assert cli.segments_before(when) == [held]
    cli.discard(held)
    assert cli.segments_before(when) == []
    app.close()
    cli.close()
