"""Restricted subtrees over HTTP: the Groups & access screen and API, and every page route.

The world: ``hr`` is restricted; the group HR (bob) may edit it, HR readers (carol) may read it;
alice, an editor, is in neither. Every route that names a page (``{slug:path}``) is called by
alice on a page under ``hr`` and must answer 404, as for a page that does not exist; the same
request on an unrestricted twin must not (so the 404 comes from the restriction, not from a
request that was wrong anyway). A new page route without a row here fails the test.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.access import manage
from app.access.models import AccessLevel
from app.access.schemas import GroupCreate, RestrictionCreate
from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.attachments import service as attachments
from app.core.config import Settings
from app.core.db import open_session
from app.core.security import CSRF_HEADER
from app.main import create_app
from app.pages import service as pages
from app.pages.schemas import PageEdit
from app.reviews import service as reviews
from app.reviews.schemas import StewardshipUpdate
from tests.conftest import module_settings
from tests.factories import csrf_from, login, make_user
from tests.http.test_permission_matrix import app_routes

HIDDEN = "hr/salaries"
BODY = "Intro.\n\n## Purpose\n\nSecret purpose. [[Home]]\n"


@dataclass
class World:
    app: FastAPI
    settings: Settings
    clients: dict[str, TestClient]
    csrf: dict[str, str]
    tokens: dict[str, str]
    counter: list[int] = field(default_factory=lambda: [0])

    def session(self) -> AbstractContextManager[Session]:
        return open_session(self.app.state.engine, self.settings)

    def unique(self) -> int:
        self.counter[0] += 1
        return self.counter[0]


def _target(session: Session, slug: str, author: User) -> None:
    """A page with two revisions, an attachment with two versions, a deleted attachment, a
    stewardship, and a deleted page beside it (``slug``-old)."""
    for text in (BODY, BODY + "\nMore.\n"):
        page = pages.find_page(session=session, slug=slug)
        edit = PageEdit(base=page.head if page else 0, title=f"Salary bands {slug}", body=text)
        pages.save_page(session=session, slug=slug, edit=edit, author=author)
    for name, versions in (("notes.txt", (b"one\n", b"two\n")), ("gone.txt", (b"x\n",))):
        for data in versions:
            attachments.upload(
                session=session, slug=slug, filename=name, stream=io.BytesIO(data), user=author
            )
    attachments.delete_attachment(session=session, slug=slug, name="gone.txt", user=author)
    reviews.set_stewardship(
        session=session, slug=slug, data=StewardshipUpdate(owners=["root"]), user=author
    )
    old = f"{slug}-old"
    pages.save_page(
        session=session, slug=old, edit=PageEdit(title="Old", body="Old."), author=author
    )
    pages.delete_page(session=session, slug=old, author=author)


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    data = tmp_path_factory.mktemp("access")
    with module_settings(
        request, data, secret_key="access", webhook_worker=False, search_indexer=False
    ) as settings:
        yield from _world(settings)


def _world(settings: Settings) -> Iterator[World]:
    app = create_app(settings)
    with TestClient(app) as anonymous, open_session(app.state.engine, settings) as session:
        root = make_user(session, username="root", role=Role.admin)
        for name in ("alice", "bob", "carol"):
            make_user(session, username=name, role=Role.editor)
        make_user(session, username="rita", role=Role.reader)
        home = PageEdit(title="Home", body="Start. See [[hr/salaries]] and [[Salary bands]].")
        pages.save_page(session=session, slug="home", edit=home, author=root)
        pages.save_page(
            session=session, slug="hr", edit=PageEdit(title="People team", body="I."), author=root
        )
        _target(session, HIDDEN, root)
        hr = manage.create_group(session=session, user=root, data=GroupCreate(name="HR"))
        readers = manage.create_group(
            session=session, user=root, data=GroupCreate(name="HR readers")
        )
        manage.add_member(session=session, user=root, group_id=hr.id or 0, username="bob")
        manage.add_member(session=session, user=root, group_id=readers.id or 0, username="carol")
        made = manage.create_restriction(
            session=session, user=root, data=RestrictionCreate(root="hr", note="People data")
        )
        for group, level in ((hr, AccessLevel.edit), (readers, AccessLevel.read)):
            manage.set_grant(
                session=session,
                user=root,
                restriction_id=made.id or 0,
                group_id=group.id or 0,
                level=level,
            )
        clients: dict[str, TestClient] = {"anonymous": anonymous}
        csrf = {"anonymous": csrf_from(anonymous.get("/login").text)}
        tokens = {}
        for name in ("root", "alice", "bob", "carol", "rita"):
            clients[name] = TestClient(app)
            csrf[name] = login(clients[name], name)
            tokens[name] = accounts.create_token(session=session, username=name)[1]
        yield World(app, settings, clients, csrf, tokens)


def _get(w: World, who: str, url: str, **kw: Any) -> Any:
    return w.clients[who].get(url, **kw)


def _post(w: World, who: str, url: str, data: dict[str, Any] | None = None) -> Any:
    return w.clients[who].post(
        url, data={**(data or {}), "csrf_token": w.csrf[who]}, follow_redirects=False
    )


def _api(w: World, who: str, method: str, url: str, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {w.tokens[who]}"}
    return w.clients["anonymous"].request(method, url, headers=headers, **kw)


# --- every page route: hidden is 404 -----------------------------------------------------------


@dataclass(frozen=True)
class Req:
    """How to call one page route: query, body and the path's other parameters."""

    query: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    data: dict[str, Any] | None = None
    files: Any = None
    deleted: bool = False  # names the deleted page beside the target
    extra: dict[str, Any] = field(default_factory=dict)
    # a form or JSON body made from the page's head revision and a unique number
    body: Callable[[int, int], dict[str, Any]] | None = None


