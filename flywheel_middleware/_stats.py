"""Thread-safe counters behind ``fw.stats()``: every degraded path increments one."""

from __future__ import annotations

import logging
import threading
from collections import Counter

_log = logging.getLogger("flywheel_middleware")


class Counters:
    """A tiny lock-guarded counter map; cheap enough for the hot path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._warned: set[str] = set()

    def inc(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def warn(self, counter: str, message: str, *args: object) -> None:
        """Count a degraded event and log it (once per counter at WARNING, then at DEBUG)."""
        with self._lock:
            self._counts[counter] += 1
            first = counter not in self._warned
            self._warned.add(counter)
        _log.log(logging.WARNING if first else logging.DEBUG, message, *args)
