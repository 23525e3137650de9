"""Discussions through HTTP: the page's discussion panel, threads, comments, lists and the API."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.discussions import service
from app.discussions.schemas import CommentCreate, ThreadCreate
from tests.factories import csrf_from, login, make_page, make_user

SLUG = "core-processes/r2v"
BODY = (
    "## Scope\n\nDemand arrives from the business.\n\n## Triage\n\nThe BRM sorts requests weekly.\n"
)
HX = {"HX-Request": "true"}


@pytest.fixture
def seeded(session: Session) -> None:
    alice = make_user(session, username="alice", role=Role.editor)
    make_user(session, username="bob", role=Role.editor)
    make_user(session, username="rita", role=Role.reader)
    make_user(session, username="fran", role=Role.facilitator)
    make_user(session, username="ada", role=Role.admin)
    make_page(session, slug=SLUG, title="R2V", body=BODY, author=alice)


def _thread(session: Session, username: str = "alice", **kw: str) -> int:
    user = accounts.get_user(session=session, username=username)
    data = ThreadCreate(body=kw.pop("body", "Is weekly enough?"), **kw)
    return service.open_thread(session=session, slug=SLUG, data=data, author=user).id or 0


@pytest.mark.usefixtures("seeded")
def test_reader_starts_a_discussion_from_the_page(client: TestClient) -> None:
    token = login(client, "rita")
    view = client.get(f"/wiki/{SLUG}")
    assert view.status_code == 200
    assert "Start discussion" in view.text
    assert 'href="/edit/' not in view.text  # a reader does not get an Edit button
    made = client.post(
        f"/discuss/{SLUG}",
        data={"title": "Cadence", "body": "Is **weekly** enough?", "csrf_token": token},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert re.search(r"/wiki/core-processes/r2v#thread-\d+", made.headers["location"])
    page = client.get(f"/wiki/{SLUG}").text
    assert "Cadence" in page
    assert "<strong>weekly</strong>" in page


@pytest.mark.usefixtures("seeded")
def test_htmx_post_swaps_the_thread_list(client: TestClient) -> None:
    token = login(client, "alice")
    made = client.post(
        f"/discuss/{SLUG}",
        data={"body": "Who sorts when the BRM is away?", "csrf_token": token},
        headers=HX,
    )
    assert made.status_code == 200
    assert made.text.lstrip().startswith('<div id="threads"')
    assert "Who sorts when the BRM is away?" in made.text
    assert "<html" not in made.text


@pytest.mark.usefixtures("seeded")
def test_passage_thread_marker_outdated_and_old_revision_link(
    client: TestClient, session: Session
) -> None:
    tid = _thread(session, quote="arrives from the business", revision="1", title="Which units?")
    page = client.get(f"/wiki/{SLUG}").text
    assert f'id="passage-{tid}"' in page
    assert page.index(f'id="passage-{tid}"') > page.index("arrives from the business")
    token = login(client, "alice")
    edit = client.get(f"/edit/{SLUG}")
    client.post(
        f"/edit/{SLUG}",
        data={
            "base": "1",
            "title": "R2V",
            "body": BODY.replace("arrives from the business", "comes in"),
            "csrf_token": csrf_from(edit.text) or token,
        },
    )
    page = client.get(f"/wiki/{SLUG}").text
    assert f'id="passage-{tid}"' not in page
    card = client.get(f"/threads/{tid}").text
    assert "outdated" in card
    assert "arrives from the business" in card
    assert f"/wiki/{SLUG}?rev=1#passage-{tid}" in card
    old = client.get(f"/wiki/{SLUG}?rev=1").text
    assert f'id="passage-{tid}"' in old


@pytest.mark.usefixtures("seeded")
def test_bad_anchor_and_empty_comment_are_refused(client: TestClient) -> None:
    token = login(client, "alice")
    bad = client.post(
        f"/discuss/{SLUG}",
        data={"body": "x", "quote": "not on the page at all", "revision": "1", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert "not on the page" in bad.text
    empty = client.post(f"/discuss/{SLUG}", data={"body": "   ", "csrf_token": token}, headers=HX)
    assert empty.status_code == 422
    assert "cannot be empty" in empty.text
    assert empty.headers.get("hx-retarget") == "#flash"
    assert "No open discussions" in client.get(f"/wiki/{SLUG}").text


@pytest.mark.usefixtures("seeded")
def test_reply_edit_versions_remove_and_hide(client: TestClient, session: Session) -> None:
    tid = _thread(session, "rita", body="First thought")
    token = login(client, "bob")
    reply = client.post(
        f"/threads/{tid}/comments",
        data={"body": "Agree with @rita", "csrf_token": token},
        headers=HX,
    )
    assert reply.status_code == 200
    assert reply.text.lstrip().startswith('<section class="thread-card')
    assert 'href="/discussions?participant=rita"' in reply.text
    view = service.get_thread(session=session, thread_id=tid, user=None)
    first, mine = (c.comment.id for c in view.comments)
    # bob cannot edit rita's comment
    refused = client.post(f"/comments/{first}/edit", data={"body": "x", "csrf_token": token})
    assert refused.status_code == 403
    form = client.get(f"/comments/{mine}/edit", headers=HX)
    assert "Save comment" in form.text
    client.post(f"/comments/{mine}/edit", data={"body": "Agree, mostly", "csrf_token": token})
    card = client.get(f"/threads/{tid}").text
    assert "Agree, mostly" in card
    assert f'href="/comments/{mine}/versions"' in card
    versions = client.get(f"/comments/{mine}/versions").text
    assert "Agree with @rita" in versions
    client.post(f"/comments/{mine}/delete", data={"csrf_token": token})
    assert "Comment removed by its author." in client.get(f"/threads/{tid}").text
    # a facilitator hides rita's comment with a reason
    client.post("/logout", data={"csrf_token": token})
    token = login(client, "fran")
    hidden = client.post(
        f"/comments/{first}/hide", data={"reason": "personal data", "csrf_token": token}
    )
    assert hidden.status_code == 200
    card = client.get(f"/threads/{tid}").text
    assert "hidden by a facilitator: personal data" in card


@pytest.mark.usefixtures("seeded")
def test_live_poll_answers_204_until_something_changes(
    client: TestClient, session: Session
) -> None:
    tid = _thread(session)
    page = client.get(f"/wiki/{SLUG}").text
    stamp = re.search(r"since=([^\"&]+)", page)
    assert stamp
    url = f"/discuss/{SLUG}?status=open&since={stamp.group(1)}"
    assert client.get(url, headers=HX).status_code == 204
    bob = accounts.get_user(session=session, username="bob")
    service.reply(session=session, thread_id=tid, data=CommentCreate(body="New!"), author=bob)
    fresh = client.get(url, headers=HX)
    assert fresh.status_code == 200
    assert "New!" in fresh.text


@pytest.mark.usefixtures("seeded")
def test_resolve_filter_lists_and_history_timeline(client: TestClient, session: Session) -> None:
    tid = _thread(session, "rita", title="Cadence")
    _thread(session, "alice", title="Owners")
    token = login(client, "rita")
    resolved = client.post(
        f"/threads/{tid}/status", data={"status": "resolved", "csrf_token": token}, headers=HX
    )
    assert "badge-resolved" in resolved.text
    open_only = client.get(f"/discuss/{SLUG}?status=open", headers=HX).text
    assert "Owners" in open_only
    assert "Cadence" not in open_only
    assert "Cadence" in client.get(f"/discuss/{SLUG}?status=resolved", headers=HX).text
    listing = client.get("/discussions?status=open&prefix=core-processes").text
    assert "Owners" in listing
    assert "Cadence" not in listing
    assert "Cadence" in client.get("/discussions?status=all&author=rita").text
    assert "Owners" not in client.get("/discussions?status=all&participant=rita").text
    mine = client.get("/discussions/mine").text
    assert "Cadence" in mine
    assert "started" in mine
    history = client.get(f"/history/{SLUG}").text
    assert "timeline-discussion" in history
    assert "Cadence" in history


@pytest.mark.usefixtures("seeded")
def test_mention_suggestions(client: TestClient) -> None:
    login(client, "alice")
    found = client.get("/users/suggest?q=ri", headers=HX)
    assert found.status_code == 200
    assert 'data-mention="rita"' in found.text
    assert "bob" not in found.text


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    ("who", "read", "comment", "moderate", "resolve_others"),
    [
        (None, 200, 401, 401, 401),
        ("rita", 200, 303, 403, 403),
        ("bob", 200, 303, 403, 303),
        ("fran", 200, 303, 200, 303),
        ("ada", 200, 303, 200, 303),
    ],
)
def test_permissions_by_role(
    client: TestClient,
    session: Session,
    who: str | None,
    read: int,
    comment: int,
    moderate: int,
    resolve_others: int,
) -> None:
    tid = _thread(session, "alice")
    cid = service.get_thread(session=session, thread_id=tid, user=None).comments[0].comment.id
    token = login(client, who) if who else csrf_from(client.get("/login").text)
    assert client.get(f"/wiki/{SLUG}").status_code == read
    assert client.get(f"/threads/{tid}").status_code == read
    assert client.get("/discussions").status_code == read
    assert client.get("/discussions/mine").status_code == (401 if who is None else 200)
    assert client.get("/users/suggest?q=a").status_code == (401 if who is None else 200)
    posted = client.post(
        f"/threads/{tid}/comments",
        data={"body": "hello", "csrf_token": token},
        follow_redirects=False,
    )
    assert posted.status_code == comment
    hidden = client.post(
        f"/comments/{cid}/hide",
        data={"reason": "test", "csrf_token": token},
        headers=HX,
        follow_redirects=False,
    )
    assert hidden.status_code == moderate
    status = client.post(
        f"/threads/{tid}/status",
        data={"status": "resolved", "csrf_token": token},
        follow_redirects=False,
    )
    assert status.status_code == resolve_others
    # no one edits or removes someone else's comment
    expected = 401 if who is None else 403
    edit = client.post(f"/comments/{cid}/edit", data={"body": "x", "csrf_token": token})
    assert edit.status_code == (200 if who == "alice" else expected)
    removed = client.post(f"/comments/{cid}/delete", data={"csrf_token": token})
    assert removed.status_code == expected
    assert client.get(f"/discuss/{SLUG}").status_code == read
    assert client.get(f"/comments/{cid}/versions").status_code == read
    opened = client.post(
        f"/discuss/{SLUG}", data={"body": "new", "csrf_token": token}, follow_redirects=False
    )
    assert opened.status_code == comment
    unhidden = client.post(f"/comments/{cid}/unhide", data={"csrf_token": token}, headers=HX)
    assert unhidden.status_code == moderate


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    ("who", "comment", "moderate", "resolve_others"),
    [
        (None, 401, 401, 401),
        ("rita", 201, 403, 403),
        ("bob", 201, 403, 200),
        ("fran", 201, 200, 200),
        ("ada", 201, 200, 200),
    ],
)
def test_api_permissions_by_role(
    client: TestClient,
    session: Session,
    who: str | None,
    comment: int,
    moderate: int,
    resolve_others: int,
) -> None:
    tid = _thread(session, "alice")
    cid = service.get_thread(session=session, thread_id=tid, user=None).comments[0].comment.id
    if who is None:
        auth = {"Authorization": "Bearer not-a-token"}
    else:
        auth = {
            "Authorization": f"Bearer {accounts.create_token(session=session, username=who)[1]}"
        }
    read = 401 if who is None else 200  # a bad token is refused even for reading
    assert client.get(f"/api/v1/pages/{SLUG}/threads", headers=auth).status_code == read
    assert client.get(f"/api/v1/threads/{tid}", headers=auth).status_code == read
    assert client.get("/api/v1/discussions", headers=auth).status_code == read
    assert client.get("/api/v1/me/discussions", headers=auth).status_code == read
    assert (
        client.post(f"/api/v1/pages/{SLUG}/threads", json={"body": "x"}, headers=auth).status_code
        == comment
    )
    assert (
        client.post(f"/api/v1/threads/{tid}/comments", json={"body": "x"}, headers=auth).status_code
        == comment
    )
    hide = client.post(f"/api/v1/comments/{cid}/hide", json={"reason": "r"}, headers=auth)
    assert hide.status_code == moderate
    assert client.delete(f"/api/v1/comments/{cid}/hide", headers=auth).status_code == moderate
    status = client.patch(f"/api/v1/threads/{tid}", json={"status": "resolved"}, headers=auth)
    assert status.status_code == resolve_others
    others = 401 if who is None else 403
    assert (
        client.patch(f"/api/v1/comments/{cid}", json={"body": "x"}, headers=auth).status_code
        == others
    )
    assert client.delete(f"/api/v1/comments/{cid}", headers=auth).status_code == others
    # anonymous reading without any token works on a public wiki
    assert client.get(f"/api/v1/pages/{SLUG}/threads").status_code == 200


@pytest.mark.usefixtures("seeded")
def test_comment_markup_is_inert_in_the_page(client: TestClient) -> None:
    token = login(client, "alice")
    client.post(
        f"/discuss/{SLUG}",
        data={
            "body": '<script>alert(1)</script><a href="javascript:alert(2)">x</a>'
            "<svg onload=alert(3)></svg>",
            "title": '"><img src=x onerror=alert(4)>',
            "csrf_token": token,
        },
    )
    page = client.get(f"/wiki/{SLUG}").text
    assert "<script>alert" not in page
    assert "javascript:alert" not in page
    assert "onload=alert" not in page
    assert "<img src=x onerror" not in page


@pytest.mark.usefixtures("seeded")
def test_api_threads_comments_and_problems(client: TestClient, session: Session) -> None:
    a = {"Authorization": f"Bearer {accounts.create_token(session=session, username='alice')[1]}"}
    r = {"Authorization": f"Bearer {accounts.create_token(session=session, username='rita')[1]}"}
    made = client.post(
        f"/api/v1/pages/{SLUG}/threads",
        json={"title": "Q", "body": "Hi @rita", "quote": "sorts requests weekly", "revision": 1},
        headers=a,
    )
    assert made.status_code == 201, made.text
    thread = made.json()
    assert thread["anchor_kind"] == "passage"
    assert thread["comments"][0]["author"] == "alice"
    tid = thread["id"]
    reply = client.post(f"/api/v1/threads/{tid}/comments", json={"body": "ok"}, headers=r)
    assert reply.status_code == 201
    cid = reply.json()["id"]
    assert (
        client.patch(f"/api/v1/comments/{cid}", json={"body": "fine"}, headers=r).json()["version"]
        == 2
    )
    assert client.get(f"/api/v1/comments/{cid}/versions").json()[0]["body"] == "ok"
    problem = client.patch(f"/api/v1/comments/{cid}", json={"body": "x"}, headers=a)
    assert problem.status_code == 403
    assert problem.headers["content-type"] == "application/problem+json"
    for body, status in (
        ({"body": ""}, 422),
        ({"body": "@ghost hi"}, 422),
        ({"body": "x" * 20_001}, 413),
    ):
        bad = client.post(f"/api/v1/threads/{tid}/comments", json=body, headers=a)
        assert bad.status_code == status
        assert bad.json()["status"] == status
    assert (
        client.post("/api/v1/threads/999/comments", json={"body": "x"}, headers=a).status_code
        == 404
    )
    anonymous = client.post(
        f"/api/v1/threads/{tid}/comments", json={"body": "x"}, headers={"Authorization": "Bearer x"}
    )
    assert anonymous.status_code == 401
    assert (
        client.patch(f"/api/v1/threads/{tid}", json={"status": "resolved"}, headers=a).json()[
            "status"
        ]
        == "resolved"
    )
    listing = client.get("/api/v1/discussions?status=resolved").json()
    assert listing["total"] == 1
    assert client.get(f"/api/v1/pages/{SLUG}/threads?status=all").json()[0]["id"] == tid
    mine = client.get("/api/v1/me/discussions", headers=r).json()
    assert mine[0]["involvement"] == ["mentioned", "replied"]
    assert client.delete(f"/api/v1/comments/{cid}", headers=r).status_code == 204
    schema = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/pages/{slug}/threads" in schema
    assert "/api/v1/discussions" in schema
