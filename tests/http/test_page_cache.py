"""Page views for visitors who are not signed in come from memory, and never outlive a change."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import Role
from app.core.config import Settings
from app.discussions import service as discussions
from app.discussions.schemas import ThreadCreate
from app.main import create_app
from app.pages import service as pages
from app.pages.schemas import PageEdit
from tests.factories import csrf_from, login, make_page, make_user

CACHE = "x-atrium-cache"


def _token(html: str) -> str:
    match = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def test_second_visit_is_served_from_memory_with_the_visitors_own_token(
    client: TestClient, session: Session, settings: Settings
) -> None:
    make_page(session, slug="core/r2v", title="Requirement to Value", body="Turn demand.\n")
    first = client.get("/wiki/core/r2v")
    assert first.status_code == 200
    assert first.headers[CACHE] == "miss"
    second = client.get("/wiki/core/r2v")
    assert second.headers[CACHE] == "hit"
    assert second.text == first.text  # same browser (same CSRF cookie): the very same page
    for header in ("content-security-policy", "x-frame-options", "x-content-type-options"):
        assert second.headers[header] == first.headers[header]
    # another browser gets its own CSRF cookie and its own token in the same cached page
    with TestClient(create_app(settings)) as other:
        third = other.get("/wiki/core/r2v")
        fourth = other.get("/wiki/core/r2v")
    assert fourth.headers[CACHE] == "hit"
    assert "atrium_csrf" in third.headers["set-cookie"]
    assert _token(fourth.text) != _token(second.text)
    assert fourth.text.replace(_token(fourth.text), "T") == second.text.replace(
        _token(second.text), "T"
    )
    assert fourth.text.count(_token(fourth.text)) == second.text.count(_token(second.text))


def test_a_cached_token_still_passes_the_csrf_check(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    make_page(session, slug="core/r2v", title="R2V", body="one\n")
    client.get("/wiki/core/r2v")
    cached = client.get("/wiki/core/r2v")
    assert cached.headers[CACHE] == "hit"
    response = client.post(
        "/login",
        data={
            "username": "alice",
            "password": "correct horse battery staple",
            "next": "/",
            "csrf_token": _token(cached.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_any_change_is_seen_at_once(client: TestClient, session: Session) -> None:
    author = make_user(session, username="alice")
    page = make_page(session, slug="core/r2v", title="R2V", body="first text\n")
    client.get("/wiki/core/r2v")
    assert "first text" in client.get("/wiki/core/r2v").text
    pages.save_page(
        session=session,
        slug="core/r2v",
        edit=PageEdit(title="R2V", body="second text\n", base=page.head),
        author=author,
    )
    after = client.get("/wiki/core/r2v")
    assert after.headers[CACHE] == "miss"
    assert "second text" in after.text
    # a change elsewhere that shows on this page: a new page in the tree, a discussion
    make_page(session, slug="core/o2c", title="Order to Cash", body="cash\n")
    assert "Order to Cash" in client.get("/wiki/core/r2v").text
    discussions.open_thread(
        session=session,
        slug="core/r2v",
        data=ThreadCreate(title="Who owns intake?", body="Question."),
        author=author,
    )
    assert "Who owns intake?" in client.get("/wiki/core/r2v").text


def test_signed_in_readers_and_other_requests_are_never_served_from_it(
    client: TestClient, session: Session
) -> None:
    make_user(session, username="alice", role=Role.editor)
    make_page(session, slug="core/r2v", title="R2V", body="text\n")
    client.get("/wiki/core/r2v")
    assert client.get("/wiki/core/r2v").headers[CACHE] == "hit"
    login(client)
    signed_in = client.get("/wiki/core/r2v")
    assert CACHE not in signed_in.headers
    assert "/logout" in signed_in.text or "Sign out" in signed_in.text
    csrf_from(client.get("/edit/core/r2v").text)  # the editor still works
    assert CACHE not in client.get("/wiki/core/r2v?rev=1").headers
    assert CACHE not in client.get("/wiki/core/r2v", headers={"HX-Request": "true"}).headers


def test_missing_pages_are_not_stored(client: TestClient) -> None:
    assert client.get("/wiki/nowhere").status_code == 404
    assert client.get("/wiki/nowhere").headers[CACHE] == "miss"


def test_off_when_visitors_may_not_read_or_when_disabled(
    settings: Settings, session: Session
) -> None:
    make_page(session, slug="core/r2v", title="R2V", body="text\n")
    for override in ({"public_read": False}, {"page_cache_mb": 0}, {"page_cache_seconds": 0}):
        with TestClient(create_app(settings.model_copy(update=override))) as c:
            c.get("/wiki/core/r2v")
            assert CACHE not in c.get("/wiki/core/r2v").headers


def test_copies_expire_after_page_cache_seconds(settings: Settings, session: Session) -> None:
    make_page(session, slug="core/r2v", title="R2V", body="text\n")
    with TestClient(create_app(settings.model_copy(update={"page_cache_seconds": 0.01}))) as c:
        c.get("/wiki/core/r2v")
        time.sleep(0.05)
        assert c.get("/wiki/core/r2v").headers[CACHE] == "miss"


def test_closing_the_wiki_to_visitors_stops_serving_stored_copies(
    client: TestClient, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_page(session, slug="core/r2v", title="R2V", body="text\n")
    client.get("/wiki/core/r2v")
    assert client.get("/wiki/core/r2v").headers[CACHE] == "hit"
    monkeypatch.setattr(settings, "public_read", False)
    assert client.get("/wiki/core/r2v").status_code == 401


def test_a_change_through_another_process_is_seen_at_once(
    settings: Settings, session: Session
) -> None:
    """Two apps on one database stand for two worker processes or two servers."""
    make_user(session, username="alice", role=Role.editor)
    make_page(session, slug="core/r2v", title="R2V", body="first text\n")
    with TestClient(create_app(settings)) as reader, TestClient(create_app(settings)) as editor:
        reader.get("/wiki/core/r2v")
        assert reader.get("/wiki/core/r2v").headers[CACHE] == "hit"
        token = login(editor)
        form = editor.get("/edit/core/r2v").text
        base = re.search(r'name="base" value="(\d+)"', form)
        assert base
        saved = editor.post(
            "/edit/core/r2v",
            data={
                "base": base.group(1),
                "title": "R2V",
                "body": "second text\n",
                "csrf_token": token,
                "tags_text": "",
                "summary": "",
            },
            follow_redirects=False,
        )
        assert saved.status_code == 303
        after = reader.get("/wiki/core/r2v")
        assert after.headers[CACHE] == "miss"
        assert "second text" in after.text
        assert "first text" not in after.text
