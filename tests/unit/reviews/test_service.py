"""Page stewardship service: owners, status transitions, review dates, mark reviewed, the due
check (once per review date), the review list and who may change what."""

from __future__ import annotations

import asyncio
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.core.config import Settings
from app.core.db import begin_write, open_session
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.decisions import service as decisions
from app.decisions.schemas import DecisionCreate
from app.notifications.models import Notification, NotificationKind
from app.pages import service as pages
from app.reviews import reminders, service
from app.reviews.models import (
    PageOwner,
    PageStewardship,
    ReviewStatus,
    StewardshipEvent,
    StewardshipEventKind,
)
from app.reviews.schemas import DueFilters, MarkReviewed, StewardshipUpdate
from tests.factories import make_page, make_user

SLUG = "core-processes/incident"


@pytest.fixture
def alice(session: Session) -> User:
    return make_user(session, username="alice", role=Role.editor)


@pytest.fixture
def bob(session: Session) -> User:
    return make_user(session, username="bob", role=Role.editor)


@pytest.fixture
def rita(session: Session) -> User:
    return make_user(session, username="rita", role=Role.reader)


@pytest.fixture(autouse=True)
def page(session: Session, alice: User) -> int:
    return make_page(session, slug=SLUG, title="Incident management", author=alice).id or 0


def _set(session: Session, user: User | None, slug: str = SLUG, **fields: object) -> object:
    return service.set_stewardship(
        session=session, slug=slug, data=StewardshipUpdate.model_validate(fields), user=user
    )


def _events(session: Session, page_id: int) -> list[StewardshipEvent]:
    return list(
        session.exec(
            select(StewardshipEvent)
            .where(StewardshipEvent.page_id == page_id)
            .order_by(StewardshipEvent.id)  # type: ignore[arg-type]
        )
    )


def _backdate(session: Session, page_id: int, day: date) -> None:
    """Put a review date in the past directly (the service refuses past dates)."""
    begin_write(session)
    row = session.get(PageStewardship, page_id)
    assert row is not None
    row.review_by = day
    session.add(row)
    session.commit()


def _review_notes(session: Session) -> list[Notification]:
    return list(
        session.exec(select(Notification).where(Notification.kind == NotificationKind.review_due))
    )


# --- owners ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("bob")
def test_set_owners_is_recorded_in_the_history(session: Session, alice: User, page: int) -> None:
    view = service.set_stewardship(
        session=session, slug=SLUG, data=StewardshipUpdate(owners=["bob", "@Alice"]), user=alice
    )
    assert view.owner_names == ["alice", "bob"]
    (event,) = _events(session, page)
    assert event.kind == StewardshipEventKind.changed
    assert event.actor_id == alice.id
    assert event.summary == "Owners: alice, bob"
    assert event.changes["owners"] == [[], ["alice", "bob"]]
    # the same owners again change nothing and record nothing
    _set(session, alice, owners="alice, bob")
    assert len(_events(session, page)) == 1
    # replacing the owners
    view = _set(session, alice, owners=["bob"])  # type: ignore[assignment]
    assert [
        u.username for u in service.get_stewardship(session=session, slug=SLUG, user=None).owners
    ] == ["bob"]
    assert _events(session, page)[-1].changes["owners"] == [["alice", "bob"], ["bob"]]


def test_unknown_owner_is_refused_and_nothing_is_written(
    session: Session, alice: User, page: int
) -> None:
    with pytest.raises(Invalid, match="'nobody'"):
        _set(session, alice, owners=["alice", "nobody"], status="in_review")
    assert session.exec(select(PageOwner)).first() is None
    assert session.get(PageStewardship, page) is None
    assert _events(session, page) == []
    # the session is still usable and the next use case does not commit leftovers
    _set(session, alice, review_months=6)
    assert session.exec(select(PageOwner)).first() is None
    assert session.get(PageStewardship, page).review_months == 6  # type: ignore[union-attr]


def test_unknown_page_is_not_found(session: Session, alice: User) -> None:
    with pytest.raises(NotFound):
        _set(session, alice, slug="no/such/page", owners=["alice"])


# --- status ---------------------------------------------------------------------------------


