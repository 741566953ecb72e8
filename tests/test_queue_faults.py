"""The durable queue and the store under disk faults: a failed or short write leaves nothing behind, so no
record that ``record()`` accepted is ever lost or merged with a fragment of a rejected one; a store that
cannot grow shows in stats() within seconds and loses nothing once there is space again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flywheel_middleware import Flywheel
from flywheel_middleware.queue import DurableQueue
from helpers import turn


class _FlakyDisk:
    """Writes through ``os.write`` but, while ``full``, only the first ``room`` bytes of a record
    reach the file (a short write), then nothing (ENOSPC), like a disk filling up."""

    def __init__(self) -> None:
        self.full = False
        self.room = 0

    def __call__(self, fd: int, data: bytes) -> int:
        if not self.full:
            return os.write(fd, data)
        if self.room > 0:
            n = os.write(fd, data[: min(self.room, len(data) - 1)])
            self.room = 0
            return n
        raise OSError(28, "No space left on device")


def _lines(directory: Path) -> list[bytes]:
    return [line for seg in sorted(directory.glob("seg-*.log")) for line in seg.read_bytes().splitlines(keepends=True)]


def test_a_short_write_is_cut_back_so_the_next_record_is_intact(tmp_path: Path) -> None:
    disk = _FlakyDisk()
    queue = DurableQueue(tmp_path, writer=disk)
    queue.append("i", {"n": 1})
    disk.full, disk.room = True, 7
    with pytest.raises(OSError):
        queue.append("i", {"n": 2, "text": "x" * 100})
    with pytest.raises(OSError):
        queue.append("i", {"n": 3})
    disk.full = False  # space freed
    queue.append("i", {"n": 4})
    queue.close()
    lines = _lines(tmp_path)
    assert [json.loads(line)["d"]["n"] for line in lines] == [1, 4]
    assert all(line.endswith(b"\n") for line in lines)
    assert queue.write_errors == 2


def test_a_fragment_that_cannot_be_cut_off_is_left_at_the_end_of_a_rolled_segment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = _FlakyDisk()
    queue = DurableQueue(tmp_path, writer=disk)
    queue.append("i", {"n": 1})
    first = queue.active_segment()
    disk.full, disk.room = True, 5

    def broken_ftruncate(fd: int, size: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "ftruncate", broken_ftruncate)
    with pytest.raises(OSError):
        queue.append("i", {"n": 2})
    monkeypatch.undo()
    disk.full = False
    queue.append("i", {"n": 3})
    assert queue.active_segment() != first  # the fragment's segment is complete: nothing more goes there
    queue.close()
    reader = DurableQueue(tmp_path)
    items = list(reader.read({}, 10))
    assert [i.data["n"] for i in items] == [1, 3]
    assert (tmp_path / first).read_bytes().endswith(b'{"k":')  # the torn tail the consumer skips


def test_lines_from_another_writer_with_nan_or_lone_surrogates_are_normalised(tmp_path: Path) -> None:
    (tmp_path / "seg-00000000000000000001-1-aaaaaa.log").write_bytes(
        b'{"k":"i","d":{"input":"q","score":NaN,"big":Infinity}}\n'
        + '{"k":"i","d":{"input":"half an emoji \\ud83d"}}\n'.encode()
        + '{"k":"i","d":{"input":"raw \ud83d bytes"}}\n'.encode("utf-8", "surrogatepass")
    )
    items = list(DurableQueue(tmp_path).read({}, 10))
    assert [i.kind for i in items] == ["i", "i", "i"]
    assert items[0].data["score"] is None and items[0].data["big"] is None
    assert items[1].data["input"] == "half an emoji \ufffd"
    assert items[2].data["input"] == "raw \ufffd bytes"


_FULL_DISK_WRITER = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    from flywheel_middleware import Flywheel, Interaction
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death, like ENOSPC
    fw = Flywheel(sys.argv[1], start_worker=False)
    accepted, rejected = [], []
    def record(i):
        it = Interaction(input=f"question {i} " + "words " * 200, output="an answer", session_id="d")
        (accepted if fw.record(it) == it.id else rejected).append(it.id)
    for i in range(10):
        record(i)
    segment = fw.queue.directory / fw.queue.active_segment()
    # the disk fills up 2.5 records later: one record fits, the next is written short, then nothing
    limit = segment.stat().st_size + 3000
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    for i in range(10, 20):
        record(i)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))  # space freed
    for i in range(20, 30):
        record(i)
    print(json.dumps({"accepted": accepted, "rejected": rejected, "counters": fw.stats()["counters"]}))
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_full_disk_then_refill_loses_no_accepted_record(store_path: Path, embedder) -> None:
    proc = subprocess.run([sys.executable, "-c", _FULL_DISK_WRITER, str(store_path)], capture_output=True, text=True, timeout=120)
    result = json.loads(proc.stdout.splitlines()[-1])
    assert len(result["accepted"]) >= 21 and len(result["rejected"]) >= 5, result
    assert result["counters"]["rejected_write_error"] == len(result["rejected"])
    with Flywheel(store_path, embedder=embedder, worker_mode="thread") as fw:
        assert fw.flush(120)
        stored = {it.id for it in fw.interactions(limit=None)}
        counters = fw.stats()["counters"]
    assert stored == set(result["accepted"])
    assert counters.get("queue_corrupt_records", 0) == 0 and counters.get("queue_torn_records", 0) == 0


_FULL_STORE = textwrap.dedent(
    """
    import json, resource, signal, sys, time
    from pathlib import Path
    from flywheel_middleware import Flywheel, Interaction
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death: SQLite sees a full disk
    path = Path(sys.argv[1])
    def turn(i, text=""):
        return Interaction(input=f"question {i} {text}", output="an answer", user_id="u1", session_id=f"s{i % 7}")
    with Flywheel(path, worker_mode="thread", flush_interval_s=0.05, max_backoff_s=0.5, segment_bytes=32 * 1024,
                  batch_size=16) as fw:
        ids = [fw.record(turn(i)) for i in range(3)]
        assert fw.flush(120)
        grown = max(p.stat().st_size for p in path.rglob("*") if p.is_file())
        # the disk fills up: no file may grow past what the biggest one holds now, plus a little
        resource.setrlimit(resource.RLIMIT_FSIZE, (grown + 16 * 1024, resource.RLIM_INFINITY))
        t0 = time.monotonic()
        for i in range(3, 83):
            iid = fw.record(turn(i, "words " * 100))
            if iid:
                ids.append(iid)
                fw.feedback(iid, "thumbs_up", actor=f"rater-{i}")
        seen = None
        while time.monotonic() - t0 < 30 and seen is None:
            if fw.stats()["worker_last_error"]:  # EFBIG reads "disk I/O error"; ENOSPC "database or disk is full"
                seen = time.monotonic() - t0
            time.sleep(0.05)
        stored_while_full = fw.stats()["interactions"]
        last_error = fw.stats()["worker_last_error"]
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))  # space again
        ok = fw.flush(120)
        stats = fw.stats()
        rewards = fw.store.rewards_for(ids)
        print(json.dumps({"accepted": len(ids), "seen_s": seen, "flushed": ok, "stored_while_full": stored_while_full, "last_error": last_error,
                          "lost": len(set(ids) - {it.id for it in fw.interactions(limit=None)}),
                          "rewarded": sum(r.n_signals >= 1 for r in rewards.values()), "counters": stats["counters"]}))
    """
)


@pytest.mark.slow
def test_a_full_disk_under_the_store_loses_nothing_and_shows_in_stats(store_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _FULL_STORE, str(store_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["stored_while_full"] < result["accepted"], result  # the store really was full
    assert result["seen_s"] is not None and result["seen_s"] < 5, result
    assert "OperationalError" in result["last_error"] and result["counters"]["worker_errors"] >= 1
    assert result["flushed"] and result["lost"] == 0, result
    assert result["rewarded"] == result["accepted"] - 3, result  # every thumbs up reached its reward
    assert result["counters"].get("dead_lettered", 0) == 0 and result["counters"].get("queue_corrupt_records", 0) == 0
