"""Signals and few-shot measured the way a user runs them: a LangChain chain whose prompt variable is
*not* one the library knows (``{customer_message}``), each turn traced with ``fw.langchain()``, the
worker in its own process (the default), results read back with ``fw.signals()`` / ``fw.few_shot()``.

    python benchmarks/bench_public_api.py                  # both parts, CLINC150 report domains
    python benchmarks/bench_public_api.py --part rephrase --per-intent 4

Nothing here is tuned: it runs the shipped defaults on the report domains of the split in
``clinc_sessions.py`` (never used for training or tuning), so its figures can be set beside
``bench_detectors.py`` (the detector called directly) and ``fewshot_quality.py`` (``fw.record``).
The chat model is a scripted stand-in (a ``BaseChatModel`` that replies with the session's answer):
the capture, the turn's text, the embedding model, the worker, the detector, the store and the
retrieval are the real ones.

* **rephrase**: the sessions of ``clinc_sessions.sessions("report")``: first turns, then (after the
  first answers and a ``thumbs_up`` on the good ones) the second turns; a session counts as detected
  when ``fw.signals(first_turn_id)`` holds a ``rephrase``.
* **few-shot**: CLINC's train rows of the report domains as past turns answered with their intent
  (20 % with another intent of the same domain and a ``thumbs_down``, the rest a ``thumbs_up``);
  its test rows as questions; precision@4 = share of injected examples whose answer is the
  question's intent.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import _common  # noqa: E402,F401  (one thread, offline)
import clinc_sessions as cs  # noqa: E402

KEY = "customer_message"  # a prompt variable the library has no rule for


def scripted_chain(replies: dict[str, str]) -> Any:
    """``prompt | model``: the model replies with ``replies[question]`` (the caller sets the session's
    answer in the dict before each turn; one chain serves the whole run)."""
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_core.prompts import ChatPromptTemplate

    class Scripted(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "scripted"

        def _generate(self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
            question = str([m for m in messages if isinstance(m, HumanMessage)][-1].content)
            return ChatResult(generations=[ChatGeneration(message=AIMessage(replies.get(question, "Okay.")))])

    prompt = ChatPromptTemplate.from_messages([("system", "You are the support assistant of a bank and travel agency."),
                                               ("human", "{" + KEY + "}")])
    return prompt | Scripted()


def _turn(chain: Any, handler: Any, text: str, session: str, user: str) -> str:
    chain.invoke({KEY: text}, config={"callbacks": [handler], "metadata": {"session_id": session, "user_id": user}})
    return str(handler.last_interaction_id())


def rephrase_part(folder: Path, per_intent: int) -> dict[str, Any]:
    from flywheel_middleware import Flywheel

    sessions = cs.sessions("report", per_intent=per_intent)
    fw = Flywheel(folder / "rephrase")
    handler = fw.langchain()
    replies: dict[str, str] = {}
    chain = scripted_chain(replies)
    firsts: list[str] = []
    t0 = time.perf_counter()
    for n, s in enumerate(sessions):  # each first question is asked once per session, with that session's answer
        replies[s.turns[0]] = s.answers[0]
        firsts.append(_turn(chain, handler, s.turns[0], f"s{n}", f"u{n}"))
        if s.label == "repeat_after_good":
            fw.feedback(firsts[-1], "thumbs_up", actor=f"u{n}")
    fw.flush(1800)
    replies.clear()  # the second answers do not matter ("Okay.")
    for n, s in enumerate(sessions):
        _turn(chain, handler, s.turns[1], f"s{n}", f"u{n}")
    fw.flush(1800)
    fw.flush(600)  # flush waits for the detectors' signals too; a second one catches late rounds
    found = [any(sig.kind == "rephrase" for sig in fw.signals(i)) for i in firsts]
    seconds = time.perf_counter() - t0
    empty = fw.stats()["counters"].get("empty_turn_text", 0)
    fw.close()
    gold = [s.is_rephrase for s in sessions]
    tp = sum(f and g for f, g in zip(found, gold))
    fp = sum(f and not g for f, g in zip(found, gold))
    fn = sum(g and not f for f, g in zip(found, gold))
    p = tp / max(1, tp + fp)
    r = tp / max(1, tp + fn)
    by_kind: dict[str, dict[str, int]] = {}
    for f, s in zip(found, sessions):
        d = by_kind.setdefault(s.answer_kind, {"sessions": 0, "flagged": 0, "rephrases": 0})
        d["sessions"] += 1
        d["flagged"] += int(f)
        d["rephrases"] += int(s.is_rephrase)
    return {"sessions": len(sessions), "precision": p, "recall": r, "f1": 2 * p * r / max(1e-9, p + r),
            "tp": tp, "fp": fp, "fn": fn, "empty_turn_text": empty, "seconds": seconds, "by_answer": by_kind}


def fewshot_part(folder: Path, k: int = 4, bad_share: float = 0.2) -> dict[str, Any]:
    from flywheel_middleware import Flywheel

    rows = cs.load_split_rows("report")
    _, domain_of = cs.load_intents()
    intents = sorted({i for _, i in rows["train"]})
    by_domain = {d: [i for i in intents if domain_of[i] == d] for d in cs.DOMAIN_SPLIT["report"]}
    rng = random.Random("public-api-fewshot")
    fw = Flywheel(folder / "fewshot")
    handler = fw.langchain()
    replies: dict[str, str] = {}
    chain = scripted_chain(replies)
    bad_ids: set[str] = set()
    t0 = time.perf_counter()
    for n, (text, intent) in enumerate(rows["train"]):
        bad = rng.random() < bad_share
        answer = rng.choice([i for i in by_domain[domain_of[intent]] if i != intent]) if bad else intent
        replies[text] = answer
        iid = _turn(chain, handler, text, f"past-{n}", f"user-{n}")
        fw.feedback(iid, "thumbs_down" if bad else "thumbs_up", actor=f"user-{n}")
        if bad:
            bad_ids.add(iid)
    fw.flush(1800)
    time.sleep(3)  # rewards are computed by the worker right after the feedback is stored
    ingest_s = time.perf_counter() - t0
    injected = correct = bad_injected = 0
    latencies: list[float] = []
    for question, intent in rows["test"]:
        t = time.perf_counter()
        examples = fw.few_shot(question, k=k, session_id=None)
        latencies.append(time.perf_counter() - t)
        injected += len(examples)
        correct += sum(e.output.strip() == intent for e in examples)
        bad_injected += sum(e.interaction_id in bad_ids for e in examples)
    fw.close()
    latencies.sort()
    return {"stored": len(rows["train"]), "queries": len(rows["test"]), "k": k,
            f"precision@{k}": correct / max(1, injected), "examples_per_query": injected / len(rows["test"]),
            "bad_injected": bad_injected / max(1, injected), "ingest_s": ingest_s,
            "few_shot_p50_ms (query embedding included)": 1e3 * latencies[len(latencies) // 2]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("rephrase", "fewshot", "both"), default="both")
    parser.add_argument("--per-intent", type=int, default=12, help="first questions per intent (rephrase part)")
    args = parser.parse_args(argv)
    out: dict[str, Any] = {"data": cs.SPLIT_NOTE + " (report domains)", "input_key": KEY,
                           "loadavg_start": Path("/proc/loadavg").read_text().split()[:3]}
    with tempfile.TemporaryDirectory() as tmp:
        if args.part in ("rephrase", "both"):
            out["rephrase"] = rephrase_part(Path(tmp), args.per_intent)
            print(json.dumps({"rephrase": out["rephrase"]}), flush=True)
        if args.part in ("fewshot", "both"):
            out["fewshot"] = fewshot_part(Path(tmp))
            print(json.dumps({"fewshot": out["fewshot"]}), flush=True)
    out["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
