"""No raw bytes of an erased user anywhere under the store folder: not in any process's queue
segments, the database, its write-ahead log, the index files or the dead letters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flywheel_middleware import Flywheel
from helpers import traces, turn

USER = "erased-user-5d1c"
SESSION = "erased-session-77ab"
EMAIL = "maria.erased@example.com"
CARD = "4111 1111 1111 1111"
PHONE = "212-555-0182"


def test_forget_from_the_cli_while_the_app_runs_leaves_no_raw_bytes(store_path: Path, embedder) -> None:
    # the app: owns the folder; its idle segment would stay open for ten minutes without a request
    with Flywheel(store_path, embedder=embedder, worker_mode="thread", flush_interval_s=0.05,
                  segment_idle_s=600, segment_max_age_s=600) as app:
        app.record(turn(f"my card is {CARD}, mail me at {EMAIL} or call {PHONE}", "noted", user_id=USER, session_id=SESSION))
        kept = app.record(turn("what are your opening hours?", "9 to 5", user_id="someone-else", session_id="s2"))
        assert app.flush(60)
        assert traces(store_path / "queue", EMAIL), "the app's open segment holds the raw text"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLYWHEEL_")}
        proc = subprocess.run([sys.executable, "-m", "flywheel_middleware.cli", "forget", "--user", USER, "--path", str(store_path),
                               "--json"], capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        report = json.loads(proc.stdout)
        assert report["interactions_deleted"] == 1  # the segments went (deleted by the CLI or the app, whichever came first)
        assert traces(store_path, USER, SESSION, EMAIL, CARD, PHONE) == {}, report
        assert app.get(kept) is not None  # the app goes on, the other user's turn stays
        later = app.record(turn("and on sundays?", user_id="someone-else", session_id="s2"))
        assert app.flush(60) and app.get(later) is not None
