"""What every adapter does when a turn is complete: index its root span, record it, then its signals."""

from __future__ import annotations

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
