"""Decision screens in a real browser: a facilitator records a decision through the form, accepts
it, supersedes it; the log, the record and the current answer render without script or CSP
errors. Screenshots go to ATRIUM_SCREENSHOTS (when set) for a human to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.db import make_engine, open_session
from app.decisions import service
from app.decisions.schemas import DecisionCreate, OptionIn, PageLinkIn
from tests.browser.conftest import LiveServer, new_page
from tests.factories import make_page, make_user

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("ATRIUM_SCREENSHOTS")


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _seed(server: LiveServer) -> None:
    settings = server.settings
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        fran = make_user(session, username="fran", role=Role.facilitator)
        make_user(session, username="ada", role=Role.admin)
        alice = accounts.get_user(session=session, username="alice")
        make_page(
            session,
            slug="core-processes/r2v",
            title="Requirement to Value",
            body="## Scope\n\nDemand arrives.\n\n## Triage\n\nThe BRM sorts requests weekly.\n",
            author=alice,
        )
        for i, (title, tags) in enumerate(
            [
                ("Run a service catalogue in the wiki", ["catalogue"]),
                ("Showback before chargeback", ["finance"]),
                ("One intake form for all demand", ["intake"]),
            ]
        ):
            d = service.create_decision(
                session=session,
                data=DecisionCreate(
                    title=title,
                    context="Business units could not see what IT costs them.",
                    options=[
                        OptionIn(name="Showback", pros="Transparent", cons="No incentive"),
                        OptionIn(name="Chargeback", pros="Exact", cons="Metering is immature"),
                    ],
                    chosen_option="Showback",
                    deciders=["fran", "ada"],
                    tags=tags,
                    pages=[PageLinkIn(slug="core-processes/r2v")] if i == 0 else [],
                ),
                user=fran,
            )
            if i < 2:
                service.change_status(session=session, number=d.number, action="accept", user=fran)
    engine.dispose()


def test_record_accept_supersede_and_browse(browser: Browser, live_server: LiveServer) -> None:
    _seed(live_server)
    page = new_page(browser, live_server, "fran")
    page.goto(f"{live_server.url}/decisions/new")
    page.fill("input[name=title]", "Triage demand weekly in the BRM forum")
    page.fill(
        "textarea[name=context]",
        "Requests wait **weeks** before anyone looks at them; business units escalate.",
    )
    page.fill("textarea[name=drivers]", "- time to first answer\n- fairness between units")
    names = page.locator("input[name=option_name]")
    pros = page.locator("textarea[name=option_pros]")
    cons = page.locator("textarea[name=option_cons]")
    names.nth(0).fill("Weekly BRM triage")
    pros.nth(0).fill("Answer within a week; one forum sees all demand")
    cons.nth(0).fill("A standing meeting for the BRMs")
    names.nth(1).fill("Monthly portfolio board")
    pros.nth(1).fill("Fits the budget cycle")
    cons.nth(1).fill("Requests wait up to a month; **why not** this: too slow")
    names.nth(2).fill("First come, first served")
    cons.nth(2).fill("Loudest wins")
    page.fill("input[name=chosen_option]", "Weekly BRM triage")
    page.fill("textarea[name=rationale]", "Speed of a first answer mattered most to the units.")
    page.fill("textarea[name=consequences]", "BRMs block Tuesday mornings.")
    page.fill("input[name=deciders]", "fran, ada")
    page.fill("input[name=consulted]", "alice")
    page.fill("input[name=tags]", "intake, triage")
    page.fill("textarea[name=pages]", "core-processes/r2v#h-triage")
    page.fill("input[name=supersedes]", "DEC-0003")
    page.click("button[value=proposed]")
    # DEC-0003 is a draft: superseding it is refused with a clear message, the text kept
    assert "only an accepted or deprecated" in page.locator(".notice-danger").inner_text()
    assert page.input_value("input[name=title]") == "Triage demand weekly in the BRM forum"
    _shot(page, "decision-form-refused")
    page.fill("input[name=supersedes]", "DEC-0002")
    page.click("button[value=proposed]")
    page.wait_for_url("**/decisions/DEC-0004")
    page.click("form[action='/decisions/DEC-0004/status'] button:has-text('Accept')")
    page.wait_for_load_state()
    assert "accepted" in page.locator(".dec-facts").inner_text().lower()
    _shot(page, "decision-record")

    page.goto(f"{live_server.url}/decisions")
    assert page.locator(".dec-row").count() == 4
    _shot(page, "decision-log")
    page.select_option("select[name=status]", "accepted")
    expect(page.locator(".dec-row")).to_have_count(2)
    page.goto(f"{live_server.url}/decisions/current/DEC-0002")
    assert "This is the decision in force" in page.locator(".notice").first.inner_text()
    _shot(page, "decision-current-answer")

    page.goto(f"{live_server.url}/wiki/core-processes/r2v")
    assert "DEC-0004" in page.locator(".dec-governing").inner_text()
    _shot(page, "page-governed")
    page.goto(f"{live_server.url}/edit/core-processes/r2v")
    assert "governed by" in page.locator(".dec-governed-notice").inner_text()
    assert page.js_errors == []  # type: ignore[attr-defined]
