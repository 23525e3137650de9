"""Page stewardship use cases: owners, review status and date, marking reviewed, the due check.

Who may change a page's stewardship: editors, facilitators and admins (``page.steward``) and
the page's own owners, whatever their role. Every change is one transaction that also writes a
``StewardshipEvent``, which the page's history shows beside its revisions.

Review cycle: each page has a review interval in months (default 12). "Mark reviewed" approves
the page (or keeps it approved) and moves the review date to the interval from today, or to a
date the reviewer picks (after today). When the review date comes, the periodic check
(``send_due_notifications``, run by ``app.reviews.reminders``) notifies the owners once per
review date and sets the status to "needs review".
"""

from __future__ import annotations

import calendar
from datetime import date

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.access import service as access
from app.accounts import service as accounts
from app.accounts.models import User
from app.core.db import begin_write, is_sqlite
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.core.time import utcnow
from app.decisions import service as decisions
from app.notifications import service as notifications
from app.pages import service as pages
from app.pages.models import Page
from app.reviews.models import (
    PageOwner,
    PageStewardship,
    ReviewStatus,
    StewardshipEvent,
    StewardshipEventKind,
)
from app.reviews.schemas import MAX_OWNERS, MarkReviewed, StewardshipUpdate
from app.reviews.views import (
    STATUS_LABELS,
    StewardshipView,
    get_stewardship,
    list_due,
    may_steward,
    owner_ids,
    page_activity,
    page_history,
    page_status,
    today,
    view_of,
)

__all__ = [
    "add_months",
    "get_stewardship",
    "list_due",
    "mark_reviewed",
    "may_steward",
    "page_activity",
    "page_history",
    "page_status",
    "require_steward",
    "send_due_notifications",
    "set_stewardship",
    "today",
]

