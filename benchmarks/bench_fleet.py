"""A fleet on one machine: PostgreSQL + pgvector against the embedded store.

1. **Sustained ingestion**, 4 replica processes, the same seeded traffic (bench_ingest's
   support-chat turns, a third with PII) recorded as fast as each can, then flushed:
   * PostgreSQL: each replica has its own local queue and worker (thread), all writing into one
     database (what a fleet does);
   * embedded: the 4 processes share one store folder (the embedded store's multi-process mode:
     one of them owns the worker, the others append to the shared queue).
   Rate = all interactions / (first record -> last flush). Per-stage time from the workers'
   counters (redact / embed / store), summed over the workers.
2. **Few-shot search at 100k vectors**: 100k clustered, normalised 384-d vectors stored in
   PostgreSQL; p50 / p99 of a top-10 search with pgvector's HNSW index (ef_search 40 = default,
   and 100) against the FAISS index the library keeps (IVF at this size, exact below 50k) and an
   exact FAISS scan; recall@10 of each against the exact answer. Also: the time to build the HNSW
   index and to load the FAISS cache from the database (what a new replica does on open).
3. **Export of 100k** (``sft``) from PostgreSQL and from the embedded store holding the same rows
   (bench_export's synthetic, stamped interactions copied with ``store.migrate.copy_store``).

The server is a private PostgreSQL 16 + pgvector from the ``pgserver`` wheel (tests/postgres_server.py),
durability settings of a test server (fsync off). Run under ``flock /work/bench.lock``:

    python benchmarks/bench_fleet.py --n 2000 --vectors 100000 --export 100000
"""

from __future__ import annotations

import _common  # noqa: F401  (threads, offline)

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))


# -- 1. ingestion -------------------------------------------------------------------------------
def _replica_main(target: str, queue_dir: str, start: int, count: int, seed: int) -> None:
    """One replica process: record ``count`` turns, flush, print its counters as JSON."""
    from bench_ingest import make

    from flywheel_middleware import Flywheel

    _common.one_thread()
    kw = {"queue_dir": queue_dir} if target.startswith("postgresql://") else {}
    fw = Flywheel(target, worker_mode="thread", **kw)
    fw.embedder.embed(["warm up"])  # models load before the clock starts, as in bench_ingest
    from flywheel_middleware.privacy import RedactionConfig, Redactor

    Redactor(RedactionConfig(**fw.config.redaction)).redact_value("warm up John Carter 415-555-0100")
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()  # the go signal
    rng = random.Random(seed)
    turns = [make(start + i, rng) for i in range(count)]
    t0 = time.time()
    for it in turns:
        fw.record(it)
    t_recorded = time.time()
    ok = fw.flush(1800)
    t1 = time.time()
    counters = fw.counters.snapshot()
    fw.close()
    print(json.dumps({"t0": t0, "t_recorded": t_recorded, "t1": t1, "ok": ok, "counters": counters}), flush=True)


