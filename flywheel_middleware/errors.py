"""Every error the library raises to its *users* (never to the agent it observes), in one family.

``except FlywheelError`` catches them all. Each one also subclasses the built-in exception callers
caught before the family existed (``RecordError`` is still a ``ValueError``, ``UnknownInteractionError``
a ``KeyError``, ``MissingExtraError`` a ``ModuleNotFoundError``), so no existing ``except`` breaks.
The old import locations (``records.RecordError``, ``queue.QueueFull``, ``curation.CurationError``,
``export.ExportError``...) re-export these classes.

This module imports nothing from the package, so any module may import it.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "CurationError",
    "ExportError",
    "FlywheelError",
    "MissingExtraError",
    "QueueFull",
    "RecordError",
    "SignalError",
    "SplitError",
    "StoreBusyError",
    "StoreError",
    "StoreUnavailableError",
    "TrainingError",
    "UnknownInteractionError",
    "UnknownModelError",
]


class FlywheelError(Exception):
    """Base class of the library's errors."""


class ConfigError(FlywheelError, ValueError):
    """A setting, option or config file the library cannot use: the message names what is accepted."""


class RecordError(FlywheelError, ValueError):
    """A record that cannot be accepted: wrong type, bad field, unknown schema version."""


class SignalError(FlywheelError, ValueError):
    """A signal of an unknown kind, or with a value its kind does not accept."""


class _KeyErrorMessage(KeyError):
    """A ``KeyError`` whose ``str()`` is its message (a plain ``KeyError`` quotes it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__doc__ or ""


class UnknownInteractionError(FlywheelError, _KeyErrorMessage):
    """A signal or lookup names an interaction id the flywheel has never accepted."""


class UnknownModelError(FlywheelError, _KeyErrorMessage):
    """A model id the registry does not know."""


class StoreError(FlywheelError):
    """The store folder is corrupt, foreign, or from a newer version: refused rather than overwritten."""


class StoreUnavailableError(StoreError, ConnectionError):
    """A server store (PostgreSQL) cannot be reached right now; the worker retries, nothing queued is lost."""


class StoreBusyError(StoreError):
    """Another process held the store's write lock for longer than the busy timeout: retry later."""


class QueueFull(FlywheelError):
    """Pending bytes are over the configured bound: the record is rejected, not buffered."""


class CurationError(FlywheelError, ValueError):
    """Curation or export cannot proceed with the data or options given."""


class ExportError(CurationError):
    """An export that cannot be made: unknown kind, bad filter, nothing to export, too few rows."""


class SplitError(ExportError):
    """Too few rows for the requested train/eval split (a ``CurationError`` and an ``ExportError``)."""


class TrainingError(FlywheelError, ValueError):
    """A training or evaluation run that cannot start with the data, model or options given."""


class MissingExtraError(FlywheelError, ModuleNotFoundError):
    """An optional dependency is not installed; the message says which extra installs it."""

    def __init__(self, message: str, *, name: str | None = None, extra: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.extra = extra
