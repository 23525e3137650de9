"""A proposal in a real browser: an editor proposes a page change from the page, another responds
and the facilitator's tally follows live; the page moves on in the same lines, so accepting shows
the conflict screen; the facilitator keeps the proposed text and accepts: DEC-0001 and a new page
revision. Screenshots go to ATRIUM_SCREENSHOTS (when set) for a human to look at."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.config import Settings
from app.core.db import make_engine, open_session
from app.pages import service as pages
from app.pages.schemas import PageEdit
from tests.browser.conftest import LiveServer, new_page
from tests.factories import make_page, make_user

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("ATRIUM_SCREENSHOTS")
SLUG = "operating-model/intake"
BODY = (
    "## Intake\n\nRequests arrive by e-mail to the service desk.\n\n"
    "## Triage\n\nThe BRM sorts requests weekly.\n"
)


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _settings(server: LiveServer) -> Settings:
    return server.settings


def _seed(server: LiveServer) -> None:
    settings = _settings(server)
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        make_user(session, username="fran", role=Role.facilitator)
        alice = accounts.get_user(session=session, username="alice")
        make_page(session, slug=SLUG, title="Intake", body=BODY, author=alice)
    engine.dispose()


def _edit_meanwhile(server: LiveServer) -> None:
    settings = _settings(server)
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        bob = accounts.get_user(session=session, username="bob")
        edit = PageEdit(base=1, title="Intake", body=BODY.replace("by e-mail", "by phone"))
        pages.save_page(session=session, slug=SLUG, edit=edit, author=bob)
    engine.dispose()


def test_propose_respond_live_conflict_and_accept(
    browser: Browser, live_server: LiveServer
) -> None:
    _seed(live_server)
    alice = new_page(browser, live_server, "alice")
    bob = new_page(browser, live_server, "bob")
    fran = new_page(browser, live_server, "fran")

    # alice proposes a change from the page's action bar, editing the page text in the form
    alice.goto(f"{live_server.url}/wiki/{SLUG}")
    alice.get_by_role("link", name="Propose a change").click()
    alice.fill("input[name=title]", "Take requests through the portal form")
    alice.fill("textarea[name=description]", "E-mail requests get **lost**.")
    alice.fill("textarea[name=options]", "Portal form\nE-mail template")
    alice.fill(
        "textarea[name=change_body]", BODY.replace("by e-mail to", "through the portal form of")
    )
    alice.get_by_role("button", name="Put the proposal").click()
    expect(alice).to_have_url(re.compile(r"/proposals/\d+$"))
    url = alice.url
    expect(alice.locator(".proposal-change")).to_contain_text("through the portal form of")

    # fran watches the tally; bob agrees and fran's view follows without a reload
    fran.goto(url)
    expect(fran.locator("#proposal-live")).to_contain_text("No responses yet")
    bob.goto(url)
    bob.check("form.respond-form input[value=agree]")
    bob.select_option("form.respond-form select[name=option]", "Portal form")
    bob.fill("form.respond-form textarea[name=reason]", "Nothing gets lost")
    bob.locator("form.respond-form button[type=submit]").click()
    expect(bob.locator("#proposal-live")).to_contain_text("You responded agree")
    expect(fran.locator("#proposal-live")).to_contain_text("1 agree", timeout=6000)
    expect(fran.locator("#proposal-live")).to_contain_text("Nothing gets lost")
    _shot(fran, "proposal")

    # the page moves on in the same line: accepting shows both texts, nothing is decided yet
    _edit_meanwhile(live_server)
    fran.check("input[name=outcome][value=accepted]")
    fran.select_option("select[name=chosen_option]", "Portal form")
    fran.fill("textarea[name=note]", "Consent in the intake workshop")
    fran.get_by_role("button", name="Close proposal").click()
    expect(fran.locator(".conflict-header")).to_contain_text("nothing was decided or saved")
    expect(fran.locator("#their-body")).to_have_value(re.compile("by phone"))
    _shot(fran, "proposal-conflict")
    fran.get_by_role("button", name="Use the proposed version").click()
    fran.get_by_role("button", name="Accept with this text").click()
    expect(fran).to_have_url(re.compile(r"/proposals/\d+$"))
    expect(fran.locator(".notice")).to_contain_text("Closed as accepted")
    expect(fran.get_by_role("link", name="DEC-0001")).to_be_visible()
    _shot(fran, "proposal-accepted")

    # the page carries the accepted text as revision 3, made by DEC-0001
    alice.goto(f"{live_server.url}/wiki/{SLUG}")
    expect(alice.locator("#content")).to_contain_text("through the portal form of")
    alice.goto(f"{live_server.url}/history/{SLUG}")
    expect(alice.locator("body")).to_contain_text("DEC-0001: Take requests through the portal form")
    for page in (alice, bob, fran):
        assert page.js_errors == []  # type: ignore[attr-defined]
