"""A local model registry: which adapters exist, what made them, and what the gate said.

Why SQLite: several processes (a training job, ``flywheel models``, a shadow scorer) touch the
registry at once; SQLite gives atomic updates without a server. One file, ``registry.sqlite``, in
the registry folder (default ``<flywheel path>/models``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flywheel_middleware.errors import UnknownModelError

STATUSES: tuple[str, ...] = ("candidate", "shadow", "promoted", "rejected", "retired")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY,
    method TEXT,
    path TEXT,
    base_model TEXT,
    dataset_version TEXT,
    parent TEXT,
    status TEXT NOT NULL DEFAULT 'candidate',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    card TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id TEXT NOT NULL,
    promote INTEGER NOT NULL,
    decided_at REAL NOT NULL,
    decision TEXT NOT NULL,
    lineage TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
"""


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
        with closing(self._connect()) as con, con:
            con.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.db_path, timeout=30)
        con.row_factory = sqlite3.Row
        return con

    # -- writes -------------------------------------------------------------------------------
    def register(self, card: dict[str, Any], status: str = "candidate") -> ModelEntry:
        """Add (or refresh) an adapter from its model card (``flywheel_model.json`` contents)."""
        _check_status(status)
        now = time.time()
        base = card.get("base_model")
        base_name = base.get("path") or base.get("name_or_path") if isinstance(base, dict) else base
        ds = card.get("dataset") or {}
        with closing(self._connect()) as con, con:
            existing = con.execute("SELECT status, created_at FROM models WHERE id=?", (card["adapter_id"],)).fetchone()
            con.execute(
                "INSERT OR REPLACE INTO models (id, method, path, base_model, dataset_version, parent, status,"
                " created_at, updated_at, metrics, card) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (card["adapter_id"], card.get("method"), card.get("adapter_path"), base_name, ds.get("version"),
                 card.get("parent"), existing["status"] if existing else status,
                 existing["created_at"] if existing else now, now,
                 json.dumps(card.get("metrics") or {}, default=str), json.dumps(card, default=str)),
            )
            self._event(con, card["adapter_id"], "registered", {"status": status})
        return self.get(card["adapter_id"])

    def register_adapter(self, adapter_dir: str | Path, status: str = "candidate") -> ModelEntry:
        """Register an adapter folder that has a ``flywheel_model.json``."""
        from ._core import load_card

        return self.register(load_card(adapter_dir), status=status)

    def set_status(self, model_id: str, status: str, reason: str = "") -> ModelEntry:
        """Move an adapter to ``status``; promoting retires the previously promoted adapter of the same base."""
        _check_status(status)
        entry = self.get(model_id)
        now = time.time()
        with closing(self._connect()) as con, con:
            if status == "promoted":
                for row in con.execute("SELECT id FROM models WHERE status='promoted' AND base_model IS ? AND id<>?",
                                       (entry.base_model, model_id)).fetchall():
                    con.execute("UPDATE models SET status='retired', updated_at=? WHERE id=?", (now, row["id"]))
                    self._event(con, row["id"], "status", {"status": "retired", "reason": f"superseded by {model_id}"})
            con.execute("UPDATE models SET status=?, updated_at=? WHERE id=?", (status, now, model_id))
            self._event(con, model_id, "status", {"status": status, "reason": reason})
        return self.get(model_id)

    def record_decision(self, model_id: str, decision: Any, apply_status: bool = True) -> ModelEntry:
        """Store a gate decision with the adapter's lineage; by default promote or reject it."""
        data = decision.to_dict() if hasattr(decision, "to_dict") else dict(decision)
        promote = bool(data.get("promote"))
        lineage = [e.to_dict() for e in self.lineage(model_id)]
        with closing(self._connect()) as con, con:
            con.execute("INSERT INTO decisions (model_id, promote, decided_at, decision, lineage) VALUES (?,?,?,?,?)",
                        (model_id, int(promote), time.time(), json.dumps(data, default=str), json.dumps(lineage, default=str)))
        if apply_status:
            return self.set_status(model_id, "promoted" if promote else "rejected", "; ".join(data.get("reasons", []))[:2000])
        return self.get(model_id)

    def log_event(self, model_id: str, kind: str, data: dict[str, Any]) -> None:
        """Append a free-form event (e.g. a shadow-scoring summary) to an adapter's history."""
        with closing(self._connect()) as con, con:
            self._event(con, model_id, kind, data)

    @staticmethod
    def _event(con: sqlite3.Connection, model_id: str, kind: str, data: dict[str, Any]) -> None:
        con.execute("INSERT INTO events (model_id, at, kind, data) VALUES (?,?,?,?)",
                    (model_id, time.time(), kind, json.dumps(data, default=str)))

    # -- reads --------------------------------------------------------------------------------
    def get(self, model_id: str) -> ModelEntry:
        """The entry of ``model_id``; ``UnknownModelError`` (a ``KeyError``) if unknown."""
        with closing(self._connect()) as con:
            row = con.execute("SELECT * FROM models WHERE id=?", (model_id,)).fetchone()
        if row is None:
            raise UnknownModelError(f"no model {model_id!r} in {self.db_path}")
        return _entry(row)

    def list(self, status: str | None = None, base_model: str | None = None) -> list[ModelEntry]:
        """Entries, newest first, optionally filtered by status / base model."""
        sql, args = "SELECT * FROM models WHERE 1=1", []
        if status:
            sql += " AND status=?"
            args.append(status)
        if base_model:
            sql += " AND base_model=?"
            args.append(base_model)
        with closing(self._connect()) as con:
            rows = con.execute(sql + " ORDER BY created_at DESC", args).fetchall()
        return [_entry(r) for r in rows]

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
        sql = "SELECT * FROM decisions" + (" WHERE model_id=?" if model_id else "") + " ORDER BY seq DESC"
        with closing(self._connect()) as con:
            rows = con.execute(sql, (model_id,) if model_id else ()).fetchall()
        return [{"model_id": r["model_id"], "promote": bool(r["promote"]), "decided_at": r["decided_at"],
                 "decision": json.loads(r["decision"]), "lineage": json.loads(r["lineage"])} for r in rows]

    def events(self, model_id: str) -> list[dict[str, Any]]:
        """The adapter's history (registered, status changes, shadow summaries), oldest first."""
        with closing(self._connect()) as con:
            rows = con.execute("SELECT * FROM events WHERE model_id=? ORDER BY seq", (model_id,)).fetchall()
        return [{"at": r["at"], "kind": r["kind"], "data": json.loads(r["data"])} for r in rows]


def list_models(registry_dir: str | Path | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Rows for ``flywheel models``: id, status, method, base model, dataset version, parent, key metrics."""
    return [e.to_dict() for e in Registry(registry_dir).list(status=status)]


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; expected one of {STATUSES}")


def _entry(row: sqlite3.Row) -> ModelEntry:
    return ModelEntry(
        id=row["id"], method=row["method"], path=row["path"], base_model=row["base_model"],
        dataset_version=row["dataset_version"], parent=row["parent"], status=row["status"],
        created_at=row["created_at"], updated_at=row["updated_at"],
        metrics=json.loads(row["metrics"] or "{}"), card=json.loads(row["card"] or "{}"),
    )