UPLOAD = {"file": ("upload.txt", b"Some notes.\n", "text/plain")}
NOTES = {"name": "notes.txt"}
SECTION_FORM = Req(
    body=lambda head, _: {
        "section": 1,
        "heading": "Purpose",
        "base": head,
        "body": "## Purpose\n\nNew.\n",
    }
)
EDIT_FORM = Req(body=lambda head, _: {"title": "Edited", "body": "Edited.\n", "base": head})

PAGE_ROUTES: dict[tuple[str, str], Req] = {
    ("GET", "/wiki/{slug:path}"): Req(),
    ("GET", "/history/{slug:path}"): Req(),
    ("GET", "/diff/{slug:path}"): Req(query={"from": 1, "to": 2}),
    ("GET", "/backlinks/{slug:path}"): Req(),
    ("GET", "/edit/{slug:path}"): Req(),
    ("POST", "/edit/{slug:path}"): EDIT_FORM,
    ("POST", "/draft/{slug:path}"): EDIT_FORM,
    ("POST", "/draft/{slug:path}/discard"): Req(),
    ("GET", "/move/{slug:path}"): Req(),
    ("POST", "/move/{slug:path}"): Req(body=lambda _, n: {"new_slug": f"taken-out-{n}"}),
    ("POST", "/delete/{slug:path}"): Req(),
    ("POST", "/undelete/{slug:path}"): Req(deleted=True),
    ("POST", "/revert/{slug:path}"): Req(data={"number": 1}),
    ("GET", "/edit-section/{slug:path}"): Req(query={"section": 1, "heading": "Purpose"}),
    ("POST", "/edit-section/{slug:path}"): SECTION_FORM,
    ("POST", "/draft-section/{slug:path}"): SECTION_FORM,
    ("GET", "/discuss/{slug:path}"): Req(),
    ("POST", "/discuss/{slug:path}"): Req(data={"title": "A question", "body": "Why?"}),
    ("POST", "/watch/{slug:path}"): Req(),
    ("POST", "/unwatch/{slug:path}"): Req(),
    ("GET", "/stewardship/{slug:path}"): Req(),
    ("POST", "/stewardship/{slug:path}"): Req(
        data={"owners": "root", "status": "draft", "review_months": "6"}
    ),
    ("POST", "/mark-reviewed/{slug:path}"): Req(data={"note": "Still right."}),
    ("GET", "/wiki/{slug:path}/_attachments"): Req(),
    ("POST", "/wiki/{slug:path}/_attachments"): Req(files=UPLOAD),
    ("GET", "/wiki/{slug:path}/_attachments/{name}"): Req(extra=NOTES),
    ("POST", "/wiki/{slug:path}/_attachments/{name}/delete"): Req(extra=NOTES),
    ("POST", "/wiki/{slug:path}/_attachments/{name}/undelete"): Req(extra={"name": "gone.txt"}),
    ("POST", "/wiki/{slug:path}/_attachments/{name}/restore"): Req(extra=NOTES, data={"number": 1}),
    # the API
    ("GET", "/api/v1/pages/{slug:path}"): Req(),
    ("PUT", "/api/v1/pages/{slug:path}"): Req(
        body=lambda head, _: {"title": "Edited", "body": "Edited.\n", "base": head}
    ),
    ("DELETE", "/api/v1/pages/{slug:path}"): Req(),
    ("GET", "/api/v1/pages/{slug:path}/revisions"): Req(),
    ("GET", "/api/v1/pages/{slug:path}/revisions/{number}"): Req(extra={"number": 1}),
    ("GET", "/api/v1/pages/{slug:path}/diff"): Req(query={"from": 1, "to": 2}),
    ("GET", "/api/v1/pages/{slug:path}/backlinks"): Req(),
    ("POST", "/api/v1/pages/{slug:path}/move"): Req(body=lambda _, n: {"new_slug": f"api-out-{n}"}),
    ("POST", "/api/v1/pages/{slug:path}/revert"): Req(json={"number": 1}),
    ("POST", "/api/v1/pages/{slug:path}/undelete"): Req(deleted=True),
    ("GET", "/api/v1/pages/{slug:path}/sections"): Req(),
    ("PUT", "/api/v1/pages/{slug:path}/sections/{index}"): Req(
        extra={"index": 1},
        body=lambda head, _: {"base": head, "heading": "Purpose", "text": "## Purpose\n\nNew.\n"},
    ),
    ("GET", "/api/v1/pages/{slug:path}/threads"): Req(),
    ("POST", "/api/v1/pages/{slug:path}/threads"): Req(json={"title": "Q", "body": "Why?"}),
    ("GET", "/api/v1/pages/{slug:path}/watch"): Req(),
    ("PUT", "/api/v1/pages/{slug:path}/watch"): Req(),
    ("DELETE", "/api/v1/pages/{slug:path}/watch"): Req(),
    ("GET", "/api/v1/pages/{slug:path}/_attachments"): Req(),
    ("POST", "/api/v1/pages/{slug:path}/_attachments"): Req(files=UPLOAD),
    ("GET", "/api/v1/pages/{slug:path}/_attachments/{name}"): Req(extra=NOTES),
    ("GET", "/api/v1/pages/{slug:path}/_attachments/{name}/content"): Req(extra=NOTES),
    ("GET", "/api/v1/pages/{slug:path}/_attachments/{name}/versions"): Req(extra=NOTES),
    ("POST", "/api/v1/pages/{slug:path}/_attachments/{name}/versions/restore"): Req(
        extra=NOTES, json={"version": 1}
    ),
    ("DELETE", "/api/v1/pages/{slug:path}/_attachments/{name}"): Req(extra=NOTES),
    ("POST", "/api/v1/pages/{slug:path}/_attachments/{name}/undelete"): Req(
        extra={"name": "gone.txt"}
    ),
    ("GET", "/api/v1/stewardship/{slug:path}"): Req(),
    ("PATCH", "/api/v1/stewardship/{slug:path}"): Req(json={"review_months": 6}),
    ("POST", "/api/v1/stewardship/{slug:path}/reviewed"): Req(json={"note": "Still right."}),
}


