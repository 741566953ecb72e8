"""Options every ``flywheel`` command spells the same way (shared by cli.py and trainers/cli.py)."""

from __future__ import annotations

import re
from pathlib import Path

import typer

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
STORE_URL_SCHEMES = ("postgresql", "postgres")
DEFAULT_STORE = ".flywheel"

PathOption = typer.Option(DEFAULT_STORE, "--path", "-p", envvar="FLYWHEEL_PATH", show_envvar=False, metavar="<folder|url>",
                          help="The store: a folder, or a postgresql:// URL (env FLYWHEEL_PATH).")
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")


def is_store_url(path: str) -> bool:
    """Whether ``--path`` names a database URL rather than a folder."""
    return bool(_URL.match(path))


def registry_dir(store: str, registry: Path | None) -> Path | None:
    """The model registry folder: ``--registry``, else ``<store folder>/models`` (None for a URL store)."""
    if registry is not None:
        return registry
    return None if is_store_url(store) else Path(store) / "models"
