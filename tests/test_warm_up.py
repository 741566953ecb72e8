"""Quiet model loading and warm-up: opening a Flywheel prints no progress bars; warm_up() pays the load up front."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from flywheel_middleware import Flywheel, Interaction
from flywheel_middleware.embedding import SentenceTransformerEmbedder, loading_progress


def test_opening_a_flywheel_and_ingesting_prints_no_loading_progress_bars(tmp_path: Path):
    script = textwrap.dedent(f"""
        from flywheel_middleware import Flywheel, Interaction
        with Flywheel({str(tmp_path / "store")!r}) as fw:      # the default: a worker process loads MiniLM
            fw.record(Interaction(input="where is my parcel?", output="It ships tomorrow."))
            assert fw.flush(240)
            assert fw.stats()["embedded"] == 1
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Loading weights" not in done.stderr and "it/s]" not in done.stderr, done.stderr


def test_loading_progress_shows_bars_only_when_asked_and_restores_the_apps_setting():
    from transformers.utils import logging as hf_logging

    hf_logging.enable_progress_bar()
    with loading_progress(False):
        assert not hf_logging.is_progress_bar_enabled()
    assert hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    with loading_progress(True):
        assert hf_logging.is_progress_bar_enabled()
    assert not hf_logging.is_progress_bar_enabled()
    hf_logging.enable_progress_bar()


def test_warm_up_loads_the_model_and_the_few_shot_index(tmp_path: Path, embedder):
    fresh = SentenceTransformerEmbedder()  # not loaded yet (the weights are cached by the session's embedder)
    with Flywheel(tmp_path / "store", embedder=fresh, flush_interval_s=0.05) as fw:
        assert fresh._model is None
        assert fw.warm_up(timeout=120)
        assert fresh._model is not None
        assert getattr(fw, "_few_shot_retriever", None) is not None
        assert fw.few_shot("where is my parcel?") == []  # nothing good stored yet, and no load on this call


def test_warm_up_in_the_background_at_open(tmp_path: Path, embedder):
    fresh = SentenceTransformerEmbedder()
    with Flywheel(tmp_path / "store", embedder=fresh, warm_up=True, flush_interval_s=0.05) as fw:
        assert fw.warm_up(timeout=120)  # joins the thread the open started; does not start a second one
        assert fresh._model is not None


class _BrokenEmbedder:
    dim = 384

    def embed(self, texts):  # noqa: ANN001 - the Embedder protocol
        raise RuntimeError("model file is corrupt")


def test_a_failing_warm_up_is_counted_not_raised(tmp_path: Path):
    with Flywheel(tmp_path / "store", embedder=_BrokenEmbedder(), start_worker=False) as fw:
        assert fw.warm_up(timeout=30) is False
        assert fw.stats()["counters"]["warm_up_failed"] == 1
        fw.record(Interaction(input="still records", output="fine"))


def test_few_shot_after_warm_up_returns_good_examples(fw: Flywheel):
    it = Interaction(input="how do I reset my password?", output="Settings > Security > Reset.")
    fw.record(it)
    fw.flush(60)
    fw.feedback(it.id, "thumbs_up")
    fw.feedback(it.id, "copy")
    fw.flush(60)
    assert fw.warm_up(timeout=60)
    examples = fw.few_shot("I forgot my password, how can I reset it?", session_id=None)
    assert [e.interaction_id for e in examples] == [it.id]
    assert np.isfinite(examples[0].similarity)
