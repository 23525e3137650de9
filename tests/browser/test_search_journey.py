"""Search in a real browser: Ctrl+K, type into the header box, pick from the dropdown."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from app.core.db import make_engine, open_session
from tests.browser.conftest import LiveServer, new_page
from tests.factories import make_page

pytestmark = pytest.mark.browser


def test_type_in_the_header_box_and_open_a_result(
    browser: Browser, live_server: LiveServer
) -> None:
    settings = live_server.settings
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        make_page(session, slug="home", title="Home", body="Welcome.\n")
        make_page(
            session,
            slug="core-processes/order-to-cash",
            title="Order to Cash",
            body="## Invoicing\n\nWe send invoices monthly.\n",
            tags=["finance"],
        )
        make_page(session, slug="governance", title="Governance", body="The board.\n")
    engine.dispose()

    page = new_page(browser, live_server)
    page.goto(f"{live_server.url}/wiki/home")
    box = page.locator("#search-q")
    page.keyboard.press("Control+k")
    expect(box).to_be_focused()

    # the server's indexer picks the pages up within a second; keep typing until they show
    dropdown = page.locator("#search-dropdown .search-option", has_text="Order to Cash")
    for _ in range(20):
        box.fill("")
        box.press_sequentially("order ca", delay=30)
        try:
            expect(dropdown).to_be_visible(timeout=1000)
            break
        except AssertionError:
            continue
    expect(dropdown).to_be_visible()
    expect(page.locator("#search-dropdown mark").first).to_be_visible()
    dropdown.click()
    expect(page).to_have_url(re.compile(r"/wiki/core-processes/order-to-cash$"))
    expect(page.locator("main h1")).to_contain_text("Order to Cash")

    # "/" focuses the box too; Enter opens the full results page with facets
    page.locator("main h1").click()
    page.keyboard.press("/")
    expect(box).to_be_focused()
    box.fill("invoices")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=invoices"))
    expect(page.locator(".search-hit")).to_have_count(1)
    expect(page.locator(".search-facets")).to_contain_text("finance")
    assert page.js_errors == []  # type: ignore[attr-defined]