def test_every_page_route_is_checked(tmp_path: Path) -> None:
    """A new route that names a page must be added above (and so checked for hidden pages)."""
    routes = app_routes(create_app(Settings(data_dir=tmp_path, secret_key="routes")))
    named = {key for key in routes if "{slug:path}" in key[1]}
    assert named - PAGE_ROUTES.keys() == set(), "page routes missing from PAGE_ROUTES"
    assert PAGE_ROUTES.keys() - named == set(), "PAGE_ROUTES names routes that are gone"


def _call(w: World, who: str, method: str, path: str, req: Req, slug: str) -> Any:
    target = f"{slug}-old" if req.deleted else slug
    url = path.replace("{slug:path}", target)
    for key, value in req.extra.items():
        url = url.replace(f"{{{key}}}", str(value))
    with w.session() as session:
        page = pages.find_page(session=session, slug=target, include_deleted=True)
        head = page.head if page is not None else 0
    built = req.body(head, w.unique()) if req.body else None
    json = built if built is not None and path.startswith("/api/") else req.json
    data = built if built is not None and not path.startswith("/api/") else req.data
    if path.startswith("/api/"):
        return _api(w, who, method, url, params=req.query, json=json, files=req.files)
    headers = {CSRF_HEADER: w.csrf[who]}
    return w.clients[who].request(
        method,
        url,
        params=req.query,
        data=data,
        files=req.files,
        headers=headers,
        follow_redirects=False,
    )