def _decision(session: Session) -> int:
    fran = make_user(session, username="fran", role=Role.facilitator)
    d = decisions.create_decision(
        session=session, data=DecisionCreate(title="Incidents go to the service desk"), user=fran
    )
    return d.number


def test_status_transitions(session: Session, alice: User, page: int) -> None:
    number = _decision(session)
    view = _set(session, alice, status="in_review")
    assert view.row.status == ReviewStatus.in_review  # type: ignore[attr-defined]
    view = _set(session, alice, status="approved", approved_by=f"dec-{number}")
    assert view.row.status == ReviewStatus.approved  # type: ignore[attr-defined]
    assert view.approved_ref == "DEC-0001"  # type: ignore[attr-defined]
    assert (
        _events(session, page)[-1].summary == "Status: In review → Approved; Approved by DEC-0001"
    )
    # leaving "approved" drops the decision that approved it
    view = _set(session, alice, status="needs_review")
    assert view.approved_ref is None  # type: ignore[attr-defined]
    # a draft was never approved, so it cannot need review again
    _set(session, alice, status="draft")
    with pytest.raises(Conflict, match="cannot become needs review"):
        _set(session, alice, status="needs_review")
    statuses = [e.changes.get("status") for e in _events(session, page)]
    assert statuses == [
        ["draft", "in_review"],
        ["in_review", "approved"],
        ["approved", "needs_review"],
        ["needs_review", "draft"],
    ]


def test_approving_decision_must_exist_and_needs_approved(
    session: Session, alice: User, page: int
) -> None:
    number = _decision(session)
    with pytest.raises(Invalid, match="There is no decision DEC-0042"):
        _set(session, alice, status="approved", approved_by="DEC-0042")
    with pytest.raises(Invalid, match="not a decision number"):
        _set(session, alice, status="approved", approved_by="banana")
    with pytest.raises(Invalid, match="set the status to approved"):
        _set(session, alice, approved_by=f"DEC-{number}")
    assert _events(session, page) == []
    assert session.get(PageStewardship, page) is None


# --- review dates ---------------------------------------------------------------------------


def test_review_date_in_the_past_is_refused(session: Session, alice: User, page: int) -> None:
    yesterday = service.today() - timedelta(days=1)
    with pytest.raises(Invalid, match="in the past"):
        _set(session, alice, owners=["alice"], review_by=yesterday)
    assert session.get(PageStewardship, page) is None
    assert session.exec(select(PageOwner)).first() is None
    view = _set(session, alice, review_by=service.today())
    assert view.row.review_by == service.today()  # type: ignore[attr-defined]
    # and it can be removed again
    view = _set(session, alice, review_by=None)
    assert view.row.review_by is None  # type: ignore[attr-defined]


def test_overdue_date_sent_back_unchanged_is_not_refused(
    session: Session, alice: User, page: int
) -> None:
    """The form resends every field: changing the owners of an overdue page must work."""
    _set(session, alice, status="approved", review_by=service.today())
    past = service.today() - timedelta(days=5)
    _backdate(session, page, past)
    view = _set(session, alice, owners=["alice"], status="approved", review_by=past)
    assert view.owner_names == ["alice"]  # type: ignore[attr-defined]
    assert view.row.review_by == past  # type: ignore[attr-defined]
    with pytest.raises(Invalid, match="in the past"):
        _set(session, alice, review_by=past - timedelta(days=1))


def test_approved_page_cannot_keep_a_passed_review_date(
    session: Session, alice: User, page: int
) -> None:
    _set(session, alice, status="in_review", review_by=service.today() + timedelta(days=3))
    _backdate(session, page, service.today() - timedelta(days=3))
    with pytest.raises(Invalid, match="mark the page reviewed"):
        _set(session, alice, status="approved")
    # with a new date it may be approved
    view = _set(session, alice, status="approved", review_by=service.today() + timedelta(days=30))
    assert view.row.status == ReviewStatus.approved  # type: ignore[attr-defined]


def test_add_months_clamps_to_the_month_end() -> None:
    assert service.add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert service.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert service.add_months(date(2026, 11, 25), 12) == date(2027, 11, 25)
    assert service.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


# --- mark reviewed --------------------------------------------------------------------------


