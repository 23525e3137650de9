"""Proposals use cases: put a proposal (from an idea, a thread or a suggested page edit), edit it
into new versions, respond, tally, close with an outcome (accepting applies the page changes) or
withdraw it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.access import service as access
from app.accounts import service as accounts
from app.accounts.models import User
from app.core.db import begin_write, settings_of
from app.core.errors import Conflict, Forbidden, Invalid, TooLarge
from app.core.time import as_utc, utcnow
from app.notifications import service as notifications
from app.pages import service as pages
from app.proposals.models import (
    Proposal,
    ProposalChange,
    ProposalResponse,
    ProposalSource,
    ProposalState,
    ProposalVersion,
    Stance,
)
from app.proposals.schemas import (
    MAX_OPTIONS,
    ChangeCreate,
    ProposalCreate,
    ProposalUpdate,
    ResponseCreate,
)
from app.proposals.views import (
    ChangeView,
    ProposalDraft,
    ProposalView,
    ResponseView,
    TallyView,
    VersionView,
    change_slugs,
    draft_proposal,
    get_proposal,
    item_proposals,
    list_proposals,
    load_proposal,
    may_edit,
    past_closing,
    proposals_by_id,
    proposals_changing,
    require_open,
    require_read,
    results_visible,
    search_version,
    search_versions,
    tally,
    tally_stamp,
    versions,
    workshop_proposals,
    workshop_proposals_ids,
)
from app.search import service as search
from app.workshops import service as workshops

# the read side lives in app.proposals.views; other domains use this module for both
__all__ = [
    "ChangeView",
    "ProposalDraft",
    "ProposalView",
    "ResponseView",
    "TallyView",
    "VersionView",
    "change_slugs",
    "create_proposal",
    "draft_proposal",
    "edit_proposal",
    "get_proposal",
    "item_proposals",
    "list_proposals",
    "proposals_by_id",
    "proposals_changing",
    "respond",
    "results_visible",
    "search_version",
    "search_versions",
    "tally",
    "tally_stamp",
    "touch_proposal",
    "versions",
    "withdraw",
    "workshop_proposals",
    "workshop_proposals_ids",
]

MAX_DESCRIPTION_CHARS = 50_000


# --- writing ------------------------------------------------------------------------------------


def _check_text(session: Session, title: str, description: str, options: list[str]) -> None:
    if not title:
        raise Invalid("A proposal needs a title.", field="title")
    limit = min(MAX_DESCRIPTION_CHARS, settings_of(session).max_body_bytes)
    if len(description) > limit:
        raise TooLarge(
            f"The description is {len(description):,} characters long; the limit is {limit:,}.",
            field="description",
        )
    if len(options) > MAX_OPTIONS:
        raise Invalid(f"A proposal can list at most {MAX_OPTIONS} options.", field="options")


def _check_closes_at(closes_at: datetime | None) -> datetime | None:
    if closes_at is None:
        return None
    when = as_utc(closes_at)
    if when <= utcnow():
        raise Invalid("The closing time must be in the future.", field="closes_at")
    return when


def _same_time(a: datetime | None, b: datetime | None) -> bool:
    # the form's datetime-local input has minutes only
    if a is None or b is None:
        return a is b
    return abs(as_utc(a) - as_utc(b)) < timedelta(minutes=1)


def touch_proposal(session: Session, p: Proposal) -> None:
    """Mark the proposal changed: re-index it and refresh its workshop's live views."""
    p.updated_at = utcnow()
    session.add(p)
    session.flush()
    search.enqueue(session=session, kind="proposal", ref_id=p.id or 0)
    if p.workshop_id is not None:
        workshops.touch(session=session, workshop_id=p.workshop_id)


def _source(session: Session, data: ProposalCreate, user: User) -> tuple[int | None, int | None]:
    """The workshop and agenda item of the proposal's source (checked readable)."""
    if data.source == ProposalSource.idea:
        if data.source_id is None:
            raise Invalid("Say which idea the proposal comes from.", field="source_id")
        idea = workshops.get_idea(session=session, idea_id=data.source_id, user=user)
        return idea.workshop_id, idea.item_id
    if data.source == ProposalSource.thread:
        if data.source_id is None:
            raise Invalid("Say which discussion the proposal comes from.", field="source_id")
        from app.discussions import service as discussions

        discussions.get_thread(session=session, thread_id=data.source_id, user=user)
    elif data.source == ProposalSource.page_edit and not data.changes:
        raise Invalid("A suggested page edit needs the proposed text.", field="changes")
    return None, None


