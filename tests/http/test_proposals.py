"""Proposals through HTTP: the screens, responding with live tallies, closing (accept with page
changes and the conflict screen), the API, and the permission rules of every route by role."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.core.db import begin_write
from app.pages import service as pages
from app.pages.schemas import PageEdit
from app.proposals import service
from app.proposals.models import ProposalSource
from app.proposals.schemas import ChangeCreate, ProposalCreate
from app.workshops import service as workshops
from app.workshops.models import Idea
from app.workshops.schemas import AgendaItemCreate, WorkshopCreate
from tests.factories import csrf_from, login, make_page, make_user

SLUG = "operating-model/intake"
BODY = "## Intake\n\nRequests arrive by e-mail.\n\n## Triage\n\nThe BRM sorts requests weekly.\n"
HX = {"HX-Request": "true"}


@pytest.fixture
def seeded(session: Session) -> None:
    alice = make_user(session, username="alice", role=Role.editor)
    make_user(session, username="bob", role=Role.editor)
    make_user(session, username="rita", role=Role.reader)
    make_user(session, username="pat", role=Role.reader)
    make_user(session, username="fran", role=Role.facilitator)
    make_user(session, username="ada", role=Role.admin)
    make_page(session, slug=SLUG, title="Intake", body=BODY, author=alice)


def _user(session: Session, name: str) -> User:
    return accounts.get_user(session=session, username=name)


def _proposal(session: Session, *, page_edit: bool = False, **kw: object) -> int:
    changes = (
        [ChangeCreate(slug=SLUG, base=1, body=BODY.replace("by e-mail", "through a form"))]
        if page_edit
        else []
    )
    data = ProposalCreate(
        title=str(kw.pop("title", "Use an intake form")),
        description="Requests should come **through a form**.",
        options=["form", "e-mail"],
        source=ProposalSource.page_edit if page_edit else ProposalSource.none,
        changes=changes,
        **kw,
    )
    p = service.create_proposal(session=session, data=data, author=_user(session, "alice"))
    return p.id or 0


def _workshop_idea(session: Session) -> Idea:
    fran = _user(session, "fran")
    w = workshops.create_workshop(
        session=session,
        data=WorkshopCreate(
            title="Intake redesign",
            participants=["pat", "alice"],
            items=[AgendaItemCreate(title="Arrival")],
        ),
        user=fran,
    )
    view = workshops.get_workshop(session=session, workshop_id=w.id or 0, user=fran)
    idea = Idea(
        workshop_id=w.id or 0,
        item_id=view.items[0].id or 0,
        author_id=_user(session, "pat").id,
        body="One form for every request",
    )
    begin_write(session)  # the indexer may write meanwhile: take the lock first
    session.add(idea)
    session.commit()
    return idea


def _bearer(session: Session, who: str | None) -> dict[str, str]:
    if who is None:
        return {"Authorization": "Bearer not-a-token"}
    return {"Authorization": f"Bearer {accounts.create_token(session=session, username=who)[1]}"}


# --- journeys ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("seeded")
def test_propose_a_page_edit_from_the_page_then_respond_and_accept(
    client: TestClient, session: Session
) -> None:
    token = login(client, "alice")
    view = client.get(f"/wiki/{SLUG}")
    assert f'href="/proposals/new?page={SLUG}"' in view.text
    form = client.get(f"/proposals/new?page={SLUG}")
    assert form.status_code == 200
    assert "Requests arrive by e-mail." in form.text  # the page text, to edit
    made = client.post(
        "/proposals/new",
        data={
            "title": "Use an intake form",
            "description": "Requests come through a **form**.",
            "options": "form\ne-mail",
            "source": "page_edit",
            "change_slug": SLUG,
            "change_base": "1",
            "change_title": "Intake",
            "change_body": BODY.replace("by e-mail", "through a form"),
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    url = made.headers["location"]
    pid = int(url.rsplit("/", 1)[1])
    shown = client.get(url)
    assert shown.status_code == 200
    assert "<strong>form</strong>" in shown.text
    assert "Proposed page changes" in shown.text
    assert "through a form" in shown.text  # the diff
    assert pages.get_page(session=session, slug=SLUG, user=None).head == 1
    # bob responds through htmx: the live region comes back with the tally
    client.cookies.clear()
    token = login(client, "bob")
    answered = client.post(
        f"/proposals/{pid}/respond",
        data={"stance": "agree", "reason": "Less e-mail", "csrf_token": token},
        headers=HX,
    )
    assert answered.status_code == 200
    assert answered.text.lstrip().startswith('<section id="proposal-live"')
    assert "1 agree" in answered.text
    assert "You responded" in answered.text
    again = client.post(
        f"/proposals/{pid}/respond", data={"stance": "block", "csrf_token": token}, headers=HX
    )
    assert again.status_code == 422  # a block needs a reason
    twice = client.post(
        f"/proposals/{pid}/respond",
        data={"stance": "disagree", "csrf_token": token},
        headers=HX,
    )
    assert twice.status_code == 409
    assert "already responded to version 1" in twice.text
    # the tally poll: 204 while nothing changed
    stamp = re.search(r"since=([^\"&]+)", answered.text)
    assert stamp
    same = client.get(f"/proposals/{pid}/tally?since={stamp.group(1)}", headers=HX)
    assert same.status_code == 204
    # fran accepts: DEC-0001, the page gets a new revision
    client.cookies.clear()
    token = login(client, "fran")
    closed = client.post(
        f"/proposals/{pid}/close",
        data={
            "outcome": "accepted",
            "note": "Consent",
            "chosen_option": "form",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert closed.status_code == 303, closed.text
    session.rollback()  # a fresh snapshot after the app wrote
    page = pages.get_page(session=session, slug=SLUG, user=None)
    assert page.head == 2
    rev = pages.current_revision(session=session, page=page)
    assert rev.summary.startswith("DEC-0001: ")
    polled = client.get(f"/proposals/{pid}/tally?since={stamp.group(1)}", headers=HX)
    assert polled.status_code == 200
    assert "This proposal is now accepted" in polled.text
    after = client.get(f"/proposals/{pid}").text
    assert "Closed as accepted" in after
    assert 'href="/decisions/DEC-0001"' in after
    assert "applied as" in after


@pytest.mark.usefixtures("seeded")
def test_accepting_a_conflicting_change_shows_the_conflict_screen_then_retry(
    client: TestClient, session: Session
) -> None:
    pid = _proposal(session, page_edit=True)
    pages.save_page(
        session=session,
        slug=SLUG,
        edit=PageEdit(base=1, title="Intake", body=BODY.replace("by e-mail", "by phone")),
        author=_user(session, "bob"),
    )
    token = login(client, "fran")
    clash = client.post(
        f"/proposals/{pid}/close", data={"outcome": "accepted", "csrf_token": token}
    )
    assert clash.status_code == 409
    assert "nothing was decided or saved" in clash.text
    assert "by phone" in clash.text
    assert "through a form" in clash.text
    change_id = re.search(r'name="change_id" value="(\d+)"', clash.text)
    assert change_id
    session.rollback()  # a fresh snapshot after the app wrote
    assert pages.get_page(session=session, slug=SLUG, user=None).head == 2
    retried = client.post(
        f"/proposals/{pid}/close",
        data={
            "outcome": "accepted",
            "change_id": change_id.group(1),
            "change_base": "2",
            "change_title": "Intake",
            "change_body": BODY.replace("by e-mail", "by phone or through a form"),
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert retried.status_code == 303, retried.text
    session.rollback()  # a fresh snapshot after the app wrote
    page = pages.get_page(session=session, slug=SLUG, user=None)
    assert "by phone or through a form" in pages.current_revision(session=session, page=page).body


@pytest.mark.usefixtures("seeded")
def test_api_accept_conflict_is_a_409_with_details(client: TestClient, session: Session) -> None:
    pid = _proposal(session, page_edit=True)
    pages.save_page(
        session=session,
        slug=SLUG,
        edit=PageEdit(base=1, title="Intake", body=BODY.replace("by e-mail", "by phone")),
        author=_user(session, "bob"),
    )
    auth = _bearer(session, "fran")
    res = client.post(f"/api/v1/proposals/{pid}/close", json={"outcome": "accepted"}, headers=auth)
    assert res.status_code == 409
    body = res.json()
    assert body["conflict"]["current"] == 2
    assert "by phone" in body["conflict"]["their_body"]
    assert body["slug"] == SLUG
    fixed = client.put(
        f"/api/v1/proposals/{pid}/changes/{body['change_id']}",
        json={"base": 2, "body": BODY.replace("by e-mail", "by phone and form")},
        headers=auth,
    )
    assert fixed.status_code == 200
    done = client.post(f"/api/v1/proposals/{pid}/close", json={"outcome": "accepted"}, headers=auth)
    assert done.status_code == 200
    assert done.json()["changes"][0]["applied_revision"] == 3


@pytest.mark.usefixtures("seeded")
def test_api_full_journey_with_versions_and_hidden_results(
    client: TestClient, session: Session
) -> None:
    alice, bob, fran = (_bearer(session, n) for n in ("alice", "bob", "fran"))
    made = client.post(
        "/api/v1/proposals",
        json={
            "title": "Weekly triage",
            "description": "v1",
            "options": ["a"],
            "hide_results": True,
        },
        headers=alice,
    )
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    assert made.json()["tally"] == {
        "hidden": True,
        "version": 1,
        "agree": None,
        "abstain": None,
        "disagree": None,
        "block": None,
        "total": None,
        "earlier": None,
    }
    r = client.post(f"/api/v1/proposals/{pid}/responses", json={"stance": "agree"}, headers=bob)
    assert r.status_code == 201
    assert client.get(f"/api/v1/proposals/{pid}/tally", headers=alice).json()["hidden"] is True
    # others' responses are hidden with the results; one's own shows
    assert client.get(f"/api/v1/proposals/{pid}", headers=alice).json()["responses"] == []
    assert len(client.get(f"/api/v1/proposals/{pid}", headers=bob).json()["responses"]) == 1
    twice = client.post(
        f"/api/v1/proposals/{pid}/responses", json={"stance": "disagree"}, headers=bob
    )
    assert twice.status_code == 409
    assert twice.headers["content-type"].startswith("application/problem+json")
    changed = client.post(
        f"/api/v1/proposals/{pid}/responses",
        json={"stance": "disagree", "change": True},
        headers=bob,
    )
    assert changed.status_code == 201
    edited = client.patch(
        f"/api/v1/proposals/{pid}",
        json={
            "title": "Weekly triage",
            "description": "v2",
            "options": ["a"],
            "hide_results": True,
        },
        headers=alice,
    )
    assert edited.json()["version"] == 2
    versions = client.get(f"/api/v1/proposals/{pid}/versions", headers=alice).json()
    assert [(v["version"], v["description"]) for v in versions] == [(1, "v1"), (2, "v2")]
    closed = client.post(
        f"/api/v1/proposals/{pid}/close", json={"outcome": "rejected", "note": "No"}, headers=fran
    )
    assert closed.status_code == 200
    full = closed.json()
    assert full["state"] == "closed"
    assert full["outcome"] == "rejected"
    assert full["tally"]["disagree"] == 0
    assert full["tally"]["earlier"] == 1
    assert full["responses"][0]["current_version"] is False
    listed = client.get("/api/v1/proposals?state=closed", headers=alice).json()
    assert [i["id"] for i in listed["items"]] == [pid]
    gone = client.post(f"/api/v1/proposals/{pid}/withdraw", headers=alice)
    assert gone.status_code == 409


@pytest.mark.usefixtures("seeded")
def test_proposal_from_a_thread_and_from_an_idea(client: TestClient, session: Session) -> None:
    from app.discussions import service as discussions
    from app.discussions.schemas import ThreadCreate

    thread = discussions.open_thread(
        session=session,
        slug=SLUG,
        data=ThreadCreate(title="Forms?", body="Should we use forms?"),
        author=_user(session, "bob"),
    )
    token = login(client, "alice")
    card = client.get(f"/threads/{thread.id}").text
    assert f'href="/proposals/new?thread={thread.id}"' in card
    form = client.get(f"/proposals/new?thread={thread.id}")
    assert form.status_code == 200
    assert "Should we use forms?" in form.text
    made = client.post(
        "/proposals/new",
        data={
            "title": "Forms",
            "source": "thread",
            "source_id": str(thread.id),
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    idea = _workshop_idea(session)
    form = client.get(f"/proposals/new?idea={idea.id}")
    assert form.status_code == 200
    assert "One form for every request" in form.text
    auth = _bearer(session, "alice")
    res = client.post(
        "/api/v1/proposals",
        json={"title": "One form", "source": "idea", "source_id": idea.id},
        headers=auth,
    )
    assert res.status_code == 201
    assert res.json()["workshop_id"] == idea.workshop_id


@pytest.mark.usefixtures("seeded")
def test_bad_input_is_refused_clearly(client: TestClient, session: Session) -> None:
    token = login(client, "alice")
    bad_time = client.post(
        "/proposals/new", data={"title": "x", "closes_at": "next week", "csrf_token": token}
    )
    assert bad_time.status_code == 422
    assert "is not a date and time" in bad_time.text
    past = client.post(
        "/proposals/new",
        data={"title": "x", "closes_at": "2000-01-01T10:00", "csrf_token": token},
    )
    assert past.status_code == 422
    assert "must be in the future" in past.text
    no_page = client.post(
        "/api/v1/proposals",
        json={"title": "x", "changes": [{"slug": "nowhere", "base": 1, "body": "x"}]},
        headers=_bearer(session, "alice"),
    )
    assert no_page.status_code == 404
    pid = _proposal(session)
    bad_stance = client.post(
        f"/proposals/{pid}/respond", data={"stance": "maybe", "csrf_token": token}
    )
    assert bad_stance.status_code == 422
    assert client.get("/proposals/9999").status_code == 404
    assert client.get("/proposals/new?idea=9999").status_code == 404
    # accepting a change to a page deleted meanwhile: refused, nothing decided
    changed = _proposal(session, page_edit=True)
    pages.delete_page(session=session, slug=SLUG, author=_user(session, "alice"))
    refused = client.post(
        f"/api/v1/proposals/{changed}/close",
        json={"outcome": "accepted"},
        headers=_bearer(session, "fran"),
    )
    assert refused.status_code == 409
    assert "was deleted" in refused.json()["detail"]
    assert client.get(f"/api/v1/proposals/{changed}").json()["state"] == "open"


@pytest.mark.usefixtures("seeded")
def test_list_filters_and_the_room_fragment(client: TestClient, session: Session) -> None:
    pid = _proposal(session, title="Open one")
    closed = _proposal(session, title="Closed one")
    service.withdraw(session=session, proposal_id=closed, user=_user(session, "alice"))
    page = client.get("/proposals")
    assert page.status_code == 200
    assert "Open one" in page.text
    assert "Closed one" not in page.text
    assert "Closed one" in client.get("/proposals?state=closed").text
    frag = client.get("/proposals?state=all", headers=HX)
    assert frag.text.lstrip().startswith('<div id="proposal-results"')
    assert f'href="/proposals/{pid}"' in frag.text


# --- permissions for every route -----------------------------------------------------------------


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    ("who", "read", "propose", "respond", "edit", "close", "withdraw"),
    [
        (None, 200, 401, 401, 401, 401, 401),
        ("rita", 200, 403, 303, 403, 403, 403),
        ("bob", 200, 303, 303, 403, 403, 403),
        ("alice", 200, 303, 303, 303, 403, 303),
        ("fran", 200, 303, 303, 303, 303, 403),
        ("ada", 200, 303, 303, 303, 303, 403),
    ],
)
def test_html_permissions_by_role(
    client: TestClient,
    session: Session,
    who: str | None,
    read: int,
    propose: int,
    respond: int,
    edit: int,
    close: int,
    withdraw: int,
) -> None:
    pid = _proposal(session)
    token = login(client, who) if who else csrf_from(client.get("/login").text)
    assert client.get("/proposals").status_code == read
    assert client.get(f"/proposals/{pid}").status_code == read
    assert client.get(f"/proposals/{pid}/tally").status_code == read
    assert client.get(f"/proposals/{pid}/versions").status_code == read
    new_form = client.get(f"/proposals/new?page={SLUG}")
    assert new_form.status_code == (200 if propose == 303 else propose)
    made = client.post(
        "/proposals/new", data={"title": "Mine", "csrf_token": token}, follow_redirects=False
    )
    assert made.status_code == propose
    answered = client.post(
        f"/proposals/{pid}/respond",
        data={"stance": "agree", "csrf_token": token},
        follow_redirects=False,
    )
    assert answered.status_code == respond
    edit_form = client.get(f"/proposals/{pid}/edit", follow_redirects=False)
    assert edit_form.status_code == (200 if edit == 303 else 303)  # others go to the proposal
    edited = client.post(
        f"/proposals/{pid}/edit",
        data={"title": "Use an intake form", "description": "changed", "csrf_token": token},
        follow_redirects=False,
    )
    assert edited.status_code == edit
    withdrawn = client.post(
        f"/proposals/{pid}/withdraw", data={"csrf_token": token}, follow_redirects=False
    )
    assert withdrawn.status_code == withdraw
    closed = client.post(
        f"/proposals/{pid}/close",
        data={"outcome": "deferred", "csrf_token": token},
        follow_redirects=False,
    )
    assert closed.status_code == (409 if withdraw == 303 and close == 303 else close)


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    ("who", "read", "propose", "respond", "edit", "close", "withdraw"),
    [
        (None, 401, 401, 401, 401, 401, 401),  # a bad token is refused even for reading
        ("rita", 200, 403, 201, 403, 403, 403),
        ("bob", 200, 201, 201, 403, 403, 403),
        ("alice", 200, 201, 201, 200, 403, 200),
        ("fran", 200, 201, 201, 200, 200, 403),
        ("ada", 200, 201, 201, 200, 200, 403),
    ],
)
def test_api_permissions_by_role(
    client: TestClient,
    session: Session,
    who: str | None,
    read: int,
    propose: int,
    respond: int,
    edit: int,
    close: int,
    withdraw: int,
) -> None:
    pid = _proposal(session, page_edit=True)
    auth = _bearer(session, who)
    assert client.get("/api/v1/proposals", headers=auth).status_code == read
    assert client.get(f"/api/v1/proposals/{pid}", headers=auth).status_code == read
    assert client.get(f"/api/v1/proposals/{pid}/tally", headers=auth).status_code == read
    assert client.get(f"/api/v1/proposals/{pid}/versions", headers=auth).status_code == read
    made = client.post("/api/v1/proposals", json={"title": "Mine"}, headers=auth)
    assert made.status_code == propose
    answered = client.post(
        f"/api/v1/proposals/{pid}/responses", json={"stance": "agree"}, headers=auth
    )
    assert answered.status_code == respond
    edited = client.patch(
        f"/api/v1/proposals/{pid}", json={"title": "Use an intake form"}, headers=auth
    )
    assert edited.status_code == edit
    change_id = client.get(f"/api/v1/proposals/{pid}").json()["changes"][0]["id"]
    fixed = client.put(
        f"/api/v1/proposals/{pid}/changes/{change_id}",
        json={"base": 1, "body": BODY + "\nMore.\n"},
        headers=auth,
    )
    assert fixed.status_code == close
    withdrawn = client.post(f"/api/v1/proposals/{pid}/withdraw", headers=auth)
    assert withdrawn.status_code == withdraw
    closed = client.post(
        f"/api/v1/proposals/{pid}/close", json={"outcome": "deferred"}, headers=auth
    )
    assert closed.status_code == close
    # anonymous reading without any token works on a public wiki
    assert client.get(f"/api/v1/proposals/{pid}").status_code == 200
    assert client.get(f"/api/v1/proposals/{pid}/tally").status_code == 200


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    ("who", "read", "respond", "close"),
    [
        (None, 401, 401, 401),
        ("rita", 403, 403, 403),  # a reader outside the workshop
        ("bob", 403, 403, 403),  # an editor outside the workshop
        ("pat", 200, 303, 403),  # a reader taking part
        ("alice", 200, 303, 403),  # an editor taking part (and the author)
        ("fran", 200, 303, 303),  # its facilitator
        ("ada", 200, 303, 303),  # admins run every workshop
    ],
)
def test_workshop_proposal_members_vs_non_members(
    client: TestClient, session: Session, who: str | None, read: int, respond: int, close: int
) -> None:
    idea = _workshop_idea(session)
    data = ProposalCreate(title="One form", source=ProposalSource.idea, source_id=idea.id)
    pid = service.create_proposal(session=session, data=data, author=_user(session, "alice")).id
    token = login(client, who) if who else csrf_from(client.get("/login").text)
    assert client.get(f"/proposals/{pid}").status_code == read
    assert client.get(f"/proposals/{pid}/tally").status_code == read
    assert client.get(f"/proposals/new?idea={idea.id}").status_code == (
        401 if who is None else 403 if who in ("rita", "pat", "bob") else 200
    )
    answered = client.post(
        f"/proposals/{pid}/respond",
        data={"stance": "agree", "csrf_token": token},
        follow_redirects=False,
    )
    assert answered.status_code == respond
    closed = client.post(
        f"/proposals/{pid}/close",
        data={"outcome": "rejected", "csrf_token": token},
        follow_redirects=False,
    )
    assert closed.status_code == close
    api = _bearer(session, who) if who else {}
    got = client.get(f"/api/v1/proposals/{pid}", headers=api)
    assert got.status_code == read
    api_answer = client.post(
        f"/api/v1/proposals/{pid}/responses", json={"stance": "abstain"}, headers=api
    )
    # already answered through the form (409) or refused like the form
    assert api_answer.status_code == (409 if respond == 303 else 403 if who is None else respond)
    listed = client.get("/proposals?state=all")
    assert listed.status_code == 200  # the list leaves out what one may not see
    assert (f'href="/proposals/{pid}"' in listed.text) == (read == 200)
