"""A replica's local folder when the store is a shared database.

``record()`` never touches the network, so even with PostgreSQL each replica appends to a local
durable queue; its worker ingests from there into the database. The folder also holds the worker
lock (one worker per folder, as with the embedded store) and the replica's FAISS cache.

Where: ``queue_dir`` in the config, or by default one folder per database under
``$XDG_STATE_HOME/flywheel-middleware/queues`` (``~/.local/state/...``): a *state* folder, not a
cache, because the queue holds records that are not in the database yet, which a cache cleaner
must not delete. Processes on one machine with the same URL share the default folder (one of
them ingests, the others append), exactly as processes sharing an embedded store folder do; a
container whose disk does not outlive it should mount a volume there so a crash loses nothing.

The folder's ``flywheel.json`` names the database (without password) and the replica id that the
database keeps this queue's offsets under. A folder is bound to one database: opening it with
another URL is refused, since its pending records belong to the first one.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import StoreError
from .sqlite import APP_ID, read_folder_marker

MARKER = "flywheel.json"
LAYOUT_VERSION = 1


def database_identity(url: str) -> str:
    """user@host:port/db of a URL (no password, no options): what a queue folder is bound to."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:  # a socket URL: postgresql://user@/db?host=/run/postgresql
        host = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("host", "")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.username or ''}@{host}{port}{parts.path or '/'}"


def default_queue_dir(url: str) -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    identity = database_identity(url)
    slug = "".join(c if c.isalnum() else "-" for c in identity.split("/")[-1])[:40] or "db"
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:12]
    return Path(state) / "flywheel-middleware" / "queues" / f"{slug}-{digest}"


def normalise_store_config(config: Any) -> Any:
    """One spelling of "where the store is": ``store`` is the database URL (or None for the
    embedded store) and ``path`` the local folder (the store folder, or the replica's queue folder).

    Accepted: ``path="postgresql://..."`` (what ``Flywheel(url)`` passes), ``store="postgresql://..."``
    with or without ``queue_dir``, and ``store="./folder"`` (the embedded store there)."""
    from .postgres import is_postgres_url

    store = config.store or (config.path if is_postgres_url(config.path) else None)
    if store is None:
        return config
    if not is_postgres_url(store):
        return config.replace(path=store, store=None)
    # the folder: queue_dir, else a path that names one (what the worker process is given), else the default
    folder = config.queue_dir or (config.path if config.path not in (store, ".flywheel") else None)
    return config.replace(store=store, path=str(Path(folder).resolve()) if folder else str(default_queue_dir(store)))


def prepare_queue_dir(path: Path, url: str) -> str:
    """Create or check the replica folder for ``url``; returns its replica id."""
    if path.exists() and not path.is_dir():
        raise StoreError(f"{path} is a file, not a flywheel queue folder")
    marker = path / MARKER
    identity = database_identity(url)
    if marker.exists():
        meta = read_folder_marker(marker, path, "queue folder")
        if not meta.get("store"):
            raise StoreError(f"{path} is an embedded flywheel store, not a queue folder for {identity}; "
                             "copy it into the database with `flywheel migrate` and use another queue_dir")
        if meta["store"] != identity:
            raise StoreError(f"{path} is the queue folder of {meta['store']}, not of {identity}: its pending records "
                             "belong there. Use another queue_dir for this database.")
        return str(meta["replica"])
    if path.exists() and any(p.name != "queue" for p in path.iterdir()):
        raise StoreError(f"{path} exists and is not a flywheel queue folder; choose an empty or new folder")
    path.mkdir(parents=True, exist_ok=True)
    replica = f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:8]}"
    tmp = path / f"{MARKER}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp"
    tmp.write_text(json.dumps({"app": APP_ID, "layout": LAYOUT_VERSION, "store": identity, "replica": replica,
                               "created_at": time.time()}))
    try:
        os.link(tmp, marker)  # two processes creating the folder at once agree on one replica id
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return str(json.loads(marker.read_text())["replica"])
