"""Few-shot selection quality on CLINC150: label precision@k of what each selector injects.

    python benchmarks/fewshot_quality.py            # report domains (the figures in benchmarks/README.md)
    python benchmarks/fewshot_quality.py --tune     # the grid the defaults were chosen from (tune domains)

Data: CLINC150 (public, CC BY 3.0), the domain split of benchmarks/clinc_sessions.py. Past turns in
the store = CLINC's *train* rows of the part's domains (report: 4,500 over 45 intents); queries =
its *test* rows (report: 1,350). 20 % of the stored turns, drawn at random, were answered with a
wrong label (another intent of the same domain) and got a ``thumbs_down``; the others were answered
with their own label and got a ``thumbs_up``: the only thing telling bad from good is the feedback.
All go through the public API (``fw.record``, ``fw.feedback``, the worker, ``fw.few_shot``).
A selected example is *correct* when its answer is the query's intent; precision@k = correct /
injected, over all queries. Every selector uses the same MiniLM vectors (the packaged model's,
computed once): ours through ``Flywheel(embedder=...)``, plain kNN in numpy, LangChain's
``SemanticSimilarityExampleSelector`` and ``MaxMarginalRelevanceExampleSelector`` over an
``InMemoryVectorStore`` of the same rows and vectors (LangChain has no reward filter: it holds
every stored turn, as a user who adds each turn as an example would).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import _common  # noqa: E402  (one thread, offline)
import clinc_sessions as cs  # noqa: E402

KS = (2, 4, 8)
BAD_SHARE = 0.2
OLD_DEFAULTS = {"mmr_lambda": 0.7, "dedup_threshold": 0.95, "min_similarity": 0.35}
TUNE_GRID = {"mmr_lambda": (1.0, 0.9, 0.8, 0.7), "dedup_threshold": (1.01, 0.98, 0.95), "min_similarity": (0.0, 0.2, 0.35)}


class CachedEmbedder:
    """The packaged MiniLM's vectors, looked up from benchmarks/results/ (embedded once); a text
    the cache lacks (a stored turn the redactor changed: "call me <PERSON>") is embedded by the model."""

    dim = 384

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors
        self._model: Any = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            if self._model is None:
                from flywheel_middleware.embedding import SentenceTransformerEmbedder

                self._model = SentenceTransformerEmbedder(threads=1)
            self.vectors.update(zip(missing, self._model.embed(missing)))
        return np.stack([self.vectors[t] for t in texts]).astype(np.float32)


def build_store(split: str, folder: Path, emb: dict[str, np.ndarray]) -> tuple[Any, list[dict[str, Any]], list[tuple[str, str]]]:
    """A flywheel holding the part's CLINC train rows (20 % bad); returns (fw, stored rows, queries)."""
    from flywheel_middleware import Flywheel, Interaction

    rows = cs.load_split_rows(split)
    _, domain_of = cs.load_intents()
    intents = sorted({i for _, i in rows["train"]})
    by_domain = {d: [i for i in intents if domain_of[i] == d] for d in cs.DOMAIN_SPLIT[split]}
    rng = random.Random(f"fewshot-{split}")
    stored: list[dict[str, Any]] = []
    embedder = CachedEmbedder(emb)
    fw = Flywheel(folder, embedder=embedder, worker_mode="thread", flush_interval_s=0.05)
    for n, (text, intent) in enumerate(rows["train"]):
        bad = rng.random() < BAD_SHARE
        answer = rng.choice([i for i in by_domain[domain_of[intent]] if i != intent]) if bad else intent
        it = Interaction(input=text, output=f"intent: {answer}", session_id=f"past-{n}", user_id=f"user-{n}",
                         metadata={"category": domain_of[intent]})
        fw.record(it)
        fw.feedback(it.id, "thumbs_down" if bad else "thumbs_up", actor=f"user-{n}")
        stored.append({"id": it.id, "text": text, "intent": intent, "answer": answer, "good": not bad})
    fw.flush(900)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and fw.store.counts().rated < len(stored):
        time.sleep(0.2)
    for r in stored:  # what the store holds is the redacted text: every selector gets its vector
        kept = fw.store.get(r["id"])
        r["vector"] = embedder.embed([kept.input_text if kept is not None else r["text"]])[0]
    return fw, stored, rows["test"]


def score(selected: list[list[dict[str, Any]]], queries: list[tuple[str, str]], k: int) -> dict[str, float]:
    flat = [(intent, r) for (_, intent), rs in zip(queries, selected) for r in rs]
    n = max(1, len(flat))
    return {"k": k, "precision": sum(r["answer"] == qi for qi, r in flat) / n,
            "per_query": len(flat) / len(queries), "bad_injected": sum(not r["good"] for _, r in flat) / n}


def knn(pool: list[dict[str, Any]], emb: dict[str, np.ndarray]) -> Callable[[np.ndarray, int], list[dict[str, Any]]]:
    matrix = np.stack([r["vector"] for r in pool]).astype(np.float32)

    def select(qv: np.ndarray, k: int) -> list[dict[str, Any]]:
        sims = matrix @ qv
        top = np.argpartition(-sims, k)[:k]
        return [pool[i] for i in top[np.argsort(-sims[top])]]

    return select


