"""Page ownership and review through HTTP: the page's status box and overdue banner, the
stewardship form, mark reviewed, the review list and its navigation link, the history timeline,
and the API, for anonymous visitors, readers, editors and owners."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.db import begin_write
from app.decisions import service as decisions
from app.decisions.schemas import DecisionCreate
from app.notifications.models import Notification, NotificationKind
from app.reviews import service
from app.reviews.models import PageStewardship, ReviewStatus, StewardshipEvent
from app.reviews.schemas import StewardshipUpdate
from tests.factories import csrf_from, login, make_page, make_user

SLUG = "core-processes/incident"
HX = {"HX-Request": "true"}


@pytest.fixture
def seeded(session: Session) -> int:
    alice = make_user(session, username="alice", role=Role.editor)
    make_user(session, username="bob", role=Role.editor)
    make_user(session, username="rita", role=Role.reader)
    return make_page(session, slug=SLUG, title="Incident management", author=alice).id or 0


def _steward(session: Session, **fields: object) -> None:
    alice = accounts.get_user(session=session, username="alice")
    service.set_stewardship(
        session=session, slug=SLUG, data=StewardshipUpdate.model_validate(fields), user=alice
    )


def _backdate(session: Session, page_id: int, days: int) -> None:
    begin_write(session)
    row = session.get(PageStewardship, page_id)
    assert row is not None
    row.review_by = service.today() - timedelta(days=days)
    session.add(row)
    session.commit()


def _text(html: str) -> str:
    """What a reader sees: the page's text without tags, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" ,", ",")


def _auth(session: Session, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_token(session=session, username=who)[1]}"}


def _form(token: str, **kw: str) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "owners": "alice, bob",
        "status": "in_review",
        "review_by": (service.today() + timedelta(days=30)).isoformat(),
        "review_months": "6",
        "approved_by": "",
    }
    data.update(kw)
    return data


# --- the page view ------------------------------------------------------------------------------


def test_page_shows_owners_status_and_overdue_banner(
    client: TestClient, session: Session, seeded: int
) -> None:
    page = client.get(f"/wiki/{SLUG}")
    assert page.status_code == 200
    assert "review-status" not in page.text  # nothing set, and a visitor cannot set it
    _steward(session, owners=["alice", "bob"], status="approved", review_by=service.today())
    page = client.get(f"/wiki/{SLUG}")
    assert "Status Approved" in _text(page.text)
    assert "Owners Alice, Bob" in _text(page.text)
    assert "Review overdue since" in page.text  # due today
    _backdate(session, seeded, 12)
    overdue = service.today() - timedelta(days=12)
    page = client.get(f"/wiki/{SLUG}")
    assert f"Review overdue since {overdue.strftime('%d %b %Y')}" in page.text
    assert "Mark reviewed" not in page.text  # visitors only see it


@pytest.mark.usefixtures("seeded")
def test_editor_sees_the_steward_actions_and_a_reader_does_not(client: TestClient) -> None:
    login(client, "rita")
    assert "Set owners and review date" not in client.get(f"/wiki/{SLUG}").text
    assert client.get(f"/stewardship/{SLUG}").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    login(client, "alice")
    page = client.get(f"/wiki/{SLUG}").text
    assert f'href="/stewardship/{SLUG}"' in page
    assert "Set owners and review date" in page


# --- the form -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("seeded")
def test_stewardship_form_saves_and_history_shows_it(client: TestClient) -> None:
    token = login(client, "alice")
    form = client.get(f"/stewardship/{SLUG}")
    assert form.status_code == 200
    assert 'name="owners"' in form.text
    saved = client.post(f"/stewardship/{SLUG}", data=_form(token), follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/wiki/{SLUG}"
    page = _text(client.get(f"/wiki/{SLUG}").text)
    assert "Status In review" in page
    assert "Owners Alice, Bob" in page
    history = client.get(f"/history/{SLUG}").text
    assert "timeline-stewardship" in history
    assert "Owners: alice, bob" in history
    assert "Review interval: 6 months" in history


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("review_by", "2001-01-01", "is in the past"),
        ("owners", "alice, ghost", "no active user &#39;ghost&#39;"),
        ("approved_by", "DEC-0009", "There is no decision DEC-0009"),
        ("approved_by", "nonsense", "is not a decision number"),
        ("review_by", "not-a-date", "is not a date"),
        ("status", "finished", "Unknown status"),
        ("review_months", "0", "from 1 to 60"),
    ],
)
def test_bad_input_is_a_clear_message_and_nothing_is_written(
    client: TestClient, session: Session, seeded: int, field: str, value: str, message: str
) -> None:
    token = login(client, "alice")
    extra = {"status": "approved"} if field == "approved_by" else {}
    r = client.post(f"/stewardship/{SLUG}", data=_form(token, **{field: value, **extra}))
    assert r.status_code == 422
    assert "Nothing was saved." in r.text
    assert message in r.text
    assert 'value="alice, bob' in r.text or field == "owners"  # what was typed is kept
    session.expire_all()
    assert session.get(PageStewardship, seeded) is None
    assert session.exec(select(StewardshipEvent)).first() is None


