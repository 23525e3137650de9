"""Single sign-on through HTTP, against a stub OpenID provider on a loopback port.

TestClient follows redirects only inside the app, so each test walks the flow by hand: Atrium
sends the browser to the provider, httpx plays the browser at the provider, and the provider's
redirect back (code and state) is fed to the app's callback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import LoginSession, Role, User
from app.audit.models import AuditEntry
from app.core.config import Settings
from app.core.security import SESSION_COOKIE, csrf_token
from app.main import create_app
from app.sso.models import SsoLink
from tests.factories import PASSWORD, csrf_from, login, make_user
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, StubProvider, running_provider

CALLBACK = "http://testserver/login/oidc/callback"


@pytest.fixture
def provider() -> Iterator[StubProvider]:
    with running_provider(redirect_uri=CALLBACK) as stub:
        yield stub


def sso_settings(settings: Settings, issuer: str, **extra: object) -> Settings:
    return Settings.model_validate(
        settings.model_dump()
        | {
            "oidc_issuer": issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
            "oidc_provider_name": "Company SSO",
            "base_url": "http://testserver",
            **extra,
        }
    )


@pytest.fixture
def sso(settings: Settings, provider: StubProvider) -> Iterator[TestClient]:
    with TestClient(create_app(sso_settings(settings, provider.url))) as c:
        yield c


def to_provider(client: TestClient, next: str = "/") -> str:
    """Start a sign-in; the provider's authorization URL Atrium sends the browser to."""
    start = client.get("/login/oidc", params={"next": next}, follow_redirects=False)
    assert start.status_code == 303, start.text
    return start.headers["location"]


def back_from_provider(url: str) -> str:
    """The browser at the provider: the path and query it is sent back to Atrium with."""
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return f"{back.path}?{back.query}"


def sign_in(client: TestClient, next: str = "/") -> httpx.Response:
    """The whole flow; the app's answer to the callback."""
    return client.get(back_from_provider(to_provider(client, next)), follow_redirects=False)


def audit(session: Session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)))


def user(session: Session, username: str) -> User:
    session.expire_all()
    return accounts.get_user(session=session, username=username)


# --- off unless configured ------------------------------------------------------------------


def test_off_without_an_issuer(client: TestClient) -> None:
    assert client.get("/login/oidc", follow_redirects=False).status_code == 404
    assert client.get("/login/oidc/callback?code=x&state=y").status_code == 404
    page = client.get("/login")
    assert page.status_code == 200
    assert "Sign in with" not in page.text
    assert 'name="password"' in page.text


def test_login_page_offers_the_provider(sso: TestClient) -> None:
    page = sso.get("/login?next=/wiki/home")
    assert "Sign in with Company SSO" in page.text
    assert 'href="/login/oidc?next=/wiki/home"' in page.text
    assert 'name="password"' in page.text  # both ways, unless ATRIUM_OIDC_ONLY


# --- the flow -------------------------------------------------------------------------------


def test_authorization_request_uses_pkce_state_and_nonce(
    sso: TestClient, provider: StubProvider
) -> None:
    url = to_provider(sso, "/wiki/home")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert url.startswith(f"{provider.url}/authorize?")
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == CALLBACK
    assert query["scope"] == "openid email profile"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32
    assert len(query["nonce"]) >= 32
    flow = sso.cookies.get("atrium_oidc")
    assert flow  # the verifier is kept for the callback, and never sent to the provider
    assert "code_verifier" not in query


def test_first_sign_in_creates_an_account(
    sso: TestClient, session: Session, provider: StubProvider
) -> None:
    done = sign_in(sso, "/wiki/home")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/wiki/home"
    cookie = done.headers["set-cookie"]
    assert "atrium_session=" in cookie
    assert "HttpOnly" in cookie
    assert "atrium_oidc=" in cookie  # the flow cookie is cleared
    assert "Carol Stub" in sso.get("/account").text
    carol = user(session, "carol")
    assert carol.role == Role.reader  # ATRIUM_OIDC_DEFAULT_ROLE
    assert carol.email == "carol@example.com"
    assert carol.password_hash == ""  # no password sign-in for this account
    link = session.exec(select(SsoLink)).one()
    assert (link.issuer, link.subject, link.user_id) == (provider.url, "stub-user-1", carol.id)
    [created] = audit(session, "user.created")
    assert created.details["via"] == "single sign-on"
    [signed_in] = audit(session, "user.signed_in")
    assert signed_in.actor_id == carol.id
    assert signed_in.details["via"] == "single sign-on"
    assert signed_in.details["provider"] == "Company SSO"


def test_next_sign_in_finds_the_link_not_the_email(
    sso: TestClient, session: Session, provider: StubProvider
) -> None:
    assert sign_in(sso).status_code == 303
    provider.user |= {"email": "carol.new@example.com", "preferred_username": "someone"}
    again = TestClient(sso.app)
    assert sign_in(again).status_code == 303
    session.expire_all()
    assert len(accounts.list_users(session=session)) == 1
    assert session.exec(select(SsoLink)).one().email == "carol.new@example.com"


