"""One agent replica for the fleet test: a process with its own local queue and worker, writing
into a shared PostgreSQL database. Driven by JSON commands on stdin, one per line; answers
``{"ok": ...}`` lines on stdout:

* ``{"record": [turn, ...]}`` records the turns (``Interaction`` dicts) and appends each accepted
  id to ``accepted.txt`` in its queue folder *before* answering (what the test counts as accepted);
* ``{"feedback": [[interaction_id, kind], ...]}`` sends explicit feedback (any replica's turns);
* ``{"flush": seconds}`` waits until this replica's queue is ingested and judged;
* ``{"kill_mid_batch": n}`` waits until its worker has stored at least ``n`` interactions but not
  all it accepted, then kills itself with SIGKILL (no flush, no close);
* ``{"close": true}`` closes cleanly and exits.

Usage: ``python fleet_replica.py URL QUEUE_DIR NAME``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time


def main() -> int:
    url, queue_dir, name = sys.argv[1:4]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    import torch

    torch.set_num_threads(1)
    from flywheel_middleware import Flywheel

    fw = Flywheel(url, queue_dir=queue_dir, worker_mode="thread", flush_interval_s=0.05, batch_size=64)
    accepted = open(os.path.join(queue_dir, "accepted.txt"), "a", encoding="utf-8")
    print(json.dumps({"ok": "ready", "replica": fw.replica}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if "record" in command:
            n = 0
            for turn in command["record"]:
                turn.setdefault("metadata", {})["replica"] = name
                iid = fw.record(turn)
                if iid is not None:
                    accepted.write(iid + "\n")
                    n += 1
            accepted.flush()  # in the page cache: survives this process's SIGKILL
            print(json.dumps({"ok": n}), flush=True)
        elif "feedback" in command:
            for iid, kind in command["feedback"]:
                fw.feedback(iid, kind, actor=f"reviewer-{name}")
            print(json.dumps({"ok": len(command["feedback"])}), flush=True)
        elif "flush" in command:
            print(json.dumps({"ok": fw.flush(float(command["flush"]))}), flush=True)
        elif "kill_mid_batch" in command:
            total = fw.counters.get("recorded")
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                done = fw.counters.get("ingested_interactions")
                if int(command["kill_mid_batch"]) <= done < total:
                    break
                time.sleep(0.005)
            print(json.dumps({"ok": "killing", "ingested": fw.counters.get("ingested_interactions"), "recorded": total}), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        elif "close" in command:
            fw.close()
            print(json.dumps({"ok": "closed"}), flush=True)
            return 0
    fw.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
