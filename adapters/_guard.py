"""What every adapter shares: guarded counting, warn-once failure reports, and delivering a finished turn."""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

from flywheel_middleware.records import Interaction, Signal


def deliver(recorder: Any, span_index: Any, interaction: Interaction, signals: Iterable[Signal],
            fail: Callable[[str, BaseException], None]) -> None:
    """Hand a finished turn to the recorder. Each step is guarded: a failure is reported through
    ``fail`` and never raised; signals are sent only once their interaction was recorded."""
    if "span_id" in interaction.metadata:
        try:
            span_index.put(interaction.id, interaction.metadata["trace_id"], interaction.metadata["span_id"])
        except Exception as exc:  # noqa: BLE001
            fail("span_index", exc)
    try:
        recorder.record(interaction)
    except Exception as exc:  # noqa: BLE001 - the protocol says never raises; be sure
        fail("record", exc)
        return
    for signal in signals:
        try:
            recorder.add_signal(signal)
        except Exception as exc:  # noqa: BLE001
            fail("add_signal", exc)


def safe_count(recorder: Any, name: str, n: int = 1) -> None:
    """Count on the recorder; a broken counter is ignored (it must never reach the app)."""
    try:
        recorder.count(name, n)
    except Exception:  # noqa: BLE001
        pass


def report_failure(recorder: Any, warned: set[str], prefix: str, what: str, where: str, exc: BaseException,
                   log: logging.Logger) -> None:
    """An exception inside an adapter: warn once per (place, type), count ``{prefix}.callback_errors``
    and ``{prefix}.callback_errors.{where}``, never re-raise."""
    try:
        key = f"{where}:{type(exc).__name__}"
        first = key not in warned
        if first:
            warned.add(key)
        log.log(logging.WARNING if first else logging.DEBUG, "flywheel %s: %s failed (%r); %s", prefix, where, exc, what,
                exc_info=first)
        safe_count(recorder, f"{prefix}.callback_errors")
        safe_count(recorder, f"{prefix}.callback_errors.{where}")
    except Exception:  # noqa: BLE001
        pass