@pytest.mark.parametrize(
    ("method", "path"), [pytest.param(*key, id=" ".join(key)) for key in PAGE_ROUTES]
)
def test_a_hidden_page_is_not_found_on_every_route(world: World, method: str, path: str) -> None:
    req = PAGE_ROUTES[(method, path)]
    response = _call(world, "alice", method, path, req, HIDDEN)
    shown = f"{method} {path}: {response.status_code} {response.text[:300]}"
    assert response.status_code == 404, shown
    assert "Salary bands" not in response.text, shown
    assert "Secret purpose" not in response.text, shown


@pytest.mark.parametrize(
    ("method", "path"), [pytest.param(*key, id=" ".join(key)) for key in PAGE_ROUTES]
)
def test_the_same_request_on_an_open_page_is_not_refused(
    world: World, method: str, path: str
) -> None:
    """The control: the requests above are valid, only the restriction makes them 404."""
    slug = f"open/twin{world.unique()}"
    with world.session() as session:
        root = accounts.get_user(session=session, username="root")
        _target(session, slug, root)
    response = _call(world, "alice", method, path, PAGE_ROUTES[(method, path)], slug)
    assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text}"


# --- lists and feeds ---------------------------------------------------------------------------

LISTS = [
    "/recent",
    "/recent?prefix=hr",
    "/recent.atom",
    "/special/tree",
    "/special/tree?prefix=hr",
    "/special/pages",
    "/special/orphans",
    "/special/wanted",
    "/backlinks/home",
    "/reviews",
    "/wiki/home",
    "/api/v1/changes",
    "/api/v1/changes?prefix=hr",
    "/api/v1/tree",
    "/api/v1/tree?prefix=hr",
    "/api/v1/pages",
    "/api/v1/orphans",
    "/api/v1/wanted",
    "/api/v1/pages/home/backlinks",
]


@pytest.mark.parametrize("url", LISTS)
def test_hidden_pages_are_absent_from_lists_and_feeds(world: World, url: str) -> None:
    for who in ("alice", "anonymous"):
        if url.startswith("/api/") and who != "anonymous":
            response = _api(world, who, "GET", url)
        else:
            response = _get(world, who, url)
        assert response.status_code == 200, f"{who} {url}: {response.status_code}"
        if url != "/wiki/home":  # whose text links to hr/salaries (see below)
            assert "hr/salaries" not in response.text, (who, url)
        assert "Salary bands hr" not in response.text, (who, url)
        assert "People team" not in response.text, (who, url)


