"""A durable, append-only ingest queue on local disk.

Why this shape: ``record()`` must be cheap and must survive ``kill -9``. Each accepted record is
one JSON line written with a single ``os.write`` to an ``O_APPEND`` file: once the call returns the
bytes are in the kernel's page cache, so a crash of the process cannot lose them. A power cut can
lose what the disk has not got yet, so a background thread of every writing process fsyncs its
own segments (and the folder, for new files) every ``fsync_interval_s``, with no lock held during
the fsync: a record accepted more than that long ago survives a power cut too. The caller's thread
never fsyncs and holds the lock only for the short append.

Raw text waits in a segment until the segment is closed and the ingesting worker has stored its
records; then the segment is deleted. A segment closes when it reaches ``segment_bytes``, when it
is ``segment_max_age_s`` old, after ``segment_idle_s`` without an append (the background thread
does that, so an idle process does not keep raw text), when ``forget`` asks every process to
(``request_roll``), and at ``close()``. So raw text sits on disk for at most about
``segment_max_age_s`` plus the ingest delay under continuous traffic, ``segment_idle_s`` plus the
ingest delay otherwise. Records are not deleted one by one because an append-only file is what
makes ``record()`` crash-safe and cheap.

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
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson

from .errors import QueueFull  # re-exported: its home before errors.py

_log = logging.getLogger("flywheel_middleware")

_SEGMENT_GLOB = "seg-*.log"
_ROLL_MARKER = "roll.request"
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
                 segment_max_age_s: float = 60.0, segment_idle_s: float = 2.0, fsync_interval_s: float = 0.5,
                 writer: Any = os.write) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.segment_max_age_s = segment_max_age_s
        self.segment_idle_s = segment_idle_s
        self.fsync_interval_s = fsync_interval_s
        self._segment_opened = 0.0
        self._last_append = 0.0
        self._unsynced = False  # bytes appended to the current segment since its last fsync
        self._to_sync: list[int] = []  # duplicates of closed segments' fds, fsynced by the background thread
        self._dir_dirty = False  # a segment file was created since the folder was last fsynced
        self._roll_seen = self._roll_request_mtime()
        self._sync_thread: threading.Thread | None = None
        self._stop_sync = threading.Event()
        self.fsync_errors = 0
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
            self._last_append = time.monotonic()
            self._unsynced = True
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
            self._close_segment()  # the fragment stays at the end of a complete segment
            self._torn = False

    def roll(self) -> None:
        """Close this process's current segment so it can be consumed and deleted (erasure); the
        next append opens a new one."""
        with self._lock:
            if not self._closed:
                self._close_segment()

    def request_roll(self) -> float:
        """Ask every process writing to this folder to close its current segment within about
        ``fsync_interval_s`` (their background threads watch a marker file); returns the time of
        the request, so the caller can wait for older segments to be consumed and deleted."""
        marker = self.directory / _ROLL_MARKER
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write(str(time.time_ns()))
        self.roll()
        return marker.stat().st_mtime_ns / 1e9

    def segments_before(self, when: float) -> list[str]:
        """Segments created before ``when`` (a unix time) that still exist."""
        limit = int(when * 1e9)
        return [name for name in self.segments() if _segment_ns(name) < limit]

    def delete_consumed(self, cursors: dict[str, int]) -> int:
        """Delete every complete segment whose bytes are all consumed; returns how many."""
        deleted = 0
        for name in self.segments():
            if self.is_complete(name) and cursors.get(name, 0) >= self.size_of(name):
                self.discard(name)
                deleted += 1
        return deleted

    def scrub_dead_letters(self, matches: Any) -> int:
        """Rewrite the dead-letter file without the entries ``matches`` selects; returns how many."""
        from .dead_letters import DeadLetters

        return DeadLetters(self.directory).scrub(matches)

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
        self._close_segment()
        self._fd, self._segment, self._segment_size = fd, name, 0
        self._segment_opened = time.monotonic()
        self._dir_dirty = True
        self._start_sync_thread()

    def _close_segment(self) -> None:
        """Close the current segment (lock held by the caller): its lock is released, so the
        worker may consume and delete it; a duplicate fd goes to the background fsync first."""
        fd = self._fd
        if fd is None:
            return
        self._fd, self._segment, self._segment_size = None, None, 0
        if self._unsynced:
            try:
                self._to_sync.append(os.dup(fd))
            except OSError:
                pass
            self._unsynced = False
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)  # released for the duplicate too (same open file)
        finally:
            os.close(fd)

    # -- background durability and rolling (a thread per writing process) -----------------------
    def _start_sync_thread(self) -> None:
        if self._sync_thread is None and self.fsync_interval_s > 0:
            self._sync_thread = threading.Thread(target=self._sync_loop, name="flywheel-queue-sync", daemon=True)
            self._sync_thread.start()

    def _sync_loop(self) -> None:
        while not self._stop_sync.wait(self.fsync_interval_s):
            try:
                self.sync_now()
            except Exception as exc:  # noqa: BLE001 - the thread must outlive any fault; counted
                self.fsync_errors += 1
                _log.warning("flywheel: background queue fsync failed: %s", exc)

    def sync_now(self) -> None:
        """One background round: close a segment that is idle, too old or asked to roll, then
        fsync what was appended (outside the lock, on duplicated fds) and the folder."""
        now = time.monotonic()
        requested = self._roll_request_mtime()
        with self._lock:
            if self._fd is not None and (
                requested > self._roll_seen
                or now - self._last_append >= self.segment_idle_s
                or now - self._segment_opened >= self.segment_max_age_s
            ):
                self._close_segment()
            self._roll_seen = max(self._roll_seen, requested)
            fds, self._to_sync = self._to_sync, []
            if self._fd is not None and self._unsynced:
                fds.append(os.dup(self._fd))
                self._unsynced = False
            dir_dirty, self._dir_dirty = self._dir_dirty, False
        failed = False
        for fd in fds:
            try:
                os.fsync(fd)
            except OSError:
                failed = True
            finally:
                os.close(fd)
        if dir_dirty:
            try:
                dfd = os.open(self.directory, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
            except OSError:
                failed = True
        if failed:
            self.fsync_errors += 1
            raise OSError("fsync of the ingest queue failed (see fsync_errors)")

    def _roll_request_mtime(self) -> float:
        try:
            return (self.directory / _ROLL_MARKER).stat().st_mtime_ns / 1e9
        except FileNotFoundError:
            return 0.0

    def fsync(self) -> None:
        """Make appended records survive a power cut now (the background thread does it anyway)."""
        try:
            self.sync_now()
        except OSError:
            pass

    def close(self) -> None:
        """Close the segment (so the worker can consume and delete it) and fsync what is left."""
        with self._lock:
            self._closed = True
            self._close_segment()
        self._stop_sync.set()
        if self._sync_thread is not None and self._sync_thread is not threading.current_thread():
            self._sync_thread.join(5)
        self.fsync()

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

    def read_segment(self, name: str, start: int, end: int) -> list[QueuedItem]:
        """The complete records of one segment between byte offsets ``start`` and ``end``."""
        try:
            with open(self.directory / name, "rb") as handle:
                handle.seek(start)
                chunk = handle.read(max(0, end - start))
        except FileNotFoundError:
            return []
        items, offset = [], start
        for raw in chunk.splitlines(keepends=True):
            if not raw.endswith(b"\n"):
                break
            offset += len(raw)
            items.append(_decode(name, offset, raw))
        return items

    def holds_interaction(self, interaction_id: str, cursors: dict[str, int], max_bytes: int = 256 << 20) -> bool:
        """Whether an interaction with this id waits in the queue (not yet consumed): a byte search
        of the pending part of every segment, at most ``max_bytes`` of it (newest first)."""
        needle = b'"id":' + orjson.dumps(interaction_id)
        budget = max_bytes
        for name in reversed(self.segments()):
            start = cursors.get(name, 0)
            size = self.size_of(name)
            if size <= start or budget <= 0:
                continue
            start = max(start, size - budget)
            budget -= size - start
            try:
                with open(self.directory / name, "rb") as handle:
                    handle.seek(start)
                    chunk = handle.read(size - start)
            except FileNotFoundError:
                continue
            at = chunk.find(needle)
            while at >= 0:
                line_start = chunk.rfind(b"\n", 0, at) + 1
                if chunk.startswith(b'{"k":"i"', line_start):
                    return True
                at = chunk.find(needle, at + 1)
        return False

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


def _segment_ns(name: str) -> int:
    """The creation time (ns) in a segment's name (``seg-<ns>-<pid>-<rand>.log``); 0 if unreadable."""
    try:
        return int(name.split("-", 2)[1])
    except (IndexError, ValueError):
        return 0


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
