"""How many cores other programs are using right now, so training can take the idle ones.

The load average is no guide inside the demo: it counts the demo's own traffic threads of the last
minute, so a demo alone on an idle machine would see itself as "load" and train on one thread.
Here the machine's busy CPU time over a short window (``/proc/stat``) minus this process's own
(``os.times``) is what others use.
"""

from __future__ import annotations

import os
import time


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent not idle since boot (Linux), or None elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [float(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(fields) < 5:
        return None
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / float(os.sysconf("SC_CLK_TCK"))


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system


def cores_used_by_others(window_s: float = 0.5) -> float:
    """Cores other processes kept busy during ``window_s`` (falls back to the 1-minute load average)."""
    busy0, own0, t0 = _busy_seconds(), _own_seconds(), time.perf_counter()
    if busy0 is None:
        try:
            return os.getloadavg()[0]
        except OSError:
            return 0.0
    time.sleep(window_s)
    busy1, own1, elapsed = _busy_seconds(), _own_seconds(), time.perf_counter() - t0
    if busy1 is None or elapsed <= 0:
        return 0.0
    return max(0.0, ((busy1 - busy0) - (own1 - own0)) / elapsed)


def idle_cores(window_s: float = 0.5) -> int:
    """Cores nobody else is using (at least 1)."""
    cores = max(1, os.cpu_count() or 1)
    return max(1, cores - round(cores_used_by_others(window_s)))
