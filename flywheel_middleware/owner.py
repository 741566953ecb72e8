"""The ingest owner: the one process per store folder that drains the queue into the store.

Whoever holds ``worker.lock`` (an exclusive ``flock``) ingests every process's queue segments;
everyone else only appends. This module holds everything about that role, apart from the facade:

* ``IngestOwner`` — the lock, the ``IngestWorker`` thread, the processors, and the owner's
  maintenance when idle (following other processes' deletions into the index, retention).
  ``health()`` reports its state and last error (what a supervisor watches).
* ``WorkerProcess`` — a child process (``python -m flywheel_middleware.worker_process``) that
  becomes the owner, so redaction and embedding do not compete with the agent for the GIL.
* ``Ingestion`` — how one process gets its records ingested: by owning the folder (a thread), by
  a worker process it started, or by another process; it waits for "stored and processed" in
  all three cases (``wait_for``), which is what ``Flywheel.flush`` needs.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .errors import FlywheelError

if TYPE_CHECKING:
    from ._parts import Parts
    from .processors import CompositeProcessor
    from .config import FlywheelConfig
    from .worker import IngestWorker

_log = logging.getLogger("flywheel_middleware")
_LOCK_FILE = "worker.lock"
_LOCK_ATTEMPTS = 5  # a flush() elsewhere may probe the lock for a moment
_DRAIN_ROUNDS = 4  # signals the detectors emit for a batch go through the queue too: wait for those
EXIT_ANOTHER_OWNER = 3  # a worker process that found the folder owned exits with this


@dataclass(frozen=True)
class OwnerHealth:
    """What the owner reports about itself (``Flywheel.stats()["worker"]`` and ``worker_last_error``)."""

    alive: bool
    started_at: float
    last_ingest_at: float | None
    last_error: str | None


class IngestOwner:
    """The process-wide owner of a store folder's ingestion; ``acquire`` it, then ``start`` it."""

    def __init__(self, parts: Parts, lock_fd: int) -> None:
        self.parts = parts
        self._lock_fd: int | None = lock_fd
        self._last_retention = float("-inf")
        self._started_at = time.time()
        self.processors: CompositeProcessor | None = None  # built by start()
        self.worker: IngestWorker | None = None

    @classmethod
    def acquire(cls, parts: Parts) -> IngestOwner | None:
        """Take ``worker.lock``; None when another process holds it (then this one only appends)."""
        fd = os.open(parts.path / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        for attempt in range(_LOCK_ATTEMPTS):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return cls(parts, fd)
            except BlockingIOError:
                if attempt == _LOCK_ATTEMPTS - 1:
                    os.close(fd)
                    _log.info("flywheel: another process ingests %s; this one only appends to the queue", parts.path)
                    return None
                time.sleep(0.02)
        return None  # pragma: no cover - the loop returns

    def start(self) -> None:
        """Build the processors and start the worker thread; this process's index becomes the kept one."""
        from .processors import ProcessorContext, build_processors
        from .worker import IngestWorker

        parts = self.parts
        parts.index.follow(None)
        context = ProcessorContext(store=parts.store, emit=self.emit, counters=parts.counters, config=parts.config)
        self.processors = build_processors(context, [p for p in parts.config.processors])
        self.worker = IngestWorker(
            queue=parts.queue, store=parts.store, index=parts.index, redactor_factory=parts.make_redactor,
            embedder=parts.embedder, counters=parts.counters, config=parts.config, processors=self.processors,
            record_filter=parts.consent.accepts, maintenance=self.maintenance,
        )
        self._started_at = time.time()
        self.worker.start()

    # -- while running ---------------------------------------------------------------------------
    def emit(self, signal: object) -> bool:
        """Queue a signal a processor produced (it is ingested like any other)."""
        ok = self.parts.append_signal(signal)  # type: ignore[arg-type]
        if ok:
            self.wakeup()
        return ok

    def wakeup(self) -> None:
        if self.worker is not None:
            self.worker.wakeup.set()

    def wait_for(self, targets: dict[str, int], timeout: float) -> bool:
        """Until every segment in ``targets`` is stored and processed up to its offset (False on timeout)."""
        return self.worker is not None and self.worker.wait_for(targets, timeout)

    def drain(self, timeout: float) -> bool:
        """Until everything queued so far (and what processors emitted for it) is processed."""
        return drain_queue(self.parts, self.wait_for, timeout)

    def maintenance(self) -> None:
        """Run by the worker when idle: follow other processes' deletions; apply retention periodically."""
        parts = self.parts
        parts.index.apply_deletions(parts.store)
        days = parts.config.retention_days
        if days is not None and time.monotonic() - self._last_retention > parts.config.retention_interval_s:
            self._last_retention = time.monotonic()
            from .consent import retain

            removed = retain(parts.store, parts.index, days)
            if removed:
                parts.counters.inc("retention_deleted", removed)

    def health(self) -> OwnerHealth:
        worker = self.worker
        return OwnerHealth(alive=worker is not None and worker.is_alive(), started_at=self._started_at,
                           last_ingest_at=getattr(worker, "last_ingest_at", None), last_error=getattr(worker, "last_error", None))

    def is_alive(self) -> bool:
        return self.worker is not None and self.worker.is_alive()

    # -- shutdown -----------------------------------------------------------------------------------
    def stop(self, timeout: float = 60.0) -> None:
        """Drain what is queued, flush and close the processors, save the index, release the lock."""
        try:
            if self.worker is not None:
                self.worker.stop(timeout)
            if self.processors is not None:
                self.processors.flush(max(0.1, timeout / 4))
                self.processors.close()
            if self.parts.index.dirty:
                try:
                    self.parts.index.save()
                except OSError as exc:
                    _log.warning("flywheel: could not save the vector index: %s", exc)
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def drain_queue(parts: Parts, wait_for: Callable[[dict[str, int], float], bool], timeout: float) -> bool:
    """Wait (``wait_for(targets, timeout)``) until the queue as it is now is processed, a few
    rounds, so the implicit signals emitted for these records are judged too; under continuous
    traffic it still returns. False on timeout."""
    deadline = time.monotonic() + timeout
    ok = True
    targets: dict[str, int] = {}
    for _ in range(_DRAIN_ROUNDS):
        snapshot = {name: parts.queue.size_of(name) for name in parts.queue.segments()}
        if snapshot == targets:
            break
        targets = snapshot
        ok = wait_for(targets, max(0.0, deadline - time.monotonic()))
        if not ok:
            break
    return ok


def someone_ingests(parts: Parts) -> bool:
    """Whether a process holds the folder's worker lock (so waiting for it makes sense)."""
    try:
        fd = os.open(parts.path / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # conflicts only with an owner's exclusive lock
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


class WorkerProcess:
    """A child process that owns the folder (``worker_process.main``); it drains and exits when
    its stdin closes (our ``stop``, or our death: the kernel closes the pipe)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    @classmethod
    def spawn(cls, parts: Parts) -> WorkerProcess:
        """Start it with this process's settings; raises ``OSError`` if it cannot start."""
        settings = parts.config.to_json_dict() | {"path": str(parts.path.resolve())}
        proc = subprocess.Popen(
            [sys.executable, "-m", "flywheel_middleware.worker_process", json.dumps(settings)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, close_fds=True,
        )
        return cls(proc)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def stop(self, timeout: float) -> None:
        proc = self.proc
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # EOF: the worker drains and exits
            proc.wait(timeout)
        except Exception as exc:  # noqa: BLE001 - a stuck worker is killed; its queue survives on disk
            _log.warning("flywheel: worker process did not stop (%s); killing it", exc)
            proc.kill()


def resolve_mode(config: FlywheelConfig, mode: str) -> str:
    """``"process"`` or ``"thread"`` for ``worker_mode``: ``"auto"`` is a thread when objects that
    cannot cross to a child process are configured (an embedder, processor instances), else a
    process. Raises ``FlywheelError`` for an unknown mode or processor instances with ``"process"``."""
    in_process = config.embedder is not None or any(not isinstance(p, str) for p in config.processors)
    if mode == "auto":
        return "thread" if in_process else "process"
    if mode == "process" and any(not isinstance(p, str) for p in config.processors):
        raise FlywheelError("processor objects cannot run in a worker process: use worker_mode='thread' "
                            "or register them as 'module:factory' strings")
    if mode not in ("process", "thread"):
        raise FlywheelError(f"worker_mode must be 'process', 'thread' or 'auto', got {mode!r}")
    return mode


class Ingestion:
    """How this process's records get ingested (see the module docstring); one per ``Flywheel``."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self.owner: IngestOwner | None = None
        self.process: WorkerProcess | None = None
        self._lock = threading.Lock()

    def start(self, mode: str) -> None:
        """Start ingesting the way ``resolve_mode`` says (``"process"``, ``"thread"``, ``"auto"``)."""
        mode = resolve_mode(self.parts.config, mode)
        if mode == "process":
            try:
                self.process = WorkerProcess.spawn(self.parts)
            except OSError as exc:
                self.parts.counters.warn("worker_process_errors", "flywheel: cannot start the worker process (%s); using a thread", exc)
                self._own()
        else:
            self._own()

    def _own(self) -> None:
        owner = IngestOwner.acquire(self.parts)
        if owner is not None:
            owner.start()
            self.owner = owner

    def check_process(self) -> None:
        """A dead worker process (not one that found another owner) is replaced by a thread."""
        with self._lock:
            proc = self.process
            if proc is None or proc.alive() or self.owner is not None:
                return
            if proc.returncode != EXIT_ANOTHER_OWNER:
                self.parts.counters.warn("worker_process_errors", "flywheel: the worker process exited with %s; ingesting in a thread",
                                         proc.returncode)
                self._own()
            self.process = None

    def wakeup(self) -> None:
        if self.owner is not None:
            self.owner.wakeup()

    def anyone(self) -> bool:
        """Whether anybody (we, our worker process, another process) ingests this folder."""
        self.check_process()
        return self.owner is not None or self.process is not None or someone_ingests(self.parts)

    def drain(self, timeout: float) -> bool:
        """Until what was queued so far is stored and processed by whoever ingests; when nobody
        does, whether nothing is pending."""
        if not self.anyone():
            return self.parts.queue.pending_bytes(self.parts.store.cursors()) == 0
        return drain_queue(self.parts, self.wait_for, timeout)

    def wait_for(self, targets: dict[str, int], timeout: float) -> bool:
        """Until ``targets`` (segment -> offset) are stored and processed, by whoever ingests."""
        if self.owner is not None:
            return self.owner.wait_for(targets, timeout)
        parts = self.parts
        deadline = time.monotonic() + timeout
        while True:
            cursors = parts.store.processed_cursors()
            present = set(parts.queue.segments())
            if all(name not in present or cursors.get(name, 0) >= end for name, end in targets.items()):
                parts.index.catch_up(parts.store, force=True)
                return True
            if time.monotonic() >= deadline:
                return False
            self.check_process()
            if self.owner is not None:
                return self.owner.wait_for(targets, max(0.0, deadline - time.monotonic()))
            time.sleep(0.02)

    @property
    def processors(self) -> CompositeProcessor:
        """The processors running in this process (none when another process ingests)."""
        if self.owner is not None and self.owner.processors is not None:
            return self.owner.processors
        from .processors import CompositeProcessor

        return CompositeProcessor((), self.parts.counters)

    def state(self) -> str:
        if self.owner is not None:
            return "thread" if self.owner.is_alive() else "stopped"
        if self.process is not None and self.process.alive():
            return f"process {self.process.pid}"
        return "other process" if self.parts.config.start_worker else "not started"

    @property
    def last_error(self) -> str | None:
        return self.owner.health().last_error if self.owner is not None else None

    def stop(self, timeout: float) -> None:
        if self.owner is not None:
            self.owner.stop(timeout)
        if self.process is not None:
            process, self.process = self.process, None
            process.stop(timeout)
