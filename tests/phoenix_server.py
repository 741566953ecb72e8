"""A real Phoenix server for the tests, plus REST helpers to read back spans and annotations.

Use from ``tests/conftest.py``::

    from phoenix_server import phoenix_server  # noqa: F401  (session-scoped fixture; tests/ is on sys.path)

``phoenix_server`` starts ``phoenix serve`` (arize-phoenix 20.x) on a free loopback port with a
temporary working dir, no telemetry and no external resources (its gRPC receiver, which
Phoenix 20 cannot turn off, takes a random free port); waits for ``/readyz``;
yields the base URL (``http://127.0.0.1:PORT``); terminates it at the end of the session.  Tests
that need it are skipped when arize-phoenix is not installed or the server does not come up.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

READY_TIMEOUT_S = float(os.environ.get("FLYWHEEL_TEST_PHOENIX_READY_S", "90"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _phoenix_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("phoenix.server.main") is not None


@pytest.fixture(scope="session")
def phoenix_server() -> Iterator[str]:
    if not _phoenix_installed():
        pytest.skip("arize-phoenix is not installed")
    try:
        with running_phoenix() as base:
            yield base
    except TimeoutError as exc:
        pytest.fail(str(exc))


@contextlib.contextmanager
def running_phoenix() -> Iterator[str]:
    """Start a private Phoenix server; yields its base URL (benchmarks use this too)."""
    workdir = Path(tempfile.mkdtemp(prefix="flywheel-phoenix-"))
    port = _free_port()
    env = {
        **os.environ,
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": "0",
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_TEST_TRACKING": "false",
    }
    for var in ("PHOENIX_COLLECTOR_ENDPOINT", "PHOENIX_SQL_DATABASE_URL", "PHOENIX_ENABLE_AUTH"):
        env.pop(var, None)
    log_path = workdir / "phoenix.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "phoenix.server.main", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=str(workdir),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        ready = False
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                if httpx.get(f"{base}/readyz", timeout=2.0).status_code == 200:
                    ready = True
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        if not ready:
            tail = log_path.read_bytes()[-3000:].decode(errors="replace")
            raise TimeoutError(f"Phoenix did not become ready on {base} within {READY_TIMEOUT_S:.0f}s:\n{tail}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


# --------------------------------------------------------------------------------------------------
# REST helpers (httpx; no phoenix client import, which is slow next to a server)
# --------------------------------------------------------------------------------------------------


def get_spans(base: str, project: str = "default", **params: Any) -> list[dict[str, Any]]:
    """All spans of ``project`` (``GET /v1/projects/{project}/spans``), following the cursor.

    ``params`` are the endpoint's filters, e.g. ``trace_id=[...]``, ``name=[...]``,
    ``parent_id="null"`` for roots.  A project that does not exist yet yields ``[]``.
    """
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 1000, **params}
        if cursor:
            query["cursor"] = cursor
        resp = httpx.get(f"{base}/v1/projects/{project}/spans", params=query, timeout=10.0)
        if resp.status_code == 404:
            return []
        resp.raise_for_status()
        body = resp.json()
        out.extend(body.get("data") or [])
        cursor = body.get("next_cursor")
        if not cursor:
            return out


def get_span_annotations(base: str, span_ids: list[str], project: str = "default") -> list[dict[str, Any]]:
    """Annotations on these spans (``GET /v1/projects/{project}/span_annotations?span_ids=...``)."""
    resp = httpx.get(
        f"{base}/v1/projects/{project}/span_annotations", params={"span_ids": span_ids, "limit": 1000}, timeout=10.0
    )
    if resp.status_code == 404:
        return []
    resp.raise_for_status()
    return list(resp.json().get("data") or [])


def wait_for(probe: Callable[[], Any], timeout_s: float = 60.0, interval_s: float = 0.5) -> Any:
    """Poll ``probe`` until it returns something truthy (Phoenix ingests asynchronously)."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s; last probe returned {last!r}")


def wait_for_spans(base: str, trace_id: str, at_least: int, project: str = "default", timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """The spans of one trace, once at least ``at_least`` of them are queryable."""
    return wait_for(
        lambda: (spans if len(spans := get_spans(base, project, trace_id=[trace_id])) >= at_least else None),
        timeout_s=timeout_s,
    )


def get_session(base: str, session_id: str) -> dict[str, Any] | None:
    """A Phoenix session by the app's session id (``GET /v1/sessions/{session_id}``), or None."""
    resp = httpx.get(f"{base}/v1/sessions/{session_id}", timeout=10.0)
    if resp.status_code == 404:
        return None
    resp.raise_for_status()
    return dict(resp.json().get("data") or {}) or None


def span_attribute(span: dict[str, Any], key: str) -> Any:
    """An attribute of a REST span, whether Phoenix returns it flat (``"session.id"``) or nested."""
    attrs = span.get("attributes") or {}
    if key in attrs:
        return attrs[key]
    node: Any = attrs
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
