"""README doc-tests: its Python snippets run as written, and each example runs as the README invokes it.

What a snippet leaves to the reader (`agent`, `model`, `tools`, `index`, `query_engine`, a store
with some traffic) is provided here by real parts: `create_agent` over a deterministic chat model,
a LlamaIndex `VectorStoreIndex` over local models, a small store the test fills. Not run: the
PostgreSQL one-liner (a placeholder host), the custom-event line (it needs a running chain), the
trainers' Python block (real training: tests/test_real_model.py and the export_and_train example
cover that API).
"""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from flywheel_middleware import Flywheel

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def python_blocks(section: str) -> list[str]:
    """The ```python blocks under the README heading ``section`` (up to the next heading of its level or above)."""
    match = re.search(rf"^(#+) {re.escape(section)}\n", README, re.M)
    assert match, f"README has no section {section!r}"
    level, lines, fenced = len(match.group(1)), [], False
    for line in README[match.end():].splitlines(keepends=True):
        fenced ^= line.startswith("```")
        heading = re.match(r"(#+) ", line)
        if heading and not fenced and len(heading.group(1)) <= level:  # a "# comment" in a code block is no heading
            break
        lines.append(line)
    return re.findall(r"```python\n(.*?)```", "".join(lines), re.S)


def example_invocations() -> dict[str, list[str]]:
    """``examples/NAME.py`` -> its arguments, from the README's Examples table (optional ``[...]`` left out)."""
    rows = re.findall(r"^\| `(examples/[\w/]+\.py)([^`]*)` \|", README, re.M)
    return {script: shlex.split(re.sub(r"\[[^\]]*\]", "", args)) for script, args in rows}


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_example(script: str, args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(sys, "argv", [script, *args])
    runpy.run_path(str(ROOT / script), run_name="__main__")
    return capsys.readouterr().out


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_examples_table_lists_every_example_script():
    scripts = {f"examples/{p.name}" for p in (ROOT / "examples").glob("*.py")}
    assert set(example_invocations()) == scripts


def test_quick_start_runs_as_written(in_tmp: Path, embedder) -> None:
    pytest.importorskip("langchain.agents")
    pytest.importorskip("llama_index.core")
    from langchain.agents import create_agent

    from test_fewshot_langchain import ToolCallingFake, track_order

    (block, *_rest) = python_blocks("Quick start")
    router = _load(ROOT / "examples" / "llamaindex_router_phoenix.py", "_readme_router")
    namespace: dict[str, Any] = {
        "agent": create_agent(ToolCallingFake(), [track_order]),
        "inputs": {"messages": [("user", "Where is my order B42?")]},
        "query_engine": router.build_router(router.LocalLLM()),
    }
    exec(compile(block, "README.md#quick-start", "exec"), namespace)  # noqa: S102 - the doc-test
    iid, llama_id = namespace["interaction_id"], namespace["llama_id"]
    with Flywheel(in_tmp / ".flywheel", start_worker=False) as fw:
        turn = fw.get(iid)
        assert turn is not None and turn.session_id == "s1" and turn.user_id == "u1"
        assert sorted(s.kind for s in fw.signals(iid)) == ["correction", "thumbs_up"]
        assert fw.get(llama_id) is not None
        # what the README says right below the snippet
        reward = fw.reward(iid)
        assert (reward.reward, reward.label, reward.contributions) == (0.0, "unknown", {"anonymous": 0.0})
        assert 'contributions {"anonymous": 0.0}' in README
        sft = fw.export("sft", in_tmp / "sft", eval_fraction=0.0, dedup="none", min_rows=1)
        assert "edited answer" in (in_tmp / "sft" / "train.jsonl").read_text()
        assert sft.rows >= 1


def test_recording_without_a_framework_runs_as_written(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (block,) = [b for b in python_blocks("Quick start") if "fw.record(it)" in b]
    exec(compile(block, "README.md#without-a-framework", "exec"), {})  # noqa: S102 - the doc-test
    assert "Where is my parcel?" in capsys.readouterr().out



@pytest.mark.phoenix
@pytest.mark.slow
def test_the_langchain_section_runs_as_written_into_phoenix(in_tmp: Path, phoenix_server: str) -> None:
    pytest.importorskip("langchain.agents")
    import uuid

    from phoenix_server import get_span_annotations, get_spans, span_attribute, wait_for
    from test_fewshot_langchain import ToolCallingFake, track_order

    block = python_blocks("LangChain and LangGraph, traced to Phoenix")[0]
    assert 'phoenix_endpoint="http://127.0.0.1:6006"' in block
    my_uuid = uuid.uuid4()
    namespace: dict[str, Any] = {"model": ToolCallingFake(), "tools": [track_order], "my_uuid": my_uuid}
    # the one change: this test's own Phoenix instead of the README's port 6006
    exec(compile(block.replace("http://127.0.0.1:6006", phoenix_server), "README.md#langchain", "exec"), namespace)  # noqa: S102
    fw = namespace["fw"]
    try:
        assert namespace["iid"] == str(my_uuid)  # "== str(my_uuid): the root run id"
        assert fw.flush(60)
        assert [s.kind for s in fw.signals(namespace["iid"])] == ["thumbs_up"]
        span_id = fw.get(namespace["iid"]).metadata["span_id"]
        (root,) = wait_for(lambda: [r for r in get_spans(phoenix_server, parent_id="null") if r["context"]["span_id"] == span_id])
        assert span_attribute(root, "input.value") == "Where is my parcel?"  # the turn's text on the root span
        (note,) = wait_for(lambda: get_span_annotations(phoenix_server, [span_id]))
        assert (note["name"], note["annotator_kind"]) == ("thumbs_up", "HUMAN")  # "a HUMAN annotation on the root span"
    finally:
        fw.close()


def test_the_processor_example_runs_as_written(in_tmp: Path) -> None:
    (block,) = python_blocks("Processors: your own code in the ingest worker")
    *lines, string_factory = block.rstrip().splitlines()
    assert '"my_app.hooks:make"' in string_factory  # a module of the reader's app: not importable here
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), "README.md#processors", "exec"), namespace)  # noqa: S102 - the doc-test
    from flywheel_middleware import Interaction

    with namespace["fw"] as fw:
        assert fw.record(Interaction(input="Where is my refund?", output="On its way.")) is not None
        assert fw.record(Interaction(input="Where is my parcel?", output="Tomorrow.")) is not None
        assert fw.flush(60)
        assert fw.stats()["counters"].get("refund_turns") == 1



