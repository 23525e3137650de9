"""The core journey in a real browser: create, edit, merge, conflict, history, diff, revert."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer, new_page

pytestmark = pytest.mark.browser

BODY = (
    "## Scope\n\nDemand arrives from the business.\n\n"
    "## Triage\n\nThe BRM sorts requests weekly.\n\n"
    "## Delivery\n\nTeams deliver in increments.\n"
)


def _open_editor(page: Page, server: LiveServer, slug: str) -> None:
    page.goto(f"{server.url}/edit/{slug}")
    expect(page.locator("#body")).to_be_visible()


def _save(page: Page) -> None:
    page.locator("form#editor-form button[type=submit], form button[type=submit]").last.click()
    page.wait_for_load_state()


def test_create_edit_merge_conflict_history_diff_revert_move(
    browser: Browser, live_server: LiveServer
) -> None:
    alice = new_page(browser, live_server, "alice")
    bob = new_page(browser, live_server, "bob")
    slug = "core-processes/demand-intake"

    # create, with the live preview following the text
    _open_editor(alice, live_server, f"{slug}?title=Demand%20Intake")
    alice.fill("#title", "Demand Intake")
    alice.fill("#body", BODY)
    expect(alice.locator("#preview h2").first).to_have_text("Scope", timeout=5000)
    _save(alice)
    expect(alice).to_have_url(re.compile(f"/wiki/{slug}$"))
    expect(alice.locator("main h1")).to_contain_text("Demand Intake")
    expect(alice.locator("main")).to_contain_text("The BRM sorts requests weekly.")

    # a plain edit
    _open_editor(alice, live_server, slug)
    alice.fill("#body", BODY.replace("weekly", "every Monday"))
    alice.fill("#summary", "Triage cadence")
    _save(alice)
    expect(alice.locator("main")).to_contain_text("every Monday")

    # concurrent edits of different sections are merged, and alice is told
    _open_editor(alice, live_server, slug)
    _open_editor(bob, live_server, slug)
    bob.fill("#body", bob.input_value("#body").replace("from the business", "from every unit"))
    _save(bob)
    alice.fill("#body", alice.input_value("#body").replace("in increments", "every sprint"))
    _save(alice)
    expect(alice).to_have_url(re.compile(r"merged=1"))
    expect(alice.locator("main")).to_contain_text("merged")
    expect(alice.locator("main")).to_contain_text("from every unit")
    expect(alice.locator("main")).to_contain_text("every sprint")

    # overlapping edits: the second saver gets the conflict screen, nothing is saved yet
    _open_editor(alice, live_server, slug)
    _open_editor(bob, live_server, slug)
    bob.fill("#body", bob.input_value("#body").replace("every Monday", "on Tuesdays"))
    _save(bob)
    alice.fill("#body", alice.input_value("#body").replace("every Monday", "daily"))
    _save(alice)
    expect(alice.locator("#their-body")).to_have_value(re.compile("on Tuesdays"))
    expect(alice.locator("#your-body")).to_have_value(re.compile("daily"))
    expect(alice.locator("#body")).to_have_value(re.compile("<<<<<<<"))
    alice.get_by_role("button", name="Use your version").click()
    resolved = alice.input_value("#body").replace("daily", "daily, and on Tuesdays")
    alice.fill("#body", resolved)
    _save(alice)
    expect(alice).to_have_url(re.compile(f"/wiki/{slug}"))
    expect(alice.locator("main")).to_contain_text("daily, and on Tuesdays")

    # history lists every revision with its author; compare two of them
    alice.goto(f"{live_server.url}/history/{slug}")
    rows = alice.locator("tbody tr")
    expect(rows).to_have_count(6)
    expect(alice.locator("tbody")).to_contain_text("bob")
    expect(alice.locator("tbody")).to_contain_text("Triage cadence")
    alice.check("input[name=from][value='2']")
    alice.check("input[name=to][value='6']")
    alice.get_by_role("button", name="Compare selected").click()
    expect(alice).to_have_url(re.compile(r"/diff/.*(from=2.*to=6|to=6.*from=2)"))
    expect(alice.locator("del").first).to_be_visible()
    expect(alice.locator("ins", has_text="daily")).to_have_count(1)

    # revert to revision 2 (as a new revision)
    alice.goto(f"{live_server.url}/history/{slug}")
    alice.locator("button[name=number][value='2']").click()
    alice.wait_for_load_state()
    expect(alice.locator("main")).to_contain_text("every Monday")
    expect(alice.locator("main")).not_to_contain_text("every sprint")

    # move: the page gets a new address and the old one redirects
    alice.goto(f"{live_server.url}/move/{slug}")
    alice.fill("input[name=new_slug]", "core-processes/intake")
    alice.locator("form button[type=submit]").last.click()
    expect(alice).to_have_url(re.compile("/wiki/core-processes/intake$"))
    alice.goto(f"{live_server.url}/wiki/{slug}")
    expect(alice).to_have_url(re.compile("/wiki/core-processes/intake"))
    expect(alice.locator("main h1")).to_contain_text("Demand Intake")

    assert alice.js_errors == []  # type: ignore[attr-defined]
    assert bob.js_errors == []  # type: ignore[attr-defined]
