"""The ingest processor interface: what runs in the worker after each stored batch.

Modelled on OpenTelemetry's ``SpanProcessor``: a small base class whose hooks are all no-ops, so a
processor overrides only what it needs, and a composite that fans every hook out to a list. The
worker calls the composite; one processor failing is logged and counted (``processor_errors``),
never stops the others or the ingestion.

A processor is registered with ``Flywheel(processors=[...])``; the built-ins (reward, implicit
signal detection, Phoenix annotations) always run first. An entry is a ``Processor`` instance,
or a ``"package.module:name"`` string naming a class or factory that is called with the
``ProcessorContext`` in whichever process ingests (which is what a worker *process* needs: an
object cannot cross to it, so instances make the worker run as a thread).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from ..records import Interaction, Signal
from ..store.base import TrajectoryStore

if TYPE_CHECKING:
    from .._stats import Counters
    from ..config import FlywheelConfig

_log = logging.getLogger("flywheel_middleware")


@dataclass(frozen=True)
class ProcessorContext:
    """What a processor may use: the store, a way to emit signals (they go through the durable
    queue like any other), the counters ``stats()`` reports, and the flywheel's settings."""

    store: TrajectoryStore
    emit: Callable[[Signal], bool]
    counters: Counters
    config: FlywheelConfig


class Processor:
    """Base class of ingest processors; every hook is a no-op."""

    def on_start(self, context: ProcessorContext) -> None:
        """Called once in the ingesting process before the first batch."""

    def on_ingested(self, interactions: Sequence[Interaction], embeddings: np.ndarray | None, signals: Sequence[Signal]) -> None:
        """A batch was committed: its (redacted) interactions, their query embeddings (None when
        embedding failed), and its (redacted) signals."""

    def on_idle(self) -> None:
        """The queue is empty (called every ``flush_interval_s`` or so while idle)."""

    def flush(self, timeout: float = 30.0) -> bool:
        """Finish pending work (e.g. posts to a server) within ``timeout``; False if it could not."""
        return True

    def close(self) -> None:
        """Release resources; called once when the flywheel closes."""


class CompositeProcessor(Processor):
    """Several processors as one, called in order; a failure in one is counted and the rest still run.

    A ``transient`` error in ``on_ingested`` (the store is locked, the disk is full) is re-raised
    once every processor has had its turn: the worker then retries the batch's processing later
    (at-least-once; processors are idempotent: rewards are upserted by interaction, implicit
    signals and annotations have deterministic ids). Any other failure is counted and skipped."""

    def __init__(self, processors: Sequence[Processor] = (), counters: Counters | None = None,
                 transient: tuple[type[BaseException], ...] = ()) -> None:
        self.processors: list[Processor] = list(processors)
        self.counters = counters
        self.transient = transient

    def __iter__(self) -> Iterator[Processor]:
        return iter(self.processors)

    def __len__(self) -> int:
        return len(self.processors)

    def __getitem__(self, i: int) -> Processor:
        return self.processors[i]

    def _failed(self, processor: Processor, hook: str, exc: Exception) -> None:
        name = type(processor).__name__
        if self.counters is not None:
            self.counters.warn("processor_errors", "flywheel processor %s failed in %s: %s", name, hook, exc)
        else:
            _log.warning("flywheel processor %s failed in %s: %s", name, hook, exc)

    def on_start(self, context: ProcessorContext) -> None:
        for p in self.processors:
            try:
                p.on_start(context)
            except Exception as exc:  # noqa: BLE001 - one broken processor must not stop ingestion
                self._failed(p, "on_start", exc)

    def on_ingested(self, interactions: Sequence[Interaction], embeddings: np.ndarray | None, signals: Sequence[Signal]) -> None:
        retry: BaseException | None = None
        for p in self.processors:
            try:
                p.on_ingested(interactions, embeddings, signals)
            except Exception as exc:  # noqa: BLE001
                self._failed(p, "on_ingested", exc)
                if self.transient and isinstance(exc, self.transient) and retry is None:
                    retry = exc
        if retry is not None:
            raise retry

    def on_idle(self) -> None:
        for p in self.processors:
            try:
                p.on_idle()
            except Exception as exc:  # noqa: BLE001
                self._failed(p, "on_idle", exc)

    def flush(self, timeout: float = 30.0) -> bool:
        ok = True
        for p in self.processors:
            try:
                ok = bool(p.flush(timeout)) and ok
            except Exception as exc:  # noqa: BLE001
                self._failed(p, "flush", exc)
                ok = False
        return ok

    def close(self) -> None:
        for p in self.processors:
            try:
                p.close()
            except Exception as exc:  # noqa: BLE001
                self._failed(p, "close", exc)


ProcessorSpec = Processor | str


def load_processor(spec: ProcessorSpec, context: ProcessorContext) -> Processor:
    """A ``Processor`` from a registration entry: an instance as it is, or ``"module:name"``
    imported and called with ``context`` (a class or a factory function)."""
    if isinstance(spec, Processor):
        return spec
    if isinstance(spec, str) and ":" in spec:
        import importlib

        module_name, _, attr = spec.partition(":")
        try:
            factory: Any = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ProcessorError(f"cannot import processor {spec!r}: {exc}") from exc
        made = factory(context)
        if not isinstance(made, Processor):
            raise ProcessorError(f"{spec!r} made a {type(made).__name__}, not a flywheel_middleware.processors.Processor")
        return made
    raise ProcessorError(
        f"a processor is a flywheel_middleware.processors.Processor or a 'module:factory' string, got {spec!r}"
    )


class ProcessorError(TypeError):
    """A ``processors=`` entry that is neither a ``Processor`` nor an importable ``"module:factory"``."""
