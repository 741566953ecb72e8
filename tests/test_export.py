"""Export on a real store: SFT / DPO / KTO rows, the OpenAI variant, manifest, versions, registry,
redaction re-check, and the formats read by ``datasets`` and accepted by TRL through the trainers."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from flywheel_middleware import Flywheel, Interaction, RoutingDecision, Step
from flywheel_middleware.curation import SplitError
from flywheel_middleware.export import ExportError, export, exports_containing_interaction, exports_containing_user, list_exports

_n = itertools.count()


def add(fw: Flywheel, question: str, answer: str = "an answer", *, session: str | None = None, user: str = "u1",
        category: str | None = None, steps: list[Step] | None = None, **kwargs: Any) -> str:
    """Record one turn; its own session unless given (no implicit rephrase signal across turns)."""
    it = Interaction(input=question, output=answer, session_id=session or f"s-{next(_n)}", user_id=user,
                     steps=steps or [Step("llm", "fake", outputs=answer)], metadata={"category": category} if category else {},
                     **kwargs)
    fw.record(it)
    return it.id


def rate(fw: Flywheel, *pairs: tuple[str, str]) -> None:
    """Flush, send (interaction id, signal kind) feedback from distinct actors, flush again."""
    assert fw.flush(60)
    for n, (iid, kind) in enumerate(pairs):
        fw.feedback(iid, kind, actor=f"actor-{n}")
    assert fw.flush(60)


def rows(path: Path, name: str = "train.jsonl") -> list[dict[str, Any]]:
    return [json.loads(line) for line in (path / name).read_text().splitlines() if line.strip()]


def all_rows(path: Path) -> list[dict[str, Any]]:
    return rows(path) + rows(path, "eval.jsonl")


def tool_turn(city: str = "Paris", user: str = "u1") -> Interaction:
    return Interaction(
        input=f"What's the weather in {city}?", output=f"It is sunny in {city}, 24 degrees.", session_id=f"s-{next(_n)}", user_id=user,
        steps=[
            Step("llm", "chat", inputs=[[{"role": "system", "content": "You are a travel assistant."},
                                         {"role": "user", "content": f"What's the weather in {city}?"}]],
                 outputs={"role": "assistant", "content": "", "tool_calls": [{"name": "get_weather", "args": {"city": city}, "id": "call_w1"}]}),
            Step("tool", "get_weather", inputs={"city": city}, outputs={"role": "tool", "content": "sunny, 24C"},
                 metadata={"tool_call_id": "call_w1"}),
            Step("llm", "chat", outputs={"role": "assistant", "content": f"It is sunny in {city}, 24 degrees."}),
        ],
        decisions=[RoutingDecision("model", chosen=["get_weather"], candidates=["get_weather", "book_hotel"],
                                   metadata={"tool_call_ids": ["call_w1"], "args": [{"city": city}]})],
    )


# -- sft ------------------------------------------------------------------------------------------------------
def test_sft_rows_rebuild_tool_calls_from_the_trajectory(fw: Flywheel, tmp_path: Path) -> None:
    it = tool_turn()
    fw.record(it)
    other = add(fw, "Do you ship to Canada?", "Yes, in 5 days.")
    rate(fw, (it.id, "thumbs_up"), (other, "thumbs_up"))
    result = export(fw, "sft", tmp_path / "sft", eval_fraction=0)
    row = next(r for r in rows(tmp_path / "sft") if r["metadata"]["interaction_id"] == it.id)
    roles = [m["role"] for m in row["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    call = row["messages"][2]["tool_calls"][0]
    assert call == {"id": "call_w1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    assert row["messages"][3] == {"role": "tool", "tool_call_id": "call_w1", "name": "get_weather", "content": "sunny, 24C"}
    assert row["messages"][-1] == {"role": "assistant", "content": "It is sunny in Paris, 24 degrees."}
    assert row["metadata"]["source"] == "good" and result.rows == 2


def test_openai_variant_uses_the_openai_fine_tuning_shape(fw: Flywheel, tmp_path: Path) -> None:
    it = tool_turn("Rome")
    fw.record(it)
    rate(fw, (it.id, "thumbs_up"))
    export(fw, "sft", tmp_path / "sft", eval_fraction=0)
    (line,) = rows(tmp_path / "sft", "train.openai.jsonl")
    assert set(line) == {"messages", "tools"}
    calling = line["messages"][2]
    assert calling["role"] == "assistant" and "content" not in calling
    fn = calling["tool_calls"][0]
    assert fn["type"] == "function" and isinstance(fn["function"]["arguments"], str)
    assert json.loads(fn["function"]["arguments"]) == {"city": "Rome"}
    assert line["messages"][3] == {"role": "tool", "tool_call_id": fn["id"], "content": "sunny, 24C"}
    assert line["tools"] == [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}]
    assert {m["role"] for m in line["messages"]} <= {"system", "user", "assistant", "tool"}


def test_sft_takes_the_corrected_answer_and_skips_unlabelled_turns(fw: Flywheel, tmp_path: Path) -> None:
    wrong = add(fw, "How long does delivery take?", "Two months.")
    liked = add(fw, "Do you ship to Canada?", "Yes.")
    add(fw, "Do you have a shop in Oslo?", "Yes, downtown.")  # no signal: not a training target
    rate(fw, (liked, "thumbs_up"))
    fw.correct(wrong, "Delivery takes 3 to 5 business days.")
    fw.flush(60)
    export(fw, "sft", tmp_path / "sft", eval_fraction=0)
    by_id = {r["metadata"]["interaction_id"]: r for r in rows(tmp_path / "sft")}
    assert set(by_id) == {wrong, liked}
    assert by_id[wrong]["messages"][-1]["content"] == "Delivery takes 3 to 5 business days."
    assert by_id[wrong]["metadata"]["source"] == "correction"


# -- rephrases ---------------------------------------------------------------------------------------------------
def rephrased_session(fw: Flywheel, resolution: str) -> tuple[str, str]:
    """A turn answered wrong, then the user asks again in other words; ``resolution`` says how the second
    turn ended ("thumbs_up" on a right answer, or "correction" with the right one)."""
    first = add(fw, "How do I reset my password?", "Our opening hours are 9 to 5.", session="reset", started_at=1000.0)
    again = add(fw, "I forgot my password, how can I reset it?",
                "Use 'Forgot password' on the login page." if resolution == "thumbs_up" else "We ship worldwide.",
                session="reset", started_at=1010.0)
    assert fw.flush(60)
    if resolution == "thumbs_up":
        fw.feedback(again, "thumbs_up", actor="u1")
    else:
        fw.correct(again, "Use 'Forgot password' on the login page.", actor="u1")
    assert fw.flush(60)
    assert any(s.kind == "rephrase" for s in fw.store.signals_for([first])[first])  # the worker saw the rephrase
    return first, again


@pytest.mark.parametrize("resolution", ["thumbs_up", "correction"])
def test_a_rephrased_turn_takes_the_answer_that_resolved_it(fw: Flywheel, tmp_path: Path, resolution: str) -> None:
    first, _ = rephrased_session(fw, resolution)
    export(fw, "sft", tmp_path / "sft", eval_fraction=0, min_rows=1)
    (row,) = [r for r in rows(tmp_path / "sft") if r["metadata"]["interaction_id"] == first]
    assert row["metadata"]["source"] == "rephrase"
    assert row["messages"][-2] == {"role": "user", "content": "How do I reset my password?"}  # the first wording...
    assert row["messages"][-1] == {"role": "assistant", "content": "Use 'Forgot password' on the login page."}  # ...its answer
    export(fw, "dpo", tmp_path / "dpo", eval_fraction=0, min_rows=1)
    (pair,) = [r for r in rows(tmp_path / "dpo") if r["metadata"]["interaction_id"] == first]
    # a right answer to a near-identical question makes the same pair as a "near" pair (listed first)
    assert pair["metadata"]["source"] == ("rephrase" if resolution == "correction" else "near")
    assert pair["chosen"][-1]["content"] == "Use 'Forgot password' on the login page."
    assert pair["rejected"][-1]["content"] == "Our opening hours are 9 to 5."


def test_rephrase_resolutions_can_be_turned_off(fw: Flywheel, tmp_path: Path) -> None:
    first, _ = rephrased_session(fw, "thumbs_up")
    export(fw, "sft", tmp_path / "sft", eval_fraction=0, min_rows=1, rephrases=False)
    assert first not in {r["metadata"]["interaction_id"] for r in rows(tmp_path / "sft")}
    export(fw, "sft", tmp_path / "only", eval_fraction=0, min_rows=1, sources=["rephrase"])
    assert [r["metadata"]["interaction_id"] for r in rows(tmp_path / "only")] == [first]
    with pytest.raises(ExportError, match="rephrase_hops"):
        export(fw, "sft", tmp_path / "bad", rephrase_hops=0)


def test_an_unresolved_rephrase_gives_no_label(fw: Flywheel, tmp_path: Path) -> None:
    first = add(fw, "How do I reset my password?", "Our opening hours are 9 to 5.", session="reset", started_at=1000.0)
    add(fw, "I forgot my password, how can I reset it?", "We ship worldwide.", session="reset", started_at=1010.0)
    other = add(fw, "Do you ship to Canada?", "Yes, in 5 days.")
    rate(fw, (other, "thumbs_up"))  # the rephrased turn got no approval and no correction
    export(fw, "sft", tmp_path / "sft", eval_fraction=0, min_rows=1)
    assert first not in {r["metadata"]["interaction_id"] for r in rows(tmp_path / "sft")}


# -- dpo --------------------------------------------------------------------------------------------------------
def test_dpo_pair_from_a_correction(fw: Flywheel, tmp_path: Path) -> None:
    a = add(fw, "How long does delivery take?", "Two months.")
    b = add(fw, "What is your refund window?", "There is none.")
    assert fw.flush(60)
    fw.correct(a, "Delivery takes 3 to 5 business days.")
    fw.correct(b, "You can return items within 30 days.")
    fw.flush(60)
    export(fw, "dpo", tmp_path / "dpo", eval_fraction=0)
    row = next(r for r in rows(tmp_path / "dpo") if r["metadata"]["interaction_id"] == a)
    assert row["prompt"] == [{"role": "user", "content": "How long does delivery take?"}]
    assert row["chosen"] == [{"role": "assistant", "content": "Delivery takes 3 to 5 business days."}]
    assert row["rejected"] == [{"role": "assistant", "content": "Two months."}]
    assert row["metadata"]["source"] == "correction"


def test_dpo_pair_from_a_pairwise_preference(fw: Flywheel, tmp_path: Path) -> None:
    a = add(fw, "Summarise our return policy", "Returns are possible.")
    b = add(fw, "Summarise our shipping policy", "We ship.")
    assert fw.flush(60)
    fw.prefer(a, "Returns are free within 30 days.", "Returns are possible.")
    fw.prefer(b, "Free shipping over 50 euros.", "We ship.")
    fw.flush(60)
    export(fw, "dpo", tmp_path / "dpo", eval_fraction=0)
    row = next(r for r in rows(tmp_path / "dpo") if r["metadata"]["interaction_id"] == a)
    assert row["chosen"][0]["content"] == "Returns are free within 30 days."
    assert row["rejected"][0]["content"] == "Returns are possible."
    assert row["metadata"]["source"] == "preference"


def test_dpo_pair_from_a_regeneration(fw: Flywheel, tmp_path: Path) -> None:
    first = add(fw, "What is the capital of Australia?", "The biggest city is the capital.", session="trip", started_at=1000.0)
    second = add(fw, "What's the capital of Australia?", "Canberra is the capital of Australia.", session="trip", started_at=1010.0)
    unrelated = add(fw, "Book me a hotel in Perth", "Done.", session="trip", started_at=1020.0)
    rate(fw, (first, "regenerate"), (second, "thumbs_up"), (unrelated, "thumbs_up"))
    export(fw, "dpo", tmp_path / "dpo", eval_fraction=0, min_rows=1)
    (row,) = [r for r in rows(tmp_path / "dpo") if r["metadata"]["source"] == "regenerate"]
    assert row["prompt"][-1]["content"] == "What is the capital of Australia?"
    assert row["chosen"][0]["content"] == "Canberra is the capital of Australia."
    assert row["rejected"][0]["content"] == "The biggest city is the capital."
    assert row["metadata"]["interaction_id"] == first and row["metadata"]["chosen_interaction_id"] == second
    assert row["metadata"]["pair_similarity"] >= 0.92


def test_dpo_pair_from_near_identical_prompts_answered_well_and_badly(fw: Flywheel, tmp_path: Path) -> None:
    good = add(fw, "How do I cancel my subscription?", "Open Settings > Billing and press Cancel.")
    bad = add(fw, "How do I cancel my subscription", "You cannot.")
    far = add(fw, "Which trains go to the airport?", "No idea.")
    rate(fw, (good, "thumbs_up"), (bad, "thumbs_down"), (far, "thumbs_down"))
    export(fw, "dpo", tmp_path / "dpo", eval_fraction=0, min_rows=1)
    out = rows(tmp_path / "dpo")
    assert len(out) == 1  # the unrelated bad answer has no near-identical good one
    row = out[0]
    assert row["metadata"]["source"] == "near" and row["metadata"]["interaction_id"] == bad
    assert row["chosen"][0]["content"] == "Open Settings > Billing and press Cancel."
    assert row["rejected"][0]["content"] == "You cannot."
    manifest = json.loads((tmp_path / "dpo" / "manifest.json").read_text())
    assert set(manifest["interaction_ids"]) == {good, bad}


# -- kto -----------------------------------------------------------------------------------------------------------
def test_kto_labels_good_true_bad_false_and_reports_balance(fw: Flywheel, tmp_path: Path) -> None:
    goods = [add(fw, q, "Yes.") for q in ("Do you ship to Canada?", "Is there a student discount?", "Can I pay by card?")]
    bad = add(fw, "Where is my parcel?", "I cannot say.")
    rate(fw, *[(g, "thumbs_up") for g in goods], (bad, "thumbs_down"))
    result = export(fw, "kto", tmp_path / "kto", eval_fraction=0)
    labels = {r["metadata"]["interaction_id"]: r["label"] for r in rows(tmp_path / "kto")}
    assert labels == {**{g: True for g in goods}, bad: False}
    assert rows(tmp_path / "kto")[0]["completion"][0]["role"] == "assistant"
    balance = result.manifest["balance"]
    assert (balance["desirable"], balance["undesirable"]) == (3, 1)
    assert balance["undesirable_weight"] == pytest.approx(3 / (4 / 3), rel=1e-3)  # TRL's [1, 4/3] rule
    assert result.manifest["counts"]["per_label"] == {"desirable": 3, "undesirable": 1}


# -- manifest, versions, registry -------------------------------------------------------------------------------------
def test_manifest_records_what_the_dataset_holds(fw: Flywheel, tmp_path: Path) -> None:
    ids = [add(fw, f"Question number {w}?", f"Answer {w}.", user=f"user-{n % 2}", category="billing" if n % 2 else "shipping")
           for n, w in enumerate(("one", "two", "three", "four", "five", "six"))]
    rate(fw, *[(i, "thumbs_up") for i in ids])
    result = export(fw, "sft", tmp_path / "sft", eval_fraction=0.34)
    m = json.loads((tmp_path / "sft" / "manifest.json").read_text())
    assert m["version"] == result.version and len(m["version"]) == 16 and m["kind"] == "sft"
    assert m["counts"]["rows"] == 6 and m["counts"]["train"] + m["counts"]["eval"] == 6 and m["counts"]["eval"] == 2
    assert m["counts"]["per_category"] == {"billing": 3, "shipping": 3}
    assert sorted(m["interaction_ids"]) == sorted(ids)
    assert len(m["user_ids"]) == 2 and all(u.startswith("u_") and "user-" not in u for u in m["user_ids"])
    assert m["store"]["interactions"] == 6 and m["store"]["deletion_generation"] == 0 and m["store"]["last_ingest_at"]
    assert m["redaction"]["rows_checked"] + m["redaction"]["rows_verified_by_stamp"] == 6 and m["redaction"]["rows_changed"] == 0
    assert m["files"]["train"]["rows"] == m["counts"]["train"] and m["files"]["train_openai"]["name"] == "train.openai.jsonl"
    assert m["library_version"] and m["created_at"] and m["filters"] == {}
    assert set(m["split"]["strata"]) == {"billing", "shipping"}
    assert {r["metadata"]["interaction_id"] for r in all_rows(tmp_path / "sft")} == set(ids)


def test_version_is_stable_for_the_same_data_and_changes_with_it(fw: Flywheel, tmp_path: Path) -> None:
    ids = [add(fw, q, "Yes.") for q in ("Do you ship to Canada?", "Is there a student discount?", "Can I pay by card?")]
    extra = add(fw, "Do you have gift cards?", "Yes, online.")
    rate(fw, *[(i, "thumbs_up") for i in ids])
    first = export(fw, "sft", tmp_path / "a")
    again = export(fw, "sft", tmp_path / "b")
    assert first.version == again.version
    assert (tmp_path / "a" / "train.jsonl").read_bytes() == (tmp_path / "b" / "train.jsonl").read_bytes()
    rate(fw, (extra, "thumbs_up"))
    changed = export(fw, "sft", tmp_path / "c")
    assert changed.version != first.version and changed.rows == first.rows + 1
    reseeded = export(fw, "sft", tmp_path / "d", seed=7)
    assert reseeded.manifest["options"]["seed"] == 7 and reseeded.rows == changed.rows


def test_registry_lists_the_versions_that_contain_a_user(fw: Flywheel, tmp_path: Path) -> None:
    alice = [add(fw, "Do you ship to Canada?", "Yes.", user="alice"), add(fw, "Can I pay by card?", "Yes.", user="alice")]
    bob = [add(fw, "Is there a student discount?", "Yes, 10%.", user="bob"), add(fw, "Where is the shop?", "Downtown.", user="bob")]
    rate(fw, *[(i, "thumbs_up") for i in alice + bob])
    with_both = export(fw, "sft", tmp_path / "both")
    bob_only = export(fw, "sft", tmp_path / "bob", exclude_users=["alice"])
    assert {e.version for e in exports_containing_user(fw, "alice")} == {with_both.version}
    assert {e.version for e in exports_containing_user(fw, "bob")} == {with_both.version, bob_only.version}
    assert exports_containing_user(fw, "carol") == []
    (entry,) = [e for e in list_exports(fw) if e.version == bob_only.version]
    assert entry.kind == "sft" and entry.path == str((tmp_path / "bob").resolve()) and entry.n_users == 1
    assert [e.version for e in exports_containing_interaction(fw, alice[0])] == [with_both.version]
    assert "alice" not in (tmp_path / "bob" / "manifest.json").read_text()


def test_filters_select_by_confidence_time_and_category(fw: Flywheel, tmp_path: Path) -> None:
    old = add(fw, "Do you ship to Canada?", "Yes.", category="shipping", started_at=1000.0)
    new = add(fw, "Can I pay by card?", "Yes.", category="billing", started_at=5000.0)
    weak = add(fw, "Is there a student discount?", "Yes.", category="billing", started_at=6000.0)
    rate(fw, (old, "thumbs_up"), (new, "thumbs_up"), (new, "copy"), (weak, "copy"))
    ids = lambda p: {r["metadata"]["interaction_id"] for r in all_rows(p)}  # noqa: E731
    export(fw, "sft", tmp_path / "recent", since=2000.0, eval_fraction=0, min_rows=1)
    assert ids(tmp_path / "recent") == {new, weak}
    export(fw, "sft", tmp_path / "billing", category="billing", eval_fraction=0, min_rows=1)
    assert ids(tmp_path / "billing") == {new, weak}
    export(fw, "sft", tmp_path / "sure", min_confidence=0.9, eval_fraction=0, min_rows=1)
    assert weak not in ids(tmp_path / "sure") and new in ids(tmp_path / "sure")
    m = json.loads((tmp_path / "sure" / "manifest.json").read_text())
    assert m["filters"] == {"min_confidence": 0.9}


def test_export_deduplicates_repeated_training_targets(fw: Flywheel, tmp_path: Path) -> None:
    a = add(fw, "How do I reset my password?", "Use the reset link on the login page.")
    b = add(fw, "how do I reset my password?", "Use the reset link on the login page.")
    c = add(fw, "How can I reset my password?", "Use the reset link on the login page!")
    d = add(fw, "Do you ship to Canada?", "Yes.")
    rate(fw, (a, "thumbs_up"), (b, "thumbs_up"), (c, "thumbs_up"), (d, "thumbs_up"))
    result = export(fw, "sft", tmp_path / "sft", eval_fraction=0)
    assert result.rows == 2
    assert result.manifest["dedup"]["exact_removed"] == 1 and result.manifest["dedup"]["near_removed"] == 1
    assert export(fw, "sft", tmp_path / "all", dedup="none", eval_fraction=0).rows == 4


# -- label agreement -----------------------------------------------------------------------------------------------------
PIN_QUESTIONS = ["How do I change my PIN?", "I want to change my card PIN", "How can I change the PIN of my card?",
                 "Change my PIN please", "Can I change my PIN number?", "What do I do to change my PIN?"]


def sft_ids(path: Path) -> set[str]:
    return {r["metadata"]["interaction_id"] for r in all_rows(path)}


def test_a_careless_thumbs_up_that_other_users_contradict_is_not_exported(fw: Flywheel, tmp_path: Path) -> None:
    rejected = [add(fw, q, "card_lost", user=f"u{n}") for n, q in enumerate(PIN_QUESTIONS[:3])]
    careless = add(fw, PIN_QUESTIONS[3], "card_lost", user="u-careless")  # the same wrong answer, thumbs up
    right = [add(fw, q, "pin_change", user=f"v{n}") for n, q in enumerate(PIN_QUESTIONS[4:])]
    unrelated = add(fw, "Do you ship to Canada?", "Yes.", user="w")
    rate(fw, *[(i, "thumbs_down") for i in rejected], (careless, "thumbs_up"), *[(i, "thumbs_up") for i in right],
         (unrelated, "thumbs_up"))
    result = export(fw, "sft", tmp_path / "sft", eval_fraction=0)
    assert sft_ids(tmp_path / "sft") == {*right, unrelated}  # the consistent labels stay
    assert result.manifest["agreement"]["right_claims_dropped"] == 1
    export(fw, "sft", tmp_path / "off", eval_fraction=0, agreement=False)
    assert careless in sft_ids(tmp_path / "off")  # without the filter it would have been a training target


def test_a_correction_towards_another_label_than_everyone_elses_is_not_exported(fw: Flywheel, tmp_path: Path) -> None:
    turns = [add(fw, q, "balance", user=f"u{n}") for n, q in enumerate(PIN_QUESTIONS[:5])]
    wrong = add(fw, PIN_QUESTIONS[5], "balance", user="u-wrong")
    assert fw.flush(60)
    for n, iid in enumerate(turns):
        fw.correct(iid, "pin_change", actor=f"u{n}")
    fw.correct(wrong, "card_lost", actor="u-wrong")  # a correction that names a wrong label
    assert fw.flush(60)
    labels = dict(short_words=8)  # answers of up to 8 words are mutually exclusive labels (a routing task)
    export(fw, "dpo", tmp_path / "dpo", eval_fraction=0, **labels)
    export(fw, "sft", tmp_path / "sft", eval_fraction=0, dedup="none", **labels)
    assert sft_ids(tmp_path / "dpo") == sft_ids(tmp_path / "sft") == set(turns)
    assert {r["chosen"][-1]["content"] for r in all_rows(tmp_path / "dpo")} == {"pin_change"}
    # free text (the default): two different answers may both be right, so the lone correction stays
    export(fw, "sft", tmp_path / "free", eval_fraction=0, dedup="none")
    assert wrong in sft_ids(tmp_path / "free")


def test_a_category_can_be_barred_from_good_labels_but_keeps_its_corrections(fw: Flywheel, tmp_path: Path) -> None:
    liked = add(fw, "Where is my parcel?", "im_sorry_for_your_loss", category="fallback")  # no valid route, yet a thumbs-up
    fixed = add(fw, "Freeze my account", "you_can_use_the_inbox", category="fallback")
    disliked = add(fw, "Pay my bill", "the_bill_is", category="fallback")
    routed = add(fw, "Change my PIN", "pin_change", category="pin_change")
    rate(fw, (liked, "thumbs_up"), (disliked, "thumbs_down"), (routed, "thumbs_up"))
    fw.correct(fixed, "freeze_account")
    assert fw.flush(60)
    export(fw, "sft", tmp_path / "sft", eval_fraction=0, no_good_categories="fallback")
    assert sft_ids(tmp_path / "sft") == {fixed, routed}
    result = export(fw, "kto", tmp_path / "kto", eval_fraction=0, no_good_categories=["fallback"])
    assert sft_ids(tmp_path / "kto") == {fixed, disliked, routed}  # a bad label on a fallback answer stays
    assert result.manifest["filters"]["no_good_categories"] == ["fallback"]
    export(fw, "sft", tmp_path / "all", eval_fraction=0)
    assert liked in sft_ids(tmp_path / "all")


def test_label_agreement_options_are_checked(fw: Flywheel, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="short_words"):
        export(fw, "sft", tmp_path / "x", short_words=0)
    with pytest.raises(ExportError, match="min_agreement"):
        export(fw, "sft", tmp_path / "x", min_agreement=2.0)


# -- privacy -------------------------------------------------------------------------------------------------------------
def test_redaction_recheck_catches_pii_left_in_the_store(fw: Flywheel, tmp_path: Path) -> None:
    from flywheel_middleware.feedback import make_signal
    from flywheel_middleware.store.base import StoredInteraction

    # written straight into SQLite, past the ingest worker's redaction (an old store, a bug, a manual import)
    leaked = Interaction(input="Email me at jane.doe@example.com please", output="Sure, I wrote to jane.doe@example.com.",
                         session_id="raw", user_id="u-raw")
    clean = Interaction(input="Do you ship to Canada?", output="Yes.", session_id="raw2", user_id="u-raw")
    signals = [make_signal(leaked.id, "thumbs_up", actor="a"), make_signal(clean.id, "thumbs_up", actor="a")]
    fw.store.ingest([StoredInteraction(leaked), StoredInteraction(clean)], signals, {})
    fw.processors[0].update([leaked.id, clean.id])
    result = export(fw, "sft", tmp_path / "sft", eval_fraction=0)
    text = "".join(p.read_text() for p in (tmp_path / "sft").glob("*.jsonl"))
    assert "jane.doe@example.com" not in text and "<EMAIL_ADDRESS" in text
    red = result.manifest["redaction"]
    assert red["rows_checked"] == 2 and red["rows_changed"] == 1 and red["strings_changed"] == 2
    assert red["entities"] == {"EMAIL_ADDRESS": 2}


# -- errors -----------------------------------------------------------------------------------------------------------------
def test_export_refuses_unknown_kinds_empty_results_and_too_few_rows(fw: Flywheel, tmp_path: Path) -> None:
    only = add(fw, "Do you ship to Canada?", "Yes.")
    rate(fw, (only, "thumbs_up"))
    with pytest.raises(ExportError, match="unknown export kind 'ppo'"):
        export(fw, "ppo", tmp_path / "x")
    with pytest.raises(ExportError, match="unknown export option"):
        export(fw, "sft", tmp_path / "x", min_confidense=0.5)
    with pytest.raises(ExportError, match="nothing to export"):
        export(fw, "dpo", tmp_path / "x")
    with pytest.raises(SplitError, match="too few rows"):
        export(fw, "sft", tmp_path / "x")
    assert export(fw, "sft", tmp_path / "x", eval_fraction=0).rows == 1


# -- consumers: datasets, TRL (through the trainers), CLI, workers ---------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[Flywheel, dict[str, Path]]]:
    """A store with good, bad and corrected turns (tool calls included) and one export of each kind."""
    fw = Flywheel(tmp_path_factory.mktemp("corpus") / "store", embedder=embedder, flush_interval_s=0.05)
    feedback: list[tuple[str, str]] = []
    for n, city in enumerate(("Paris", "Rome", "Oslo", "Berlin")):
        it = tool_turn(city, user=f"user-{n % 3}")
        fw.record(it)
        feedback.append((it.id, "thumbs_up"))
    for n, (q, a) in enumerate([("Do you ship to Canada?", "Yes, in 5 days."), ("Is there a student discount?", "Yes, 10%."),
                                ("Can I pay by card?", "Yes, all major cards."), ("Where is the shop?", "On Main Street."),
                                ("Do you sell gift cards?", "Yes, online and in store."), ("Are pets allowed?", "Small dogs only.")]):
        feedback.append((add(fw, q, a, user=f"user-{n % 3}", category="faq"), "thumbs_up"))
    corrected = []
    for q, wrong, right in [("How long does delivery take?", "Two months.", "Three to five business days."),
                            ("What is the refund window?", "None.", "Thirty days from delivery."),
                            ("Can I change my address?", "No.", "Yes, in your account settings."),
                            ("Do you deliver on Sundays?", "Always.", "No, Monday to Saturday only.")]:
        corrected.append((add(fw, q, wrong, category="orders"), right))
    bad = [add(fw, q, "I do not know.", category="orders") for q in ("Where is my parcel?", "Why is my order late?")]
    rate(fw, *feedback, *[(b, "thumbs_down") for b in bad])
    for iid, right in corrected:
        fw.correct(iid, right)
    assert fw.flush(60)
    root = tmp_path_factory.mktemp("exports")
    paths = {kind: export(fw, kind, root / kind, eval_fraction=0.25).path for kind in ("sft", "dpo", "kto")}
    yield fw, paths
    fw.close()


def test_exports_load_with_datasets(corpus: tuple[Flywheel, dict[str, Path]]) -> None:
    datasets = pytest.importorskip("datasets")
    _, paths = corpus
    for kind, path in paths.items():
        ds = datasets.load_dataset("json", data_files={"train": str(path / "train.jsonl"), "eval": str(path / "eval.jsonl")})
        assert ds["train"].num_rows > 0 and ds["eval"].num_rows > 0
        expected = {"sft": {"messages"}, "dpo": {"prompt", "chosen", "rejected"}, "kto": {"prompt", "completion", "label"}}[kind]
        assert expected | {"metadata"} == set(ds["train"].column_names)
    oa = datasets.load_dataset("json", data_files=str(paths["sft"] / "train.openai.jsonl"))["train"]
    assert oa.num_rows == json.loads((paths["sft"] / "manifest.json").read_text())["counts"]["train"]


@pytest.mark.train
def test_trl_trainers_accept_the_exports(corpus: tuple[Flywheel, dict[str, Path]], tmp_path: Path) -> None:
    pytest.importorskip("trl")
    import torch

    from flywheel_middleware.trainers import (DPOTrainConfig, KTOTrainConfig, SFTTrainConfig, build_tiny_model, train_dpo,
                                              train_kto, train_sft)

    torch.set_num_threads(1)
    _, paths = corpus
    model = build_tiny_model(tmp_path / "tiny")
    fast = {"max_steps": 2, "logging_steps": 1, "disable_tqdm": True, "max_length": 256, "save_steps": 100}
    sft = train_sft(paths["sft"], model, tmp_path / "sft", SFTTrainConfig(per_device_train_batch_size=2, **fast))
    dpo = train_dpo(paths["dpo"], model, tmp_path / "dpo", DPOTrainConfig(per_device_train_batch_size=2, **fast))
    kto = train_kto(paths["kto"], model, tmp_path / "kto", KTOTrainConfig(per_device_train_batch_size=2, **fast))
    for result, kind in ((sft, "sft"), (dpo, "dpo"), (kto, "kto")):
        manifest = json.loads((paths[kind] / "manifest.json").read_text())
        assert result.global_step == 2 and result.dataset_version == manifest["version"]
        assert json.loads((result.adapter_dir / "dataset_manifest.json").read_text())["interaction_ids"] == manifest["interaction_ids"]


@pytest.mark.slow
def test_a_worker_process_writes_the_same_dataset(corpus: tuple[Flywheel, dict[str, Path]], tmp_path: Path) -> None:
    fw, paths = corpus
    parallel = export(fw, "sft", tmp_path / "par", eval_fraction=0.25, workers=1, batch_size=3)  # spawned: ~5-15 s to start
    assert parallel.version == json.loads((paths["sft"] / "manifest.json").read_text())["version"]
    assert (tmp_path / "par" / "train.jsonl").read_bytes() == (paths["sft"] / "train.jsonl").read_bytes()


def test_cli_export_and_queue(corpus: tuple[Flywheel, dict[str, Path]], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flywheel_middleware.cli import app

    fw, paths = corpus
    fw.flush(60)
    runner = CliRunner()
    result = runner.invoke(app, ["export", "kto", "--path", str(fw.path), "--out", str(tmp_path / "kto"), "--eval-fraction", "0.25"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "kto" / "manifest.json").read_text())
    assert manifest["version"] in result.output
    assert manifest["version"] == json.loads((paths["kto"] / "manifest.json").read_text())["version"]
    bad = runner.invoke(app, ["export", "ppo", "--path", str(fw.path), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "'ppo' is not one of" in bad.output and "'sft', 'dpo'" in bad.output
    queue = runner.invoke(app, ["queue", "--path", str(fw.path), "--limit", "3", "--json"])
    assert queue.exit_code == 0, queue.output
    items = [json.loads(line) for line in queue.output.splitlines() if line.startswith("{")]
    assert 0 < len(items) <= 3 and all(item["reasons"] for item in items)
    table = runner.invoke(app, ["queue", "--path", str(fw.path), "--limit", "3"])  # 80 columns under CliRunner
    assert table.exit_code == 0, table.output
    assert all(item["interaction_id"] in table.output for item in items)  # whole ids, ready to copy


def test_rows_stored_under_the_current_redaction_are_not_analysed_twice(fw: Flywheel, tmp_path: Path) -> None:
    for i in range(20):
        it = Interaction(input=f"how do I reset my password, attempt {i}?", output="Settings > Security.",
                         session_id=f"s{i}", user_id=f"u{i}")
        fw.record(it)
        fw.flush(60)
        fw.feedback(it.id, "thumbs_up", actor=f"u{i}")
    fw.flush(60)
    assert fw.get(it.id).metadata["flywheel.redaction"]  # the worker stamped what it redacted
    quick = fw.export("sft", tmp_path / "quick", dedup="none").manifest["redaction"]
    assert quick["rows_verified_by_stamp"] >= 15 and quick["rows_checked"] + quick["rows_verified_by_stamp"] == 20
    full = fw.export("sft", tmp_path / "full", dedup="none", redact_all=True).manifest["redaction"]
    assert full["rows_checked"] == 20 and full["rows_verified_by_stamp"] == 0
