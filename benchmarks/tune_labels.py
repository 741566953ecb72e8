"""Tuning aid for the export's label quality (not a reported figure): the demo's simulated users and
the real flywheel (store, worker, implicit signals, reward, export with its label-agreement filter),
with a stand-in router instead of SmolLM2 so that many settings can be tried in minutes.

The stand-in answers right with a per-cycle probability and otherwise names another intent of the
same domain or, like the untrained SmolLM2, says something that is no label at all. Users ask
CLINC150 **validation** questions of domains the reported runs do not use (default: home, utility,
work), so tuning never sees the traffic or the held-out questions of ``bench_flywheel.py`` /
``flywheel demo``. Reported precision comes from those, on the real model.

    .venv/bin/python benchmarks/tune_labels.py [--cycles 3] [--sessions 150] [--right 0 0.6 0.8]
        [--try 'agreement=false' --try 'min_agreement=0.6 short_words=null']
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "benchmarks" / "data" / "public" / "clinc150"


def stand_in(truth_of: dict[str, str], domains: dict[str, list[str]], right: list[float], garbage: float) -> Any:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    domain_of = {i: d for d, intents in domains.items() for i in intents}

    class StandIn(BaseChatModel):
        cycle: int = 1

        @property
        def _llm_type(self) -> str:
            return "stand-in-router"

        def _generate(self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
            question = str([m for m in messages if isinstance(m, HumanMessage)][-1].content)
            truth = truth_of.get(question)
            rng = random.Random(f"{question}-{self.cycle}")
            p = right[min(self.cycle, len(right)) - 1]
            if truth is None:  # "that's not right", "a human please"
                reply = "sorry about that"
            elif rng.random() < p:
                reply = truth
            elif rng.random() < garbage:
                reply = rng.choice(["You can do that in the app", "I'm sorry for your loss", "Sure, I can help"])
            else:
                reply = rng.choice([i for i in domains[domain_of[truth]] if i != truth])
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=reply))])

    return StandIn()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=150)
    parser.add_argument("--domains", nargs="+", default=["home", "utility", "work"])
    parser.add_argument("--right", type=float, nargs="+", default=[0.0, 0.6, 0.8])
    parser.add_argument("--garbage", type=float, default=0.5, help="share of wrong answers that are no label")
    parser.add_argument("--wrong-feedback", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--try", dest="tries", action="append", default=[],
                        help="a set of export options 'NAME=JSON NAME=JSON' to measure (repeatable; default: the defaults)")
    args = parser.parse_args()

    import os

    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    from flywheel_middleware import Flywheel
    from flywheel_middleware._demo_world import IntentData, build_agent, load_intents
    from flywheel_middleware.demo import CycleResult, DemoConfig, _Traffic, export_options, export_precision

    full = load_intents(args.domains, DATA, "val")  # .test holds the validation split here
    data = IntentData(full.domains, train=full.test, test={})  # users ask validation questions
    truth_of = {q: i for i, qs in data.train.items() for q in qs}
    tries = [{k: json.loads(v) for k, v in (o.split("=", 1) for o in t.split())} for t in (args.tries or [""])]
    cfg = DemoConfig(sessions=args.sessions, wrong_feedback=args.wrong_feedback, seed=args.seed)
    model = stand_in(truth_of, data.domains, args.right, args.garbage)
    with tempfile.TemporaryDirectory() as tmp:
        fw = Flywheel(Path(tmp) / "store", flush_interval_s=0.05, worker_mode="thread")
        try:
            agent = build_agent(fw, model, data.intents, few_shot_k=0)
            traffic = _Traffic(fw, agent, fw.langchain(), data, cfg)
            for cycle in range(1, args.cycles + 1):
                model.cycle = cycle
                result = CycleResult(cycle)
                traffic.run(cycle, result, lambda: None)
                fw.flush(600)
                fw.flush(600)
                print(f"cycle {cycle}: first answers right {result.live_accuracy:.0%}, "
                      f"signals {dict(fw.stats()['signals_by_kind'])}", flush=True)
                for options in tries:
                    line = [f"  {options or 'defaults'}"]
                    for kind in ("sft", "dpo", "kto"):
                        out = Path(tmp) / f"c{cycle}-{kind}"
                        try:
                            fw.export(kind, out, **{**export_options(cfg), **options})
                        except Exception as exc:  # noqa: BLE001 - a tuning aid: say it and go on
                            line.append(f"{kind}: {type(exc).__name__}")
                            continue
                        p = export_precision(kind, out, traffic.truth)
                        by = ", ".join(f"{s} {v['precision']:.2f}/{v['rows']}" for s, v in p["by_source"].items())
                        line.append(f"{kind} {p['precision']:.3f} ({p['rows']}: {by})")
                    print(" | ".join(line), flush=True)
        finally:
            fw.close()


if __name__ == "__main__":
    main()