def test_the_few_shot_export_curation_and_consent_snippets_run_as_written(in_tmp: Path, embedder) -> None:
    import time

    from flywheel_middleware import Interaction

    turns = [("How long do refunds take?", "Refunds take 5 business days.", "billing", "user-42"),
             ("When will my refund arrive?", "Within 5 business days.", "billing", "u2"),
             ("Can I get my money back?", "Yes, within 30 days of purchase.", "billing", "u3"),
             ("Where is my parcel?", "It ships tomorrow.", "shipping", "user-42"),
             ("Do you ship to Norway?", "Yes, in 3-5 days.", "shipping", "u2"),
             ("How do I change my address?", "Under Settings > Addresses.", "shipping", "test-account")]
    with Flywheel(in_tmp / ".flywheel", embedder=embedder, flush_interval_s=0.05) as fw:
        ids = []
        for question, answer, category, user in turns:
            it = Interaction(input=question, output=answer, user_id=user, session_id=f"s-{user}-{category}",
                             metadata={"category": category})
            ids.append(fw.record(it))
        assert fw.flush(60)
        for iid, (*_, user) in zip(ids[1:3] + ids[4:], turns[1:3] + turns[4:]):
            fw.feedback(iid, "thumbs_up", actor=user)
        fw.correct(ids[0], "Refunds take 3 business days.", actor="user-42")  # two DPO pairs
        fw.correct(ids[3], "It shipped today.", actor="user-42")
        assert fw.flush(60)

        namespace: dict[str, Any] = {"fw": fw, "time": time, "interaction_id": ids[0]}
        (few_shot, *_rest) = python_blocks("Dynamic few-shot from the trajectory store")
        exec(compile(few_shot, "README.md#few-shot", "exec"), namespace)  # noqa: S102 - the doc-tests
        # the approved billing turns, and the corrected one with the user's answer
        assert namespace["examples"] and {e.interaction_id for e in namespace["examples"]} <= set(ids[0:3])
        assert all(e.output == "Refunds take 3 business days." for e in namespace["examples"] if e.interaction_id == ids[0])
        (export,) = python_blocks("Curation and export")
        exec(compile(export, "README.md#curation-and-export", "exec"), namespace)  # noqa: S102
        assert namespace["result"].rows >= 2
        assert [e.kind for e in namespace["exports_containing_user"](fw, "user-42")] == ["sft", "dpo", "kto"]
        (monitoring,) = python_blocks("Monitoring and the report (the MAPE loop)")
        exec(compile(monitoring, "README.md#monitoring", "exec"), namespace)  # noqa: S102
        assert (in_tmp / "report.html").stat().st_size > 10_000 and namespace["analysis"].plan is not None
        (consent,) = python_blocks("Consent, erasure, retention")
        exec(compile(consent, "README.md#consent", "exec"), namespace)  # noqa: S102
        assert namespace["report"] is not None