def test_members_see_the_restricted_pages_in_lists(world: World) -> None:
    for url in ("/recent?prefix=hr", "/recent.atom?prefix=hr", "/special/pages", "/backlinks/home"):
        assert "hr/salaries" in _get(world, "carol", url).text, url
    changes = _api(world, "bob", "GET", "/api/v1/changes", params={"prefix": "hr"}).json()
    assert HIDDEN in {c["page_slug"] for c in changes}
    tree = _api(world, "carol", "GET", "/api/v1/tree", params={"prefix": "hr"}).json()
    assert [n["slug"] for n in tree] == ["hr/salaries"]


def test_links_on_open_pages_do_not_reveal_a_hidden_page(world: World) -> None:
    html = _get(world, "alice", "/wiki/home").text
    assert 'href="/wiki/hr/salaries"' in html  # the address written on the page
    assert 'href="/edit/salary-bands?' in html  # the title does not find the hidden page


# --- reading, read-only and edit access --------------------------------------------------------


def test_readers_see_the_restriction_note_and_cannot_edit(world: World) -> None:
    page = _get(world, "carol", f"/wiki/{HIDDEN}")
    assert page.status_code == 200
    assert "Restricted: readable by" in page.text
    assert "HR, HR readers" in page.text
    assert f'href="/edit/{HIDDEN}"' not in page.text
    assert "Restricted: readable by" not in _get(world, "alice", "/wiki/home").text
    refused = _get(world, "carol", f"/edit/{HIDDEN}")
    assert refused.status_code == 403
    assert "may read but not change" in refused.text
    saved = _post(world, "carol", f"/edit/{HIDDEN}", {"title": "X", "body": "Y", "base": 2})
    assert saved.status_code == 403
    api = _api(
        world,
        "carol",
        "PUT",
        f"/api/v1/pages/{HIDDEN}",
        json={"title": "X", "body": "Y", "base": 2},
    )
    assert api.status_code == 403
    assert api.headers["content-type"].startswith("application/problem+json")
    assert "ask an administrator" in api.json()["detail"]
    created = _post(world, "carol", "/edit/hr/new-page", {"title": "New", "body": "N", "base": 0})
    assert created.status_code == 403
    # a reader by role stays a reader: the grant does not add to the role's permissions
    assert _get(world, "rita", f"/wiki/{HIDDEN}").status_code == 404


def test_a_member_with_edit_access_edits_and_creates(world: World) -> None:
    with world.session() as session:
        head = pages.find_page(session=session, slug=HIDDEN)
        assert head is not None
        base = head.head
    assert 'href="/edit/hr/salaries"' in _get(world, "bob", f"/wiki/{HIDDEN}").text
    saved = _post(
        world, "bob", f"/edit/{HIDDEN}", {"title": "Salary bands", "body": BODY + "x", "base": base}
    )
    assert saved.status_code == 303, saved.text
    created = _post(
        world, "bob", "/edit/hr/handbook", {"title": "Handbook", "body": "H", "base": 0}
    )
    assert created.status_code == 303, created.text
    assert _get(world, "bob", "/wiki/hr/handbook").status_code == 200
    assert _get(world, "alice", "/wiki/hr/handbook").status_code == 404
    assert _get(world, "root", "/wiki/hr/handbook").status_code == 200
    # moving it out of the subtree needs edit access on both sides: bob has it
    moved = _post(world, "bob", "/move/hr/handbook", {"new_slug": "handbook"})
    assert moved.status_code == 303
    assert _get(world, "alice", "/wiki/handbook").status_code == 200
    # and alice cannot move an open page into the restricted subtree
    into = _post(world, "alice", "/move/handbook", {"new_slug": "hr/stolen"})
    assert into.status_code == 403


