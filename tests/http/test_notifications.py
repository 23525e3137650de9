"""Notifications through HTTP: the inbox screen, the header badge, watching, and the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.core.config import Settings
from app.main import create_app
from app.notifications import service
from app.pages import service as pages
from app.pages.schemas import PageEdit
from tests.factories import login, make_page, make_user

SLUG = "core-processes/r2v"
HTMX = {"HX-Request": "true"}
ROLES = [Role.reader, Role.editor, Role.facilitator, Role.admin]


def _edits(session: Session, author: User, n: int) -> None:
    for _ in range(n):
        page = pages.get_page(session=session, slug=SLUG, user=author)
        edit = PageEdit(base=page.head, title=page.title, body=f"Revision {page.head + 1}\n")
        pages.save_page(session=session, slug=SLUG, edit=edit, author=author)


@pytest.fixture
def watched(session: Session) -> tuple[User, User]:
    """bob (a reader) watches the page; alice (an editor) edits it twice."""
    alice = make_user(session, username="alice", role=Role.editor)
    bob = make_user(session, username="bob", role=Role.reader)
    page = make_page(session, slug=SLUG, title="Requirement to Value")
    service.set_watch(session=session, page_id=page.id or 0, user=bob, watching=True)
    _edits(session, alice, 2)
    return alice, bob


def _bearer(session: Session, username: str) -> dict[str, str]:
    _, token = accounts.create_token(session=session, username=username)
    return {"Authorization": f"Bearer {token}"}


# --- the inbox screen ----------------------------------------------------------------------------


@pytest.mark.usefixtures("watched")
def test_inbox_lists_what_happened_newest_first(client: TestClient) -> None:
    login(client, "bob")
    response = client.get("/inbox")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Inbox</h1>" in html
    assert html.count('class="inbox-item is-unread"') == 2
    assert "<strong>Alice</strong> edited" in html
    assert "Requirement to Value" in html
    assert html.index("(revision 3)") < html.index("(revision 2)")
    assert f'href="/diff/{SLUG}?from=2&amp;to=3"' in html
    assert "Mark all as read" in html
    assert 'aria-current="page"' in html  # the inbox link in the header


def test_inbox_needs_sign_in(client: TestClient) -> None:
    response = client.get("/inbox")
    assert response.status_code == 401
    assert "sign in" in response.text.lower()


def test_empty_inbox_says_so(client: TestClient, session: Session) -> None:
    make_user(session, username="carol")
    login(client, "carol")
    html = client.get("/inbox").text
    assert "You are all caught up" in html
    assert "Mark all as read" not in html
    assert "Nothing here yet" in client.get("/inbox?show=all").text


def test_mark_one_read_without_js_and_with_htmx(
    client: TestClient, session: Session, watched: tuple[User, User]
) -> None:
    _alice, bob = watched
    token = login(client, "bob")
    first, second = service.list_inbox(session=session, user=bob).items
    plain = client.post(
        "/inbox/read",
        data={"ids": str(first.id), "show": "all", "csrf_token": token},
        follow_redirects=False,
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == "/inbox?show=all"
    swapped = client.post(
        "/inbox/read", data={"ids": str(second.id)}, headers={**HTMX, "X-CSRF-Token": token}
    )
    assert swapped.status_code == 200
    assert swapped.headers["HX-Trigger"] == "inbox-changed"
    fragment = swapped.text.strip()
    assert fragment.startswith(f'<li class="inbox-item" id="notification-{second.id}">')
    assert "Mark read" not in fragment
    assert "<html" not in fragment
    session.rollback()  # see what the app committed
    assert service.unread_count(session=session, user=bob) == 0
    assert "You are all caught up" in client.get("/inbox").text
    assert client.get("/inbox?show=all").text.count('class="inbox-item"') == 2


@pytest.mark.usefixtures("watched")
def test_mark_all_read_swaps_the_list(client: TestClient) -> None:
    token = login(client, "bob")
    response = client.post(
        "/inbox/read",
        data={"all": "true", "show": "unread"},
        headers={**HTMX, "X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert "You are all caught up" in response.text
    assert 'class="inbox-toolbar"' in response.text
    assert "<html" not in response.text
    plain = client.post(
        "/inbox/read", data={"all": "true", "csrf_token": token}, follow_redirects=False
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == "/inbox"


def test_marking_someone_elses_notification_is_not_found(
    client: TestClient, session: Session, watched: tuple[User, User]
) -> None:
    _alice, bob = watched
    theirs = service.list_inbox(session=session, user=bob).items[0]
    make_user(session, username="carol")
    token = login(client, "carol")
    response = client.post(
        "/inbox/read", data={"ids": str(theirs.id)}, headers={**HTMX, "X-CSRF-Token": token}
    )
    assert response.status_code == 404
    assert response.headers["HX-Retarget"] == "#flash"
    session.rollback()
    assert service.unread_count(session=session, user=bob) == 2


@pytest.mark.usefixtures("watched")
def test_mark_read_needs_the_csrf_token(client: TestClient) -> None:
    login(client, "bob")
    response = client.post("/inbox/read", data={"all": "true"})
    assert response.status_code == 403


def test_load_older_is_a_fragment(
    client: TestClient, session: Session, watched: tuple[User, User]
) -> None:
    alice, _bob = watched
    _edits(session, alice, 30)  # 32 in all; a screen shows 30
    login(client, "bob")
    html = client.get("/inbox").text
    assert html.count('class="inbox-item is-unread"') == 30
    assert "offset=30" in html
    more = client.get("/inbox?show=unread&offset=30", headers=HTMX)
    assert more.status_code == 200
    assert more.text.count('class="inbox-item is-unread"') == 2
    assert "<html" not in more.text
    assert "offset=" not in more.text


# --- the header badge ----------------------------------------------------------------------------


@pytest.mark.usefixtures("watched")
def test_badge_polls_only_for_signed_in_users(client: TestClient) -> None:
    anonymous = client.get(f"/wiki/{SLUG}").text
    assert "/inbox/badge" not in anonymous
    empty = client.get("/inbox/badge", headers=HTMX)
    assert empty.status_code == 200
    assert empty.text.strip() == ""
    login(client, "bob")
    page = client.get(f"/wiki/{SLUG}").text
    assert 'hx-get="/inbox/badge"' in page
    assert 'hx-trigger="load, every 5s, inbox-changed from:body"' in page
    badge = client.get("/inbox/badge", headers=HTMX)
    assert badge.status_code == 200
    assert badge.headers["Cache-Control"] == "no-store"
    assert '<span class="inbox-count" aria-hidden="true">2</span>' in badge.text
    assert "Inbox, 2 unread" in badge.text


def test_badge_rises_with_a_new_notification(
    client: TestClient, session: Session, watched: tuple[User, User]
) -> None:
    alice, _bob = watched
    login(client, "bob")
    assert ">2<" in client.get("/inbox/badge", headers=HTMX).text
    _edits(session, alice, 1)
    assert ">3<" in client.get("/inbox/badge", headers=HTMX).text
    token = login(client, "bob")
    client.post("/inbox/read", data={"all": "true"}, headers={**HTMX, "X-CSRF-Token": token})
    badge = client.get("/inbox/badge", headers=HTMX).text
    assert "inbox-count" not in badge
    assert "Inbox" in badge


# --- watching ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("watched")
def test_watch_button_on_the_page_toggles_with_htmx(client: TestClient, session: Session) -> None:
    carol = make_user(session, username="carol", role=Role.reader)
    token = login(client, "carol")
    html = client.get(f"/wiki/{SLUG}").text
    assert f'hx-post="/watch/{SLUG}"' in html
    assert 'aria-pressed="false"' in html
    on = client.post(f"/watch/{SLUG}", headers={**HTMX, "X-CSRF-Token": token})
    assert on.status_code == 200
    assert on.text.strip().startswith('<form class="inline-form watch-form" id="watch-button"')
    assert f'hx-post="/unwatch/{SLUG}"' in on.text
    assert "Watching" in on.text
    page_id = pages.get_page(session=session, slug=SLUG, user=carol).id or 0
    assert service.is_watching(session=session, page_id=page_id, user=carol)
    assert 'aria-pressed="true"' in client.get(f"/wiki/{SLUG}").text
    off = client.post(f"/unwatch/{SLUG}", headers={**HTMX, "X-CSRF-Token": token})
    assert off.status_code == 200
    assert f'hx-post="/watch/{SLUG}"' in off.text
    session.rollback()
    assert not service.is_watching(session=session, page_id=page_id, user=carol)


@pytest.mark.usefixtures("watched")
def test_watch_without_js_redirects_back_to_the_page(client: TestClient) -> None:
    token = login(client, "alice")
    response = client.post(f"/unwatch/{SLUG}", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/wiki/{SLUG}"
    assert f'action="/watch/{SLUG}"' in client.get(f"/wiki/{SLUG}").text


@pytest.mark.usefixtures("watched")
def test_watch_refusals(client: TestClient) -> None:
    assert "watch-button" not in client.get(f"/wiki/{SLUG}").text  # visitors see no button
    assert client.post(f"/watch/{SLUG}").status_code == 403  # no CSRF token
    token = login(client, "alice")
    assert client.post(f"/watch/{SLUG}").status_code == 403
    missing = client.post("/watch/no-such-page", headers={**HTMX, "X-CSRF-Token": token})
    assert missing.status_code == 404


@pytest.mark.usefixtures("watched")
def test_anonymous_watch_is_refused_even_with_a_token(client: TestClient) -> None:
    # a visitor's browser has a CSRF token too; the service still refuses
    html = client.get("/login").text
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(f"/watch/{SLUG}", headers={**HTMX, "X-CSRF-Token": token})
    assert response.status_code == 401


@pytest.mark.parametrize("role", ROLES)
def test_every_signed_in_role_may_watch_and_read_its_inbox(
    client: TestClient, session: Session, watched: tuple[User, User], role: Role
) -> None:
    make_user(session, username="someone", role=role)
    token = login(client, "someone")
    assert client.get("/inbox").status_code == 200
    watch = client.post(f"/watch/{SLUG}", headers={**HTMX, "X-CSRF-Token": token})
    assert watch.status_code == 200
    alice, _bob = watched
    _edits(session, alice, 1)
    assert ">1<" in client.get("/inbox/badge", headers=HTMX).text


# --- the API -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("watched")
def test_api_inbox_filter_paging_and_count(client: TestClient, session: Session) -> None:
    auth = _bearer(session, "bob")
    listed = client.get("/api/v1/notifications?limit=1", headers=auth)
    assert listed.status_code == 200
    body = listed.json()
    assert body["unread"] == 2
    assert body["next_offset"] == 1
    [item] = body["items"]
    assert item["kind"] == "page_edit"
    assert item["actor"] == "alice"
    assert item["actor_name"] == "Alice"
    assert item["page_slug"] == SLUG
    assert item["revision"] == 3
    assert item["url"] == f"/diff/{SLUG}?from=2&to=3"
    assert item["read_at"] is None
    count = client.get("/api/v1/notifications/unread-count", headers=auth)
    assert count.json() == {"unread": 2}
    read = client.post("/api/v1/notifications/read", json={"ids": [item["id"]]}, headers=auth)
    assert read.status_code == 200
    assert read.json()["marked"] == 1
    assert read.json()["unread"] == 1
    assert read.json()["items"][0]["read_at"] is not None
    unread = client.get("/api/v1/notifications?unread=true", headers=auth).json()
    assert [n["revision"] for n in unread["items"]] == [2]
    done = client.post("/api/v1/notifications/read", json={"all": True}, headers=auth).json()
    assert (done["marked"], done["unread"]) == (1, 0)
    assert client.get("/api/v1/notifications?unread=true", headers=auth).json()["items"] == []
    assert len(client.get("/api/v1/notifications", headers=auth).json()["items"]) == 2


def test_api_problems(client: TestClient, session: Session, watched: tuple[User, User]) -> None:
    _alice, bob = watched
    for method, url in [
        ("GET", "/api/v1/notifications"),
        ("GET", "/api/v1/notifications/unread-count"),
        ("GET", f"/api/v1/pages/{SLUG}/watch"),
    ]:
        response = client.request(method, url)
        assert response.status_code == 401, url
        assert response.headers["content-type"] == "application/problem+json"
    theirs = service.list_inbox(session=session, user=bob).items[0].id
    auth = _bearer(session, "alice")
    foreign = client.post("/api/v1/notifications/read", json={"ids": [theirs]}, headers=auth)
    assert foreign.status_code == 404
    assert foreign.json()["title"] == "Not found"
    bad = client.get("/api/v1/notifications?limit=0", headers=auth)
    assert bad.status_code == 422
    assert client.put("/api/v1/pages/nowhere/watch", headers=auth).status_code == 404


@pytest.mark.usefixtures("watched")
def test_api_watch_get_put_delete(client: TestClient, session: Session) -> None:
    make_user(session, username="carol", role=Role.reader)
    auth = _bearer(session, "carol")
    url = f"/api/v1/pages/{SLUG}/watch"
    assert client.get(url, headers=auth).json() == {"slug": SLUG, "watching": False}
    assert client.put(url, headers=auth).json() == {"slug": SLUG, "watching": True}
    assert client.put(url, headers=auth).json() == {"slug": SLUG, "watching": True}
    assert client.get(url, headers=auth).json()["watching"] is True
    assert client.delete(url, headers=auth).json() == {"slug": SLUG, "watching": False}
    assert client.get(url, headers=auth).json()["watching"] is False
    # the page itself is still served by the pages API
    assert client.get(f"/api/v1/pages/{SLUG}").json()["slug"] == SLUG


@pytest.mark.usefixtures("watched")
def test_api_anonymous_cannot_change_watching(client: TestClient) -> None:
    for method in ("PUT", "DELETE"):
        response = client.request(method, f"/api/v1/pages/{SLUG}/watch")
        # no bearer and no CSRF token: refused before the service even runs
        assert response.status_code in (401, 403)


def test_watch_is_a_reserved_slug_segment(client: TestClient, session: Session) -> None:
    make_user(session, username="alice")
    auth = _bearer(session, "alice")
    response = client.put(
        "/api/v1/pages/team/watch", json={"title": "Watch", "body": "x"}, headers=auth
    )
    assert response.status_code == 404  # the watch endpoint of a page "team" that is not there
    created = client.post(
        "/api/v1/pages", json={"slug": "team/watch", "title": "W", "body": "x"}, headers=auth
    )
    assert created.status_code == 422


def test_openapi_documents_the_notifications_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/api/v1/pages/{slug}/watch"]) == {"get", "put", "delete"}
    assert paths["/api/v1/notifications"]["get"]["tags"] == ["notifications"]
    assert "post" in paths["/api/v1/notifications/read"]
    assert "get" in paths["/api/v1/notifications/unread-count"]


def test_badge_on_a_private_wiki_answers_empty_after_sign_in_expires(settings: Settings) -> None:
    private = settings.model_copy(update={"public_read": False})
    with TestClient(create_app(private)) as client:
        badge = client.get("/inbox/badge", headers=HTMX)
        assert badge.status_code == 200
        assert badge.text.strip() == ""
        assert client.get("/inbox").status_code == 401
        assert client.get("/api/v1/notifications").status_code == 401
