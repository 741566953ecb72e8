"""The feedback API keeps its published contract: schemathesis generates valid and invalid requests
from the OpenAPI schema and checks every answer (no 5xx, documented statuses and bodies, valid
data accepted, invalid data rejected); hand-written bad bodies get JSON errors, never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from flywheel_middleware import Flywheel  # noqa: E402
from flywheel_middleware.feedback import ALIASES  # noqa: E402
from flywheel_middleware.serve import API_KINDS, EVENT_BY_KIND, RateLimit, create_app  # noqa: E402
from helpers import turn  # noqa: E402

ALICE = "alice-token-0123456789abcdef"
ADMIN = "admin-token-0123456789abcdef"
EXAMPLES = 25  # per operation and mode: bounded so the suite stays fast


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[Flywheel, Any, str]]:
    fw = Flywheel(tmp_path_factory.mktemp("api") / "store", embedder=embedder, worker_mode="thread", flush_interval_s=0.05)
    iid = fw.record(turn("how do I reset my password?", "Open settings.", user_id="alice"))
    assert iid is not None and fw.flush(60)
    app = create_app(fw, {ALICE: "alice"}, admin_tokens=[ADMIN], rate_limit=RateLimit(0, 0), pending_wait_s=0)
    yield fw, app, iid
    fw.close()


def _operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def _different_answers_rule(ctx: Any, response: Any, case: Any) -> bool | None:
    """JSON Schema cannot say "chosen and rejected differ"; the schema documents it as a 422, and
    this check holds the server to exactly that: a schema-valid preference is refused only then."""
    body = case.body if isinstance(case.body, dict) else {}
    if case.meta is not None and case.meta.generation.mode.is_positive and response.status_code == 422:
        assert body.get("chosen") == body.get("rejected"), f"a valid preference was refused: {response.text}"
    return None


def _fuzz(operation: Any, mode: Any, token: str, **fixed: Any) -> None:
    strategy = operation.as_strategy(generation_mode=mode, **fixed)
    options: dict[str, Any] = {}
    if operation.path.endswith("/preference"):
        options = {"excluded_checks": [schemathesis.checks.positive_data_acceptance], "additional_checks": [_different_answers_rule]}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, **options)

    check()


def _ids(operations: list[Any]) -> list[str]:
    return [op.label for op in operations]


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_schemathesis_finds_no_contract_violation_on_a_real_interaction(served, mode: str) -> None:
    fw, app, iid = served
    generation_mode = schemathesis.GenerationMode(mode)
    for operation in _operations(app):
        if generation_mode.is_negative and operation.method.upper() != "POST":
            continue  # a fixed id and no body leave nothing to make invalid (random ids: the next test)
        fixed = {"path_parameters": {"interaction_id": iid}} if "{interaction_id}" in operation.path else {}
        _fuzz(operation, generation_mode, ADMIN, **fixed)
    assert fw.flush(60)
    if generation_mode.is_positive:  # valid events were accepted and stored, not only answered
        assert {s.kind for s in fw.signals(iid)} >= {"rating", "preference", "correction"}


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_schemathesis_finds_no_contract_violation_on_random_ids(served, mode: str) -> None:
    _, app, _ = served
    for operation in _operations(app):
        if mode == "negative" and not operation.path_parameters and operation.method.upper() != "POST":
            continue
        _fuzz(operation, schemathesis.GenerationMode(mode), ALICE)


def test_every_documented_kind_spelling_has_its_event_model() -> None:
    assert set(EVENT_BY_KIND) == set(API_KINDS) | {alias for alias, kind in ALIASES.items() if kind in API_KINDS}


@pytest.fixture
def client(served) -> Iterator[tuple[TestClient, str]]:
    _, app, iid = served
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {ALICE}"
        yield c, iid


@pytest.mark.parametrize(
    "body, code",
    [
        (b'{"kind": "rating", "value": NaN}', "invalid_request"),
        (b'{"kind": "rating", "value": Infinity}', "invalid_request"),
        (b'{"kind": "rating", "value": 1e999}', "invalid_request"),
        (b'{"kind": "rating", "value": 4.5}', "invalid_request"),
        (b'{"kind": "comment"}', "invalid_request"),
        (b'{"kind": "thumbs_up", "value": true}', "invalid_request"),
        (b'{"kind": "rating", "value": true}', "invalid_request"),
        (b'{"kind": "rating", "value": "4"}', "invalid_request"),
        (b'{"kind": "THUMBS_UP"}', "invalid_signal"),
        (b'["thumbs_up"]', "invalid_request"),
        (b'{"kind": 7}', "invalid_request"),
        (b'\xff\xfe{"kind": "thumbs_up"}', "invalid_request"),
        (b"", "invalid_request"),
    ],
)
def test_bad_feedback_bodies_are_422_json(client, body: bytes, code: str) -> None:
    c, iid = client
    r = c.post(f"/v1/interactions/{iid}/feedback", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == code and r.json()["status"] == 422


def test_a_rating_of_3_point_0_is_the_integer_3_as_json_schema_says(client) -> None:
    c, iid = client
    r = c.post(f"/v1/interactions/{iid}/feedback", content=b'{"kind": "rating", "value": 3.0}', headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    assert r.json()["value"] == 3


def test_a_lone_surrogate_in_a_comment_is_kept_normalised(client) -> None:
    c, iid = client
    r = c.post(f"/v1/interactions/{iid}/feedback", content=b'{"kind": "comment", "value": "half an emoji \\ud83d"}',
               headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    assert r.json()["value"] == "half an emoji \ufffd"


def test_a_body_that_is_not_json_is_415(client) -> None:
    c, iid = client
    r = c.post(f"/v1/interactions/{iid}/feedback", content=b"kind=thumbs_up", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type"


def test_blank_texts_are_refused_as_the_schema_says(client) -> None:
    c, iid = client
    correction = c.post(f"/v1/interactions/{iid}/correction", json={"edited_output": " \t\n"})
    preference = c.post(f"/v1/interactions/{iid}/preference", json={"chosen": "a", "rejected": "\u2003"})
    assert correction.status_code == 422 and correction.json()["errors"][0]["loc"] == ["body", "edited_output"]
    assert preference.status_code == 422 and preference.json()["errors"][0]["loc"] == ["body", "rejected"]


def test_unknown_paths_and_methods_answer_json(client) -> None:
    c, iid = client
    missing = c.get("/v1/nowhere")
    method = c.delete(f"/v1/interactions/{iid}/feedback")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert method.status_code == 405 and method.json()["error"] == "method_not_allowed"


def test_an_internal_failure_is_a_json_500_without_details(served, monkeypatch: pytest.MonkeyPatch) -> None:
    fw, app, iid = served

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(fw, "signals", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get(f"/v1/interactions/{iid}/signals", headers={"Authorization": f"Bearer {ALICE}"})
    assert r.status_code == 500 and r.json()["error"] == "internal_error"
    assert "secret" not in r.text


def test_every_status_the_api_answers_is_in_its_schema(served) -> None:
    _, app, _ = served
    with TestClient(app) as c:
        schema = c.get("/openapi.json").json()
    post = schema["paths"]["/v1/interactions/{interaction_id}/feedback"]["post"]["responses"]
    assert {"200", "201", "400", "401", "403", "404", "413", "415", "422", "429", "503"} <= set(post)
