"""Decisions service: numbering, MADR text, statuses, amend and supersede, the current answer,
review reminders, the log's filters and page governance."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.core.config import Settings
from app.core.db import begin_write, open_session
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.decisions import service
from app.decisions.models import Decision, DecisionStatus, DecisionVersion
from app.decisions.schemas import (
    DecisionAmend,
    DecisionCreate,
    DecisionFromProposal,
    DecisionUpdate,
    LogFilters,
    OptionIn,
    PageLinkIn,
)
from app.notifications.models import Notification, NotificationKind
from app.search.models import OutboxEvent
from tests.factories import make_page, make_user

SLUG = "core-processes/r2v"
BODY = "## Scope\n\nDemand arrives.\n\n## Triage\n\nThe BRM sorts requests weekly.\n"


@pytest.fixture
def fran(session: Session) -> User:
    return make_user(session, username="fran", role=Role.facilitator)


@pytest.fixture
def alice(session: Session) -> User:
    return make_user(session, username="alice", role=Role.editor)


@pytest.fixture
def rita(session: Session) -> User:
    return make_user(session, username="rita", role=Role.reader)


@pytest.fixture(autouse=True)
def page(session: Session, alice: User) -> int:
    return make_page(session, slug=SLUG, title="R2V", body=BODY, author=alice).id or 0


def _data(**kw: object) -> DecisionCreate:
    base: dict[str, object] = {
        "title": "Weekly triage by the BRM",
        "context": "Demand piles up.",
        "options": [
            OptionIn(name="Weekly triage", pros="Fast", cons="Meetings"),
            OptionIn(name="Monthly board", pros="Calm", cons="Slow; **waits a month**"),
        ],
        "chosen_option": "Weekly triage",
        "rationale": "Speed matters most.",
        "deciders": ["fran"],
        "tags": "intake, Triage",
    }
    base.update(kw)
    return DecisionCreate.model_validate(base)


def _create(session: Session, user: User, **kw: object) -> Decision:
    return service.create_decision(session=session, data=_data(**kw), user=user)


def _accept(session: Session, user: User, number: int) -> Decision:
    return service.change_status(session=session, number=number, action="accept", user=user)


# --- recording and numbering --------------------------------------------------------------


def test_facilitator_records_numbered_decisions(session: Session, fran: User, rita: User) -> None:
    one = _create(session, fran)
    two = _create(session, fran, title="Second")
    assert (one.number, two.number) == (1, 2)
    assert one.status is DecisionStatus.draft
    assert one.tags == ["intake", "triage"]
    view = service.get_decision(session=session, number=1, user=rita)
    assert view.ref == "DEC-0001"
    assert [u.username for u in view.deciders] == ["fran"]
    kinds = {(e.kind, e.ref_id) for e in session.exec(select(OutboxEvent))}
    assert ("decision", one.id) in kinds


def test_roles_that_may_not_record(session: Session, alice: User, rita: User) -> None:
    with pytest.raises(Forbidden):
        _create(session, alice)
    with pytest.raises(Forbidden):
        _create(session, rita)
    with pytest.raises(Unauthorized):
        _create(session, None)  # type: ignore[arg-type]
    assert session.exec(select(Decision)).first() is None


def test_numbering_is_safe_under_two_concurrent_sessions(
    engine: Engine, settings: Settings, fran: User
) -> None:
    """Two writers that both read max(number) cannot both take the same number."""
    barrier = threading.Barrier(2, timeout=10)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def record(title: str) -> None:
        try:
            with open_session(engine, settings) as s:
                me = s.get(User, fran.id)
                barrier.wait()
                numbers.append(
                    service.create_decision(session=s, data=_data(title=title), user=me).number
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(f"T{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(numbers) == [1, 2]


def test_unknown_people_pages_and_sections_are_refused_and_nothing_written(
    session: Session, fran: User
) -> None:
    with pytest.raises(Invalid, match="@nobody"):
        _create(session, fran, deciders=["fran", "nobody"])
    with pytest.raises(Invalid, match="no page"):
        _create(session, fran, pages=[PageLinkIn(slug="nowhere")])
    with pytest.raises(Invalid, match="no section"):
        _create(session, fran, pages=[PageLinkIn(slug=SLUG, section="h-nope")])
    with pytest.raises(Invalid, match="not one of the options"):
        _create(session, fran, chosen_option="Something else")
    with pytest.raises(Invalid, match="discussion #99"):
        _create(session, fran, thread_ids=[99])
    assert session.exec(select(Decision)).first() is None


def test_review_date_in_the_past_is_refused(session: Session, fran: User) -> None:
    past = service.today() - timedelta(days=1)
    with pytest.raises(Invalid, match="in the past"):
        _create(session, fran, review_on=past)
    d = _create(session, fran, review_on=service.today())
    assert d.review_on == service.today()


# --- statuses and frozen text -------------------------------------------------------------


def test_status_transitions_are_validated(session: Session, fran: User) -> None:
    d = _create(session, fran)
    service.change_status(session=session, number=d.number, action="propose", user=fran)
    accepted = _accept(session, fran, d.number)
    assert accepted.status is DecisionStatus.accepted
    assert accepted.decided_on == service.today()
    with pytest.raises(Conflict, match="cannot become draft"):
        service.change_status(session=session, number=d.number, action="draft", user=fran)
    with pytest.raises(Conflict, match="cannot become rejected"):
        service.change_status(session=session, number=d.number, action="reject", user=fran)
    dep = service.change_status(session=session, number=d.number, action="deprecate", user=fran)
    assert dep.status is DecisionStatus.deprecated
    with pytest.raises(NotFound, match="DEC-0042"):
        service.change_status(session=session, number=42, action="accept", user=fran)
    with pytest.raises(Invalid):
        service.change_status(session=session, number=d.number, action="explode", user=fran)


def test_accepted_text_is_frozen_and_changes_by_amending(
    session: Session, fran: User, rita: User
) -> None:
    d = _create(session, fran)
    service.update_decision(
        session=session,
        number=d.number,
        data=DecisionUpdate(**_data(title="Edited").model_dump()),
        user=fran,
    )
    _accept(session, fran, d.number)
    with pytest.raises(Conflict, match="frozen"):
        service.update_decision(
            session=session,
            number=d.number,
            data=DecisionUpdate(**_data(title="Sneaky").model_dump()),
            user=fran,
        )
    assert service.get_decision(session=session, number=d.number, user=rita).decision.title == (
        "Edited"
    )
    amend = DecisionAmend(**_data(title="Amended").model_dump(exclude={"status"}), reason="")
    with pytest.raises(Invalid, match="why"):
        service.amend_decision(session=session, number=d.number, data=amend, user=fran)
    amend.reason = "Triage moved to Tuesdays"
    amended = service.amend_decision(session=session, number=d.number, data=amend, user=fran)
    assert (amended.title, amended.version, amended.status) == ("Amended", 2, "accepted")
    view, versions = service.decision_versions(session=session, number=d.number, user=rita)
    assert [(v.version, v.reason, v.snapshot["title"]) for v, _ in versions] == [
        (1, "Triage moved to Tuesdays", "Edited")
    ]
    assert versions[0][1] is not None
    assert view.decision.version == 2


def test_amending_a_draft_is_refused(session: Session, fran: User) -> None:
    d = _create(session, fran)
    amend = DecisionAmend(**_data().model_dump(exclude={"status"}), reason="x")
    with pytest.raises(Conflict, match="only an accepted"):
        service.amend_decision(session=session, number=d.number, data=amend, user=fran)
    assert session.exec(select(DecisionVersion)).first() is None


# --- superseding and the current answer ---------------------------------------------------


def test_superseding_links_both_ways_and_flips_only_on_accept(
    session: Session, fran: User, rita: User
) -> None:
    old = _create(session, fran)
    _accept(session, fran, old.number)
    new = _create(session, fran, title="Fortnightly triage", supersedes="DEC-0001")
    view = service.get_decision(session=session, number=old.number, user=rita)
    assert view.decision.status is DecisionStatus.accepted
    assert view.superseded_by is not None
    assert view.superseded_by.number == new.number
    _accept(session, fran, new.number)
    view = service.get_decision(session=session, number=old.number, user=rita)
    assert view.decision.status is DecisionStatus.superseded
    current, path = service.current_answer(session=session, number=old.number, user=rita)
    assert current.decision.number == new.number
    assert [d.number for d in path] == [1, 2]


def test_current_answer_follows_a_chain(session: Session, fran: User, rita: User) -> None:
    _accept(session, fran, _create(session, fran).number)
    _accept(session, fran, _create(session, fran, supersedes="DEC-0001").number)
    _accept(session, fran, _create(session, fran, supersedes="DEC-0002").number)
    current, path = service.current_answer(session=session, number=1, user=rita)
    assert current.ref == "DEC-0003"
    assert [d.number for d in path] == [1, 2, 3]
    record = service.get_record(session=session, number=2, user=rita)
    assert [d.number for d in record.chain] == [1, 2, 3]


def test_rejected_replacement_releases_the_old_decision(session: Session, fran: User) -> None:
    _accept(session, fran, _create(session, fran).number)
    new = _create(session, fran, supersedes="DEC-1")
    service.change_status(session=session, number=new.number, action="reject", user=fran)
    old = service.get_decision(session=session, number=1, user=fran)
    assert old.decision.status is DecisionStatus.accepted
    assert old.superseded_by is None


def test_superseding_yourself_a_cycle_or_a_draft_is_refused(session: Session, fran: User) -> None:
    first = _create(session, fran)
    with pytest.raises(Invalid, match="only an accepted"):
        _create(session, fran, supersedes="DEC-0001")
    _accept(session, fran, first.number)
    second = _create(session, fran, supersedes="DEC-0001")
    with pytest.raises(Invalid, match="itself"):
        service.update_decision(
            session=session,
            number=second.number,
            data=DecisionUpdate(**_data(supersedes="DEC-0002").model_dump()),
            user=fran,
        )
    _accept(session, fran, second.number)
    # DEC-1 is superseded now; make a draft DEC-3 supersede DEC-2, then try DEC-2 -> DEC-3
    third = _create(session, fran, supersedes="DEC-0002")
    with pytest.raises(Conflict, match="already being superseded"):
        _create(session, fran, supersedes="DEC-0002")
    with pytest.raises(Invalid, match="not a decision number"):
        _create(session, fran, supersedes="banana")
    with pytest.raises(Invalid, match="no decision DEC-0099"):
        _create(session, fran, supersedes="DEC-0099")
    assert third.supersedes_id == second.id
    assert len(session.exec(select(Decision)).all()) == 3


# --- review reminders ---------------------------------------------------------------------


def test_review_reminders_reach_deciders_once(session: Session, fran: User, alice: User) -> None:
    d = _create(session, fran, deciders=["alice", "fran"], review_on=service.today())
    _accept(session, fran, d.number)
    later = service.today() + timedelta(days=1)
    assert service.send_review_reminders(session=session, on=later) == 1
    assert service.send_review_reminders(session=session, on=later) == 0
    notes = session.exec(
        select(Notification).where(Notification.kind == NotificationKind.review_due)
    ).all()
    assert sorted(n.user_id for n in notes) == sorted([alice.id or 0, fran.id or 0])
    assert notes[0].url == "/decisions/DEC-0001"
    # a new review date after amending reminds again when it comes
    amend = DecisionAmend(
        **_data(deciders=["alice"], review_on=later).model_dump(exclude={"status"}),
        reason="Review again",
    )
    service.amend_decision(session=session, number=d.number, data=amend, user=fran)
    assert service.send_review_reminders(session=session, on=later) == 1


def test_drafts_are_not_reminded(session: Session, fran: User) -> None:
    _create(session, fran, review_on=service.today())
    assert service.send_review_reminders(session=session) == 0


# --- the log --------------------------------------------------------------------------------


def test_log_filters(session: Session, fran: User, alice: User, rita: User) -> None:
    a = _create(session, fran, tags=["intake"], pages=[PageLinkIn(slug=SLUG)])
    _accept(session, fran, a.number)
    _create(session, fran, title="Other", tags=["finance"], deciders=["alice"])
    make_page(session, slug="roles/brm", title="BRM", body="x", author=alice)
    views, total = service.list_decisions(session=session, user=rita)
    assert total == 2
    assert [v.decision.number for v in views] == [2, 1]

    def numbers(**kw: object) -> list[int]:
        found, _ = service.list_decisions(
            session=session, user=rita, filters=LogFilters.model_validate(kw)
        )
        return [v.decision.number for v in found]

    assert numbers(status="accepted") == [1]
    assert numbers(tag="finance") == [2]
    assert numbers(under="core-processes") == [1]
    assert numbers(under="roles") == []
    assert numbers(decider="alice") == [2]
    assert numbers(decider="ghost") == []
    assert numbers(since=service.today().isoformat()) == [1]
    assert numbers(until=(service.today() - timedelta(days=1)).isoformat()) == []
    assert numbers(review="due") == []
    page_one, total = service.list_decisions(session=session, user=rita, limit=1, offset=1)
    assert total == 2
    assert [v.decision.number for v in page_one] == [1]


# --- the contract with proposals and workshops, and page governance -------------------------


def test_record_from_proposal_and_governance(session: Session, fran: User, page: int) -> None:
    begin_write(session)
    proposal = SimpleNamespace(id=None, workshop_id=None)
    decision = service.record_from_proposal(
        session=session,
        proposal=proposal,
        actor=fran,
        data=DecisionFromProposal(
            title="Adopt weekly triage",
            deciders=["fran"],
            pages=[PageLinkIn(slug=SLUG, section="h-triage")],
        ),
    )
    service.link_revision(session=session, decision=decision, page_id=page, revision=2)
    session.commit()
    assert decision.status is DecisionStatus.accepted
    assert decision.number == 1
    assert [d.number for d in service.governing(session=session, page_id=page)] == [1]
    assert service.revision_decisions(session=session, page_id=page)[2].number == 1
    assert service.governed_sections(session=session, page_id=page)["h-triage"].number == 1
    # a deprecated decision no longer governs, but its revision still shows it
    service.change_status(session=session, number=1, action="deprecate", user=fran)
    assert service.governing(session=session, page_id=page) == []
    assert service.governed_sections(session=session, page_id=page) == {}
    assert 2 in service.revision_decisions(session=session, page_id=page)


def test_record_from_proposal_rolls_back_with_the_caller(session: Session, fran: User) -> None:
    begin_write(session)
    service.record_from_proposal(
        session=session,
        proposal=SimpleNamespace(id=None, workshop_id=None),
        actor=fran,
        data=DecisionFromProposal(title="Never mind"),
    )
    session.rollback()
    assert session.exec(select(Decision)).first() is None


def test_record_renders_sanitised_markdown(session: Session, fran: User, rita: User) -> None:
    _create(session, fran, context="Hello <script>alert(1)</script> **world**")
    record = service.get_record(session=session, number=1, user=rita)
    assert "<strong>world</strong>" in record.html["context"]
    assert "<script>" not in record.html["context"]
    assert "<strong>waits a month</strong>" in record.options_html[1]["cons"]
    assert record.options_html[0]["chosen"] == "yes"


def test_cli_review_command(tmp_path: Path) -> None:
    """`atrium decisions review` runs the same idempotent check as the server."""
    from typer.testing import CliRunner

    from app.cli import app

    run = CliRunner(env={"ATRIUM_DATA_DIR": str(tmp_path / "cli"), "ATRIUM_SECRET_KEY": "k"})
    assert run.invoke(app, ["migrate"]).exit_code == 0
    result = run.invoke(app, ["decisions", "review"])
    assert result.exit_code == 0, result.output
    assert "0 decisions due for review" in result.output


def test_review_task_runs_at_start_up(engine: Engine, settings: Settings, fran: User) -> None:
    import asyncio
    import threading

    from app.decisions import reminders

    with open_session(engine, settings) as s:
        me = s.get(User, fran.id)
        d = service.create_decision(session=s, data=_data(review_on=service.today()), user=me)
        service.change_status(session=s, number=d.number, action="accept", user=me)

    async def run() -> None:
        async with reminders.review_task(engine, settings, interval=60):
            await asyncio.sleep(0.3)

    # in a thread of its own: another test's browser may keep an event loop in this one
    worker = threading.Thread(target=lambda: asyncio.run(run()))
    worker.start()
    worker.join(timeout=30)
    with open_session(engine, settings) as s:
        assert s.get(Decision, d.id).review_notified_on == service.today()  # type: ignore[union-attr]


def test_accepting_tells_deciders_informed_and_page_watchers(
    session: Session, fran: User, alice: User, rita: User, page: int
) -> None:
    from app.notifications import service as notifications

    notifications.set_watch(session=session, page_id=page, user=rita, watching=True)
    d = _create(session, fran, deciders=["fran"], informed=["alice"], pages=[PageLinkIn(slug=SLUG)])
    assert session.exec(select(Notification)).first() is None  # a draft tells nobody
    _accept(session, fran, d.number)
    notes = session.exec(
        select(Notification).where(Notification.kind == NotificationKind.decision)
    ).all()
    # alice is informed (and watches the page she wrote); rita watches it; fran is the actor
    assert sorted(n.user_id for n in notes) == sorted([alice.id or 0, rita.id or 0])
    assert {n.url for n in notes} == {"/decisions/DEC-0001"}


def test_unknown_workshop_or_proposal_is_refused(session: Session, fran: User) -> None:
    with pytest.raises(Invalid, match="workshop #999"):
        _create(session, fran, workshop_id=999)
    with pytest.raises(Invalid, match="proposal #999"):
        _create(session, fran, proposal_id=999)
    session.rollback()
    assert session.exec(select(Decision)).first() is None


def test_two_concurrent_replacements_cannot_both_claim_a_decision(
    engine: Engine, settings: Settings, session: Session, fran: User
) -> None:
    _accept(session, fran, _create(session, fran).number)
    barrier = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def supersede(title: str) -> None:
        with open_session(engine, settings) as s:
            me = s.get(User, fran.id)
            barrier.wait()
            try:
                service.create_decision(
                    session=s, data=_data(title=title, supersedes="DEC-0001"), user=me
                )
                outcomes.append("made")
            except Conflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=supersede, args=(f"R{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "made"]


def test_a_supersession_cycle_is_refused(session: Session, fran: User) -> None:
    """Defensive: the rules never form a cycle, but a record pointing back is refused anyway."""
    draft = _create(session, fran)
    other = _create(session, fran, title="Other")
    _accept(session, fran, other.number)
    other.supersedes_id = draft.id  # as if DEC-2 already replaced DEC-1 (e.g. imported data)
    session.add(other)
    session.commit()
    with pytest.raises(Invalid, match="cycle"):
        service.update_decision(
            session=session,
            number=draft.number,
            data=DecisionUpdate(**_data(supersedes="DEC-0002").model_dump()),
            user=fran,
        )
