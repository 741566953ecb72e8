"""A local model registry: which adapters exist, what made them, and what the gate said.

Why SQLite: several processes (a training job, ``flywheel models``, a shadow scorer) touch the
registry at once; SQLite gives atomic updates without a server. One file, ``registry.sqlite``, in
the registry folder (default ``<flywheel path>/models``); its tables and SQL are in
``flywheel_middleware.store.models``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flywheel_middleware.errors import UnknownModelError
from flywheel_middleware.store.models import ModelRegistryDB

STATUSES: tuple[str, ...] = ("candidate", "shadow", "promoted", "rejected", "retired")

def default_registry_dir(flywheel_path: str | Path | None = None) -> Path:
    """``<flywheel path>/models``; the flywheel path defaults to ``$FLYWHEEL_PATH`` or ``./.flywheel``."""
    base = flywheel_path or os.environ.get("FLYWHEEL_PATH") or ".flywheel"
    return Path(base) / "models"


@dataclass
class ModelEntry:
    """One registered adapter and its lineage."""

    id: str
    method: str | None
    path: str | None
    base_model: str | None
    dataset_version: str | None
    parent: str | None
    status: str
    created_at: float
    updated_at: float
    metrics: dict[str, Any] = field(default_factory=dict)
    card: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self, with_card: bool = False) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("id", "method", "path", "base_model", "dataset_version", "parent",
                                            "status", "created_at", "updated_at", "metrics")}
        if with_card:
            d["card"] = self.card
        return d


class Registry:
    """Adapters, their lineage (base model, dataset version, parent), status and gate decisions."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_registry_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "registry.sqlite"
        self._db = ModelRegistryDB(self.db_path)

    # -- writes -------------------------------------------------------------------------------
    def register(self, card: dict[str, Any], status: str = "candidate") -> ModelEntry:
        """Add (or refresh) an adapter from its model card (``flywheel_model.json`` contents)."""
        _check_status(status)
        base = card.get("base_model")
        base_name = base.get("path") or base.get("name_or_path") if isinstance(base, dict) else base
        ds = card.get("dataset") or {}
        self._db.upsert_model({"id": card["adapter_id"], "method": card.get("method"), "path": card.get("adapter_path"),
                               "base_model": base_name, "dataset_version": ds.get("version"), "parent": card.get("parent"),
                               "metrics": card.get("metrics") or {}, "card": card}, status)
        return self.get(card["adapter_id"])

    def register_adapter(self, adapter_dir: str | Path, status: str = "candidate") -> ModelEntry:
        """Register an adapter folder that has a ``flywheel_model.json``."""
        from ._core import load_card

        return self.register(load_card(adapter_dir), status=status)

    def set_status(self, model_id: str, status: str, reason: str = "") -> ModelEntry:
        """Move an adapter to ``status``; promoting retires the previously promoted adapter of the same base."""
        _check_status(status)
        entry = self.get(model_id)
        self._db.set_status(model_id, status, reason, retire_promoted_of=entry.base_model, retire=status == "promoted")
        return self.get(model_id)

    def record_decision(self, model_id: str, decision: Any, apply_status: bool = True) -> ModelEntry:
        """Store a gate decision with the adapter's lineage; by default promote or reject it."""
        data = decision.to_dict() if hasattr(decision, "to_dict") else dict(decision)
        promote = bool(data.get("promote"))
        lineage = [e.to_dict() for e in self.lineage(model_id)]
        self._db.add_decision(model_id, promote, data, lineage)
        if apply_status:
            return self.set_status(model_id, "promoted" if promote else "rejected", "; ".join(data.get("reasons", []))[:2000])
        return self.get(model_id)

    def log_event(self, model_id: str, kind: str, data: dict[str, Any]) -> None:
        """Append a free-form event (e.g. a shadow-scoring summary) to an adapter's history."""
        self._db.add_event(model_id, kind, data)

    # -- reads --------------------------------------------------------------------------------
    def get(self, model_id: str) -> ModelEntry:
        """The entry of ``model_id``; ``UnknownModelError`` (a ``KeyError``) if unknown."""
        row = self._db.model(model_id)
        if row is None:
            raise UnknownModelError(f"no model {model_id!r} in {self.db_path}")
        return ModelEntry(**row)

    def list(self, status: str | None = None, base_model: str | None = None) -> list[ModelEntry]:
        """Entries, newest first, optionally filtered by status / base model."""
        return [ModelEntry(**row) for row in self._db.models(status=status, base_model=base_model)]

    def promoted(self, base_model: str | None = None) -> ModelEntry | None:
        """The currently promoted adapter (of ``base_model`` when given)."""
        found = self.list(status="promoted", base_model=base_model)
        return found[0] if found else None

    def lineage(self, model_id: str) -> list[ModelEntry]:
        """The adapter and its ancestors via ``parent`` (nearest first); stops at unknown parents or cycles."""
        chain: list[ModelEntry] = []
        seen: set[str] = set()
        current: str | None = model_id
        while current and current not in seen:
            seen.add(current)
            try:
                entry = self.get(current)
            except KeyError:
                break
            chain.append(entry)
            current = entry.parent
        return chain

    def decisions(self, model_id: str | None = None) -> list[dict[str, Any]]:
        """Gate decisions (newest first) with the lineage recorded at decision time."""
        return self._db.decisions(model_id)

    def events(self, model_id: str) -> list[dict[str, Any]]:
        """The adapter's history (registered, status changes, shadow summaries), oldest first."""
        return self._db.events(model_id)


def list_models(registry_dir: str | Path | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Rows for ``flywheel models``: id, status, method, base model, dataset version, parent, key metrics."""
    return [e.to_dict() for e in Registry(registry_dir).list(status=status)]


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; expected one of {STATUSES}")