def test_creating_at_a_hidden_address_tells_nothing(world: World) -> None:
    """Whether a page exists there or not, the answer is the same."""
    answers = []
    for slug in (HIDDEN, "hr/not-there"):
        body = {"slug": slug, "title": "Mine", "body": "Mine."}
        answer = _api(world, "alice", "POST", "/api/v1/pages", json=body)
        answers.append((answer.status_code, answer.json()["detail"].replace(slug, "S")))
    assert answers[0] == answers[1] == (404, "There is no page 'S'.")


def test_a_redirect_into_a_hidden_subtree_is_not_followed(world: World) -> None:
    with world.session() as session:
        root = accounts.get_user(session=session, username="root")
        pages.save_page(
            session=session, slug="to-hide", edit=PageEdit(title="To hide", body="x"), author=root
        )
        pages.move_page(session=session, slug="to-hide", new_slug="hr/hidden-now", author=root)
    assert _get(world, "alice", "/wiki/to-hide", follow_redirects=False).status_code == 404
    moved = _get(world, "bob", "/wiki/to-hide", follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"].startswith("/wiki/hr/hidden-now")


# --- the admin screen and the API --------------------------------------------------------------


def test_only_admins_manage_access(world: World) -> None:
    assert _get(world, "anonymous", "/admin/access").status_code == 401
    assert _get(world, "alice", "/admin/access").status_code == 403
    assert _post(world, "alice", "/admin/access/groups", {"name": "Mine"}).status_code == 403
    assert _api(world, "alice", "GET", "/api/v1/groups").status_code == 403
    assert _api(world, "bob", "POST", "/api/v1/restrictions", json={"root": "x"}).status_code == 403
    assert "/admin/access" not in _get(world, "alice", "/wiki/home").text


def test_the_admin_screen_lists_and_changes_groups_and_restrictions(world: World) -> None:
    screen = _get(world, "root", "/admin/access")
    assert screen.status_code == 200
    assert "Groups &amp; access" in screen.text
    assert 'aria-current="page">Groups &amp; access' in screen.text
    for text in ("HR readers", "bob", "carol", "People data", ">hr</code>"):
        assert text in screen.text
    made = _post(world, "root", "/admin/access/groups", {"name": "Board", "description": "B"})
    assert made.status_code == 303
    assert "Group created." in _get(world, "root", made.headers["location"]).text
    again = _post(world, "root", "/admin/access/groups", {"name": "board"})
    assert again.status_code == 409
    assert "There is already a group called &#39;board&#39;." in again.text
    assert 'value="board"' in again.text  # what was typed is kept
    with world.session() as session:
        board = next(
            g.group
            for g in manage.list_groups(
                session=session, user=accounts.get_user(session=session, username="root")
            )
            if g.group.name == "Board"
        )
    gid = board.id
    unknown = _post(world, "root", f"/admin/access/groups/{gid}/members", {"username": "zed"})
    assert unknown.status_code == 404
    assert "There is no user &#39;zed&#39;." in unknown.text
    added = _post(world, "root", f"/admin/access/groups/{gid}/members", {"username": "alice"})
    assert added.status_code == 303
    bad = _post(world, "root", "/admin/access/restrictions", {"root": "Board Room!"})
    assert bad.status_code == 422
    assert "not a valid page address" in bad.text
    closed = _post(
        world, "root", "/admin/access/restrictions", {"root": "board", "note": "Minutes"}
    )
    assert closed.status_code == 303
    with world.session() as session:
        root = accounts.get_user(session=session, username="root")
        rid = next(
            r.restriction.id
            for r in manage.list_restrictions(session=session, user=root)
            if r.restriction.root == "board"
        )
    granted = _post(
        world,
        "root",
        f"/admin/access/restrictions/{rid}/grants",
        {"group_id": gid, "level": "read"},
    )
    assert granted.status_code == 303
    # htmx: the panels come back in place
    swapped = world.clients["root"].post(
        f"/admin/access/restrictions/{rid}/grants/{gid}/remove",
        data={"csrf_token": world.csrf["root"]},
        headers={"HX-Request": "true"},
    )
    assert swapped.status_code == 200
    assert swapped.text.lstrip().startswith('<div id="access-panels"')
    assert "Access removed." in swapped.text
    assert _post(world, "root", f"/admin/access/restrictions/{rid}/delete").status_code == 303
    removed = _post(world, "root", f"/admin/access/groups/{gid}/members/alice/remove")
    assert removed.status_code == 303
    assert (
        _post(world, "root", f"/admin/access/groups/{gid}/edit", {"name": "Board 2"}).status_code
        == 303
    )
    assert _post(world, "root", f"/admin/access/groups/{gid}/delete").status_code == 303
    log = _get(world, "root", "/admin/audit?action=access").text
    for action in ("access.group_created", "access.restriction_created", "access.grant_set"):
        assert action in log


def test_the_api_manages_groups_and_restrictions(world: World) -> None:
    made = _api(world, "root", "POST", "/api/v1/groups", json={"name": "Auditors"})
    assert made.status_code == 201, made.text
    group = made.json()
    assert group["members"] == []
    dup = _api(world, "root", "POST", "/api/v1/groups", json={"name": "AUDITORS"})
    assert dup.status_code == 409
    assert dup.headers["content-type"].startswith("application/problem+json")
    gid = group["id"]
    added = _api(world, "root", "POST", f"/api/v1/groups/{gid}/members", json={"username": "alice"})
    assert added.status_code == 201
    assert added.json()["members"] == ["alice"]
    assert _api(world, "root", "GET", f"/api/v1/groups/{gid}/members").json() == ["alice"]
    assert (
        _api(world, "root", "POST", "/api/v1/restrictions", json={"root": "hr"}).status_code == 409
    )
    bad = _api(world, "root", "POST", "/api/v1/restrictions", json={"root": "../etc"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "root" or "root" in bad.text
    made_r = _api(world, "root", "POST", "/api/v1/restrictions", json={"root": "audit/findings"})
    assert made_r.status_code == 201
    rid = made_r.json()["id"]
    put = _api(
        world, "root", "PUT", f"/api/v1/restrictions/{rid}/grants/{gid}", json={"level": "edit"}
    )
    assert put.status_code == 200
    assert put.json()["grants"] == [{"group_id": gid, "group": "Auditors", "level": "edit"}]
    listed = _api(world, "root", "GET", "/api/v1/restrictions").json()
    hr = next(r for r in listed if r["root"] == "hr")
    assert {g["group"]: g["level"] for g in hr["grants"]} == {"HR": "edit", "HR readers": "read"}
    assert hr["pages"] >= 2
    assert (
        _api(world, "root", "GET", f"/api/v1/restrictions/{rid}/grants").json()[0]["level"]
        == "edit"
    )
    assert (
        _api(world, "root", "DELETE", f"/api/v1/restrictions/{rid}/grants/{gid}").status_code == 204
    )
    assert (
        _api(world, "root", "DELETE", f"/api/v1/restrictions/{rid}/grants/{gid}").status_code == 404
    )
    assert _api(world, "root", "DELETE", f"/api/v1/restrictions/{rid}").status_code == 204
    assert _api(world, "root", "DELETE", f"/api/v1/groups/{gid}/members/alice").status_code == 204
    patched = _api(world, "root", "PATCH", f"/api/v1/groups/{gid}", json={"name": "Audit"})
    assert patched.json()["name"] == "Audit"
    assert _api(world, "root", "DELETE", f"/api/v1/groups/{gid}").status_code == 204
    assert _api(world, "root", "GET", f"/api/v1/groups/{gid}").status_code == 404
