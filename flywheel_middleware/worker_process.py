"""The ingest worker in its own process (``worker_mode="process"``, the default).

Why a process: redaction and embedding are CPU-bound Python, and a worker *thread* competing for
the GIL adds milliseconds to the agent's own code (``record()``'s p99 goes from ~60 us to ~6 ms,
see benchmarks/README.md). The queue is already on disk and the store already supports several
processes, so the worker process is simply a flywheel that owns the store folder, started with
the parent's settings. It stops when the parent closes the pipe on its stdin, or dies (the kernel
closes the pipe): either way it drains what was queued, then exits.
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
    from .config import FlywheelConfig
    from .flywheel import Flywheel

    config = FlywheelConfig.from_dict(json.loads(args[0]))
    config = config.replace(worker_mode="thread")
    fw = Flywheel(config=config)
    if fw._worker is None:  # another process owns the folder: nothing to do here
        fw.close()
        return 3
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
    fw.close(timeout=float(os.environ.get("FLYWHEEL_WORKER_DRAIN_S", "300")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
