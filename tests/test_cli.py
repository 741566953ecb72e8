"""The `flywheel` CLI behaves the same way everywhere: --path, --json, help on every option, choices listed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flywheel_middleware.cli import app

runner = CliRunner()
#: commands that touch no store: evaluation reads adapter folders, tiny-model writes a model folder
NO_STORE = {"eval", "tiny-model", "migrate"}  # migrate names two stores: SRC DST (folder or URL each)
#: commands that print a table or a report and so take --json
PRINTS_TABLES = {"stats", "export", "queue", "forget", "models", "eval", "gate", "train sft", "train dpo", "train kto", "migrate"}


def _commands() -> dict[str, typer.main.TyperCommand]:
    root = typer.main.get_command(app)
    found: dict[str, typer.main.TyperCommand] = {}
    for name, command in root.commands.items():
        if hasattr(command, "commands"):
            for sub_name, sub in command.commands.items():
                found[f"{name} {sub_name}"] = sub
        else:
            found[name] = command
    return found


def _help(name: str) -> str:
    result = runner.invoke(app, [*name.split(), "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_every_option_of_every_command_has_help():
    for name, command in _commands().items():
        for param in command.params:
            assert param.help, f"flywheel {name}: {param.opts or param.name} has no help"


@pytest.mark.parametrize("name", ["stats", "export", "queue", "serve", "models", "gate", "train sft", "eval"])
def test_help_shows_no_value_type_after_a_flag(name):
    assert "<bool>" not in _help(name)


@pytest.mark.parametrize(("name", "choices"), [
    ("export", ["sft|dpo|kto", "near|exact|none"]),
    ("models", ["candidate|shadow|promoted|rejected|retired"]),
    ("serve", ["critical|error|warning|info|debug|trace"]),
])
def test_help_lists_the_choices(name, choices):
    text = _help(name)
    for choice in choices:
        assert choice in text
    assert "<str>" not in text.split("Options")[0]  # the argument shows its choices, not a bare type


def test_every_store_command_takes_path_and_every_table_command_takes_json():
    commands = _commands()
    for name, command in commands.items():
        options = {opt for param in command.params for opt in param.opts}
        if name not in NO_STORE:
            assert "--path" in options, f"flywheel {name} has no --path"
        if name in PRINTS_TABLES:
            assert "--json" in options, f"flywheel {name} has no --json"
            json_param = next(p for p in command.params if "--json" in p.opts)
            assert json_param.is_flag, f"flywheel {name}: --json should be a flag like everywhere else"


def test_models_lists_the_registry_of_the_store_given_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    store.mkdir()
    result = runner.invoke(app, ["models", "--path", str(store), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
    assert not (store / "models").exists() and not (tmp_path / ".flywheel").exists()


def test_models_reads_the_registry_under_the_store(tmp_path):
    from flywheel_middleware.trainers import Registry

    Registry(tmp_path / "store" / "models")  # an empty registry where `train --path` would put it
    result = runner.invoke(app, ["models", "--path", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    assert "models in" in result.output and str(tmp_path / "store" / "models") in result.output.replace("\n", "")


def test_a_missing_store_is_a_clear_error_not_a_new_folder(tmp_path):
    missing = tmp_path / "nope"
    for command in (["stats"], ["queue"], ["models"]):
        result = runner.invoke(app, [*command, "--path", str(missing)])
        assert result.exit_code == 1 and "no flywheel store at" in result.output, (command, result.output)
    assert not missing.exists()


def test_a_url_that_is_not_a_database_is_refused(tmp_path):
    result = runner.invoke(app, ["stats", "--path", "http://127.0.0.1:6006"])
    assert result.exit_code == 2
    assert "a store folder or a postgresql:// URL" in result.output


def test_path_defaults_to_the_flywheel_path_environment_variable(tmp_path):
    result = runner.invoke(app, ["stats"], env={"FLYWHEEL_PATH": str(tmp_path / "from-env")})
    assert result.exit_code == 1 and "from-env" in result.output


def test_serve_refuses_a_phoenix_endpoint_without_a_scheme(tmp_path):
    env = {**os.environ, "FLYWHEEL_TOKENS": "alice=" + "t" * 24}
    result = runner.invoke(app, ["serve", "--path", str(tmp_path / "s"), "--phoenix", "127.0.0.1:6006"], env=env)
    assert result.exit_code == 2
    assert "http" in result.output and "127.0.0.1:6006" in result.output


def test_stats_counts_good_bad_and_unknown_turns(fw):
    from flywheel_middleware import Interaction

    good, bad, unrated = (Interaction(input=f"question number {i}", output="an answer") for i in range(3))
    for it in (good, bad, unrated):
        fw.record(it)
    assert fw.flush(60)
    fw.feedback(good.id, "thumbs_up")
    fw.feedback(good.id, "copy")
    fw.feedback(bad.id, "thumbs_down")
    fw.feedback(bad.id, "escalate")
    assert fw.flush(60)
    result = runner.invoke(app, ["stats", "--path", str(fw.path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["labels"] == {"good": 1, "bad": 1, "unknown": 1}
    table = runner.invoke(app, ["stats", "--path", str(fw.path)])
    assert all(word in table.output for word in ("good", "bad", "unknown")), table.output