def _add_change(session: Session, p: Proposal, c: ChangeCreate, user: User) -> ProposalChange:
    page = pages.get_page(session=session, slug=c.slug.strip("/"), user=user)
    if c.base > page.head:
        raise Invalid(f"Revision {c.base} of {page.slug!r} does not exist.", field="changes")
    base = pages.get_revision(session=session, page=page, number=c.base)
    limit = settings_of(session).max_body_bytes
    if len(c.body.encode()) > limit:
        raise TooLarge(f"The proposed text of {page.slug!r} is too long.", field="changes")
    change = ProposalChange(
        proposal_id=p.id or 0,
        page_id=page.id or 0,
        base_revision=c.base,
        title=c.title.strip() or base.title,
        body=c.body,
        tags=list(base.tags) if c.tags is None else list(c.tags),
    )
    if (change.title, change.body, change.tags) == (base.title, base.body, list(base.tags)):
        raise Invalid(
            f"The proposed text of {page.slug!r} does not change anything.", field="changes"
        )
    session.add(change)
    return change


def create_proposal(*, session: Session, data: ProposalCreate, author: User | None) -> Proposal:
    """Put a proposal to its workshop (from an idea) or to everyone; tell who should respond."""
    begin_write(session)
    me = accounts.require_user(author, "proposal.create")
    _check_text(session, data.title, data.description, data.options)
    closes_at = _check_closes_at(data.closes_at)
    workshop_id, item_id = _source(session, data, me)
    if workshop_id is not None and not workshops.is_facilitator(
        session=session, workshop_id=workshop_id, user=me
    ):
        workshops.require_member(session=session, workshop_id=workshop_id, user=me)
    if len({c.slug.strip("/") for c in data.changes}) != len(data.changes):
        raise Invalid("Propose one change per page.", field="changes")
    p = Proposal(
        title=data.title,
        description=data.description,
        options=data.options,
        source=data.source,
        source_id=data.source_id if data.source != ProposalSource.page_edit else None,
        workshop_id=workshop_id,
        item_id=item_id,
        require_reasons=data.require_reasons,
        hide_results=data.hide_results,
        closes_at=closes_at,
        author_id=me.id,
    )
    session.add(p)
    session.flush()
    changes = [_add_change(session, p, c, me) for c in data.changes]
    if data.source == ProposalSource.page_edit and changes:
        p.source_id = changes[0].page_id
    touch_proposal(session, p)
    _notify_opened(session, p, changes, me)
    session.commit()
    return p


def _notify_opened(
    session: Session,
    p: Proposal,
    changes: list[ProposalChange],
    actor: User,
    *,
    also: set[int] | None = None,
) -> None:
    """Ask the workshop's members (or the changed pages' watchers, and ``also``) to respond."""
    if p.workshop_id is not None:
        room = workshops.get_workshop(session=session, workshop_id=p.workshop_id, user=actor)
        recipients = {m.user.id for m in room.members if m.user.id is not None}
    else:
        recipients = set()
        for c in changes:
            recipients |= notifications.watchers(session=session, page_id=c.page_id)
    recipients |= also or set()
    changed = pages.pages_by_id(session=session, ids={c.page_id for c in changes})
    if any(
        access.access_for(session=session, user=None).is_restricted(pg.slug)
        for pg in changed.values()
    ):
        # only those who may read every page it would change learn of it (the notification
        # itself is checked against the first page only)
        people = accounts.users_by_id(session=session, ids=recipients)
        recipients = {
            uid
            for uid in recipients
            if all(
                access.access_for(session=session, user=people.get(uid)).can_read(pg.slug)
                for pg in changed.values()
            )
        }
    first = changed.get(changes[0].page_id) if changes else None
    notifications.proposal_opened(
        session=session,
        proposal_id=p.id or 0,
        title=p.title,
        excerpt=(f"Version {p.version}: " if p.version > 1 else "") + p.description,
        recipients=recipients,
        actor=actor,
        page_id=first.id if first else None,
        slug=first.slug if first else "",
    )


