"""The dead-letter file: records the worker gave up on, kept so a person can see what failed.

Why this shape: a record lands here because ingesting it failed again and again, possibly inside
the redactor, so its raw text must not be written out as it came. Each entry keeps the record
*redacted* (by the worker's redactor) when that works, and only its ids otherwise; the error's
message goes through the redactor too (exception texts quote their input). User ids are kept as
the same SHA-256 hashes the consent tables use, so ``forget`` finds and removes a user's entries.
The file is created with mode 0600 and bounded (``max_bytes``): when full, the oldest entries go.
A file written by an older version (raw records) is rewritten as ids only on first use.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

_log = logging.getLogger("flywheel_middleware")
FILE_NAME = "dead-letter.jsonl"
VERSION = 2
_ERROR_CHARS = 300


def _user_hash(user_id: Any) -> str | None:
    if not user_id:
        return None
    from .consent import user_hash

    return user_hash(str(user_id))


class DeadLetters:
    """Appends redacted dead letters to ``<queue>/dead-letter.jsonl`` (0600, at most ``max_bytes``)."""

    def __init__(self, directory: Path, *, max_bytes: int = 4 << 20, max_entry_bytes: int = 256 << 10) -> None:
        self.path = Path(directory) / FILE_NAME
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.dropped = 0  # entries removed to stay under max_bytes
        self._lock = threading.Lock()

    # -- writing ----------------------------------------------------------------------------------
    def add(self, kind: str, data: dict[str, Any], error: BaseException, *, segment: str, offset: int,
            redactor: Any = None) -> dict[str, Any]:
        """Write one entry for a queued record that could not be ingested; returns the entry."""
        entry: dict[str, Any] = {
            "v": VERSION, "at": time.time(), "kind": kind, "segment": segment, "offset": offset,
            "id": data.get("id"), "interaction_id": data.get("interaction_id") if kind == "s" else data.get("id"),
            "user_hash": _user_hash(data.get("user_id")), "actor_hash": _user_hash(data.get("actor")),
            "error": _redacted_error(error, redactor),
        }
        entry["data"], entry["redaction"] = _redacted_record(kind, data, redactor)
        line = json.dumps(entry, ensure_ascii=False, default=repr)
        if len(line.encode("utf-8")) > self.max_entry_bytes:
            entry["data"], entry["redaction"] = None, "too big (ids only)"
            line = json.dumps(entry, ensure_ascii=False, default=repr)
        with self._lock:
            self._make_room(len(line) + 1)
            self._append(line + "\n")
        return entry

    def _append(self, text: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)  # a file an older version created 0644
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)

    def _make_room(self, needed: int) -> None:
        """Drop the oldest entries until ``needed`` more bytes fit (down to half the bound, so
        this rewrite is rare)."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size + needed <= self.max_bytes:
            return
        lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        budget, keep = self.max_bytes // 2 - needed, []
        for line in reversed(lines):
            budget -= len(line.encode("utf-8"))
            if budget < 0:
                break
            keep.append(line)
        self.dropped += len(lines) - len(keep)
        self._rewrite("".join(reversed(keep)))

    def _rewrite(self, text: str) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    # -- reading and erasure ------------------------------------------------------------------------
    def _parsed(self) -> list[tuple[str, Any]]:
        """(line, its JSON or None when unreadable) for every line of the file."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        out: list[tuple[str, Any]] = []
        for line in text.splitlines():
            try:
                out.append((line, json.loads(line)))
            except ValueError:
                out.append((line, None))
        return out

    def entries(self) -> list[dict[str, Any]]:
        return [entry for _, entry in self._parsed() if isinstance(entry, dict)]

    def scrub(self, matches: Callable[[dict[str, Any]], bool]) -> int:
        """Rewrite the file without the entries ``matches`` selects; returns how many went.
        An unreadable line goes too: it cannot be shown to be someone else's."""
        with self._lock:
            if not self.path.exists():
                return 0
            lines = self._parsed()
            keep = [line for line, entry in lines if isinstance(entry, dict) and not matches(entry)]
            self._rewrite("".join(k + "\n" for k in keep))
            return len(lines) - len(keep)

    def upgrade_legacy(self) -> int:
        """Rewrite entries of older versions (the raw record) as ids only; returns how many."""
        with self._lock:
            if not self.path.exists():
                return 0
            lines, changed = [], 0
            for line, entry in self._parsed():
                if isinstance(entry, dict) and entry.get("v") == VERSION:
                    lines.append(line)
                    continue
                changed += 1
                if not isinstance(entry, dict):
                    continue
                data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
                kind = str(entry.get("kind", "?"))
                lines.append(json.dumps({
                    "v": VERSION, "at": None, "kind": kind, "segment": None, "offset": None, "id": data.get("id"),
                    "interaction_id": data.get("interaction_id") if kind == "s" else data.get("id"),
                    "user_hash": _user_hash(data.get("user_id")), "actor_hash": _user_hash(data.get("actor")),
                    "error": "written by an older version; its raw record was removed", "data": None, "redaction": "removed",
                }))
            if changed:
                self._rewrite("".join(k + "\n" for k in lines))
            else:
                os.chmod(self.path, 0o600)
            return changed


def mentions(entry: dict[str, Any], user_id: str) -> bool:
    """Whether a dead-letter entry belongs to ``user_id`` (as the turn's user or the signal's actor)."""
    h = _user_hash(user_id)
    return entry.get("user_hash") == h or entry.get("actor_hash") == h


def _redacted_error(error: BaseException, redactor: Any) -> str:
    text = str(error)[:_ERROR_CHARS * 4]
    if redactor is not None and text:
        try:
            return f"{type(error).__name__}: {str(redactor.redact_value(text))[:_ERROR_CHARS]}"
        except Exception:  # noqa: BLE001 - the redactor may be what failed
            pass
    return f"{type(error).__name__} (message withheld: it could not be redacted)"


def _redacted_record(kind: str, data: dict[str, Any], redactor: Any) -> tuple[dict[str, Any] | None, str]:
    if redactor is None:
        return None, "no redactor (ids only)"
    try:
        from .privacy.records import redact_interaction, redact_signal
        from .records import Interaction, Signal

        if kind == "i":
            return redact_interaction(Interaction.from_dict(data), redactor).to_dict(), "ok"
        if kind == "s":
            return redact_signal(Signal.from_dict(data), redactor, None).to_dict(), "ok"
        return None, f"unknown kind {kind!r} (ids only)"
    except Exception as exc:  # noqa: BLE001 - this record may be exactly what breaks the redactor
        _log.debug("flywheel: dead letter kept as ids only: redaction failed: %s", type(exc).__name__)
        return None, f"redaction failed ({type(exc).__name__}; ids only)"
