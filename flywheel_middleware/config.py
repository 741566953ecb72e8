"""One settings object for the whole flywheel, loadable from TOML or JSON."""

from __future__ import annotations

import json
import tomllib
import urllib.parse
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError


def check_http_url(url: str, what: str = "phoenix_endpoint") -> str:
    """``url`` if it is an absolute http(s) URL; a ``ConfigError`` naming ``what`` otherwise.

    ``localhost:6006`` parses as scheme "localhost" and would send every span nowhere, silently.
    """
    parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{what} must be an http(s) URL such as http://127.0.0.1:6006, got {url!r}")
    return url


def url_argument(value: str) -> str:
    """An ``argparse`` type for ``--phoenix URL`` options: the same check, argparse's error."""
    import argparse

    try:
        return check_http_url(value, "a Phoenix endpoint")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass
class FlywheelConfig:
    """Every knob with a default that works on a laptop; see README "Configuration"."""

    path: str = ".flywheel"
    # a server store shared by replicas: "postgresql://user@host/db" (None = the embedded store at path)
    store: str | None = None
    # with a server store: this replica's local folder (durable queue, worker lock, FAISS cache);
    # None = a folder per database URL under $XDG_STATE_HOME (~/.local/state)/flywheel-middleware/queues
    queue_dir: str | None = None
    # ingest queue
    max_queue_bytes: int = 1 << 30  # pending bytes on disk before record() starts rejecting
    segment_bytes: int = 64 << 20
    segment_max_age_s: float = 60.0  # queue segments close at least this often (raw text must not linger)
    segment_idle_s: float = 2.0  # ... and after this long without an append (see queue.py)
    max_record_bytes: int = 4 << 20  # bigger records get their longest text fields truncated
    max_text_chars: int = 200_000
    # worker
    start_worker: bool = True
    worker_mode: str = "auto"  # "process" | "thread" | "auto" (process unless an embedder object is given)
    batch_size: int = 128
    flush_interval_s: float = 0.2
    fsync_interval_s: float = 0.5  # records older than this survive a power cut (a background thread fsyncs)
    index_save_interval_s: float = 30.0
    max_backoff_s: float = 5.0
    embed_retries: int = 3
    # models
    embedding_model: str | None = None  # a local sentence-transformers path; None = packaged MiniLM
    torch_threads: int | None = None
    model_progress: bool = False  # show transformers' "Loading weights" progress bars when a model loads
    warm_up: bool = False  # load the embedding model and few-shot index in a background thread at open
    embedding_quantize: bool = False  # int8 MiniLM: ~1.6-2x faster on CPU, but top-1 neighbours agree only 72% (see benchmarks)
    # privacy (see flywheel_middleware.privacy.RedactionConfig for keys)
    redaction: dict[str, Any] = field(default_factory=dict)
    # tracing
    phoenix_endpoint: str | None = None
    project_name: str = "default"
    span_queue_size: int = 16384
    # signals and reward (see flywheel_middleware.signals)
    signals: dict[str, Any] = field(default_factory=dict)
    reward: dict[str, Any] = field(default_factory=dict)
    # few-shot retrieval defaults (see Flywheel.few_shot)
    few_shot: dict[str, Any] = field(default_factory=dict)
    # retention: drop interactions older than this many days (None = keep)
    retention_days: float | None = None
    retention_interval_s: float = 3600.0  # how often the worker applies it
    # ingest processors run after the built-ins: Processor instances or "module:factory" strings
    processors: list[Any] = field(default_factory=list)
    # extra, for integrations: objects that are not serialisable (a tracer provider, an embedder)
    tracer_provider: Any = None
    embedder: Any = None

    def __post_init__(self) -> None:
        if self.phoenix_endpoint:  # None or "" = no Phoenix
            check_http_url(self.phoenix_endpoint)

    @classmethod
    def from_file(cls, file: str | Path) -> FlywheelConfig:
        path = Path(file)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
        try:
            data = tomllib.loads(text) if path.suffix in {".toml", ".tml"} else json.loads(text)
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise ConfigError(f"config {path} is not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: {exc}") from exc
        data = data.get("flywheel", data)
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlywheelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}; known keys: {sorted(known)}")
        return cls(**data)

    def to_json_dict(self) -> dict[str, Any]:
        """The serialisable settings (objects such as a tracer provider are left out)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("tracer_provider", "embedder")}
        out["processors"] = [p for p in self.processors if isinstance(p, str)]  # instances cannot cross processes
        return out

    def replace(self, **overrides: Any) -> FlywheelConfig:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        unknown = sorted(set(overrides) - set(values))
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}")
        values.update(overrides)
        return FlywheelConfig(**values)
