"""The ingest owner's health, in a small file every process of the folder can read.

Why a file and not the database: the faults worth reporting are often the database's own (locked,
full, corrupt), and a report written through the broken part would never arrive. The file has a
fixed size and is overwritten in place (``pwrite`` at offset 0, no truncation), so updating it
needs no new disk space: it still works on a full disk. Readers get the JSON (or None while a
write is torn, which a retry fixes).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

FILE_NAME = "worker.health"
SIZE = 16 << 10


class HealthFile:
    """The owner's side: ``write(report)`` replaces the report, in place."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / FILE_NAME
        self._fd: int | None = None
        self._lock = threading.Lock()

    def write(self, report: dict[str, Any]) -> bool:
        """Publish ``report`` (trimmed to fit); False if the file cannot be written."""
        data = json.dumps(report, default=str, separators=(",", ":")).encode("utf-8")
        if len(data) >= SIZE - 1:
            report = {k: v for k, v in report.items() if k != "counters"} | {"counters_omitted": True}
            data = json.dumps(report, default=str, separators=(",", ":")).encode("utf-8")[: SIZE - 2]
        payload = data + b"\n" + b" " * (SIZE - len(data) - 1)
        with self._lock:
            try:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                    if os.fstat(self._fd).st_size < SIZE:
                        os.ftruncate(self._fd, SIZE)  # reserve the space once, while there is some
                os.pwrite(self._fd, payload, 0)
                return True
            except OSError:
                return False

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def read_health(folder: Path) -> dict[str, Any] | None:
    """The last published report of ``folder``'s owner, or None (never published, unreadable)."""
    path = Path(folder) / FILE_NAME
    for _ in range(3):  # a read that overlapped a write: try again
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        line = raw.split(b"\n", 1)[0]
        try:
            report = json.loads(line)
        except ValueError:
            continue
        return report if isinstance(report, dict) else None
    return None
