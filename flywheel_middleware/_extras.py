"""Optional dependencies: import a framework through one helper that names the extra to install.

Adapters and trainers import their framework inside ``with requires_extra("langchain"):`` (or call
``import_extra``), so a missing package is a ``MissingExtraError`` that says
``pip install "flywheel-middleware[langchain]"`` instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from types import ModuleType

from .errors import MissingExtraError

DISTRIBUTION = "flywheel-middleware"

#: what each extra of pyproject.toml is for (named in the error message)
EXTRAS: dict[str, str] = {
    "langchain": "the LangChain / LangGraph integration",
    "llamaindex": "the LlamaIndex integration",
    "phoenix": "the Arize Phoenix server",
    "serve": "the HTTP feedback API",
    "train": "training and evaluation (LoRA SFT / DPO / KTO)",
    "postgres": "the PostgreSQL + pgvector store",
    "pii": "synthetic PII data",
}


def install_hint(extra: str) -> str:
    """The command that installs an extra, quoted so it works in zsh too."""
    return f'pip install "{DISTRIBUTION}[{extra}]"'


def _message(exc: ImportError, extra: str, feature: str | None) -> str:
    what = feature or EXTRAS.get(extra, extra)
    missing = exc.name or "a dependency"
    if isinstance(exc, ModuleNotFoundError):
        problem = f"{missing!s} is not installed"
    else:  # the package is there but a name is missing from it: an incompatible version
        problem = f"{missing!s} could not be imported ({exc}); it may be an incompatible version"
    return f"{what[0].upper()}{what[1:]} needs the '{extra}' extra, but {problem}. Install it with: {install_hint(extra)}"


@contextlib.contextmanager
def requires_extra(extra: str, feature: str | None = None) -> Iterator[None]:
    """Turn an ``ImportError`` inside the block into a ``MissingExtraError`` with the install hint."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; known: {sorted(EXTRAS)}")
    try:
        yield
    except MissingExtraError:
        raise
    except ImportError as exc:
        raise MissingExtraError(_message(exc, extra, feature), name=exc.name, extra=extra) from exc


def import_extra(module: str, extra: str, feature: str | None = None) -> ModuleType:
    """``importlib.import_module(module)``, raising ``MissingExtraError`` that names ``extra``."""
    with requires_extra(extra, feature):
        return importlib.import_module(module)
