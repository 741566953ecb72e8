"""Fault probes for issue 16, as an operator would run them: kill -9, a full disk, poison records,
erasure and close, the HTTP API under bad bodies, and how fast each fault shows in stats().

    flock /work/bench.lock .venv/bin/python benchmarks/probe_faults.py            # every probe
    .venv/bin/python benchmarks/probe_faults.py kill poison --n 600                # some of them

Each probe prints one JSON line; the end prints the markdown table of benchmarks/README.md
("Fault probes"). The full-disk probe mounts a small tmpfs when run as root, else it limits the
file size of the writing process (RLIMIT_FSIZE), which gives the same short writes.
"""

from __future__ import annotations

import _common  # noqa: F401  (threads, offline)

import argparse
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from flywheel_middleware import Flywheel, Interaction, StoreError  # noqa: E402
from helpers import traces  # noqa: E402

PII = ("maria.probe@example.com", "4111 1111 1111 1111", "212-555-0182")
RESULTS: list[dict[str, Any]] = []


def report(probe: str, **numbers: Any) -> dict[str, Any]:
    row = {"probe": probe, **numbers}
    RESULTS.append(row)
    print(json.dumps(row), flush=True)
    return row


def until(condition: Callable[[], Any], timeout: float, step: float = 0.05) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if condition():
            return time.monotonic() - t0
        time.sleep(step)
    return None


def turn(i: int, user: str = "u1", text: str = "") -> Interaction:
    return Interaction(input=f"question {i} about order {i * 37} {text}", output=f"answer {i}", user_id=user, session_id=f"s{i % 50}")


@contextlib.contextmanager
def folder(name: str) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix=f"probe-{name}-"))
    try:
        yield root / "store"
    finally:
        shutil.rmtree(root, ignore_errors=True)


_EMBEDDER: Any = None


def embedder() -> Any:
    global _EMBEDDER
    if _EMBEDDER is None:
        from flywheel_middleware.embedding import SentenceTransformerEmbedder

        _EMBEDDER = SentenceTransformerEmbedder()
        _EMBEDDER.embed(["warm up"])
    return _EMBEDDER


def stored_ids(path: Path) -> set[str]:
    conn = sqlite3.connect(path / "store.sqlite")
    try:
        return {r[0] for r in conn.execute("SELECT id FROM interactions")}
    finally:
        conn.close()


def count_stored(path: Path) -> int:
    try:
        conn = sqlite3.connect(path / "store.sqlite", timeout=1)
        try:
            return conn.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


# -- 1. kill -9 of the app, the worker or both, mid-batch ----------------------------------------------
_APP = textwrap.dedent(
    """
    import json, sys, time
    from flywheel_middleware import Flywheel, Interaction
    path, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    fw = Flywheel(path, batch_size=32)
    ids = []
    for i in range(n):
        iid = fw.record(Interaction(input=f"question {i} about order {i * 37}", output=f"answer {i}", user_id=f"u{i % 9}",
                                    session_id=f"s{i % 50}"))
        if iid:
            ids.append(iid)
            fw.feedback(iid, "thumbs_up", actor=f"rater-{i}")
    with open(out, "w") as f:
        json.dump(ids, f)
    print(fw.stats()["worker"].split()[1], flush=True)
    sys.stdin.readline()  # the probe says when to close (or kills us first)
    fw.close(timeout=300)
    """
)


