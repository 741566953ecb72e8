"""Ingest processors: the base class, the composite, and registering your own with the flywheel."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest

from flywheel_middleware import Flywheel, FlywheelError, Interaction, Signal
from flywheel_middleware._stats import Counters
from flywheel_middleware.feedback import make_signal
from flywheel_middleware.processors import (
    CompositeProcessor,
    Processor,
    ProcessorContext,
    ProcessorError,
    RewardProcessor,
    SignalDetectionProcessor,
)
from helpers import turn


class Recorder(Processor):
    """Remembers what it saw (and, at the moment it saw a batch, the reward already stored)."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[str], list[str]]] = []
        self.labels_seen: dict[str, str] = {}
        self.idle = 0
        self.flushed = 0
        self.closed = 0
        self.context: ProcessorContext | None = None

    def on_start(self, context: ProcessorContext) -> None:
        self.context = context

    def on_ingested(self, interactions: Sequence[Interaction], embeddings: np.ndarray | None, signals: Sequence[Signal]) -> None:
        self.batches.append(([it.id for it in interactions], [s.kind for s in signals]))
        if self.context is not None:
            for iid, row in self.context.store.rewards_for([s.interaction_id for s in signals]).items():
                self.labels_seen[iid] = row.label

    def on_idle(self) -> None:
        self.idle += 1

    def flush(self, timeout: float = 30.0) -> bool:
        self.flushed += 1
        return True

    def close(self) -> None:
        self.closed += 1


class Broken(Processor):
    def on_ingested(self, interactions: Sequence[Interaction], embeddings: np.ndarray | None, signals: Sequence[Signal]) -> None:
        raise RuntimeError("boom")


class Flagger(Processor):
    """Emits a signal of its own for every turn that mentions a refund."""

    def on_start(self, context: ProcessorContext) -> None:
        self.emit = context.emit

    def on_ingested(self, interactions: Sequence[Interaction], embeddings: np.ndarray | None, signals: Sequence[Signal]) -> None:
        for it in interactions:
            if "refund" in it.input_text:
                self.emit(make_signal(it.id, "comment", "mentions a refund", source="implicit"))


def test_the_base_class_hooks_do_nothing() -> None:
    p = Processor()
    p.on_ingested([], None, [])
    p.on_idle()
    p.close()
    assert p.flush(1.0) is True


def test_a_composite_calls_each_processor_in_order() -> None:
    calls: list[str] = []

    class Named(Processor):
        def __init__(self, name: str) -> None:
            self.name = name

        def on_idle(self) -> None:
            calls.append(self.name)

    CompositeProcessor([Named("a"), Named("b")]).on_idle()
    assert calls == ["a", "b"]


def test_a_failing_processor_is_counted_and_the_others_still_run() -> None:
    counters, recorder = Counters(), Recorder()
    composite = CompositeProcessor([Broken(), recorder], counters)
    composite.on_ingested([Interaction(input="q")], None, [])
    assert len(recorder.batches) == 1 and counters.get("processor_errors") == 1


def test_a_registered_processor_sees_every_stored_batch_after_the_built_ins(store_path: Path, embedder) -> None:
    recorder = Recorder()
    with Flywheel(store_path, embedder=embedder, flush_interval_s=0.05, processors=[recorder]) as fw:
        it = fw.record(turn("Where is my parcel?"))
        assert fw.flush(60)
        fw.feedback(it, "thumbs_up", actor="u1")
        assert fw.flush(60)
        kinds = [type(p) for p in fw.processors]
        assert kinds[:2] == [RewardProcessor, SignalDetectionProcessor] and kinds[-1] is Recorder
    assert ([it], []) in recorder.batches and ([], ["thumbs_up"]) in recorder.batches
    assert recorder.labels_seen[it] == "good"  # the reward processor ran first on the same batch
    assert recorder.flushed >= 1 and recorder.closed == 1


def test_a_registered_processor_is_called_when_the_worker_is_idle(store_path: Path, embedder) -> None:
    recorder = Recorder()
    with Flywheel(store_path, embedder=embedder, flush_interval_s=0.02, processors=[recorder]):
        deadline = time.monotonic() + 30
        while recorder.idle < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert recorder.idle >= 3


def test_signals_a_processor_emits_are_ingested_like_any_other(store_path: Path, embedder) -> None:
    with Flywheel(store_path, embedder=embedder, flush_interval_s=0.05, processors=[Flagger()]) as fw:
        iid = fw.record(turn("I want a refund for my order"))
        other = fw.record(turn("What are your opening hours?", session_id="s2"))
        assert fw.flush(60)
        assert [s.kind for s in fw.signals(iid)] == ["comment"] and fw.signals(other) == []


def test_a_broken_processor_never_stops_ingestion(store_path: Path, embedder) -> None:
    with Flywheel(store_path, embedder=embedder, flush_interval_s=0.05, processors=[Broken()]) as fw:
        iid = fw.record(turn("still stored"))
        assert fw.flush(60) and fw.get(iid) is not None
        assert fw.stats()["counters"]["processor_errors"] >= 1


def test_something_that_is_not_a_processor_is_refused_at_once(store_path: Path) -> None:
    with pytest.raises(ProcessorError, match="module:factory"):
        Flywheel(store_path, start_worker=False, processors=[object()])


def test_processor_objects_cannot_go_to_a_worker_process(store_path: Path) -> None:
    with pytest.raises(FlywheelError, match="worker process"):
        Flywheel(store_path, worker_mode="process", processors=[Recorder()])


def make_file_writer(context: ProcessorContext) -> Processor:
    """A processor factory named by a string: it is built in whichever process ingests."""

    class FileWriter(Processor):
        def on_ingested(self, interactions: Sequence[Interaction], embeddings: Any, signals: Sequence[Signal]) -> None:
            with open(Path(context.config.path) / "seen.jsonl", "a") as fh:
                fh.write(json.dumps({"pid": os.getpid(), "ids": [it.id for it in interactions]}) + "\n")

    return FileWriter()


def test_a_processor_named_by_a_string_runs_in_the_worker_process(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parent), *sys.path]))
    with Flywheel(store_path, processors=["test_processors:make_file_writer"]) as fw:
        assert fw.stats()["worker"].startswith("process ")
        iid = fw.record(turn("counted in the worker process"))
        assert fw.flush(180)
    lines = [json.loads(line) for line in (store_path / "seen.jsonl").read_text().splitlines()]
    assert any(iid in line["ids"] for line in lines) and all(line["pid"] != os.getpid() for line in lines)
