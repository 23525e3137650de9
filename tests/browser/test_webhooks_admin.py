"""Webhooks admin in a real browser: an admin adds a webhook pointing at a receiver on
127.0.0.1, sends a test delivery, watches the log fill in (a failure, a retry, a success, a
delivery that gives up and is redelivered). Screenshots go to ATRIUM_SCREENSHOTS when set."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.accounts.models import Role
from app.core.db import make_engine, open_session
from tests.browser.conftest import LiveServer, new_page
from tests.factories import make_user
from tests.webhook_receiver import Receiver, receiving

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("ATRIUM_SCREENSHOTS")


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> LiveServer:
    # the server's worker looks often and retries at once, three tries at most
    monkeypatch.setenv("ATRIUM_WEBHOOK_INTERVAL", "0.2")
    monkeypatch.setenv("ATRIUM_WEBHOOK_BACKOFF_SECONDS", "[0.3]")
    monkeypatch.setenv("ATRIUM_WEBHOOK_MAX_ATTEMPTS", "3")
    live: LiveServer = request.getfixturevalue("live_server")
    settings = live.settings
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        make_user(session, username="ada", role=Role.admin)
    engine.dispose()
    return live


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiving([500]) as receiver:
        yield receiver


def test_an_admin_adds_a_webhook_and_follows_its_deliveries(
    browser: Browser, server: LiveServer, hook: Receiver
) -> None:
    page = new_page(browser, server, "ada")
    page.goto(f"{server.url}/recent")
    # the header's Admin link, then the administration screens' Webhooks tab
    page.get_by_role("link", name="Admin", exact=True).click()
    admin_tabs = page.get_by_role("navigation", name="Administration")
    admin_tabs.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()
    page.get_by_role("link", name="Add a webhook").click()

    page.fill("input[name=url]", "ftp://files.example.com/in")
    page.check("input[value='page.saved']")
    # the browser's own check lets ftp: through (it is a URL): the server explains
    page.click("button:has-text('Add webhook')")
    expect(page.get_by_text("must start with http:// or https://")).to_be_visible()

    page.fill("input[name=url]", hook.url)
    page.fill("input[name=description]", "Service desk: opens a ticket when a decision lands")
    page.check("input[value='decision.recorded']")
    _shot(page, "webhook-form")
    page.click("button:has-text('Add webhook')")
    secret = page.locator("#webhook-secret")
    expect(secret).to_contain_text("whsec_")
    _shot(page, "webhook-created")
    # the address is the webhook's own: a reload shows it without the secret, adding nothing
    expect(page).to_have_url(re.compile(r"/admin/webhooks/\d+$"))
    page.reload()
    expect(page.locator("#webhook-secret")).to_have_count(0)

    page.click("button:has-text('Send test delivery')")
    log = page.locator("#webhook-deliveries")
    expect(log.locator("tr.wh-delivery")).to_have_count(1)
    # the receiver fails once; the worker retries and the log (polling while busy) follows
    expect(log.locator(".wh-status-succeeded")).to_have_count(1, timeout=20_000)
    assert len(hook.got) == 2

    hook.codes.extend([503, 503, 503])
    page.click("button:has-text('Send test delivery')")
    expect(log.locator(".wh-status-failed")).to_have_count(1, timeout=20_000)
    failed_row = log.locator("tr[data-status=failed]")
    expect(failed_row).to_contain_text("3 / 3")
    failed_row.locator("summary").click()
    expect(failed_row.locator(".wh-attempt-list li")).to_have_count(3)
    expect(failed_row).to_contain_text("receiver broke")
    _shot(page, "webhook-delivery-log")

    failed_row.get_by_role("button", name="Redeliver").click()
    expect(log.locator(".wh-status-succeeded")).to_have_count(2, timeout=20_000)
    assert len(hook.got) == 6

    page.get_by_role("link", name="Edit").click()
    expect(page.locator("input[value='decision.recorded']")).to_be_checked()
    _shot(page, "webhook-edit")
    page.get_by_role("link", name="Admin", exact=True).click()
    admin_tabs.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_text("Service desk: opens a ticket")).to_be_visible()
    _shot(page, "webhooks-list")
    assert page.js_errors == []  # type: ignore[attr-defined]
