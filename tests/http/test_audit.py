"""The audit log screen, its CSV export and its API: admins only, filters, safe CSV."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from tests.factories import csrf_from, login, make_user


def _activity(client: TestClient, session: Session) -> str:
    """Alice fails once, signs in and edits a page; root signs in. Returns root's CSRF token."""
    make_user(session, username="root", role=Role.admin)
    make_user(session, username="alice")
    token = csrf_from(client.get("/login").text)
    client.post(
        "/login",
        data={"username": "alice", "password": "=cmd|' /C calc'!A0", "csrf_token": token},
    )
    csrf = login(client, "alice")
    created = client.post(
        "/edit/core/r2v",
        data={
            "base": "0",
            "title": "R2V",
            "body": "Hello\n",
            "tags_text": "",
            "summary": "",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    client.post("/logout", data={"csrf_token": csrf})
    return login(client, "root")


def test_only_admins_see_the_audit_log(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    make_user(session, username="root", role=Role.admin)
    assert client.get("/admin/audit").status_code == 401
    assert client.get("/admin/audit.csv").status_code == 401
    assert client.get("/api/v1/audit").status_code == 401
    csrf = login(client, "alice")
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
    assert "/admin/users" not in client.get("/").text
    _, token = accounts.create_token(session=session, username="alice")
    api = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 403
    assert api.json()["detail"] == "Only administrators may read the audit log."
    client.post("/logout", data={"csrf_token": csrf})
    login(client, "root")
    # the header's Admin link leads to the users screen, whose tabs lead to the audit log
    assert 'href="/admin/users"' in client.get("/").text
    assert 'href="/admin/audit"' in client.get("/admin/users").text
    assert client.get("/admin/audit").status_code == 200


def test_the_screen_shows_sign_ins_failures_and_edits(client: TestClient, session: Session) -> None:
    _activity(client, session)
    screen = client.get("/admin/audit")
    assert screen.status_code == 200
    text = screen.text
    for label in ("Signed in", "Failed sign-in", "Signed out", "Page saved", "core/r2v"):
        assert label in text, label
    assert "testclient" in text  # the client address
    # filters: actor, action family, target text; as a fragment for htmx
    only = client.get("/admin/audit?actor=alice&action=page", headers={"HX-Request": "true"})
    assert "<html" not in only.text
    assert "1 entry" in only.text
    assert "core/r2v" in only.text
    assert "Signed in" not in only.text
    none = client.get("/admin/audit?target=nothing-like-this")
    assert "No entries match." in none.text
    dated = client.get("/admin/audit?since=2000-01-01&until=2000-12-31")
    assert "0 entries" in dated.text
    assert client.get("/admin/audit?since=not-a-date").status_code == 422


def test_csv_export_is_filtered_and_safe(client: TestClient, session: Session) -> None:
    _activity(client, session)
    exported = client.get("/admin/audit.csv?action=user.sign_in_failed")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["time", "actor_id", "actor", "action", "target", "address", "details"]
    assert [(r[2], r[3], r[5]) for r in rows[1:]] == [
        ("alice", "user.sign_in_failed", "testclient")
    ]
    everything = list(csv.reader(io.StringIO(client.get("/admin/audit.csv").text)))
    actions = [r[3] for r in everything[1:]]
    assert actions.count("user.signed_in") == 2
    assert "page.saved" in actions
    # the screen links the export of what it shows
    assert "/admin/audit.csv?actor=alice" in client.get("/admin/audit?actor=alice").text


def test_csv_cells_that_look_like_formulas_are_defused(
    client: TestClient, session: Session
) -> None:
    make_user(session, username="root", role=Role.admin)
    token = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": "=HYPERLINK(1)", "password": "x", "csrf_token": token})
    client.post("/login", data={"username": "@SUM(1)", "password": "x", "csrf_token": token})
    login(client, "root")
    rows = list(csv.reader(io.StringIO(client.get("/admin/audit.csv").text)))
    targets = [r[4] for r in rows[1:] if r[3] == "user.sign_in_failed"]
    assert targets == ["'=hyperlink(1)", "'@sum(1)"]


def test_the_api_has_the_same_filters(client: TestClient, session: Session) -> None:
    _activity(client, session)
    _, token = accounts.create_token(session=session, username="root")
    auth = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/audit?actor=alice&action=user", headers=auth).json()
    assert [e["action"] for e in body["entries"]] == [
        "user.signed_out",
        "user.signed_in",
        "user.sign_in_failed",
    ]
    assert body["total"] == 3
    failed = body["entries"][-1]
    assert (failed["actor"], failed["actor_id"], failed["address"]) == ("alice", None, "testclient")
    pages = client.get("/api/v1/audit?target=core/r2v", headers=auth).json()
    assert [e["action"] for e in pages["entries"]] == ["page.saved"]
    assert pages["entries"][0]["details"]["slug"] == "core/r2v"
    # domain events learn the client address from the request, not from the service
    assert pages["entries"][0]["address"] == "testclient"
    assert pages["entries"][0]["actor"] == "alice"
    # the token's own use is in the log too (once, not per request)
    used = client.get("/api/v1/audit?action=token.used", headers=auth).json()
    assert used["total"] == 1
