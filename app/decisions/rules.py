"""Checks and write steps shared by the decisions use cases (they never commit)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, text
from sqlmodel import Session, col, select

from app.access import service as access
from app.accounts import service as accounts
from app.accounts.models import User
from app.core.db import is_sqlite
from app.core.errors import Conflict, Invalid, NotFound
from app.core.time import utcnow
from app.decisions.models import (
    Decision,
    DecisionLink,
    DecisionPerson,
    DecisionStatus,
    LinkKind,
    PersonRole,
)
from app.decisions.schemas import DecisionLinks, DecisionText, PageLinkIn
from app.decisions.views import parse_ref, ref, today
from app.discussions import service as discussions
from app.pages import service as pages
from app.search import service as search

# an arbitrary constant: the PostgreSQL advisory lock that serialises DEC numbering
NUMBER_LOCK = 0x44454331


def next_number(session: Session) -> int:
    """The next DEC number; the caller holds the write transaction.

    SQLite writers are serialised by BEGIN IMMEDIATE; on PostgreSQL an advisory lock held to the
    end of the transaction does it. The unique constraint on ``number`` is the backstop.
    """
    if not is_sqlite(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": NUMBER_LOCK})
    highest = session.exec(select(func.max(Decision.number))).one()
    return int(highest or 0) + 1


def find_locked(session: Session, number: int) -> Decision | None:
    """DEC-``number``, row-locked to the end of the transaction on PostgreSQL (SQLite writers are
    serialised already)."""
    stmt = select(Decision).where(Decision.number == number)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def locked(session: Session, number: int) -> Decision:
    """Like ``find_locked``; raises NotFound."""
    decision = find_locked(session, number)
    if decision is None:
        raise NotFound(f"There is no decision {ref(number)}.")
    return decision


def check_review(review_on: date | None, *, previous: date | None = None) -> None:
    if review_on is not None and review_on != previous and review_on < today():
        raise Invalid(
            f"The review date {review_on.isoformat()} is in the past; pick today or a later day.",
            field="review_on",
        )


def check_text(data: DecisionText) -> None:
    if not data.title:
        raise Invalid("A decision needs a title.", field="title")
    names = [o.name for o in data.options]
    if any(not n for n in names):
        raise Invalid("Every option considered needs a name.", field="options")
    if len({n.lower() for n in names}) != len(names):
        raise Invalid("Two options have the same name; give each a distinct one.", field="options")
    if (
        data.chosen_option
        and names
        and data.chosen_option.lower() not in {n.lower() for n in names}
    ):
        raise Invalid(
            f"The chosen option {data.chosen_option!r} is not one of the options considered.",
            field="chosen_option",
        )


def people(session: Session, data: DecisionText) -> list[tuple[int, PersonRole]]:
    wanted = {
        PersonRole.decider: data.deciders,
        PersonRole.consulted: data.consulted,
        PersonRole.informed: data.informed,
    }
    found = accounts.users_by_username(
        session=session, names=[n for names in wanted.values() for n in names]
    )
    unknown = [n for names in wanted.values() for n in names if n.lower() not in found]
    if unknown:
        listed = ", ".join(f"@{n}" for n in dict.fromkeys(unknown))
        raise Invalid(f"There is no user {listed}. Check the spelling.", field="deciders")
    return [(found[n.lower()].id or 0, role) for role, names in wanted.items() for n in names]


def set_people(session: Session, decision: Decision, people: list[tuple[int, PersonRole]]) -> None:
    session.execute(delete(DecisionPerson).where(col(DecisionPerson.decision_id) == decision.id))
    for uid, role in dict.fromkeys(people):
        session.add(DecisionPerson(decision_id=decision.id or 0, user_id=uid, role=role))


def page_links(
    session: Session, links: list[PageLinkIn], user: User | None
) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for link in links:
        # a page the user may not read is answered like a missing one
        page = pages.find_readable_page(session=session, slug=link.slug, user=user)
        if page is None:
            raise Invalid(f"There is no page {link.slug!r} to link.", field="pages")
        if link.section:
            sections = dict(discussions.section_choices(session=session, page=page))
            if link.section not in sections:
                raise Invalid(
                    f"The page {link.slug!r} has no section {link.section!r}.", field="pages"
                )
        out.append((page.id or 0, link.section))
    return list(dict.fromkeys(out))


def thread_links(session: Session, ids: list[int], user: User | None) -> list[int]:
    for tid in ids:
        try:
            discussions.get_thread(session=session, thread_id=tid, user=user)
        except NotFound:
            raise Invalid(f"There is no discussion #{tid} to link.", field="thread_ids") from None
    return list(dict.fromkeys(ids))


Links = tuple[list[tuple[int, str]], list[int]]


def checked_links(session: Session, data: DecisionLinks, user: User | None) -> Links:
    """The pages (with sections) and threads to link, checked before anything is written."""
    return page_links(session, data.pages, user), thread_links(session, data.thread_ids, user)


def _unseen_links(session: Session, decision: Decision, user: User | None) -> Links:
    """The decision's links to pages and discussions ``user`` may not read: they did not see
    them, so their edit keeps them."""
    if decision.id is None or not access.access_for(session=session, user=user).hidden_roots:
        return [], []
    rows = list(
        session.exec(
            select(DecisionLink).where(
                col(DecisionLink.decision_id) == decision.id,
                col(DecisionLink.kind).in_([LinkKind.page, LinkKind.thread]),
            )
        )
    )
    readable = access.access_for(session=session, user=user)
    found = pages.pages_by_id(session=session, ids={r.page_id for r in rows if r.page_id})
    kept_pages = [
        (r.page_id, r.section)
        for r in rows
        if r.page_id in found and not readable.can_read(found[r.page_id].slug)
    ]
    kept_threads = []
    for r in rows:
        if r.thread_id is not None:
            try:
                discussions.get_thread(session=session, thread_id=r.thread_id, user=user)
            except NotFound:
                kept_threads.append(r.thread_id)
    return kept_pages, kept_threads


def set_links(session: Session, decision: Decision, links: Links, user: User | None) -> None:
    """Replace the decision's page and discussion links (keeping those ``user`` cannot see)."""
    kept_pages, kept_threads = _unseen_links(session, decision, user)
    page_links = list(dict.fromkeys([*links[0], *kept_pages]))
    thread_ids = list(dict.fromkeys([*links[1], *kept_threads]))
    session.execute(
        delete(DecisionLink).where(
            col(DecisionLink.decision_id) == decision.id,
            col(DecisionLink.kind).in_([LinkKind.page, LinkKind.thread]),
        )
    )
    for page_id, section in page_links:
        session.add(
            DecisionLink(
                decision_id=decision.id or 0, kind=LinkKind.page, page_id=page_id, section=section
            )
        )
    for tid in thread_ids:
        session.add(DecisionLink(decision_id=decision.id or 0, kind=LinkKind.thread, thread_id=tid))


