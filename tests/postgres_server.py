"""A real PostgreSQL 16 + pgvector server for the tests (and the fleet benchmark).

Use from ``tests/conftest.py``::

    from postgres_server import postgres_server  # noqa: F401  (session-scoped fixture)

The server comes from the ``pgserver`` wheel (``flywheel-middleware[postgres]``, part of
``[dev]``), which carries PostgreSQL 16 and the pgvector extension: nothing to install by hand,
no network, the same on CI as on a laptop. (The machine's own PostgreSQL 15 has no pgvector
package here, so it cannot hold the vector index.) ``PostgresServer`` runs ``initdb`` into a
temporary folder and ``pg_ctl start`` on a free loopback TCP port, so tests use a URL of the
shape users write (``postgresql://postgres@127.0.0.1:PORT/db``). Each test gets a new database
(``new_url()``). ``stop()`` / ``start()`` take the server away and bring it back on the same
port (the outage tests). Under root, the server runs as the unprivileged ``pgserver`` user
(PostgreSQL refuses to run as root), created on first use as pgserver itself does.

It is never skipped: a missing wheel or a server that does not start fails the tests that need it.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Iterator

import pytest

_SYSTEM_USER = "pgserver"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One private PostgreSQL server in a temporary folder, on 127.0.0.1:port."""

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        with warnings.catch_warnings():  # pgserver's import looks up a runtime dir we do not use
            warnings.simplefilter("ignore")
            from pgserver._commands import POSTGRES_BIN_PATH

        self.bin = Path(POSTGRES_BIN_PATH)
        self.root = Path(root or tempfile.mkdtemp(prefix="flywheel-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = port or _free_port()
        self._names = itertools.count(1)
        self._user: str | None = None
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            from pgserver.utils import ensure_prefix_permissions, ensure_user_exists

            ensure_user_exists(_SYSTEM_USER)
            ensure_prefix_permissions(self.root)  # the server's user must be able to reach its folder
            self._user = _SYSTEM_USER
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, _SYSTEM_USER, _SYSTEM_USER)
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "--encoding=UTF8", "--no-sync")
            with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
                # a test server: durability off where it only costs time, enough connections for a fleet
                conf.write("\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n")

    def _run(self, exe: str, *args: str, timeout: float = 120) -> None:
        subprocess.run([str(self.bin / exe), *args], check=True, user=self._user, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.root)

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", f"-h 127.0.0.1 -p {self.port} -k {self.root}", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` disconnects clients and stops cleanly; ``immediate`` is a crash (recovery on start)."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")

    def is_running(self) -> bool:
        return subprocess.run([str(self.bin / "pg_ctl"), "-D", str(self.data), "status"], user=self._user,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def new_database(self, prefix: str = "t") -> str:
        """Create an empty database and return its name."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def new_url(self, prefix: str = "t") -> str:
        return self.url(self.new_database(prefix))

    def destroy(self) -> None:
        if self.is_running():
            try:
                self.stop("immediate")
            except subprocess.SubprocessError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The suite's PostgreSQL server: started once, stopped and deleted at the end."""
    server = PostgresServer()
    try:
        server.start()
    except subprocess.SubprocessError as exc:
        log = server.log.read_text(errors="replace")[-2000:] if server.log.exists() else ""
        server.destroy()
        pytest.fail(f"the test PostgreSQL server did not start: {exc}\n{log}")
    yield server
    server.destroy()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the suite's server."""
    return postgres_server.new_url()
