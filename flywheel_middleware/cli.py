"""The ``flywheel`` command line: one typer app; the trainers package adds its commands to it.

Every command that reads or writes a store takes ``--path`` (a folder or a ``postgresql://`` URL;
env ``FLYWHEEL_PATH``), every command that prints a table takes ``--json``, and choices are listed
in ``--help``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from pathlib import Path
from typing import Any, Literal, Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from ._cli_options import STORE_URL_SCHEMES, JsonOption, PathOption, is_store_url

console = Console(width=min(100, Console().width))


def _hide_flag_types(command: Any, ctx: Any) -> None:
    """Flags take no value, but typer's help prints one for them (``--json <bool>``): drop it."""
    params = list(getattr(command, "params", ()))
    help_option = command.get_help_option(ctx) if hasattr(command, "get_help_option") else None
    if help_option is not None:
        params.append(help_option)
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _hide_flag_types(sub, ctx)


class _FlywheelGroup(TyperGroup):
    """The root command group: tidies every command's help the first time it is resolved."""

    def get_params(self, ctx: Any) -> list[Any]:
        _hide_flag_types(self, ctx)
        return super().get_params(ctx)


app = typer.Typer(cls=_FlywheelGroup, no_args_is_help=True,
                  help="flywheel-middleware: capture, signals, store, few-shot, export, train, gate.")


def _open_or_create(path: str, **overrides: Any) -> Any:
    """Like ``_open``, but a folder that does not exist yet becomes a new store (``flywheel serve``)."""
    if not is_store_url(path):
        Path(path).mkdir(parents=True, exist_ok=True)
    return _open(path, **overrides)


def _shown(path: str) -> str:
    """A store path or URL as it may be printed (a URL's password masked)."""
    from .store.postgres import safe_url

    return safe_url(path) if is_store_url(path) else path


def _open(path: str, **overrides: Any) -> Any:
    """Open the store for a command; a missing, foreign or corrupt store exits cleanly."""
    from .errors import FlywheelError
    from .flywheel import Flywheel

    if is_store_url(path):
        scheme = path.split("://", 1)[0].lower()
        if scheme not in STORE_URL_SCHEMES:
            console.print(f"[red]--path takes a store folder or a postgresql:// URL, got a {scheme}:// URL[/red]")
            raise typer.Exit(2)
    elif not Path(path).exists():
        console.print(f"[red]no flywheel store at {path}[/red]")
        raise typer.Exit(1)
    try:
        return Flywheel(path, **overrides)
    except FlywheelError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@app.command()
def stats(path: str = PathOption, as_json: bool = JsonOption) -> None:
    """Counts per kind, signals per kind, queue depth, index size, last ingest time."""
    fw = _open(path, start_worker=False)
    try:
        data = fw.stats()
    finally:
        fw.close()
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    render_stats(data)