def langchain_selectors(stored: list[dict[str, Any]], emb: dict[str, np.ndarray]) -> tuple[Any, Any]:
    from langchain_core.embeddings import Embeddings
    from langchain_core.example_selectors import MaxMarginalRelevanceExampleSelector, SemanticSimilarityExampleSelector
    from langchain_core.vectorstores import InMemoryVectorStore

    documents = {r["text"]: r["vector"] for r in stored}  # the stored (redacted) turns' vectors

    class Cached(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [documents[t].tolist() for t in texts]

        def embed_query(self, text: str) -> list[float]:
            return emb[text].tolist()

    store = InMemoryVectorStore(Cached())
    store.add_texts([r["text"] for r in stored], metadatas=[{"row": i} for i in range(len(stored))])
    return (SemanticSimilarityExampleSelector(vectorstore=store, k=4, input_keys=["text"]),
            MaxMarginalRelevanceExampleSelector(vectorstore=store, k=4, fetch_k=20, input_keys=["text"]))


def ours(fw: Any, by_id: dict[str, dict[str, Any]], queries: list[tuple[str, str]], emb: dict[str, np.ndarray],
         k: int, **options: Any) -> list[list[dict[str, Any]]]:
    return [[by_id[e.interaction_id] for e in fw.few_shot(None, k=k, session_id=None, query_vector=emb[q], **options)]
            for q, _ in queries]


def run(split: str, *, tune: bool = False) -> dict[str, Any]:
    emb = cs.embeddings()
    work = Path(tempfile.mkdtemp(prefix=f"fewshot-quality-{split}-"))
    t0 = time.perf_counter()
    fw, stored, queries = build_store(split, work / "fw", emb)
    build_s = time.perf_counter() - t0
    by_id = {r["id"]: r for r in stored}
    out: dict[str, Any] = {"split": split, "store": len(stored), "bad": sum(not r["good"] for r in stored),
                           "queries": len(queries), "build_s": round(build_s, 1)}
    try:
        if tune:
            grid = []
            for lam in TUNE_GRID["mmr_lambda"]:
                for dedup in TUNE_GRID["dedup_threshold"]:
                    for floor in TUNE_GRID["min_similarity"]:
                        res = score(ours(fw, by_id, queries, emb, 4, mmr_lambda=lam, dedup_threshold=dedup,
                                         min_similarity=floor), queries, 4)
                        grid.append({"mmr_lambda": lam, "dedup_threshold": dedup, "min_similarity": floor, **res})
                        print(json.dumps(grid[-1]))
            out["grid"] = grid
            return out
        good_knn = knn([r for r in stored if r["good"]], emb)
        all_knn = knn(stored, emb)
        lc_sim, lc_mmr = langchain_selectors(stored, emb)
        table: dict[str, list[dict[str, float]]] = {}
        for k in KS:
            lc_sim.k = k
            lc_mmr.k = k
            lc_mmr.fetch_k = max(20, 4 * k)
            rows = {
                "flywheel few_shot (defaults)": ours(fw, by_id, queries, emb, k),
                "flywheel few_shot, previous defaults (MMR 0.7, near-dup 0.95, floor 0.35)": ours(fw, by_id, queries, emb, k, **OLD_DEFAULTS),
                "plain kNN over the good turns (thumbs up only)": [good_knn(emb[q], k) for q, _ in queries],
                "plain kNN over all stored turns": [all_knn(emb[q], k) for q, _ in queries],
                "LangChain SemanticSimilarityExampleSelector": [[stored[e["row"]] for e in lc_sim.select_examples({"text": q})] for q, _ in queries],
                "LangChain MaxMarginalRelevanceExampleSelector (fetch_k 20)": [[stored[e["row"]] for e in lc_mmr.select_examples({"text": q})] for q, _ in queries],
            }
            for name, selected in rows.items():
                table.setdefault(name, []).append(score(selected, queries, k))
        out["table"] = table
        return out
    finally:
        fw.close()
        shutil.rmtree(work, ignore_errors=True)


def markdown(res: dict[str, Any]) -> str:
    lines = [f"Store: {res['store']:,} past turns (CLINC150 train rows of the {res['split']} domains), {res['bad']:,} of them "
             f"({res['bad'] / res['store']:.0%}) answered with a wrong label and flagged only by `thumbs_down`; "
             f"{res['queries']:,} queries (CLINC150 test rows of the same domains). {cs.SPLIT_NOTE}.", "",
             "precision@k = correct examples / injected examples; \"correct per slot\" = correct examples / (k x queries), "
             "which also counts the slots a selector leaves empty (our similarity floor).", "",
             "| selector | " + " | ".join(f"precision@{k}" for k in KS) + " | correct per slot @4 | examples / query (k = 2 / 4 / 8) | bad injected @4 |",
             "|---|" + "---|" * len(KS) + "---|---|---|"]
    for name, scores in res["table"].items():
        cells = [f"{s['precision']:.3f}" for s in scores]
        per = " / ".join(f"{s['per_query']:.2f}" for s in scores)
        at4 = next(s for s in scores if s["k"] == 4)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {at4['precision'] * at4['per_query'] / 4:.3f} | {per} | "
                     f"{at4['bad_injected']:.1%} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tune", action="store_true", help="the defaults grid on the tune domains")
    parser.add_argument("--split", default=None, help="override the part (report, tune)")
    args = parser.parse_args(argv)
    _common.one_thread()
    split = args.split or ("tune" if args.tune else "report")
    res = run(split, tune=args.tune)
    if args.tune:
        best = sorted(res["grid"], key=lambda g: -g["precision"])[:10]
        print("best on tune:", json.dumps(best, indent=1))
    else:
        print(markdown(res))
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
