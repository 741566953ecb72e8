"""The HTTP feedback API over real HTTP: uvicorn on a loopback port, httpx as the client."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

pytest.importorskip("fastapi")
import uvicorn  # noqa: E402

from flywheel_middleware import Flywheel  # noqa: E402
from flywheel_middleware.serve import RateLimit, RateLimiter, Tokens, create_app, hash_token  # noqa: E402

from helpers import turn  # noqa: E402

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef00"
ADMIN = "admin-token-0123456789abcdef"


@contextlib.contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def wheel(tmp_path: Path, embedder) -> Iterator[Flywheel]:
    fw = Flywheel(tmp_path / "store", embedder=embedder, flush_interval_s=0.05)
    yield fw
    fw.close()


def stored_turn(fw: Flywheel, user: str = "alice", question: str = "how do I reset my password?") -> str:
    iid = fw.record(turn(question, "Open settings and choose reset.", user_id=user))
    assert iid is not None and fw.flush(30)
    return iid


@contextlib.contextmanager
def api(fw: Flywheel, **options: Any) -> Iterator[httpx.Client]:
    options.setdefault("admin_tokens", [ADMIN])
    app = create_app(fw, {ALICE: "alice", BOB: "bob"}, **options)
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_request_without_token_is_401(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        r = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "thumbs_up"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"] == "unauthorized" and "missing bearer token" in r.json()["message"]


def test_request_with_unknown_token_is_401(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        r = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "thumbs_up"}, headers=auth("x" * 30))
    assert r.status_code == 401
    assert "invalid bearer token" in r.json()["message"]


def test_user_signals_own_interaction_and_it_lands_in_the_store(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        r = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "thumbs_up"}, headers=auth(ALICE))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == "thumbs_up" and body["actor"] == "alice" and body["duplicate"] is False
    assert wheel.flush(30)
    stored = wheel.signals(iid)
    assert [(s.id, s.kind, s.actor, s.source) for s in stored] == [(body["id"], "thumbs_up", "alice", "explicit")]


def test_stop_alias_and_rating_values_are_normalised(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        stop = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "stop"}, headers=auth(ALICE))
        rating = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "rating", "value": 4}, headers=auth(ALICE))
    assert stop.status_code == 201 and stop.json()["kind"] == "abort"
    assert rating.status_code == 201 and rating.json()["value"] == 4


def test_other_users_interaction_is_403(wheel: Flywheel) -> None:
    iid = stored_turn(wheel, user="alice")
    with api(wheel) as client:
        r = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "thumbs_down"}, headers=auth(BOB))
        listing = client.get(f"/v1/interactions/{iid}/signals", headers=auth(BOB))
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert listing.status_code == 403
    assert wheel.flush(30) and wheel.signals(iid) == []


def test_unknown_interaction_is_404(wheel: Flywheel) -> None:
    with api(wheel, pending_wait_s=0.5) as client:
        r = client.post("/v1/interactions/no-such-id/feedback", json={"kind": "thumbs_up"}, headers=auth(ALICE))
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "message": r.json()["message"], "status": 404}
    assert "no-such-id" in r.json()["message"]


def test_interaction_accepted_but_not_yet_stored_is_waited_for(wheel: Flywheel) -> None:
    iid = wheel.record(turn("where is my parcel?", user_id="alice"))  # no flush: the worker may not have it yet
    with api(wheel, pending_wait_s=30) as client:
        r = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "copy", "value": "the answer"}, headers=auth(ALICE))
    assert r.status_code == 201, r.text


def test_bad_kind_is_422_with_the_signal_error_message(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        r = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "love_it"}, headers=auth(ALICE))
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_signal"
    assert r.json()["message"].startswith("unknown signal kind 'love_it'")


def test_implicit_kinds_are_not_accepted_from_the_api(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        r = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "judge", "value": 1.0}, headers=auth(ALICE))
        c = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "correction", "value": "x"}, headers=auth(ALICE))
    assert r.status_code == 422 and "cannot be sent through this API" in r.json()["message"]
    assert c.status_code == 422 and "/correction" in c.json()["message"]


def test_rating_out_of_range_is_422(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        r = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "rating", "value": 7}, headers=auth(ALICE))
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"  # the schema says 1-5: a schema violation
    assert r.json()["message"] == "value: Input should be less than or equal to 5"
    assert r.json()["errors"][0]["loc"] == ["body", "value"]


def test_malformed_body_is_422_json(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        missing = client.post(f"/v1/interactions/{iid}/feedback", json={"value": 3}, headers=auth(ALICE))
        extra = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "thumbs_up", "x": 1}, headers=auth(ALICE))
    assert missing.status_code == 422 and "kind" in missing.json()["message"]
    assert extra.status_code == 422 and extra.json()["errors"][0]["loc"] == ["body", "x"]


def test_huge_body_is_413(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel, max_body_bytes=4096) as client:
        r = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "copy", "value": "x" * 10_000}, headers=auth(ALICE))
        chunked = client.post(f"/v1/interactions/{iid}/feedback", content=iter([b'{"kind": "copy", "value": "', b"y" * 10_000, b'"}']),
                              headers=auth(ALICE) | {"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    assert chunked.status_code == 413
    assert wheel.flush(30) and wheel.signals(iid) == []


def test_rate_limit_is_429_with_retry_after(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel, rate_limit=RateLimit(rate=0.2, burst=3)) as client:
        codes = [client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "rating", "value": n}, headers=auth(ALICE))
                 for n in (1, 2, 3, 4)]
        other = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "thumbs_up"}, headers=auth(ADMIN))
    assert [r.status_code for r in codes] == [201, 201, 201, 429]
    assert codes[-1].json()["error"] == "rate_limited"
    assert 1 <= int(codes[-1].headers["retry-after"]) <= 5
    assert other.status_code == 201  # buckets are per user


def test_token_bucket_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimit(rate=2, burst=2), clock=lambda: now[0])
    assert [limiter.acquire("u") for _ in range(2)] == [0.0, 0.0]
    assert limiter.acquire("u") == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.acquire("u") == 0.0


def test_duplicate_feedback_returns_the_same_signal(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        first = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "thumbs_up"}, headers=auth(ALICE))
        again = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "thumbs_up"}, headers=auth(ALICE))
        assert wheel.flush(30)
        later = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "thumbs_up"}, headers=auth(ALICE))
    assert (first.status_code, again.status_code, later.status_code) == (201, 200, 200)
    assert first.json()["id"] == again.json()["id"] == later.json()["id"]
    assert again.json()["duplicate"] is True
    assert wheel.flush(30) and len(wheel.signals(iid)) == 1


def test_duplicate_detected_by_a_restarted_server(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        first = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "rating", "value": 5}, headers=auth(ALICE))
    assert wheel.flush(30)
    with api(wheel) as client:  # a fresh app: no memory of the first request, finds it in the store
        again = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "rating", "value": 5}, headers=auth(ALICE))
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


def test_correction_is_stored_with_a_diff(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        r = client.post(f"/v1/interactions/{iid}/correction", json={"edited_output": "Use the 'Forgot password' link."},
                        headers=auth(ALICE))
        dup = client.post(f"/v1/interactions/{iid}/correction", json={"edited_output": "Use the 'Forgot password' link."},
                          headers=auth(ALICE))
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "correction" and r.json()["value"]["edited"] == "Use the 'Forgot password' link."
    assert "-Open settings and choose reset." in r.json()["value"]["diff"]
    assert dup.status_code == 200 and dup.json()["id"] == r.json()["id"]
    assert wheel.flush(30) and [s.kind for s in wheel.signals(iid)] == ["correction"]


def test_empty_correction_is_422(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        r = client.post(f"/v1/interactions/{iid}/correction", json={"edited_output": "   "}, headers=auth(ALICE))
    assert r.status_code == 422 and "non-empty" in r.json()["message"]


def test_preference_is_stored(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        r = client.post(f"/v1/interactions/{iid}/preference", json={"chosen": "answer A", "rejected": "answer B"},
                        headers=auth(ALICE))
        same = client.post(f"/v1/interactions/{iid}/preference", json={"chosen": "answer A", "rejected": "answer A"},
                           headers=auth(ALICE))
    assert r.status_code == 201 and r.json()["value"] == {"chosen": "answer A", "rejected": "answer B"}
    assert same.status_code == 422 and same.json()["message"] == "a preference needs two different answers"
    assert wheel.flush(30) and [s.value for s in wheel.signals(iid)] == [{"chosen": "answer A", "rejected": "answer B"}]


def test_signals_listing_shows_own_signals_after_ingest(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        posted = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "copy"}, headers=auth(ALICE)).json()
        listing = client.get(f"/v1/interactions/{iid}/signals", headers=auth(ALICE))
    assert listing.status_code == 200
    assert listing.json()["interaction_id"] == iid
    assert [s["id"] for s in listing.json()["signals"]] == [posted["id"]]


def test_admin_token_may_signal_on_any_interaction(wheel: Flywheel) -> None:
    iid = stored_turn(wheel, user="alice")
    anonymous = stored_turn(wheel, user=None, question="what's the weather?")  # type: ignore[arg-type]
    with api(wheel) as client:
        r = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "escalate", "value": "billing"}, headers=auth(ADMIN))
        anon = client.post(f"/v1/interactions/{anonymous}/feedback", json={"kind": "thumbs_up"}, headers=auth(ADMIN))
        anon_user = client.post(f"/v1/interactions/{anonymous}/feedback", json={"kind": "thumbs_up"}, headers=auth(ALICE))
        me = client.get("/v1/whoami", headers=auth(ADMIN)).json()
    assert r.status_code == 201 and r.json()["actor"] == "admin"
    assert anon.status_code == 201
    assert anon_user.status_code == 403  # an interaction without a user is the admins' only
    assert me == {"user_id": "admin", "admin": True}


def test_openapi_schema_lists_the_endpoints_and_event_models(wheel: Flywheel) -> None:
    with api(wheel) as client:
        schema = client.get("/openapi.json").json()
        docs = client.get("/docs")
    paths = schema["paths"]
    for path in ("/v1/interactions/{interaction_id}/feedback", "/v1/interactions/{interaction_id}/correction",
                 "/v1/interactions/{interaction_id}/preference"):
        assert "post" in paths[path]
        assert paths[path]["post"]["security"] == [{"bearer": []}]
    assert "get" in paths["/v1/interactions/{interaction_id}/signals"] and "get" in paths["/healthz"]
    body = paths["/v1/interactions/{interaction_id}/feedback"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    refs = {item["$ref"].rsplit("/", 1)[1] for item in body["oneOf"]}
    assert {"ThumbsUpEvent", "RatingEvent", "CopyEvent", "AbortEvent"} <= refs
    assert schema["components"]["schemas"]["RatingEvent"]["properties"]["value"]["maximum"] == 5
    assert docs.status_code == 200


def test_healthz_needs_no_token(wheel: Flywheel) -> None:
    with api(wheel) as client:
        r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_cors_preflight_allows_configured_origin(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel, cors_origins=["http://app.example"]) as client:
        pre = client.options(f"/v1/interactions/{iid}/feedback", headers={
            "Origin": "http://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        bad = client.options(f"/v1/interactions/{iid}/feedback", headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "http://app.example"
    assert "authorization" in pre.headers["access-control-allow-headers"].lower()
    assert bad.status_code == 400


def test_server_on_a_folder_another_flywheel_owns_is_writer_only(tmp_path: Path, embedder) -> None:
    owner = Flywheel(tmp_path / "store", embedder=embedder, flush_interval_s=0.05)
    try:
        iid = stored_turn(owner)
        server_side = Flywheel(tmp_path / "store", embedder=embedder)
        try:
            assert server_side.stats()["worker"] == "other process"
            with api(server_side) as client:
                r = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "thumbs_up"}, headers=auth(ALICE))
            assert r.status_code == 201
            assert owner.flush(30)
            assert [s.id for s in owner.signals(iid)] == [r.json()["id"]]
        finally:
            server_side.close()
    finally:
        owner.close()


def test_tokens_are_kept_hashed_and_files_may_hold_hashes(tmp_path: Path) -> None:
    file = tmp_path / "tokens.toml"
    file.write_text(f'[tokens]\n"{hash_token(ALICE)}" = "alice"\n"{BOB}" = {{ user = "bob", admin = true }}\n')
    tokens = Tokens.from_file(file)
    assert tokens.authenticate(ALICE).user_id == "alice"  # type: ignore[union-attr]
    assert tokens.authenticate(BOB).admin is True  # type: ignore[union-attr]
    assert tokens.authenticate("nope" * 8) is None
    assert ALICE not in repr(tokens.__dict__) and BOB not in repr(tokens.__dict__)
    env = Tokens.from_env({"FLYWHEEL_TOKENS": f"carol={'c' * 20}", "FLYWHEEL_ADMIN_TOKENS": "d" * 20})
    assert env.authenticate("c" * 20).user_id == "carol" and env.authenticate("d" * 20).admin  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="too short"):
        Tokens().add("short", "u1")
    (tmp_path / "tokens.json").write_text(json.dumps({ALICE: "alice"}))
    assert Tokens.from_file(tmp_path / "tokens.json").users() == ["alice"]


def test_cli_serve_without_tokens_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from flywheel_middleware.cli import app

    monkeypatch.delenv("FLYWHEEL_TOKENS", raising=False)
    monkeypatch.delenv("FLYWHEEL_ADMIN_TOKENS", raising=False)
    result = CliRunner().invoke(app, ["serve", "--path", str(tmp_path / "store")])
    assert result.exit_code == 2 and "no tokens" in result.output


def test_cli_serve_subprocess_accepts_feedback(tmp_path: Path, embedder) -> None:
    import os
    import signal
    import subprocess
    import sys

    owner = Flywheel(tmp_path / "store", embedder=embedder, flush_interval_s=0.05)  # the "app" owns the folder
    try:
        iid = stored_turn(owner)
        (tmp_path / "tokens.json").write_text(json.dumps({ALICE: "alice"}))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLYWHEEL_")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "flywheel_middleware.cli", "serve", "--path", str(tmp_path / "store"), "--port", str(port),
             "--tokens", str(tmp_path / "tokens.json"), "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "flywheel serve did not come up"
                time.sleep(0.1)
            r = httpx.post(f"{url}/v1/interactions/{iid}/feedback", json={"kind": "thumbs_down"}, headers=auth(ALICE), timeout=30)
            assert r.status_code == 201, r.text
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(30) == 0
        assert owner.flush(30)
        assert [(s.kind, s.actor) for s in owner.signals(iid)] == [("thumbs_down", "alice")]
    finally:
        owner.close()


def test_invalid_json_is_422_invalid_request(wheel: Flywheel) -> None:
    iid = stored_turn(wheel)
    with api(wheel) as client:
        r = client.post(f"/v1/interactions/{iid}/feedback", content=b"{not json", headers=auth(ALICE) | {"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_request" and r.json()["message"] == "the body is not valid JSON"


def test_opted_out_user_gets_403_opted_out(wheel: Flywheel) -> None:
    if not hasattr(wheel, "opt_out"):
        pytest.skip("this build has no consent registry")
    iid = stored_turn(wheel)
    wheel.opt_out("alice")
    with api(wheel) as client:
        r = client.post(f"/v1/interactions/{iid}/feedback", json={"kind": "thumbs_up"}, headers=auth(ALICE))
    assert r.status_code == 403 and r.json()["error"] == "opted_out"
