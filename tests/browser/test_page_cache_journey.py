"""A visitor who is not signed in reads a page served from memory, sees an editor's change on
the next load, and signs in from it (back on the page, signed in, it is rendered for them)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from app.accounts import service as accounts
from app.core.db import make_engine, open_session
from app.pages import service as pages
from app.pages.schemas import PageEdit
from tests.browser.conftest import LiveServer, new_page

pytestmark = pytest.mark.browser


def test_visitor_sees_a_change_at_once_and_signs_in_from_a_cached_page(
    browser: Browser, live_server: LiveServer
) -> None:
    settings = live_server.settings
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        edit = PageEdit(title="Order to Cash", body="## Billing\n\nInvoices go out monthly.\n")
        pages.save_page(session=session, slug="core/o2c", edit=edit, author=accounts.system_actor())
    engine.dispose()
    url = f"{live_server.url}/wiki/core/o2c"

    visitor = new_page(browser, live_server)
    first = visitor.goto(url)
    assert first is not None
    assert first.headers["x-atrium-cache"] == "miss"
    again = visitor.reload()
    assert again is not None
    assert again.headers["x-atrium-cache"] == "hit"
    expect(visitor.locator("main")).to_contain_text("Invoices go out monthly.")

    alice = new_page(browser, live_server, "alice")
    alice.goto(f"{live_server.url}/edit/core/o2c")
    alice.fill("#body", "## Billing\n\nInvoices go out weekly.\n")
    alice.locator("form#editor-form button[type=submit], form button[type=submit]").last.click()
    expect(alice.locator("main")).to_contain_text("Invoices go out weekly.")

    changed = visitor.reload()
    assert changed is not None
    assert changed.headers["x-atrium-cache"] == "miss"
    expect(visitor.locator("main")).to_contain_text("Invoices go out weekly.")
    assert visitor.reload().headers["x-atrium-cache"] == "hit"  # type: ignore[union-attr]

    visitor.get_by_role("banner").get_by_role("link", name="Sign in").click()
    visitor.fill("input[name=username]", "bob")
    visitor.fill("input[name=password]", "correct horse battery staple")
    visitor.click("button[type=submit]")
    signed_in = visitor.goto(url)
    assert signed_in is not None
    assert "x-atrium-cache" not in signed_in.headers
    expect(visitor.locator("main")).to_contain_text("Invoices go out weekly.")
    expect(visitor.get_by_role("banner")).to_contain_text("Bob")
    expect(visitor.get_by_role("banner").get_by_role("link", name="Sign in")).to_have_count(0)
    assert visitor.js_errors == []  # type: ignore[attr-defined]
