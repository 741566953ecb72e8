"""Few-shot retrieval benchmark: latency and memory at 10k / 100k / 1M stored trajectories, side by
side with LangChain's SemanticSimilarityExampleSelector over its two local vector stores (the
pure-Python InMemoryVectorStore, and the FAISS vector store of langchain-community, which is what a
LangChain user would pick at 100k: ``pip install -c constraints.txt -e ".[bench]"``), and selection
quality on CLINC150's held-out domains with 20 % bad trajectories flagged only by thumbs down
(benchmarks/fewshot_quality.py: label precision@2/4/8 side by side with plain kNN and LangChain's
SemanticSimilarityExampleSelector and MaxMarginalRelevanceExampleSelector over the same vectors).

    python benchmarks/bench_fewshot.py                      # quality + 10k, 100k, 1M (~10 min)
    python benchmarks/bench_fewshot.py --sizes 10000 --quick

How the big stores are made (no 1M embedding runs): the generator in data/intents_make.py yields
4 032 distinct support questions (8 intents x 12 phrasings x 7 openers x 6 closers); they are
embedded once with the packaged MiniLM. Stored trajectory i takes pool text ``i % 4032`` (plus
a suffix, so texts are unique) and the vector ``normalise(pool_vector + N(0, 0.02^2) per dim)``
(cosine ~0.9 to its source): realistic clusters of near-paraphrases. Rows go straight into the
store's SQLite tables in bulk (interactions with a category, rewards: 70% good, 15% bad, 15%
unknown), then ``Flywheel(...)`` opens the folder and builds the FAISS index from SQLite (the
"index build" column: read vectors + train + add). The filter catalog (rewards + metadata columns)
is loaded on the first query ("catalog load"). Queries are the 96 held-out questions.

Latency columns: "with embedding" = ``fw.few_shot(text, k=3)`` end to end, query embedding
included; "search alone" = the same with a precomputed query vector (good-only filter mask +
FAISS + MMR/dedup + loading the examples from SQLite); "FAISS" = the filtered index search inside
it. LangChain: ``selector.select_examples({"input": q})`` (embeds the query) and
``vectorstore.similarity_search_by_vector(v, k=3)`` (search alone), same vectors, same rows, for
``InMemoryVectorStore`` and for ``langchain_community.vectorstores.FAISS`` built with
``FAISS.from_embeddings`` (its default exact ``IndexFlatL2``; the vectors are normalised, so the
ranking is the cosine one).
One thread for torch and FAISS throughout. Each size runs in its own process (clean RSS).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "data"))
import intents_make  # noqa: E402

ANSWERS = {intent: answer for intent, (answer, _) in intents_make.INTENTS.items()}
K = 3


def one_thread() -> None:
    import faiss
    import torch

    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)


def pct(samples: list[float]) -> tuple[float, float]:
    arr = np.asarray(samples) * 1e3
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def embedder() -> Any:
    from flywheel_middleware.embedding import SentenceTransformerEmbedder

    model = SentenceTransformerEmbedder(threads=1)
    model.embed(["warm up"])
    return model


def load_rows() -> list[dict[str, Any]]:
    path = HERE / "data" / "intents.jsonl"
    if not path.exists():
        intents_make.main()
    return [json.loads(line) for line in path.read_text().splitlines()]


def pool_vectors(cache: Path, model: Any) -> tuple[list[tuple[str, str]], np.ndarray]:
    pool = intents_make.pool()
    file = cache / "pool.npy"
    if file.exists():
        return pool, np.load(file)
    vectors = model.embed([t for _, t in pool])
    np.save(file, vectors)
    return pool, vectors


class MiniLMEmbeddings:
    """The packaged MiniLM as a LangChain ``Embeddings``; documents already embedded are looked up."""

    def __init__(self, model: Any, known: dict[str, np.ndarray] | None = None) -> None:
        self.model = model
        self.known = known or {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in texts if t not in self.known]
        if missing:
            self.known.update(zip(missing, self.model.embed(missing)))
        return [self.known[t].tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed([text])[0].tolist()

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


def langchain_selector(model: Any, inputs: list[str], outputs: list[str], vectors: np.ndarray | None,
                       backend: str = "memory") -> tuple[Any, Any]:
    """LangChain's semantic example selector over ``backend``: "memory" (InMemoryVectorStore) or "faiss"."""
    from langchain_core.embeddings import Embeddings
    from langchain_core.example_selectors import SemanticSimilarityExampleSelector
    from langchain_core.vectorstores import InMemoryVectorStore

    class Emb(MiniLMEmbeddings, Embeddings):
        pass

    known = dict(zip(inputs, vectors)) if vectors is not None else {}
    emb = Emb(model, known)
    metadatas = [{"input": i, "output": o} for i, o in zip(inputs, outputs)]
    if backend == "faiss":
        from langchain_community.vectorstores import FAISS

        pairs = list(zip(inputs, emb.embed_documents(inputs)))
        store = FAISS.from_embeddings(pairs, emb, metadatas=metadatas)
    else:
        store = InMemoryVectorStore(emb)
        for start in range(0, len(inputs), 20_000):
            store.add_texts(inputs[start : start + 20_000], metadatas=metadatas[start : start + 20_000])
    return SemanticSimilarityExampleSelector(vectorstore=store, k=K, input_keys=["input"]), store


