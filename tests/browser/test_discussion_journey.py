"""Two people discuss a passage live: comment on a selection, reply with a mention, resolve."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import LiveServer, new_page

pytestmark = pytest.mark.browser

SLUG = "core-processes/demand-intake"
BODY = (
    "## Scope\n\nDemand arrives from the business.\n\n"
    "## Triage\n\nThe BRM sorts requests weekly.\n\n"
    "## Delivery\n\nTeams deliver in increments.\n"
)


def test_inline_comment_live_reply_mention_resolve_outdated(
    browser: Browser, live_server: LiveServer
) -> None:
    alice = new_page(browser, live_server, "alice")
    bob = new_page(browser, live_server, "bob")

    # alice writes the page
    alice.goto(f"{live_server.url}/edit/{SLUG}?title=Demand%20Intake")
    alice.fill("#body", BODY)
    alice.locator("form#editor-form button[type=submit]").click()
    expect(alice).to_have_url(re.compile(f"/wiki/{SLUG}$"))
    bob.goto(f"{live_server.url}/wiki/{SLUG}")
    expect(bob.locator("#threads")).to_contain_text("No open discussions")

    # alice selects a passage and comments on it
    passage = alice.locator("#content p", has_text="The BRM sorts requests weekly.")
    passage.select_text()
    passage.dispatch_event("mouseup")
    alice.get_by_role("button", name="Comment on this passage").click()
    expect(alice.locator("[data-anchor-preview]")).to_contain_text("The BRM sorts requests weekly.")
    alice.fill("#new-thread-body", "Is weekly often enough for urgent demand?")
    alice.get_by_role("button", name="Start discussion").click()
    card = alice.locator(".thread-card").first
    expect(card).to_contain_text("Is weekly often enough")
    expect(card.locator(".anchor-quote")).to_have_text("The BRM sorts requests weekly.")
    expect(alice.locator("#new-thread-body")).to_have_value("")

    # bob sees it appear without reloading, and replies mentioning alice (autocompleted)
    bob_card = bob.locator(".thread-card").first
    expect(bob_card).to_contain_text("Is weekly often enough", timeout=10_000)
    reply = bob_card.locator("textarea[name=body]")
    reply.click()
    reply.press_sequentially("Urgent items skip the queue, @al")
    option = bob_card.locator(".mention-option", has_text="@alice")
    expect(option).to_be_visible()
    reply.press("Enter")
    expect(reply).to_have_value("Urgent items skip the queue, @alice ")
    reply.press_sequentially("does that work?")
    bob_card.get_by_role("button", name="Reply", exact=True).click()
    expect(bob.locator(".thread-card").first).to_contain_text("does that work?")

    # alice's unread count rises without a reload; her view gets bob's reply live
    expect(alice.locator("#inbox-link .inbox-count")).to_have_text("1", timeout=12_000)
    expect(alice.locator(".thread-card").first).to_contain_text("does that work?", timeout=10_000)
    mention = alice.locator(".thread-card").first.locator("a", has_text="@alice")
    expect(mention).to_be_visible()

    # alice resolves the thread; bob sees the status change
    alice.locator(".thread-card").first.get_by_role("button", name="Resolve").click()
    expect(alice.locator(".thread-card").first).to_contain_text("resolved")
    expect(bob.locator("#threads")).to_contain_text("No open discussions", timeout=10_000)

    # the passage is edited away: the thread stays, marked outdated, with its quote
    alice.goto(f"{live_server.url}/edit/{SLUG}")
    alice.fill("#body", BODY.replace("The BRM sorts requests weekly.", "Triage is continuous."))
    alice.locator("form#editor-form button[type=submit]").click()
    expect(alice.locator("main")).to_contain_text("Triage is continuous.")
    alice.locator(".thread-filter a", has_text="All").click()
    card = alice.locator(".thread-card").first
    expect(card.locator(".badge-outdated").first).to_be_visible()
    expect(card.locator(".anchor-quote")).to_have_text("The BRM sorts requests weekly.")
    card.get_by_role("link", name=re.compile("see it in revision 1")).click()
    expect(alice).to_have_url(re.compile(r"rev=1#passage-\d+"))
    expect(alice.locator(".passage-marker")).to_be_visible()

    assert alice.js_errors == []  # type: ignore[attr-defined]
    assert bob.js_errors == []  # type: ignore[attr-defined]
