"""CLI commands for training, evaluation, gating and the model registry.

Mount into the main ``flywheel`` CLI with ``register(app)`` (adds ``train sft|dpo|kto``, ``eval``,
``gate``, ``models``, ``tiny-model``), or run this module's own ``app``.

Exit codes: ``gate`` exits 0 when the candidate is promoted and 1 when it is rejected, so a CI job
can gate a deployment on it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Optional

import typer
from rich.console import Console
from rich.table import Table

from flywheel_middleware._cli_options import JsonOption, PathOption, is_store_url, registry_dir

console = Console(width=min(100, Console().width))
app = typer.Typer(help="Train LoRA adapters (SFT/DPO/KTO), evaluate them, gate promotion.", no_args_is_help=True)
train_app = typer.Typer(help="Train a LoRA adapter with TRL on an export directory.", no_args_is_help=True)

RegistryOption = typer.Option(None, "--registry", help="Model registry folder (default: <--path>/models).")
Status = Literal["candidate", "shadow", "promoted", "rejected", "retired"]
VerboseOption = typer.Option(False, "--verbose", "-v", help="Show the logs, warnings and progress bars of transformers/TRL.")


def _set_verbose(on: bool) -> None:
    from ._quiet import set_verbose

    if on:
        set_verbose(True)


def _card_id(adapter: Optional[Path]) -> Optional[str]:
    from ._core import CARD_FILE, load_card

    if adapter is None or not (adapter / CARD_FILE).exists():
        return None
    return load_card(adapter).get("adapter_id")


def _registry_path(store: str, registry: Optional[Path]) -> Path:
    """Where the registry is; a URL store has no folder, so it needs ``--registry``."""
    folder = registry_dir(store, registry)
    if folder is None:
        console.print(f"[red]{store.split('://', 1)[0]}:// stores keep no model folder: pass --registry DIR[/red]")
        raise typer.Exit(2)
    return folder


def _registry(store: str, registry: Optional[Path]) -> Any:
    from .registry import Registry

    return Registry(_registry_path(store, registry))


def _train(method: str, data: Path, base_model: str, out: Path, epochs: Optional[float], max_steps: Optional[int],
           lr: Optional[float], batch_size: Optional[int], max_length: Optional[int], lora_r: Optional[int],
           beta: Optional[float], resume: bool, store: str, registry: Optional[Path], parent: Optional[str],
           no_register: bool, as_json: bool, on_top_of: Optional[Path] = None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ._core import run_training
    from .config import default_config

    overrides: dict[str, Any] = {"num_train_epochs": epochs, "max_steps": max_steps, "learning_rate": lr,
                                 "per_device_train_batch_size": batch_size, "max_length": max_length,
                                 "lora_r": lora_r, "resume_from_checkpoint": True if resume else None}
    if lora_r is not None:
        overrides["lora_alpha"] = 2 * lora_r
    if beta is not None and method != "sft":
        overrides["beta"] = beta
    config = default_config(method).override(**overrides)
    reg = None if no_register else _registry(store, registry)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=as_json) as bar:
        task = bar.add_task(f"{method.upper()} LoRA: loading {base_model}", total=None)

        def on_step(step: int, total: int) -> None:
            bar.update(task, completed=step, total=total or None, description=f"{method.upper()} LoRA: training")

        try:
            result = run_training(method, data, base_model, out, config, registry=reg, parent=parent,
                                  on_top_of=on_top_of, progress=on_step)
        except (FileNotFoundError, ValueError, RuntimeError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps({"adapter_id": result.adapter_id, "adapter_dir": str(result.adapter_dir),
                               "base_model": result.base_model, "dataset_version": result.dataset_version,
                               "global_step": result.global_step, "train_loss": result.train_loss,
                               "eval_loss": result.eval_loss, "duration_s": result.duration_s,
                               "resumed_from": result.resumed_from, "registry": None if reg is None else str(reg.root)},
                              indent=2, default=str))
        return
    table = Table(title=f"{method.upper()} adapter {result.adapter_id}")
    table.add_column("field")
    table.add_column("value")
    for key, value in [("adapter", str(result.adapter_dir)), ("base model", result.base_model),
                       ("dataset version", result.dataset_version), ("steps", str(result.global_step)),
                       ("train loss", _fmt(result.train_loss)), ("eval loss", _fmt(result.eval_loss)),
                       ("seconds", f"{result.duration_s:.1f}"), ("resumed from", str(result.resumed_from or "-")),
                       ("registry", "-" if reg is None else f"{reg.root} (candidate)")]:
        table.add_row(key, value)
    console.print(table)


def _make_train_command(method: str) -> Any:
    def command(
        data: Path = typer.Option(..., "--data", help="Export directory (train.jsonl, eval.jsonl, manifest.json)."),
        base_model: str = typer.Option("smollm2", "--base-model", help="'smollm2' (the packaged SmolLM2-135M-Instruct), a local HF causal-LM folder, or a hub id."),
        out: Path = typer.Option(..., "--out", help="Where the adapter and its model card go."),
        epochs: Optional[float] = typer.Option(None, "--epochs", help="Training epochs."),
        max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Stop after N steps (overrides epochs)."),
        lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate."),
        batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Per-device batch size."),
        max_length: Optional[int] = typer.Option(None, "--max-length", help="Max tokens per example."),
        lora_r: Optional[int] = typer.Option(None, "--lora-r", help="LoRA rank (alpha = 2 x rank)."),
        beta: Optional[float] = typer.Option(None, "--beta", help="DPO/KTO beta."),
        resume: bool = typer.Option(False, "--resume", help="Resume from the latest checkpoint in --out."),
        path: str = PathOption,
        registry: Optional[Path] = RegistryOption,
        parent: Optional[str] = typer.Option(None, "--parent", help="Id of the adapter this one continues."),
        no_register: bool = typer.Option(False, "--no-register", help="Do not add the adapter to the registry."),
        as_json: bool = JsonOption,
        on_top_of: Optional[Path] = typer.Option(None, "--on-top-of", help="Adapter to train on top of (e.g. the SFT adapter under DPO)."),
        verbose: bool = VerboseOption,
    ) -> None:
        _set_verbose(verbose)
        _train(method, data, base_model, out, epochs, max_steps, lr, batch_size, max_length, lora_r, beta,
               resume, path, registry, parent or _card_id(on_top_of), no_register, as_json, on_top_of)

    command.__doc__ = {"sft": "Supervised fine-tuning (LoRA) on an SFT export.",
                       "dpo": "DPO (LoRA) on a preference-pair export.",
                       "kto": "KTO (LoRA) on a thumbs-up/down export."}[method]
    return command


for _method in ("sft", "dpo", "kto"):
    train_app.command(_method)(_make_train_command(_method))


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def render_reports(reports: dict[str, Any]) -> None:
    """A rich table that fits 100 columns: one row per category and arm, accuracy with its 95 % CI."""
    judged = any(r.overall.get("judge") is not None for r in reports.values())
    tools = any(r.overall.get("tool_cases") for r in reports.values())
    table = Table(title="offline evaluation (accuracy = normalised / label match, %)", show_lines=False)
    columns = [("category", "left"), ("arm", "left"), ("n", "right"), ("acc %", "right"), ("95 % CI", "right")]
    if judged:
        columns.append(("judge", "right"))
    if tools:
        columns += [("tool", "right"), ("args", "right")]
    columns += [("ms/ans", "right"), ("prompt tok", "right"), ("out tok", "right")]
    for col, justify in columns:
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    categories = sorted({c for r in reports.values() for c in r.categories}) + ["(all)"]
    for cat in categories:
        for arm, report in reports.items():
            m = report.overall if cat == "(all)" else report.categories.get(cat)
            if m is None:
                continue
            lat = m.get("latency_mean_s")
            ci = m.get("normalized_ci95") or [None, None]
            row = [cat, arm, str(m["n"]), _pct(m.get("normalized")), f"{_pct(ci[0])}-{_pct(ci[1])}"]
            if judged:
                row.append(_fmt(m.get("judge"), 2))
            if tools:
                row += [_fmt(m.get("tool_name"), 2), _fmt(m.get("tool_args"), 2)]
            row += [_fmt(None if lat is None else lat * 1000, 0), _fmt(m.get("prompt_tokens_mean"), 0),
                    _fmt(m.get("completion_tokens_mean"), 1)]
            table.add_row(*row)
        table.add_section()
    console.print(table)


def eval_command(
    candidate: Path = typer.Option(..., "--candidate", help="Adapter folder to evaluate."),
    base_model: Optional[str] = typer.Option(None, "--base-model", help="Base model (default: from the adapter's card; 'smollm2' = the packaged model)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Export directory: its eval.jsonl are cases, train.jsonl the few-shot pool."),
    cases: Optional[list[Path]] = typer.Option(None, "--cases", help="Pinned regression cases (JSONL); repeatable."),
    few_shot_k: int = typer.Option(2, "--few-shot-k", help="Examples in the few-shot arms (0: no few-shot arms)."),
    judge: str = typer.Option("exact", "--judge", help="exact (label match, default) | f1 | module.path:chat_model | provider:model (init_chat_model)."),
    max_new_tokens: int = typer.Option(64, "--max-new-tokens", help="Longest answer generated per case, in tokens."),
    batch_size: int = typer.Option(16, "--batch-size", help="Prompts generated at once."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most N cases per source."),
    json_out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the reports to this JSON file (the input of `gate --report`)."),
    as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON instead of a table."),
    verbose: bool = VerboseOption,
) -> None:
    """Four-arm offline evaluation per category: base, base + few-shot, the adapter, adapter + few-shot."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ._core import CARD_FILE, load_card
    from .evaluate import LexicalFewShot, compare_arms, load_cases, save_reports
    from .judge import JudgeError, load_judge

    _set_verbose(verbose)
    card = load_card(candidate) if (candidate / CARD_FILE).exists() else {}
    base = base_model or (card.get("base_model") or {}).get("path") or (card.get("base_model") or {}).get("name_or_path")
    if not base:
        console.print("[red]--base-model is required (the adapter has no flywheel_model.json)[/red]")
        raise typer.Exit(2)
    try:
        the_judge = load_judge(judge)
    except JudgeError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    all_cases = []
    if data is not None and (data / "eval.jsonl").exists():
        all_cases += load_cases(data, limit=limit)
    for path in cases or []:
        all_cases += load_cases(path, limit=limit)
    if not all_cases:
        console.print("[red]no cases: pass --data with an eval.jsonl and/or --cases[/red]")
        raise typer.Exit(2)
    few_shot = LexicalFewShot(data, k=few_shot_k) if (data is not None and few_shot_k > 0 and (data / "train.jsonl").exists()) else None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=as_json) as bar:
        tasks: dict[str, Any] = {}

        def on_progress(arm: str, done: int, total: int) -> None:
            if arm not in tasks:
                tasks[arm] = bar.add_task(f"eval: {arm}", total=total)
            bar.update(tasks[arm], completed=done)

        reports = compare_arms(base, all_cases, adapter=candidate, few_shot=few_shot, judge=the_judge,
                               max_new_tokens=max_new_tokens, batch_size=batch_size, progress=on_progress)
    for report in reports.values():
        report.meta.update(adapter_id=card.get("adapter_id"), adapter_path=str(candidate), base_model=base,
                           judge_spec=judge)
    if json_out is not None:
        save_reports(reports, json_out)
    if as_json:
        typer.echo(json.dumps({"reports": {arm: r.to_dict() for arm, r in reports.items()}}, indent=2, default=str))
        return
    render_reports(reports)
    if json_out is not None:
        console.print(f"reports written to {json_out}")