def check_origin(session: Session, data: DecisionLinks, user: User | None) -> None:
    """The workshop and proposal linked must exist and be readable."""
    if data.workshop_id is not None:
        from app.workshops import service as workshops

        try:
            workshops.get_workshop(session=session, workshop_id=data.workshop_id, user=user)
        except NotFound:
            raise Invalid(
                f"There is no workshop #{data.workshop_id}.", field="workshop_id"
            ) from None
    if data.proposal_id is not None:
        from app.proposals import service as proposals

        try:
            proposals.get_proposal(session=session, proposal_id=data.proposal_id, user=user)
        except NotFound:
            raise Invalid(
                f"There is no proposal #{data.proposal_id}.", field="proposal_id"
            ) from None


def supersede_target(
    session: Session, decision: Decision | None, target_ref: str
) -> Decision | None:
    """The decision ``decision`` (None: a new one) would replace; checked, nothing written."""
    if not target_ref.strip():
        return None
    number = parse_ref(target_ref, field="supersedes")
    # locked: two replacements started at once must not both claim it
    target = find_locked(session, number)
    if target is None:
        raise Invalid(f"There is no decision {ref(number)} to supersede.", field="supersedes")
    if decision is not None:
        if target.id == decision.id:
            raise Invalid("A decision cannot supersede itself.", field="supersedes")
        seen: set[int] = set()
        walk: Decision | None = target
        while walk is not None and walk.supersedes_id and walk.id not in seen:
            seen.add(walk.id or 0)
            if walk.supersedes_id == decision.id:
                raise Invalid(
                    f"{ref(target.number)} already (indirectly) supersedes "
                    f"{ref(decision.number)}; superseding it back would make a cycle.",
                    field="supersedes",
                )
            walk = session.get(Decision, walk.supersedes_id)
    if target.status not in (DecisionStatus.accepted, DecisionStatus.deprecated):
        raise Invalid(
            f"{ref(target.number)} is {target.status}; only an accepted or deprecated "
            "decision can be superseded.",
            field="supersedes",
        )
    mine = decision.id if decision is not None else None
    if target.superseded_by_id is not None and target.superseded_by_id != mine:
        other = session.get(Decision, target.superseded_by_id)
        raise Conflict(
            f"{ref(target.number)} is already being superseded by "
            f"{ref(other.number) if other else 'another decision'}."
        )
    return target


def link_supersedes(session: Session, decision: Decision, target: Decision | None) -> None:
    """Make ``decision`` replace ``target`` (links both ways), releasing an earlier target."""
    previous = session.get(Decision, decision.supersedes_id) if decision.supersedes_id else None
    if previous is not None and (target is None or previous.id != target.id):
        previous.superseded_by_id = None
        changed(session, previous)
    decision.supersedes_id = target.id if target is not None else None
    if target is not None:
        target.superseded_by_id = decision.id
        changed(session, target)


def apply_text(decision: Decision, data: DecisionText) -> None:
    decision.title = data.title
    decision.context = data.context
    decision.drivers = data.drivers
    decision.options = [o.model_dump() for o in data.options]
    decision.chosen_option = data.chosen_option
    decision.rationale = data.rationale
    decision.consequences = data.consequences
    decision.method = data.method
    decision.decided_on = data.decided_on
    if data.review_on != decision.review_on:
        decision.review_notified_on = None
    decision.review_on = data.review_on
    decision.tags = data.tags
    decision.updated_at = utcnow()


def changed(session: Session, decision: Decision) -> None:
    session.add(decision)
    session.flush()
    search.enqueue(session=session, kind="decision", ref_id=decision.id or 0)
    if decision.workshop_id is not None:
        touch_workshop(session, decision.workshop_id)


def touch_workshop(session: Session, workshop_id: int) -> None:
    try:
        from app.workshops import service as workshops
    except ImportError:  # pragma: no cover - until the workshops domain lands
        return
    workshops.touch(session=session, workshop_id=workshop_id)
