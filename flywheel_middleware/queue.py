"""A durable, append-only ingest queue on local disk.

Why this shape: ``record()`` must be cheap and must survive ``kill -9``. Each accepted record is
one JSON line written with a single ``os.write`` to an ``O_APPEND`` file: once the call returns the
bytes are in the kernel's page cache, so a crash of the process cannot lose them (a power cut
can; the worker fsyncs segments in the background every ``fsync_interval_s``). No fsync, no lock
held across I/O other than the short append.

Each process writes its own segment files (``seg-<ns>-<pid>-<rand>.log``) and holds an exclusive
``flock`` on the one it is writing, so several processes can share a store folder. The worker
that owns the store consumes every segment; a segment whose writer is gone (its lock is free) is
complete, and once consumed it is deleted. Consumption offsets live in the store and are committed
in the same transaction as the records they cover, so a record is stored exactly once.

Memory stays bounded under any burst: records wait on disk, not in RAM. When the pending bytes
exceed ``max_bytes`` new records are rejected (counted), never blocking the caller.

A write that fails or comes back short (a full disk, a file size limit) is cut back off the
segment before ``append`` raises, so the next record never lands glued to a fragment of a rejected
one; if even that truncation fails, the next append retries it and, failing again, rolls to a new
segment (the fragment then sits at the end of a complete segment, where the consumer skips it).
Every line is strict UTF-8 JSON: values JSON cannot hold are normalised on the way in (see
``records.to_jsonable``), and a line another writer produced with NaN or a lone surrogate is
normalised on the way out.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson

from .errors import QueueFull  # re-exported: its home before errors.py

_SEGMENT_GLOB = "seg-*.log"
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def _jsonable(value: Any) -> Any:
    from .records import to_jsonable

    out = to_jsonable(value)
    if out is value:  # to_jsonable passed it through: orjson cannot take it, so describe it
        return repr(value)
    return out


def _strict(data: Any) -> Any:
    """``data`` as strict-JSON values: the slow path for what orjson refused (see ``encode``)."""
    from .records import to_jsonable

    if hasattr(data, "to_dict"):
        data = data.to_dict()
    return to_jsonable(data)


@dataclass(slots=True)
class QueuedItem:
    """One decoded queue line and where it ends, so the consumer can commit its offset."""

    segment: str
    end_offset: int
    kind: str
    data: dict[str, Any]


class DurableQueue:
    """Appends records to this process's segment; reads every segment from committed offsets."""

    def __init__(self, directory: Path, *, max_bytes: int = 1 << 30, segment_bytes: int = 64 << 20,
                 segment_max_age_s: float = 300.0, writer: Any = os.write) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.segment_max_age_s = segment_max_age_s
        self._segment_opened = 0.0
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._segment: str | None = None
        self._segment_size = 0
        self._closed = False
        self._pending_estimate = self._bytes_on_disk()
        self._write = writer  # the one place bytes reach the segment (tests inject faults here)
        self._torn = False  # a failed write left bytes past _segment_size that could not be cut off yet
        self.appended = 0  # records appended by this process
        self.write_errors = 0  # appends that failed (full disk...) and were cut back off the segment

    # -- writer side (the caller's thread) ---------------------------------------------------
    @staticmethod
    def encode(kind: str, data: Any) -> bytes:
        """One queue line (strict UTF-8 JSON + newline), encoded once so its size can be checked first.

        ``data`` may be a record dataclass itself: orjson walks dataclasses natively, an order of
        magnitude faster than building a dict first; anything it cannot encode (bytes, framework
        objects, sets) goes through ``to_jsonable``. orjson writes NaN and infinities as ``null``;
        what it refuses outright (a lone surrogate, an integer over 64 bits) takes the slow path,
        where ``to_jsonable`` normalises it: the line is always valid UTF-8 JSON.
        """
        try:
            return orjson.dumps({"k": kind, "d": data}, default=_jsonable, option=_ORJSON_OPTIONS) + b"\n"
        except (TypeError, orjson.JSONEncodeError):
            return orjson.dumps({"k": kind, "d": _strict(data)}, default=_jsonable, option=_ORJSON_OPTIONS) + b"\n"

    def append(self, kind: str, data: dict[str, Any]) -> int:
        """Encode and write one record; returns its size."""
        return self.append_payload(self.encode(kind, data))

    def append_payload(self, payload: bytes) -> int:
        """Write one encoded record. Raises QueueFull / OSError to ``record()``, which counts them.

        On any failed or short write the segment is cut back to its last complete record before
        raising (see the module docstring), so a rejected record leaves no fragment behind.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("queue is closed")
            if self._pending_estimate + len(payload) > self.max_bytes:
                raise QueueFull(f"ingest queue holds over {self.max_bytes} bytes")
            if self._torn:
                self._cut_torn_tail()
            if (self._fd is None or self._segment_size + len(payload) > self.segment_bytes
                    or time.monotonic() - self._segment_opened > self.segment_max_age_s):
                self._roll()  # bounded by size and age, so consumed raw text does not linger
            assert self._fd is not None
            try:
                written = self._write(self._fd, payload)
            except OSError:
                self._after_failed_write()
                raise
            if written != len(payload):  # a short write on a regular file means disk trouble
                self._after_failed_write()
                raise OSError(errno.ENOSPC, f"short write to ingest queue ({written}/{len(payload)} bytes); cut back off the segment")
            self._segment_size += written
            self._pending_estimate += written
            self.appended += 1
        return len(payload)

    def _after_failed_write(self) -> None:
        """Cut whatever part of the failed record reached the file; remember if that failed too."""
        self.write_errors += 1
        self._torn = True
        try:
            self._cut_torn_tail()
        except OSError:
            pass  # retried on the next append (see _cut_torn_tail)

    def _cut_torn_tail(self) -> None:
        """Truncate this process's segment back to its last complete record (``_segment_size``).

        Truncating frees space, so it works on a full disk; if it still fails the segment is
        rolled, which leaves the fragment at the end of a complete segment (skipped by the
        consumer as a torn record) and appends continue in a fresh file."""
        fd = self._fd
        if fd is None:
            self._torn = False
            return
        try:
            if os.fstat(fd).st_size != self._segment_size:
                os.ftruncate(fd, self._segment_size)
            self._torn = False
        except OSError:
            self._roll()
            self._torn = False

    def roll(self) -> None:
        """Close this process's current segment so it can be consumed and deleted (erasure)."""
        with self._lock:
            if self._fd is not None and not self._closed:
                self._roll()

    def delete_consumed(self, cursors: dict[str, int]) -> int:
        """Delete every complete segment whose bytes are all consumed; returns how many."""
        deleted = 0
        for name in self.segments():
            if self.is_complete(name) and cursors.get(name, 0) >= self.size_of(name):
                self.discard(name)
                deleted += 1
        return deleted

    def scrub_dead_letters(self, matches: Any) -> int:
        """Rewrite the dead-letter file without the records ``matches`` selects; returns how many."""
        path = self.directory / "dead-letter.jsonl"
        if not path.exists():
            return 0
        keep, removed = [], 0
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                keep.append(line)
                continue
            if matches(record):
                removed += 1
            else:
                keep.append(line)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(k + "\n" for k in keep), encoding="utf-8")
        os.replace(tmp, path)
        return removed

    def _roll(self) -> None:
        """Start a new segment; the old one is closed (and its lock released) only once the new one
        is open, so a failure here (a full disk) leaves this process appending where it was."""
        name = f"seg-{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(3)}.log"
        fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
        self._fd, self._segment, self._segment_size = fd, name, 0
        self._segment_opened = time.monotonic()

    def fsync(self) -> None:
        """Make appended records survive a power cut too (called by the worker, off the hot path)."""
        with self._lock:
            fd = self._fd
            if fd is not None:
                try:
                    os.fsync(fd)
                except OSError:
                    pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._fd is not None:
                try:
                    os.fsync(self._fd)
                finally:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    os.close(self._fd)
                self._fd = None

    # -- consumer side (the worker) ------------------------------------------------------------
    def segments(self) -> list[str]:
        return sorted(p.name for p in self.directory.glob(_SEGMENT_GLOB))

    def active_segment(self) -> str | None:
        with self._lock:
            return self._segment

    def read(self, cursors: dict[str, int], max_items: int, max_bytes: int = 8 << 20) -> Iterator[QueuedItem]:
        """Yield up to ``max_items`` complete records after the committed ``cursors``."""
        produced = 0
        for name in self.segments():
            if produced >= max_items:
                return
            start = cursors.get(name, 0)
            path = self.directory / name
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            if size <= start:
                continue
            with open(path, "rb") as handle:
                handle.seek(start)
                chunk = handle.read(min(size - start, max_bytes))
            offset = start
            for raw in chunk.splitlines(keepends=True):
                if not raw.endswith(b"\n"):
                    break  # a record still being written, or torn by a crash (see finish())
                offset += len(raw)
                item = _decode(name, offset, raw)
                produced += 1
                yield item
                if produced >= max_items:
                    return

    def is_complete(self, name: str) -> bool:
        """True when no live writer holds the segment (so nothing more will be appended)."""
        if name == self.active_segment():
            return False
        try:
            fd = os.open(self.directory / name, os.O_RDONLY)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
        return True

    def size_of(self, name: str) -> int:
        try:
            return (self.directory / name).stat().st_size
        except FileNotFoundError:
            return 0

    def discard(self, name: str) -> None:
        """Delete a consumed, complete segment."""
        try:
            (self.directory / name).unlink()
        except FileNotFoundError:
            pass

    def set_pending(self, nbytes: int) -> None:
        """Correct the backpressure estimate once the committed offsets are known."""
        with self._lock:
            self._pending_estimate = nbytes

    def consumed(self, nbytes: int) -> None:
        with self._lock:
            self._pending_estimate = max(0, self._pending_estimate - nbytes)

    def pending_bytes(self, cursors: dict[str, int]) -> int:
        return sum(max(0, self.size_of(n) - cursors.get(n, 0)) for n in self.segments())

    def _bytes_on_disk(self) -> int:
        return sum(self.size_of(n) for n in self.segments())


def _decode(segment: str, end_offset: int, raw: bytes) -> QueuedItem:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        obj = _decode_lenient(raw)
    try:
        return QueuedItem(segment, end_offset, str(obj["k"]), obj["d"])
    except (KeyError, TypeError) as exc:
        return QueuedItem(segment, end_offset, "corrupt", {"error": repr(exc)})


def _decode_lenient(raw: bytes) -> Any:
    """A line orjson refuses: NaN / Infinity literals, lone surrogates (written by an older version
    or another writer) are normalised like ``encode`` would have; anything else is corrupt."""
    from .records import to_jsonable

    try:
        return to_jsonable(json.loads(raw.decode("utf-8", "surrogatepass"), parse_constant=lambda _: None))
    except ValueError as exc:
        return {"k": "corrupt", "d": {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}}