def test_the_llamaindex_snippet_runs_as_written(in_tmp: Path, embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core import Document, Settings, VectorStoreIndex

    from test_llamaindex import GEOGRAPHY, HashEmbedding, RuleLLM

    # the reader's index and models: a real VectorStoreIndex over local models (LlamaIndex's Settings)
    monkeypatch.setattr(Settings, "_llm", RuleLLM())
    monkeypatch.setattr(Settings, "_embed_model", HashEmbedding())
    index = VectorStoreIndex.from_documents([Document(text=t) for t in GEOGRAPHY])
    (block, *_rest) = python_blocks("LlamaIndex")
    with Flywheel(in_tmp / ".flywheel", embedder=embedder, flush_interval_s=0.05) as fw:
        namespace: dict[str, Any] = {"fw": fw, "index": index}
        exec(compile(block, "README.md#llamaindex", "exec"), namespace)  # noqa: S102 - the doc-test
        iid = namespace["response"].metadata["flywheel_interaction_id"]
        assert fw.flush(60)
        turn = fw.get(iid)
        assert (turn.session_id, turn.user_id, turn.input_text) == ("s1", "u1", "What is the refund policy?")
        assert [s.kind for s in fw.signals(iid)] == ["thumbs_up"]



def test_the_feedback_api_from_python_runs_as_written(in_tmp: Path) -> None:
    pytest.importorskip("fastapi")
    import json

    import httpx

    from test_serve import running

    (block,) = python_blocks("From Python")
    *lines, serve_forever = block.rstrip().splitlines()
    assert serve_forever.startswith("run_server(fw, tokens,")  # blocks: the test serves `app` itself instead
    (in_tmp / "tokens.json").write_text(json.dumps({"alice-token-0123456789abcdef": "alice"}))
    namespace: dict[str, Any] = {"OPS_TOKEN": "ops-token-0123456789abcdef"}
    exec(compile("\n".join(lines), "README.md#from-python", "exec"), namespace)  # noqa: S102 - the doc-test
    try:
        with running(namespace["app"]) as url:
            for token, user in (("alice-token-0123456789abcdef", "alice"), ("ops-token-0123456789abcdef", "admin")):
                who = httpx.get(f"{url}/v1/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=30)
                assert who.status_code == 200 and who.json()["user_id"] == user
    finally:
        namespace["fw"].close()



def test_the_langchain_few_shot_snippets_run_as_written(in_tmp: Path, embedder) -> None:
    pytest.importorskip("langchain.agents")
    import warnings

    from flywheel_middleware import Interaction
    from test_fewshot_langchain import ToolCallingFake, track_order

    with Flywheel(in_tmp / ".flywheel", embedder=embedder, flush_interval_s=0.05) as fw:
        good = Interaction(input="Where is my order A7?", output="Order A7 arrives Friday.", session_id="earlier")
        fw.record(good)
        assert fw.flush(60)
        fw.feedback(good.id, "thumbs_up", actor="u1")
        assert fw.flush(60)
        model = ToolCallingFake()
        namespace: dict[str, Any] = {"fw": fw, "model": model, "tools": [track_order], "any_runnable": model}
        selector, agents = python_blocks("LangChain")[-2:]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # create_react_agent's deprecation, which the README states
            for block in (selector, agents):
                exec(compile(block, "README.md#few-shot-langchain", "exec"), namespace)  # noqa: S102
        shown = namespace["few_shot"].format_messages(input="Where is my order B2?")
        assert [m.content for m in shown] == ["Where is my order A7?", "Order A7 arrives Friday."]
        namespace["agent"].invoke({"messages": [("user", "Where is my order B2?")]})  # the react agent, with examples
        assert any("Order A7 arrives Friday." in str(m.content) for m in model.calls[-1])


def test_the_redaction_config_snippet_runs_as_written(in_tmp: Path) -> None:
    from flywheel_middleware import Interaction

    (block,) = [b for b in python_blocks("PII redaction") if "redaction=" in b]
    namespace: dict[str, Any] = {"Flywheel": Flywheel}
    exec(compile(block, "README.md#pii-redaction", "exec"), namespace)  # noqa: S102 - the doc-test
    with namespace["fw"] as fw:
        it = Interaction(input="Mail me at ann.berg@example.com or ann.berg@example.com, thanks Acme",
                         output="Done.", session_id="s1")
        fw.record(it)
        assert fw.flush(120)
        assert fw.get(it.id).input_text == "Mail me at <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_1>, thanks Acme"


@pytest.mark.parametrize("script", ["examples/langchain_phoenix.py", "examples/langgraph_few_shot.py",
                                    "examples/llamaindex_router_phoenix.py"])
def test_each_example_runs_as_the_readme_invokes_it(script: str, capsys, monkeypatch, in_tmp: Path, embedder) -> None:
    out = _run_example(script, example_invocations()[script], capsys, monkeypatch)
    expected = {"examples/langchain_phoenix.py": "reward: Reward(label='good'",
                "examples/langgraph_few_shot.py": "injected examples recorded on the turn: ['",
                "examples/llamaindex_router_phoenix.py": "route: docs-router chose"}[script]
    assert expected in out, out


@pytest.mark.train
def test_the_export_and_train_example_runs_as_the_readme_invokes_it(capsys, monkeypatch, in_tmp: Path) -> None:
    pytest.importorskip("trl")
    script = "examples/export_and_train.py"
    out = _run_example(script, [*example_invocations()[script], "--out", str(in_tmp / "run")], capsys, monkeypatch)
    assert "sft: adapter" in out and "dpo: adapter" in out


@pytest.mark.parametrize("script", ["examples/langchain_phoenix.py", "examples/llamaindex_router_phoenix.py"])
def test_a_phoenix_url_without_a_scheme_is_an_error(script: str, capsys, monkeypatch) -> None:
    (documented,) = re.findall(rf"^\| `{re.escape(script)}([^`]*)`", README, re.M)
    assert "--phoenix URL" in documented
    with pytest.raises(SystemExit) as exit_:
        _run_example(script, ["--phoenix", "127.0.0.1:6006"], capsys, monkeypatch)
    assert exit_.value.code == 2
    assert "must be an http(s) URL" in capsys.readouterr().err


def test_the_curl_example_makes_every_call_against_a_running_server(tmp_path: Path, embedder) -> None:
    import shutil

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    from flywheel_middleware import Interaction
    from flywheel_middleware.serve import create_app
    from test_serve import running

    token, admin = "alice-token-0123456789abcdef", "admin-token-0123456789abcdef"  # the script's defaults
    with Flywheel(tmp_path / "store", embedder=embedder, flush_interval_s=0.05) as fw:
        iid = fw.record(Interaction(input="How do I reset my password?", output="Open settings.", user_id="alice"))
        assert iid and fw.flush(60)
        with running(create_app(fw, {token: "alice"}, admin_tokens=[admin])) as url:
            done = subprocess.run(["bash", str(ROOT / "examples" / "feedback_api_curl.sh")], capture_output=True,
                                  text=True, timeout=120, env={**os.environ, "FLYWHEEL_URL": url, "IID": iid})
    assert done.returncode == 0, done.stdout + done.stderr
    codes = re.findall(r"\[HTTP (\d{3})\]", done.stdout)
    assert len(codes) > 3 and all(c in ("200", "201") for c in codes[:-3]), done.stdout
    assert codes[-3:] == ["422", "401", "404"]  # the errors the script shows on purpose, as its comments say
