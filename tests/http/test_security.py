"""Sign-in hardening through HTTP: throttling, cookies, sessions, token scopes and expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts import tokens
from app.accounts.models import Role, TokenScope
from app.core.config import Settings
from app.core.time import utcnow
from app.main import create_app
from tests.factories import PASSWORD, csrf_from, login, make_page, make_user

THROTTLED = "Too many failed sign-ins; try again in 15 minutes."


def _try(client: TestClient, username: str, password: str) -> httpx.Response:
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "next": "/", "csrf_token": token},
        follow_redirects=False,
    )


def test_login_is_throttled_with_a_clear_message(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    for _ in range(5):
        bad = _try(client, "alice", "wrong-password-x")
        assert bad.status_code == 401
    refused = _try(client, "alice", PASSWORD)
    assert refused.status_code == 429
    assert THROTTLED in refused.text
    assert 800 < int(refused.headers["retry-after"]) <= 900
    assert "atrium_session" not in client.cookies


def test_token_api_is_throttled_with_a_problem(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    for _ in range(5):
        bad = client.post("/api/v1/tokens", json={"username": "alice", "password": "nope"})
        assert bad.status_code == 401
        assert bad.json()["detail"] == "Unknown username or wrong password."
    refused = client.post("/api/v1/tokens", json={"username": "alice", "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["detail"] == THROTTLED
    assert int(refused.headers["retry-after"]) > 0


def test_session_cookie_flags(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "atrium_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in tests


def test_secure_cookies_when_configured(settings: Settings, session: Session) -> None:
    make_user(session, username="alice")
    with TestClient(create_app(settings.model_copy(update={"cookie_secure": True}))) as c:
        token = csrf_from(c.get("/login").text)
        response = c.post(
            "/login",
            data={"username": "alice", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert "secure" in response.headers["set-cookie"].lower()


def _token(session: Session, scope: TokenScope, days: int | None = None) -> dict[str, str]:
    _, token = accounts.create_token(session=session, username="alice", scope=scope, days=days)
    return {"Authorization": f"Bearer {token}"}


def test_a_read_token_reads_but_cannot_write(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    make_page(session, slug="r2v", title="R2V", body="x\n")
    read = _token(session, TokenScope.read)
    assert client.get("/api/v1/pages/r2v", headers=read).status_code == 200
    refused = client.post(
        "/api/v1/pages", json={"slug": "new", "title": "New", "body": "y"}, headers=read
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "only has the read scope" in refused.json()["detail"]
    assert client.get("/api/v1/pages/new").status_code == 404
    write = _token(session, TokenScope.write)
    made = client.post(
        "/api/v1/pages", json={"slug": "new", "title": "New", "body": "y"}, headers=write
    )
    assert made.status_code == 201


def test_an_expired_token_is_refused_with_401(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(session, username="alice")
    auth = _token(session, TokenScope.write, days=1)
    assert client.get("/api/v1/tokens", headers=auth).status_code == 200
    later = utcnow() + timedelta(days=2)
    monkeypatch.setattr(tokens, "utcnow", lambda: later)
    expired = client.get("/api/v1/tokens", headers=auth)
    assert expired.status_code == 401
    assert "expired on" in expired.json()["detail"]


def test_tokens_through_the_api(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    made = client.post(
        "/api/v1/tokens",
        json={
            "username": "alice",
            "password": PASSWORD,
            "name": "ci",
            "scope": "read",
            "days": 30,
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["scopes"] == ["read"]
    assert body["expires_at"]
    auth = {"Authorization": f"Bearer {body['token']}"}
    listed = client.get("/api/v1/tokens", headers=auth).json()
    assert [(t["name"], t["scopes"]) for t in listed] == [("ci", ["read"])]
    assert listed[0]["last_used_at"] is not None
    # revoking is a write: a read token cannot even revoke itself
    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=auth).status_code == 403
    write = _token(session, TokenScope.write)
    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=write).status_code == 200
    gone = client.get("/api/v1/tokens", headers=auth)
    assert gone.status_code == 401
    assert "revoked" in gone.json()["detail"]


def test_tokens_on_the_account_screen(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    csrf = login(client)
    page = client.get("/account")
    assert page.status_code == 200
    assert "Sign out everywhere" in page.text
    made = client.post(
        "/account/tokens",
        data={"name": "my script", "scope": "read", "days": "30", "csrf_token": csrf},
    )
    assert made.status_code == 200
    assert "shown only once" in made.text
    token = made.text.split('<code class="token-value">')[1].split("<")[0]
    assert token.startswith("atr_")
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tokens", headers=auth).status_code == 200
    listed = accounts.list_tokens(
        session=session, user=accounts.get_user(session=session, username="alice")
    )
    assert listed[0].scopes == "read"
    assert listed[0].expires_at is not None
    never = client.post(
        "/account/tokens",
        data={"name": "forever", "scope": "write", "days": "", "csrf_token": csrf},
    )
    assert never.status_code == 200
    revoked = client.post(
        f"/account/tokens/{listed[0].id}/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert client.get("/api/v1/tokens", headers=auth).status_code == 401
    assert "revoked" in client.get("/account").text


@pytest.fixture
def other_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def test_log_out_everywhere(client: TestClient, other_client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    csrf = login(client)
    login(other_client)
    assert other_client.get("/account").status_code == 200
    done = client.post(
        "/account/logout-everywhere", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    assert other_client.get("/account").status_code == 401
    assert client.get("/account").status_code == 401


def test_an_admin_disables_a_user_who_is_signed_out_at_once(
    client: TestClient, other_client: TestClient, session: Session
) -> None:
    make_user(session, username="root", role=Role.admin)
    make_user(session, username="alice")
    _, token = accounts.create_token(session=session, username="alice")
    auth = {"Authorization": f"Bearer {token}"}
    login(other_client, "alice")
    assert other_client.get("/account").status_code == 200
    csrf = login(client, "root")
    screen = client.get("/admin/users")
    assert screen.status_code == 200
    assert "alice" in screen.text
    done = client.post(
        "/admin/users/alice/active",
        data={"active": "false", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "disabled" in client.get("/admin/users").text
    # the very next request of alice's browser is anonymous, her token refused
    assert other_client.get("/account").status_code == 401
    assert "Sign in" in other_client.get("/").text
    assert client.get("/api/v1/tokens", headers=auth).status_code == 401
    refused = _try(other_client, "alice", PASSWORD)
    assert refused.status_code == 401
    client.post("/admin/users/alice/active", data={"active": "true", "csrf_token": csrf})
    login(other_client, "alice")
    # roles change on the same screen
    client.post("/admin/users/alice/role", data={"role": "reader", "csrf_token": csrf})
    assert accounts.get_user(session=session, username="alice").role == Role.reader


def test_only_admins_manage_users(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    assert client.get("/admin/users").status_code == 401
    csrf = login(client)
    assert client.get("/admin/users").status_code == 403
    refused = client.post("/admin/users/alice/role", data={"role": "admin", "csrf_token": csrf})
    assert refused.status_code == 403
    assert accounts.get_user(session=session, username="alice").role == Role.editor


def test_changing_the_password_checks_the_rules(
    client: TestClient, other_client: TestClient, session: Session
) -> None:
    make_user(session, username="alice")
    csrf = login(client)
    login(other_client)
    weak = client.post(
        "/account/password", data={"current": PASSWORD, "new": "password123456", "csrf_token": csrf}
    )
    assert weak.status_code == 422
    assert "most commonly used" in weak.text
    done = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "Marmot-Harbour-91", "csrf_token": csrf},
    )
    assert done.status_code == 200
    assert "Password changed" in done.text
    assert client.get("/account").status_code == 200  # this browser stays signed in
    assert other_client.get("/account").status_code == 401  # the others are signed out
