"""The ingest worker in its own process (``worker_mode="process"``, the default).

Why a process: redaction and embedding are CPU-bound Python, and a worker *thread* competing for
the GIL adds milliseconds to the agent's own code (``record()``'s p99 goes from ~60 us to ~6 ms,
see benchmarks/README.md). The queue is already on disk and the store already supports several
processes, so the worker process opens the same parts as its parent (``_parts.open_parts``, no
``Flywheel`` facade) and becomes the folder's ``IngestOwner`` with the parent's settings. It stops
when the parent closes the pipe on its stdin, or dies (the kernel closes the pipe): either way it
drains what was queued, then exits. Exit status 3: another process already owns the folder.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m flywheel_middleware.worker_process CONFIG_JSON", file=sys.stderr)
        return 2
    logging.basicConfig(level=os.environ.get("FLYWHEEL_WORKER_LOGLEVEL", "WARNING"), format="flywheel-worker: %(message)s")
    from ._parts import open_parts
    from .config import FlywheelConfig
    from .owner import EXIT_ANOTHER_OWNER, IngestOwner

    config = FlywheelConfig.from_dict(json.loads(args[0])).replace(worker_mode="thread")
    parts = open_parts(config)
    owner = IngestOwner.acquire(parts)
    if owner is None:  # another process owns the folder: nothing to do here
        parts.close()
        return EXIT_ANOTHER_OWNER
    owner.mode = "process"
    owner.start()
    stop = threading.Event()

    def _watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(1):
                pass
        except (OSError, ValueError):
            pass
        stop.set()

    threading.Thread(target=_watch_stdin, name="flywheel-parent-watch", daemon=True).start()
    print("ready", flush=True)
    stop.wait()
    timeout = float(os.environ.get("FLYWHEEL_WORKER_DRAIN_S", "300"))
    try:
        owner.drain(timeout)
        owner.stop(timeout)
    finally:
        parts.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
