"""The JSON API under /api/v1: same services, problem details on errors."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from tests.factories import make_user

BODY = "## Intro\n\none\n\n## Middle\n\ntwo\n\n## End\n\nthree\n"


def _token(session: Session, username: str = "alice", role: Role = Role.editor) -> dict[str, str]:
    make_user(session, username=username, role=role)
    _, token = accounts.create_token(session=session, username=username)
    return {"Authorization": f"Bearer {token}"}


def test_create_read_update_page(client: TestClient, session: Session) -> None:
    auth = _token(session)
    created = client.post(
        "/api/v1/pages",
        json={"slug": "core-processes/r2v", "title": "R2V", "body": BODY, "tags": ["core"]},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    assert created.json()["revision"]["number"] == 1
    page = client.get("/api/v1/pages/core-processes/r2v").json()
    assert page["title"] == "R2V"
    assert '<h2 id="h-intro">Intro</h2>' in page["html"]
    saved = client.put(
        "/api/v1/pages/core-processes/r2v",
        json={"base": 1, "title": "R2V", "body": BODY + "\nfour\n", "summary": "more"},
        headers=auth,
    )
    assert saved.status_code == 200
    assert saved.json()["revision"]["number"] == 2
    revs = client.get("/api/v1/pages/core-processes/r2v/revisions").json()
    assert [r["number"] for r in revs] == [2, 1]
    assert revs[0]["author"] == "alice"


def test_concurrent_edits_merge_or_409(client: TestClient, session: Session) -> None:
    auth = _token(session)
    client.put("/api/v1/pages/p", json={"base": 0, "title": "P", "body": BODY}, headers=auth)
    one = client.put(
        "/api/v1/pages/p",
        headers=auth,
        json={"base": 1, "title": "P", "body": BODY.replace("one", "ONE")},
    )
    assert one.json()["merged"] is False
    merged = client.put(
        "/api/v1/pages/p",
        headers=auth,
        json={"base": 1, "title": "P", "body": BODY.replace("three", "THREE")},
    )
    assert merged.status_code == 200
    assert merged.json()["merged"] is True
    conflict = client.put(
        "/api/v1/pages/p",
        headers=auth,
        json={"base": 1, "title": "P", "body": BODY.replace("one", "uno")},
    )
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/problem+json"
    problem = conflict.json()
    assert problem["status"] == 409
    assert problem["conflict"]["current"] == 3
    assert "uno" in problem["conflict"]["your_body"]
    assert "ONE" in problem["conflict"]["their_body"]
    assert client.get("/api/v1/pages/p").json()["head"] == 3


def test_diff_revert_move_delete_undelete(client: TestClient, session: Session) -> None:
    auth = _token(session)
    client.put("/api/v1/pages/a", json={"base": 0, "title": "A", "body": "x\ny\n"}, headers=auth)
    client.put("/api/v1/pages/a", json={"base": 1, "title": "A", "body": "x\nz\n"}, headers=auth)
    diff = client.get("/api/v1/pages/a/diff?from=1&to=2").json()
    assert (diff["added"], diff["removed"]) == (1, 1)
    reverted = client.post("/api/v1/pages/a/revert", json={"number": 1}, headers=auth).json()
    assert reverted["revision"]["number"] == 3
    moved = client.post("/api/v1/pages/a/move", json={"new_slug": "b/a"}, headers=auth)
    assert moved.json()["slug"] == "b/a"
    assert client.get("/api/v1/pages/b/a").json()["body"] == "x\ny\n"
    assert client.delete("/api/v1/pages/b/a", headers=auth).status_code == 204
    assert client.get("/api/v1/pages/b/a").status_code == 404
    assert client.post("/api/v1/pages/b/a/undelete", headers=auth).json()["deleted"] is False
    changes = client.get("/api/v1/changes").json()
    assert [c["kind"] for c in changes][:3] == ["undelete", "delete", "move"]


def test_tree_backlinks_orphans_wanted(client: TestClient, session: Session) -> None:
    auth = _token(session)
    client.put(
        "/api/v1/pages/home", json={"title": "Home", "body": "[[Roles/CIO]] [[Nope]]"}, headers=auth
    )
    client.put("/api/v1/pages/roles/cio", json={"title": "CIO", "body": "hi"}, headers=auth)
    client.put("/api/v1/pages/roles/cmo", json={"title": "CMO", "body": "hi"}, headers=auth)
    assert [p["slug"] for p in client.get("/api/v1/pages/roles/cio/backlinks").json()] == ["home"]
    assert [p["slug"] for p in client.get("/api/v1/orphans").json()] == ["roles/cmo"]
    assert client.get("/api/v1/wanted").json() == [{"slug": "nope", "links": 1}]
    tree = client.get("/api/v1/tree").json()
    assert [(n["slug"], n["children"]) for n in tree] == [("home", 0), ("roles", 2)]


def test_errors_are_problem_details_never_500(client: TestClient, session: Session) -> None:
    auth = _token(session)
    cases = [
        client.get("/api/v1/pages/nope"),
        client.get("/api/v1/pages/nope/revisions/abc"),
        client.put("/api/v1/pages/Bad Slug", json={"title": "x", "body": ""}, headers=auth),
        client.put("/api/v1/pages/ok", json={"title": "", "body": ""}, headers=auth),
        client.put("/api/v1/pages/ok", json={"title": "x", "body": "y" * 600_000}, headers=auth),
        client.put("/api/v1/pages/ok", content=b"{not json", headers=auth),
        client.get("/api/v1/pages/ok/diff?from=x&to=1"),
    ]
    assert [r.status_code for r in cases] == [404, 422, 422, 422, 413, 422, 422]
    for response in cases:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"]
    assert client.get("/api/v1/pages").json() == []


def test_writes_need_a_token_and_an_editor(client: TestClient, session: Session) -> None:
    reader = _token(session, "rita", Role.reader)
    anonymous = client.put("/api/v1/pages/x", json={"title": "X", "body": ""})
    assert anonymous.status_code == 403  # no bearer token and no CSRF token: refused
    assert (
        client.put("/api/v1/pages/x", json={"title": "X", "body": ""}, headers=reader).status_code
        == 403
    )
    bad = client.get("/api/v1/pages", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_openapi_documents_the_api(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in [
        "/api/v1/pages",
        "/api/v1/pages/{slug}",
        "/api/v1/pages/{slug}/revisions",
        "/api/v1/pages/{slug}/diff",
        "/api/v1/pages/{slug}/revert",
        "/api/v1/pages/{slug}/move",
        "/api/v1/changes",
        "/api/v1/tree",
    ]:
        assert path in schema["paths"], path
    assert client.get("/docs").status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}