# manual status changes a steward may make; the due check moves any status to needs_review
TRANSITIONS: dict[ReviewStatus, frozenset[ReviewStatus]] = {
    # a draft was never approved, so it cannot "need review again" yet
    ReviewStatus.draft: frozenset({ReviewStatus.in_review, ReviewStatus.approved}),
    ReviewStatus.in_review: frozenset({ReviewStatus.draft, ReviewStatus.approved}),
    ReviewStatus.approved: frozenset(
        {ReviewStatus.draft, ReviewStatus.in_review, ReviewStatus.needs_review}
    ),
    ReviewStatus.needs_review: frozenset(
        {ReviewStatus.draft, ReviewStatus.in_review, ReviewStatus.approved}
    ),
}


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (31 January + 1 month = 28/29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _fmt(day: date | None) -> str:
    return day.strftime("%d %b %Y") if day else "none"


def _require_steward(user: User | None, owners: set[int]) -> User:
    if user is None:
        raise Unauthorized("Please sign in to do this.")
    if not may_steward(user, owners):
        raise Forbidden(
            "Only the page's owners, editors, facilitators and admins change its owners, "
            "status and review date."
        )
    return user


def require_steward(*, user: User | None, view: StewardshipView) -> User:
    """Raise Unauthorized/Forbidden unless ``user`` may change this page's stewardship."""
    return _require_steward(user, {u.id or 0 for u in view.owners})


def _locked(session: Session, slug: str, user: User | None) -> tuple[Page, PageStewardship]:
    """The page (locked on PostgreSQL, so changes to one page queue) and its stewardship row."""
    pages.get_page(session=session, slug=slug, user=user)  # read permission and NotFound
    stmt = select(Page).where(Page.slug == slug, col(Page.deleted_at).is_(None))
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    page = session.exec(stmt).first()
    if page is None:
        raise NotFound(f"There is no page {slug!r} yet.", slug=slug)
    # the row too: the due check (which skips locked rows) must not interleave with a change
    found = select(PageStewardship).where(PageStewardship.page_id == page.id)
    if not is_sqlite(session):
        found = found.with_for_update()
    # a page nobody set anything on has no row yet: it is added with the first change
    row = session.exec(found).first() or PageStewardship(page_id=page.id or 0)
    return page, row


def _check_date(value: date, *, field: str, strictly_after_today: bool = False) -> None:
    day = today()
    if value < day or (strictly_after_today and value == day):
        when = "after today" if strictly_after_today else "today or a later day"
        raise Invalid(
            f"The review date {value.isoformat()} is in the past; pick {when}.", field=field
        )


def _owners(session: Session, names: list[str]) -> list[User]:
    if len(names) > MAX_OWNERS:
        raise Invalid(f"A page has at most {MAX_OWNERS} owners.", field="owners")
    found = accounts.users_by_username(session=session, names=names)
    unknown = [n for n in names if n.lower() not in found]
    if unknown:
        listed = ", ".join(repr(n) for n in unknown)
        raise Invalid(f"There is no active user {listed}; owners are usernames.", field="owners")
    return sorted((found[n.lower()] for n in names), key=lambda u: u.username)


def _decision_id(session: Session, value: str) -> tuple[int, str]:
    number = decisions.parse_ref(value, field="approved_by")
    found = decisions.find_by_number(session=session, number=number)
    if found is None:
        raise Invalid(f"There is no decision {decisions.ref(number)}.", field="approved_by")
    return found.id or 0, decisions.ref(number)


def set_stewardship(
    *, session: Session, slug: str, data: StewardshipUpdate, user: User | None
) -> StewardshipView:
    """Change a page's owners, status, review date, interval or approving decision (only the
    fields given); records what changed in the page's history."""
    given = data.model_fields_set
    begin_write(session)
    page, row = _locked(session, slug, user)
    current_owners = owner_ids(session, page.id or 0)
    me = _require_steward(user, current_owners)
    if "review_by" in given and data.review_by is not None and data.review_by != row.review_by:
        # an overdue date sent back unchanged (the form resends every field) is not a new one
        _check_date(data.review_by, field="review_by")
    # every check comes before the first write, so a refusal leaves nothing behind
    changes: dict[str, object] = {}
    said: list[str] = []

    new_owners: list[User] | None = None
    if "owners" in given and data.owners is not None:
        people = _owners(session, data.owners)
        if {u.id or 0 for u in people} != current_owners:
            before = accounts.users_by_id(session=session, ids=current_owners)
            new_owners = people
            new_names = [u.username for u in people]
            changes["owners"] = [sorted(u.username for u in before.values()), new_names]
            said.append(f"Owners: {', '.join(new_names) or 'none'}")

    status = data.status if "status" in given and data.status is not None else row.status
    decision_id, decision_ref = row.approved_decision_id, None
    if "approved_by" in given:
        decision_id, decision_ref = (
            _decision_id(session, data.approved_by) if data.approved_by else (None, None)
        )
    elif status != ReviewStatus.approved:
        decision_id = None  # leaving "approved" drops the decision that approved it
    if decision_id is not None and status != ReviewStatus.approved:
        raise Invalid(
            "A decision approves a page: set the status to approved as well.", field="approved_by"
        )
    if status != row.status:
        if status not in TRANSITIONS[row.status]:
            raise Conflict(
                f"The page is {STATUS_LABELS[row.status].lower()}; it cannot become "
                f"{STATUS_LABELS[status].lower()} directly."
            )
        changes["status"] = [str(row.status), str(status)]
        said.append(f"Status: {STATUS_LABELS[row.status]} → {STATUS_LABELS[status]}")
    if decision_id != row.approved_decision_id:
        changes["approved_by"] = decision_ref
        said.append(f"Approved by {decision_ref}" if decision_ref else "Approving decision removed")

    review_by = data.review_by if "review_by" in given else row.review_by
    if review_by != row.review_by:
        changes["review_by"] = [
            row.review_by.isoformat() if row.review_by else None,
            review_by.isoformat() if review_by else None,
        ]
        said.append(f"Review by: {_fmt(review_by)}")
    months = data.review_months or row.review_months
    if months != row.review_months:
        changes["review_months"] = [row.review_months, months]
        said.append(f"Review interval: {months} months")
    if (
        ("status" in changes or "review_by" in changes)
        and status == ReviewStatus.approved
        and review_by is not None
        and review_by < today()
    ):
        raise Invalid(
            f"The review date {review_by.isoformat()} has passed: mark the page reviewed "
            "(which approves it and sets the next review date), or set a new review date.",
            field="status",
        )
    if not changes:
        session.commit()  # nothing to change: end the write transaction
        return view_of(session, page)

    if new_owners is not None:
        session.execute(delete(PageOwner).where(col(PageOwner.page_id) == page.id))
        session.add_all(PageOwner(page_id=page.id or 0, user_id=u.id or 0) for u in new_owners)
    row.status = status
    row.approved_decision_id = decision_id
    row.review_by = review_by
    row.review_months = months
    row.updated_at = utcnow()
    session.add(row)
    session.add(
        StewardshipEvent(
            page_id=page.id or 0,
            kind=StewardshipEventKind.changed,
            actor_id=me.id,
            summary="; ".join(said)[:500],
            changes=changes,
        )
    )
    session.commit()
    return view_of(session, page)


def mark_reviewed(
    *, session: Session, slug: str, data: MarkReviewed | None = None, user: User | None
) -> StewardshipView:
    """Record that ``user`` reviewed the page now: it is approved, and the review date moves to
    ``data.next_review`` or to the page's interval from today."""
    data = data or MarkReviewed()
    if data.next_review is not None:
        _check_date(data.next_review, field="next_review", strictly_after_today=True)
    begin_write(session)
    page, row = _locked(session, slug, user)
    me = _require_steward(user, owner_ids(session, page.id or 0))
    next_review = data.next_review or add_months(today(), row.review_months)
    changes: dict[str, object] = {
        "status": [str(row.status), str(ReviewStatus.approved)],
        "review_by": [
            row.review_by.isoformat() if row.review_by else None,
            next_review.isoformat(),
        ],
    }
    if data.note:
        changes["note"] = data.note
    row.status = ReviewStatus.approved
    row.review_by = next_review
    row.last_reviewed_at = utcnow()
    row.last_reviewed_by_id = me.id
    row.updated_at = row.last_reviewed_at
    session.add(row)
    summary = f"Marked reviewed; next review by {_fmt(next_review)}"
    session.add(
        StewardshipEvent(
            page_id=page.id or 0,
            kind=StewardshipEventKind.reviewed,
            actor_id=me.id,
            summary=(f"{summary}. {data.note}" if data.note else summary)[:500],
            changes=changes,
        )
    )
    session.commit()
    return view_of(session, page)


def send_due_notifications(*, session: Session, on: date | None = None) -> int:
    """Tell the owners of pages whose review date has come (once per review date) and set those
    pages to "needs review"; returns how many pages became due."""
    day = on or today()
    begin_write(session)
    stmt = (
        select(PageStewardship, Page)
        .join(Page, col(Page.id) == PageStewardship.page_id)
        .where(
            col(Page.deleted_at).is_(None),
            col(PageStewardship.review_by).is_not(None),
            col(PageStewardship.review_by) <= day,
            # notified_for != review_by (or never notified): once per review date
            (col(PageStewardship.notified_for).is_(None))
            | (col(PageStewardship.notified_for) != col(PageStewardship.review_by)),
        )
        .order_by(col(PageStewardship.page_id))
    )
    if not is_sqlite(session):
        # two app processes checking at once: the second skips rows the first is handling
        stmt = stmt.with_for_update(of=PageStewardship, skip_locked=True)
    count = 0
    for row, page in session.exec(stmt).all():
        due_on = row.review_by or day
        owners = owner_ids(session, page.id or 0)
        # an owner who may no longer read the page (a restriction closed it) is not told
        owners = {
            uid
            for uid, owner in accounts.users_by_id(session=session, ids=owners).items()
            if access.access_for(session=session, user=owner).can_read(page.slug)
        }
        notifications.page_review_due(
            session=session,
            page_id=page.id or 0,
            slug=page.slug,
            title=page.title,
            review_by=due_on,
            recipients=owners,
        )
        names = sorted(
            u.username for u in accounts.users_by_id(session=session, ids=owners).values()
        )
        changes: dict[str, object] = {"review_by": due_on.isoformat(), "notified": names}
        if row.status != ReviewStatus.needs_review:
            changes["status"] = [str(row.status), str(ReviewStatus.needs_review)]
            row.status = ReviewStatus.needs_review
        row.notified_for = due_on
        row.updated_at = utcnow()
        session.add(row)
        told = f"owners notified: {', '.join(names)}" if names else "the page has no owners"
        session.add(
            StewardshipEvent(
                page_id=page.id or 0,
                kind=StewardshipEventKind.due,
                actor_id=None,
                summary=f"Review date {_fmt(due_on)} came; needs review ({told})"[:500],
                changes=changes,
            )
        )
        count += 1
    session.commit()
    return count
