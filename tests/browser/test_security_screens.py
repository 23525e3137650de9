"""Sign-in throttling as a person sees it, and an admin reading and filtering the audit log."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Browser, expect

from app.accounts.models import Role
from app.core.db import make_engine, open_session
from tests.browser.conftest import LiveServer, new_page
from tests.factories import make_user

SHOTS = Path(os.environ.get("ATRIUM_SHOTS", "/tmp/shots"))


def _shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)  # type: ignore[attr-defined]


def test_throttled_sign_in_says_when_to_try_again(
    browser: Browser, live_server: LiveServer
) -> None:
    page = new_page(browser, live_server)
    for _ in range(6):
        page.goto(f"{live_server.url}/login")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "not-my-password")
        page.click("button[type=submit]")
        page.wait_for_load_state()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Too many failed sign-ins; try again in 15 minutes.")
    _shot(page, "login-throttled.png")
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_admin_reads_and_filters_the_audit_log(browser: Browser, live_server: LiveServer) -> None:
    settings = live_server.settings
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        make_user(session, username="root", role=Role.admin)
    engine.dispose()
    bob = new_page(browser, live_server)
    bob.goto(f"{live_server.url}/login")
    bob.fill("input[name=username]", "bob")
    bob.fill("input[name=password]", "=1+1 guessed")
    bob.click("button[type=submit]")
    new_page(browser, live_server, "alice")
    admin = new_page(browser, live_server, "root")
    admin.get_by_role("link", name="Admin").click()
    admin.get_by_role("navigation", name="Administration").get_by_role(
        "link", name="Audit log"
    ).click()
    expect(admin.get_by_role("heading", name="Audit log")).to_be_visible()
    rows = admin.locator(".audit-table tbody tr")
    expect(rows.first).to_contain_text("Signed in")
    expect(admin.locator(".audit-table")).to_contain_text("Failed sign-in")
    _shot(admin, "audit-log.png")
    # filtering swaps the results in place and keeps the address shareable
    admin.select_option("select[name=action]", "user.sign_in_failed")
    expect(admin.locator("#audit-results")).to_contain_text("1 entry")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("bob")
    assert "action=user.sign_in_failed" in admin.url
    export = admin.get_by_role("link", name="Export CSV")
    assert "action=user.sign_in_failed" in (export.get_attribute("href") or "")
    _shot(admin, "audit-log-filtered.png")
    assert admin.js_errors == []  # type: ignore[attr-defined]
