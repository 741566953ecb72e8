"""One error family: every library error is a FlywheelError, and a missing extra names its install command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import flywheel_middleware
from flywheel_middleware import errors


def test_every_error_is_a_flywheel_error_exported_from_the_package():
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.FlywheelError), name
        assert getattr(flywheel_middleware, name) is cls, name
        assert name in flywheel_middleware.__all__, name


@pytest.mark.parametrize(("name", "builtin"), [
    ("RecordError", ValueError), ("SignalError", ValueError), ("ConfigError", ValueError),
    ("CurationError", ValueError), ("ExportError", ValueError), ("SplitError", ValueError),
    ("TrainingError", ValueError), ("UnknownInteractionError", KeyError), ("UnknownModelError", KeyError),
    ("MissingExtraError", ModuleNotFoundError),
])
def test_errors_stay_the_builtin_exception_callers_caught_before(name, builtin):
    assert issubclass(getattr(errors, name), builtin)


def test_old_import_locations_re_export_the_same_classes():
    from flywheel_middleware import curation, export, queue, records

    assert records.RecordError is errors.RecordError
    assert queue.QueueFull is errors.QueueFull
    assert curation.CurationError is errors.CurationError and curation.SplitError is errors.SplitError
    assert export.ExportError is errors.ExportError
    assert issubclass(errors.SplitError, errors.ExportError)  # export() documents SplitError as an ExportError


def test_key_errors_read_as_their_message_not_a_quoted_repr():
    assert str(errors.UnknownInteractionError("unknown interaction id 'x'")) == "unknown interaction id 'x'"


def test_an_unknown_model_id_is_an_unknown_model_error(tmp_path):
    from flywheel_middleware.trainers import Registry

    with pytest.raises(errors.UnknownModelError, match="no model 'nope'"):
        Registry(tmp_path / "models").get("nope")


def test_a_bad_config_key_is_a_config_error(tmp_path):
    from flywheel_middleware import FlywheelConfig

    bad = tmp_path / "flywheel.json"
    bad.write_text(json.dumps({"no_such_setting": 1}))
    with pytest.raises(errors.ConfigError, match="unknown config keys"):
        FlywheelConfig.from_file(bad)


@pytest.mark.parametrize("endpoint", ["127.0.0.1:6006", "localhost:6006", "phoenix", "ftp://host"])
def test_a_phoenix_endpoint_without_an_http_scheme_is_a_config_error(endpoint):
    from flywheel_middleware import FlywheelConfig

    with pytest.raises(errors.ConfigError, match="http"):
        FlywheelConfig(phoenix_endpoint=endpoint)
    assert FlywheelConfig(phoenix_endpoint="http://127.0.0.1:6006").phoenix_endpoint == "http://127.0.0.1:6006"


_MISSING_FRAMEWORKS = r"""
import json, sys
for blocked in ("langchain_core", "langgraph", "llama_index", "fastapi", "torch", "transformers", "psycopg"):
    sys.modules[blocked] = None  # what an uninstalled package looks like to `import`
import flywheel_middleware  # the core imports no framework
from flywheel_middleware import MissingExtraError
out = {}
def attempt(label, fn):
    try:
        fn()
        out[label] = None
    except MissingExtraError as exc:
        out[label] = [str(exc), exc.extra, exc.name, isinstance(exc, ImportError)]
attempt("langchain", lambda: __import__("flywheel_middleware.adapters.langchain"))
attempt("fewshot_langchain", lambda: __import__("flywheel_middleware.adapters.fewshot_langchain"))
attempt("llamaindex", lambda: __import__("flywheel_middleware.adapters.llamaindex"))
attempt("serve", lambda: __import__("flywheel_middleware.serve"))
def tiny():
    from flywheel_middleware.trainers import build_tiny_model
    build_tiny_model("unused")
attempt("train", tiny)
def postgres():
    from flywheel_middleware.store.postgres import PostgresStore
    PostgresStore("postgresql://nobody@127.0.0.1:1/none")
attempt("postgres", postgres)
print(json.dumps(out))
"""


def test_a_missing_framework_is_a_missing_extra_error_with_the_install_command():
    proc = subprocess.run([sys.executable, "-c", _MISSING_FRAMEWORKS], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = {"langchain": "langchain", "fewshot_langchain": "langchain", "llamaindex": "llamaindex",
                "serve": "serve", "train": "train", "postgres": "postgres"}
    for label, extra in expected.items():
        assert seen[label] is not None, f"{label} imported without its framework"
        message, got_extra, module, is_import_error = seen[label]
        assert got_extra == extra and is_import_error
        assert f'pip install "flywheel-middleware[{extra}]"' in message
        assert module and module in message  # says which package is missing
