"""A fleet: four replica processes, each with its own local queue and worker, one PostgreSQL.

They record concurrent sessions; one is killed with SIGKILL in the middle of a batch and started
again on its folder. Then the count: every accepted turn is in the database exactly once, a
rephrase whose two turns went through different replicas is detected, feedback sent through one
replica judges turns recorded by another, and few-shot (from a fifth process) sees every
replica's good turns. Real parts throughout: the packaged MiniLM, Presidio, the real detectors.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from flywheel_middleware import Flywheel

pytestmark = pytest.mark.slow

REPLICA = Path(__file__).with_name("fleet_replica.py")
# (first question, the user's restatement after an unhelpful answer), one per cross-replica session
REPHRASES = [
    ("How do I reset my password?", "I mean, how can I change my password if I forgot it?"),
    ("What is the baggage allowance on international flights?", "In other words, how many bags can I check on a flight abroad?"),
    ("Can I get a refund for a cancelled order?", "I mean, will I get my money back if my order was cancelled?"),
    ("How do I update the billing address on my account?", "I mean, how can I change the address my invoices go to?"),
]
TOPICS = ["shipping times", "gift cards", "opening hours", "loyalty points", "store locations", "warranty claims"]


class Replica:
    def __init__(self, url: str, folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.name = folder, name
        self.proc = subprocess.Popen([sys.executable, str(REPLICA), url, str(folder), name], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)

    def send(self, **command) -> None:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def answer(self, timeout: float = 300) -> dict:
        line = self.proc.stdout.readline()
        assert line, f"replica {self.name} exited with {self.proc.wait(timeout)}"
        return json.loads(line)

    def call(self, **command) -> dict:
        self.send(**command)
        return self.answer()

    def accepted(self) -> list[str]:
        path = self.folder / "accepted.txt"
        return path.read_text().split() if path.exists() else []


def _turn(question: str, session: str, user: str, at: float, answer: str = "Here is what I found.") -> dict:
    return {"input": question, "output": answer, "session_id": session, "user_id": user, "started_at": at, "ended_at": at + 1.0}


def test_four_replicas_share_one_database_and_a_killed_one_loses_nothing(postgres_server, tmp_path, embedder):
    url = postgres_server.new_url("fleet")
    replicas = [Replica(url, tmp_path / f"replica-{i}", f"r{i}") for i in range(4)]
    try:
        ids = {r.name: r.answer()["replica"] for r in replicas}
        assert len(set(ids.values())) == 4  # four queues, four sets of offsets
        base = time.time() - 3600

        # 1. concurrent sessions on every replica, plus the first turn of each cross-replica session;
        #    replica 3 also takes a burst and is killed while its worker is in the middle of it
        for i, r in enumerate(replicas):
            turns = [_turn(f"Tell me about {topic} (case {i}-{j})", f"s-{i}-{j}", f"user-{i}-{j}", base + j)
                     for j, topic in enumerate(TOPICS)]
            turns.append(_turn(REPHRASES[i][0], f"x-{i}", f"user-x-{i}", base + 100, answer="Please see our help pages."))
            if i == 3:
                turns += [_turn(f"burst question {k} about {TOPICS[k % len(TOPICS)]}", f"b-{k % 20}", "user-burst", base + 200 + k)
                          for k in range(200)]
            r.send(record=turns)
        assert [r.answer()["ok"] for r in replicas] == [7, 7, 7, 207]
        killed = replicas[3].call(kill_mid_batch=64)
        assert 64 <= killed["ingested"] < killed["recorded"]
        assert replicas[3].proc.wait(60) == -9
        replicas[3] = Replica(url, tmp_path / "replica-3", "r3")  # the same folder: the same queue and offsets
        assert replicas[3].answer()["replica"] == ids["r3"]
        assert all(r.call(flush=300)["ok"] for r in replicas)

        # 2. each rephrase arrives through the *next* replica
        first = {i: _first_id(url, f"x-{i}") for i in range(4)}
        for i in range(4):
            replicas[(i + 1) % 4].send(record=[_turn(REPHRASES[i][1], f"x-{i}", f"user-x-{i}", base + 140)])
        assert [r.answer()["ok"] for r in replicas] == [1, 1, 1, 1]
        assert all(r.call(flush=120)["ok"] for r in replicas)

        # 3. feedback on replica i's turns, sent through replica i+2
        good = {i: _first_id(url, f"s-{i}-0") for i in range(4)}
        for i in range(4):
            replicas[(i + 2) % 4].send(feedback=[[good[i], "thumbs_up"]])
        assert [r.answer()["ok"] for r in replicas] == [1, 1, 1, 1]
        assert all(r.call(flush=120)["ok"] for r in replicas)
        for r in replicas:
            r.call(close=True)
            assert r.proc.wait(120) == 0
    finally:
        for r in replicas:
            if r.proc.poll() is None:
                r.proc.kill()

    accepted = [iid for r in replicas for iid in r.accepted()]
    assert len(accepted) == 4 * 7 + 200 + 4
    with psycopg.connect(url) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM interactions")}
        # every replica closed cleanly: its queue was drained and its segments deleted, so no offsets remain
        assert conn.execute("SELECT COUNT(*) FROM queue_cursors").fetchone()[0] == 0
    assert set(accepted) == stored  # nothing accepted is lost, nothing is stored twice (ids are unique)

    with Flywheel(url, queue_dir=str(tmp_path / "reader"), embedder=embedder, start_worker=False) as fw:
        for i in range(4):
            kinds = {s.kind: s for s in fw.signals(first[i])}
            assert "rephrase" in kinds, f"session x-{i}: {sorted(kinds)}"
        for i in range(4):
            assert fw.reward(good[i]).label == "good"
            examples = fw.few_shot(f"Tell me about {TOPICS[0]}", k=2, filter={"replica": f"r{i}"}, session_id=None)
            assert [e.interaction_id for e in examples][:1] == [good[i]]


def _first_id(url: str, session: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id FROM interactions WHERE session_id = %s ORDER BY started_at LIMIT 1", (session,)).fetchone()
    assert row is not None, f"session {session} is not stored"
    return row[0]