def test_form_of_an_overdue_page_saves_with_its_date_unchanged(
    client: TestClient, session: Session, seeded: int
) -> None:
    _steward(session, owners=["alice"], status="approved", review_by=service.today())
    _backdate(session, seeded, 7)
    past = (service.today() - timedelta(days=7)).isoformat()
    token = login(client, "alice")
    form = client.get(f"/stewardship/{SLUG}").text
    assert "This date has passed" in form
    r = client.post(
        f"/stewardship/{SLUG}",
        data=_form(token, owners="alice, rita", status="needs_review", review_by=past),
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Owners Alice, Rita" in _text(client.get(f"/wiki/{SLUG}").text)


@pytest.mark.usefixtures("seeded")
def test_approved_by_an_existing_decision(client: TestClient, session: Session) -> None:
    fran = make_user(session, username="fran", role=Role.facilitator)
    decisions.create_decision(session=session, data=DecisionCreate(title="Desk first"), user=fran)
    token = login(client, "alice")
    r = client.post(
        f"/stewardship/{SLUG}",
        data=_form(token, status="approved", approved_by="dec-1"),
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/wiki/{SLUG}").text
    assert 'href="/decisions/DEC-0001"' in page


def test_anonymous_and_reader_cannot_post(
    client: TestClient, session: Session, seeded: int
) -> None:
    token = csrf_from(client.get("/login").text)
    assert client.post(f"/stewardship/{SLUG}", data=_form(token)).status_code == 401
    assert client.post(f"/mark-reviewed/{SLUG}", data={"csrf_token": token}).status_code == 401
    token = login(client, "rita")
    assert client.post(f"/stewardship/{SLUG}", data=_form(token)).status_code == 403
    assert client.post(f"/mark-reviewed/{SLUG}", data={"csrf_token": token}).status_code == 403
    session.expire_all()
    assert session.get(PageStewardship, seeded) is None


def test_reader_who_owns_the_page_may_mark_it_reviewed(
    client: TestClient, session: Session, seeded: int
) -> None:
    _steward(session, owners=["rita"], status="approved", review_by=service.today())
    _backdate(session, seeded, 3)
    token = login(client, "rita")
    page = client.get(f"/wiki/{SLUG}").text
    assert "Review overdue since" in page
    assert "Mark reviewed" in page
    r = client.post(
        f"/mark-reviewed/{SLUG}",
        data={"csrf_token": token, "note": "Checked the escalation matrix"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = _text(client.get(f"/wiki/{SLUG}").text)
    assert "Review overdue" not in page
    assert "Last reviewed" in page
    assert "by Rita" in page
    nxt = service.add_months(service.today(), 12)
    assert nxt.strftime("%d %b %Y") in page
    history = client.get(f"/history/{SLUG}").text
    assert "Checked the escalation matrix" in history


def test_mark_reviewed_with_a_past_next_date_is_refused(
    client: TestClient, session: Session, seeded: int
) -> None:
    token = login(client, "alice")
    r = client.post(
        f"/mark-reviewed/{SLUG}", data={"csrf_token": token, "next_review": "2020-02-02"}
    )
    assert r.status_code == 422
    assert "pick after today" in r.text
    r = client.post(
        f"/mark-reviewed/{SLUG}",
        data={"csrf_token": token, "next_review": "2020-02-02"},
        headers=HX,
    )
    assert r.status_code == 422
    assert r.headers["HX-Retarget"] == "#flash"
    session.expire_all()
    assert session.get(PageStewardship, seeded) is None


# --- the review list ----------------------------------------------------------------------------


def test_review_list_filters_and_nav_link(
    client: TestClient, session: Session, seeded: int
) -> None:
    alice = accounts.get_user(session=session, username="alice")
    make_page(session, slug="guides/onboarding", title="Onboarding", author=alice)
    service.set_stewardship(
        session=session,
        slug="guides/onboarding",
        data=StewardshipUpdate(owners=["bob"], review_by=service.today() + timedelta(days=20)),
        user=alice,
    )
    _steward(session, owners=["alice"], status="approved", review_by=service.today())
    _backdate(session, seeded, 4)
    assert 'href="/reviews"' not in client.get("/recent").text  # visitors: no link
    listed = client.get("/reviews")
    assert listed.status_code == 200
    text = listed.text
    assert text.index("Incident management") < text.index("Onboarding")  # overdue first
    assert "overdue by 4 days" in text
    assert "in 20 days" in text
    assert "1 overdue" in text
    only_bob = client.get("/reviews?owner=bob").text
    assert "Onboarding" in only_bob
    assert "Incident management" not in only_bob
    under = client.get("/reviews?under=core-processes", headers=HX)
    assert under.status_code == 200
    assert "<html" not in under.text
    assert "Incident management" in under.text
    assert "Onboarding" not in under.text
    overdue = client.get("/reviews?overdue=true").text
    assert "Onboarding" not in overdue
    assert "Incident management" in overdue
    unknown = client.get("/reviews?owner=ghost")
    assert unknown.status_code == 200
    assert "There is no user &#39;ghost&#39;" in unknown.text
    login(client, "rita")
    assert 'href="/reviews"' in client.get("/recent").text


# --- notifications ------------------------------------------------------------------------------


def test_due_check_reaches_the_owners_inbox(
    client: TestClient, session: Session, seeded: int
) -> None:
    _steward(session, owners=["bob"], status="approved", review_by=service.today())
    _backdate(session, seeded, 1)
    assert service.send_due_notifications(session=session) == 1
    login(client, "bob")
    inbox = client.get("/inbox").text
    assert "a page you own is due for review" in inbox
    assert f'href="/wiki/{SLUG}"' in inbox
    page = _text(client.get(f"/wiki/{SLUG}").text)
    assert "Status Needs review" in page
    notes = session.exec(
        select(Notification).where(Notification.kind == NotificationKind.review_due)
    ).all()
    assert len(notes) == 1


# --- the API ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("seeded")
def test_api_get_set_mark_and_list(client: TestClient, session: Session) -> None:
    auth = _auth(session, "alice")
    r = client.get(f"/api/v1/stewardship/{SLUG}")
    assert r.status_code == 200
    assert r.json()["status"] == "draft"
    assert r.json()["owners"] == []
    day = (service.today() + timedelta(days=9)).isoformat()
    r = client.patch(
        f"/api/v1/stewardship/{SLUG}",
        json={"owners": ["bob", "alice"], "status": "in_review", "review_by": day},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["owners"], body["status"], body["review_by"]) == (
        ["alice", "bob"],
        "in_review",
        day,
    )
    assert body["history"][0]["actor"] == "alice"
    # only the fields given change
    r = client.patch(f"/api/v1/stewardship/{SLUG}", json={"review_months": 3}, headers=auth)
    assert r.json()["owners"] == ["alice", "bob"]
    assert r.json()["review_months"] == 3
    r = client.post(f"/api/v1/stewardship/{SLUG}/reviewed", headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "approved"
    assert body["last_reviewed_by"] == "alice"
    assert body["review_by"] == service.add_months(service.today(), 3).isoformat()
    assert body["history"][0]["kind"] == "reviewed"
    r = client.get("/api/v1/reviews?owner=bob")
    assert r.status_code == 200
    (item,) = r.json()["items"]
    assert item["slug"] == SLUG
    assert item["overdue"] is False
    assert item["days"] > 0
    # clearing the review date takes the page off the list
    r = client.patch(f"/api/v1/stewardship/{SLUG}", json={"review_by": None}, headers=auth)
    assert r.json()["review_by"] is None
    assert client.get("/api/v1/reviews").json()["items"] == []


@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        ({"review_by": "2000-01-01"}, 422, "in the past"),
        ({"owners": ["ghost"]}, 422, "ghost"),
        ({"status": "approved", "approved_by": "DEC-0077"}, 422, "There is no decision DEC-0077"),
        ({"status": "nope"}, 422, "status"),
        ({"review_months": 0}, 422, "review_months"),
        ({"status": "needs_review"}, 409, "cannot become needs review"),
    ],
)
def test_api_bad_input_is_a_problem_and_nothing_is_written(
    client: TestClient,
    session: Session,
    seeded: int,
    payload: dict[str, object],
    status: int,
    fragment: str,
) -> None:
    r = client.patch(f"/api/v1/stewardship/{SLUG}", json=payload, headers=_auth(session, "alice"))
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert fragment in r.json()["detail"]
    session.expire_all()
    assert session.get(PageStewardship, seeded) is None


def test_api_permissions(client: TestClient, session: Session, seeded: int) -> None:
    nobody = {"Authorization": "Bearer not-a-token"}
    r = client.patch(f"/api/v1/stewardship/{SLUG}", json={"status": "in_review"}, headers=nobody)
    assert r.status_code == 401
    assert client.post(f"/api/v1/stewardship/{SLUG}/reviewed", headers=nobody).status_code == 401
    # a browser request without its CSRF token is refused before anything else
    assert client.post(f"/api/v1/stewardship/{SLUG}/reviewed").status_code == 403
    rita = _auth(session, "rita")
    r = client.patch(f"/api/v1/stewardship/{SLUG}", json={"status": "in_review"}, headers=rita)
    assert r.status_code == 403
    assert client.post(f"/api/v1/stewardship/{SLUG}/reviewed", headers=rita).status_code == 403
    assert client.get("/api/v1/stewardship/no/such/page").status_code == 404
    r = client.post("/api/v1/stewardship/no/such/page/reviewed", headers=_auth(session, "alice"))
    assert r.status_code == 404
    session.expire_all()
    assert session.get(PageStewardship, seeded) is None
    # an owner who is a reader may
    _steward(session, owners=["rita"])
    r = client.patch(f"/api/v1/stewardship/{SLUG}", json={"status": "in_review"}, headers=rita)
    assert r.status_code == 200
    assert r.json()["status"] == ReviewStatus.in_review.value


def test_openapi_documents_the_reviews_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"get", "patch"} <= set(paths["/api/v1/stewardship/{slug}"])
    assert "post" in paths["/api/v1/stewardship/{slug}/reviewed"]
    assert "get" in paths["/api/v1/reviews"]
