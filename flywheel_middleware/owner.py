"""The ingest owner: the one process per store folder that drains the queue into the store.

Whoever holds ``worker.lock`` (an exclusive ``flock``) ingests every process's queue segments;
everyone else only appends. This module holds everything about that role, apart from the facade:

* ``IngestOwner`` — the lock, the ``IngestWorker`` thread, the processors, and the owner's
  maintenance when idle (following other processes' deletions into the index, retention).
  ``health()`` reports its state and last error; a watcher thread publishes it every second to
  ``worker.health`` (``health.py``, readable by every process, even on a full disk) and restarts
  the ingest thread, with backoff, should it ever die.
* ``WorkerProcess`` — a child process (``python -m flywheel_middleware.worker_process``) that
  becomes the owner, so redaction and embedding do not compete with the agent for the GIL. The
  parent supervises it (``Ingestion``): a child that dies (killed, out of memory, a crash) is
  restarted with backoff (1 s, doubling to 30 s), counted (``worker_process_exits``,
  ``worker_restarts``) and reported in ``stats()`` within a second; one that found another owner
  is started again when that owner goes away.
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
from .health import HealthFile, read_health

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
    last_error_at: float | None = None
    errors: int = 0
    restarts: int = 0
    state: str = "ingesting"
    pid: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"alive": self.alive, "started_at": self.started_at, "last_ingest_at": self.last_ingest_at,
                "last_error": self.last_error, "last_error_at": self.last_error_at, "errors": self.errors,
                "restarts": self.restarts, "state": self.state, "pid": self.pid}


class IngestOwner:
    """The process-wide owner of a store folder's ingestion; ``acquire`` it, then ``start`` it."""

    def __init__(self, parts: Parts, lock_fd: int) -> None:
        self.parts = parts
        self._lock_fd: int | None = lock_fd
        self._last_retention = float("-inf")
        self._started_at = time.time()
        self.processors: CompositeProcessor | None = None  # built by start()
        self.worker: IngestWorker | None = None
        self.mode = "thread"  # "process" when this is a worker process's owner
        self.restarts = 0
        self._health_file = HealthFile(parts.path)
        self._thread_fault: tuple[str, float] | None = None  # why the ingest thread last died
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

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

        parts = self.parts
        parts.index.follow(None)
        context = ProcessorContext(store=parts.store, emit=self.emit, counters=parts.counters, config=parts.config)
        self.processors = build_processors(context, [p for p in parts.config.processors])
        self._started_at = time.time()
        self._start_worker()
        self.publish_health()
        self._watcher = threading.Thread(target=self._watch, name="flywheel-owner-watch", daemon=True)
        self._watcher.start()

    def _start_worker(self) -> None:
        from .worker import IngestWorker

        parts = self.parts
        worker = IngestWorker(
            queue=parts.queue, store=parts.store, index=parts.index, redactor_factory=parts.make_redactor,
            embedder=parts.embedder, counters=parts.counters, config=parts.config, processors=self.processors,
            record_filter=parts.consent.accepts, maintenance=self.maintenance,
        )
        worker.on_report = self.publish_health
        self.worker = worker
        worker.start()

    def _watch(self) -> None:
        """Every second: publish health; restart the ingest thread (with backoff) if it died."""
        backoff, healthy_since = 1.0, time.monotonic()
        while not self._stopping.wait(1.0):
            worker = self.worker
            if worker is not None and not worker.is_alive() and not self._stopping.is_set():
                reason = worker.died_with or "it ended"
                self._thread_fault = (f"the ingest thread died ({reason})", time.time())
                self.parts.counters.warn("worker_restarts", "flywheel: %s; restarting it in %.0f s", self._thread_fault[0], backoff)
                self.publish_health()
                if self._stopping.wait(backoff):
                    break
                backoff = min(backoff * 2, 30.0)
                self.restarts += 1
                self._start_worker()
                healthy_since = time.monotonic()
            elif time.monotonic() - healthy_since > 60:
                backoff = 1.0
            self.publish_health()

    def publish_health(self) -> None:
        """Write this owner's health (and counters) to ``worker.health`` for every process to read."""
        report = self.health().to_dict() | {"mode": self.mode, "updated_at": time.time(), "counters": self.parts.counters.snapshot()}
        self._health_file.write(report)

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
        """Until every segment in ``targets`` is stored and processed up to its offset (False on
        timeout); an ingest thread that died meanwhile is waited for through its restart."""
        deadline = time.monotonic() + timeout
        while True:
            worker = self.worker
            if worker is not None and worker.wait_for(targets, max(0.0, deadline - time.monotonic())):
                return True
            if time.monotonic() >= deadline or self._stopping.is_set() or self._watcher is None:
                return False
            time.sleep(0.05)  # the watcher restarts a dead thread

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
        alive = worker is not None and worker.is_alive()
        error, error_at = getattr(worker, "last_error", None), getattr(worker, "last_error_at", None)
        if self._thread_fault is not None and (error_at is None or self._thread_fault[1] > error_at):
            error, error_at = self._thread_fault
        if self._stopping.is_set():
            state = "stopped"
        elif not alive:
            state = "restarting"
        elif worker is not None and worker.halted is not None:
            state = "halted: the store is corrupt"
        elif worker is not None and worker.backing_off_until > time.time():
            state = "backing off after an error"
        else:
            state = "ingesting"
        return OwnerHealth(alive=alive, started_at=self._started_at, last_ingest_at=getattr(worker, "last_ingest_at", None),
                           last_error=error, last_error_at=error_at, errors=getattr(worker, "errors", 0),
                           restarts=self.restarts, state=state, pid=os.getpid())

    def is_alive(self) -> bool:
        return self.worker is not None and self.worker.is_alive()

    # -- shutdown -----------------------------------------------------------------------------------
    def stop(self, timeout: float = 60.0) -> None:
        """Drain what is queued, flush and close the processors, save the index, release the lock.

        Processors may have emitted signals into this process's own segment meanwhile: that
        segment is closed and ingested too, so a clean stop leaves no segment behind."""
        self._stopping.set()
        try:
            if self.worker is not None:
                self.worker.stop(timeout)
            if self.processors is not None:
                self.processors.flush(max(0.1, timeout / 4))
            self.parts.queue.roll()
            if self.worker is not None and not self.worker.is_alive():
                self.worker.finish_queue()
            if self.processors is not None:
                self.processors.close()
            if self.parts.index.dirty:
                try:
                    self.parts.index.save()
                except OSError as exc:
                    _log.warning("flywheel: could not save the vector index: %s", exc)
        finally:
            self.publish_health()
            self._health_file.close()
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
        self._mode: str | None = None
        self._stopped = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._backoff = 1.0
        self._spawned_at = 0.0
        self._respawn_at = 0.0
        self._waiting_for_owner = False  # our child found another owner: restart it when that one goes
        self.restarts = 0
        self.fault: tuple[str, float] | None = None  # the last thing that went wrong with our child

    def start(self, mode: str) -> None:
        """Start ingesting the way ``resolve_mode`` says (``"process"``, ``"thread"``, ``"auto"``)."""
        mode = resolve_mode(self.parts.config, mode)
        self._mode = mode
        if mode == "process":
            try:
                self._spawn()
            except OSError as exc:
                self.parts.counters.warn("worker_process_errors", "flywheel: cannot start the worker process (%s); using a thread", exc)
                self._mode = "thread"
                self._own()
        else:
            self._own()
        if self.owner is None:  # a worker process to supervise, or another owner to take over from
            self._supervisor = threading.Thread(target=self._supervise, name="flywheel-supervisor", daemon=True)
            self._supervisor.start()

    def _own(self) -> None:
        owner = IngestOwner.acquire(self.parts)
        if owner is not None:
            owner.start()
            self.owner = owner

    def _spawn(self) -> None:
        self.process = WorkerProcess.spawn(self.parts)
        self._spawned_at = time.monotonic()

    def _supervise(self) -> None:
        while not self._stopped.wait(0.5):
            try:
                self.check_process()
            except Exception as exc:  # noqa: BLE001 - the supervisor must outlive anything
                _log.warning("flywheel: supervising the worker process failed: %s", exc)

    def check_process(self) -> None:
        """Supervise the worker process (called every 0.5 s): one that died is restarted with
        backoff (1 s, doubling up to 30 s; back to 1 s after a minute of health), counted and
        reported; one that found another owner is started again when that owner goes away. In
        thread mode, a process that found another owner becomes the owner once that one is gone
        (checked every second), so it never waits for an ingestion nobody does."""
        with self._lock:
            if self._stopped.is_set() or self.owner is not None:
                return
            now = time.monotonic()
            if self._mode == "thread":
                self._take_over(now)
                return
            if self._mode != "process":
                return
            proc = self.process
            if proc is not None:
                if proc.alive():
                    if now - self._spawned_at > 60:
                        self._backoff = 1.0
                    return
                self.process = None
                if proc.returncode == EXIT_ANOTHER_OWNER:
                    self._waiting_for_owner = True
                    self._respawn_at = now + 2.0
                    return
                self.fault = (f"the worker process (pid {proc.pid}) {_describe_exit(proc.returncode)}", time.time())
                self.parts.counters.warn("worker_process_exits", "flywheel: %s; restarting it in %.0f s", self.fault[0], self._backoff)
                self._waiting_for_owner = False
                self._respawn_at = now + self._backoff
                self._backoff = min(self._backoff * 2, 30.0)
                return
            if now < self._respawn_at:
                return
            if self._waiting_for_owner and someone_ingests(self.parts):
                self._respawn_at = now + 2.0
                return
            try:
                self._spawn()
            except OSError as exc:
                self.fault = (f"cannot start the worker process ({exc})", time.time())
                self.parts.counters.warn("worker_process_errors", "flywheel: %s; retrying in %.0f s", self.fault[0], self._backoff)
                self._respawn_at = now + self._backoff
                self._backoff = min(self._backoff * 2, 30.0)
                return
            if not self._waiting_for_owner:
                self.restarts += 1
                self.parts.counters.inc("worker_restarts")
            self._waiting_for_owner = False

    def _take_over(self, now: float) -> None:
        if now < self._respawn_at:
            return
        self._respawn_at = now + 1.0
        if someone_ingests(self.parts):
            return
        self._own()
        if self.owner is not None:
            self.parts.counters.inc("worker_takeovers")
            _log.info("flywheel: the process that ingested %s is gone; this one ingests now", self.parts.path)

    def wakeup(self) -> None:
        if self.owner is not None:
            self.owner.wakeup()

    def _supervising(self) -> bool:
        return self._mode == "process" and not self._stopped.is_set()

    def anyone(self) -> bool:
        """Whether anybody (we, our worker process, another process) ingests this folder; a worker
        process between restarts counts (it is coming back)."""
        self.check_process()
        return self.owner is not None or self._supervising() or someone_ingests(self.parts)

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

    def health(self) -> dict[str, object] | None:
        """The ingesting process's published health (``worker.health``), if any process ingests."""
        if self.owner is not None:
            return self.owner.health().to_dict()
        report = read_health(self.parts.path)
        if report is None:
            return None
        report.pop("counters", None)
        if not someone_ingests(self.parts):
            report["alive"] = False
            report["state"] = "no process ingests (this is the last report)"
        return report

    def published_counters(self) -> dict[str, int] | None:
        """The owner's counters from its health report when it is alive and fresh (they get there
        even when the database is locked or full), else None."""
        if self.owner is not None:
            return None
        report = read_health(self.parts.path)
        if not report or not isinstance(report.get("counters"), dict) or time.time() - float(report.get("updated_at") or 0) > 10:
            return None
        return {str(k): int(v) for k, v in report["counters"].items() if isinstance(v, (int, float))}

    def state(self) -> str:
        if self.owner is not None:
            return "thread" if self.owner.is_alive() else "stopped"
        proc = self.process
        if proc is not None and proc.alive():
            return f"process {proc.pid}" + (f" (restarted {self.restarts}x)" if self.restarts else "")
        if self._supervising():
            if self._waiting_for_owner:
                return "other process"
            wait = max(0.0, self._respawn_at - time.monotonic())
            return f"restarting the worker process in {wait:.0f} s"
        return "other process" if self.parts.config.start_worker else "not started"

    @property
    def last_error(self) -> str | None:
        """The newest fault: of our own ingest thread, of our worker process's life (it died), or
        what the ingesting process reported (its ``worker.health``)."""
        if self.owner is not None:
            return self.owner.health().last_error
        candidates: list[tuple[float, str]] = []
        if self.fault is not None:
            candidates.append((self.fault[1], self.fault[0]))
        report = read_health(self.parts.path)
        if report and report.get("last_error"):
            candidates.append((float(report.get("last_error_at") or 0.0), str(report["last_error"])))
        return max(candidates)[1] if candidates else None

    def stop(self, timeout: float) -> None:
        with self._lock:
            self._stopped.set()  # no restart during a clean stop
        if self.owner is not None:
            self.owner.stop(timeout)
        if self.process is not None:
            process, self.process = self.process, None
            process.stop(timeout)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "is still running"
    if code < 0:
        import signal

        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"
