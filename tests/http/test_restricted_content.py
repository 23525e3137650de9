"""Restricted subtrees through HTTP: an outsider learns nothing of a restricted page from search
(results page, dropdown, API), discussions, the inbox and the notifications API, proposals or
decision records; a member of the group finds and reads all of it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import Role
from app.decisions import service as decisions
from app.decisions.schemas import DecisionCreate
from app.discussions import service as discussions
from app.discussions.schemas import ThreadCreate
from app.notifications import service as notifications
from app.pages import service as pages
from app.pages.schemas import PageEdit
from app.proposals import service as proposals
from app.proposals.models import ProposalSource
from app.proposals.schemas import ChangeCreate, ProposalCreate
from tests.factories import login, make_page, make_user
from tests.restricted import restrict

SLUG = "hr/salary-bands"
SECRETS = ("Salary bands", "salary-bands", "Bonus pool", "Fourth band", "bonus pool")


@dataclass
class World:
    thread_id: int
    proposal_id: int
    decision_ref: str


def _indexed(client: TestClient) -> None:
    assert client.app.state.indexer.wait_idle(10)  # type: ignore[attr-defined]


@pytest.fixture
def world(client: TestClient, session: Session) -> World:
    hanna = make_user(session, username="hanna", role=Role.editor)
    otto = make_user(session, username="otto", role=Role.editor)
    fran = make_user(session, username="fran", role=Role.facilitator)
    page = make_page(
        session, slug=SLUG, title="Salary bands", body="## Bands\n\nRemuneration bands.\n"
    )
    make_page(session, slug="handbook", title="Handbook", body="Remuneration is private.\n")
    for person in (hanna, otto):
        notifications.set_watch(session=session, page_id=page.id or 0, user=person, watching=True)
    restrict(session, "hr", editors=[hanna, fran])
    thread = discussions.open_thread(
        session=session,
        slug=SLUG,
        data=ThreadCreate(title="Bonus pool", body="@otto is the remuneration bonus pool fixed?"),
        author=hanna,
    )
    pages.save_page(
        session=session,
        slug=SLUG,
        edit=PageEdit(base=1, title="Salary bands", body="## Bands\n\nNew remuneration bands.\n"),
        author=fran,
    )
    proposal = proposals.create_proposal(
        session=session,
        data=ProposalCreate(
            title="Fourth band",
            source=ProposalSource.page_edit,
            changes=[ChangeCreate(slug=SLUG, base=2, body="Four remuneration bands.\n")],
        ),
        author=hanna,
    )
    decision = decisions.create_decision(
        session=session,
        data=DecisionCreate.model_validate(
            {
                "title": "Pay transparency",
                "deciders": ["fran"],
                "pages": [{"slug": SLUG}, {"slug": "handbook"}],
                "thread_ids": [thread.id],
            }
        ),
        user=fran,
    )
    _indexed(client)
    return World(thread.id or 0, proposal.id or 0, decisions.ref(decision.number))


def _clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


@pytest.mark.usefixtures("world")
def test_search_reveals_nothing_to_an_outsider(client: TestClient) -> None:
    login(client, "otto")
    assert client.get("/api/v1/search", params={"q": "fourth"}).json()["total"] == 0
    html = client.get("/search", params={"q": "remuneration"}).text
    _clean(html)
    assert "Handbook" in html
    assert "1 result" in html
    _clean(client.get("/search", params={"q": "salray bonus"}).text)  # no "did you mean"
    _clean(client.get("/search/suggest", params={"q": "sal"}).text)
    found = client.get("/api/v1/search", params={"q": "remuneration"}).json()
    assert found["total"] == 1
    assert [h["title"] for h in found["hits"]] == ["Handbook"]
    assert {f["value"]: f["count"] for f in found["facets"]["kind"]} == {"page": 1}
    _clean(str(found))
    assert client.get("/api/v1/search", params={"q": "in:hr"}).json()["total"] == 0


@pytest.mark.usefixtures("world")
def test_search_finds_everything_for_a_member(client: TestClient) -> None:
    login(client, "hanna")
    found = client.get("/api/v1/search", params={"q": "remuneration"}).json()
    kinds = sorted(h["kind"] for h in found["hits"])
    assert kinds == ["comment", "page", "page", "thread"]
    assert client.get("/api/v1/search", params={"q": "fourth"}).json()["total"] == 1
    assert "/wiki/hr/salary-bands" in client.get("/search/suggest", params={"q": "sal"}).text
    assert "Salary bands" in client.get("/search", params={"q": "remuneration"}).text


def test_discussions_are_not_found_by_an_outsider(client: TestClient, world: World) -> None:
    token = login(client, "otto")
    tid = world.thread_id
    for url in (f"/threads/{tid}", f"/api/v1/threads/{tid}"):
        response = client.get(url)
        assert response.status_code == 404, url
        _clean(response.text)
    # asked by address: "no page" at the address given, exactly as for a missing page
    assert client.get(f"/api/v1/pages/{SLUG}/threads").status_code == 404
    reply = client.post(
        f"/api/v1/threads/{tid}/comments", json={"body": "Hello"}, headers={"X-CSRF-Token": token}
    )
    assert reply.status_code == 404
    for url in (
        "/discussions?status=all",
        "/discussions/mine",
        "/api/v1/discussions?status=all",
        "/api/v1/me/discussions",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        _clean(response.text)


def test_discussions_work_for_a_member(client: TestClient, world: World) -> None:
    token = login(client, "hanna")
    assert "Bonus pool" in client.get(f"/threads/{world.thread_id}").text
    reply = client.post(
        f"/api/v1/threads/{world.thread_id}/comments",
        json={"body": "Fixed per year."},
        headers={"X-CSRF-Token": token},
    )
    assert reply.status_code == 201
    assert "Bonus pool" in client.get("/discussions?status=all").text


@pytest.mark.usefixtures("world")
def test_inbox_and_notifications_api_reveal_nothing_to_an_outsider(client: TestClient) -> None:
    login(client, "otto")
    _clean(client.get("/inbox?show=all").text)
    listed = client.get("/api/v1/notifications").json()
    assert listed["items"] == []
    assert listed["unread"] == 0
    assert client.get("/api/v1/notifications/unread-count").json()["unread"] == 0


@pytest.mark.usefixtures("world")
def test_inbox_shows_a_member_what_happened(client: TestClient) -> None:
    login(client, "hanna")
    titles = {n["page_title"] for n in client.get("/api/v1/notifications").json()["items"]}
    assert titles == {"Salary bands"}


def test_proposals_and_decisions_reveal_nothing_to_an_outsider(
    client: TestClient, world: World
) -> None:
    login(client, "otto")
    pid = world.proposal_id
    for url in (f"/proposals/{pid}", f"/api/v1/proposals/{pid}", f"/api/v1/proposals/{pid}/tally"):
        response = client.get(url)
        assert response.status_code == 404, url
        _clean(response.text)
    for url in (
        "/proposals?state=all",
        "/api/v1/proposals?state=all",
        f"/decisions/{world.decision_ref}",
        f"/api/v1/decisions/{world.decision_ref}",
        f"/api/v1/decisions/{world.decision_ref}/links",
        "/decisions",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        _clean(response.text)
    assert "Handbook" in client.get(f"/decisions/{world.decision_ref}").text


def test_proposals_and_decisions_show_a_member_everything(client: TestClient, world: World) -> None:
    login(client, "hanna")
    assert "Fourth band" in client.get(f"/proposals/{world.proposal_id}").text
    record = client.get(f"/decisions/{world.decision_ref}").text
    assert "Salary bands" in record
    assert "Bonus pool" in record