def edit_proposal(
    *, session: Session, proposal_id: int, data: ProposalUpdate, user: User | None
) -> Proposal:
    """Change the text; once someone responded to this version, the edit becomes a new version."""
    begin_write(session)
    me = accounts.require_user(user, "proposal.respond")
    p = load_proposal(session, proposal_id, lock=True)
    require_read(session, p, me)
    require_open(p, "edited")
    if not may_edit(session, p, me):
        raise Forbidden("Only the author or a facilitator can edit this proposal.")
    # fields left out (API PATCH) stay as they are; the HTML form sends them all
    given = data.model_fields_set
    title = data.title if "title" in given else p.title
    description = data.description if "description" in given else p.description
    options = list(data.options) if "options" in given else list(p.options)
    wanted = data.closes_at if "closes_at" in given else p.closes_at
    _check_text(session, title, description, options)
    closes_at = p.closes_at if _same_time(wanted, p.closes_at) else _check_closes_at(wanted)
    responded = session.exec(
        select(func.count())
        .select_from(ProposalResponse)
        .where(ProposalResponse.proposal_id == p.id, ProposalResponse.version == p.version)
    ).one()
    text_changed = (title, description, options) != (
        p.title,
        p.description,
        list(p.options),
    )
    new_version = False
    if responded and text_changed:
        session.add(
            ProposalVersion(
                proposal_id=p.id or 0,
                version=p.version,
                title=p.title,
                description=p.description,
                options=list(p.options),
                author_id=p.author_id,
            )
        )
        p.version += 1
        new_version = True
    p.title, p.description, p.options, p.closes_at = title, description, options, closes_at
    if "require_reasons" in given:
        p.require_reasons = data.require_reasons
    if "hide_results" in given:
        p.hide_results = data.hide_results
    touch_proposal(session, p)
    if new_version:
        # the earlier responses were to another text: ask again
        changes = list(
            session.exec(select(ProposalChange).where(ProposalChange.proposal_id == p.id))
        )
        earlier = session.exec(
            select(ProposalResponse.user_id).where(ProposalResponse.proposal_id == p.id)
        )
        _notify_opened(session, p, changes, me, also=set(earlier))
    session.commit()
    return p


def respond(
    *, session: Session, proposal_id: int, data: ResponseCreate, user: User | None
) -> ProposalResponse:
    """Agree, abstain, disagree or block (with a reason) on the current version, once."""
    begin_write(session)
    me = accounts.require_user(user, "proposal.respond")
    p = load_proposal(session, proposal_id, lock=True)
    require_read(session, p, me)
    if p.workshop_id is not None:
        workshops.require_member(session=session, workshop_id=p.workshop_id, user=me)
    require_open(p, "responded to")
    if past_closing(p):
        raise Conflict(
            "The time to respond is over: this proposal closed for responses at "
            f"{as_utc(p.closes_at or utcnow()):%Y-%m-%d %H:%M} UTC.",
            field="stance",
        )
    if data.stance == Stance.block and not data.reason:
        raise Invalid("A block needs a reason: say what you cannot live with.", field="reason")
    if p.require_reasons and not data.reason:
        raise Invalid("This proposal asks every response for a reason.", field="reason")
    if data.option and data.option not in p.options:
        raise Invalid(f"{data.option!r} is not one of the proposal's options.", field="option")
    existing = session.exec(
        select(ProposalResponse).where(
            ProposalResponse.proposal_id == p.id,
            ProposalResponse.user_id == me.id,
            ProposalResponse.version == p.version,
        )
    ).first()
    if existing is not None and not data.change:
        raise Conflict(
            f"You already responded to version {p.version} ({existing.stance}). "
            "Use “Change my response” to replace it.",
            field="stance",
        )
    response = existing or ProposalResponse(
        proposal_id=p.id or 0, user_id=me.id or 0, version=p.version, stance=data.stance
    )
    response.stance, response.reason, response.option = data.stance, data.reason, data.option
    response.created_at = utcnow()
    session.add(response)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"You already responded to version {p.version}. "
            "Use “Change my response” to replace it.",
            field="stance",
        ) from None
    touch_proposal(session, p)
    session.commit()
    return response


def withdraw(*, session: Session, proposal_id: int, user: User | None) -> Proposal:
    """The author takes the proposal back; nothing is decided."""
    begin_write(session)
    me = accounts.require_user(user, "proposal.respond")
    p = load_proposal(session, proposal_id, lock=True)
    require_read(session, p, me)
    if p.author_id != me.id:
        raise Forbidden("Only the author can withdraw a proposal.")
    require_open(p, "withdrawn")
    p.state = ProposalState.withdrawn
    p.closed_by_id, p.closed_at = me.id, utcnow()
    touch_proposal(session, p)
    session.commit()
    return p
