"""Decisions use cases: record, edit drafts, move through statuses, amend, supersede, review.

Accepted text is frozen: it changes only by ``amend_decision`` (the earlier text is kept as a
``DecisionVersion``) or by a new decision that supersedes it. Reads (the log, a record, the
current answer, page governance) live in ``app.decisions.views``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy import delete, func, text
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import User
from app.core.db import begin_write, is_sqlite
from app.core.errors import Conflict, Invalid, NotFound
from app.core.time import utcnow
from app.decisions.models import (
    Decision,
    DecisionLink,
    DecisionPerson,
    DecisionStatus,
    DecisionVersion,
    LinkKind,
    PersonRole,
)
from app.decisions.schemas import (
    DecisionAmend,
    DecisionCreate,
    DecisionFromProposal,
    DecisionLinks,
    DecisionText,
    DecisionUpdate,
    PageLinkIn,
    Transition,
)
from app.decisions.views import (
    current_answer,
    decision_versions,
    decisions_by_id,
    find_by_number,
    get_decision,
    get_record,
    governed_sections,
    governing,
    list_decisions,
    parse_ref,
    ref,
    revision_decisions,
    search_versions,
    today,
    workshop_decisions,
)
from app.discussions import service as discussions
from app.notifications import service as notifications
from app.pages import service as pages
from app.pages.models import Page
from app.search import service as search

__all__ = [
    "amend_decision",
    "change_status",
    "create_decision",
    "current_answer",
    "decision_versions",
    "decisions_by_id",
    "find_by_number",
    "get_decision",
    "get_record",
    "governed_notes",
    "governed_sections",
    "governing",
    "link_revision",
    "list_decisions",
    "parse_ref",
    "record_from_proposal",
    "ref",
    "revision_decisions",
    "search_versions",
    "send_review_reminders",
    "supersede_decision",
    "today",
    "update_decision",
    "workshop_decisions",
]

# an arbitrary constant: the PostgreSQL advisory lock that serialises DEC numbering
_NUMBER_LOCK = 0x44454331

_FROZEN = (
    "{ref} is {status}; its text is frozen. Amend it (a new version with a reason) "
    "or record a new decision that supersedes it."
)

# action -> (statuses it may start from, status it leads to)
_TRANSITIONS: dict[str, tuple[frozenset[DecisionStatus], DecisionStatus]] = {
    "draft": (frozenset({DecisionStatus.proposed}), DecisionStatus.draft),
    "propose": (frozenset({DecisionStatus.draft}), DecisionStatus.proposed),
    "accept": (
        frozenset({DecisionStatus.draft, DecisionStatus.proposed}),
        DecisionStatus.accepted,
    ),
    "reject": (
        frozenset({DecisionStatus.draft, DecisionStatus.proposed}),
        DecisionStatus.rejected,
    ),
    "withdraw": (
        frozenset({DecisionStatus.draft, DecisionStatus.proposed}),
        DecisionStatus.withdrawn,
    ),
    "deprecate": (frozenset({DecisionStatus.accepted}), DecisionStatus.deprecated),
}


class ProposalLike(Protocol):
    """What ``record_from_proposal`` needs of a proposal (the proposals domain's row)."""

    @property
    def id(self) -> int | None: ...
    @property
    def workshop_id(self) -> int | None: ...


# --- checks -------------------------------------------------------------------------------------


def _next_number(session: Session) -> int:
    """The next DEC number; the caller holds the write transaction.

    SQLite writers are serialised by BEGIN IMMEDIATE; on PostgreSQL an advisory lock held to the
    end of the transaction does it. The unique constraint on ``number`` is the backstop.
    """
    if not is_sqlite(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _NUMBER_LOCK})
    highest = session.exec(select(func.max(Decision.number))).one()
    return int(highest or 0) + 1


def _locked(session: Session, number: int) -> Decision:
    stmt = select(Decision).where(Decision.number == number)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    decision = session.exec(stmt).first()
    if decision is None:
        raise NotFound(f"There is no decision {ref(number)}.")
    return decision


def _check_review(review_on: date | None, *, previous: date | None = None) -> None:
    if review_on is not None and review_on != previous and review_on < today():
        raise Invalid(
            f"The review date {review_on.isoformat()} is in the past; pick today or a later day.",
            field="review_on",
        )


def _check_text(data: DecisionText) -> None:
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


def _people(session: Session, data: DecisionText) -> list[tuple[int, PersonRole]]:
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


def _set_people(session: Session, decision: Decision, people: list[tuple[int, PersonRole]]) -> None:
    session.execute(delete(DecisionPerson).where(col(DecisionPerson.decision_id) == decision.id))
    for uid, role in dict.fromkeys(people):
        session.add(DecisionPerson(decision_id=decision.id or 0, user_id=uid, role=role))


