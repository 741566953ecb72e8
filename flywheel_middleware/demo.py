"""``flywheel demo``: the whole flywheel, offline, in a few minutes on a laptop.

A LangGraph support agent (``create_react_agent`` with a deterministic simulated model, two tools
and dynamic few-shot from the store) serves simulated users who copy, rate, rephrase, correct,
ask for a human and stop the agent. Each cycle then:

capture (one callback) -> signals (explicit + implicit, in the worker) -> store (redacted, FAISS)
-> few-shot (next cycle's prompts) -> export (SFT + DPO, versioned) -> LoRA on a tiny local model
-> three-way evaluation -> gate; and at the end an HTML report with the plan.

The simulated model knows two of six intents; good past answers injected as examples lift it,
which the before/after table shows per cycle (held-out questions, without vs with few-shot).
The LoRA step runs on a tiny random model built locally, so its gate decision demonstrates the
mechanics (lineage, metrics, reasons), not a quality change: point ``flywheel train`` at a real
local model for that.
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass
class CycleResult:
    cycle: int
    sessions: int = 0
    turns: int = 0
    first_answers: int = 0
    first_correct: int = 0
    eval_base: float = 0.0
    eval_few_shot: float = 0.0
    good_examples: int = 0
    signals: dict[str, int] = field(default_factory=dict)
    sft_rows: int = 0
    dpo_rows: int = 0
    sft_version: str = ""
    train_loss: float | None = None
    gate: str = ""
    gate_reason: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def success(self) -> float:
        return self.first_correct / self.first_answers if self.first_answers else 0.0


def _agent(fw: Any, *, few_shot: bool) -> Any:
    from ._extras import requires_extra

    with requires_extra("langchain", "the demo"):
        from langgraph.prebuilt import create_react_agent

    from ._demo_world import TOOLS, SupportModel

    prompt = None
    if few_shot:
        from .adapters.fewshot_langchain import FlywheelFewShotPrompt

        prompt = FlywheelFewShotPrompt(fw, k=2, cache_ttl_s=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return create_react_agent(SupportModel(), TOOLS, prompt=prompt)


def _answer_of(result: dict[str, Any]) -> str:
    return str(result["messages"][-1].content)


def _session(fw: Any, agent: Any, handler: Any, cycle: int, n: int, result: CycleResult) -> None:
    """One simulated conversation; every turn goes through the agent with our one callback."""
    from ._demo_world import INTENTS, SimulatedUser, chance

    user = SimulatedUser(f"user-{(cycle * 7 + n) % 23}")
    session = f"c{cycle}-s{n}"
    intent = INTENTS[int(chance("intent", cycle, n) * len(INTENTS))]
    asked = [intent.traffic_questions[int(chance("q", cycle, n) * 6)]]
    config = {"callbacks": [handler], "metadata": {"session_id": session, "user_id": user.user_id}}
    result.sessions += 1
    if chance("impatient", cycle, n) < 0.08:  # the user hits "stop" before the answer, then asks again
        stream = agent.stream({"messages": [("user", asked[0])]}, config=config)
        next(stream)
        stream.close()
        result.turns += 1
    for turn in range(3):
        out = agent.invoke({"messages": [("user", asked[-1])]}, config=config)
        iid, answer = handler.last_interaction_id(), _answer_of(out)
        result.turns += 1
        if turn == 0:
            from ._demo_world import is_correct

            result.first_answers += 1
            result.first_correct += int(is_correct(intent, answer))
        reaction = user.react(intent, answer, turn)
        if reaction.kind in ("copy", "thumbs_up", "thumbs_down", "rating"):
            fw.feedback(iid, reaction.kind, reaction.value, actor=user.user_id)
            return
        if reaction.kind == "correct":
            fw.correct(iid, reaction.value, original=answer, actor=user.user_id)
            agent.invoke({"messages": [("user", f"That's not right. {reaction.value}")]}, config=config)
            result.turns += 1
            return
        if reaction.kind == "human":
            agent.invoke({"messages": [("user", "This is not helping, let me talk to a person.")]}, config=config)
            result.turns += 1
            return
        if reaction.kind == "rephrase":
            asked.append(user.rephrase(intent, asked))
            continue
        return  # nothing / abandon


def _evaluate_agents(fw: Any, base_agent: Any, few_shot_agent: Any) -> tuple[float, float]:
    """Held-out questions (never asked in traffic), without and with few-shot from the store."""
    from ._demo_world import INTENTS, is_correct

    scores = []
    for agent in (base_agent, few_shot_agent):
        right = total = 0
        for intent in INTENTS:
            for q in intent.eval_questions:
                out = agent.invoke({"messages": [("user", q)]}, config={"metadata": {"session_id": "offline-eval"}})
                right += int(is_correct(intent, _answer_of(out)))
                total += 1
        scores.append(right / total)
    return scores[0], scores[1]


def _train_and_gate(fw: Any, root: Path, tiny: Path, cycle: int, result: CycleResult, quick: bool) -> None:
    """Export SFT + DPO, LoRA-train the tiny model, evaluate three ways, and let the gate decide."""
    from .trainers import SFTTrainConfig, compare_three_way, decide, load_cases, train_sft

    exports = root / "exports" / f"cycle-{cycle}"
    sft = fw.export("sft", exports / "sft", min_rows=1)
    result.sft_rows, result.sft_version = sft.rows, sft.version
    try:
        result.dpo_rows = fw.export("dpo", exports / "dpo", min_rows=1).rows
    except Exception:  # noqa: BLE001 - not enough pairs yet is normal in early cycles
        result.dpo_rows = 0
    if sft.train == 0:
        result.gate, result.gate_reason = "skipped", "no training rows yet"
        return
    steps = 4 if quick else 8
    trained = train_sft(exports / "sft", tiny, root / "models" / f"sft-cycle-{cycle}",
                        SFTTrainConfig(max_steps=steps, per_device_train_batch_size=4, max_length=256, disable_tqdm=True,
                                       logging_steps=1, save_steps=10_000),
                        registry=root / "models")
    result.train_loss = trained.train_loss
    cases = load_cases(exports / "sft")[: (4 if quick else 8)] or load_cases(exports / "sft" / "train.jsonl")[:4]

    def store_examples(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        query = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        return [m for ex in fw.few_shot(str(query), 2, session_id=None) for m in ex.messages if m.get("role") in ("user", "assistant") and m.get("content")]

    reports = compare_three_way(str(tiny), cases, adapter=str(trained.adapter_dir), few_shot=store_examples, max_new_tokens=12)
    decision = decide(reports["candidate"], reports["few_shot"], registry=root / "models", adapter_id=trained.adapter_id)
    result.gate = "promote" if decision.promote else "reject"
    result.gate_reason = decision.reasons[0] if decision.reasons else ""


_SHORT = {"thumbs_up": "👍", "thumbs_down": "👎", "correction": "correct", "correction_phrase": "wrong!",
          "rephrase": "rephr", "escalate": "human", "rating": "rate"}
_SIGNAL_COLUMNS = ("copy", "thumbs_up", "rating", "thumbs_down", "correction", "correction_phrase", "rephrase", "escalate", "abort")


def _tables(results: list[CycleResult]) -> list[Any]:
    from rich.table import Table

    cycles = Table(title="flywheel cycles: before / after")
    for col in ("cycle", "sessions", "turns", "ok 1st", "base", "+fewshot", "good", "sft/dpo", "loss", "gate"):
        cycles.add_column(col, justify="left" if col == "gate" else "right")
    cycles.caption = ("ok 1st: first answers right in live traffic; base / +fewshot: held-out questions without / with "
                      "few-shot from the store; good: trajectories labelled good; sft/dpo: exported rows; loss: LoRA train loss")
    signals = Table(title="signals per cycle (explicit + implicit)")
    signals.add_column("cycle", justify="right")
    for kind in _SIGNAL_COLUMNS:
        signals.add_column(_SHORT.get(kind, kind), justify="right")
    previous: dict[str, int] = {}
    for r in results:
        cycles.add_row(str(r.cycle), str(r.sessions), str(r.turns), f"{r.success:.0%}", f"{r.eval_base:.0%}",
                       f"{r.eval_few_shot:.0%}", str(r.good_examples), f"{r.sft_rows}/{r.dpo_rows}",
                       "-" if r.train_loss is None else f"{r.train_loss:.2f}", r.gate)
        signals.add_row(str(r.cycle), *(str(r.signals.get(k, 0) - previous.get(k, 0)) for k in _SIGNAL_COLUMNS))
        previous = r.signals
    return [cycles, signals]


def run_demo(path: Path, *, phoenix: str | None = None, quick: bool = False, cycles: int | None = None,
             sessions: int | None = None, console: Any = None) -> list[CycleResult]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .flywheel import Flywheel
    from .report import build_report

    console = console or Console()
    cycles = cycles or (2 if quick else 3)
    sessions = sessions or (24 if quick else 60)
    root = Path(path)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    overrides: dict[str, Any] = {"flush_interval_s": 0.05}
    if phoenix:
        overrides["phoenix_endpoint"] = phoenix
    results: list[CycleResult] = []
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        setup = progress.add_task("starting: store, worker, tiny model", total=2)
        fw = Flywheel(root / "store", **overrides)
        from .trainers import build_tiny_model

        tiny = build_tiny_model(root / "tiny-model")
        progress.advance(setup, 2)
        try:
            base_agent, few_shot_agent = _agent(fw, few_shot=False), _agent(fw, few_shot=True)
            handler = fw.langchain()
            for cycle in range(1, cycles + 1):
                t0 = time.perf_counter()
                result = CycleResult(cycle)
                task = progress.add_task(f"cycle {cycle}: simulated users", total=sessions + 3)
                for n in range(sessions):
                    _session(fw, few_shot_agent, handler, cycle, n, result)
                    progress.advance(task)
                result.timings["traffic"] = time.perf_counter() - t0
                progress.update(task, description=f"cycle {cycle}: signals + store")
                fw.flush(600)
                fw.flush(600)  # implicit signals found by the worker go through the queue once more
                result.timings["ingest"] = time.perf_counter() - t0 - result.timings["traffic"]
                result.signals = {k: v for k, v in fw.stats()["signals_by_kind"].items()}
                result.good_examples = fw.store.counts().rewards_by_label.get("good", 0)
                progress.advance(task)
                progress.update(task, description=f"cycle {cycle}: before/after eval")
                t1 = time.perf_counter()
                result.eval_base, result.eval_few_shot = _evaluate_agents(fw, base_agent, few_shot_agent)
                result.timings["eval"] = time.perf_counter() - t1
                progress.advance(task)
                progress.update(task, description=f"cycle {cycle}: export, LoRA, gate")
                t1 = time.perf_counter()
                _train_and_gate(fw, root, tiny, cycle, result, quick)
                result.timings["export+train+gate"] = time.perf_counter() - t1
                progress.advance(task)
                progress.update(task, description=f"cycle {cycle}: done")
                result.seconds = time.perf_counter() - t0
                results.append(result)
            report_task = progress.add_task("report", total=1)
            window = max(1.0, min(r.seconds for r in results))
            build_report(fw, root / "report.html", window=window, title="flywheel demo report")
            progress.advance(report_task)
        finally:
            fw.close()
    for table in _tables(results):
        console.print(table)
    for r in results:
        if r.gate_reason:
            console.print(f"cycle {r.cycle} gate: {r.gate}: {r.gate_reason}")
        console.print(f"cycle {r.cycle} seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in r.timings.items()))
    console.print(f"store: {root / 'store'}   report: {root / 'report.html'}   exports: {root / 'exports'}   "
                  f"models: {root / 'models'}   ({time.perf_counter() - started:.0f} s)")
    if phoenix:
        console.print(f"traces and feedback annotations: {phoenix} (project 'default', sessions c1-s0 ...)")
    return results
