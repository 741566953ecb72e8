"""Export throughput: SFT / KTO / DPO datasets from a store of N synthetic interactions.

Target: 1M interactions exported in <= 2 minutes on the 2-core dev machine, memory flat in N.

Setup (not timed): N synthetic, already-redacted interactions are bulk-inserted straight into the
store's SQLite tables (interactions with a 384-d embedding, steps, decisions, signals, rewards),
as the ingest worker would have left them; they never go through the worker. Labels: 55% good
(thumbs up), 20% bad (thumbs down), 5% corrected, 20% unlabelled; 20% of turns call a tool
(llm step with tool_calls + tool step), 10% retrieve documents; 20% of texts hold digits (order
numbers) so the redaction re-check takes Presidio's slow path as real traffic would.

Timed: ``export(fw, kind, out)`` with default options (exact + near dedup — near is skipped
above ``near_max`` candidates, and says so in the manifest —, stratified split, redaction re-check
of every row, OpenAI variant for SFT, registry). Peak RSS is sampled during the export for the
main process and for the worker processes.

    python benchmarks/bench_export.py --n 1000000 --dir /tmp/bench-export          # build + time
    python benchmarks/bench_export.py --n 1000000 --dir /tmp/bench-export --reuse  # time only
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import one_thread, table  # noqa: E402

import numpy as np  # noqa: E402

CATEGORIES = ["billing", "shipping", "returns", "account", "orders", "products", "payments", "stores", "warranty",
              "delivery", "gift_cards", "loyalty"]
TOOLS = ["track_order", "get_invoice", "lookup_store", "check_stock", "open_ticket"]


class NullEmbedder:
    """The benchmark never embeds (embeddings are in the store already)."""

    dim = 384

    def embed(self, texts):  # pragma: no cover - not called by export
        return np.zeros((len(texts), self.dim), np.float32)


def _vocabulary(rng: random.Random, n: int = 6000) -> list[str]:
    syllables = ["ba", "co", "de", "fi", "go", "ha", "ki", "lo", "ma", "ne", "po", "ra", "si", "tu", "ve", "za", "an",
                 "el", "in", "or", "um", "st", "tr", "pl", "cr"]
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _sentence(rng: random.Random, words: list[str], lo: int, hi: int, digits: bool) -> str:
    ws = [rng.choice(words) for _ in range(rng.randint(lo, hi))]
    if digits:
        ws.insert(rng.randrange(len(ws)), f"order {rng.randint(10000, 99999)}")
    return " ".join(ws).capitalize()


def build(store_dir: Path, n: int, seed: int = 0, embeddings: bool = True, stamped: bool = True) -> dict[str, float]:
    """Create the store folder with ``n`` interactions; returns setup timings."""
    from flywheel_middleware import Flywheel

    t0 = time.perf_counter()
    Flywheel(store_dir, embedder=NullEmbedder(), start_worker=False).close()  # the folder and schema
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    words = _vocabulary(rng)
    # what the ingest worker stamps on what it redacted (so exports verify instead of re-analysing)
    from flywheel_middleware.privacy import RedactionConfig, Redactor

    stamp = Redactor(RedactionConfig()).fingerprint() if stamped else None
    conn = sqlite3.connect(store_dir / "store.sqlite", isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    now = time.time()
    start = now - 90 * 86400
    chunk = 10_000
    for base in range(0, n, chunk):
        inter, steps, decisions, signals, rewards = [], [], [], [], []
        vecs = nrng.standard_normal((min(chunk, n - base), 384), dtype=np.float32) if embeddings else None
        if vecs is not None:
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        for j in range(min(chunk, n - base)):
            i = base + j
            iid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            user = f"user-{rng.randrange(50_000)}"
            session = f"sess-{rng.randrange(200_000)}"
            started = start + i * (90 * 86400 / n)
            q = _sentence(rng, words, 6, 16, rng.random() < 0.2) + "?"
            a = " ".join(_sentence(rng, words, 8, 20, rng.random() < 0.2) + "." for _ in range(rng.randint(1, 3)))
            category = rng.choice(CATEGORIES)
            step_list = [{"kind": "llm", "name": "chat", "inputs": [[{"role": "system", "content": "You are a helpful support agent."},
                                                                     {"role": "user", "content": q}]],
                          "outputs": {"role": "assistant", "content": a}, "started_at": started, "ended_at": started + 1.0,
                          "error": None, "run_id": None, "parent_run_id": None, "metadata": {}}]
            decision_list = []
            r = rng.random()
            if r < 0.2:
                tool = rng.choice(TOOLS)
                args = {"order_id": str(rng.randint(10000, 99999))}
                step_list.insert(0, {"kind": "llm", "name": "chat", "inputs": None,
                                     "outputs": {"role": "assistant", "content": "", "tool_calls": [{"name": tool, "args": args, "id": f"call_{i}"}]},
                                     "started_at": started, "ended_at": started + 0.5, "error": None, "run_id": None, "parent_run_id": None, "metadata": {}})
                step_list.insert(1, {"kind": "tool", "name": tool, "inputs": args, "outputs": _sentence(rng, words, 5, 12, False),
                                     "started_at": started + 0.5, "ended_at": started + 0.6, "error": None, "run_id": None,
                                     "parent_run_id": None, "metadata": {"tool_call_id": f"call_{i}"}})
                decision_list.append({"decider": "model", "chosen": [tool], "candidates": TOOLS, "reason": None, "name": "chat",
                                      "at": started, "metadata": {"tool_call_ids": [f"call_{i}"], "args": [args]}})
            elif r < 0.3:
                docs = [{"id": f"kb-{rng.randrange(5000)}", "text": _sentence(rng, words, 20, 40, False) + ".",
                         "score": round(rng.random(), 3)} for _ in range(3)]
                step_list.insert(0, {"kind": "retrieval", "name": "kb", "inputs": q, "outputs": docs, "started_at": started,
                                     "ended_at": started + 0.2, "error": None, "run_id": None, "parent_run_id": None, "metadata": {}})
            md = {"category": category} if rng.random() < 0.8 else {}
            if stamp:
                md["flywheel.redaction"] = stamp
            if not md:
                decision_list.append({"decider": "router", "chosen": f"{category}_engine", "candidates": [f"{c}_engine" for c in CATEGORIES[:4]],
                                      "reason": None, "name": "router", "at": started, "metadata": {}})
            data = {"schema_version": 1, "id": iid, "session_id": session, "user_id": user, "started_at": started,
                    "ended_at": started + 2.0, "input": q, "output": a, "model_version": "m-1", "prompt_version": "p-1",
                    "status": "ok", "error": None, "steps": step_list, "decisions": decision_list, "few_shot_ids": [], "metadata": md}
            blob = vecs[j].tobytes() if vecs is not None else None
            inter.append((iid, session, user, started, started + 2.0, "ok", "m-1", "p-1", q, a,
                          json.dumps(data, separators=(",", ":")), blob, now))
            for k, s in enumerate(step_list):
                steps.append((iid, k, s["kind"], s["name"], s["started_at"], s["ended_at"], None, json.dumps(s, separators=(",", ":"))))
            for k, d in enumerate(decision_list):
                decisions.append((iid, k, d["decider"], d["name"], json.dumps(d["chosen"]), json.dumps(d, separators=(",", ":"))))
            lab = rng.random()
            if lab < 0.55:
                kind, value, label, reward = "thumbs_up", None, "good", 0.761594
            elif lab < 0.75:
                kind, value, label, reward = "thumbs_down", None, "bad", -0.761594
            elif lab < 0.80:
                edited = " ".join(_sentence(rng, words, 8, 20, False) + "." for _ in range(2))
                kind, value, label, reward = "correction", {"edited": edited, "diff": ""}, "bad", -0.761594
            else:
                kind = None
            if kind:
                sid = uuid.UUID(int=rng.getrandbits(128), version=4).hex
                sig = {"schema_version": 1, "id": sid, "interaction_id": iid, "kind": kind, "value": value, "source": "explicit",
                       "actor": user, "at": started + 60, "evidence": {}}
                signals.append((sid, iid, kind, "explicit", user, started + 60, json.dumps(value), json.dumps(sig, separators=(",", ":"))))
                rewards.append((iid, label, reward, 0.95, 1, now))
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO interactions(id, session_id, user_id, started_at, ended_at, status, model_version, prompt_version,"
                         " input_text, output_text, data, embedding, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", inter)
        conn.executemany("INSERT INTO steps(interaction_id, idx, kind, name, started_at, ended_at, error, data) VALUES (?,?,?,?,?,?,?,?)", steps)
        conn.executemany("INSERT INTO decisions(interaction_id, idx, decider, name, chosen, data) VALUES (?,?,?,?,?,?)", decisions)
        conn.executemany("INSERT INTO signals(id, interaction_id, kind, source, actor, at, value, data) VALUES (?,?,?,?,?,?,?,?)", signals)
        conn.executemany("INSERT INTO rewards(interaction_id, label, reward, confidence, n_signals, updated_at) VALUES (?,?,?,?,?,?)", rewards)
        conn.execute("COMMIT")
        print(f"  inserted {base + len(inter):,}/{n:,}", end="\r", flush=True)
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('last_ingest_at', ?)", (str(now),))
    conn.close()
    t_insert = time.perf_counter() - t0
    t1 = time.perf_counter()
    fw = Flywheel(store_dir, embedder=NullEmbedder(), start_worker=False)
    fw.reindex()  # build and save the FAISS index now, so opening the store later only loads it
    fw.close()
    print()
    return {"insert_s": t_insert, "index_s": time.perf_counter() - t1}


class RssSampler(threading.Thread):
    """Peak RSS of this process and of its children (worker processes), sampled every 0.2 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        import psutil

        self.proc = psutil.Process()
        self.stop = threading.Event()
        self.main_peak = 0.0
        self.children_peak = 0.0
        self.baseline = self.proc.memory_info().rss / (1 << 20)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.main_peak = max(self.main_peak, self.proc.memory_info().rss / (1 << 20))
                total = sum(c.memory_info().rss for c in self.proc.children(recursive=True)) / (1 << 20)
                self.children_peak = max(self.children_peak, total)
            except Exception:  # noqa: BLE001 - a child exiting between listing and reading
                pass
            self.stop.wait(0.2)