def gate_command(
    report: Optional[Path] = typer.Option(None, "--report", help="The reports file written by `eval --out`."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Arm to compare with (default: few_shot if present, else base)."),
    candidate_arm: Optional[str] = typer.Option(None, "--candidate-arm", help="Arm of the candidate (default: candidate_few_shot when the baseline is few_shot, else candidate)."),
    candidate_report: Optional[Path] = typer.Option(None, "--candidate-report", help="A separate candidate report file."),
    baseline_report: Optional[Path] = typer.Option(None, "--baseline-report", help="A separate baseline report file."),
    tolerance: float = typer.Option(0.05, "--tolerance", help="Largest allowed drop of any metric in any category."),
    min_cases: int = typer.Option(30, "--min-cases", help="Fewest paired cases a decision may rest on."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the paired test."),
    max_latency_ratio: Optional[float] = typer.Option(None, "--max-latency-ratio", help="e.g. 1.5 = at most +50% latency."),
    require_improvement: bool = typer.Option(True, "--require-improvement/--no-require-improvement",
                                             help="Require a significant gain (default), or only no regression."),
    adapter_id: Optional[str] = typer.Option(None, "--adapter-id", help="Registry id (default: from the report)."),
    path: str = PathOption,
    registry: Optional[Path] = RegistryOption,
    no_record: bool = typer.Option(False, "--no-record", help="Do not record the decision in the registry."),
    json_out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the decision to this JSON file."),
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON instead of text."),
) -> None:
    """Promote or reject a candidate: significantly better on a paired test, no category regressing."""
    from .evaluate import load_reports
    from .gate import decide

    if report is not None:
        reports = load_reports(report)
        arm = baseline or ("few_shot" if "few_shot" in reports else "base")
        cand_arm = candidate_arm or ("candidate_few_shot" if arm == "few_shot" and "candidate_few_shot" in reports
                                     else "candidate")
        cand, base = reports.get(cand_arm), reports.get(arm)
    elif candidate_report is not None and baseline_report is not None:
        cand = next(iter(load_reports(candidate_report).values()))
        base = next(iter(load_reports(baseline_report).values()))
    else:
        console.print("[red]pass --report, or --candidate-report and --baseline-report[/red]")
        raise typer.Exit(2)
    if cand is None or base is None:
        console.print("[red]the report lacks a candidate or the baseline arm[/red]")
        raise typer.Exit(2)
    adapter_id = adapter_id or cand.meta.get("adapter_id")
    reg = None if (no_record or not adapter_id) else _registry(path, registry)
    if reg is not None:
        try:
            reg.get(adapter_id)
        except KeyError:
            path = cand.meta.get("adapter_path")
            if path and (Path(path) / "flywheel_model.json").exists():
                reg.register_adapter(path)
            else:
                console.print(f"[yellow]{adapter_id} is not in the registry; decision not recorded[/yellow]")
                reg = None
    decision = decide(cand, base, tolerance, min_cases=min_cases, alpha=alpha, max_latency_ratio=max_latency_ratio,
                      require_improvement=require_improvement, registry=reg, adapter_id=adapter_id)
    if json_out is not None:
        json_out.write_text(json.dumps(decision.to_dict(), indent=2, default=str))
    if as_json:
        typer.echo(json.dumps(decision.to_dict(), indent=2, default=str))
        raise typer.Exit(0 if decision.promote else 1)
    colour = "green" if decision.promote else "red"
    console.print(f"[{colour}]{'PROMOTE' if decision.promote else 'REJECT'}[/{colour}] {adapter_id or decision.candidate} "
                  f"({decision.candidate}) vs {decision.baseline}")
    for reason in decision.reasons:
        console.print(f"  - {reason}")
    if decision.latency_ratio is not None:
        console.print(f"  latency x{decision.latency_ratio:.2f}, completion tokens {_fmt(decision.completion_token_delta, 1)}")
    raise typer.Exit(0 if decision.promote else 1)


def models_command(
    path: str = PathOption,
    registry: Optional[Path] = RegistryOption,
    status: Optional[Status] = typer.Option(None, "--status", help="Only adapters with this status."),
    as_json: bool = JsonOption,
) -> None:
    """List adapters with their lineage, status and last gate decision."""
    folder = _registry_path(path, registry)
    if registry is None and not is_store_url(path) and not Path(path).exists():
        console.print(f"[red]no flywheel store at {path}[/red]")
        raise typer.Exit(1)
    if not (folder / "registry.sqlite").exists():  # listing never creates a registry
        if as_json:
            typer.echo("[]")
        else:
            console.print(f"no models in {folder} yet (`flywheel train` registers them)")
        return
    reg = _registry(path, registry)
    entries = reg.list(status=status)
    if as_json:
        typer.echo(json.dumps([e.to_dict() for e in entries], indent=2, default=str))
        return
    table = Table(title=f"models in {reg.root}")
    for col in ("id", "status", "method", "base model", "dataset", "parent", "train loss", "eval loss", "last gate"):
        table.add_column(col)
    for e in entries:
        decisions = reg.decisions(e.id)
        last = "-" if not decisions else ("promote" if decisions[0]["promote"] else "reject")
        table.add_row(e.id, e.status, e.method or "-", Path(e.base_model).name if e.base_model else "-",
                      (e.dataset_version or "-")[:12], e.parent or "-", _fmt(e.metrics.get("train_loss")),
                      _fmt(e.metrics.get("eval_loss")), last)
    console.print(table)


def tiny_model_command(
    out: Path = typer.Argument(..., help="Folder to write the model to."),
    vocab_size: int = typer.Option(1024, "--vocab-size", help="Tokens in the BPE vocabulary the tokenizer learns."),
    hidden: int = typer.Option(64, "--hidden", help="Hidden size of the model."),
    layers: int = typer.Option(2, "--layers", help="Decoder layers."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random weights."),
) -> None:
    """Build a tiny random Llama + local BPE tokenizer (offline demos and tests)."""
    from .tiny_model import build_tiny_model

    console.print(f"tiny model written to {build_tiny_model(out, vocab_size=vocab_size, hidden=hidden, layers=layers, seed=seed)}")


def register(parent: typer.Typer) -> None:
    """Add ``train``, ``eval``, ``gate``, ``models`` and ``tiny-model`` to another typer app."""
    parent.add_typer(train_app, name="train")
    parent.command("eval")(eval_command)
    parent.command("gate")(gate_command)
    parent.command("models")(models_command)
    parent.command("tiny-model")(tiny_model_command)


register(app)

if __name__ == "__main__":  # pragma: no cover
    app()