def test_mark_reviewed_approves_moves_the_date_and_is_in_the_history(
    session: Session, alice: User, bob: User
) -> None:
    _set(session, alice, owners=["bob"], status="in_review", review_months=6)
    view = service.mark_reviewed(
        session=session, slug=SLUG, data=MarkReviewed(note="SLAs  checked"), user=bob
    )
    assert view.row.status == ReviewStatus.approved
    assert view.row.review_by == service.add_months(service.today(), 6)
    assert view.last_reviewed_by is not None
    assert view.last_reviewed_by.username == "bob"
    assert view.row.last_reviewed_at is not None
    activity = service.page_activity(
        session=session, page=pages.get_page(session=session, slug=SLUG, user=bob)
    )
    assert activity[0].kind == StewardshipEventKind.reviewed
    assert activity[0].actor is not None
    assert activity[0].actor.username == "bob"
    assert activity[0].summary.startswith("Marked reviewed; next review by")
    assert activity[0].summary.endswith("SLAs checked")
    # an approved page stays approved; a chosen next date wins over the interval
    chosen = service.today() + timedelta(days=40)
    view = service.mark_reviewed(
        session=session, slug=SLUG, data=MarkReviewed(next_review=chosen), user=bob
    )
    assert (view.row.status, view.row.review_by) == (ReviewStatus.approved, chosen)


def test_mark_reviewed_needs_a_next_date_after_today(
    session: Session, alice: User, page: int
) -> None:
    for day in (service.today(), service.today() - timedelta(days=1)):
        with pytest.raises(Invalid, match="after today"):
            service.mark_reviewed(
                session=session, slug=SLUG, data=MarkReviewed(next_review=day), user=alice
            )
    assert _events(session, page) == []


# --- the due check --------------------------------------------------------------------------


def test_due_check_notifies_owners_once_and_flips_status(
    session: Session, alice: User, bob: User, rita: User, page: int
) -> None:
    _set(
        session,
        alice,
        owners=["bob", "rita"],
        status="approved",
        review_by=service.today() + timedelta(days=10),
    )
    assert service.send_due_notifications(session=session) == 0
    overdue = service.today() - timedelta(days=2)
    _backdate(session, page, overdue)
    assert service.send_due_notifications(session=session) == 1
    assert service.send_due_notifications(session=session) == 0  # once per review date
    notes = _review_notes(session)
    assert sorted(n.user_id for n in notes) == sorted([bob.id or 0, rita.id or 0])
    assert {n.url for n in notes} == {f"/wiki/{SLUG}"}
    assert all(overdue.isoformat() in n.excerpt for n in notes)
    view = service.get_stewardship(session=session, slug=SLUG, user=None)
    assert view.row.status == ReviewStatus.needs_review
    assert view.overdue
    due = _events(session, page)[-1]
    assert due.kind == StewardshipEventKind.due
    assert due.actor_id is None
    assert due.changes["status"] == ["approved", "needs_review"]
    assert "owners notified: bob, rita" in due.summary
    # reviewing sets the next date; when that one comes, the owners hear again (once)
    view = service.mark_reviewed(session=session, slug=SLUG, user=bob)
    next_date = view.row.review_by
    assert next_date is not None
    assert service.send_due_notifications(session=session) == 0
    assert service.send_due_notifications(session=session, on=next_date) == 1
    assert service.send_due_notifications(session=session, on=next_date) == 0
    assert len(_review_notes(session)) == 4


def test_two_concurrent_due_checks_notify_once(
    engine: Engine, settings: Settings, alice: User, bob: User, page: int
) -> None:
    """Two app processes checking at the same moment: the owners hear once, not twice."""
    with open_session(engine, settings) as s:
        _set(s, s.get(User, alice.id), owners=["bob"], review_by=service.today())
    barrier = threading.Barrier(2, timeout=10)
    counts: list[int] = []
    errors: list[BaseException] = []

    def check() -> None:
        try:
            with open_session(engine, settings) as s:
                barrier.wait()
                counts.append(service.send_due_notifications(session=s))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=check) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(counts) == [0, 1]
    with open_session(engine, settings) as s:
        assert [n.user_id for n in _review_notes(s)] == [bob.id]
        kinds = [e.kind for e in _events(s, page)]
        assert kinds.count(StewardshipEventKind.due) == 1