def time_export(store_dir: Path, kind: str, out: Path, workers: int | None, redact: bool = True) -> dict[str, object]:
    from flywheel_middleware import Flywheel
    from flywheel_middleware.export import export

    t0 = time.perf_counter()
    fw = Flywheel(store_dir, embedder=NullEmbedder(), start_worker=False)
    open_s = time.perf_counter() - t0
    stages: dict[str, float] = {}
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        stages[stage] = time.perf_counter() - started

    sampler = RssSampler()
    sampler.start()
    try:
        result = export(fw, kind, out, progress=progress, workers=workers, redact=redact)
    finally:
        sampler.stop.set()
        sampler.join()
        fw.close()
    m = result.manifest
    return {
        "kind": kind if redact else f"{kind} (no re-check)", "rows": result.rows, "interactions": m["counts"]["interactions"], "seconds": result.seconds,
        "scan_s": stages.get("scan", 0.0), "rows_per_s": result.rows / result.seconds if result.seconds else 0.0,
        "open_s": open_s, "rss_baseline_mb": sampler.baseline, "rss_main_peak_mb": sampler.main_peak,
        "rss_workers_peak_mb": sampler.children_peak, "dedup": m["dedup"], "redaction": {k: m["redaction"][k] for k in ("rows_checked", "rows_changed")},
        "files_mb": sum((out / f["name"]).stat().st_size for f in m["files"].values()) / (1 << 20),
        "manifest_mb": (out / "manifest.json").stat().st_size / (1 << 20),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-export"))
    parser.add_argument("--kinds", default="sft,kto,dpo")
    parser.add_argument("--workers", type=int, default=None, help="export worker processes (default: the export's choice)")
    parser.add_argument("--reuse", action="store_true", help="reuse the store in --dir")
    parser.add_argument("--no-embeddings", action="store_true")
    parser.add_argument("--no-redact", action="store_true", help="skip the redaction re-check (to see its cost)")
    parser.add_argument("--unstamped", action="store_true",
                        help="store rows without the ingest worker's redaction stamp (every row is re-analysed)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    one_thread()
    store_dir = args.dir / f"store-{args.n}"
    setup = {}
    if not args.reuse or not store_dir.exists():
        if store_dir.exists():
            import shutil

            shutil.rmtree(store_dir)
        args.dir.mkdir(parents=True, exist_ok=True)
        print(f"building a store of {args.n:,} interactions in {store_dir} ...")
        setup = build(store_dir, args.n, embeddings=not args.no_embeddings, stamped=not args.unstamped)
        print(f"setup: insert {setup['insert_s']:.0f}s, index {setup['index_s']:.0f}s; "
              f"store {(store_dir / 'store.sqlite').stat().st_size / (1 << 30):.2f} GiB")
    results = []
    for kind in args.kinds.split(","):
        out = args.dir / f"export-{kind}-{args.n}"
        r = time_export(store_dir, kind, out, args.workers, redact=not args.no_redact)
        results.append(r)
        print(json.dumps(r, default=str))
    print()
    print(table(["kind", "interactions", "rows", "export s", "select s", "rows/s", "RSS main peak MB", "RSS workers peak MB", "output MB"],
                [(r["kind"], f"{args.n:,}", f"{r['rows']:,}", r["seconds"], r["scan_s"], f"{r['rows_per_s']:,.0f}", r["rss_main_peak_mb"],
                  r["rss_workers_peak_mb"], r["files_mb"]) for r in results]))
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "setup": setup, "results": results}, indent=2, default=str))


if __name__ == "__main__":
    main()
