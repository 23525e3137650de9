"""Browser tests: a real server on a free port, driven by Playwright with Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright

from app.accounts.models import Role
from app.core.config import Settings
from app.core.db import make_engine, migrate, open_session
from tests.conftest import scale_out_database
from tests.factories import PASSWORD, make_user

CHROMIUM = os.environ.get("ATRIUM_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    settings: Settings  # what the server runs with: seed data through these, not a new SQLite


@pytest.fixture
def live_server_env() -> dict[str, str]:
    """Extra ATRIUM_* settings for the live server; a test module overrides this fixture."""
    return {}


@pytest.fixture
def live_server(
    request: pytest.FixtureRequest, tmp_path: Path, live_server_env: dict[str, str]
) -> Iterator[LiveServer]:
    """A uvicorn server with a fresh data dir and two editors, alice and bob (on PostgreSQL
    when the suite runs on the scale-out path)."""
    data = tmp_path / "data"
    url = scale_out_database(request)
    settings = Settings(data_dir=data, secret_key="browser-test")
    database: dict[str, str] = {}
    if url is not None:
        settings = settings.model_copy(update={"database_url": url, "search_backend": "postgres"})
        database = {"ATRIUM_DATABASE_URL": url, "ATRIUM_SEARCH_BACKEND": "postgres"}
    migrate(settings)
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        make_user(session, username="alice", role=Role.editor)
        make_user(session, username="bob", role=Role.editor)
    engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "ATRIUM_DATA_DIR": str(data),
        "ATRIUM_SECRET_KEY": "browser-test",
        "ATRIUM_BASE_URL": f"http://127.0.0.1:{port}",
        **database,
        **live_server_env,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # a loaded machine (parallel test runs) starts slowly
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("the server did not start")
    try:
        yield LiveServer(url=url, data_dir=data, settings=settings)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def new_page(browser: Browser, server: LiveServer, username: str | None = None) -> Page:
    """A fresh browser context (own cookies), signed in as ``username`` if given."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_console(msg: ConsoleMessage) -> None:
        # a page answered with an error status (a 409 conflict screen) logs "Failed to load
        # resource"; sub-resources are checked by status below, so only real script errors count
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    def on_response(response: Response) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            errors.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.js_errors = errors  # type: ignore[attr-defined]
    if username:
        page.goto(f"{server.url}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
    return page
