"""Single sign-on in a real browser: the button, the stub provider, and back signed in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.accounts.models import Role
from app.core.db import make_engine, open_session
from tests.browser.conftest import LiveServer, new_page
from tests.factories import make_user
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, StubProvider, running_provider

SHOTS = Path(os.environ.get("ATRIUM_SHOTS", "/tmp/shots"))


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


@pytest.fixture
def provider() -> Iterator[StubProvider]:
    # any redirect_uri: the live server's port is chosen after the provider starts
    with running_provider() as stub:
        yield stub


@pytest.fixture
def live_server_env(provider: StubProvider) -> dict[str, str]:
    return {
        "ATRIUM_OIDC_ISSUER": provider.url,
        "ATRIUM_OIDC_CLIENT_ID": CLIENT_ID,
        "ATRIUM_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "ATRIUM_OIDC_PROVIDER_NAME": "Company SSO",
    }


def test_sign_in_with_the_company_provider(
    browser: Browser, live_server: LiveServer, provider: StubProvider
) -> None:
    page = new_page(browser, live_server)
    page.goto(f"{live_server.url}/login?next=/account")
    button = page.get_by_role("link", name="Sign in with Company SSO")
    expect(button).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()  # the password form stays
    _shot(page, "sso-login.png")
    button.click()
    page.wait_for_url(f"{live_server.url}/account")
    expect(page.get_by_text("Carol Stub").first).to_be_visible()
    assert provider.token_requests == 1
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_refusal_at_the_provider_is_shown_on_the_sign_in_page(
    browser: Browser, live_server: LiveServer, provider: StubProvider
) -> None:
    provider.deny = "access_denied"
    page = new_page(browser, live_server)
    page.goto(f"{live_server.url}/login")
    page.get_by_role("link", name="Sign in with Company SSO").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Company SSO did not sign you in: The user said no"
    )
    expect(page.get_by_role("heading", name="Sign in to Atrium")).to_be_visible()
    _shot(page, "sso-refused.png")


def test_admin_sees_single_sign_on_accounts(browser: Browser, live_server: LiveServer) -> None:
    settings = live_server.settings
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        make_user(session, username="root", role=Role.admin)
    engine.dispose()
    carol = new_page(browser, live_server)
    carol.goto(f"{live_server.url}/login")
    carol.get_by_role("link", name="Sign in with Company SSO").click()
    carol.wait_for_url(f"{live_server.url}/**")
    admin = new_page(browser, live_server, "root")
    admin.goto(f"{live_server.url}/admin/users")
    row = admin.locator("tr", has_text="carol")
    expect(row.locator(".badge", has_text="SSO")).to_be_visible()
    expect(row.get_by_label("Role of carol")).to_have_value("reader")
    _shot(admin, "sso-admin-users.png")