def _page_links(session: Session, links: list[PageLinkIn]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for link in links:
        page = pages.find_page(session=session, slug=link.slug)
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


def _thread_links(session: Session, ids: list[int], user: User | None) -> list[int]:
    for tid in ids:
        try:
            discussions.get_thread(session=session, thread_id=tid, user=user)
        except NotFound:
            raise Invalid(f"There is no discussion #{tid} to link.", field="thread_ids") from None
    return list(dict.fromkeys(ids))


Links = tuple[list[tuple[int, str]], list[int]]


def _checked_links(session: Session, data: DecisionLinks, user: User | None) -> Links:
    """The pages (with sections) and threads to link, checked before anything is written."""
    return _page_links(session, data.pages), _thread_links(session, data.thread_ids, user)


def _set_links(session: Session, decision: Decision, links: Links) -> None:
    page_links, thread_ids = links
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


def _check_origin(session: Session, data: DecisionLinks, user: User | None) -> None:
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


def _supersede_target(
    session: Session, decision: Decision | None, target_ref: str
) -> Decision | None:
    """The decision ``decision`` (None: a new one) would replace; checked, nothing written."""
    if not target_ref.strip():
        return None
    number = parse_ref(target_ref, field="supersedes")
    target = find_by_number(session=session, number=number)
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


def _link_supersedes(session: Session, decision: Decision, target: Decision | None) -> None:
    """Make ``decision`` replace ``target`` (links both ways), releasing an earlier target."""
    previous = session.get(Decision, decision.supersedes_id) if decision.supersedes_id else None
    if previous is not None and (target is None or previous.id != target.id):
        previous.superseded_by_id = None
        _changed(session, previous)
    decision.supersedes_id = target.id if target is not None else None
    if target is not None:
        target.superseded_by_id = decision.id
        _changed(session, target)


def _apply_text(decision: Decision, data: DecisionText) -> None:
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


def _changed(session: Session, decision: Decision) -> None:
    session.add(decision)
    session.flush()
    search.enqueue(session=session, kind="decision", ref_id=decision.id or 0)
    if decision.workshop_id is not None:
        _touch_workshop(session, decision.workshop_id)


def _touch_workshop(session: Session, workshop_id: int) -> None:
    try:
        from app.workshops import service as workshops
    except ImportError:  # pragma: no cover - until the workshops domain lands
        return
    workshops.touch(session=session, workshop_id=workshop_id)


# --- use cases ----------------------------------------------------------------------------------


def create_decision(*, session: Session, data: DecisionCreate, user: User | None) -> Decision:
    """Record a new decision as a draft (or proposed), DEC-n numbered."""
    me = accounts.require_user(user, "decision.record")
    _check_text(data)
    _check_review(data.review_on)
    begin_write(session)
    people = _people(session, data)
    _check_origin(session, data, me)
    links = _checked_links(session, data, me)
    target = _supersede_target(session, None, data.supersedes)
    decision = Decision(
        number=_next_number(session),
        title=data.title,
        status=DecisionStatus(data.status),
        workshop_id=data.workshop_id,
        proposal_id=data.proposal_id,
        created_by_id=me.id,
    )
    _apply_text(decision, data)
    session.add(decision)
    session.flush()
    _set_people(session, decision, people)
    _set_links(session, decision, links)
    _link_supersedes(session, decision, target)
    _changed(session, decision)
    session.commit()
    return decision


def update_decision(
    *, session: Session, number: int, data: DecisionUpdate, user: User | None
) -> Decision:
    """Change the text and links of a draft or proposed decision."""
    me = accounts.require_user(user, "decision.record")
    _check_text(data)
    begin_write(session)
    decision = _locked(session, number)
    if decision.status not in (DecisionStatus.draft, DecisionStatus.proposed):
        raise Conflict(_FROZEN.format(ref=ref(number), status=decision.status))
    _check_review(data.review_on, previous=decision.review_on)
    people = _people(session, data)
    _check_origin(session, data, me)
    links = _checked_links(session, data, me)
    target = _supersede_target(session, decision, data.supersedes)
    _apply_text(decision, data)
    decision.workshop_id = data.workshop_id
    decision.proposal_id = data.proposal_id
    _set_people(session, decision, people)
    _set_links(session, decision, links)
    _link_supersedes(session, decision, target)
    _changed(session, decision)
    session.commit()
    return decision


def supersede_decision(
    *, session: Session, number: int, data: DecisionCreate, user: User | None
) -> Decision:
    """A new decision (draft or proposed) that will replace DEC-``number`` once accepted."""
    accounts.require_user(user, "decision.record")
    if find_by_number(session=session, number=number) is None:
        raise NotFound(f"There is no decision {ref(number)}.")
    data = data.model_copy(update={"supersedes": ref(number)})
    return create_decision(session=session, data=data, user=user)


def _accepted(session: Session, decision: Decision, actor: User | None) -> None:
    """What accepting does besides the status: date it, replace what it supersedes, notify."""
    decision.decided_on = decision.decided_on or today()
    if decision.supersedes_id is not None:
        old = session.get(Decision, decision.supersedes_id)
        if old is not None:
            if old.status not in (DecisionStatus.accepted, DecisionStatus.deprecated):
                raise Conflict(
                    f"{ref(old.number)} is {old.status} and can no longer be superseded; "
                    "remove it from 'supersedes' first."
                )
            old.status = DecisionStatus.superseded
            old.superseded_by_id = decision.id
            old.updated_at = utcnow()
            _changed(session, old)
    deciders = _role_ids(session, decision, PersonRole.decider, PersonRole.informed)
    notifications.decision_recorded(
        session=session,
        ref=ref(decision.number),
        title=decision.title,
        recipients=deciders,
        actor=actor,
    )


def _role_ids(session: Session, decision: Decision, *roles: PersonRole) -> set[int]:
    return set(
        session.exec(
            select(DecisionPerson.user_id).where(
                DecisionPerson.decision_id == decision.id, col(DecisionPerson.role).in_(roles)
            )
        )
    )


def change_status(
    *,
    session: Session,
    number: int,
    action: Transition | str,
    user: User | None,
    decided_on: date | None = None,
) -> Decision:
    """Propose, accept, reject, withdraw or deprecate a decision (or send it back to draft)."""
    me = accounts.require_user(user, "decision.record")
    if action not in _TRANSITIONS:
        raise Invalid(f"Unknown action {action!r}.", field="action")
    begin_write(session)
    decision = _locked(session, number)
    sources, target = _TRANSITIONS[action]
    if decision.status not in sources:
        allowed = ", ".join(sorted(s.value for s in sources))
        raise Conflict(
            f"{ref(number)} is {decision.status}; it cannot become {target} (only from {allowed})."
        )
    if decided_on is not None:
        decision.decided_on = decided_on
    decision.status = target
    decision.updated_at = utcnow()
    if target == DecisionStatus.accepted:
        _accepted(session, decision, me)
    elif target in (DecisionStatus.rejected, DecisionStatus.withdrawn):
        _release_supersedes(session, decision)
    _changed(session, decision)
    session.commit()
    return decision


def _release_supersedes(session: Session, decision: Decision) -> None:
    """A rejected or withdrawn replacement no longer claims the decision it would replace."""
    if decision.supersedes_id is None:
        return
    old = session.get(Decision, decision.supersedes_id)
    if old is not None and old.superseded_by_id == decision.id:
        old.superseded_by_id = None
        _changed(session, old)


def _snapshot(session: Session, decision: Decision) -> dict[str, object]:
    rows = list(
        session.exec(select(DecisionPerson).where(DecisionPerson.decision_id == decision.id))
    )
    people = accounts.users_by_id(session=session, ids={r.user_id for r in rows})
    by_role: dict[str, list[str]] = {r.value: [] for r in PersonRole}
    for row in rows:
        if row.user_id in people:
            by_role[row.role.value].append(people[row.user_id].username)
    return {
        "title": decision.title,
        "context": decision.context,
        "drivers": decision.drivers,
        "options": decision.options,
        "chosen_option": decision.chosen_option,
        "rationale": decision.rationale,
        "consequences": decision.consequences,
        "method": str(decision.method),
        "decided_on": decision.decided_on.isoformat() if decision.decided_on else None,
        "review_on": decision.review_on.isoformat() if decision.review_on else None,
        "tags": list(decision.tags),
        "deciders": by_role["decider"],
        "consulted": by_role["consulted"],
        "informed": by_role["informed"],
        "updated_at": decision.updated_at.isoformat(),
    }


def amend_decision(
    *, session: Session, number: int, data: DecisionAmend, user: User | None
) -> Decision:
    """A new version of an accepted decision; the earlier text is kept with the reason."""
    me = accounts.require_user(user, "decision.record")
    reason = " ".join(data.reason.split())
    if not reason:
        raise Invalid(
            "Say why the decision is amended; the reason is kept with it.", field="reason"
        )
    _check_text(data)
    begin_write(session)
    decision = _locked(session, number)
    if decision.status != DecisionStatus.accepted:
        raise Conflict(
            f"{ref(number)} is {decision.status}; only an accepted decision is amended "
            "(edit a draft or proposed one directly)."
        )
    _check_review(data.review_on, previous=decision.review_on)
    people = _people(session, data)
    session.add(
        DecisionVersion(
            decision_id=decision.id or 0,
            version=decision.version,
            snapshot=_snapshot(session, decision),
            reason=reason,
            author_id=me.id,
        )
    )
    decided_on = decision.decided_on
    _apply_text(decision, data)
    decision.decided_on = data.decided_on or decided_on
    decision.version += 1
    _set_people(session, decision, people)
    _changed(session, decision)
    session.commit()
    return decision


def send_review_reminders(*, session: Session, on: date | None = None) -> int:
    """Tell the deciders of decisions whose review date has come (once per date); returns how
    many decisions were due."""
    day = on or today()
    begin_write(session)
    due = list(
        session.exec(
            select(Decision).where(
                col(Decision.review_on).is_not(None),
                col(Decision.review_on) <= day,
                col(Decision.status) == DecisionStatus.accepted,
            )
        )
    )
    count = 0
    for decision in due:
        if (
            decision.review_notified_on is not None
            and decision.review_on is not None
            and (decision.review_notified_on >= decision.review_on)
        ):
            continue
        notifications.decision_review_due(
            session=session,
            ref=ref(decision.number),
            title=decision.title,
            review_on=decision.review_on or day,
            recipients=_role_ids(session, decision, PersonRole.decider),
        )
        decision.review_notified_on = day
        session.add(decision)
        count += 1
    session.commit()
    return count


# --- steps for other domains (inside the caller's transaction, no commit) ---------------------


def record_from_proposal(
    *, session: Session, proposal: ProposalLike, actor: User | None, data: DecisionFromProposal
) -> Decision:
    """An accepted decision for an accepted proposal (a step of the proposals' transaction).

    The proposals service checked that ``actor`` may close the proposal; nothing is committed.
    """
    begin_write(session)
    text_ = DecisionText(
        title=data.title,
        context=data.context,
        options=data.options,
        chosen_option=data.chosen_option,
        rationale=data.rationale,
        consequences=data.consequences,
        method=data.method,
        decided_on=today(),
        review_on=data.review_on,
        tags=data.tags,
        deciders=data.deciders,
    )
    _check_text(text_)
    _check_review(text_.review_on)
    people = _people(session, text_)
    links = _checked_links(
        session, DecisionLinks(thread_ids=data.thread_ids, pages=data.pages), actor
    )
    decision = Decision(
        number=_next_number(session),
        title=text_.title,
        status=DecisionStatus.accepted,
        workshop_id=proposal.workshop_id,
        proposal_id=proposal.id,
        created_by_id=actor.id if actor is not None else None,
    )
    _apply_text(decision, text_)
    session.add(decision)
    session.flush()
    _set_people(session, decision, people)
    _set_links(session, decision, links)
    _accepted(session, decision, actor)
    _changed(session, decision)
    return decision


@dataclass(frozen=True)
class GovernedSection:
    """A section of a page that a decision in force governs (for the editor's notice)."""

    heading_id: str
    heading: str
    ref: str
    title: str


def governed_notes(*, session: Session, page: Page | None) -> list[GovernedSection]:
    """The governed sections of a page with their headings and decisions, for the editor."""
    if page is None or page.is_deleted:
        return []
    found = governed_sections(session=session, page_id=page.id or 0)
    if not found:
        return []
    texts = dict(discussions.section_choices(session=session, page=page))
    return [
        GovernedSection(
            heading_id=sid, heading=texts.get(sid, sid), ref=ref(d.number), title=d.title
        )
        for sid, d in found.items()
    ]


def link_revision(*, session: Session, decision: Decision, page_id: int, revision: int) -> None:
    """Record that ``decision`` made revision ``revision`` of a page (and so governs the page)."""
    begin_write(session)
    session.add(
        DecisionLink(
            decision_id=decision.id or 0, kind=LinkKind.revision, page_id=page_id, revision=revision
        )
    )
    governs = session.exec(
        select(DecisionLink.id).where(
            DecisionLink.decision_id == decision.id,
            DecisionLink.kind == LinkKind.page,
            DecisionLink.page_id == page_id,
        )
    ).first()
    if governs is None:
        session.add(DecisionLink(decision_id=decision.id or 0, kind=LinkKind.page, page_id=page_id))
    session.flush()
    search.enqueue(session=session, kind="decision", ref_id=decision.id or 0)
