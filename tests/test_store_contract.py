"""The store contract: what every ``TrajectoryStore`` backend does, one behaviour per test.

Each test runs once per backend in ``tests/store_backends.py`` (the ``store`` fixture). Nothing
here knows which backend it talks to: only the methods of ``flywheel_middleware.store.base``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from flywheel_middleware import Interaction, RoutingDecision, Signal, Step, StoreError
from flywheel_middleware.store import (
    ExportInfo,
    InteractionQuery,
    RewardRow,
    StoredInteraction,
    TrajectoryStore,
    TurnQuery,
    open_store,
)

T0 = 1_700_000_000.0


def vec(seed: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def turn(iid: str, *, at: float = T0, session: str | None = "s1", user: str | None = "u1", question: str = "q",
         answer: str = "a", status: str = "ok", metadata: dict[str, Any] | None = None, tools: tuple[str, ...] = (),
         route: Any = None, model_version: str | None = "m1") -> Interaction:
    steps = [Step("llm", "model", inputs=question, outputs=answer)] + [Step("tool", t, inputs={}, outputs="ok") for t in tools]
    decisions = [RoutingDecision("router", chosen=route, candidates=["x", "y"])] if route is not None else []
    return Interaction(id=iid, input=question, output=answer, session_id=session, user_id=user, started_at=at,
                       ended_at=at + 1.0, status=status, steps=steps, decisions=decisions, metadata=metadata or {},
                       model_version=model_version)


def put(store: TrajectoryStore, *its: Interaction, embed: bool = True, signals: tuple[Signal, ...] = (),
        cursors: dict[str, int] | None = None) -> list[int]:
    stored = [StoredInteraction(it, vec(i) if embed else None) for i, it in enumerate(its)]
    return store.ingest(stored, list(signals), cursors or {})


def signal(iid: str, kind: str = "thumbs_up", *, value: Any = None, actor: str | None = "u1", at: float = T0 + 10,
           source: str = "explicit", sid: str | None = None) -> Signal:
    s = Signal(interaction_id=iid, kind=kind, value=value, actor=actor, at=at, source=source)
    if sid is not None:
        s.id = sid
    return s


def rate(store: TrajectoryStore, iid: str, label: str = "good", reward: float = 0.8, confidence: float = 0.9, n: int = 1) -> None:
    store.upsert_rewards([RewardRow(iid, label, reward, confidence, n)])


# -- identity and keys --------------------------------------------------------------------------
def test_ingest_assigns_increasing_integer_keys(store: TrajectoryStore) -> None:
    keys = put(store, turn("a"), turn("b"), turn("c"))
    assert keys == sorted(keys) and len(set(keys)) == 3 and all(isinstance(k, int) and k > 0 for k in keys)


def test_reingesting_an_id_replaces_it_and_keeps_its_key(store: TrajectoryStore) -> None:
    [key] = put(store, turn("a", answer="first"))
    [again] = put(store, turn("a", answer="second"))
    assert again == key and store.get("a").output_text == "second" and store.counts().interactions == 1


def test_reingesting_without_an_embedding_keeps_the_stored_one(store: TrajectoryStore) -> None:
    put(store, turn("a"))
    put(store, turn("a", answer="again"), embed=False)
    assert store.counts().embedded == 1 and store.max_key() == store.key_of("a")


def test_keys_are_never_reused_after_a_deletion(store: TrajectoryStore) -> None:
    [_, last] = put(store, turn("a"), turn("b"))
    store.delete_interactions(["b"])
    [new] = put(store, turn("c"))
    assert new > last


def test_key_lookups(store: TrajectoryStore) -> None:
    ka, kb = put(store, turn("a"), turn("b"))
    assert store.key_of("a") == ka and store.key_of("nope") is None
    assert store.existing_ids(["a", "b", "nope"]) == {"a", "b"}
    assert store.ids_for_keys([ka, kb, 999_999]) == {ka: "a", kb: "b"}


def test_lookups_take_more_ids_than_one_statement_holds(store: TrajectoryStore) -> None:
    put(store, *[turn(f"t{i}", at=T0 + i) for i in range(1200)], embed=False)
    ids = [f"t{i}" for i in range(1200)] + ["nope"]
    assert len(store.existing_ids(ids)) == 1200 and len(store.signals_for(ids)) == 1201


# -- one interaction ----------------------------------------------------------------------------------
def test_get_returns_the_whole_interaction_or_none(store: TrajectoryStore) -> None:
    put(store, turn("a", tools=("lookup",), route="x", metadata={"category": "billing"}))
    it = store.get("a")
    assert it is not None and [s.kind for s in it.steps] == ["llm", "tool"] and it.decisions[0].chosen == "x"
    assert it.metadata["category"] == "billing" and store.get("nope") is None


def test_statuses_and_span_ids(store: TrajectoryStore) -> None:
    put(store, turn("a", status="error", metadata={"span_id": "abc123"}), turn("b"))
    assert store.statuses(["a", "b", "nope"]) == {"a": "error", "b": "ok"}
    assert store.span_ids(["a", "b", "nope"]) == {"a": "abc123", "b": ""}


def test_list_interactions_filters_and_orders(store: TrajectoryStore) -> None:
    put(store, turn("a", at=T0, session="s1"), turn("b", at=T0 + 1, session="s2", user="u2", status="error"),
        turn("c", at=T0 + 2, session="s1"), signals=(signal("c", "copy"),))
    assert [i.id for i in store.list_interactions(InteractionQuery(session_id="s1"))] == ["c", "a"]
    assert [i.id for i in store.list_interactions(InteractionQuery(newest_first=False, limit=2, offset=1))] == ["b", "c"]
    assert [i.id for i in store.list_interactions(InteractionQuery(user_id="u2"))] == ["b"]
    assert [i.id for i in store.list_interactions(InteractionQuery(status="error"))] == ["b"]
    assert [i.id for i in store.list_interactions(InteractionQuery(signal_kind="copy"))] == ["c"]
    assert [i.id for i in store.list_interactions(InteractionQuery(since=T0 + 1, until=T0 + 2))] == ["b"]
    assert [i.id for i in store.list_interactions(InteractionQuery(ids=["a", "c"]))] == ["c", "a"]


def test_documents_by_key_decode_to_the_stored_interaction(store: TrajectoryStore) -> None:
    ka, kb = put(store, turn("a", question="hello"), turn("b"))
    put(store, turn("c"), embed=False)
    docs = store.documents([ka, kb, 999_999])
    assert set(docs) == {ka, kb}
    doc = docs[ka]
    assert (doc.id, doc.user_id, doc.session_id, doc.started_at) == ("a", "u1", "s1", T0)
    assert doc.data["input"] == "hello" and doc.interaction().input_text == "hello" and doc.embedding is None


def test_documents_with_embeddings_only_return_embedded_ones(store: TrajectoryStore) -> None:
    [ka] = put(store, turn("a"))
    [kc] = put(store, turn("c"), embed=False)
    docs = store.documents([ka, kc], embeddings=True)
    assert set(docs) == {ka} and np.allclose(docs[ka].embedding, vec(0))


# -- signals ----------------------------------------------------------------------------------------
def test_signals_for_lists_each_interaction_oldest_first(store: TrajectoryStore) -> None:
    put(store, turn("a"), signals=(signal("a", "copy", at=T0 + 20), signal("a", "thumbs_up", at=T0 + 10)))
    out = store.signals_for(["a", "nope"])
    assert [s.kind for s in out["a"]] == ["thumbs_up", "copy"] and out["nope"] == []


def test_the_same_signal_twice_is_one_signal(store: TrajectoryStore) -> None:
    s = signal("a", sid="sig-1")
    put(store, turn("a"), signals=(s, s))
    put(store, signals=(s,))
    assert len(store.signals_for(["a"])["a"]) == 1


def test_a_later_copy_of_a_signal_is_the_latest_word(store: TrajectoryStore) -> None:
    put(store, turn("a"), signals=(signal("a", "rating", value=3, at=T0 + 10, sid="r"),))
    put(store, signals=(signal("a", "rating", value=5, at=T0 + 20, sid="r"),))
    put(store, signals=(signal("a", "rating", value=1, at=T0 + 15, sid="r"),))  # older: ignored
    [only] = store.signals_for(["a"])["a"]
    assert only.value == 5 and only.at == T0 + 20


def test_busy_actors_counts_explicit_signals_since(store: TrajectoryStore) -> None:
    many = tuple(signal("a", "thumbs_up", actor="spammer", at=T0 + i, sid=f"s{i}") for i in range(5))
    few = (signal("a", "copy", actor="normal", at=T0 + 1, sid="n1"), signal("a", "rephrase", actor="spammer2", at=T0,
           source="implicit", sid="i1"))
    put(store, turn("a"), signals=many + few)
    assert store.busy_actors(T0, 3) == {"spammer"}
    assert store.busy_actors(T0 + 3, 3) == set()


# -- queue offsets, processed offsets, published counters -------------------------------------------
def test_ingest_commits_the_queue_offsets_with_the_batch(store: TrajectoryStore) -> None:
    put(store, turn("a"), cursors={"seg-1": 100})
    store.ingest([], [], {"seg-1": 250, "seg-2": 10})
    assert store.cursors() == {"seg-1": 250, "seg-2": 10}
    store.drop_cursor("seg-1")
    assert store.cursors() == {"seg-2": 10}


def test_processed_offsets_never_move_backwards(store: TrajectoryStore) -> None:
    assert store.processed_cursors() == {}
    store.mark_processed({"seg-1": 100, "seg-2": 5})
    store.mark_processed({"seg-1": 50})
    assert store.processed_cursors() == {"seg-1": 100, "seg-2": 5}
    store.forget_processed("seg-1")
    assert store.processed_cursors() == {"seg-2": 5}


def test_published_counters_replace_the_last_ones(store: TrajectoryStore) -> None:
    assert store.published_counters() == {}
    store.publish_counters({"ingested_interactions": 3})
    store.publish_counters({"ingested_interactions": 7, "worker_errors": 1})
    assert store.published_counters() == {"ingested_interactions": 7, "worker_errors": 1}


# -- embeddings -------------------------------------------------------------------------------------
def test_iter_embeddings_pages_in_key_order(store: TrajectoryStore) -> None:
    keys = put(store, *[turn(f"t{i}") for i in range(5)])
    batches = list(store.iter_embeddings(after_key=keys[0], batch=2))
    got = np.concatenate([k for k, _ in batches])
    assert got.tolist() == keys[1:] and all(v.shape[1] == 8 and v.dtype == np.float32 for _, v in batches)


def test_embeddings_for_aligns_vectors_with_the_asked_keys(store: TrajectoryStore) -> None:
    ka, kb = put(store, turn("a"), turn("b"))
    [kc] = put(store, turn("c"), embed=False)
    found, vectors = store.embeddings_for(np.array([kb, kc, ka]))
    assert found.tolist() == [True, False, True]
    assert np.allclose(vectors[0], vec(1)) and np.allclose(vectors[2], vec(0)) and not vectors[1].any()


def test_max_key_is_the_highest_embedded_key(store: TrajectoryStore) -> None:
    assert store.max_key() == 0
    [ka] = put(store, turn("a"))
    put(store, turn("b"), embed=False)
    assert store.max_key() == ka


def test_a_turn_without_input_text_is_never_listed_as_missing_its_embedding(store: TrajectoryStore) -> None:
    put(store, turn("a", question=""), embed=False)
    assert store.missing_embeddings() == []


def test_missing_embeddings_can_be_filled_in_later(store: TrajectoryStore) -> None:
    put(store, turn("a"))
    [kb] = put(store, turn("b"), embed=False)
    assert [it.id for it in store.missing_embeddings()] == ["b"]
    assert store.set_embeddings([("b", vec(9)), ("nope", vec(9))]) == [kb]
    assert store.missing_embeddings() == [] and store.max_key() == kb


# -- sessions -----------------------------------------------------------------------------------------
def test_previous_turn_is_the_latest_earlier_turn_of_the_session(store: TrajectoryStore) -> None:
    put(store, turn("a", at=T0, question="first"), turn("b", at=T0 + 5, question="second"),
        turn("other", at=T0 + 6, session="s2"), turn("c", at=T0 + 10))
    prev = store.previous_turn("s1", T0 + 10, "c")
    assert prev is not None and prev.interaction_id == "b" and prev.input_text == "second" and prev.ended_at == T0 + 6
    assert np.allclose(prev.embedding, vec(1))
    assert store.previous_turn("s1", T0, "a") is None


def test_previous_turns_are_the_sessions_earlier_turns_newest_first(store: TrajectoryStore) -> None:
    put(store, turn("a", at=T0), turn("b", at=T0 + 5), turn("c", at=T0 + 10), turn("other", at=T0 + 6, session="s2"))
    assert [t.interaction_id for t in store.previous_turns("s1", T0 + 10, "c", 5)] == ["b", "a"]
    assert [t.interaction_id for t in store.previous_turns("s1", T0 + 10, "c", 1)] == ["b"]


def test_next_turn_is_the_first_later_turn_within_the_window(store: TrajectoryStore) -> None:
    put(store, turn("a", at=T0), turn("b", at=T0 + 5), turn("c", at=T0 + 50))
    assert store.next_turn("s1", T0, T0 + 10, "a").id == "b"
    assert store.next_turn("s1", T0 + 5, T0 + 10, "b") is None


def test_stale_sessions_are_those_whose_last_turn_is_in_the_window(store: TrajectoryStore) -> None:
    put(store, turn("a1", at=T0, session="quiet"), turn("a2", at=T0 + 10, session="quiet"),
        turn("b1", at=T0 + 500, session="active"), turn("c1", at=T0 - 10_000, session="ancient"),
        turn("n1", at=T0, session=None))
    tails = store.stale_sessions(idle_since=T0 + 100, not_before=T0 - 100)
    assert [(t.session_id, t.interaction_id, t.last_at) for t in tails] == [("quiet", "a2", T0 + 11)]


# -- rewards ------------------------------------------------------------------------------------------
def test_rewards_are_upserted_and_read_back(store: TrajectoryStore) -> None:
    put(store, turn("a"), turn("b"))
    rate(store, "a", "bad", -0.5, 0.6, 2)
    rate(store, "a", "good", 0.7, 0.8, 3)
    assert store.rewards_for(["a", "b"]) == {"a": RewardRow("a", "good", 0.7, 0.8, 3)}


def test_reward_changes_come_in_sequence_and_each_upsert_is_a_new_change(store: TrajectoryStore) -> None:
    put(store, turn("a"), turn("b"))
    rate(store, "a")
    rate(store, "b")
    first = store.reward_changes(0, 10)
    assert [c.key for c in first] == [store.key_of("a"), store.key_of("b")]
    rate(store, "a", "bad", -0.5)
    later = store.reward_changes(first[-1].seq, 10)
    assert [(c.key, c.label) for c in later] == [(store.key_of("a"), "bad")] and later[0].seq > first[-1].seq


def test_reward_change_numbers_are_never_reused_after_a_deletion(store: TrajectoryStore) -> None:
    put(store, turn("a"), turn("b"))
    rate(store, "a")
    rate(store, "b")
    last = store.reward_changes(0, 10)[-1].seq
    store.delete_interactions(["b"])
    put(store, turn("c"))
    rate(store, "c")
    assert [c.key for c in store.reward_changes(last, 10)] == [store.key_of("c")]


def test_reward_changes_carry_retrieval_metadata_of_good_turns(store: TrajectoryStore) -> None:
    put(store, turn("g", tools=("lookup", "refund"), route="billing_engine", session="s9",
                    metadata={"run_metadata": {"category": "billing", "language": "de"}}),
        turn("b", tools=("lookup",), metadata={"category": "x"}), turn("u", metadata={"category": "y"}))
    rate(store, "g")
    rate(store, "b", "bad", -0.5)
    rate(store, "u", "unknown", 0.0)
    changes = {c.key: c for c in store.reward_changes(0, 10)}
    good, bad, unknown = (changes[store.key_of(i)] for i in "gbu")
    assert (good.label, good.session_id, good.started_at, good.model_version) == ("good", "s9", T0, "m1")
    assert (good.category, good.language, good.tools) == ("billing", "de", ("lookup", "refund"))
    assert [str(r).strip('"') for r in good.routes] == ["billing_engine"]
    # a bad turn may be a corrected example: what was asked (category, language) comes along, not what the agent did
    assert (bad.category, bad.tools, bad.routes, bad.model_version) == ("x", (), (), None)
    assert unknown.category is None


def test_good_keys_and_good_keys_by_metadata(store: TrajectoryStore) -> None:
    put(store, turn("a", metadata={"tier": "gold"}), turn("b", metadata={"run_metadata": {"tier": "gold"}}),
        turn("c", metadata={"tier": "gold"}), turn("d", metadata={"tier": "free"}))
    for iid in "abd":
        rate(store, iid)
    rate(store, "c", "bad", -0.5)
    assert sorted(store.good_keys().tolist()) == sorted(store.key_of(i) for i in "abd")
    assert sorted(store.good_keys_with_metadata("tier", ["gold"]).tolist()) == sorted([store.key_of("a"), store.key_of("b")])
    assert store.good_keys_with_metadata("tier", ["none"]).tolist() == []


# -- scans ---------------------------------------------------------------------------------------------
def test_turns_summarise_with_rewards_and_the_category_hint(store: TrajectoryStore) -> None:
    put(store, turn("a", metadata={"category": "billing"}), turn("b", at=T0 + 1, route="shipping_engine"),
        turn("c", at=T0 + 2, metadata={"run_metadata": {"category": "returns"}}), turn("d", at=T0 + 3))
    rate(store, "a", "good", 0.7, 0.8, 2)
    rows = {r.id: r for r in store.turns(TurnQuery())}
    a = rows["a"]
    assert (a.key, a.label, a.reward, a.confidence, a.n_signals, a.user_id, a.status) == (store.key_of("a"), "good", 0.7, 0.8, 2, "u1", "ok")
    assert (a.input_text, a.output_text, a.session_id, a.started_at) == ("q", "a", "s1", T0)
    assert (rows["b"].label, rows["b"].reward, rows["b"].n_signals) == ("unknown", 0.0, 0)
    assert a.category_hint == "billing" and "shipping_engine" in str(rows["b"].category_hint)
    assert rows["c"].category_hint == "returns" and rows["d"].category_hint is None


def test_turns_filter_by_time_users_and_model(store: TrajectoryStore) -> None:
    put(store, turn("a", user="u1"), turn("b", at=T0 + 1, user="u2", model_version="m2"), turn("c", at=T0 + 2, user=None))
    def ids(**kw: Any) -> list[str]:
        return [r.id for r in store.turns(TurnQuery(**kw))]
    assert ids(since=T0 + 1) == ["b", "c"] and ids(until=T0 + 1) == ["a"]
    assert ids(users=["u2"]) == ["b"] and ids(exclude_users=["u1"]) == ["b", "c"]
    assert ids(model_versions=["m2"]) == ["b"] and ids(ids=["c", "a"]) == ["a", "c"]
    assert ids(keys=[store.key_of("b")]) == ["b"]


def test_turns_select_by_label_or_signal_kind(store: TrajectoryStore) -> None:
    put(store, turn("good"), turn("bad", at=T0 + 1), turn("corrected", at=T0 + 2), turn("plain", at=T0 + 3),
        signals=(signal("corrected", "correction", value={"edited": "x"}),))
    rate(store, "good")
    rate(store, "bad", "bad", -0.6)
    assert [r.id for r in store.turns(TurnQuery(labels=["good", "bad"], or_signal_kinds=["correction"]))] == ["good", "bad", "corrected"]
    assert [r.id for r in store.turns(TurnQuery(labels=["bad"]))] == ["bad"]
    assert [r.id for r in store.turns(TurnQuery(or_signal_kinds=["correction"]))] == ["corrected"]


def test_turns_order_limit_and_page_by_key(store: TrajectoryStore) -> None:
    keys = put(store, turn("late", at=T0 + 10), turn("early", at=T0), turn("mid", at=T0 + 5))
    assert [r.id for r in store.turns(TurnQuery(newest_first=True, limit=2))] == ["late", "mid"]
    page = store.turns(TurnQuery(after_key=keys[0], limit=1))
    assert [r.key for r in page] == [keys[1]]
    assert [r.id for r in store.turns(TurnQuery(ids=["mid", "early", "late"], newest_first=True, limit=2))] == ["late", "mid"]


def test_feedback_rows_are_oldest_first_with_decoded_values(store: TrajectoryStore) -> None:
    put(store, turn("a", session="s7"), signals=(signal("a", "preference", value={"chosen": "x", "rejected": "y"}, at=T0 + 20),
                                                 signal("a", "correction", value={"edited": "z"}, at=T0 + 10),
                                                 signal("a", "thumbs_up", at=T0 + 5)))
    rows = store.feedback_rows(["correction", "preference"])
    assert [(r.key, r.session_id, r.kind) for r in rows] == [(store.key_of("a"), "s7", "correction"), (store.key_of("a"), "s7", "preference")]
    assert rows[0].value == {"edited": "z"} and rows[1].value["chosen"] == "x" and store.feedback_rows([]) == []


def test_interactions_and_keys_with_signals_of_kinds(store: TrajectoryStore) -> None:
    ka, kb, _ = put(store, turn("a"), turn("b"), turn("c"), signals=(signal("a", "copy"), signal("b", "copy", actor="u2"),
                                                                    signal("b", "abort")))
    assert store.ids_with_signals(["copy", "abort"]) == {"a", "b"} and store.ids_with_signals([]) == set()
    found = store.keys_with_signals(["copy", "abort", "escalate"])
    assert found["copy"].tolist() == sorted([ka, kb]) and found["abort"].tolist() == [kb] and found["escalate"].tolist() == []


def test_monitor_rows_cover_a_window_in_key_order(store: TrajectoryStore) -> None:
    put(store, turn("a", at=T0, metadata={"category": "billing", "route": "r1", "user_segment": "pro", "plan": "gold"}),
        turn("b", at=T0 + 100, route="engine_b"), turn("c", at=T0 + 200))
    rate(store, "a", "good", 0.5, 0.7, 1)
    rows = store.monitor_rows(None, T0 + 200)
    assert [r.id for r in rows] == ["a", "b"]
    a, b = rows
    assert (a.category, a.route, a.user_segment, a.label, a.reward, a.n_signals) == ("billing", "r1", "pro", "good", 0.5, 1)
    assert a.metadata is None and (b.label, b.reward) == (None, None) and "engine_b" in b.chosen
    assert [r.id for r in store.monitor_rows(T0 + 100, None)] == ["b", "c"]
    assert store.monitor_rows(with_metadata=True)[0].metadata["plan"] == "gold"


def test_counts(store: TrajectoryStore) -> None:
    put(store, turn("a", tools=("t",)), turn("b"), signals=(signal("a", "copy"),))
    put(store, turn("c"), embed=False)
    rate(store, "a", "good", 0.5, 0.7, 1)
    rate(store, "b", "unknown", 0.0, 0.0, 0)
    c = store.counts()
    assert (c.interactions, c.embedded, c.rated) == (3, 2, 1)
    assert c.steps_by_kind == {"llm": 3, "tool": 1} and c.signals_by_kind == {"copy": 1}
    assert c.rewards_by_label == {"good": 1, "unknown": 1} and c.last_ingest_at is not None


# -- consent, erasure, retention ------------------------------------------------------------------------
def test_opt_outs_are_recorded_and_withdrawn(store: TrajectoryStore) -> None:
    store.set_opt_out("h1", True)
    store.set_opt_out("h2", True)
    store.set_opt_out("h1", False)
    assert store.opted_out_hashes() == ["h2"]


def test_erasure_tombstones_carry_their_time_and_report(store: TrajectoryStore) -> None:
    store.add_erasure("h1", T0)
    store.finish_erasure("h1", '{"interactions_deleted": 3}')
    assert store.erasure_tombstones() == {"h1": T0}


def test_what_erasure_and_retention_look_up(store: TrajectoryStore) -> None:
    put(store, turn("a", user="ann", at=T0), turn("b", user="bob", at=T0 + 100),
        signals=(signal("b", "thumbs_up", actor="ann", sid="s-ann"), signal("a", "copy", actor="bob", sid="s-bob")))
    assert store.interaction_ids_for_user("ann") == ["a"]
    assert store.signal_ids_by_actor("ann") == ["s-ann"]
    assert store.interaction_ids_before(T0 + 50) == ["a"]


def test_deleting_interactions_removes_everything_of_theirs(store: TrajectoryStore) -> None:
    ka, _ = put(store, turn("a", tools=("t",)), turn("b"), signals=(signal("a", "copy"),))
    rate(store, "a")
    assert store.delete_interactions(["a", "nope"]) == [ka]
    assert store.get("a") is None and store.signals_for(["a"])["a"] == [] and store.rewards_for(["a"]) == {}
    c = store.counts()
    assert c.interactions == 1 and c.steps_by_kind == {"llm": 1} and c.signals_by_kind == {}
    assert store.delete_interactions([]) == []


def test_deletions_bump_the_generation_and_are_logged(store: TrajectoryStore) -> None:
    ka, kb = put(store, turn("a"), turn("b"))
    assert store.deletion_generation() == 0
    store.delete_interactions(["a"])
    store.delete_interactions(["b"])
    assert store.deletion_generation() == 2
    assert store.deleted_keys_since(0) == ([ka, kb], 2)
    assert store.deleted_keys_since(1) == ([kb], 2)


def test_deleting_signals_counts_those_that_existed(store: TrajectoryStore) -> None:
    put(store, turn("a"), signals=(signal("a", "copy", sid="s1"), signal("a", "thumbs_up", sid="s2")))
    assert store.delete_signals(["s1", "nope"]) == 1 and store.delete_signals([]) == 0
    assert [s.id for s in store.signals_for(["a"])["a"]] == ["s2"]


# -- the export registry ------------------------------------------------------------------------------------
def info(version: str, path: str, created: float = T0) -> ExportInfo:
    return ExportInfo(version, "sft", path, created, rows=2, n_interactions=2, n_users=1)


def test_the_export_user_key_is_created_once(store: TrajectoryStore) -> None:
    key = store.export_user_key()
    assert isinstance(key, bytes) and len(key) == 32 and store.export_user_key() == key


def test_registered_exports_are_found_by_user_and_interaction(store: TrajectoryStore) -> None:
    store.register_export(info("v1", "/out/one"), [("uh-ann", "a"), ("uh-bob", "b")], {"kind": "sft"})
    store.register_export(info("v2", "/out/two", T0 + 1), iter([("uh-bob", "b")]), {"kind": "sft"})
    assert [e.version for e in store.exports()] == ["v1", "v2"]
    assert [e.path for e in store.exports(user_hash="uh-ann")] == ["/out/one"]
    assert [e.version for e in store.exports(interaction_id="b")] == ["v1", "v2"]
    assert store.exports(user_hash="uh-nobody") == []


def test_an_export_reads_back_its_members_and_summary(store: TrajectoryStore) -> None:
    store.register_export(info("v1", "/out/one"), [("uh-ann", "a"), (None, "b")], {"kind": "sft", "rows": 2})
    [registered] = store.exports()
    assert sorted(store.export_members(registered), key=lambda m: m[1]) == [("uh-ann", "a"), (None, "b")]
    assert store.export_summary(registered) == {"kind": "sft", "rows": 2}


def test_an_export_user_key_can_be_adopted_until_exports_are_registered(store: TrajectoryStore) -> None:
    store.set_export_user_key(b"\x01" * 32)
    assert store.export_user_key() == b"\x01" * 32
    store.register_export(info("v1", "/out/one"), [("uh-ann", "a")], {})
    store.set_export_user_key(b"\x01" * 32)  # the same key again is fine
    with pytest.raises(StoreError):
        store.set_export_user_key(b"\x02" * 32)


def test_a_folder_holds_one_export(store: TrajectoryStore) -> None:
    store.register_export(info("v1", "/out/same"), [("uh-ann", "a")], {})
    store.register_export(info("v2", "/out/same", T0 + 1), [("uh-bob", "b")], {})
    assert [e.version for e in store.exports()] == ["v2"] and store.exports(user_hash="uh-ann") == []


# -- location, other processes, lifecycle ---------------------------------------------------------------------
def test_a_read_only_twin_opened_from_the_location_sees_the_data(store: TrajectoryStore) -> None:
    [ka] = put(store, turn("a", question="shared"))
    twin = open_store(store.location, read_only=True)
    try:
        assert twin.documents([ka])[ka].data["input"] == "shared"
        with pytest.raises(Exception):  # noqa: B017 - each backend raises its own read-only error
            twin.ingest([StoredInteraction(turn("b"))], [], {})
        assert store.existing_ids(["b"]) == set()
    finally:
        twin.close()


def test_transient_errors_name_exception_types(store: TrajectoryStore) -> None:
    assert store.transient_errors and all(isinstance(t, type) and issubclass(t, BaseException) for t in store.transient_errors)


def test_a_closed_store_reconnects_on_next_use(store: TrajectoryStore) -> None:
    put(store, turn("a"))
    store.close()
    store.close()
    assert store.existing_ids(["a"]) == {"a"}


def test_counts_record_when_the_last_batch_was_ingested(store: TrajectoryStore) -> None:
    before = time.time()
    put(store, turn("a"))
    assert store.counts().last_ingest_at >= before - 1


def test_a_healthy_store_passes_its_integrity_check(store: TrajectoryStore) -> None:
    put(store, turn("i1"))
    store.check_integrity()


def test_checkpoint_after_a_deletion_reports_whether_it_finished(store: TrajectoryStore) -> None:
    put(store, turn("i1", user="erase-me"))
    store.delete_interactions(["i1"])
    assert store.checkpoint(wait_s=1.0) is True
    assert store.get("i1") is None
