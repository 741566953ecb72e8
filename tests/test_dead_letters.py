"""Dead letters: a record the worker gives up on is kept redacted (or as ids only), in a 0600
file of bounded size, and leaves with its user on erasure; the rest of the queue goes on."""

from __future__ import annotations

import contextlib
import json
import stat
from pathlib import Path
from typing import Any, Callable, Iterator

from flywheel_middleware import Flywheel
from flywheel_middleware.dead_letters import DeadLetters, mentions
from helpers import turn

SECRET_EMAIL = "jane.poison@example.com"


class _PoisonedRedactor:
    """The real redactor, except that it breaks on one record (as a redactor bug would)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def redact_value(self, value: Any, conversation: str | None = None) -> Any:
        if "POISON" in json.dumps(value, default=str):
            raise ValueError(f"cannot redact {json.dumps(value, default=str)[:200]}")
        return self.real.redact_value(value, conversation=conversation)


def test_a_poison_record_is_dead_lettered_redacted_0600_and_the_rest_is_stored(store_path: Path, embedder) -> None:
    with Flywheel(store_path, embedder=embedder, worker_mode="thread", flush_interval_s=0.05) as fw:
        fw._ingestion.owner.worker._redactor = _PoisonedRedactor(fw.make_redactor())  # a redactor bug, for one record
        good = [fw.record(turn(f"ordinary question {i}", user_id="u1")) for i in range(5)]
        bad = fw.record(turn(f"POISON mail {SECRET_EMAIL}", user_id="u-poison"))
        after = [fw.record(turn(f"later question {i}", user_id="u1")) for i in range(5)]
        assert fw.flush(120)
        assert all(fw.get(i) is not None for i in good + after) and fw.get(bad) is None
        assert fw.stats()["counters"]["dead_lettered"] == 1
        path = store_path / "queue" / "dead-letter.jsonl"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        assert SECRET_EMAIL not in text and "POISON" not in text
        (entry,) = [json.loads(line) for line in text.splitlines()]
        assert entry["id"] == bad and entry["data"] is None and "ids only" in entry["redaction"]
        assert entry["error"].startswith("ValueError") and mentions(entry, "u-poison")
        report = fw.forget("u-poison")
        assert report.dead_letters_removed == 1 and path.read_text() == ""


def test_a_dead_letter_keeps_the_record_redacted_when_the_redactor_works(tmp_path: Path) -> None:
    class Masking:
        def redact_value(self, value: Any, conversation: str | None = None) -> Any:
            return json.loads(json.dumps(value).replace(SECRET_EMAIL, "<EMAIL>"))

    letters = DeadLetters(tmp_path)
    data = turn(f"mail {SECRET_EMAIL}", user_id="u7").to_dict()
    entry = letters.add("i", data, RuntimeError(f"boom near {SECRET_EMAIL}"), segment="seg-1", offset=10, redactor=Masking())
    assert entry["redaction"] == "ok" and entry["data"]["input"] == "mail <EMAIL>"
    assert SECRET_EMAIL not in (tmp_path / "dead-letter.jsonl").read_text()
    assert entry["error"] == "RuntimeError: boom near <EMAIL>"


def test_the_dead_letter_file_is_bounded_keeping_the_newest(tmp_path: Path) -> None:
    letters = DeadLetters(tmp_path, max_bytes=4000)
    for i in range(60):
        letters.add("i", {"id": f"id-{i}", "input": "x"}, RuntimeError("boom"), segment="s", offset=i)
    assert (tmp_path / "dead-letter.jsonl").stat().st_size <= 4000
    ids = [e["id"] for e in letters.entries()]
    assert ids[-1] == "id-59" and letters.dropped > 0 and len(ids) + letters.dropped == 60


def test_a_dead_letter_file_of_an_older_version_is_rewritten_without_raw_text(tmp_path: Path) -> None:
    path = tmp_path / "dead-letter.jsonl"
    path.write_text(json.dumps({"kind": "i", "data": {"id": "old-1", "user_id": "u9", "input": f"raw {SECRET_EMAIL}"},
                                "error": f"ValueError('{SECRET_EMAIL}')"}) + "\n")
    path.chmod(0o644)
    assert DeadLetters(tmp_path).upgrade_legacy() == 1
    assert SECRET_EMAIL not in path.read_text() and stat.S_IMODE(path.stat().st_mode) == 0o600
    (entry,) = DeadLetters(tmp_path).entries()
    assert entry["id"] == "old-1" and mentions(entry, "u9")


class _BrokenRedactor:
    """A redactor that fails on every text, until it is repaired."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.broken = True

    def redact_value(self, value: Any, conversation: str | None = None) -> Any:
        if self.broken:
            raise RuntimeError("the NER model is gone")
        return self.real.redact_value(value, conversation=conversation)


def test_a_broken_redactor_dead_letters_nothing_and_the_records_wait(store_path: Path, embedder) -> None:
    with Flywheel(store_path, embedder=embedder, worker_mode="thread", flush_interval_s=0.05, max_backoff_s=0.5) as fw:
        broken = _BrokenRedactor(fw.make_redactor())
        fw._ingestion.owner.worker._redactor = broken
        ids = [fw.record(turn(f"question {i}")) for i in range(6)]
        assert not fw.flush(3)
        assert fw.stats()["counters"].get("dead_lettered", 0) == 0
        assert "redactor fails on any text" in fw.stats()["worker_last_error"]
        broken.broken = False
        assert fw.flush(60)
        assert all(fw.get(i) is not None for i in ids)


@contextlib.contextmanager
def _trickle(store_path: Path, embedder, wrap: Callable[[Any], Any]) -> Iterator[tuple[Flywheel, Any]]:
    """A flywheel that ingests one record per batch (as when turns trickle in), its redactor wrapped."""
    with Flywheel(store_path, embedder=embedder, worker_mode="thread", flush_interval_s=0.05, max_backoff_s=0.5, batch_size=1) as fw:
        broken = wrap(fw.make_redactor())
        fw._ingestion.owner.worker._redactor = broken
        yield fw, broken


def test_at_low_traffic_a_broken_redactor_dead_letters_nothing(store_path: Path, embedder) -> None:
    # each batch of one is judged like a split's single record: the canary fails too, nothing is blamed
    with _trickle(store_path, embedder, _BrokenRedactor) as (fw, broken):
        ids = [fw.record(turn(f"question {i}")) for i in range(3)]
        assert not fw.flush(2)
        assert fw.stats()["counters"].get("dead_lettered", 0) == 0
        broken.broken = False
        assert fw.flush(60) and all(fw.get(i) is not None for i in ids)


class _FailsOnQuestions:
    """A component bug that spares the canary: every real turn fails the same way."""

    def __init__(self, real: Any) -> None:
        self.real, self.broken = real, True

    def redact_value(self, value: Any, conversation: str | None = None) -> Any:
        if self.broken and "question" in json.dumps(value, default=str):
            raise RuntimeError("tokenizer table missing")
        return self.real.redact_value(value, conversation=conversation)


def test_records_failing_alike_batch_after_batch_wait_instead_of_being_dead_lettered(store_path: Path, embedder) -> None:
    with _trickle(store_path, embedder, _FailsOnQuestions) as (fw, broken):
        ids = [fw.record(turn(f"question {i}")) for i in range(8)]
        assert not fw.flush(3)
        lettered = fw.stats()["counters"].get("dead_lettered", 0)
        assert lettered <= 3 and "failed alike" in fw.stats()["worker_last_error"]
        broken.broken = False
        assert fw.flush(60)
        assert sum(fw.get(i) is not None for i in ids) == len(ids) - lettered
