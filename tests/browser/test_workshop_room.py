"""A workshop run live: a facilitator and two participants, each in their own browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from app.accounts.models import Role
from app.core.db import make_engine, open_session
from tests.browser.conftest import LiveServer, new_page
from tests.factories import make_page, make_user

pytestmark = pytest.mark.browser

SLUG = "ops/service-ownership"
BODY = "## Purpose\n\nWhy services have owners.\n\n## Owners\n\nEvery service has one owner.\n"
LIVE = 10_000  # ms: generous, for steps that reload a page
FOLLOW = 3_000  # ms: the room polls every 1.5 s, so everyone follows within about two seconds


def _seed(server: LiveServer) -> None:
    settings = server.settings
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        fran = make_user(session, username="fran", role=Role.facilitator)
        make_page(session, slug=SLUG, title="Service ownership", body=BODY, author=fran)
    engine.dispose()


def _idea(page: Page, text: str) -> Locator:
    """The idea card whose text (not a facilitator's merge menu) holds ``text``."""
    return page.locator(".ws-idea").filter(has=page.locator(".ws-idea-body", has_text=text))


def _create(fran: Page, url: str) -> str:
    fran.goto(f"{url}/workshops/new")
    fran.fill("input[name=title]", "Ownership model")
    fran.fill("textarea[name=goal]", "Agree who owns a service")
    fran.fill("input[name=participants]", "alice, bob")
    fran.get_by_role("button", name="Create and plan the agenda").click()
    expect(fran).to_have_url(re.compile(r"/workshops/\d+/plan$"))
    room_url = fran.url.removesuffix("/plan")
    for title, page, dots in (
        ("Who owns a service?", SLUG, "2"),
        ("What does an owner decide?", "", "3"),
    ):
        form = fran.locator("form.ws-item-form").last
        form.locator("input[name=title]").fill(title)
        form.locator("input[name=page]").fill(page)
        form.locator("input[name=dots_per_participant]").fill(dots)
        form.get_by_role("button", name="Add item").click()
        expect(fran.locator(".ws-plan-items")).to_contain_text(title)
    return room_url


def test_facilitator_and_two_participants_run_a_workshop(
    browser: Browser, live_server: LiveServer
) -> None:
    _seed(live_server)
    fran = new_page(browser, live_server, "fran")
    alice = new_page(browser, live_server, "alice")
    bob = new_page(browser, live_server, "bob")
    room_url = _create(fran, live_server.url)

    # the participants wait in the room; it turns live when the facilitator starts
    for p in (alice, bob):
        p.goto(room_url)
        expect(p.locator(".ws-item-title")).to_have_text("Being prepared")
    fran.goto(f"{room_url}/plan")
    fran.get_by_role("button", name="Start the workshop").click()
    expect(fran).to_have_url(room_url)
    for p in (alice, bob):
        expect(p.locator(".ws-item-title")).to_have_text("Who owns a service?", timeout=LIVE)
        expect(p.locator(".ws-page-body")).to_contain_text("Every service has one owner.")

    # the shared timer: everyone sees it run
    fran.get_by_role("button", name="Start timer").click()
    for p in (alice, bob):
        expect(p.locator(".ws-timer.is-running")).to_be_visible(timeout=LIVE)
        expect(p.locator("[data-ws-timer-value]")).to_have_text(re.compile(r"1[45]:\d\d"))

    # ideas appear live for all; an anonymous one hides its author from other participants
    alice.fill("#idea-body", "Each service gets a **product owner**")
    alice.get_by_role("button", name="Add idea").click()
    expect(alice.locator("#idea-body")).to_have_value("")
    bob.fill("#idea-body", "A service board decides")
    bob.locator("#ws-compose input[name=anonymous]").check()
    bob.get_by_role("button", name="Add idea").click()
    for p in (fran, alice, bob):
        expect(p.locator(".ws-idea")).to_have_count(2, timeout=FOLLOW)
        expect(p.locator(".ws-idea strong", has_text="product owner")).to_be_visible()
    board_idea = _idea(alice, "A service board decides")
    expect(board_idea.locator(".ws-idea-author")).to_have_text("anonymous")
    expect(_idea(fran, "A service board decides")).to_contain_text("Bob")

    # dots are placed but their totals stay hidden, even from the facilitator
    board_idea.get_by_role("button", name="+ dot").click()
    expect(alice.locator(".ws-dots-left")).to_have_text("1 of 2 dots left")
    board_idea = _idea(alice, "A service board decides")
    board_idea.get_by_role("button", name="+ dot").click()
    expect(alice.locator(".ws-dots-left")).to_have_text("0 of 2 dots left")
    _idea(bob, "product owner").get_by_role("button", name="+ dot").click()
    expect(fran.locator(".ws-vote-status")).to_contain_text("3 dots placed", timeout=LIVE)
    for p in (fran, alice, bob):
        expect(p.locator(".ws-dot-total")).to_have_count(0)

    # the facilitator reveals the votes: everyone sees the totals, most dots first
    fran.get_by_role("button", name="Reveal votes").click()
    for p in (fran, alice, bob):
        first = p.locator(".ws-idea").first
        expect(first).to_contain_text("A service board decides", timeout=LIVE)
        expect(first.locator(".ws-dot-total")).to_have_text("2")
        expect(p.locator(".ws-revealed")).to_be_visible()

    # the facilitator moves on: everyone follows, and the idea box goes with them
    fran.get_by_role("button", name="Next item →").click()
    for p in (fran, alice, bob):
        expect(p.locator(".ws-item-title")).to_have_text(
            "What does an owner decide?", timeout=FOLLOW
        )
        expect(p.locator(".ws-idea")).to_have_count(0)
    expect(alice.locator("[data-ws-item-title]")).to_have_text("What does an owner decide?")
    alice.fill("#idea-body", "Priorities within the budget")
    alice.get_by_role("button", name="Add idea").click()
    expect(bob.locator(".ws-idea")).to_contain_text("Priorities within the budget", timeout=LIVE)

    # closing writes the summary page, and the participants' rooms follow
    fran.locator("details.confirm summary", has_text="Close workshop").click()
    fran.get_by_role("button", name="Close and write the summary").click()
    expect(fran.get_by_role("link", name="Summary page")).to_be_visible()
    expect(bob.get_by_role("link", name="Summary page")).to_be_visible(timeout=LIVE)
    fran.get_by_role("link", name="Summary page").click()
    expect(fran).to_have_url(re.compile(r"/wiki/workshops/\d{4}-\d\d-\d\d-ownership-model$"))
    expect(fran.locator("main")).to_contain_text("A service board decides")
    expect(fran.locator("main")).to_contain_text("Priorities within the budget")

    for p in (fran, alice, bob):
        assert p.js_errors == []  # type: ignore[attr-defined]
