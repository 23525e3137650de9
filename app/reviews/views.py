"""Page stewardship reads: a page's status box, its stewardship history, the review list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.access import service as access
from app.accounts import service as accounts
from app.accounts.models import User
from app.core.errors import Invalid
from app.core.time import utcnow
from app.decisions import service as decisions
from app.decisions.models import Decision
from app.pages import service as pages
from app.pages.models import Page
from app.reviews.models import (
    PageOwner,
    PageStewardship,
    ReviewStatus,
    StewardshipEvent,
    StewardshipEventKind,
)
from app.reviews.schemas import DueFilters

STATUS_LABELS = {
    ReviewStatus.draft: "Draft",
    ReviewStatus.in_review: "In review",
    ReviewStatus.approved: "Approved",
    ReviewStatus.needs_review: "Needs review",
}
MAX_LISTED = 500


def today() -> date:
    """Today's date in UTC (review dates are days, not instants)."""
    return utcnow().date()


@dataclass
class StewardshipView:
    """A page's stewardship with its owners and decision resolved, as of ``on``."""

    page: Page
    row: PageStewardship
    owners: list[User] = field(default_factory=list)
    decision: Decision | None = None
    last_reviewed_by: User | None = None
    on: date = field(default_factory=today)
    can_steward: bool = False  # whether the viewer may change it (set by ``page_status``)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.row.status]

    @property
    def overdue(self) -> bool:
        """Whether the review date has come."""
        return self.row.review_by is not None and self.row.review_by <= self.on

    @property
    def days(self) -> int | None:
        """Days until the review date (negative once it has passed)."""
        return (self.row.review_by - self.on).days if self.row.review_by else None

    @property
    def approved_ref(self) -> str | None:
        return decisions.ref(self.decision.number) if self.decision else None

    @property
    def owner_names(self) -> list[str]:
        return [u.username for u in self.owners]

    @property
    def is_set(self) -> bool:
        """Whether anyone has set anything (a page without a row is a draft nobody owns)."""
        return (
            bool(self.owners)
            or self.row.review_by is not None
            or self.row.status != ReviewStatus.draft
        )


@dataclass(frozen=True)
class Activity:
    """A stewardship event in a page's history timeline."""

    at: datetime
    kind: StewardshipEventKind
    actor: User | None
    summary: str
    changes: dict[str, object]


def may_steward(user: User | None, owners: set[int]) -> bool:
    """Whether ``user`` may change the stewardship of a page with these owner ids: editors,
    facilitators and admins (``page.steward``), and the page's owners whatever their role."""
    if user is None or not user.is_active:
        return False
    return accounts.can(user, "page.steward") or (user.id is not None and user.id in owners)


def find_row(session: Session, page_id: int) -> PageStewardship | None:
    """The stewardship row of a page, if anyone set anything."""
    return session.get(PageStewardship, page_id)


def owner_ids(session: Session, page_id: int) -> set[int]:
    """Ids of the page's owners."""
    return set(session.exec(select(PageOwner.user_id).where(PageOwner.page_id == page_id)))


def _views(
    session: Session, pairs: Sequence[tuple[Page, PageStewardship]]
) -> list[StewardshipView]:
    ids = [p.id or 0 for p, _ in pairs]
    owners: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        for owner in session.exec(select(PageOwner).where(col(PageOwner.page_id).in_(ids))):
            owners[owner.page_id].append(owner.user_id)
    users = accounts.users_by_id(
        session=session,
        ids={u for us in owners.values() for u in us} | {r.last_reviewed_by_id for _, r in pairs},
    )
    wanted = {r.approved_decision_id for _, r in pairs if r.approved_decision_id}
    by_id = (
        {d.id: d for d in session.exec(select(Decision).where(col(Decision.id).in_(wanted)))}
        if wanted
        else {}
    )
    on = today()
    out = []
    for page, row in pairs:
        people = sorted(
            (users[u] for u in owners[page.id or 0] if u in users), key=lambda u: u.username
        )
        out.append(
            StewardshipView(
                page=page,
                row=row,
                owners=people,
                decision=by_id.get(row.approved_decision_id),
                last_reviewed_by=users.get(row.last_reviewed_by_id or 0),
                on=on,
            )
        )
    return out


