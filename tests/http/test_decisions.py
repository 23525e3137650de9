"""Decisions through HTTP: the log, records, the form, statuses, amend, supersede, the current
answer, page governance on the page view, history and editor, and the API, by role."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.config import Settings
from app.core.db import begin_write
from app.decisions import service
from app.decisions.schemas import DecisionCreate, DecisionFromProposal, OptionIn, PageLinkIn
from app.notifications.mail import compose, subject_for
from app.notifications.models import Notification
from app.pages import service as pages
from app.pages.schemas import PageEdit
from tests.factories import csrf_from, login, make_page, make_user

SLUG = "core-processes/r2v"
BODY = "## Scope\n\nDemand arrives.\n\n## Triage\n\nThe BRM sorts requests weekly.\n"
HX = {"HX-Request": "true"}


@pytest.fixture
def seeded(session: Session) -> None:
    alice = make_user(session, username="alice", role=Role.editor)
    make_user(session, username="rita", role=Role.reader)
    make_user(session, username="fran", role=Role.facilitator)
    make_user(session, username="ada", role=Role.admin)
    make_page(session, slug=SLUG, title="R2V", body=BODY, author=alice)


def _record(session: Session, *, accept: bool = True, **kw: object) -> int:
    fran = accounts.get_user(session=session, username="fran")
    base: dict[str, object] = {
        "title": "Weekly triage",
        "context": "Demand piles up *unsorted*.",
        "options": [
            OptionIn(name="Weekly triage", pros="Fast", cons="More meetings"),
            OptionIn(name="Monthly board", pros="Calm", cons="Requests wait a month"),
        ],
        "chosen_option": "Weekly triage",
        "rationale": "Speed matters most.",
        "deciders": ["fran"],
        "tags": ["intake"],
        "pages": [PageLinkIn(slug=SLUG, section="h-triage")],
    }
    base.update(kw)
    d = service.create_decision(
        session=session, data=DecisionCreate.model_validate(base), user=fran
    )
    if accept:
        service.change_status(session=session, number=d.number, action="accept", user=fran)
    return d.number


def _form(token: str, **kw: str | list[str]) -> dict[str, str | list[str]]:
    data: dict[str, str | list[str]] = {
        "csrf_token": token,
        "title": "Adopt a service catalogue",
        "context": "Nobody knows what IT offers.",
        "option_name": ["Catalogue", "Wiki page", ""],
        "option_pros": ["Clear", "Cheap", ""],
        "option_cons": ["Effort", "Goes stale", ""],
        "chosen_option": "Catalogue",
        "method": "consent",
        "deciders": "fran, ada",
        "tags": "catalogue",
        "pages": f"{SLUG}#h-scope",
        "status": "draft",
    }
    data.update(kw)
    return data


# --- HTML ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("seeded")
def test_facilitator_records_proposes_accepts_and_amends(client: TestClient) -> None:
    token = login(client, "fran")
    assert client.get("/decisions/new").status_code == 200
    made = client.post("/decisions/new", data=_form(token), follow_redirects=False)
    assert made.status_code == 303, made.text
    assert made.headers["location"] == "/decisions/DEC-0001"
    record = client.get("/decisions/DEC-0001")
    assert record.status_code == 200
    assert "Adopt a service catalogue" in record.text
    assert "Goes stale" in record.text
    assert ">draft<" in record.text
    for action in ("propose", "accept"):
        r = client.post(
            "/decisions/DEC-0001/status",
            data={"action": action, "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 303
    assert ">accepted<" in client.get("/decisions/DEC-0001").text
    # accepted text is frozen: the edit screen becomes "amend", a plain edit is refused
    assert "Amend DEC-0001" in client.get("/decisions/DEC-0001/edit").text
    refused = client.post("/decisions/DEC-0001/edit", data=_form(token, title="Sneaky"))
    assert refused.status_code == 409
    assert "frozen" in refused.text
    no_reason = client.post("/decisions/DEC-0001/amend", data=_form(token, title="v2"))
    assert no_reason.status_code == 422
    assert "v2" in no_reason.text  # the form comes back with what was typed
    amended = client.post(
        "/decisions/DEC-0001/amend",
        data=_form(token, title="Adopt a service catalogue (v2)", reason="Scope grew"),
        follow_redirects=False,
    )
    assert amended.status_code == 303
    versions = client.get("/decisions/DEC-0001/versions")
    assert versions.status_code == 200
    assert "Scope grew" in versions.text
    back = client.post("/decisions/DEC-0001/status", data={"action": "draft", "csrf_token": token})
    assert back.status_code == 409
    assert "cannot become draft" in back.text


@pytest.mark.usefixtures("seeded")
def test_bad_form_input_is_a_clear_refusal(client: TestClient) -> None:
    token = login(client, "fran")
    for kw, message in (
        ({"deciders": "ghost"}, "@ghost"),
        ({"review_on": "2001-01-01"}, "in the past"),
        ({"review_on": "not-a-date"}, "review_on"),
        ({"supersedes": "DEC-0042"}, "DEC-0042"),
        ({"pages": "nowhere"}, "no page"),
        ({"workshop_id": "abc"}, "workshop_id"),
    ):
        r = client.post("/decisions/new", data=_form(token, **kw))
        assert r.status_code == 422, (kw, r.text)
        assert message in r.text
    assert "No decisions match" in client.get("/decisions").text


@pytest.mark.usefixtures("seeded")
def test_permanent_urls_and_unknown_numbers(client: TestClient, session: Session) -> None:
    _record(session)
    r = client.get("/decisions/1", follow_redirects=False)
    assert r.status_code == 308
    assert r.headers["location"] == "/decisions/DEC-0001"
    assert client.get("/decisions/dec-1").status_code == 200
    assert client.get("/decisions/DEC-0999").status_code == 404
    assert client.get("/decisions/banana").status_code == 404
    assert client.get("/api/v1/decisions/DEC-0999").status_code == 404
    assert client.get("/api/v1/decisions/DEC-0999").json()["detail"] == (
        "There is no decision DEC-0999."
    )


@pytest.mark.usefixtures("seeded")
def test_supersede_and_current_answer(client: TestClient, session: Session) -> None:
    _record(session)
    token = login(client, "fran")
    assert "Supersede" in client.get("/decisions/DEC-0001").text
    made = client.post(
        "/decisions/new",
        data=_form(token, title="Fortnightly triage", supersedes="DEC-0001"),
        follow_redirects=False,
    )
    assert made.status_code == 303
    page = client.get("/decisions/DEC-0001").text
    assert "would supersede this decision once accepted" in page
    client.post("/decisions/DEC-0002/status", data={"action": "accept", "csrf_token": token})
    assert "This decision was superseded by" in client.get("/decisions/DEC-0001").text
    current = client.get("/decisions/current/DEC-0001")
    assert current.status_code == 200
    assert "Fortnightly triage" in current.text
    assert "This is the decision in force" in current.text
    api = client.get("/api/v1/decisions/current/1").json()
    assert api["current"]["ref"] == "DEC-0002"
    assert api["chain"] == ["DEC-0001", "DEC-0002"]


@pytest.mark.usefixtures("seeded")
def test_log_filters_and_paging(client: TestClient, session: Session) -> None:
    _record(session)
    _record(session, accept=False, title="Draft idea", tags=["finance"], pages=[])
    log = client.get("/decisions")
    assert log.status_code == 200
    assert "DEC-0001" in log.text
    assert "DEC-0002" in log.text
    accepted = client.get("/decisions?status=accepted", headers=HX)
    assert 'id="decision-results"' in accepted.text
    assert "Weekly triage" in accepted.text
    assert "Draft idea" not in accepted.text
    assert "Draft idea" in client.get("/decisions?tag=finance").text
    assert "Draft idea" not in client.get("/decisions?under=core-processes").text
    assert "Weekly triage" in client.get("/decisions?decider=fran&since=2000-01-01").text
    assert "No decisions match" in client.get("/decisions?review=due").text
    assert client.get("/decisions?status=bogus").status_code == 422
    blank = client.get("/decisions?status=&tag=&under=&decider=&workshop=&since=&until=")
    assert blank.status_code == 200
    assert "DEC-0002" in blank.text
    api = client.get("/api/v1/decisions?status=accepted&limit=1").json()
    assert api["total"] == 1
    assert api["items"][0]["ref"] == "DEC-0001"


@pytest.mark.usefixtures("seeded")
def test_page_view_history_and_editor_show_governance(client: TestClient, session: Session) -> None:
    fran = accounts.get_user(session=session, username="fran")
    begin_write(session)
    page = pages.save_page(
        session=session,
        slug=SLUG,
        edit=PageEdit(base=1, title="R2V", body=BODY + "\nTuesdays.\n"),
        author=fran,
        commit=False,
    )
    decision = service.record_from_proposal(
        session=session,
        proposal=type("P", (), {"id": None, "workshop_id": None})(),
        actor=fran,
        data=DecisionFromProposal(
            title="Triage on Tuesdays", pages=[PageLinkIn(slug=SLUG, section="h-triage")]
        ),
    )
    assert page.revision is not None
    service.link_revision(
        session=session, decision=decision, page_id=page.page.id or 0, revision=page.revision.number
    )
    session.commit()
    login(client, "alice")
    view = client.get(f"/wiki/{SLUG}").text
    assert "Decisions governing this page" in view
    assert "DEC-0001" in view
    history = client.get(f"/history/{SLUG}").text
    assert 'href="/decisions/DEC-0001"' in history
    editor = client.get(f"/edit/{SLUG}").text
    assert "governed by" in editor
    assert "DEC-0001" in editor
    record = client.get("/decisions/DEC-0001").text
    assert "revision 2" in record


# --- API ----------------------------------------------------------------------------------------


def _auth(session: Session, who: str | None) -> dict[str, str]:
    if who is None:
        return {}
    return {"Authorization": f"Bearer {accounts.create_token(session=session, username=who)[1]}"}


@pytest.mark.usefixtures("seeded")
def test_api_scripts_a_decision_end_to_end(client: TestClient, session: Session) -> None:
    auth = _auth(session, "fran")
    body = {
        "title": "Use OKRs",
        "options": [{"name": "OKRs", "cons": "Overhead"}, {"name": "KPIs only"}],
        "chosen_option": "OKRs",
        "deciders": ["fran"],
        "pages": [{"slug": SLUG}],
    }
    made = client.post("/api/v1/decisions", json=body, headers=auth)
    assert made.status_code == 201, made.text
    assert made.json()["ref"] == "DEC-0001"
    assert made.json()["links"][0]["page_slug"] == SLUG
    put = client.put(
        "/api/v1/decisions/DEC-0001", json={**body, "title": "Use OKRs quarterly"}, headers=auth
    )
    assert put.status_code == 200
    assert put.json()["title"] == "Use OKRs quarterly"
    for action in ("propose", "accept"):
        r = client.post("/api/v1/decisions/1/status", json={"action": action}, headers=auth)
        assert r.status_code == 200
    assert r.json()["status"] == "accepted"
    frozen = client.put("/api/v1/decisions/1", json=body, headers=auth)
    assert frozen.status_code == 409
    assert frozen.headers["content-type"].startswith("application/problem+json")
    amended = client.post(
        "/api/v1/decisions/1/amend", json={**body, "reason": "Quarterly"}, headers=auth
    )
    assert amended.json()["version"] == 2
    versions = client.get("/api/v1/decisions/1/versions", headers=auth).json()
    assert versions[0]["reason"] == "Quarterly"
    new = client.post(
        "/api/v1/decisions/1/supersede", json={**body, "title": "OKRs v2"}, headers=auth
    )
    assert new.status_code == 201
    assert new.json()["supersedes"] == "DEC-0001"
    loop = client.put("/api/v1/decisions/2", json={**body, "supersedes": "DEC-0002"}, headers=auth)
    assert loop.status_code == 422
    assert "itself" in loop.json()["detail"]
    client.post("/api/v1/decisions/2/status", json={"action": "accept"}, headers=auth)
    old = client.get("/api/v1/decisions/1", headers=auth).json()
    assert old["status"] == "superseded"
    assert old["superseded_by"] == "DEC-0002"
    links = client.get("/api/v1/decisions/1/links", headers=auth).json()
    assert links[0]["kind"] == "page"
    bad = client.post("/api/v1/decisions", json={**body, "deciders": ["nobody"]}, headers=auth)
    assert bad.status_code == 422
    assert "@nobody" in bad.json()["detail"]
    past = client.post("/api/v1/decisions", json={**body, "review_on": "2001-01-01"}, headers=auth)
    assert past.status_code == 422
    assert client.get("/api/v1/decisions", headers=auth).json()["total"] == 2


# --- permissions, every route, by role ------------------------------------------------------

ROLES = [
    (None, 200, 401),
    ("rita", 200, 403),
    ("alice", 200, 403),
    ("fran", 200, 200),
    ("ada", 200, 200),
]


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(("who", "read", "record"), ROLES)
def test_permissions_by_role(
    client: TestClient, session: Session, who: str | None, read: int, record: int
) -> None:
    _record(session)
    draft = _record(session, accept=False, title="A draft")
    token = login(client, who) if who else csrf_from(client.get("/login").text)
    assert client.get("/decisions").status_code == read
    assert client.get("/decisions/DEC-0001").status_code == read
    assert client.get("/decisions/1", follow_redirects=False).status_code == 308
    assert client.get("/decisions/current/DEC-0001").status_code == read
    assert client.get("/decisions/DEC-0001/versions").status_code == read
    assert client.get("/decisions/new").status_code == record
    assert client.get("/decisions/DEC-0001/edit").status_code == record
    made = client.post("/decisions/new", data=_form(token), follow_redirects=False)
    assert made.status_code == (303 if record == 200 else record)
    edit = client.post(
        f"/decisions/{draft}/edit", data=_form(token, title="Edited"), follow_redirects=False
    )
    assert edit.status_code == (303 if record == 200 else record)
    amend = client.post(
        "/decisions/DEC-0001/amend", data=_form(token, reason="r"), follow_redirects=False
    )
    assert amend.status_code == (303 if record == 200 else record)
    status = client.post(
        f"/decisions/{draft}/status",
        data={"action": "propose", "csrf_token": token},
        follow_redirects=False,
    )
    assert status.status_code == (303 if record == 200 else record)


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(("who", "read", "record"), ROLES)
def test_api_permissions_by_role(
    client: TestClient, session: Session, who: str | None, read: int, record: int
) -> None:
    _record(session)
    draft = _record(session, accept=False, title="A draft")
    auth = _auth(session, who) if who else {"Authorization": "Bearer not-a-token"}
    read = 401 if who is None else read  # a bad token is refused even for reading
    body = {"title": "X", "deciders": ["fran"]}
    created = 201 if record == 200 else record
    assert client.get("/api/v1/decisions", headers=auth).status_code == read
    assert client.get("/api/v1/decisions/DEC-0001", headers=auth).status_code == read
    assert client.get("/api/v1/decisions/current/1", headers=auth).status_code == read
    assert client.get("/api/v1/decisions/1/versions", headers=auth).status_code == read
    assert client.get("/api/v1/decisions/1/links", headers=auth).status_code == read
    assert client.post("/api/v1/decisions", json=body, headers=auth).status_code == created
    assert client.put(f"/api/v1/decisions/{draft}", json=body, headers=auth).status_code == record
    status = client.post(
        f"/api/v1/decisions/{draft}/status", json={"action": "propose"}, headers=auth
    )
    assert status.status_code == record
    amend = client.post("/api/v1/decisions/1/amend", json={**body, "reason": "r"}, headers=auth)
    assert amend.status_code == record
    sup = client.post("/api/v1/decisions/1/supersede", json=body, headers=auth)
    assert sup.status_code == created
    # anonymous reading without any token works on a public wiki
    assert client.get("/api/v1/decisions/1").status_code == 200


def test_private_wiki_hides_decisions_from_visitors(settings: object, session: Session) -> None:
    from app.main import create_app

    assert isinstance(settings, Settings)
    make_user(session, username="fran", role=Role.facilitator)
    private = settings.model_copy(update={"public_read": False})
    with TestClient(create_app(private)) as c:
        assert c.get("/decisions").status_code == 401
        assert c.get("/api/v1/decisions").status_code == 401


@pytest.mark.usefixtures("seeded")
def test_review_reminder_reaches_the_inbox_and_email_subject(
    client: TestClient, session: Session
) -> None:
    number = _record(session, accept=False, deciders=["fran", "ada"], review_on=service.today())
    fran = accounts.get_user(session=session, username="fran")
    service.change_status(session=session, number=number, action="accept", user=fran)
    assert service.send_review_reminders(session=session) == 1
    login(client, "ada")
    inbox = client.get("/inbox").text
    assert "recorded a decision" in inbox
    assert "due for review" in inbox
    assert "DEC-0001: Weekly triage" in inbox
    notes = session.exec(select(Notification)).all()
    subjects = {subject_for(n, None) for n in notes}
    assert "[Atrium] A decision is due for review: “DEC-0001: Weekly triage”" in subjects
    ada = accounts.get_user(session=session, username="ada")
    mail = compose(notes[0], ada, fran, Settings(secret_key="x"))
    assert "/decisions/DEC-0001" in mail.get_content()


@pytest.mark.usefixtures("seeded")
def test_search_finds_rejected_options(client: TestClient, session: Session) -> None:
    """ "why not monthly?": the rejected option's cons lead to the decision, HTML and API."""
    _record(session)
    assert client.app.state.indexer.wait_idle(10)  # type: ignore[attr-defined]
    html = client.get("/search", params={"q": "kind:decision status:accepted month"})
    assert html.status_code == 200
    assert "DEC-0001: Weekly triage" in html.text
    assert 'href="/decisions/DEC-0001"' in html.text
    api = client.get("/api/v1/search", params={"q": "requests wait a month kind:decision"})
    assert [h["url"] for h in api.json()["hits"]] == ["/decisions/DEC-0001"]


def test_openapi_documents_the_decisions_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/decisions",
        "/api/v1/decisions/{ref}",
        "/api/v1/decisions/current/{ref}",
        "/api/v1/decisions/{ref}/status",
        "/api/v1/decisions/{ref}/amend",
        "/api/v1/decisions/{ref}/supersede",
        "/api/v1/decisions/{ref}/versions",
        "/api/v1/decisions/{ref}/links",
    ):
        assert path in paths, path
    assert "/decisions" not in paths  # HTML screens stay out of the API schema
