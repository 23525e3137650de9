"""Decisions use cases: record, edit drafts, move through statuses, amend, supersede, review.

Accepted text is frozen: it changes only by ``amend_decision`` (the earlier text is kept as a
``DecisionVersion``) or by a new decision that supersedes it. Reads (the log, a record, the
current answer, page governance) live in ``app.decisions.views``; checks and write steps in
``app.decisions.rules``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import User
from app.core import events
from app.core.db import begin_write
from app.core.errors import Conflict, Invalid, NotFound
from app.core.time import utcnow
from app.decisions import rules
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


# --- use cases ----------------------------------------------------------------------------------


def create_decision(*, session: Session, data: DecisionCreate, user: User | None) -> Decision:
    """Record a new decision as a draft (or proposed), DEC-n numbered."""
    me = accounts.require_user(user, "decision.record")
    rules.check_text(data)
    rules.check_review(data.review_on)
    begin_write(session)
    people = rules.people(session, data)
    rules.check_origin(session, data, me)
    links = rules.checked_links(session, data, me)
    target = rules.supersede_target(session, None, data.supersedes)
    decision = Decision(
        number=rules.next_number(session),
        title=data.title,
        status=DecisionStatus(data.status),
        workshop_id=data.workshop_id,
        proposal_id=data.proposal_id,
        created_by_id=me.id,
    )
    rules.apply_text(decision, data)
    session.add(decision)
    session.flush()
    rules.set_people(session, decision, people)
    rules.set_links(session, decision, links, me)
    rules.link_supersedes(session, decision, target)
    rules.changed(session, decision)
    session.commit()
    return decision


def update_decision(
    *, session: Session, number: int, data: DecisionUpdate, user: User | None
) -> Decision:
    """Change the text and links of a draft or proposed decision."""
    me = accounts.require_user(user, "decision.record")
    rules.check_text(data)
    begin_write(session)
    decision = rules.locked(session, number)
    if decision.status not in (DecisionStatus.draft, DecisionStatus.proposed):
        raise Conflict(_FROZEN.format(ref=ref(number), status=decision.status))
    rules.check_review(data.review_on, previous=decision.review_on)
    people = rules.people(session, data)
    rules.check_origin(session, data, me)
    links = rules.checked_links(session, data, me)
    target = rules.supersede_target(session, decision, data.supersedes)
    rules.apply_text(decision, data)
    decision.workshop_id = data.workshop_id
    decision.proposal_id = data.proposal_id
    rules.set_people(session, decision, people)
    rules.set_links(session, decision, links, me)
    rules.link_supersedes(session, decision, target)
    rules.changed(session, decision)
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
            rules.changed(session, old)
    recipients = _role_ids(session, decision, PersonRole.decider, PersonRole.informed)
    # watchers of the pages it governs hear of it too
    page_ids = session.exec(
        select(DecisionLink.page_id).where(
            DecisionLink.decision_id == decision.id, DecisionLink.kind == LinkKind.page
        )
    )
    for page_id in set(page_ids):
        if page_id is not None:
            recipients |= notifications.watchers(session=session, page_id=page_id)
    notifications.decision_recorded(
        session=session,
        ref=ref(decision.number),
        title=decision.title,
        recipients=recipients,
        actor=actor,
    )
    events.publish(
        session,
        events.Event(
            name="decision.recorded",
            actor_id=actor.id if actor else None,
            data={
                "decision_id": decision.id,
                "ref": ref(decision.number),
                "title": decision.title,
                "status": str(decision.status),
                "decided_on": decision.decided_on.isoformat() if decision.decided_on else None,
                "supersedes_id": decision.supersedes_id,
            },
        ),
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
    decision = rules.locked(session, number)
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
    rules.changed(session, decision)
    session.commit()
    return decision


def _release_supersedes(session: Session, decision: Decision) -> None:
    """A rejected or withdrawn replacement no longer claims the decision it would replace."""
    if decision.supersedes_id is None:
        return
    old = session.get(Decision, decision.supersedes_id)
    if old is not None and old.superseded_by_id == decision.id:
        old.superseded_by_id = None
        rules.changed(session, old)


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
    rules.check_text(data)
    begin_write(session)
    decision = rules.locked(session, number)
    if decision.status != DecisionStatus.accepted:
        raise Conflict(
            f"{ref(number)} is {decision.status}; only an accepted decision is amended "
            "(edit a draft or proposed one directly)."
        )
    rules.check_review(data.review_on, previous=decision.review_on)
    people = rules.people(session, data)
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
    rules.apply_text(decision, data)
    decision.decided_on = data.decided_on or decided_on
    decision.version += 1
    rules.set_people(session, decision, people)
    rules.changed(session, decision)
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
    rules.check_text(text_)
    rules.check_review(text_.review_on)
    people = rules.people(session, text_)
    links = rules.checked_links(
        session, DecisionLinks(thread_ids=data.thread_ids, pages=data.pages), actor
    )
    decision = Decision(
        number=rules.next_number(session),
        title=text_.title,
        status=DecisionStatus.accepted,
        workshop_id=proposal.workshop_id,
        proposal_id=proposal.id,
        created_by_id=actor.id if actor is not None else None,
    )
    rules.apply_text(decision, text_)
    session.add(decision)
    session.flush()
    rules.set_people(session, decision, people)
    rules.set_links(session, decision, links, actor)
    _accepted(session, decision, actor)
    rules.changed(session, decision)
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
