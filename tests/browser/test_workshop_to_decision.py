"""The whole design loop in three browsers: a workshop's ideas and dots, a proposal with a page
edit made from an idea, responses, acceptance as DEC-0001, the page revision it made, the
decision log and search finding it, and the summary page written on close."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import LiveServer, new_page
from tests.browser.test_workshop_room import FOLLOW, LIVE, SLUG, _create, _idea, _seed

pytestmark = pytest.mark.browser


def test_workshop_idea_becomes_decision_and_page_revision(
    browser: Browser, live_server: LiveServer
) -> None:
    _seed(live_server)
    fran = new_page(browser, live_server, "fran")
    alice = new_page(browser, live_server, "alice")
    bob = new_page(browser, live_server, "bob")
    room_url = _create(fran, live_server.url)
    fran.goto(f"{room_url}/plan")
    fran.get_by_role("button", name="Start the workshop").click()
    expect(fran).to_have_url(room_url)
    for p in (alice, bob):
        p.goto(room_url)
        expect(p.locator(".ws-item-title")).to_have_text("Who owns a service?", timeout=LIVE)

    # ideas appear live for everyone
    alice.fill("#idea-body", "A product owner per service, advised by a service board")
    alice.get_by_role("button", name="Add idea").click()
    bob.fill("#idea-body", "Owners rotate yearly")
    bob.get_by_role("button", name="Add idea").click()
    for p in (fran, alice, bob):
        expect(p.locator(".ws-idea")).to_have_count(2, timeout=FOLLOW)

    # dots stay hidden until the facilitator reveals them
    _idea(bob, "product owner per service").get_by_role("button", name="+ dot").click()
    _idea(alice, "product owner per service").get_by_role("button", name="+ dot").click()
    expect(fran.locator(".ws-vote-status")).to_contain_text("2 dots placed", timeout=LIVE)
    for p in (fran, alice, bob):
        expect(p.locator(".ws-dot-total")).to_have_count(0)
    fran.get_by_role("button", name="Reveal votes").click()
    for p in (fran, alice, bob):
        top = p.locator(".ws-idea").first
        expect(top).to_contain_text("product owner per service", timeout=LIVE)
        expect(top.locator(".ws-dot-total")).to_have_text("2")

    # alice turns her idea into a proposal that edits the item's page
    _idea(alice, "product owner per service").get_by_role(
        "link", name="Make a proposal from this idea"
    ).click()
    expect(alice.locator(".proposal-suggested-edit")).to_contain_text("Service ownership")
    body = alice.locator("textarea[name=change_body]")
    body.fill(
        body.input_value().replace(
            "Every service has one owner.",
            "Every service has one product owner, advised by a service board.",
        )
    )
    alice.get_by_role("button", name="Put the proposal").click()
    expect(alice).to_have_url(re.compile(r"/proposals/\d+$"))
    proposal_url = alice.url
    expect(alice.locator(".proposal-change")).to_contain_text("advised by a service board")

    # the proposal shows in the room; both participants respond
    expect(fran.locator(".ws-proposals, #ws-room")).to_contain_text(
        "product owner per service", timeout=LIVE
    )
    for p, reason in ((alice, "Clear accountability"), (bob, "Works for us")):
        p.goto(proposal_url)
        p.check("form.respond-form input[value=agree]")
        p.fill("form.respond-form textarea[name=reason]", reason)
        p.locator("form.respond-form button[type=submit]").click()
        expect(p.locator("#proposal-live")).to_contain_text("You responded agree")

    # the facilitator accepts it: DEC-0001 and a new page revision made by it
    fran.goto(proposal_url)
    expect(fran.locator("#proposal-live")).to_contain_text("2 agree")
    fran.check("input[name=outcome][value=accepted]")
    fran.fill("textarea[name=note]", "Consent in the ownership workshop")
    fran.get_by_role("button", name="Close proposal").click()
    expect(fran.locator(".notice")).to_contain_text("Closed as accepted")
    fran.get_by_role("link", name="DEC-0001").first.click()
    expect(fran).to_have_url(re.compile(r"/decisions/DEC-0001$"))
    expect(fran.locator("main")).to_contain_text("accepted")

    alice.goto(f"{live_server.url}/wiki/{SLUG}")
    expect(alice.locator("#content")).to_contain_text("advised by a service board")
    expect(alice.locator(".dec-governing")).to_contain_text("DEC-0001")
    alice.goto(f"{live_server.url}/history/{SLUG}")
    expect(alice.locator("tbody")).to_contain_text("DEC-0001")

    # the decision log and search find it
    bob.goto(f"{live_server.url}/decisions")
    expect(bob.locator("main")).to_contain_text("DEC-0001")
    bob.goto(f"{live_server.url}/decisions?status=accepted")
    expect(bob.locator("main")).to_contain_text("product owner per service")
    bob.goto(f"{live_server.url}/search?q=service+board+kind:decision")
    expect(bob.locator("main")).to_contain_text("DEC-0001", timeout=LIVE)

    # closing the workshop writes the summary page with the decision in it
    fran.goto(room_url)
    fran.locator("details.confirm summary", has_text="Close workshop").click()
    fran.get_by_role("button", name="Close and write the summary").click()
    fran.get_by_role("link", name="Summary page").click()
    expect(fran).to_have_url(re.compile(r"/wiki/workshops/\d{4}-\d\d-\d\d-ownership-model$"))
    main = fran.locator("main")
    expect(main).to_contain_text("Owners rotate yearly")
    expect(main).to_contain_text("DEC-0001")
    expect(main).to_contain_text("Clear accountability")

    for p in (fran, alice, bob):
        assert p.js_errors == []  # type: ignore[attr-defined]