def ingest_run(label: str, targets: list[tuple[str, str]], n: int) -> dict[str, object]:
    per = n // len(targets)
    procs = [subprocess.Popen([sys.executable, __file__, "--replica", target, queue, str(i * per), str(per), str(i)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for i, (target, queue) in enumerate(targets)]
    for p in procs:
        assert json.loads(p.stdout.readline())["ready"]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [json.loads(p.stdout.readline()) for p in procs]
    for p in procs:
        p.wait(120)
    start, end = min(r["t0"] for r in results), max(r["t1"] for r in results)
    stage = {name: sum(r["counters"].get(f"time_{name}_us", 0) for r in results) / 1e6 for name in ("redact", "embed", "store")}
    ingested = sum(r["counters"].get("ingested_interactions", 0) for r in results)
    total = sum(stage.values()) or 1.0
    return {"run": label, "replicas": len(targets), "interactions": n, "ingested_by_workers": ingested,
            "seconds": end - start, "per_s": n / (end - start), "all_flushed": all(r["ok"] for r in results),
            "workers": sum(1 for r in results if r["counters"].get("ingested_interactions")),
            "stage_s": stage, "stage_share": {k: v / total for k, v in stage.items()},
            "store_ms_per_interaction": stage["store"] / max(ingested, 1) * 1e3}


# -- 2. search at 100k -------------------------------------------------------------------------------
def clustered(n: int, dim: int = 384, clusters: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def search_run(url: str, n: int, queries: int = 300, k: int = 10) -> list[dict[str, object]]:
    import psycopg
    from pgvector.psycopg import register_vector

    from flywheel_middleware.records import Interaction
    from flywheel_middleware.store.base import StoredInteraction
    from flywheel_middleware.store.index import VectorIndex
    from flywheel_middleware.store.postgres import PostgresStore

    vectors = clustered(n)
    store = PostgresStore(url, replica="bench")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP INDEX interactions_embedding_hnsw")  # bulk load first, index once (the fast way)
    t = time.perf_counter()
    for s in range(0, n, 2000):
        store.ingest([StoredInteraction(Interaction(id=f"v{i}", input=f"question {i}", output="answer"), vectors[i])
                      for i in range(s, min(n, s + 2000))], [], {})
    load_s = time.perf_counter() - t
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        t = time.perf_counter()
        conn.execute("CREATE INDEX interactions_embedding_hnsw ON interactions USING hnsw (embedding vector_ip_ops)")
        hnsw_build_s = time.perf_counter() - t
        conn.execute("VACUUM ANALYZE interactions")
    keys = np.arange(1, n + 1)  # keys follow insertion order
    rng = np.random.default_rng(1)
    qs = vectors[rng.integers(0, n, queries)] + 0.3 * rng.standard_normal((queries, vectors.shape[1])).astype(np.float32)
    qs = (qs / np.linalg.norm(qs, axis=1, keepdims=True)).astype(np.float32)
    exact = np.argsort(-(qs @ vectors.T), axis=1)[:, :k] + 1
    rows: list[dict[str, object]] = []

    def record(name: str, times: list[float], found: list[np.ndarray], extra: str = "") -> None:
        recall = float(np.mean([len(set(f.tolist()) & set(e.tolist())) / k for f, e in zip(found, exact)]))
        p = _common.percentiles(times, 1e3)
        rows.append({"index": name, "p50_ms": p["p50"], "p99_ms": p["p99"], "recall_at_10": recall, "note": extra})

    with psycopg.connect(url, autocommit=True) as conn:
        register_vector(conn)
        for ef in (40, 100):
            conn.execute(f"SET hnsw.ef_search = {ef}")
            times, found = [], []
            for q in qs:
                t = time.perf_counter()
                got = conn.execute("SELECT key FROM interactions ORDER BY embedding <#> %s LIMIT %s", (q, k)).fetchall()
                times.append(time.perf_counter() - t)
                found.append(np.array([r[0] for r in got]))
            record(f"pgvector HNSW, ef_search {ef}", times, found, "SQL round trip included")
    folder = Path(tempfile.mkdtemp(prefix="bench-fleet-faiss-"))
    index = VectorIndex(folder / "index.faiss", dim=vectors.shape[1])
    t = time.perf_counter()
    index.rebuild(store)
    faiss_load_s = time.perf_counter() - t
    info = index.info()
    times, found = [], []
    for q in qs:
        t = time.perf_counter()
        _, got = index.search(q, k)
        times.append(time.perf_counter() - t)
        found.append(got[0])
    record(f"FAISS {info['kind']} (the library's cache)", times, found,
           f"nlist {info.get('nlist', '-')}, nprobe {info.get('nprobe', '-')}")
    flat = VectorIndex(folder / "flat.faiss", dim=vectors.shape[1], exact_max=10 * n)
    flat.add(keys.astype(np.int64), vectors)
    times, found = [], []
    for q in qs:
        t = time.perf_counter()
        _, got = flat.search(q, k)
        times.append(time.perf_counter() - t)
        found.append(got[0])
    record("FAISS exact (flat)", times, found)
    shutil.rmtree(folder, ignore_errors=True)
    store.close()
    rows.append({"index": "_build", "load_s": load_s, "load_per_s": n / load_s, "hnsw_build_s": hnsw_build_s,
                 "faiss_from_db_s": faiss_load_s})
    return rows


# -- 3. export ------------------------------------------------------------------------------------
def export_run(url: str, n: int, work: Path) -> list[dict[str, object]]:
    from bench_export import build

    from flywheel_middleware import Flywheel
    from flywheel_middleware.store.migrate import copy_store

    folder = work / "embedded"
    build(folder, n)
    out = []
    from bench_export import NullEmbedder

    null = NullEmbedder()
    with Flywheel(folder, embedder=null, start_worker=False) as src, \
            Flywheel(url, queue_dir=str(work / "pg-queue"), embedder=null, start_worker=False) as dst:
        t = time.perf_counter()
        copy_store(src.store, dst.store, batch=2000)
        out.append({"run": "flywheel migrate (embedded -> PostgreSQL)", "seconds": time.perf_counter() - t})
    for label, opener in (("embedded", lambda: Flywheel(folder, embedder=null, start_worker=False)),
                          ("PostgreSQL", lambda: Flywheel(url, queue_dir=str(work / "pg-queue"), embedder=null, start_worker=False))):
        with opener() as fw:
            t = time.perf_counter()
            result = fw.export("sft", work / f"export-{label}")
            out.append({"run": f"export sft from {label}", "seconds": time.perf_counter() - t, "rows": result.rows})
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--replica":
        _replica_main(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000, help="interactions recorded by the 4 replicas together")
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--export", type=int, default=100_000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["ingest", "search", "export"])
    args = parser.parse_args()
    from postgres_server import PostgresServer

    work = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    server = PostgresServer(work / "pg")
    server.start()
    report: dict[str, object] = {"loadavg_start": open("/proc/loadavg").read().split()[:3]}
    try:
        if "ingest" not in args.skip:
            url = server.new_url("ingest")
            report["ingest"] = [
                ingest_run("PostgreSQL, 4 replicas, 4 queues", [(url, str(work / f"q{i}")) for i in range(4)], args.n),
                ingest_run("embedded, 4 processes, 1 folder", [(str(work / "embedded-ingest"), "") for _ in range(4)], args.n),
            ]
            print(json.dumps({"ingest": report["ingest"]}, default=str), flush=True)
        if "search" not in args.skip:
            report["search"] = search_run(server.new_url("search"), args.vectors)
            print(json.dumps({"search": report["search"]}, default=str), flush=True)
        if "export" not in args.skip:
            report["export"] = export_run(server.new_url("export"), args.export, work)
            print(json.dumps({"export": report["export"]}, default=str), flush=True)
    finally:
        report["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
        server.destroy()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
