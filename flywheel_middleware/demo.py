"""``flywheel demo``: the whole flywheel on a real model, offline, in a few minutes on two CPU cores.

A LangGraph support agent whose router is SmolLM2-135M-Instruct (the packaged base model, through
``langchain-huggingface``) serves simulated users asking CLINC150 questions (see
``_demo_world``). Each cycle:

live traffic with few-shot from the store -> signals (explicit + implicit, in the worker) ->
reward -> export (SFT, DPO, KTO; versioned) -> LoRA SFT, then DPO on top -> held-out evaluation,
four arms -> gate (paired test against the serving model) -> the promoted adapter serves the next
cycle's traffic.

The held-out questions come from CLINC150's test split: no simulated user asks them, so they are
never stored, never retrieved as few-shot examples and never exported. The export's label
precision is measured against the truth the simulator knows. Everything goes to ``--path``:
the store, the exports, the adapters and their registry, ``report.html`` and ``summary.json``.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MARKER = ".flywheel-demo"
ARM_NAMES = {"base": "base", "few_shot": "few_shot", "candidate": "adapter", "candidate_few_shot": "adapter_few_shot"}
SIGNAL_KINDS = ("copy", "thumbs_up", "rating", "thumbs_down", "correction", "correction_phrase", "rephrase", "escalate")


class DemoError(RuntimeError):
    """A demo that cannot run as asked (a folder that is not a demo's, too few sessions...)."""


@dataclass
class DemoConfig:
    """The demo's settings; the defaults were tuned on CLINC150's validation split (README "The ladder")."""

    cycles: int = 2
    sessions: int = 60  # simulated conversations per cycle
    domains: tuple[str, ...] = ("banking",)  # 15 intents; the packaged subset also has travel
    heldout_per_intent: int = 2  # held-out questions per intent (CLINC150 test split): 30, the gate's minimum
    few_shot_k: int = 2
    wrong_feedback: float = 0.2  # share of clicks (thumbs, ratings, copies) that contradict the truth
    wrong_correction: float = 0.05  # share of corrections that name a wrong intent
    min_confidence: float = 0.7  # reward confidence a label needs, for few-shot and export alike: a click
    # contradicted by what the user did next (rephrased, asked for a human) does not make a label
    label_words: int | None = 8  # the router answers with intent labels: the export's label agreement
    # (ExportOptions.short_words) treats two labels approved for near-identical questions as a contradiction
    label_similarity: float = 0.5  # questions this similar (MiniLM cosine) are compared by the label agreement
    # (tuned with benchmarks/tune_labels.py on CLINC150 validation questions of home, utility, work)
    base_model: str = "smollm2"
    data_path: str | None = None  # CLINC150 folder (data_full.json + domains.json); default: the packaged subset
    heldout_split: str = "test"  # "val" to tune settings (needs data_path), "test" to report
    sft_epochs: float = 3.0
    sft_lr: float = 5e-3
    warm_start: bool = True  # SFT continues from the serving adapter (a promoted one), not from the base model
    sft_batch: int = 8  # 8 rather than 16: twice the optimizer steps for the same compute (val: 24 -> 46 %)
    lora_r: int = 16
    lora_top_layers: int | None = 8  # LoRA on the top 8 of 30 layers: a CPU step costs a third
    min_train_rows: int = 10  # fewer SFT rows: no training this cycle (said in the tables)
    dpo_min_pairs: int = 8
    dpo_epochs: float = 1.0
    dpo_lr: float = 5e-5
    dpo_beta: float = 0.1
    concurrency: int = 2  # sessions served at once (one torch thread each)
    threads: int = 0  # torch threads for training and batched evaluation (0: auto, see _threads)
    eval_batch: int = 32
    max_new_tokens: int = 6
    min_cases: int = 30
    alpha: float = 0.05
    tolerance: float = 0.05
    seed: int = 0


@dataclass
class CycleResult:
    """Every figure of one cycle (what ``summary.json`` and the tables show)."""

    cycle: int
    sessions: int = 0
    turns: int = 0
    first_answers: int = 0
    first_right: int = 0
    wrong_feedback_events: int = 0
    feedback_events: int = 0
    signals: dict[str, int] = field(default_factory=dict)
    exports: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> rows, version, precision
    training: dict[str, dict[str, Any]] = field(default_factory=dict)  # sft / dpo -> steps, loss, seconds, adapter
    heldout: dict[str, dict[str, Any]] = field(default_factory=dict)  # arm -> accuracy, ci, tokens, latency, per domain
    gate: dict[str, Any] = field(default_factory=dict)
    serving: str = "base"
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def live_accuracy(self) -> float:
        return self.first_right / self.first_answers if self.first_answers else 0.0


# -- the demo folder ---------------------------------------------------------------------------------
def prepare_folder(root: Path) -> None:
    """Create ``root``, or wipe it if a previous demo made it; refuse any other non-empty folder."""
    if root.exists() and not root.is_dir():
        raise DemoError(f"{root} exists and is not a folder")
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise DemoError(f"{root} is not empty and was not made by `flywheel demo`: nothing was deleted. "
                            "Pass --path with a new or empty folder (or a previous demo's folder, which is replaced).")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("made by `flywheel demo`; the next demo with this --path replaces this folder\n")


# -- traffic -----------------------------------------------------------------------------------------
class _Traffic:
    """Runs simulated sessions through the agent and remembers the truth of every turn."""

    def __init__(self, fw: Any, agent: Any, handler: Any, data: Any, cfg: DemoConfig) -> None:
        self.fw, self.agent, self.handler, self.data, self.cfg = fw, agent, handler, data, cfg
        self.truth: dict[str, str | None] = {}  # interaction id -> the intent the user meant (None: "that's wrong")

    def _turn(self, text: str, session: str, user: str, truth: str | None) -> tuple[str, str]:
        import uuid

        iid = str(uuid.uuid4())
        config = {"callbacks": [self.handler], "run_id": uuid.UUID(iid),
                  "metadata": {"session_id": session, "user_id": user}}
        out = self.agent.invoke({"messages": [("user", text)]}, config=config)
        self.truth[iid] = truth
        return iid, str(out["messages"][-1].content)

    def session(self, cycle: int, n: int, result: CycleResult) -> None:
        from ._demo_world import HUMAN, NOT_RIGHT, SimulatedUser

        rng = random.Random(f"{self.cfg.seed}-{cycle}-{n}")
        intent = rng.choice(self.data.intents)
        domain_intents = self.data.domains[self.data.domain_of(intent)]
        user = SimulatedUser(f"user-{rng.randrange(40)}", intent, domain_intents, rng, self.cfg.wrong_feedback,
                             self.cfg.wrong_correction)
        session = f"c{cycle}-s{n}"
        question = user.next_question(self.data.train[intent])
        turns = 0
        for turn in range(3):
            if question is None:
                break
            iid, answer = self._turn(question, session, user.user_id, intent)
            turns += 1
            if turn == 0:
                result.first_answers += 1
                result.first_right += int(answer == intent)
            reaction = user.react(answer, turn)
            for event in (reaction.click, reaction):
                if event is not None and event.kind in ("copy", "thumbs_up", "thumbs_down", "rating", "correct"):
                    result.feedback_events += 1
                    result.wrong_feedback_events += int(event.wrong)
            if reaction.click is not None:
                self.fw.feedback(iid, reaction.click.kind, reaction.click.value, actor=user.user_id)
            if reaction.kind == "correct":
                self.fw.correct(iid, reaction.value, original=answer, actor=user.user_id)
                break
            if reaction.kind in ("copy", "thumbs_up", "thumbs_down", "rating"):
                self.fw.feedback(iid, reaction.kind, reaction.value, actor=user.user_id)
                break
            if reaction.kind in ("not_right", "human"):
                self._turn(rng.choice(NOT_RIGHT if reaction.kind == "not_right" else HUMAN), session, user.user_id, None)
                turns += 1
                if reaction.kind == "human" or rng.random() < 0.5:
                    break
                question = user.next_question(self.data.train[intent])
                continue
            if reaction.kind == "rephrase":
                question = user.next_question(self.data.train[intent])
                continue
            break  # nothing / leave
        result.sessions += 1
        result.turns += turns

    def run(self, cycle: int, result: CycleResult, tick: Callable[[], None]) -> None:
        import torch

        torch.set_num_threads(1)  # one thread per concurrent session: two sessions use both cores
        with ThreadPoolExecutor(max_workers=max(1, self.cfg.concurrency)) as pool:
            futures = [pool.submit(self.session, cycle, n, result) for n in range(self.cfg.sessions)]
            for f in futures:
                f.result()
                tick()


# -- export precision --------------------------------------------------------------------------------
def export_precision(kind: str, folder: Path, truth: dict[str, str | None]) -> dict[str, Any]:
    """Share of exported rows whose label agrees with the truth (SFT target, DPO chosen-right-and-
    rejected-wrong, KTO label), over train + eval, by row source."""
    from ._demo_world import parse_label

    rows: list[dict[str, Any]] = []
    for name in ("train.jsonl", "eval.jsonl"):
        path = folder / name
        if path.exists():
            rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    right = 0
    by_source: dict[str, list[int]] = {}
    for row in rows:
        md = row.get("metadata") or {}
        meant = truth.get(str(md.get("interaction_id")))
        if kind == "sft":
            ok = meant is not None and parse_label(row["messages"][-1]["content"]) == meant
        elif kind == "dpo":
            chosen, rejected = parse_label(row["chosen"][-1]["content"]), parse_label(row["rejected"][-1]["content"])
            ok = meant is not None and chosen == meant and rejected != meant
        else:
            said = parse_label(row["completion"][-1]["content"])
            ok = meant is not None and ((said == meant) == bool(row["label"]))
        right += int(ok)
        tally = by_source.setdefault(str(md.get("source")), [0, 0])
        tally[0] += int(ok)
        tally[1] += 1
    return {"rows": len(rows), "precision": right / len(rows) if rows else None,
            "by_source": {s: {"rows": n, "precision": k / n} for s, (k, n) in sorted(by_source.items())}}


# -- evaluation --------------------------------------------------------------------------------------
def heldout_cases(data: Any, per_intent: int, seed: int = 0) -> list[Any]:
    """CLINC150 test questions as eval cases (reference = the intent, category = its domain)."""
    from ._demo_world import ROUTER_SYSTEM
    from .trainers.evaluate import EvalCase

    return [EvalCase(id=f"heldout-{i}", messages=[{"role": "system", "content": ROUTER_SYSTEM}, {"role": "user", "content": q}],
                     reference=intent, category=data.domain_of(intent), metadata={"intent": intent})
            for i, (q, intent) in enumerate(data.heldout(per_intent, seed))]


def store_few_shot(fw: Any, k: int, **options: Any) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """The few-shot provider of the evaluation: the same retrieval the agent uses (good trajectories)."""

    def provide(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        query = next((str(m["content"]) for m in reversed(messages) if m.get("role") == "user"), "")
        return [{"role": m["role"], "content": m.get("content") or ""} for ex in fw.few_shot(query, k, session_id=None, **options)
                for m in ex.messages if m.get("role") in ("user", "assistant")]

    return provide


def arm_figures(report: Any) -> dict[str, Any]:
    """Accuracy with its 95 % CI, tokens and latency of one arm, overall and per domain."""
    overall = report.overall
    return {
        "accuracy": overall["normalized"], "ci95": overall["normalized_ci95"], "n": overall["n"],
        "prompt_tokens": overall["prompt_tokens_mean"], "latency_ms": (overall["latency_mean_s"] or 0.0) * 1000,
        "per_domain": {c: {"accuracy": m["normalized"], "ci95": m["normalized_ci95"], "n": m["n"]}
                       for c, m in report.categories.items()},
    }


# -- the run -----------------------------------------------------------------------------------------
def _threads(n: int) -> int:
    """Every core nobody else uses (``_cpu.idle_cores``: the machine's busy time minus the demo's
    own); one thread when other work competes (OpenMP threads spin-wait for each other, so two
    threads sharing a core with another program run many times slower)."""
    import torch

    from ._cpu import idle_cores

    if n <= 0:
        n = idle_cores()
    torch.set_num_threads(n)
    return n


def _train(fw: Any, root: Path, cycle: int, cfg: DemoConfig, base: str, result: CycleResult,
           bar: Callable[[str, int, int], None], serving: str | None = None) -> str | None:
    """SFT on the cycle's export, then DPO on top when there are pairs; returns the candidate adapter.

    With a promoted adapter serving (``serving``, and ``cfg.warm_start``), SFT continues from it: the
    export holds every cycle's rows, so the rows it learned get more epochs and the new ones theirs,
    for the compute of one pass over the export."""
    from .trainers import DPOTrainConfig, Registry, SFTTrainConfig, train_dpo, train_sft

    registry = Registry(root / "models")
    sft_dir = root / "exports" / f"cycle-{cycle}" / "sft"
    rows = result.exports.get("sft", {}).get("rows", 0)
    if rows < cfg.min_train_rows:
        result.training["sft"] = {"skipped": f"{rows} SFT rows < {cfg.min_train_rows}: run more --sessions"}
        return None
    steps = max(4, math.ceil(cfg.sft_epochs * rows / cfg.sft_batch))
    t0 = time.perf_counter()
    parent = serving if cfg.warm_start else None
    sft = train_sft(sft_dir, base, root / "models" / f"sft-cycle-{cycle}",
                    SFTTrainConfig(max_steps=steps, learning_rate=cfg.sft_lr, per_device_train_batch_size=cfg.sft_batch,
                                   lora_r=cfg.lora_r, lora_alpha=2 * cfg.lora_r, lora_top_layers=cfg.lora_top_layers,
                                   max_length=128, warmup_ratio=0.0, logging_steps=1, save_steps=100_000,
                                   evaluate=False, disable_tqdm=True, seed=cfg.seed),
                    registry=registry, adapter_id=f"sft-cycle-{cycle}-{sft_dir_version(sft_dir)}",
                    parent=_adapter_id(parent), on_top_of=parent, progress=lambda s, n: bar("SFT LoRA", s, n))
    result.training["sft"] = {"adapter": sft.adapter_id, "rows": rows, "steps": sft.global_step,
                              "on_top_of": _adapter_id(parent),
                              "loss": sft.train_loss, "loss_curve": _losses(sft.adapter_dir),
                              "seconds": round(time.perf_counter() - t0, 1), "dataset_version": sft.dataset_version}
    candidate = str(sft.adapter_dir)
    pairs = result.exports.get("dpo", {}).get("rows", 0)
    if pairs < cfg.dpo_min_pairs:
        result.training["dpo"] = {"skipped": f"{pairs} DPO pairs < {cfg.dpo_min_pairs}"}
        return candidate
    dpo_dir = root / "exports" / f"cycle-{cycle}" / "dpo"
    steps = max(2, math.ceil(cfg.dpo_epochs * pairs / 8))
    t0 = time.perf_counter()
    dpo = train_dpo(dpo_dir, base, root / "models" / f"dpo-cycle-{cycle}",
                    DPOTrainConfig(max_steps=steps, learning_rate=cfg.dpo_lr, per_device_train_batch_size=8,
                                   beta=cfg.dpo_beta, lora_r=cfg.lora_r, lora_alpha=2 * cfg.lora_r,
                                   lora_top_layers=cfg.lora_top_layers, max_length=128, warmup_ratio=0.0,
                                   logging_steps=1, save_steps=100_000, evaluate=False, disable_tqdm=True, seed=cfg.seed),
                    registry=registry, parent=sft.adapter_id, on_top_of=sft.adapter_dir,
                    adapter_id=f"dpo-cycle-{cycle}-{sft_dir_version(dpo_dir)}", progress=lambda s, n: bar("DPO on SFT", s, n))
    result.training["dpo"] = {"adapter": dpo.adapter_id, "pairs": pairs, "steps": dpo.global_step, "loss": dpo.train_loss,
                              "loss_curve": _losses(dpo.adapter_dir), "seconds": round(time.perf_counter() - t0, 1),
                              "dataset_version": dpo.dataset_version, "parent": sft.adapter_id}
    return str(dpo.adapter_dir)


def _adapter_id(adapter_dir: str | None) -> str | None:
    if adapter_dir is None:
        return None
    try:
        return str(json.loads((Path(adapter_dir) / "flywheel_model.json").read_text())["adapter_id"])
    except (OSError, ValueError, KeyError):
        return Path(adapter_dir).name


def sft_dir_version(folder: Path) -> str:
    try:
        return str(json.loads((folder / "manifest.json").read_text())["version"])[:8]
    except (OSError, ValueError, KeyError):
        return "unversioned"


def _losses(adapter_dir: Path) -> list[float]:
    try:
        log = json.loads((Path(adapter_dir) / "training_log.json").read_text())
    except (OSError, ValueError):
        return []
    return [round(float(h["loss"]), 4) for h in log if "loss" in h]


def export_options(cfg: DemoConfig) -> dict[str, Any]:
    """How the demo exports (``fw.export`` keywords): labels at reward confidence >= ``min_confidence``,
    answers are intent labels (label agreement across labels), a fallback reply is never a good target."""
    from ._demo_world import FALLBACK

    return {"eval_fraction": 0.0, "min_rows": 1, "openai": False, "min_confidence": cfg.min_confidence,
            "short_words": cfg.label_words, "agreement_similarity": cfg.label_similarity, "no_good_categories": FALLBACK}


def _export(fw: Any, root: Path, cycle: int, truth: dict[str, str | None], result: CycleResult, cfg: DemoConfig) -> None:
    from .errors import FlywheelError

    for kind in ("sft", "dpo", "kto"):
        folder = root / "exports" / f"cycle-{cycle}" / kind
        try:
            exported = fw.export(kind, folder, **export_options(cfg))
        except FlywheelError as exc:  # nothing of this kind yet (few sessions, an early cycle): said, not fatal
            result.exports[kind] = {"rows": 0, "skipped": str(exc)}
            continue
        result.exports[kind] = {"version": exported.version, **export_precision(kind, folder, truth)}


def run_demo(path: str | Path, *, config: DemoConfig | None = None, phoenix: str | None = None,
             console: Any = None, verbose: bool = False) -> list[CycleResult]:
    """Run the demo into ``path`` (see the module docstring); returns the cycles' figures."""
    from .trainers._quiet import quiet_libraries, set_verbose

    if verbose:
        set_verbose(True)
    with quiet_libraries():
        return _run(Path(path), config or DemoConfig(), phoenix, console)


def _run(root: Path, cfg: DemoConfig, phoenix: str | None, console: Any) -> list[CycleResult]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ._demo_world import LocalModel, build_agent, load_intents
    from .flywheel import Flywheel
    from .trainers import decide
    from .trainers.evaluate import compare_arms, evaluate_model

    console = console or Console(width=min(100, Console().width))
    if cfg.cycles < 1 or cfg.sessions < 1:
        raise DemoError("--cycles and --sessions must be at least 1")
    prepare_folder(root)
    started = time.perf_counter()
    data = load_intents(cfg.domains, cfg.data_path, cfg.heldout_split)
    cases = heldout_cases(data, cfg.heldout_per_intent, cfg.seed)
    overrides: dict[str, Any] = {"flush_interval_s": 0.05}
    if phoenix:
        overrides["phoenix_endpoint"] = phoenix
    results: list[CycleResult] = []
    serving: str | None = None
    base_report = None
    columns = (TextColumn("{task.description}", style="bold"), BarColumn(bar_width=30), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        setup = progress.add_task("loading SmolLM2 (first run: convert once), store, embeddings", total=3)
        local = LocalModel(cfg.base_model, max_new_tokens=cfg.max_new_tokens)
        progress.advance(setup)
        fw = Flywheel(root / "store", **overrides)
        progress.advance(setup)
        # few-shot examples: good turns and corrected ones (the user's answer) at the labels' confidence
        examples = {"min_confidence": cfg.min_confidence}
        agent = build_agent(fw, local.chat_model(), data.intents, few_shot_k=cfg.few_shot_k, **examples)
        handler = fw.langchain()
        traffic = _Traffic(fw, agent, handler, data, cfg)
        progress.advance(setup)
        seconds_setup = time.perf_counter() - started
        try:
            for cycle in range(1, cfg.cycles + 1):
                result = CycleResult(cycle, serving=Path(serving).name if serving else "base")
                t0 = time.perf_counter()
                task = progress.add_task(f"cycle {cycle}: {cfg.sessions} users talk to the agent", total=cfg.sessions)
                traffic.run(cycle, result, lambda: progress.advance(task))
                result.seconds["traffic"] = time.perf_counter() - t0
                t1 = time.perf_counter()
                step = progress.add_task(f"cycle {cycle}: signals, reward, store, export", total=2)
                fw.flush(600)
                fw.flush(600)  # implicit signals the worker found go through the queue once more
                result.signals = dict(fw.stats()["signals_by_kind"])
                progress.advance(step)
                _export(fw, root, cycle, traffic.truth, result, cfg)
                progress.advance(step)
                result.seconds["ingest+export"] = time.perf_counter() - t1
                t1 = time.perf_counter()
                bars: dict[str, Any] = {}

                def bar(name: str, done: int, total: int, cycle: int = cycle) -> None:
                    if name not in bars:
                        bars[name] = progress.add_task(f"cycle {cycle}: {name}", total=total or None)
                    progress.update(bars[name], completed=done, total=total or None)

                threads = _threads(cfg.threads)
                candidate = _train(fw, root, cycle, cfg, local.base_model, result, bar, serving)
                for stage in result.training.values():
                    stage["threads"] = threads
                result.seconds["train"] = time.perf_counter() - t1
                t1 = time.perf_counter()
                provider = store_few_shot(fw, cfg.few_shot_k, **examples)
                if candidate is not None:
                    local.serve(candidate)
                gen = local.generator(batch_size=cfg.eval_batch)
                arms = ["few_shot"] + (["candidate", "candidate_few_shot"] if candidate else [])
                if base_report is None:
                    arms.insert(0, "base")  # the base model never changes: its zero-shot arm runs once
                reports = compare_arms(gen.base_view(), cases, candidate=gen if candidate else None, few_shot=provider,
                                       arms=arms, progress=lambda arm, d, n: bar(f"held-out eval: {ARM_NAMES[arm]}", d, n))
                base_report = reports.get("base", base_report)
                reports["base"] = base_report
                for arm, report in reports.items():
                    result.heldout[ARM_NAMES[arm]] = arm_figures(report)
                if candidate is not None:
                    baseline = reports["few_shot"]
                    if serving is not None:
                        local.serve(serving)
                        baseline = evaluate_model(local.generator(batch_size=cfg.eval_batch), cases,
                                                  name="serving", few_shot=provider,
                                                  progress=lambda d, n: bar("held-out eval: serving", d, n))
                        result.heldout["serving_few_shot"] = arm_figures(baseline)
                    decision = decide(reports["candidate_few_shot"], baseline, cfg.tolerance, min_cases=cfg.min_cases,
                                      alpha=cfg.alpha, registry=root / "models",
                                      adapter_id=result.training.get("dpo", {}).get("adapter") or result.training["sft"]["adapter"])
                    result.gate = {"decision": "promote" if decision.promote else "reject", "reasons": decision.reasons,
                                   "p_value": decision.p_value, "statistic": decision.statistic, "test": decision.test,
                                   "candidate": "adapter_few_shot", "baseline": "serving_few_shot" if serving else "few_shot",
                                   "adapter": decision.adapter_id, "n": decision.n, "delta": decision.delta}
                    if decision.promote:
                        serving = candidate
                    local.serve(serving)
                else:
                    result.gate = {"decision": "skipped", "reasons": [result.training["sft"].get("skipped", "")],
                                   "p_value": None, "statistic": None}
                result.seconds["eval+gate"] = time.perf_counter() - t1
                result.seconds["cycle"] = time.perf_counter() - t0
                results.append(result)
            report_task = progress.add_task("report.html, summary.json", total=1)
            _write_outputs(fw, root, cfg, local.base_model, results, started, seconds_setup)
            progress.advance(report_task)
        finally:
            fw.close()
    from ._demo_tables import print_tables

    print_tables(console, results, root, time.perf_counter() - started)
    if phoenix:
        console.print(f"traces and feedback annotations: {phoenix} (sessions c1-s0 ...)")
    return results


def _write_outputs(fw: Any, root: Path, cfg: DemoConfig, base_model: str, results: Sequence[CycleResult],
                   started: float, seconds_setup: float) -> None:
    from ._demo_report import learning_section
    from .report import build_report

    summary = summary_of(cfg, base_model, results, time.perf_counter() - started, seconds_setup)
    (root / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    window = max(1.0, min(r.seconds.get("traffic", 1.0) for r in results))
    build_report(fw, root / "report.html", window=window, title="flywheel demo report",
                 extra_sections=[learning_section(summary)])


def summary_of(cfg: DemoConfig, base_model: str, results: Sequence[CycleResult], seconds: float,
               seconds_setup: float) -> dict[str, Any]:
    """``summary.json``: every figure of the tables, accuracies as fractions (README "flywheel demo")."""
    cycles = []
    for r in results:
        heldout: dict[str, Any] = {arm: fig["accuracy"] for arm, fig in r.heldout.items()}
        heldout["n"] = next((fig["n"] for fig in r.heldout.values()), 0)
        heldout["ci95"] = {arm: fig["ci95"] for arm, fig in r.heldout.items()}
        heldout["prompt_tokens"] = {arm: fig["prompt_tokens"] for arm, fig in r.heldout.items()}
        heldout["latency_ms"] = {arm: fig["latency_ms"] for arm, fig in r.heldout.items()}
        heldout["per_domain"] = {arm: fig["per_domain"] for arm, fig in r.heldout.items()}
        cycles.append({
            "cycle": r.cycle, "serving": r.serving, "heldout": heldout, "gate": r.gate,
            "export_precision": {k: v.get("precision") for k, v in r.exports.items()},
            "exports": r.exports, "training": r.training,
            "traffic": {"sessions": r.sessions, "turns": r.turns, "first_answer_accuracy": r.live_accuracy,
                        "feedback_events": r.feedback_events, "wrong_feedback_events": r.wrong_feedback_events,
                        "signals_total": r.signals},
            "seconds": {k: round(v, 1) for k, v in r.seconds.items()},
        })
    try:
        load = [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        load = None
    return {"base_model": base_model, "config": asdict(cfg), "data": "CLINC150 (CC BY 3.0): users ask train-split "
            "questions; held-out = test split, never stored or retrieved", "cycles": cycles,
            "seconds": round(seconds, 1), "seconds_setup": round(seconds_setup, 1), "load_average": load,
            "cpu_count": os.cpu_count()}