def test_links_an_existing_account_by_verified_email(sso: TestClient, session: Session) -> None:
    alice = make_user(session, username="alice")
    alice.email = "Carol@Example.com"
    session.add(alice)
    session.commit()
    assert sign_in(sso).status_code == 303
    assert "Alice" in sso.get("/account").text
    assert [u.username for u in accounts.list_users(session=session)] == ["alice"]
    [linked] = audit(session, "user.sso_linked")
    assert linked.target == "alice"
    # her password still works too
    assert login(TestClient(sso.app), "alice")


def test_unverified_email_never_links(
    sso: TestClient, session: Session, provider: StubProvider
) -> None:
    alice = make_user(session, username="alice")
    alice.email = "carol@example.com"
    session.add(alice)
    session.commit()
    provider.user["email_verified"] = False
    assert sign_in(sso).status_code == 303
    assert "Carol Stub" in sso.get("/account").text  # a new account, not alice's
    assert user(session, "carol").email is None
    assert audit(session, "user.sso_linked") == []


def test_username_collision_gets_a_free_one(sso: TestClient, session: Session) -> None:
    make_user(session, username="carol")
    assert sign_in(sso).status_code == 303
    assert "carol-2" in sso.get("/account").text


def test_no_account_is_created_when_creation_is_off(
    settings: Settings, provider: StubProvider, session: Session
) -> None:
    app = create_app(sso_settings(settings, provider.url, oidc_allow_create=False))
    with TestClient(app) as client:
        refused = sign_in(client)
    assert refused.status_code == 401
    assert "There is no Atrium account for you yet" in refused.text
    assert "Sign in to Atrium" in refused.text  # the sign-in page, with the message
    assert SESSION_COOKIE not in client.cookies
    assert accounts.list_users(session=session) == []
    [failed] = audit(session, "user.sign_in_failed")
    assert failed.details["via"] == "single sign-on"


def test_disabled_account_is_refused(sso: TestClient, session: Session) -> None:
    admin = make_user(session, username="root", role=Role.admin)
    assert sign_in(sso).status_code == 303
    accounts.set_active(session=session, actor=admin, username="carol", active=False)
    again = TestClient(sso.app)
    refused = sign_in(again)
    assert refused.status_code == 401
    assert "Your Atrium account is disabled" in refused.text
    assert SESSION_COOKIE not in again.cookies
    assert audit(session, "user.sign_in_failed")[0].details["reason"] == "account disabled"


def test_disabled_account_is_not_linked_by_email(sso: TestClient, session: Session) -> None:
    admin = make_user(session, username="root", role=Role.admin)
    alice = make_user(session, username="alice")
    alice.email = "carol@example.com"
    session.add(alice)
    session.commit()
    accounts.set_active(session=session, actor=admin, username="alice", active=False)
    assert sign_in(sso).status_code == 401
    session.expire_all()
    assert session.exec(select(SsoLink)).all() == []


def test_sign_in_rotates_the_session_id(sso: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    login(sso, "alice")
    before = sso.cookies[SESSION_COOKIE]
    assert sign_in(sso).status_code == 303
    after = sso.cookies[SESSION_COOKIE]
    assert after != before
    session.expire_all()
    assert len(session.exec(select(LoginSession)).all()) == 1  # alice's planted one is gone
    assert "Carol Stub" in sso.get("/account").text


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "x"],
)
def test_next_never_leaves_the_site(sso: TestClient, target: str) -> None:
    done = sign_in(sso, target)
    assert done.status_code == 303
    assert done.headers["location"] == "/"


# --- what must not sign anyone in -----------------------------------------------------------


def test_state_mismatch_is_refused(sso: TestClient, session: Session) -> None:
    back = back_from_provider(to_provider(sso))
    forged = back.replace("state=", "state=x")
    refused = sso.get(forged, follow_redirects=False)
    assert refused.status_code == 401
    assert "its state does not match" in refused.text
    assert SESSION_COOKIE not in sso.cookies
    assert accounts.list_users(session=session) == []
    assert audit(session, "user.sign_in_failed")


def test_callback_from_another_browser_is_refused(sso: TestClient) -> None:
    """Login CSRF: a callback URL made for one browser does not sign another one in."""
    back = back_from_provider(to_provider(sso))
    victim = TestClient(sso.app)
    refused = victim.get(back, follow_redirects=False)
    assert refused.status_code == 401
    assert "expired or was started in another browser" in refused.text


def test_callback_cannot_be_replayed(sso: TestClient) -> None:
    back = back_from_provider(to_provider(sso))
    assert sso.get(back, follow_redirects=False).status_code == 303
    replay = sso.get(back, follow_redirects=False)  # the flow cookie is gone; the code used
    assert replay.status_code == 401


def test_tampered_flow_cookie_is_refused(sso: TestClient) -> None:
    back = back_from_provider(to_provider(sso))
    value = sso.cookies["atrium_oidc"]
    sso.cookies.clear()
    sso.cookies.set("atrium_oidc", "e30" + value[3:], path="/login/oidc")
    assert sso.get(back, follow_redirects=False).status_code == 401


