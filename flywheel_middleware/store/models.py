"""SQLite tables of the local model registry (``trainers.registry.Registry`` is the API over them).

Adapters, their gate decisions and their history live in ``registry.sqlite`` in the registry
folder, apart from the trajectory store: several processes (a training job, ``flywheel models``,
a shadow scorer) touch it at once, and SQLite gives them atomic updates without a server. Rows
come back as plain dicts with the JSON columns decoded.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

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
_MODEL_COLUMNS = ("id", "method", "path", "base_model", "dataset_version", "parent", "status", "created_at", "updated_at",
                  "metrics", "card")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


class ModelRegistryDB:
    """One ``registry.sqlite`` file; a short connection per call (several processes share it)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with self._transaction() as con:
            con.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30)
        con.row_factory = sqlite3.Row
        return con

    def _transaction(self) -> _Transaction:
        return _Transaction(self._connect())

    @staticmethod
    def _event(con: sqlite3.Connection, model_id: str, kind: str, data: dict[str, Any]) -> None:
        con.execute("INSERT INTO events (model_id, at, kind, data) VALUES (?,?,?,?)", (model_id, time.time(), kind, _dumps(data)))

    # -- writes ---------------------------------------------------------------------------------
    def upsert_model(self, model: dict[str, Any], status: str) -> None:
        """Insert or refresh a model row (keeping an existing row's status and created_at) and log "registered"."""
        now = time.time()
        with self._transaction() as con:
            existing = con.execute("SELECT status, created_at FROM models WHERE id=?", (model["id"],)).fetchone()
            con.execute(
                "INSERT OR REPLACE INTO models (id, method, path, base_model, dataset_version, parent, status,"
                " created_at, updated_at, metrics, card) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (model["id"], model.get("method"), model.get("path"), model.get("base_model"), model.get("dataset_version"),
                 model.get("parent"), existing["status"] if existing else status, existing["created_at"] if existing else now,
                 now, _dumps(model.get("metrics") or {}), _dumps(model.get("card") or {})),
            )
            self._event(con, model["id"], "registered", {"status": status})

    def set_status(self, model_id: str, status: str, reason: str, *, retire_promoted_of: str | None = None,
                   retire: bool = False) -> None:
        """Set a model's status and log it; with ``retire``, first retire the other promoted models of
        base ``retire_promoted_of`` (one promoted adapter per base model)."""
        now = time.time()
        with self._transaction() as con:
            if retire:
                for row in con.execute("SELECT id FROM models WHERE status='promoted' AND base_model IS ? AND id<>?",
                                       (retire_promoted_of, model_id)).fetchall():
                    con.execute("UPDATE models SET status='retired', updated_at=? WHERE id=?", (now, row["id"]))
                    self._event(con, row["id"], "status", {"status": "retired", "reason": f"superseded by {model_id}"})
            con.execute("UPDATE models SET status=?, updated_at=? WHERE id=?", (status, now, model_id))
            self._event(con, model_id, "status", {"status": status, "reason": reason})

    def add_decision(self, model_id: str, promote: bool, decision: dict[str, Any], lineage: list[dict[str, Any]]) -> None:
        with self._transaction() as con:
            con.execute("INSERT INTO decisions (model_id, promote, decided_at, decision, lineage) VALUES (?,?,?,?,?)",
                        (model_id, int(promote), time.time(), _dumps(decision), _dumps(lineage)))

    def add_event(self, model_id: str, kind: str, data: dict[str, Any]) -> None:
        with self._transaction() as con:
            self._event(con, model_id, kind, data)

    # -- reads ----------------------------------------------------------------------------------
    def model(self, model_id: str) -> dict[str, Any] | None:
        with closing(self._connect()) as con:
            row = con.execute("SELECT * FROM models WHERE id=?", (model_id,)).fetchone()
        return None if row is None else _model(row)

    def models(self, status: str | None = None, base_model: str | None = None) -> list[dict[str, Any]]:
        """Model rows, newest first, optionally filtered."""
        sql, args = "SELECT * FROM models WHERE 1=1", []
        if status:
            sql += " AND status=?"
            args.append(status)
        if base_model:
            sql += " AND base_model=?"
            args.append(base_model)
        with closing(self._connect()) as con:
            rows = con.execute(sql + " ORDER BY created_at DESC", args).fetchall()
        return [_model(r) for r in rows]

    def decisions(self, model_id: str | None = None) -> list[dict[str, Any]]:
        """Decisions, newest first."""
        sql = "SELECT * FROM decisions" + (" WHERE model_id=?" if model_id else "") + " ORDER BY seq DESC"
        with closing(self._connect()) as con:
            rows = con.execute(sql, (model_id,) if model_id else ()).fetchall()
        return [{"model_id": r["model_id"], "promote": bool(r["promote"]), "decided_at": r["decided_at"],
                 "decision": json.loads(r["decision"]), "lineage": json.loads(r["lineage"])} for r in rows]

    def events(self, model_id: str) -> list[dict[str, Any]]:
        """A model's events, oldest first."""
        with closing(self._connect()) as con:
            rows = con.execute("SELECT * FROM events WHERE model_id=? ORDER BY seq", (model_id,)).fetchall()
        return [{"at": r["at"], "kind": r["kind"], "data": json.loads(r["data"])} for r in rows]


class _Transaction:
    """``with``: a connection that commits on success, rolls back on error, and closes."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def __enter__(self) -> sqlite3.Connection:
        return self.con

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if exc_type is None:
                self.con.commit()
            else:
                self.con.rollback()
        finally:
            self.con.close()


def _model(row: sqlite3.Row) -> dict[str, Any]:
    out = {name: row[name] for name in _MODEL_COLUMNS}
    out["metrics"] = json.loads(row["metrics"] or "{}")
    out["card"] = json.loads(row["card"] or "{}")
    return out