def render_stats(data: dict[str, Any]) -> None:
    table = Table(title=f"flywheel store {data['path']}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("interactions", str(data["interactions"]))
    for label, n in data.get("labels", {}).items():
        table.add_row(f"  {label}", str(n))
    for kind, n in data["steps_by_kind"].items():
        table.add_row(f"  steps: {kind}", str(n))
    for kind, n in data["signals_by_kind"].items():
        table.add_row(f"  signals: {kind}", str(n))
    table.add_row("embedded", str(data["embedded"]))
    table.add_row("index size", str(data["index_size"]))
    table.add_row("queue pending bytes", str(data["queue_pending_bytes"]))
    table.add_row("queue segments", str(data["queue_segments"]))
    last = data.get("last_ingest_at")
    table.add_row("last ingest", _dt.datetime.fromtimestamp(last).isoformat(timespec="seconds") if last else "never")
    health = data.get("worker_health") or {}
    table.add_row("worker", str(health.get("state") or data.get("worker") or "?"))
    console.print(table)
    if data.get("worker_last_error"):
        console.print(f"[yellow]worker last error:[/yellow] {data['worker_last_error']}")
    counters = {k: v for k, v in data.get("counters", {}).items() if not k.startswith("time_")}
    if counters:
        console.print("counters: " + ", ".join(f"{k}={v}" for k, v in sorted(counters.items())))


@app.command()
def demo(
    path: Path = typer.Option(Path(".flywheel-demo"), "--path", "-p", help="Where the demo goes (a new or empty folder, or a previous demo's, which is replaced)."),
    phoenix: Optional[str] = typer.Option(None, "--phoenix", help="Send traces to a running Phoenix at this URL."),
    quick: bool = typer.Option(False, "--quick", help="A smaller, faster run: one cycle of 30 sessions (mechanics, not learning)."),
    cycles: Optional[int] = typer.Option(None, "--cycles", help="Flywheel cycles (default 2)."),
    sessions: Optional[int] = typer.Option(None, "--sessions", help="Simulated conversations per cycle (default 60)."),
    base_model: str = typer.Option("smollm2", "--base-model", help="'smollm2' (packaged SmolLM2-135M-Instruct), a local HF folder or a hub id."),
    wrong_feedback: Optional[float] = typer.Option(None, "--wrong-feedback", help="Share of the users' explicit feedback that is wrong (default 0.2)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show the logs of transformers, TRL and datasets."),
) -> None:
    """Run the flywheel end to end offline on a real model: agent, users, signals, few-shot, export, LoRA, DPO, gate, report."""
    from .demo import DemoConfig, DemoError, run_demo

    cfg = DemoConfig(base_model=base_model)
    if quick:
        cfg.cycles, cfg.sessions = 1, 30
    if cycles is not None:
        cfg.cycles = cycles
    if sessions is not None:
        cfg.sessions = sessions
    if wrong_feedback is not None:
        cfg.wrong_feedback = wrong_feedback
    try:
        run_demo(path, config=cfg, phoenix=phoenix, console=console, verbose=verbose)
    except DemoError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    except RuntimeError as exc:  # the packaged model is not installed, a model folder that does not load
        from .trainers.base_model import BaseModelNotInstalled

        if isinstance(exc, BaseModelNotInstalled):
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        raise


@app.command("serve")
def serve_command(
    path: str = PathOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (use a TLS proxy for anything public)."),
    port: int = typer.Option(8088, "--port", help="TCP port."),
    tokens: Optional[Path] = typer.Option(None, "--tokens", help="JSON or TOML file {token: user_id} (tokens may be sha256:<hex>)."),
    token: list[str] = typer.Option([], "--token", help="user=TOKEN (repeatable). Also env FLYWHEEL_TOKENS=user=TOKEN,..."),
    admin_token: list[str] = typer.Option([], "--admin-token", help="A token that may signal on any interaction (repeatable). Also env FLYWHEEL_ADMIN_TOKENS."),
    cors_origin: list[str] = typer.Option([], "--cors-origin", help="Browser origin allowed to call the API (repeatable; '*' for any)."),
    rate: float = typer.Option(5.0, "--rate", help="Requests per second per user (token bucket; 0 turns limits off)."),
    burst: int = typer.Option(20, "--burst", help="Bucket size: requests a user may send at once."),
    max_body_bytes: int = typer.Option(65536, "--max-body-bytes", help="Larger request bodies get 413."),
    pending_wait: float = typer.Option(2.0, "--pending-wait", help="Seconds to wait for an accepted, not yet stored interaction before 404."),
    phoenix: Optional[str] = typer.Option(None, "--phoenix", help="Post the signals as span annotations to this Phoenix (http://HOST:PORT); default env PHOENIX_COLLECTOR_ENDPOINT."),
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """The HTTP feedback API: web front ends post thumbs/copy/stop/rating/corrections by interaction id."""
    try:
        from .serve import Tokens, RateLimit, run_server
    except ImportError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    try:
        registry = Tokens.from_file(tokens) if tokens is not None else Tokens()
        Tokens.from_options(token, registry)
        Tokens.from_options(admin_token, registry, admin=True)
        Tokens.from_env(tokens=registry)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if not len(registry):
        console.print("[red]no tokens: give --tokens FILE, --token user=TOKEN, --admin-token TOKEN or FLYWHEEL_TOKENS[/red]")
        raise typer.Exit(2)
    # a writer-only client if the app's process already ingests this store (its worker then annotates)
    fw = _open_or_create(path, **({"phoenix_endpoint": phoenix} if phoenix else {}))
    try:
        console.print(f"flywheel serve: store {_shown(path)} (worker: {fw.stats()['worker']}), users {registry.users()}, "
                      f"API docs http://{host}:{port}/docs (offline)"
                      + (f", annotations to {phoenix}" if phoenix else ""))
        run_server(fw, registry, host=host, port=port, log_level=log_level, rate_limit=RateLimit(rate, burst),
                   max_body_bytes=max_body_bytes, cors_origins=cors_origin, pending_wait_s=pending_wait)
    finally:
        fw.close()


@app.command("report")
def report_command(
    path: str = PathOption,
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="The HTML file to write (self-contained)."),
    window: str = typer.Option("day", "--window", "-w", help="Time window: hour, day, week, or seconds."),
) -> None:
    """Monitoring report: metrics per cohort over time, drift, regressions, stall verdict and the plan."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .report import REPORT_STEPS, build_report

    try:
        size: str | float = float(window) if window.replace(".", "", 1).isdigit() else window
        from .monitoring import MonitorConfig

        config = MonitorConfig(window=size)
        config.window_seconds()
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    fw = _open(path, start_worker=False)
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console, transient=False) as progress:
            task = progress.add_task("report: loading the store", total=len(REPORT_STEPS))
            labels = dict(zip(REPORT_STEPS, (*REPORT_STEPS[1:], "done")))

            def on_step(name: str) -> None:
                progress.update(task, advance=1, description=f"report: {labels.get(name, name)}")

            analysis = build_report(fw, out, config=config, on_step=on_step)
    finally:
        fw.close()
    console.print(f"wrote {out} ({len(analysis.data)} interactions, drift: "
                  f"{'yes' if analysis.drift and analysis.drift.drifted else 'no'}, regressions: {len(analysis.regressions)}, "
                  f"stall: {analysis.stall.verdict})")
    started = analysis.data.started_at
    if 0 < len(analysis.series) < 3 and len(started) and float(started.max() - started.min()) > 0:
        from .report import suggest_window

        better = suggest_window(float(started.max() - started.min()))
        console.print(f"[yellow]only {len(analysis.series)} {window} window(s) of data: the plots have a point or two; "
                      f"try --window {better if isinstance(better, str) else f'{better:g}'}[/yellow]")


def _when(value: Optional[str]) -> Optional[float]:
    """A unix timestamp or an ISO date/time as a unix timestamp."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return _dt.datetime.fromisoformat(value).timestamp()
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is neither a unix timestamp nor an ISO date") from exc


@app.command("export")
def export_command(
    kind: Literal["sft", "dpo", "kto"] = typer.Argument(..., help="The dataset kind."),
    path: str = PathOption,
    out: Path = typer.Option(..., "--out", "-o", help="The folder to write train/eval JSONL and manifest.json into."),
    min_confidence: Optional[float] = typer.Option(None, "--min-confidence", help="Reward confidence label-derived rows need."),
    since: Optional[str] = typer.Option(None, "--since", help="Only turns started at/after this (unix time or ISO date)."),
    until: Optional[str] = typer.Option(None, "--until", help="Only turns started before this (unix time or ISO date)."),
    category: Optional[list[str]] = typer.Option(None, "--category", "-c", help="Only these categories (repeatable)."),
    exclude_user: Optional[list[str]] = typer.Option(None, "--exclude-user", help="Leave this user out (repeatable)."),
    eval_fraction: float = typer.Option(0.1, "--eval-fraction", help="Share of interactions in eval.jsonl."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split hash."),
    dedup: Literal["near", "exact", "none"] = typer.Option("near", "--dedup", help="Drop exact or near duplicates, or none."),
    openai: bool = typer.Option(True, "--openai/--no-openai", help="sft: also write the OpenAI fine-tuning files."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Processes building rows (default: by size)."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON instead of a table."),
) -> None:
    """Export a versioned SFT / DPO / KTO dataset (TRL and OpenAI formats) with its manifest."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .errors import FlywheelError

    fw = _open(path, start_worker=False)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True, disable=as_json) as bar:
            tasks: dict[str, Any] = {}

            def on_progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(f"{kind} export: {'selecting' if stage == 'scan' else 'writing'}", total=total)
                bar.update(tasks[stage], completed=done, total=total)

            result = fw.export(kind, out, progress=on_progress, min_confidence=min_confidence, since=_when(since),
                               until=_when(until), category=category or None, exclude_users=tuple(exclude_user or ()),
                               eval_fraction=eval_fraction, seed=seed, dedup=dedup, openai=openai, workers=workers)
    except FlywheelError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        fw.close()
    if as_json:
        typer.echo(json.dumps(result.manifest, indent=2, default=str))
        return
    counts = result.manifest["counts"]
    table = Table(title=f"{kind} export {result.version} -> {result.path}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name in ("rows", "train", "eval", "interactions", "users"):
        table.add_row(name, str(counts[name]))
    for group in ("per_source", "per_label", "per_category"):
        for name, n in counts[group].items():
            table.add_row(f"  {group[4:]}: {name}", str(n))
    red = result.manifest["redaction"]
    table.add_row("redaction re-check: rows changed", f"{red.get('rows_changed', 0)} / {red.get('rows_checked', 0)}")
    console.print(table)
    console.print(f"version [bold]{result.version}[/bold] in {result.seconds:.1f}s")


@app.command("queue")
def queue_command(
    path: str = PathOption,
    limit: int = typer.Option(20, "--limit", "-n", help="How many items."),
    category: Optional[list[str]] = typer.Option(None, "--category", "-c", help="Only these categories (repeatable)."),
    scan: int = typer.Option(20_000, "--scan", help="How many recent interactions to consider."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
) -> None:
    """The active-learning queue: interactions most worth a human look first, with reasons."""
    fw = _open(path, start_worker=False)
    try:
        items = fw.review_queue(limit, category=category or None, scan=scan)
    finally:
        fw.close()
    if as_json:
        for item in items:
            typer.echo(json.dumps(item.to_dict(), default=str))
        return
    table = Table(title=f"review queue ({len(items)})")
    table.add_column("#", justify="right")
    # the id is what a reviewer copies into `flywheel`/`fw.feedback`: never cut it, shrink the rest
    table.add_column("interaction", no_wrap=True, min_width=max((len(i.interaction_id) for i in items), default=11))
    table.add_column("score", justify="right")
    table.add_column("label")
    table.add_column("category", overflow="fold")
    table.add_column("reasons", overflow="fold", ratio=2)
    table.add_column("input", overflow="ellipsis", ratio=1)
    for n, item in enumerate(items, 1):
        reasons = "; ".join(f"{r.kind} {r.score:.2f}: {r.detail}" for r in item.reasons)
        table.add_row(str(n), item.interaction_id, f"{item.score:.2f}", item.label, item.category, reasons, item.input[:200])
    console.print(table)


@app.command("forget")
def forget_command(
    user: str = typer.Option(..., "--user", "-u", help="The user id to erase."),
    path: str = PathOption,
    as_json: bool = typer.Option(False, "--json", help="Print the erasure report as JSON."),
) -> None:
    """Erase a user everywhere (store, vectors, ingest queue) and list exports that contained them."""
    fw = _open(path)
    try:
        report = fw.forget(user)
    finally:
        fw.close()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    console.print(f"erased user (sha256 {report.user_hash[:12]}…): {report.interactions_deleted} interactions, "
                  f"{report.signals_deleted} signals, {report.vectors_removed} vectors, "
                  f"{report.queue_segments_deleted} queue segments")
    for version in report.exported_versions:
        console.print(f"[yellow]exported dataset that contained them:[/yellow] {version}")
    for note in report.notes:
        console.print(f"note: {note}")


@app.command("opt-out")
def opt_out_command(
    user: str = typer.Option(..., "--user", "-u", help="The user id."),
    path: str = PathOption,
    undo: bool = typer.Option(False, "--undo", help="Opt the user back in."),
) -> None:
    """Stop (or, with --undo, resume) recording and tracing a user."""
    fw = _open(path, start_worker=False)
    try:
        (fw.opt_in if undo else fw.opt_out)(user)
    finally:
        fw.close()
    console.print(f"user {'opted back in' if undo else 'opted out'}")


@app.command("retain")
def retain_command(
    days: float = typer.Option(..., "--days", help="Delete interactions older than this many days."),
    path: str = PathOption,
) -> None:
    """Apply a retention policy now."""
    fw = _open(path)
    try:
        removed = fw.retain(days)
    finally:
        fw.close()
    console.print(f"deleted {removed} interactions older than {days:g} days")


@app.command("migrate")
def migrate(
    src: str = typer.Argument(..., help="The store to copy: a folder or a postgresql:// URL."),
    dst: str = typer.Argument(..., help="Where to copy it: a new folder or an empty postgresql:// database."),
    force: bool = typer.Option(False, "--force", help="Copy into a destination that already holds interactions (upserts)."),
    as_json: bool = JsonOption,
) -> None:
    """Copy a store into another (embedded folder -> PostgreSQL, or back), with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .errors import FlywheelError
    from .flywheel import Flywheel
    from .store.migrate import copy_store
    from .store.postgres import is_postgres_url, safe_url

    source = _open(src, start_worker=False)
    try:
        pending = source.stats()["queue_pending_bytes"]
        if pending:
            console.print(f"[red]{safe_url(src)} has {pending} bytes of records still queued: run the app (or "
                          "`flywheel stats` after its worker drained) until the queue is empty, then migrate[/red]")
            raise typer.Exit(2)
        try:
            target = Flywheel(dst, start_worker=False)
        except FlywheelError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        try:
            if target.store.counts().interactions and not force:
                console.print(f"[red]{safe_url(dst)} already holds interactions; pass --force to merge into it[/red]")
                raise typer.Exit(2)
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, console=console, transient=False, disable=as_json) as bar:
                tasks: dict[str, Any] = {}

                def progress(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = bar.add_task(stage, total=max(total, 1))
                    bar.update(tasks[stage], completed=done, total=max(total, 1))

                report = copy_store(source.store, target.store, progress=progress)
            if not is_postgres_url(dst):
                target.reindex()  # the embedded destination's FAISS index, built once at the end
        finally:
            target.close()
    finally:
        source.close()
    if as_json:
        console.print_json(json.dumps(dataclasses.asdict(report)))
        return
    table = Table(title=f"migrated {safe_url(src)} -> {safe_url(dst)}")
    table.add_column("what")
    table.add_column("copied", justify="right")
    for name in ("interactions", "embeddings", "signals", "rewards", "opt_outs", "erasures", "exports", "export_members"):
        table.add_row(name.replace("_", " "), str(getattr(report, name)))
    console.print(table)
    for note in report.notes:
        console.print(f"note: {note}")


def _register_subcommands() -> None:
    """Commands of the trainers package (imported lazily: they need no torch until they run)."""
    from .trainers.cli import register as register_trainers

    register_trainers(app)


_register_subcommands()


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