def view_of(session: Session, page: Page) -> StewardshipView:
    """The stewardship of ``page`` (a default draft when nothing was set); no permission check."""
    row = find_row(session, page.id or 0) or PageStewardship(page_id=page.id or 0)
    return _views(session, [(page, row)])[0]


def page_status(*, session: Session, page: Page, user: User | None) -> StewardshipView:
    """The stewardship shown in the page's status box."""
    accounts.require(user, "page.read")
    view = view_of(session, page)
    view.can_steward = not page.is_deleted and may_steward(user, {u.id or 0 for u in view.owners})
    return view


def get_stewardship(*, session: Session, slug: str, user: User | None) -> StewardshipView:
    """The stewardship of the page at ``slug`` (raises NotFound)."""
    page = pages.get_page(session=session, slug=slug, user=user)
    return view_of(session, page)


def page_history(*, session: Session, page: Page, limit: int = 500) -> list[Activity]:
    """The page's stewardship events, newest first (for the history timeline and the API)."""
    rows = list(
        session.exec(
            select(StewardshipEvent)
            .where(StewardshipEvent.page_id == page.id)
            .order_by(col(StewardshipEvent.created_at).desc(), col(StewardshipEvent.id).desc())
            .limit(max(1, min(limit, 1000)))
        )
    )
    users = accounts.users_by_id(session=session, ids={r.actor_id for r in rows})
    return [
        Activity(
            at=r.created_at,
            kind=r.kind,
            actor=users.get(r.actor_id or 0),
            summary=r.summary,
            changes=dict(r.changes),
        )
        for r in rows
    ]


def page_activity(*, session: Session, page: Page) -> list[Activity]:
    """Stewardship events of a page, newest first, for the history timeline."""
    return page_history(session=session, page=page)


def list_due(
    *, session: Session, user: User | None, filters: DueFilters | None = None
) -> list[StewardshipView]:
    """Pages with a review date or needing review: overdue (most overdue first), then by date."""
    accounts.require(user, "page.read")
    filters = filters or DueFilters()
    stmt = (
        select(Page, PageStewardship)
        .join(PageStewardship, col(PageStewardship.page_id) == Page.id)
        .where(
            col(Page.deleted_at).is_(None),
            # pages in subtrees hidden from the user are not due for them (nor shown to exist)
            access.access_for(session=session, user=user).readable(col(Page.slug)),
            or_(
                col(PageStewardship.review_by).is_not(None),
                col(PageStewardship.status) == ReviewStatus.needs_review,
            ),
        )
    )
    if filters.owner:
        found = accounts.users_by_username(session=session, names=[filters.owner])
        if filters.owner not in found:
            raise Invalid(f"There is no user {filters.owner!r}.", field="owner")
        stmt = stmt.join(PageOwner, col(PageOwner.page_id) == Page.id).where(
            PageOwner.user_id == found[filters.owner].id
        )
    if filters.under:
        stmt = stmt.where(
            or_(
                col(Page.slug) == filters.under,
                col(Page.slug).startswith(filters.under + "/", autoescape=True),
            )
        )
    if filters.overdue:
        stmt = stmt.where(col(PageStewardship.review_by) <= today())
    stmt = stmt.order_by(col(PageStewardship.review_by).asc()).limit(MAX_LISTED)
    found_views = _views(session, list(session.exec(stmt).all()))
    found_views.sort(
        key=lambda v: (
            0 if v.overdue or v.row.status == ReviewStatus.needs_review else 1,
            v.row.review_by or date.max,
            v.page.title.lower(),
        )
    )
    return found_views
