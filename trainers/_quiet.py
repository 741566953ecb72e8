"""Quiet third-party libraries: transformers, TRL, peft, datasets and the hub print a lot by default.

Why: a user running ``flywheel demo`` or ``flywheel train`` wants our progress bars and tables,
not dozens of "Loading weights" bars, per-step loss dicts and deprecation notes. Errors still
show. ``FLYWHEEL_VERBOSE=1`` (or ``--verbose`` on the CLI) turns it all back on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator

_LOGGERS = ("transformers", "trl", "peft", "datasets", "huggingface_hub", "accelerate", "torch", "gguf",
            "sentence_transformers", "langchain_huggingface")


def verbose() -> bool:
    return os.environ.get("FLYWHEEL_VERBOSE", "").strip().lower() in ("1", "true", "yes", "on")


def set_verbose(on: bool) -> None:
    """What ``--verbose`` does: library logs, warnings and progress bars are shown again."""
    if on:
        os.environ["FLYWHEEL_VERBOSE"] = "1"
    else:
        os.environ.pop("FLYWHEEL_VERBOSE", None)


def _silence_progress_bars() -> None:
    with contextlib.suppress(Exception):
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    with contextlib.suppress(Exception):
        import datasets

        datasets.logging.set_verbosity_error()
        datasets.disable_progress_bars()
    with contextlib.suppress(Exception):
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """Within the block: third-party loggers at ERROR, their progress bars and warnings off (unless verbose)."""
    if verbose():
        yield
        return
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    _silence_progress_bars()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def quiet_trainer(trainer: object) -> None:
    """Remove transformers' console callbacks (per-step loss dicts, tqdm) unless verbose."""
    if verbose():
        return
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for callback in (PrinterCallback, ProgressCallback):
        with contextlib.suppress(Exception):
            trainer.remove_callback(callback)  # type: ignore[attr-defined]