# -- quality ----------------------------------------------------------------------------------------
def quality(work: Path, model: Any) -> dict[str, Any]:
    """Label precision@k on CLINC150's held-out (report) domains: see benchmarks/fewshot_quality.py."""
    import fewshot_quality

    return fewshot_quality.run("report")


# -- scale ------------------------------------------------------------------------------------------
def fill_store(folder: Path, n: int, pool: list[tuple[str, str]], pool_vecs: np.ndarray, seed: int = 0) -> tuple[list[str], list[str], np.ndarray | None]:
    """Bulk-insert ``n`` synthetic trajectories; returns texts/answers/vectors when n is small enough
    to also feed LangChain (<= 100k)."""
    from flywheel_middleware.store.sqlite import SQLiteStore

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "flywheel.json").write_text(json.dumps({"app": "flywheel-middleware", "layout": 1, "created_at": time.time()}))
    SQLiteStore(folder / "store.sqlite").close()
    conn = sqlite3.connect(folder / "store.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    rng = np.random.default_rng(seed)
    keep = n <= 100_000
    texts: list[str] = []
    answers: list[str] = []
    all_vecs = np.empty((n, pool_vecs.shape[1]), np.float32) if keep else None
    t0 = 1.7e9
    batch = 50_000
    conn.execute("BEGIN")
    for start in range(0, n, batch):
        m = min(batch, n - start)
        idx = (np.arange(start, start + m) * 7919) % len(pool)
        vecs = pool_vecs[idx] + rng.normal(0, 0.02, size=(m, pool_vecs.shape[1])).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        labels = rng.choice(np.array(["good", "bad", "unknown"]), size=m, p=[0.7, 0.15, 0.15])
        rows, rewards = [], []
        for j in range(m):
            i = start + j
            intent, text = pool[idx[j]]
            text = f"{text} (#{i})"
            answer = ANSWERS[intent] if labels[j] != "bad" else "Sorry, I cannot help with that."
            iid = str(uuid.UUID(int=i + 1))
            started = t0 + i
            data = json.dumps({"schema_version": 1, "id": iid, "session_id": f"s{i % 5000}", "user_id": f"u{i % 9000}",
                               "started_at": started, "ended_at": started + 1, "input": text, "output": answer,
                               "model_version": "m1", "prompt_version": None, "status": "ok", "error": None,
                               "steps": [], "decisions": [], "few_shot_ids": [], "metadata": {"category": intent}},
                              separators=(",", ":"))
            rows.append((iid, f"s{i % 5000}", f"u{i % 9000}", started, started + 1, "ok", "m1", None, text, answer, data,
                         vecs[j].tobytes(), started))
            lab = labels[j]
            rewards.append((iid, lab, 0.76 if lab == "good" else (-0.76 if lab == "bad" else 0.0), 0.95 if lab != "unknown" else 0.0, 1 if lab != "unknown" else 0, started))
            if keep:
                texts.append(text)
                answers.append(answer)
        if keep:
            all_vecs[start : start + m] = vecs
        conn.executemany(
            "INSERT INTO interactions(id, session_id, user_id, started_at, ended_at, status, model_version, prompt_version,"
            " input_text, output_text, data, embedding, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        conn.executemany("INSERT INTO rewards(interaction_id, label, reward, confidence, n_signals, updated_at) VALUES (?,?,?,?,?,?)", rewards)
    conn.execute("COMMIT")
    conn.close()
    return texts, answers, all_vecs


def scale(n: int, work: Path, lc: bool, n_queries: int) -> dict[str, Any]:
    one_thread()
    from flywheel_middleware import Flywheel
    from flywheel_middleware.fewshot import retriever_for

    model = embedder()
    pool, pool_vecs = pool_vectors(work, model)
    queries = [r["question"] for r in load_rows() if r["split"] == "query"]
    qvecs = model.embed(queries)
    folder = work / f"store-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    t = time.perf_counter()
    texts, answers, vecs = fill_store(folder, n, pool, pool_vecs)
    fill_s = time.perf_counter() - t
    base_rss = rss_mb()
    t = time.perf_counter()
    fw = Flywheel(folder, embedder=model, start_worker=False)
    build_s = time.perf_counter() - t
    retriever = retriever_for(fw)
    t = time.perf_counter()
    retriever.refresh()
    catalog_s = time.perf_counter() - t
    out: dict[str, Any] = {"n": n, "fill_s": fill_s, "index_build_s": build_s, "catalog_load_s": catalog_s,
                           "index": fw.index.info(), "good": int(retriever.catalog.n_good)}
    for q, v in zip(queries[:5], qvecs[:5]):  # warm up
        fw.few_shot(q, k=K, session_id=None)
    full, alone, faiss_ms, got = [], [], [], 0
    for i in range(n_queries):
        q = queries[i % len(queries)]
        t = time.perf_counter()
        ex = fw.few_shot(q, k=K, session_id=None)
        full.append(time.perf_counter() - t)
        got += len(ex)
        t = time.perf_counter()
        fw.few_shot(None, k=K, session_id=None, query_vector=qvecs[i % len(queries)])
        alone.append(time.perf_counter() - t)
        faiss_ms.append(retriever.last_timings.get("faiss_ms", 0.0) / 1e3)
    out.update(ours_full_ms=pct(full), ours_search_ms=pct(alone), ours_faiss_ms=pct(faiss_ms),
               examples_per_query=got / n_queries, rss_mb=rss_mb(), rss_over_base_mb=rss_mb() - base_rss)
    fw.close()
    if lc and vecs is not None:
        import gc

        for backend, prefix in (("faiss", "lcf"), ("memory", "lc")):
            gc.collect()
            before = rss_mb()
            t = time.perf_counter()
            selector, store = langchain_selector(model, texts, answers, vecs, backend=backend)
            lc_build = time.perf_counter() - t
            # the pure-Python store takes seconds a query at 100k: fewer queries there
            lq = n_queries if backend == "faiss" else max(10, min(n_queries, 2_000_000 // n))
            for i in range(min(5, lq)):  # warm up, as for ours
                selector.select_examples({"input": queries[i % len(queries)]})
            lfull, lalone = [], []
            for i in range(lq):
                t = time.perf_counter()
                selector.select_examples({"input": queries[i % len(queries)]})
                lfull.append(time.perf_counter() - t)
                v = qvecs[i % len(queries)].tolist()
                t = time.perf_counter()
                store.similarity_search_by_vector(v, k=K)
                lalone.append(time.perf_counter() - t)
            out.update({f"{prefix}_build_s": lc_build, f"{prefix}_full_ms": pct(lfull), f"{prefix}_search_ms": pct(lalone),
                        f"{prefix}_queries": lq, f"{prefix}_rss_mb": rss_mb() - before})
            del selector, store
        del vecs
    out["peak_rss_mb"] = peak_mb()
    return out


# -- report -----------------------------------------------------------------------------------------
def _ratio(theirs_ms: float, ours_ms: float) -> str:
    """``12x faster`` or ``3.1x slower``: ours against theirs, both ways readable."""
    if ours_ms <= theirs_ms:
        return f"{theirs_ms / ours_ms:.1f}x faster"
    return f"{ours_ms / theirs_ms:.1f}x slower"


def report(quality_res: dict[str, Any] | None, scales: list[dict[str, Any]]) -> str:
    lines = ["# Few-shot retrieval benchmark", "",
             "Produced by `python benchmarks/bench_fewshot.py` (see its docstring for how data is made).",
             f"Machine: {os.cpu_count()} CPU cores, one torch/FAISS thread. k = {K}, default settings "
             "(similarity floor 0.35, no MMR, near-identical skipped at cosine 0.98, good label with reward >= 0.3, "
             "confidence >= 0.5).", ""]
    if scales:
        lines += ["## Latency, memory, build time", "",
                  "| stored | index | index build | catalog load | ours: with embedding p50 / p99 | ours: search alone p50 / p99 | FAISS p50 / p99 | RSS (peak) |",
                  "|---:|---|---:|---:|---:|---:|---:|---:|"]
        for s in scales:
            idx = s["index"]
            kind = idx["kind"] + (f" (nlist {idx['nlist']}, nprobe {idx['nprobe']})" if idx["kind"] == "ivf" else "")
            lines.append(f"| {s['n']:,} | {kind} | {s['index_build_s']:.1f} s | {s['catalog_load_s']:.1f} s | "
                         f"{s['ours_full_ms'][0]:.2f} / {s['ours_full_ms'][1]:.2f} ms | {s['ours_search_ms'][0]:.2f} / {s['ours_search_ms'][1]:.2f} ms | "
                         f"{s['ours_faiss_ms'][0]:.2f} / {s['ours_faiss_ms'][1]:.2f} ms | {s['rss_mb']:,.0f} MB ({s['peak_rss_mb']:,.0f} MB) |")
        lcf_rows = [s for s in scales if "lcf_full_ms" in s]
        if lcf_rows:
            lines += ["", "## Side by side with LangChain `SemanticSimilarityExampleSelector` + FAISS vector store (langchain-community)", "",
                      "What a LangChain user would use at this size: `langchain_community.vectorstores.FAISS` (exact `IndexFlatL2`), "
                      "same MiniLM model and vectors, same rows, one FAISS thread (LangChain has no reward filter, so it searches all of them).", "",
                      "| stored | ours: with embedding p50 / p99 | LangChain + FAISS: select_examples p50 / p99 | ours: search alone p50 / p99 | LangChain + FAISS: search alone p50 / p99 | search alone p50, ours vs LangChain | LangChain build | LangChain store RSS |",
                      "|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for s in lcf_rows:
                lines.append(f"| {s['n']:,} | {s['ours_full_ms'][0]:.2f} / {s['ours_full_ms'][1]:.2f} ms | "
                             f"{s['lcf_full_ms'][0]:.2f} / {s['lcf_full_ms'][1]:.2f} ms | {s['ours_search_ms'][0]:.2f} / {s['ours_search_ms'][1]:.2f} ms | "
                             f"{s['lcf_search_ms'][0]:.2f} / {s['lcf_search_ms'][1]:.2f} ms | "
                             f"{_ratio(s['lcf_search_ms'][0], s['ours_search_ms'][0])} | {s['lcf_build_s']:.1f} s | {s['lcf_rss_mb']:,.0f} MB |")
        lc_rows = [s for s in scales if "lc_full_ms" in s]
        if lc_rows:
            lines += ["", "## Side by side with LangChain `SemanticSimilarityExampleSelector` + `InMemoryVectorStore`", "",
                      "Same MiniLM model and vectors, same rows (LangChain has no reward filter, so it searches all of them).", "",
                      "| stored | ours: with embedding p50 | LangChain: select_examples p50 | ours: search alone p50 | LangChain: search alone p50 | speed-up (search alone, p50) | LangChain store RSS |",
                      "|---:|---:|---:|---:|---:|---:|---:|"]
            for s in lc_rows:
                lines.append(f"| {s['n']:,} | {s['ours_full_ms'][0]:.2f} ms | {s['lc_full_ms'][0]:.1f} ms | {s['ours_search_ms'][0]:.2f} ms | "
                             f"{s['lc_search_ms'][0]:.1f} ms | {s['lc_search_ms'][0] / s['ours_search_ms'][0]:.0f}x | {s['lc_rss_mb']:,.0f} MB |")
    if quality_res:
        import fewshot_quality

        lines += ["", "## Selection quality (CLINC150, held-out domains)", "", fewshot_quality.markdown(quality_res)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--quick", action="store_true", help="50 queries")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", default=None)
    parser.add_argument("--out", default=str(HERE / "results" / "fewshot.md"))
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-fewshot-"))
    work.mkdir(parents=True, exist_ok=True)
    n_queries = 50 if args.quick else args.queries
    if args.one:
        print("RESULT " + json.dumps(scale(args.one, work, lc=args.one <= 100_000, n_queries=n_queries)))
        shutil.rmtree(work / f"store-{args.one}", ignore_errors=True)
        return
    one_thread()
    model = embedder()
    pool_vectors(work, model)  # embedded once, shared by the per-size processes
    quality_res = None
    if not args.no_quality:
        t = time.perf_counter()
        quality_res = quality(work, model)
        print(f"quality ({time.perf_counter() - t:.0f} s):", json.dumps(quality_res))
    scales = []
    for n in [int(x) for x in args.sizes.split(",") if x]:
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--one", str(n), "--work", str(work), "--queries", str(n_queries)],
                              capture_output=True, text=True)
        line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
        if line is None:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            raise SystemExit(f"size {n} failed")
        res = json.loads(line[len("RESULT "):])
        print(f"{n:>9,} ({time.perf_counter() - t:.0f} s):", json.dumps(res))
        scales.append(res)
    text = report(quality_res, scales)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
