"""Section editing in a real browser: two people edit two sections at once; both changes land."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import LiveServer, new_page

pytestmark = pytest.mark.browser

SLUG = "core-processes/service-design"
BODY = (
    "How services are designed.\n\n"
    "## Scope\n\nEvery new service starts here.\n\n"
    "## Roles\n\nThe service owner decides.\n\n"
    "```text\n# not a heading: a comment in code\n```\n\n"
    "## Reviews\n\nReviewed once a year.\n"
)
SHOTS = Path("/tmp/shots")


def _create(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/edit/{SLUG}?title=Service%20Design")
    page.fill("#body", BODY)
    page.locator("form#editor-form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(f"/wiki/{SLUG}$"))


def _open_section(page: Page, server: LiveServer, heading: str) -> None:
    """Open the page and follow the edit link of one heading (shown on hover)."""
    page.goto(f"{server.url}/wiki/{SLUG}")
    title = page.locator("#content h2", has_text=heading)
    link = title.get_by_role("link", name=f"Edit section: {heading}")
    expect(link).to_have_css("opacity", "0")
    title.hover()
    expect(link).to_have_css("opacity", "1")
    link.click()
    page.wait_for_load_state()
    expect(page.locator("#body")).to_have_value(re.compile(f"^## {heading}\n"))


def test_two_people_edit_two_sections_and_both_changes_land(
    browser: Browser, live_server: LiveServer
) -> None:
    alice = new_page(browser, live_server, "alice")
    bob = new_page(browser, live_server, "bob")
    _create(alice, live_server)

    _open_section(alice, live_server, "Scope")
    _open_section(bob, live_server, "Reviews")
    # only the section is in the editor, and the preview shows only it
    body = alice.input_value("#body")
    assert "Roles" not in body
    assert "How services are designed" not in body
    alice.fill("#body", body.replace("Every new service", "Every new or changed service"))
    expect(alice.locator("#preview")).to_contain_text("Every new or changed service", timeout=5000)
    expect(alice.locator("#preview")).not_to_contain_text("The service owner decides")
    SHOTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(SHOTS / "section-edit.png"), full_page=True)

    bob.fill("#body", bob.input_value("#body").replace("once a year", "every quarter"))

    alice.get_by_role("button", name="Save section").click()
    alice.wait_for_load_state()
    expect(alice).to_have_url(re.compile(f"/wiki/{SLUG}#h-scope$"))
    expect(alice.locator("#content")).to_contain_text("Every new or changed service")

    bob.get_by_role("button", name="Save section").click()
    bob.wait_for_load_state()
    # bob started from the revision before alice's save: his change is merged with hers
    expect(bob).to_have_url(re.compile(rf"/wiki/{SLUG}\?merged=1#h-reviews$"))
    content = bob.locator("#content")
    expect(content).to_contain_text("Every new or changed service")
    expect(content).to_contain_text("Reviewed every quarter.")
    expect(content).to_contain_text("The service owner decides.")
    expect(bob.locator("main")).to_contain_text("merged")

    # history: the page's creation, then one revision per section save, the second merged
    bob.goto(f"{live_server.url}/history/{SLUG}")
    numbers = bob.locator("main table td.num a")
    expect(numbers).to_have_text(["3", "2", "1"])

    def row(number: str) -> Locator:
        return bob.locator(
            "main table tr", has=bob.locator("td.num a", has_text=re.compile(f"^{number}$"))
        )

    expect(row("3")).to_contain_text("Merged with concurrent changes")
    expect(row("3")).to_contain_text("bob")
    expect(row("2")).to_contain_text("alice")
    expect(row("2")).not_to_contain_text("Merged")

    for page in (alice, bob):
        assert page.js_errors == []  # type: ignore[attr-defined]