def probe_kill(n: int) -> None:
    for variant in ("app", "worker", "both"):
        with folder(f"kill-{variant}") as path:
            ids_file = path.parent / "ids.json"
            app = subprocess.Popen([sys.executable, "-c", _APP, str(path), str(n), str(ids_file)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
            worker = int(app.stdout.readline())
            accepted = set(json.loads(ids_file.read_text()))
            until(lambda: count_stored(path) >= min(64, n // 4), 600)  # mid-ingest
            at_kill = count_stored(path)
            if variant in ("app", "both"):
                app.kill()
            if variant in ("worker", "both"):
                os.kill(worker, signal.SIGKILL)
            if variant == "worker":
                app.stdin.write("close\n")
                app.stdin.flush()
                app.wait(600)
            else:
                app.wait(60)
                until(lambda: not _alive(worker), 600)
            t0 = time.monotonic()
            with Flywheel(path, embedder=embedder(), worker_mode="thread") as fw:
                fw.flush(600)
                stored = {it.id for it in fw.interactions(limit=None)}
                rewards = fw.store.rewards_for(list(accepted))
                index = len(fw.index)
            report("kill -9", variant=variant, accepted=len(accepted), stored_at_kill=at_kill, stored=len(stored & accepted),
                   lost=len(accepted - stored), index=index, rewards_with_signal=sum(r.n_signals >= 1 for r in rewards.values()),
                   recovery_s=round(time.monotonic() - t0, 1))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of ours counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


# -- 2. a full disk, then space again -------------------------------------------------------------------
@contextlib.contextmanager
def small_disk(mb: int) -> Iterator[Path]:
    mount = Path(tempfile.mkdtemp(prefix="probe-fulldisk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mb}m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        shutil.rmtree(mount, ignore_errors=True)


def _fill(mount: Path, leave_bytes: int) -> Path:
    ballast = mount / "ballast.bin"
    with open(ballast, "wb") as handle:
        chunk = b"\0" * (1 << 20)
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError:
            pass
    size = ballast.stat().st_size
    os.truncate(ballast, max(0, size - leave_bytes))
    return ballast


def probe_full_disk(n: int) -> None:
    if os.geteuid() != 0:
        report("full disk", skipped="needs root for a tmpfs (tests/test_queue_faults.py covers RLIMIT_FSIZE)")
        return
    with small_disk(64) as mount:
        path = mount / "store"
        with Flywheel(path, batch_size=32) as fw:  # the default: a worker process
            accepted: list[str] = []
            first = [fw.record(turn(i, text="x" * 4000)) for i in range(20)]
            accepted += [i for i in first if i]
            fw.flush(300)
            ballast = _fill(mount, leave_bytes=400_000)
            t_full = time.monotonic()
            rejected = 0
            for i in range(20, 20 + n):
                iid = fw.record(turn(i, text="x" * 4000))
                if iid:
                    accepted.append(iid)
                else:
                    rejected += 1
            writer_seen = fw.stats()["counters"].get("rejected_write_error", 0)
            worker_seen = until(lambda: "full" in (fw.stats()["worker_last_error"] or "").lower(), 30)
            time.sleep(3)
            ballast.unlink()  # space again
            t_refill = time.monotonic()
            for i in range(20 + n, 20 + n + n // 2):
                iid = fw.record(turn(i, text="x" * 4000))
                if iid:
                    accepted.append(iid)
            ok = fw.flush(600)
            stats = fw.stats()
            stored = {it.id for it in fw.interactions(limit=None)}
            rewards = fw.store.rewards_for(accepted)
        report("full disk", accepted=len(accepted), rejected_while_full=rejected, writer_fault_counted=writer_seen,
               worker_fault_seen_s=None if worker_seen is None else round(worker_seen, 1), flushed=ok,
               lost=len(set(accepted) - stored), rewards=len(rewards), corrupt=stats["counters"].get("queue_corrupt_records", 0),
               dead_lettered=stats["counters"].get("dead_lettered", 0), full_s=round(t_refill - t_full, 1))


# -- 3. raw bytes after forget (from the CLI, the app running) and after close -------------------------
def probe_erasure() -> None:
    with folder("erasure") as path:
        user, session = "probe-erased-user", "probe-erased-session"
        with Flywheel(path) as app:
            app.record(Interaction(input=f"mail {PII[0]}, card {PII[1]}, phone {PII[2]}", output="ok", user_id=user, session_id=session))
            app.record(Interaction(input="opening hours?", output="9-5", user_id="other"))
            app.flush(300)
            before = traces(path, user, session, *PII)
            env = {k: v for k, v in os.environ.items() if not k.startswith("FLYWHEEL_")}
            t0 = time.monotonic()
            subprocess.run([sys.executable, "-m", "flywheel_middleware.cli", "forget", "--user", user, "--path", str(path), "--json"],
                           check=True, capture_output=True, env=env, timeout=600)
            forget_s = time.monotonic() - t0
            after_forget = traces(path, user, session, *PII)
            app.record(Interaction(input=f"later, mail {PII[0]}", output="ok", user_id="other"))
        after_close = traces(path, *PII)
        report("erasure", files_with_raw_before=len(before), files_with_raw_after_forget=len(after_forget),
               files_with_raw_after_close=len(after_close), forget_s=round(forget_s, 1), segments_left=len(list((path / "queue").glob("seg-*"))))


# -- 4. a poison record's cost ---------------------------------------------------------------------------
class _Poisoned:
    def __init__(self, real: Any) -> None:
        self.real = real
        self.fingerprint = getattr(real, "fingerprint", None)

    def redact_value(self, value: Any, conversation: str | None = None) -> Any:
        if "POISON" in json.dumps(value, default=str):
            raise ValueError("a redactor bug")
        return self.real.redact_value(value, conversation=conversation)


def _ingest_time(n: int, poison_at: int | None, surrogate: bool = False) -> tuple[float, dict[str, int]]:
    with folder("poison") as path:
        with Flywheel(path, embedder=embedder(), worker_mode="thread", flush_interval_s=0.05) as fw:
            fw._ingestion.owner.worker._redactor = _Poisoned(fw.make_redactor())
            fw.record(turn(-1))
            fw.flush(120)  # the redactor is loaded and warm
            fw._ingestion.owner.worker.pause.set()
            for i in range(n):
                text = ""
                if i == poison_at:
                    text = "I love it \ud83d" if surrogate else "POISON"
                fw.record(turn(i, text=text))
            t0 = time.monotonic()
            fw._ingestion.owner.worker.pause.clear()
            fw.flush(900)
            return time.monotonic() - t0, fw.stats()["counters"]


def probe_poison(n: int) -> None:
    clean, _ = _ingest_time(n, None)
    poisoned, counters = _ingest_time(n, n // 2)
    report("poison", records=n, clean_s=round(clean, 2), with_one_poison_s=round(poisoned, 2),
           extra_s=round(poisoned - clean, 2), dead_lettered=counters.get("dead_lettered", 0))
    clean40, _ = _ingest_time(41, None)
    surrogate, counters = _ingest_time(41, 40, surrogate=True)
    report("lone surrogate", records=41, clean_s=round(clean40, 2), with_surrogate_s=round(surrogate, 2),
           extra_s=round(surrogate - clean40, 2), dead_lettered=counters.get("dead_lettered", 0))


def _first_failure(exc: BaseException) -> str:
    """The first line that names what schemathesis found (a FailureGroup's first failure)."""
    inner = exc.exceptions[0] if isinstance(exc, BaseExceptionGroup) and exc.exceptions else exc
    text = " ".join(str(getattr(inner, "title", "") or inner).split())
    return f"{type(inner).__name__}: {text[:160]}"


def _body_is_valid(document: dict[str, Any], op: Any, body: Any) -> bool:
    """Whether the operation's whole request-body schema accepts ``body``. Schemathesis negates one
    branch of a ``oneOf`` at a time, so a body "mutated" from the thumbs-up branch (kind
    ``thumbs_down``) can be valid under another branch: accepting it is right, not a violation."""
    import jsonschema

    try:
        body_schema = document["paths"][op.path][op.method.lower()]["requestBody"]["content"]["application/json"]["schema"]
    except KeyError:
        return False
    return jsonschema.Draft202012Validator({**body_schema, "components": document.get("components", {})}).is_valid(body)


# -- 5. the HTTP API -----------------------------------------------------------------------------------
def probe_http(examples: int) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from starlette.testclient import TestClient

    from flywheel_middleware.serve import RateLimit, create_app

    statuses: dict[int, int] = {}
    failures: list[str] = []
    false_positives: list[str] = []  # "invalid" bodies that the whole schema accepts (see _body_is_valid)
    with folder("http") as path:
        with Flywheel(path, embedder=embedder(), worker_mode="thread") as fw:
            iid = fw.record(Interaction(input="reset my password?", output="settings", user_id="alice"))
            fw.flush(120)
            token = "admin-token-0123456789abcdef"
            app = create_app(fw, {"alice-token-0123456789abcdef": "alice"}, admin_tokens=[token], rate_limit=RateLimit(0, 0), pending_wait_s=0)
            schema = schemathesis.openapi.from_asgi("/openapi.json", app)
            document = app.openapi()
            for result in schema.get_all_operations():
                op = result.ok()
                for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                    fixed = {"path_parameters": {"interaction_id": iid}} if "{interaction_id}" in op.path else {}
                    if mode.is_negative and op.method.upper() != "POST" and fixed:
                        fixed = {}

                    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
                    @given(case=op.as_strategy(generation_mode=mode, **fixed))
                    def run(case: Any) -> None:
                        response = case.call(headers={"Authorization": f"Bearer {token}"})
                        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                        try:
                            excluded = [schemathesis.checks.positive_data_acceptance] if op.path.endswith("/preference") else []
                            case.validate_response(response, excluded_checks=excluded)
                        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - counted, the campaign goes on
                            what = _first_failure(exc)
                            if what.startswith("AcceptedNegativeData") and _body_is_valid(document, op, case.body):
                                false_positives.append(f"{op.label}: {case.body!r:.80}")
                            else:
                                failures.append(f"{op.label}: {what}")

                    try:
                        run()
                    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - e.g. nothing to negate
                        if "Unsatisfiable" not in type(exc).__name__:
                            failures.append(f"{op.label}: {type(exc).__name__}")
            bad_bodies = [b'{"kind": "comment", "value": "\\ud800"}', b'{"kind": "comment"}', b'{"kind": "rating", "value": NaN}',
                          b'{"kind": "rating", "value": Infinity}', b'{"kind": "rating", "value": 1e999}', b"\xff\xfe\x00",
                          b'{"chosen": "a", "rejected": "a"}']
            with TestClient(app, raise_server_exceptions=False) as client:
                bad = []
                for body in bad_bodies:
                    kind = "preference" if b"chosen" in body else "feedback"
                    r = client.post(f"/v1/interactions/{iid}/{kind}", content=body,
                                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                    bad.append(r.status_code)
    report("http", requests=sum(statuses.values()), status_5xx=sum(v for k, v in statuses.items() if k >= 500),
           statuses=dict(sorted(statuses.items())), contract_failures=len(failures), bad_bodies=bad,
           schemathesis_false_positives=len(false_positives), false_positive_examples=sorted(set(false_positives))[:3],
           failures=sorted(set(failures))[:5])


# -- 6. how fast each fault shows in stats() ----------------------------------------------------------
def probe_visibility() -> None:
    rows: dict[str, Any] = {}
    with folder("visible-process") as path:
        with Flywheel(path) as fw:  # a worker process
            fw.record(turn(0))
            fw.flush(300)
            pid = int(fw.stats()["worker"].split()[1])
            t0 = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            rows["worker process killed (SIGKILL)"] = until(lambda: "SIGKILL" in (fw.stats()["worker_last_error"] or ""), 30)
            fw.record(turn(-1))
            fw.flush(300)  # the restarted worker has ingested a turn: its models are loaded, the lock is what it meets next
            blocker = sqlite3.connect(path / "store.sqlite", isolation_level=None)
            blocker.execute("BEGIN EXCLUSIVE")
            fw.record(turn(1))
            rows["database locked by another process"] = until(lambda: "locked" in (fw.stats()["worker_last_error"] or ""), 30)
            blocker.execute("ROLLBACK")
            blocker.close()
            fw.flush(300)
    with folder("visible-thread") as path:
        class Broken:
            dim = 384

            def embed(self, texts: Any) -> Any:
                raise RuntimeError("model server down")

        with Flywheel(path, embedder=Broken(), embed_retries=1, flush_interval_s=0.05) as fw:
            fw.record(turn(0))
            rows["embedding model down"] = until(lambda: fw.stats()["counters"].get("embed_errors", 0) > 0, 30)
        with Flywheel(path, embedder=embedder(), worker_mode="thread", flush_interval_s=0.05) as fw:
            fw._ingestion.owner.worker._redactor = _Poisoned(fw.make_redactor())
            fw.record(turn(1, text="POISON"))
            rows["poison record"] = until(lambda: fw.stats()["counters"].get("dead_lettered", 0) > 0, 60)
    with folder("visible-open") as path:
        with Flywheel(path, embedder=embedder(), worker_mode="thread") as fw:
            for i in range(20):
                fw.record(turn(i))
            fw.flush(120)
        data = bytearray((path / "index.faiss").read_bytes())
        data[len(data) // 2 : len(data) // 2 + 512] = b"\x07" * 512
        (path / "index.faiss").write_bytes(bytes(data))
        t0 = time.monotonic()
        with Flywheel(path, embedder=embedder(), start_worker=False) as fw:
            rows["overwritten FAISS file"] = time.monotonic() - t0 if fw.index.rebuild_reason else None
        db = path / "store.sqlite"
        raw = bytearray(db.read_bytes())
        raw[len(raw) // 2 // 4096 * 4096 : len(raw) // 2 // 4096 * 4096 + 4096] = b"\x05" * 4096
        db.write_bytes(bytes(raw))
        t0 = time.monotonic()
        try:
            Flywheel(path, start_worker=False).close()
            rows["corrupt SQLite page"] = None
        except StoreError:
            rows["corrupt SQLite page"] = time.monotonic() - t0
    for fault, seconds in rows.items():
        report("visible in stats()", fault=fault, seconds=None if seconds is None else round(seconds, 2))


_VICTIM = {"app": "app (its worker process drains and exits)", "worker": "worker process (the app restarts it)",
           "both": "app and its worker process (a new app takes over)"}


def _verdict(row: dict[str, Any]) -> tuple[str, str, str, bool | None]:
    """(case, measured, target, met) of one probe row, for the README table."""
    probe = row["probe"]
    if "skipped" in row:
        return "", f"skipped: {row['skipped']}", "", None
    if probe == "kill -9":
        return (f"kill -9 of the {_VICTIM.get(row['variant'], row['variant'])}, {row['stored_at_kill']}/{row['accepted']} stored at the kill",
                f"lost {row['lost']}, index {row['index']}, rewards {row['rewards_with_signal']}, recovery {row['recovery_s']} s",
                "0 lost", row["lost"] == 0 and row["index"] == row["accepted"] == row["rewards_with_signal"])
    if probe == "full disk":
        seen = row["worker_fault_seen_s"]
        return (f"{row['accepted']} accepted, {row['rejected_while_full']} rejected while full ({row['full_s']} s full)",
                f"lost {row['lost']}, rewards {row['rewards']}, corrupt {row['corrupt']}, fault in stats() after {seen} s",
                "0 lost, seen <= 5 s", row["lost"] == 0 and row["flushed"] and row["rewards"] == row["accepted"]
                and seen is not None and seen <= 5)
    if probe == "erasure":
        return ("forget from the CLI while the app runs, then close()",
                f"files with raw PII: {row['files_with_raw_before']} before, {row['files_with_raw_after_forget']} after forget, "
                f"{row['files_with_raw_after_close']} after close; forget {row['forget_s']} s",
                "0 files", row["files_with_raw_after_forget"] == 0 and row["files_with_raw_after_close"] == 0)
    if probe in ("poison", "lone surrogate"):
        with_bad = row.get("with_one_poison_s", row.get("with_surrogate_s"))
        return (f"{row['records']} records, one bad", f"{row['clean_s']} s clean, {with_bad} s with it (+{row['extra_s']} s), "
                f"dead-lettered {row['dead_lettered']}", "< 1 s extra", row["extra_s"] < 1.0)
    if probe == "http":
        return (f"schemathesis {row['requests']} requests + {len(row['bad_bodies'])} bad bodies",
                f"5xx {row['status_5xx']}, contract failures {row['contract_failures']} (+{row.get('schemathesis_false_positives', 0)} "
                f"schemathesis false positives), bad bodies {row['bad_bodies']}",
                "0 5xx", row["status_5xx"] == 0 and all(code < 500 for code in row["bad_bodies"]))
    seconds = row["seconds"]
    return row["fault"], "not seen" if seconds is None else f"{seconds} s", "<= 5 s", seconds is not None and seconds <= 5


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| probe | case | measured | target | met |", "|---|---|---|---|---|"]
    for row in rows:
        case, measured, target, met = _verdict(row)
        lines.append(f"| {row['probe']} | {case} | {measured} | {target} | {'-' if met is None else 'yes' if met else '**no**'} |")
    return "\n".join(lines)


PROBES = {"kill": lambda a: probe_kill(a.n), "full_disk": lambda a: probe_full_disk(a.n // 2), "erasure": lambda a: probe_erasure(),
          "poison": lambda a: probe_poison(a.poison_n), "http": lambda a: probe_http(a.examples), "visibility": lambda a: probe_visibility()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probes", nargs="*", help=f"which probes (default: all of {list(PROBES)})")
    parser.add_argument("--n", type=int, default=1000, help="records per kill -9 variant (half for the full disk)")
    parser.add_argument("--poison-n", type=int, default=256, help="records in the poison stream")
    parser.add_argument("--examples", type=int, default=200, help="schemathesis examples per operation and mode")
    args = parser.parse_args()
    _common.one_thread()
    print(f"# load average at start: {Path('/proc/loadavg').read_text().split()[:3]}", flush=True)
    for name in args.probes or list(PROBES):
        if name not in PROBES:
            parser.error(f"unknown probe {name!r}; known: {list(PROBES)}")
        PROBES[name](args)
    print(f"# load average at end: {Path('/proc/loadavg').read_text().split()[:3]}")
    print(markdown_table(RESULTS))


if __name__ == "__main__":
    main()
