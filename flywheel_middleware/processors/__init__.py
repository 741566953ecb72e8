"""Ingest processors: what the worker runs after each stored batch, behind one interface.

* ``Processor`` — the base class (every hook a no-op: ``on_start``, ``on_ingested``, ``on_idle``,
  ``flush``, ``close``); ``CompositeProcessor`` — several as one;
* the built-ins: ``RewardProcessor`` (rewards from signals), ``SignalDetectionProcessor``
  (implicit signals: rephrase, correction phrase, escalation, abandonment) and
  ``PhoenixAnnotationProcessor`` (signals as Phoenix span annotations, when a Phoenix endpoint is set).

Register your own with ``Flywheel(processors=[MyProcessor(), "my_pkg.module:make"])``; they run
after the built-ins, in order (see ``base`` for the two forms).
"""

from __future__ import annotations

import os
from typing import Sequence

from .annotations import PhoenixAnnotationProcessor, describe_signal, signal_score
from .base import CompositeProcessor, Processor, ProcessorContext, ProcessorError, ProcessorSpec, load_processor
from .reward import RewardProcessor
from .signals import SignalDetectionProcessor, SignalsConfig

__all__ = [
    "CompositeProcessor",
    "PhoenixAnnotationProcessor",
    "Processor",
    "ProcessorContext",
    "ProcessorError",
    "ProcessorSpec",
    "RewardProcessor",
    "SignalDetectionProcessor",
    "SignalsConfig",
    "build_processors",
    "builtin_processors",
    "check_spec",
    "load_processor",
    "describe_signal",
    "signal_score",
]


def builtin_processors(context: ProcessorContext, *, annotate: bool = True) -> list[Processor]:
    """Reward and implicit-signal detection, plus Phoenix annotations when an endpoint is
    configured (``phoenix_endpoint`` or ``PHOENIX_COLLECTOR_ENDPOINT``) and ``annotate``."""
    from ..reward import RewardConfig

    config = context.config
    out: list[Processor] = [
        RewardProcessor(context.store, RewardConfig.from_dict(config.reward)),
        SignalDetectionProcessor(context.store, context.emit, SignalsConfig.from_dict(config.signals)),
    ]
    phoenix = config.phoenix_endpoint or os.environ.get("PHOENIX_COLLECTOR_ENDPOINT")
    if phoenix and annotate:
        from ..tracing import PhoenixAnnotator

        annotator = PhoenixAnnotator(phoenix, count=context.counters.inc, score=signal_score, describe=describe_signal)
        out.append(PhoenixAnnotationProcessor(context.store, annotator))
    return out


def build_processors(context: ProcessorContext, extra: Sequence[ProcessorSpec] = (), *, annotate: bool = True) -> CompositeProcessor:
    """The built-ins followed by ``extra`` (instances or ``"module:factory"`` strings), as one composite
    whose ``on_start`` has run."""
    composite = CompositeProcessor(builtin_processors(context, annotate=annotate) + [load_processor(s, context) for s in extra],
                                   context.counters, transient=tuple(context.store.transient_errors))
    composite.on_start(context)
    return composite


def check_spec(spec: object) -> None:
    """Raise ``ProcessorError`` now for a registration entry that could never load."""
    if isinstance(spec, Processor):
        return
    if isinstance(spec, str) and spec.count(":") == 1 and all(spec.split(":")):
        return
    raise ProcessorError(
        f"a processor is a flywheel_middleware.processors.Processor or a 'module:factory' string, got {spec!r}"
    )