def test_provider_error_is_shown(sso: TestClient, provider: StubProvider) -> None:
    provider.deny = "access_denied"
    refused = sign_in(sso)
    assert refused.status_code == 401
    assert "Company SSO did not sign you in: The user said no" in refused.text


def test_error_description_is_escaped(sso: TestClient) -> None:
    url = to_provider(sso)
    state = parse_qs(urlsplit(url).query)["state"][0]
    refused = sso.get(
        "/login/oidc/callback",
        params={"state": state, "error": "x", "error_description": "<script>alert(1)</script>"},
    )
    assert refused.status_code == 401
    assert "<script>alert(1)" not in refused.text
    assert "&lt;script&gt;" in refused.text


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "another-client"}, "aud"),
        ({"iss": "http://127.0.0.1:1/other"}, "iss"),
        ({"nonce": "not-the-nonce"}, "nonce"),
        ({"exp": 1_000_000}, "exp"),
    ],
)
def test_bad_id_token_is_refused(
    sso: TestClient,
    session: Session,
    provider: StubProvider,
    claims: dict[str, object],
    reason: str,
) -> None:
    provider.claims = claims
    refused = sign_in(sso)
    assert refused.status_code == 401
    assert f"sign-in token is not valid ({reason})" in refused.text
    assert SESSION_COOKIE not in sso.cookies
    assert accounts.list_users(session=session) == []


def test_token_signed_by_another_key_is_refused(sso: TestClient, provider: StubProvider) -> None:
    from tests.oidc_provider import new_key

    provider.published = provider.key
    provider.key = new_key()  # same key id, a key the provider does not publish
    refused = sign_in(sso)
    assert refused.status_code == 401
    assert "bad signature" in refused.text


def test_provider_down_is_a_clear_error(settings: Settings) -> None:
    from tests.oidc_provider import free_port

    app = create_app(sso_settings(settings, f"http://127.0.0.1:{free_port()}"))
    with TestClient(app) as client:
        page = client.get("/login/oidc", follow_redirects=False)
        assert page.status_code == 502
        assert "could not be reached" in page.text
        assert "Sign in to Atrium" in page.text


def test_provider_going_down_mid_flow_is_a_clear_error(
    settings: Settings, session: Session
) -> None:
    with running_provider(redirect_uri=CALLBACK) as stub:
        app = create_app(sso_settings(settings, stub.url))
        client = TestClient(app)
        back = back_from_provider(to_provider(client))
    answer = client.get(back, follow_redirects=False)  # the token endpoint is gone now
    assert answer.status_code == 502
    assert "could not be reached" in answer.text
    assert audit(session, "user.sign_in_failed")


# --- settings -------------------------------------------------------------------------------


def test_sso_only_hides_and_refuses_passwords(
    settings: Settings, provider: StubProvider, session: Session
) -> None:
    make_user(session, username="alice")
    app = create_app(sso_settings(settings, provider.url, oidc_only=True))
    with TestClient(app) as client:
        page = client.get("/login")
        assert "Sign in with Company SSO" in page.text
        assert 'name="password"' not in page.text
        assert 'name="csrf_token"' not in page.text  # no form at all
        token = csrf_token("test-secret", client.cookies["atrium_csrf"])
        refused = client.post(
            "/login",
            data={"username": "alice", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert refused.status_code == 401
        assert "Password sign-in is off" in refused.text
        assert (
            client.post(
                "/api/v1/tokens", json={"username": "alice", "password": PASSWORD}
            ).status_code
            == 401
        )
        assert sign_in(client).status_code == 303


def test_private_wiki_still_lets_people_sign_in(settings: Settings, provider: StubProvider) -> None:
    app = create_app(sso_settings(settings, provider.url, public_read=False))
    with TestClient(app) as client:
        assert client.get("/wiki/home", follow_redirects=False).status_code == 401
        assert sign_in(client, "/wiki/home").status_code == 303


def test_admins_see_who_uses_single_sign_on(sso: TestClient, session: Session) -> None:
    make_user(session, username="root", role=Role.admin)
    assert sign_in(sso).status_code == 303
    admin = TestClient(sso.app)
    login(admin, "root")
    page = admin.get("/admin/users")
    assert page.status_code == 200
    assert '<strong>carol</strong> <span class="badge badge-edit"' in page.text
    assert "<strong>root</strong></td>" in page.text  # no badge: signs in with a password


def test_settings_need_client_credentials(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ATRIUM_OIDC_CLIENT_ID"):
        Settings(data_dir=tmp_path, oidc_issuer="https://id.example")


def test_sso_user_cannot_use_a_password(sso: TestClient, session: Session) -> None:
    assert sign_in(sso).status_code == 303
    other = TestClient(sso.app)
    token = csrf_from(other.get("/login").text)
    refused = other.post(
        "/login",
        data={"username": "carol", "password": "anything-at-all", "csrf_token": token},
        follow_redirects=False,
    )
    assert refused.status_code == 401  # an empty hash matches no password
    assert user(session, "carol").password_hash == ""
