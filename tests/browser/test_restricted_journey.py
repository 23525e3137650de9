"""Restricted subtrees in a real browser: an admin makes a group with bob and restricts the HR
subtree to it; alice (not in the group) sees it neither in the tree nor by its address, bob
does, with the "Restricted" note. Screenshots go to ATRIUM_SCREENSHOTS when set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.db import make_engine, open_session
from app.pages import service as pages
from app.pages.schemas import PageEdit
from tests.browser.conftest import LiveServer, new_page
from tests.factories import make_user

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("ATRIUM_SCREENSHOTS")


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def server(live_server: LiveServer) -> LiveServer:
    settings = live_server.settings
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        make_user(session, username="ada", role=Role.admin)
        system = accounts.system_actor()
        for slug, title in (
            ("home", "Home"),
            ("hr", "People team"),
            ("hr/salary-bands", "Salary bands 2027"),
            ("operations", "Operations"),
        ):
            edit = PageEdit(title=title, body=f"# {title}\n\nAbout {title.lower()}.\n")
            pages.save_page(session=session, slug=slug, edit=edit, author=system)
    engine.dispose()
    return live_server


def test_an_admin_restricts_a_subtree_to_a_group(browser: Browser, server: LiveServer) -> None:
    admin = new_page(browser, server, "ada")
    admin.goto(f"{server.url}/admin/users")
    admin.get_by_role("navigation", name="Administration").get_by_role(
        "link", name="Groups & access"
    ).click()
    expect(admin.get_by_role("heading", name="Groups & access")).to_be_visible()

    admin.get_by_label("Group name").fill("HR")
    admin.get_by_label("Description").fill("The people team")
    admin.get_by_role("button", name="Create group").click()
    expect(admin.get_by_text("Group created.")).to_be_visible()
    admin.get_by_label("Username to add to HR").fill("bob")
    admin.get_by_role("button", name="Add", exact=True).click()
    expect(admin.get_by_text("Member added.")).to_be_visible()

    admin.get_by_label("Subtree root").fill("hr")
    admin.get_by_label("Note").fill("Salaries and reviews")
    admin.get_by_role("button", name="Restrict subtree").click()
    expect(admin.get_by_text("Subtree restricted.")).to_be_visible()
    row = admin.locator("#access-panels tr", has_text="Salaries and reviews")
    row.get_by_label("Access").select_option("edit")
    row.get_by_role("button", name="Grant").click()
    expect(admin.get_by_text("Access granted.")).to_be_visible()
    expect(admin.locator(".ac-grant", has_text="HR")).to_contain_text("edit")
    # a mistake is explained where it was made
    admin.get_by_label("Group name").fill("hr")
    admin.get_by_role("button", name="Create group").click()
    expect(admin.get_by_text("There is already a group called 'hr'.")).to_be_visible()
    _shot(admin, "access-admin")

    alice = new_page(browser, server, "alice")
    alice.goto(f"{server.url}/special/tree")
    expect(alice.get_by_role("link", name="Operations")).to_be_visible()
    expect(alice.get_by_text("People team")).to_have_count(0)
    response = alice.goto(f"{server.url}/wiki/hr/salary-bands")
    assert response is not None
    assert response.status == 404
    expect(alice.get_by_text("Salary bands 2027")).to_have_count(0)

    bob = new_page(browser, server, "bob")
    bob.goto(f"{server.url}/special/tree")
    expect(bob.get_by_role("link", name="People team")).to_be_visible()
    bob.goto(f"{server.url}/wiki/hr/salary-bands")
    expect(bob.locator("h1.page-title")).to_have_text("Salary bands 2027")
    expect(bob.get_by_text("Restricted: readable by HR")).to_be_visible()
    expect(bob.locator(".action-bar").get_by_role("link", name="Edit")).to_be_visible()
    _shot(bob, "access-restricted-page")

    # the refused duplicate (409, its explanation swapped in by htmx) is the only error answer
    assert [e for e in admin.js_errors if not e.startswith("409 ")] == []  # type: ignore[attr-defined]
    for page in (alice, bob):
        assert page.js_errors == []  # type: ignore[attr-defined]
