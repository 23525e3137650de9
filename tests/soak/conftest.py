"""Soak tests: many clients, crashes and storage faults against a real server.

They run in `make test-soak` (and in CI), bounded to a few minutes; `make test` skips them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.config import Settings
from app.core.db import make_engine, migrate, open_session
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/soak/ is a soak test."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.soak)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A uvicorn server on a data dir, as `atrium serve` runs it; can be killed and restarted."""

    def __init__(self, data_dir: Path, *, workers: int = 2) -> None:
        self.data_dir = data_dir
        self.workers = workers
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, healthy: bool = True) -> None:
        """Start and wait until it answers (with 200 from /healthz when ``healthy``)."""
        env = {**os.environ, "ATRIUM_DATA_DIR": str(self.data_dir), "ATRIUM_SECRET_KEY": "soak"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,  # its own process group: SIGKILL reaches every worker
        )
        # generous: two workers importing the app on a loaded 2-core machine take a while
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                status = httpx.get(f"{self.url}/healthz", timeout=1).status_code
                if status == 200 or not healthy:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """SIGKILL the whole server (master and workers): no shutdown code runs."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            self.proc = None


def prepare(data_dir: Path, users: dict[str, Role]) -> dict[str, str]:
    """Migrate a fresh data dir and create users; returns a bearer token per user."""
    settings = Settings(data_dir=data_dir, secret_key="soak")
    migrate(settings)
    engine = make_engine(settings)
    tokens: dict[str, str] = {}
    with open_session(engine, settings) as session:
        for name, role in users.items():
            make_user(session, username=name, role=role)
            tokens[name] = accounts.create_token(session=session, username=name, name="soak")[1]
    engine.dispose()
    return tokens


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "data")
    yield srv
    srv.stop()


def client(srv: Server, token: str) -> httpx.Client:
    """An API client for one user."""
    return httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
