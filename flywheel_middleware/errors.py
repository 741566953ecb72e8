"""Errors the library raises to its *users* (never to the agent it observes)."""

from __future__ import annotations

from .records import RecordError


class FlywheelError(Exception):
    """Base class of the library's errors."""


class StoreError(FlywheelError):
    """The store folder is corrupt, foreign, or from a newer version: refused rather than overwritten."""


class StoreUnavailableError(StoreError, ConnectionError):
    """A server store (PostgreSQL) cannot be reached right now; the worker retries, nothing queued is lost."""


class UnknownInteractionError(FlywheelError, KeyError):
    """A signal or lookup names an interaction id the flywheel has never accepted."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown interaction"


class SignalError(FlywheelError, ValueError):
    """A signal of an unknown kind, or with a value its kind does not accept."""


__all__ = ["FlywheelError", "RecordError", "SignalError", "StoreError", "StoreUnavailableError", "UnknownInteractionError"]