def test_due_check_skips_deleted_pages(session: Session, alice: User) -> None:
    _set(session, alice, owners=["alice"], review_by=service.today())
    pages.delete_page(session=session, slug=SLUG, author=alice)
    assert service.send_due_notifications(session=session) == 0
    assert _review_notes(session) == []


def test_review_task_runs_at_start_up(
    engine: Engine, settings: Settings, alice: User, bob: User, page: int
) -> None:
    with open_session(engine, settings) as s:
        _set(s, s.get(User, alice.id), owners=["bob"], review_by=service.today())

    async def run() -> None:
        async with reminders.review_task(engine, settings, interval=60):
            await asyncio.sleep(0.3)

    # in a thread of its own: another test's browser may keep an event loop in this one
    worker = threading.Thread(target=lambda: asyncio.run(run()))
    worker.start()
    worker.join(timeout=30)
    with open_session(engine, settings) as s:
        row = s.get(PageStewardship, page)
        assert row is not None
        assert row.notified_for == service.today()
        assert [n.user_id for n in _review_notes(s)] == [bob.id]


# --- permissions ----------------------------------------------------------------------------


def test_who_may_change_stewardship(session: Session, alice: User, rita: User, page: int) -> None:
    with pytest.raises(Unauthorized):
        _set(session, None, status="in_review")
    with pytest.raises(Forbidden):
        _set(session, rita, status="in_review")
    with pytest.raises(Forbidden):
        service.mark_reviewed(session=session, slug=SLUG, user=rita)
    assert _events(session, page) == []
    # an owner may, whatever their role
    _set(session, alice, owners=["rita"])
    _set(session, rita, status="in_review")
    view = service.mark_reviewed(session=session, slug=SLUG, user=rita)
    assert view.row.status == ReviewStatus.approved
    # a disabled editor may not
    begin_write(session)
    alice.is_active = False
    session.add(alice)
    session.commit()
    with pytest.raises(Forbidden):
        _set(session, alice, status="in_review")


def test_page_status_tells_who_may_steward(session: Session, alice: User, rita: User) -> None:
    page = pages.get_page(session=session, slug=SLUG, user=None)
    assert service.page_status(session=session, page=page, user=alice).can_steward
    assert not service.page_status(session=session, page=page, user=rita).can_steward
    assert not service.page_status(session=session, page=page, user=None).can_steward


# --- the review list ------------------------------------------------------------------------


@pytest.mark.usefixtures("bob")
def test_review_list_overdue_first_filtered_by_owner_and_subtree(
    session: Session, alice: User, page: int
) -> None:
    make_page(session, slug="core-processes/change", title="Change", author=alice)
    make_page(session, slug="guides/onboarding", title="Onboarding", author=alice)
    make_page(session, slug="guides/no-date", title="No date", author=alice)
    soon, later = service.today() + timedelta(days=5), service.today() + timedelta(days=50)
    _set(session, alice, slug="core-processes/change", owners=["alice"], review_by=later)
    _set(session, alice, slug="guides/onboarding", owners=["bob"], review_by=soon)
    _set(session, alice, owners=["alice", "bob"], review_by=later)
    _set(session, alice, slug="guides/no-date", owners=["alice"])
    _backdate(session, page, service.today() - timedelta(days=9))

    def slugs(**kw: object) -> list[str]:
        found = service.list_due(session=session, user=None, filters=DueFilters.model_validate(kw))
        return [v.page.slug for v in found]

    assert slugs() == [SLUG, "guides/onboarding", "core-processes/change"]
    assert slugs(owner="alice") == [SLUG, "core-processes/change"]
    assert slugs(owner="@BOB") == [SLUG, "guides/onboarding"]
    assert slugs(under="core-processes") == [SLUG, "core-processes/change"]
    assert slugs(under="/guides/") == ["guides/onboarding"]
    assert slugs(overdue=True) == [SLUG]
    with pytest.raises(Invalid, match="no user 'zed'"):
        slugs(owner="zed")
    view = service.list_due(session=session, user=None)[0]
    assert view.overdue
    assert view.days == -9
