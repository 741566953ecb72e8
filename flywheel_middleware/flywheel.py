"""The ``Flywheel`` facade: one object that records, stores, searches and hands out integrations."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from ._parts import open_parts
from ._stats import Counters
from .config import FlywheelConfig
from .errors import FlywheelError, SignalError, StoreError, StoreUnavailableError, UnknownInteractionError
from .owner import Ingestion, resolve_mode
from .queue import QueueFull
from .records import Interaction, RecordError, Signal
from .store.base import InteractionQuery
from .store.postgres import is_postgres_url, safe_url
from .store.replica import normalise_store_config
from .store.sqlite import APP_ID, read_folder_marker

if TYPE_CHECKING:
    from .processors import CompositeProcessor

_log = logging.getLogger("flywheel_middleware")
_MARKER = "flywheel.json"
_LAYOUT_VERSION = 1
_session_var: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "flywheel_session", default=(None, None)
)


class Flywheel:
    """Capture, signals, store and retrieval for one store folder.

    ``Flywheel("./.flywheel")`` opens (or creates) the embedded store: SQLite + FAISS + a durable
    ingest queue in one folder. ``record()`` and ``add_signal()`` are safe on an agent's hot path;
    everything heavy runs in a background worker. Use it as a context manager or call ``close()``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, config: FlywheelConfig | None = None, **overrides: Any) -> None:
        config = config or FlywheelConfig()
        if path is not None:
            overrides["store" if is_postgres_url(os.fspath(path)) else "path"] = os.fspath(path)
        # with a postgresql:// store, path becomes this replica's local folder (queue_dir)
        self.config = normalise_store_config(config.replace(**overrides) if overrides else config)
        self.url: str | None = self.config.store  # the shared database, or None for the embedded store
        self.path = Path(self.config.path) if self.url else store_folder(self.config.path)
        if str(self.path) != self.config.path:
            self.config = self.config.replace(path=str(self.path))
        self.counters = Counters()
        self._closed = False
        self._recent_ids: OrderedDict[str, None] = OrderedDict()
        self._recent_lock = threading.Lock()
        self.replica = self._prepare_folder()
        if self.config.processors:
            from .processors import check_spec

            for spec in self.config.processors:
                check_spec(spec)
        if self.config.start_worker:
            resolve_mode(self.config, self.config.worker_mode)  # a bad mode fails before anything opens
        self._parts = open_parts(self.config, self.counters)
        self.store = self._parts.store
        self.queue = self._parts.queue
        self.consent = self._parts.consent
        self.embedder = self._parts.embedder
        self.index = self._parts.index
        self.index_sync_action = self._parts.index_sync_action
        self._few_shot_retriever: Any = None
        from .reward import RewardConfig

        self.reward_config = RewardConfig.from_dict(self.config.reward)
        self._tracing: Any = None
        self._ingestion = Ingestion(self._parts)
        if self.config.start_worker:
            self._ingestion.start(self.config.worker_mode)
        if self.config.warm_up:
            self.warm_up(wait=False)

    @classmethod
    def from_config(cls, file: str | os.PathLike[str], **overrides: Any) -> Flywheel:
        """Open a flywheel from a TOML (``[flywheel]`` table) or JSON settings file."""
        return cls(config=FlywheelConfig.from_file(file), **overrides)

    # -- store folder ------------------------------------------------------------------------------
    def _prepare_folder(self) -> str | None:
        """Check or create the folder; with a server store it is the replica's, and its id is returned."""
        if self.url is not None:
            from .store.replica import prepare_queue_dir

            return prepare_queue_dir(self.path, self.url)
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"{self.path} is a file, not a flywheel store folder")
        marker = self.path / _MARKER
        if self.path.exists() and not marker.exists():
            foreign = [p.name for p in self.path.iterdir() if p.name not in {"store.sqlite", "queue", "index.faiss", "index.json"}]
            if foreign:
                raise StoreError(
                    f"{self.path} exists and is not a flywheel store (it holds {sorted(foreign)[:5]}); "
                    "choose an empty or new folder"
                )
        if marker.exists():
            meta = read_folder_marker(marker, self.path, "store")
            if int(meta.get("layout", 0)) > _LAYOUT_VERSION:
                raise StoreError(f"{self.path} was written by a newer flywheel-middleware (layout {meta.get('layout')})")
            if meta.get("store"):
                raise StoreError(f"{self.path} is the local queue folder of a replica of {meta['store']}, not an embedded "
                                 "store; open the database's URL instead")
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps({"app": APP_ID, "layout": _LAYOUT_VERSION, "created_at": time.time()}))
        return None

    def make_redactor(self) -> Any:
        """A new ``Redactor`` with this flywheel's ``redaction`` settings (the worker's, the export's)."""
        return self._parts.make_redactor()

    @property
    def redaction_settings(self) -> dict[str, Any]:
        """The ``redaction`` settings (``RedactionConfig`` keys), for processes that build their own redactor."""
        return dict(self.config.redaction)

    # -- the hot path ------------------------------------------------------------------------------
    def record(self, interaction: Interaction | dict[str, Any]) -> str | None:
        """Accept one interaction for ingestion; returns its id, or None if it was rejected.

        Costs one JSON encode and one append to the durable queue. Never raises: a bad record is
        logged, counted under ``rejected_*`` in ``stats()`` and dropped.
        """
        try:
            if isinstance(interaction, dict):
                interaction = Interaction.from_dict(interaction)
            elif not isinstance(interaction, Interaction):
                raise RecordError(f"record() takes an Interaction or a dict, got {type(interaction).__name__}")
            interaction.validate()
            if interaction.user_id and self.consent.is_opted_out(interaction.user_id):
                self.counters.inc("dropped_opted_out")
                return None
            interaction.fill_text()  # while the payload's objects are still objects (the queue keeps their repr)
            self.queue.append_payload(self._encode("i", interaction))
        except QueueFull as exc:
            self.counters.warn("rejected_queue_full", "flywheel: record rejected: %s", exc)
            return None
        except RecordError as exc:
            self.counters.warn("rejected_invalid", "flywheel: record rejected: %s", exc)
            return None
        except OSError as exc:  # a full disk: nothing of the record stays in the queue (see queue.py)
            self.counters.warn("rejected_write_error", "flywheel: record rejected, the queue cannot be written: %s", exc)
            return None
        except Exception as exc:  # noqa: BLE001 - never break the agent
            self.counters.warn("rejected_error", "flywheel: record failed: %r", exc)
            return None
        self._remember(interaction.id)
        self.counters.inc("recorded")
        self._ingestion.wakeup()
        return interaction.id

    def add_signal(self, signal: Signal) -> bool:
        """Queue a signal (from an adapter or a detector). Never raises; returns whether accepted."""
        if not self._parts.append_signal(signal):
            return False
        self._ingestion.wakeup()
        return True

    def feedback(
        self,
        interaction_id: str,
        kind: str,
        value: Any = None,
        *,
        actor: str | None = None,
        source: str = "explicit",
        evidence: dict[str, Any] | None = None,
        at: float | None = None,
    ) -> Signal:
        """Record what a user said or did about an interaction (see README "Signals").

        Raises ``UnknownInteractionError`` for an id this flywheel never accepted and
        ``SignalError`` for an unknown kind or a bad value; sending the same feedback twice is a no-op.
        """
        from .feedback import make_signal

        self.require(interaction_id)
        signal = make_signal(interaction_id, kind, value, source=source, actor=actor, evidence=evidence, at=at)
        if not self.add_signal(signal):
            raise FlywheelError("the signal could not be queued; see stats()['counters']")
        return signal

    def correct(self, interaction_id: str, edited_output: str, *, original: str | None = None, actor: str | None = None) -> Signal:
        """The user's corrected answer: an SFT target and, against the agent's answer, a DPO pair."""
        from .feedback import correction_value

        if not isinstance(edited_output, str) or not edited_output.strip():
            raise SignalError("edited_output must be non-empty text")
        self.require(interaction_id)
        if original is None:
            stored = self.store.get(interaction_id)
            original = stored.output_text if stored is not None else ""
        return self.feedback(interaction_id, "correction", correction_value(original, edited_output), actor=actor)

    def prefer(self, interaction_id: str, chosen: str, rejected: str, *, actor: str | None = None) -> Signal:
        """A pairwise choice between two answers to this interaction's input (a DPO pair)."""
        return self.feedback(interaction_id, "preference", {"chosen": chosen, "rejected": rejected}, actor=actor)

    def _encode(self, kind: str, data: Any) -> bytes:
        return self._parts.encode(kind, data)

    def _remember(self, interaction_id: str) -> None:
        with self._recent_lock:
            self._recent_ids[interaction_id] = None
            if len(self._recent_ids) > 100_000:
                self._recent_ids.popitem(last=False)

    def knows(self, interaction_id: str) -> bool:
        """Whether this interaction was accepted (queued or stored), by this process or another:
        after a restart, an id still waiting in the queue is known too (found in the queue).

        With a shared database that is down, an id this replica did not record cannot be checked:
        it is taken on trust (counted as ``feedback_unverified``) so feedback is queued, not lost."""
        with self._recent_lock:
            if interaction_id in self._recent_ids:
                return True
        try:
            if self.store.existing_ids([interaction_id]):
                return True
            cursors = self.store.cursors()
        except StoreUnavailableError:
            self.counters.inc("feedback_unverified")
            return True
        return self.queue.holds_interaction(interaction_id, cursors)

    def require(self, interaction_id: str) -> None:
        if not isinstance(interaction_id, str) or not interaction_id:
            raise UnknownInteractionError(f"interaction id must be a non-empty string, got {interaction_id!r}")
        if not self.knows(interaction_id):
            raise UnknownInteractionError(f"unknown interaction id {interaction_id!r}")

    # -- integrations ---------------------------------------------------------------------------------
    @property
    def tracer_provider(self) -> Any:
        """The OpenTelemetry tracer provider the adapters use (None: tracing off, no spans, no cost).

        Built on first use from ``tracer_provider=``, ``phoenix_endpoint=`` or the standard
        ``OTEL_EXPORTER_OTLP_*`` variables; see ``flywheel_middleware.tracing.setup_tracing``.
        """
        if self._tracing is None:
            from .tracing import setup_tracing

            self._tracing = setup_tracing(
                phoenix_endpoint=self.config.phoenix_endpoint,
                tracer_provider=self.config.tracer_provider,
                project_name=self.config.project_name if self.config.project_name != "default" else None,
                max_queue_size=self.config.span_queue_size,
                count=self.counters.inc,
                redactor_factory=self.make_redactor,
            )
        return self._tracing.tracer_provider

    def langchain(self, **options: Any) -> Any:
        """One LangChain/LangGraph callback handler capturing whole turns (and tracing them)."""
        from .adapters.langchain import make_handler

        return make_handler(self, **options)

    def llamaindex(self, engine: Any, **options: Any) -> Any:
        """Wrap a LlamaIndex query or chat engine: each call is captured (and traced); see ``adapters.llamaindex``."""
        from .adapters.llamaindex import wrap

        return wrap(self, engine, **options)

    # -- sessions ------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self, session_id: str, user_id: str | None = None) -> Iterator[None]:
        """Attribute every turn inside the block to this session and user (thread- and task-local)."""
        token = _session_var.set((session_id, user_id))
        try:
            yield
        finally:
            _session_var.reset(token)

    def current_session(self) -> tuple[str | None, str | None]:
        return _session_var.get()

    # -- consent, erasure, retention (see flywheel_middleware.consent) ---------------------------------
    def is_opted_out(self, user_id: str | None) -> bool:
        return self.consent.is_opted_out(user_id)

    def opt_out(self, user_id: str) -> None:
        """From now on nothing of this user is recorded, traced or ingested (already kept data stays: see ``forget``)."""
        self.consent.opt_out(user_id)

    def opt_in(self, user_id: str) -> None:
        self.consent.opt_in(user_id)

    def forget(self, user_id: str) -> Any:
        """Erase a user everywhere: store, vectors, ingest queue; returns an ``ErasureReport``."""
        from .consent import forget_user

        return forget_user(user_id, store=self.store, queue=self.queue, index=self.index, consent=self.consent, drain=self.flush)

    def retain(self, days: float | None = None) -> int:
        """Delete interactions older than ``days`` (default: ``retention_days``); returns how many."""
        from .consent import retain

        days = self.config.retention_days if days is None else days
        if days is None:
            raise FlywheelError("no retention period: pass days= or set retention_days")
        return retain(self.store, self.index, days)

    @property
    def processors(self) -> CompositeProcessor:
        """The ingest processors running in this process (the built-ins, then ``processors=``);
        empty when another process ingests this folder."""
        return self._ingestion.processors

    def apply_index_deletions(self) -> int:
        """Remove vectors deleted from the store (by any process) from this process's index."""
        return self.index.apply_deletions(self.store)

    def count(self, name: str, n: int = 1) -> None:
        self.counters.inc(name, n)

    # -- lifecycle -------------------------------------------------------------------------------------
    def flush(self, timeout: float = 60.0) -> bool:
        """Wait until everything recorded so far is stored, indexed and judged; False on timeout.

        "Judged" includes the implicit signals the worker's detectors emit for these records: they
        travel through the queue too, so flush waits for them (a few rounds at most, so a flush
        under continuous traffic still returns).
        """
        if not self._ingestion.anyone():
            return self.queue.pending_bytes(self.store.cursors()) == 0  # nobody to wait for
        ok = self._ingestion.drain(timeout)
        self._ingestion.processors.flush(max(0.1, timeout / 4))
        if self._tracing is not None:
            self._tracing.flush(timeout)
        return ok

    def close(self, timeout: float = 60.0) -> None:
        """Flush, stop the worker, save the index. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush(timeout)
        finally:
            # close our segment first, so whoever ingests consumes it and deletes it: raw text must
            # not outlive the flywheel (the worker process used to exit before our segment was done)
            self.queue.roll()
            self._ingestion.stop(timeout)
            if self._tracing is not None:
                self._tracing.shutdown()
            self._parts.close()

    def __enter__(self) -> Flywheel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ---------------------------------------------------------------------------------------
    def get(self, interaction_id: str) -> Interaction | None:
        """The stored (redacted) interaction, or None if unknown or not yet ingested."""
        return self.store.get(interaction_id)

    def signals(self, interaction_id: str) -> list[Signal]:
        return self.store.signals_for([interaction_id]).get(interaction_id, [])

    def interactions(
        self,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        signal_kind: str | None = None,
        status: str | None = None,
        limit: int | None = 100,
        offset: int = 0,
        newest_first: bool = True,
    ) -> list[Interaction]:
        """Stored interactions matching every given filter, newest first by default."""
        found = self.store.list_interactions(
            InteractionQuery(session_id=session_id, user_id=user_id, since=since, until=until, signal_kind=signal_kind,
                             status=status, limit=limit, offset=offset, newest_first=newest_first)
        )
        if not found and session_id is not None:
            from .privacy.records import stored_session_id  # a session id with PII is stored hashed

            if stored_session_id(session_id) != session_id:
                return self.interactions(session_id=stored_session_id(session_id), user_id=user_id, since=since,
                                         until=until, signal_kind=signal_kind, status=status, limit=limit,
                                         offset=offset, newest_first=newest_first)
        return found

    def reward(self, interaction_id: str) -> Any:
        """The interaction's current ``Reward`` (label good/bad/unknown, reward, confidence)."""
        from .reward import aggregate

        stored = self.store.get(interaction_id)
        muted = self.store.busy_actors(time.time() - 86_400, self.reward_config.daily_signal_cap)
        return aggregate(self.signals(interaction_id), status=stored.status if stored else None,
                         config=self.reward_config, muted_actors=muted)

    def search(self, text: str, k: int = 5) -> list[tuple[Interaction, float]]:
        """The ``k`` stored interactions whose input is most similar to ``text`` (cosine)."""
        if not isinstance(text, str):
            raise TypeError(f"search() takes a string query, got {type(text).__name__}")
        vector = self.embedder.embed([text])
        return self.search_vector(vector[0], k)

    def search_vector(self, vector: np.ndarray, k: int = 5) -> list[tuple[Interaction, float]]:
        scores, keys = self.index.search(vector, k)
        ids = self.store.ids_for_keys([int(x) for x in keys[0] if x >= 0])
        out = []
        for score, key in zip(scores[0], keys[0]):
            iid = ids.get(int(key))
            it = self.store.get(iid) if iid else None
            if it is not None:
                out.append((it, float(score)))
        return out

    def few_shot(self, query: str | None, k: int | None = None, **options: Any) -> list[Any]:
        """The ``k`` best *good* past trajectories for ``query`` as ``FewShotExample``\\ s.

        Filters (``filter={...}``, ``category=``, ``tool=``, ``route=``, ``language=``,
        ``model_version=``), similarity floor, MMR, token budget: see ``flywheel_middleware.fewshot``.
        """
        return self.few_shot_retriever.select(query, k, **options)

    @property
    def few_shot_retriever(self) -> Any:
        """The shared ``FewShotRetriever`` over this store (built on first use with ``few_shot`` settings)."""
        if self._few_shot_retriever is None:
            from .fewshot import FewShotRetriever

            self._few_shot_retriever = FewShotRetriever(self, self.config.few_shot)
        return self._few_shot_retriever

    def warm_up(self, *, wait: bool = True, timeout: float | None = None) -> bool:
        """Load the embedding model and the few-shot index now, so the first ``few_shot()`` is fast.

        Without it the first ``few_shot()`` pays the model load (seconds). Runs once, in a background
        thread (``Flywheel(..., warm_up=True)`` starts it at open); ``wait=False`` returns at once.
        Returns whether the warm-up has finished without error; a failure is logged and counted
        (``warm_up_failed``), never raised: retrieval then loads on first use as before.
        """
        with self._recent_lock:
            thread = getattr(self, "_warm_up_thread", None)
            if thread is None:
                thread = threading.Thread(target=self._warm_up, name="flywheel-warm-up", daemon=True)
                self._warm_up_thread, self._warm_up_ok = thread, False
                thread.start()
        if wait:
            thread.join(timeout)
        return not thread.is_alive() and self._warm_up_ok

    def _warm_up(self) -> None:
        try:
            load = getattr(self.embedder, "load", None)
            load() if callable(load) else self.embedder.embed(["warm up"])
            from .fewshot import retriever_for

            retriever_for(self).select("warm up", 1, record=False)
            self._warm_up_ok = True
        except Exception as exc:  # noqa: BLE001 - a warm-up must never break the app
            self.counters.warn("warm_up_failed", "flywheel: warm-up failed (few_shot() will load on first use): %r", exc)

    def few_shot_prompt(self, **options: Any) -> Any:
        """A LangChain Runnable injecting examples as chat messages (``adapters.fewshot_langchain``)."""
        from .adapters.fewshot_langchain import FlywheelFewShotPrompt

        return FlywheelFewShotPrompt(self, **options)

    def few_shot_middleware(self, k: int = 3, **options: Any) -> Any:
        """``langchain.agents.create_agent`` middleware injecting examples (``adapters.fewshot_agent``)."""
        from .adapters.fewshot_agent import FlywheelFewShotMiddleware

        return FlywheelFewShotMiddleware(self, k, **options)

    def few_shot_selector(self, **options: Any) -> Any:
        """A LangChain ``BaseExampleSelector`` over this flywheel (``adapters.fewshot_langchain``)."""
        from .adapters.fewshot_langchain import FlywheelExampleSelector

        return FlywheelExampleSelector(self, **options)

    def export(self, kind: str, out_dir: str | os.PathLike[str], **filters: Any) -> Any:
        """Write a versioned ``sft`` / ``dpo`` / ``kto`` dataset (+ manifest) into ``out_dir``.

        Filters and options (``min_confidence``, ``since``, ``category``, ``exclude_users``,
        ``eval_fraction``, ``dedup``...): see ``flywheel_middleware.export``. Returns an ``ExportResult``.
        """
        from .export import export

        return export(self, kind, out_dir, **filters)

    def review_queue(self, limit: int = 20, **options: Any) -> list[Any]:
        """Interactions most worth a human look, ranked, with reasons (``curation.review_queue``)."""
        from .curation import review_queue

        return review_queue(self, limit, **options)

    def reindex(self) -> int:
        """Rebuild the vector index from the store (the source of truth); returns its size."""
        n = self.index.rebuild(self.store)
        self.index.save()
        return n

    def stats(self) -> dict[str, Any]:
        """Store counts, queue, worker and counters. With the database down it still answers:
        ``store_available`` is False, the counts are None and the queue shows what waits locally."""
        from .store.base import StoreCounts

        available = True
        try:
            counts = self.store.counts()
            cursors = self.store.cursors()
        except StoreUnavailableError:
            available = False
            counts = StoreCounts(interactions=None, embedded=None)  # type: ignore[arg-type]
            cursors = {}
        segments = self.queue.segments()
        tracing = self._tracing.stats() if self._tracing is not None else {}
        return {
            "path": str(self.path),
            "store": safe_url(self.url) if self.url else str(self.path / "store.sqlite"),
            "store_available": available,
            "replica": self.replica,
            "interactions": counts.interactions,
            "labels": _labels(counts.interactions, counts.rewards_by_label) if available else None,
            "steps_by_kind": counts.steps_by_kind,
            "signals_by_kind": counts.signals_by_kind,
            "embedded": counts.embedded,
            "index_size": len(self.index),
            "queue_pending_bytes": self.queue.pending_bytes(cursors),
            "queue_segments": len(segments),
            "last_ingest_at": counts.last_ingest_at,
            "worker": self._ingestion.state(),
            "worker_last_error": self._ingestion.last_error,
            "worker_health": self._ingestion.health(),
            "tracing": tracing,
            "counters": self._all_counters(),
        }

    def _all_counters(self) -> dict[str, int]:
        """Our counters plus those the owning worker (maybe another process) publishes in the store."""
        counts = self.counters.snapshot()
        if self._ingestion.owner is None:
            try:
                published = self.store.published_counters()
            except StoreUnavailableError:
                published = {}
            # the owner's health report carries them even when the database is locked, full or down
            for key, value in (self._ingestion.published_counters() or {}).items():
                published[key] = max(published.get(key, 0), value)
            for key, value in published.items():
                counts[key] = counts.get(key, 0) + value
        return counts


_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def store_folder(location: str | os.PathLike[str]) -> Path:
    """The embedded store's folder for ``location``; a URL no backend handles is a ``StoreError``
    (never a folder named ``postgresql:`` in the working directory). ``file://`` URLs are folders."""
    text = os.fspath(location)
    match = _URL_SCHEME.match(text)
    if match is None:
        return Path(text)
    scheme = match.group(1).lower()
    if scheme == "file":
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(text).path))
    raise StoreError(
        f"{text!r} is a {scheme}:// URL, and no store backend handles {scheme}://; "
        "give a folder path for the embedded SQLite + FAISS store (or a postgresql:// URL where the PostgreSQL backend is installed)"
    )


def _labels(interactions: int, by_label: dict[str, int]) -> dict[str, int]:
    """good / bad / unknown counts; a turn without a reward yet (or without signals) is unknown."""
    good, bad = int(by_label.get("good", 0)), int(by_label.get("bad", 0))
    return {"good": good, "bad": bad, "unknown": max(0, interactions - good - bad)}


__all__ = ["Flywheel", "FlywheelError"]
