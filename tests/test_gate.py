"""Offline evaluation, judges, the promotion gate, shadow scoring; end to end with a real adapter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flywheel_middleware.trainers import (
    DeterministicJudge,
    EvalCase,
    LangChainJudge,
    LexicalFewShot,
    Prediction,
    Registry,
    ShadowRecord,
    ShadowScorer,
    decide,
    evaluate_model,
    load_cases,
    parse_tool_calls,
    with_few_shot,
)
from flywheel_middleware.trainers.evaluate import EvalReport, normalize_text, token_f1, tool_match
from flywheel_middleware.trainers.testing import make_export, write_regression_cases


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_export(tmp_path_factory.mktemp("export") / "sft", "sft", n=20, eval_n=6)


@pytest.fixture(scope="module")
def cases(export_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[EvalCase]:
    reg = write_regression_cases(tmp_path_factory.mktemp("reg") / "regression.jsonl")
    return load_cases(export_dir) + load_cases(reg)


def oracle(cases: list[EvalCase]) -> Any:
    """A model that answers every case with its reference."""
    answers = {c.messages[-1]["content"]: c for c in cases}

    def generate(messages: list[dict]) -> Prediction:
        case = answers[messages[-1]["content"]]
        return Prediction(text=case.reference, tool_calls=case.reference_tool_calls, latency_s=0.01,
                          prompt_tokens=10, completion_tokens=5)

    return generate


def broken_tools(cases: list[EvalCase]) -> Any:
    """Right on chat, calls the wrong tool arguments on tool cases."""
    good = oracle(cases)

    def generate(messages: list[dict]) -> Any:
        pred = good(messages)
        if pred.tool_calls:
            return '<tool_call>{"name": "get_weather", "arguments": {"city": "Atlantis"}}</tool_call>'
        return pred

    return generate


# -- metrics ------------------------------------------------------------------------------------
def test_text_metrics() -> None:
    assert normalize_text("The  Answer, is: 42!") == "answer is 42"
    assert token_f1("Paris is a capital city.", "paris is a capital city") == 1.0
    assert 0 < token_f1("Paris is a capital city and also very nice and big", "Paris is a capital city") < 1
    assert token_f1("", "x") == 0.0


def test_tool_call_parsing_and_matching() -> None:
    text, calls = parse_tool_calls('ok <tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>')
    assert text == "ok" and calls == [{"name": "f", "arguments": {"a": 1}}]
    assert parse_tool_calls('{"name": "g", "arguments": "{\\"b\\": 2}"}')[1] == [{"name": "g", "arguments": {"b": 2}}]
    assert parse_tool_calls("no calls here") == ("no calls here", [])
    a = [{"name": "f", "arguments": {"city": "Paris", "n": 1}}, {"name": "g", "arguments": {}}]
    b = [{"name": "g", "arguments": {}}, {"name": "f", "arguments": {"n": "1", "city": " paris "}}]
    assert tool_match(a, b) == (True, True)  # order, formatting and case insensitive
    assert tool_match(a, [{"name": "f", "arguments": {"city": "Rome", "n": 1}}, b[0]]) == (True, False)
    assert tool_match([], []) == (None, None)
    assert tool_match([], a) == (False, False)


def test_load_cases_from_exports_and_regression_file(cases: list[EvalCase], tmp_path: Path) -> None:
    cats = {c.category for c in cases}
    assert cats == {"tool", "chat"}
    tool_case = next(c for c in cases if c.id == "reg-weather-lisbon")
    assert tool_case.reference_tool_calls == [{"name": "get_weather", "arguments": {"city": "Lisbon"}}]
    assert tool_case.messages == [{"role": "user", "content": "What is the weather in Lisbon?"}]
    exported = next(c for c in cases if c.category == "tool" and c.id.startswith("int-"))
    assert exported.reference_tool_calls[0]["arguments"] == {"city": exported.messages[-1]["content"].split()[-1][:-1]}
    kto = load_cases(make_export(tmp_path / "kto", "kto", n=12, eval_n=4))
    assert kto and all(c.reference for c in kto if c.category == "chat")
    dpo = load_cases(make_export(tmp_path / "dpo", "dpo", n=12, eval_n=4))
    assert len(dpo) == 4 and not any("do not know" in c.reference for c in dpo)


# -- evaluation -----------------------------------------------------------------------------------
def test_evaluate_model_per_category(cases: list[EvalCase]) -> None:
    perfect = evaluate_model(oracle(cases), cases, judge=DeterministicJudge(), name="oracle")
    assert perfect.overall["n"] == len(cases) and perfect.overall["errors"] == 0
    for cat in ("tool", "chat"):
        m = perfect.categories[cat]
        assert m["exact"] == m["normalized"] == m["judge"] == 1.0
        assert m["prompt_tokens_mean"] == 10 and m["completion_tokens_mean"] == 5
    assert perfect.categories["tool"]["tool_args"] == 1.0 and perfect.categories["chat"]["tool_name"] is None

    bad = evaluate_model(broken_tools(cases), cases, judge=DeterministicJudge(), name="bad")
    assert bad.categories["chat"]["exact"] == 1.0
    assert bad.categories["tool"]["tool_name"] == 1.0 and bad.categories["tool"]["tool_args"] == 0.0
    assert bad.categories["tool"]["latency_mean_s"] is not None

    def crashing(messages: list[dict]) -> str:
        raise RuntimeError("model down")

    crashed = evaluate_model(crashing, cases[:2])
    assert crashed.overall["errors"] == 2 and "model down" in crashed.cases[0].error


def test_report_roundtrip(cases: list[EvalCase], tmp_path: Path) -> None:
    report = evaluate_model(oracle(cases), cases, judge=DeterministicJudge())
    loaded = EvalReport.load(report.save(tmp_path / "r.json"))
    assert loaded.categories == json.loads(json.dumps(report.categories))
    assert loaded.cases[0].case_id == report.cases[0].case_id


def test_few_shot_wrapper_and_lexical_provider(export_dir: Path) -> None:
    seen: list[list[dict]] = []

    def model(messages: list[dict]) -> str:
        seen.append(messages)
        return "x"

    provider = LexicalFewShot(export_dir, k=2)
    msgs = [{"role": "system", "content": "sys"}, {"role": "user", "content": "What is the weather in Rome?"}]
    with_few_shot(model, provider)(msgs)
    sent = seen[-1]
    assert sent[0]["role"] == "system" and sent[-1] == msgs[-1]
    examples = sent[1:-1]
    assert len(examples) == 4 and examples[0]["role"] == "user" and "weather" in examples[0]["content"]
    assert examples[1]["tool_calls"][0]["function"]["name"] == "get_weather"


# -- judges -------------------------------------------------------------------------------------
def test_langchain_judge_scores_and_penalises_verbosity() -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    judge = LangChainJudge(FakeListChatModel(responses=['{"score": 10, "reason": "same"}'] * 3 + ["nonsense"]))
    short = judge.score(question="q", candidate="Paris is a capital city.", reference="Paris is a capital city.")
    assert short.score == 1.0 and short.rationale == "same"
    verbose = judge.score(question="q", candidate=" ".join(["Paris is a capital city."] * 10),
                          reference="Paris is a capital city.")
    assert verbose.score < 0.6 and "verbosity penalty" in verbose.rationale
    assert judge.score(question="q", candidate="x", reference="y").score == 1.0
    assert judge.score(question="q", candidate="x", reference="y").score == 0.0  # unparseable reply
    # the judge sees the reference and a truncated candidate
    seen: list[Any] = []

    class Recorder(FakeListChatModel):
        def invoke(self, messages: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            seen.append(messages)
            return super().invoke(messages, *args, **kwargs)

    LangChainJudge(Recorder(responses=['{"score": 5}']), truncate_ratio=2.0).score(
        question="q", candidate="word " * 500, reference="short reference")
    prompt = seen[0][1].content
    assert "REFERENCE ANSWER:\nshort reference" in prompt and "[...truncated]" in prompt


# -- gate ---------------------------------------------------------------------------------------
def scored(name: str, right: list[bool], categories: list[str] | None = None, judge: list[float] | None = None) -> EvalReport:
    """A report whose case i is right (normalised match) iff ``right[i]``: paired by id with others."""
    from flywheel_middleware.trainers.evaluate import CaseResult, _aggregate

    results = [CaseResult(case_id=f"q{i}", category=(categories[i] if categories else "all"), prediction="",
                          tool_calls=[], exact=ok, normalized=ok, tool_name=None, tool_args=None,
                          judge=None if judge is None else judge[i], latency_s=0.01, prompt_tokens=10,
                          completion_tokens=3) for i, ok in enumerate(right)]
    cats = sorted({r.category for r in results})
    return EvalReport(name=name, categories={c: _aggregate([r for r in results if r.category == c]) for c in cats},
                      overall=_aggregate(results), cases=results)


def test_gate_promotes_a_significant_improvement_with_its_test_statistic() -> None:
    base = [i % 2 == 0 for i in range(60)]  # 30 / 60 right
    cand = [ok or i % 4 == 1 for i, ok in enumerate(base)]  # 15 more right, none lost
    decision = decide(scored("candidate", cand), scored("serving", base))
    assert decision.promote, decision.reasons
    assert decision.metric == "normalized" and decision.n == 60 and decision.delta == pytest.approx(0.25)
    assert decision.test["test"] == "mcnemar-exact" and decision.test["candidate_only"] == 15
    assert decision.test["baseline_only"] == 0
    assert decision.p_value < 1e-4 and decision.statistic == pytest.approx(13.0667, rel=1e-3)
    assert "significantly better" in decision.reasons[0] and "McNemar" in decision.reasons[0]


def test_gate_rejects_a_candidate_that_is_not_significantly_better() -> None:
    base = [i % 2 == 0 for i in range(60)]
    same_rate = [i % 2 == 1 for i in range(60)]  # as many right, on other cases
    tiny_gain = [ok or i == 1 for i, ok in enumerate(base)]  # one case better
    for cand in (same_rate, tiny_gain, base):
        decision = decide(scored("candidate", cand), scored("serving", base))
        assert not decision.promote and "not significantly better" in decision.reasons[0]
    assert decide(scored("candidate", tiny_gain), scored("serving", base), alpha=0.9).promote  # what alpha means


def test_gate_needs_enough_paired_cases() -> None:
    decision = decide(scored("candidate", [True] * 12), scored("serving", [False] * 12))
    assert decision.p_value < 0.001 and not decision.promote
    assert any("12 paired cases < min_cases=30" in r for r in decision.reasons)
    assert decide(scored("candidate", [True] * 12), scored("serving", [False] * 12), min_cases=10).promote


def test_gate_rejects_a_regressing_category_even_when_better_overall() -> None:
    cats = ["banking"] * 40 + ["travel"] * 20
    base = [i < 20 or i >= 50 for i in range(60)]  # banking 20/40, travel 10/20
    cand = [True] * 40 + [i >= 55 for i in range(40, 60)]  # banking 40/40, travel 5/20
    decision = decide(scored("candidate", cand, cats), scored("serving", base, cats))
    assert not decision.promote
    assert any("'travel'" in r and "regressed 0.500 -> 0.250" in r for r in decision.reasons)
    assert decision.deltas["banking"]["normalized"] == pytest.approx(0.5)


def test_gate_uses_a_permutation_test_on_judge_scores() -> None:
    base = scored("serving", [False] * 40, judge=[0.4] * 40)
    better = scored("candidate", [False] * 40, judge=[0.6 + 0.01 * (i % 3) for i in range(40)])
    decision = decide(better, base)
    assert decision.promote and decision.metric == "judge" and decision.test["test"] == "sign-flip permutation"
    assert decide(base, better).promote is False


def test_gate_category_and_cost_rules(cases: list[EvalCase], tmp_path: Path) -> None:
    judge = DeterministicJudge()
    good = evaluate_model(oracle(cases), cases, judge=judge, name="good")
    bad = evaluate_model(broken_tools(cases), cases, judge=judge, name="bad")
    loose = {"min_cases": 1, "require_improvement": False}

    ok = decide(good, bad, tolerance=0.02, **loose)
    assert ok.promote and ok.deltas["tool"]["tool_args"] == 1.0 and any("improved" in r for r in ok.reasons)
    regress = decide(bad, good, tolerance=0.02, **loose)
    assert not regress.promote
    assert any("'tool'" in r and "tool_args" in r for r in regress.reasons)
    assert not any("'chat'" in r for r in regress.reasons)
    assert decide(bad, good, tolerance=1.0, **loose).promote  # a loose tolerance lets it through
    assert decide(good, good, **loose).promote and not decide(good, good, min_cases=1).promote

    only_chat = evaluate_model(oracle(cases), [c for c in cases if c.category == "chat"], judge=judge)
    missing = decide(only_chat, good, **loose)
    assert not missing.promote and any("missing" in r for r in missing.reasons)

    slow = EvalReport.from_dict(good.to_dict())
    slow.overall["latency_mean_s"] = good.overall["latency_mean_s"] * 3
    assert not decide(slow, good, max_latency_ratio=1.5, **loose).promote
    assert decide(slow, good, **loose).latency_ratio == pytest.approx(3.0)


def test_gate_records_decision_with_lineage(cases: list[EvalCase], tmp_path: Path) -> None:
    reg = Registry(tmp_path / "models")
    parent = {"adapter_id": "sft-1", "method": "sft", "base_model": {"name_or_path": "tiny"},
              "dataset": {"version": "v1"}, "metrics": {"train_loss": 1.0}}
    reg.register(parent)
    reg.register({**parent, "adapter_id": "dpo-2", "method": "dpo", "dataset": {"version": "v2"}, "parent": "sft-1"})
    judge = DeterministicJudge()
    good = evaluate_model(oracle(cases), cases, judge=judge, name="candidate")
    bad = evaluate_model(broken_tools(cases), cases, judge=judge, name="few_shot")
    decide(bad, good, registry=reg, adapter_id="dpo-2", min_cases=1, require_improvement=False)
    assert reg.get("dpo-2").status == "rejected"
    decision = reg.decisions("dpo-2")[0]
    assert decision["promote"] is False and [e["id"] for e in decision["lineage"]] == ["dpo-2", "sft-1"]
    assert decision["lineage"][0]["dataset_version"] == "v2"
    decide(good, bad, registry=reg, adapter_id="dpo-2", min_cases=1, require_improvement=False)
    assert reg.get("dpo-2").status == "promoted" and len(reg.decisions("dpo-2")) == 2


# -- shadow -------------------------------------------------------------------------------------
def test_shadow_scorer_on_interactions(tmp_path: Path) -> None:
    from flywheel_middleware.records import Interaction

    reg = Registry(tmp_path / "models")
    reg.register({"adapter_id": "cand", "method": "sft", "base_model": "tiny", "dataset": {"version": "v"}})
    served: list[str] = []

    def candidate(messages: list[dict]) -> str:
        served.append(messages[-1]["content"])
        return "Oslo is a capital city." if "Oslo" in messages[-1]["content"] else "no idea"

    scorer = ShadowScorer(candidate, registry=reg, adapter_id="cand")
    interactions = [
        Interaction(input="Name the capital city I mean: Oslo.", output="Oslo is a city.", metadata={"category": "chat"}),
        Interaction(input={"messages": [{"role": "user", "content": "And Rome?"}]}, output={"content": "Rome is a capital city."}),
    ]
    records = [ShadowRecord.from_interaction(interactions[0], reference="Oslo is a capital city."), interactions[1]]
    report = scorer.score(records)
    assert served == ["Name the capital city I mean: Oslo.", "And Rome?"]
    assert report.n == 2 and report.win_rate == 1.0  # candidate matched the correction, served did not
    assert report.per_category["chat"]["candidate_score_mean"] == 1.0
    assert report.per_category["default"]["agreement_mean"] == 0.0
    lines = [json.loads(x) for x in Path(report.path).read_text().splitlines()]
    assert [x["interaction_id"] for x in lines] == [interactions[0].id, interactions[1].id]
    assert reg.get("cand").status == "shadow" and reg.events("cand")[-2]["kind"] == "shadow"

    def broken(messages: list[dict]) -> str:
        raise RuntimeError("boom")

    failed = ShadowScorer(broken, out_path=tmp_path / "s.jsonl").score([records[0]])
    assert failed.results[0].error == "RuntimeError: boom"


# -- end to end with a real adapter ------------------------------------------------------------------
@pytest.mark.train
def test_three_way_eval_and_gate_end_to_end(tmp_path: Path, export_dir: Path) -> None:
    pytest.importorskip("trl")
    import torch
    from typer.testing import CliRunner

    from flywheel_middleware.trainers import SFTTrainConfig, build_tiny_model, compare_three_way, train_sft
    from flywheel_middleware.trainers.cli import app
    from flywheel_middleware.trainers.evaluate import save_reports

    torch.set_num_threads(1)
    model = build_tiny_model(tmp_path / "tiny")
    reg = Registry(tmp_path / "models")
    result = train_sft(export_dir, model, tmp_path / "adapter",
                       SFTTrainConfig(max_steps=4, learning_rate=5e-3, logging_steps=1, disable_tqdm=True),
                       registry=reg)
    eval_cases = load_cases(export_dir, limit=4)
    reports = compare_three_way(model, eval_cases, adapter=result.adapter_dir, few_shot=LexicalFewShot(export_dir, k=1),
                                judge=DeterministicJudge(), max_new_tokens=8)
    assert set(reports) == {"base", "few_shot", "candidate"}
    assert reports["few_shot"].overall["prompt_tokens_mean"] > reports["base"].overall["prompt_tokens_mean"]
    assert reports["candidate"].overall["completion_tokens_mean"] <= 8
    assert reports["candidate"].meta["adapter_enabled"] and not reports["base"].meta["adapter_enabled"]
    # the adapter changed what the model says
    assert [c.prediction for c in reports["candidate"].cases] != [c.prediction for c in reports["base"].cases] or \
        [c.tool_calls for c in reports["candidate"].cases] != [c.tool_calls for c in reports["base"].cases]
    for r in reports.values():
        r.meta.update(adapter_id=result.adapter_id, adapter_path=str(result.adapter_dir))
    path = save_reports(reports, tmp_path / "eval.json")

    res = CliRunner().invoke(app, ["gate", "--report", str(path), "--registry", str(tmp_path / "models"),
                                   "--tolerance", "1.0", "--out", str(tmp_path / "decision.json")])
    assert res.exit_code == 1, res.output  # a random tiny model on 4 cases proves nothing: rejected, with reasons
    assert "REJECT" in res.output and "4 paired cases < min_cases=30" in res.output
    assert reg.get(result.adapter_id).status == "rejected"
    decision = json.loads((tmp_path / "decision.json").read_text())
    assert decision["baseline"] == "few_shot" and decision["n"] == 4 and decision["p_value"] is not None

    res = CliRunner().invoke(app, ["eval", "--candidate", str(result.adapter_dir), "--data", str(export_dir),
                                   "--limit", "2", "--max-new-tokens", "4", "--out", str(tmp_path / "cli.json")])
    assert res.exit_code == 0, res.output
    assert "base" in res.output and "reports written" in res.output  # the rich table was printed
    assert set(json.loads((tmp_path / "cli.json").read_text())["reports"]) == {"base", "few_shot", "candidate",
                                                                             "candidate_few_shot"}
