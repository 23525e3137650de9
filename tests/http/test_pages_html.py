"""The HTML screens through HTTP: what a person sees and can do."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import Role
from tests.factories import csrf_from, login, make_page, make_user

BODY = "## Intro\n\none\n\n## Middle\n\ntwo\n\n## End\n\nthree\n"


def _save(client: TestClient, slug: str, base: int, body: str, title: str = "R2V", **kw: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(f"/edit/{slug}").text)
    data = {
        "base": str(base),
        "title": title,
        "body": body,
        "csrf_token": token,
        "tags_text": "",
        "summary": "",
    }
    data.update(kw)
    return client.post(f"/edit/{slug}", data=data, follow_redirects=False)


def test_page_view_renders_sanitised_markdown_with_tree_and_toc(
    client: TestClient, session: Session
) -> None:
    make_page(
        session,
        slug="core-processes/r2v",
        title="Requirement to Value",
        body=BODY + "\n<script>alert(1)</script> [x](javascript:alert(1)) [[Nowhere]]\n",
    )
    response = client.get("/wiki/core-processes/r2v")
    assert response.status_code == 200
    html = response.text
    assert "<h1" in html
    assert "Requirement to Value" in html
    assert '<h2 id="h-intro">Intro</h2>' in html
    assert "<script>alert(1)</script>" not in html
    assert "javascript:alert" not in html
    assert 'class="wikilink missing" href="/edit/nowhere?title=Nowhere"' in html
    assert "Core processes" in html  # breadcrumb / tree level without a page of its own
    assert "Content-Security-Policy" in response.headers


def test_unknown_page_is_a_helpful_404(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    login(client)
    response = client.get("/wiki/services/new-thing")
    assert response.status_code == 404
    assert "/edit/services/new-thing" in response.text
    assert client.get("/wiki/x?rev=abc").status_code in (404, 422)
    assert client.get("/no/such/route").status_code == 404


def test_edit_save_merge_and_conflict_screen(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    make_page(session, slug="r2v", title="R2V", body=BODY)
    login(client)
    saved = _save(client, "r2v", 1, BODY.replace("one", "ONE"), summary="caps")
    assert saved.status_code == 303
    assert saved.headers["location"] == "/wiki/r2v"
    merged = _save(client, "r2v", 1, BODY.replace("three", "THREE"))
    assert merged.headers["location"] == "/wiki/r2v?merged=1"
    page = client.get("/wiki/r2v?merged=1").text
    assert "ONE" in page
    assert "THREE" in page
    assert "merged" in page.lower()
    conflict = _save(client, "r2v", 1, BODY.replace("one", "uno"))
    assert conflict.status_code == 409
    text = conflict.text
    assert "uno" in text
    assert "ONE" in text
    assert "&lt;&lt;&lt;&lt;&lt;&lt;&lt;" in text  # the merge proposal with markers
    assert 'name="base" value="3"' in text
    # nothing was written
    assert client.get("/api/v1/pages/r2v").json()["head"] == 3


def test_new_page_from_template_and_missing_link(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    make_page(session, slug="templates/process", title="Process", body="## Purpose\n\n_why_\n")
    login(client)
    form = client.get("/edit/core-processes/plan?title=Plan&template=templates/process")
    assert form.status_code == 200
    assert "## Purpose" in form.text
    created = _save(client, "core-processes/plan", 0, "## Purpose\n\nPlan it.\n", title="Plan")
    assert created.status_code == 303
    assert "Plan it." in client.get("/wiki/core-processes/plan").text


def test_history_diff_revert(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    make_page(session, slug="r2v", title="R2V", body="the quick brown fox\n")
    token = login(client)
    _save(client, "r2v", 1, "the quick red fox\n", summary="colour")
    history = client.get("/history/r2v")
    assert history.status_code == 200
    assert "colour" in history.text
    assert "alice" in history.text
    diff = client.get("/diff/r2v?from=1&to=2")
    assert "<del>brown</del>" in diff.text
    assert "<ins>red</ins>" in diff.text
    inline = client.get("/diff/r2v?from=1&to=2&view=inline")
    assert inline.status_code == 200
    assert client.get("/diff/r2v?from=1&to=9").status_code == 404
    reverted = client.post(
        "/revert/r2v", data={"number": "1", "csrf_token": token}, follow_redirects=False
    )
    assert reverted.status_code == 303
    assert "brown" in client.get("/wiki/r2v").text
    assert "Reverted to revision 1" in client.get("/history/r2v").text
    old = client.get("/wiki/r2v?rev=2")
    assert "red fox" in old.text


def test_move_redirects_old_address(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    make_page(session, slug="drafts/r2v", title="R2V", body="x")
    token = login(client)
    moved = client.post(
        "/move/drafts/r2v",
        data={"new_slug": "core-processes/r2v", "csrf_token": token},
        follow_redirects=False,
    )
    assert moved.headers["location"] == "/wiki/core-processes/r2v"
    old = client.get("/wiki/drafts/r2v", follow_redirects=False)
    assert old.status_code == 301
    assert old.headers["location"].startswith("/wiki/core-processes/r2v")


def test_delete_and_undelete(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    make_page(session, slug="r2v", title="R2V", body="x")
    token = login(client)
    client.post("/delete/r2v", data={"csrf_token": token})
    view = client.get("/wiki/r2v")
    assert "This page was deleted" in view.text
    assert 'action="/undelete/r2v"' in view.text
    client.post("/undelete/r2v", data={"csrf_token": token})
    again = client.get("/wiki/r2v").text
    assert "This page was deleted" not in again
    assert 'action="/undelete/r2v"' not in again


def test_recent_changes_and_feed(client: TestClient, session: Session) -> None:
    alice = make_user(session, username="alice")
    make_page(session, slug="core-processes/a", title="Alpha", body="x", author=alice)
    make_page(session, slug="roles/b", title="Beta", body="x")
    recent = client.get("/recent?author=alice")
    assert "Alpha" in recent.text
    assert "Beta" not in recent.text
    assert "Beta" in client.get("/recent?prefix=roles").text
    feed = client.get("/recent.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "<title>Alpha (revision 1, create)</title>" in feed.text


def test_orphans_wanted_backlinks_lists(client: TestClient, session: Session) -> None:
    make_page(session, slug="home", title="Home", body="[[Alpha]] [[Ghost Page]]")
    make_page(session, slug="alpha", title="Alpha", body="x")
    make_page(session, slug="lonely", title="Lonely", body="x")
    assert "Lonely" in client.get("/special/orphans").text
    assert "ghost-page" in client.get("/special/wanted").text
    assert "Home" in client.get("/backlinks/alpha").text


def test_readers_cannot_edit_and_csrf_is_required(client: TestClient, session: Session) -> None:
    make_user(session, username="rita", role=Role.reader)
    make_page(session, slug="r2v", title="R2V", body="x")
    token = login(client, "rita")
    assert client.get("/edit/r2v").status_code == 403
    refused = client.post(
        "/edit/r2v", data={"base": "1", "title": "R2V", "body": "y", "csrf_token": token}
    )
    assert refused.status_code == 403
    make_user(session, username="alice")
    client.post("/logout", data={"csrf_token": token})
    login(client)
    no_token = client.post("/edit/r2v", data={"base": "1", "title": "R2V", "body": "y"})
    assert no_token.status_code == 403
    assert "CSRF" in no_token.text


def test_anonymous_edit_asks_to_sign_in(client: TestClient, session: Session) -> None:
    make_page(session, slug="r2v", title="R2V", body="x")
    assert client.get("/edit/r2v").status_code == 401


def test_login_rotates_and_logout_revokes_session(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    bad = client.post(
        "/login",
        data={
            "username": "alice",
            "password": "wrong-password-x",
            "csrf_token": csrf_from(client.get("/login").text),
        },
    )
    assert bad.status_code == 401
    assert "wrong password" in bad.text
    token = login(client)
    first = client.cookies.get("atrium_session")
    assert first
    client.post("/logout", data={"csrf_token": token})
    # the old session id is dead on the server even if a browser kept the cookie
    client.cookies.clear()
    client.cookies.set("atrium_session", first, domain="testserver.local")
    assert client.get("/edit/x").status_code == 401
    login(client)
    assert client.cookies.get("atrium_session") != first


def test_preview_and_draft_fragments(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    make_page(session, slug="r2v", title="R2V", body="x")
    token = login(client)
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    preview = client.post(
        "/preview", data={"body": "**bold** <img src=x onerror=alert(1)>"}, headers=headers
    )
    assert "<strong>bold</strong>" in preview.text
    assert "onerror" not in preview.text
    assert "<html" not in preview.text
    draft = client.post(
        "/draft/r2v", data={"base": "1", "title": "R2V", "body": "unsaved"}, headers=headers
    )
    assert draft.status_code == 200
    assert "saved" in draft.text.lower()
    editor = client.get("/edit/r2v").text
    assert "/edit/r2v?draft=resume" in editor
    resumed = client.get("/edit/r2v?draft=resume").text
    assert "unsaved" in resumed
    client.post("/draft/r2v/discard", data={"csrf_token": token})
    assert "draft=resume" not in client.get("/edit/r2v").text


def test_htmx_errors_come_back_as_a_fragment(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    token = login(client)
    response = client.post(
        "/preview",
        data={"body": "x" * 600_000},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 413
    assert response.headers["HX-Retarget"] == "#flash"
    assert "<html" not in response.text
