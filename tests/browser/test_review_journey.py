"""A page passes its review date: the periodic check runs, its owner (alice) signs in, her inbox
shows the review reminder, the page says "Review overdue since …", the review list puts it
first, and marking it reviewed clears the banner and shows in the page's history. Screenshots go
to ATRIUM_SCREENSHOTS (when set) for a human to look at."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from app.accounts import service as accounts
from app.core.db import begin_write, make_engine, open_session
from app.pages import service as pages
from app.reviews import reminders, service
from app.reviews.models import PageStewardship
from app.reviews.schemas import StewardshipUpdate
from tests.browser.conftest import LiveServer, new_page
from tests.factories import make_page

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("ATRIUM_SCREENSHOTS")
SLUG = "core-processes/incident-management"
OVERDUE_DAYS = 10


def _shot(target: Page | Locator, name: str, *, full_page: bool = True) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        path = str(Path(SHOTS) / f"{name}.png")
        if isinstance(target, Page):
            target.screenshot(path=path, full_page=full_page)
        else:
            target.screenshot(path=path)


def _seed_and_check(server: LiveServer) -> int:
    """Alice owns a page whose review date passed (written directly: the UI refuses past
    dates), plus two pages due later; then the periodic check runs once."""
    settings = server.settings
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        alice = accounts.get_user(session=session, username="alice")
        body = "## Escalation\n\nP1 incidents page the on-call engineer.\n"
        for slug, title, owners, days in [
            (SLUG, "Incident management", ["alice", "bob"], 30),
            ("core-processes/change-enablement", "Change enablement", ["bob"], 12),
            ("guides/onboarding", "Onboarding", ["alice"], 75),
        ]:
            make_page(session, slug=slug, title=title, body=body, author=alice)
            service.set_stewardship(
                session=session,
                slug=slug,
                data=StewardshipUpdate(
                    owners=owners,
                    status="approved",
                    review_by=service.today() + timedelta(days=days),
                ),
                user=alice,
            )
        found = pages.find_page(session=session, slug=SLUG)
        assert found is not None
        page_id = found.id
        begin_write(session)
        row = session.get(PageStewardship, page_id)
        assert row is not None
        row.review_by = service.today() - timedelta(days=OVERDUE_DAYS)
        session.add(row)
        session.commit()
    due = reminders.run_once(engine, settings)
    engine.dispose()
    return due


def test_owner_hears_of_the_overdue_review_and_marks_it_reviewed(
    browser: Browser, live_server: LiveServer
) -> None:
    assert _seed_and_check(live_server) == 1
    page = new_page(browser, live_server, "alice")
    overdue = (service.today() - timedelta(days=OVERDUE_DAYS)).strftime("%d %b %Y")

    # her inbox shows the reminder, and it leads to the page
    page.goto(f"{live_server.url}/inbox")
    item = page.locator(".inbox-item").filter(has_text="a page you own is due for review")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Incident management")
    _shot(page, "review-inbox", full_page=False)
    page.click("a.inbox-page-link:has-text('Incident management')")
    page.wait_for_url(f"**/wiki/{SLUG}")

    # the page says so, with its owners and status
    banner = page.locator(".review-overdue")
    expect(banner).to_contain_text(f"Review overdue since {overdue}")
    box = page.locator("#review-status")
    expect(box).to_contain_text("Needs review")
    expect(box).to_contain_text("Alice, Bob")
    _shot(page, "review-page-overdue", full_page=False)

    # the review list puts it first
    page.click("nav.topnav a:has-text('Reviews')")
    page.wait_for_url("**/reviews")
    rows = page.locator(".review-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Incident management")
    expect(rows.first).to_contain_text(f"overdue by {OVERDUE_DAYS} days")
    expect(page.locator("#review-results")).to_contain_text("1 overdue")
    _shot(page, "review-list")
    # filtered by owner and subtree (htmx swaps the results)
    page.fill("input[name=owner]", "bob")
    page.fill("input[name=under]", "core-processes")
    page.press("input[name=under]", "Enter")
    expect(rows).to_have_count(2)
    expect(page.locator("#review-results")).not_to_contain_text("Onboarding")
    _shot(page, "review-list-filtered")

    # the stewardship form refuses an unknown owner with a clear message and keeps the input
    page.goto(f"{live_server.url}/wiki/{SLUG}")
    page.click("#review-status a:has-text('Owners and review')")
    page.wait_for_url(f"**/stewardship/{SLUG}")
    page.fill("input[name=owners]", "alice, bob, ghost")
    page.click("form[action^='/stewardship/'] button[type=submit]")
    expect(page.locator(".notice-danger")).to_contain_text("There is no active user 'ghost'")
    expect(page.locator("input[name=owners]")).to_have_value("alice, bob, ghost")
    _shot(page, "review-form-refused")

    # marking it reviewed clears the banner and goes into the page's history
    page.goto(f"{live_server.url}/wiki/{SLUG}")
    banner.get_by_role("button", name="Mark reviewed").click()
    page.wait_for_load_state()
    expect(page.locator(".review-overdue")).to_have_count(0)
    expect(box).to_contain_text("Approved")
    expect(box).to_contain_text("Last reviewed")
    next_date = service.add_months(service.today(), 12).strftime("%d %b %Y")
    expect(box).to_contain_text(next_date)
    _shot(box, "review-status-box")
    page.goto(f"{live_server.url}/history/{SLUG}")
    history = page.locator(".timeline-stewardship")
    expect(history.first).to_contain_text("Marked reviewed")
    expect(page.locator(".timeline-stewardship").filter(has_text="review due")).to_contain_text(
        "owners notified: alice, bob"
    )
    _shot(page, "review-history")
    assert page.js_errors == []  # type: ignore[attr-defined]
