"""Reading decisions: one record, the log with its filters, the current answer, versions, and
which decisions govern a page. Re-exported by ``app.decisions.service``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.access import service as access
from app.accounts import service as accounts
from app.accounts.models import User
from app.core.errors import Invalid, NotFound
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
from app.decisions.schemas import LogFilters
from app.pages import service as pages
from app.pages.models import Page

_REF = re.compile(r"^\s*(?:dec-?)?0*(\d{1,9})\s*$", re.I)
# statuses in which a decision is in force and governs what it links to
IN_FORCE = (DecisionStatus.accepted,)


def today() -> date:
    """Today's date in UTC (review dates and decided-on dates are days, not instants)."""
    return utcnow().date()


def ref(number: int) -> str:
    """``DEC-0001``."""
    return f"DEC-{number:04d}"


def parse_ref(value: str | int, *, field: str = "number") -> int:
    """The number in ``DEC-0001``, ``dec-1`` or ``1`` (raises Invalid)."""
    match = _REF.match(str(value))
    if match is None or int(match.group(1)) < 1:
        raise Invalid(
            f"{str(value)[:40]!r} is not a decision number (write e.g. DEC-0001).", field=field
        )
    return int(match.group(1))


@dataclass
class LinkView:
    link: DecisionLink
    page: Page | None = None
    thread_title: str = ""
    section_title: str = ""


@dataclass
class DecisionView:
    decision: Decision
    people: dict[PersonRole, list[User]] = field(default_factory=dict)
    links: list[LinkView] = field(default_factory=list)
    supersedes: Decision | None = None
    superseded_by: Decision | None = None
    author: User | None = None

    @property
    def ref(self) -> str:
        return ref(self.decision.number)

    @property
    def deciders(self) -> list[User]:
        return self.people.get(PersonRole.decider, [])

    @property
    def consulted(self) -> list[User]:
        return self.people.get(PersonRole.consulted, [])

    @property
    def informed(self) -> list[User]:
        return self.people.get(PersonRole.informed, [])

    @property
    def page_links(self) -> list[LinkView]:
        return [v for v in self.links if v.link.kind == LinkKind.page]

    @property
    def revision_links(self) -> list[LinkView]:
        return [v for v in self.links if v.link.kind == LinkKind.revision]

    @property
    def thread_links(self) -> list[LinkView]:
        return [v for v in self.links if v.link.kind == LinkKind.thread]

    @property
    def review_due(self) -> bool:
        d = self.decision
        return d.status in IN_FORCE and d.review_on is not None and d.review_on <= today()


@dataclass
class Record:
    """A decision view with its MADR sections rendered to sanitised HTML."""

    view: DecisionView
    html: dict[str, str]
    options_html: list[dict[str, str]]
    chain: list[Decision]
    versions: list[DecisionVersion]


def find_by_number(*, session: Session, number: int) -> Decision | None:
    """The decision DEC-``number`` or None."""
    return session.exec(select(Decision).where(Decision.number == number)).first()


def _get(session: Session, number: int, user: User | None) -> Decision:
    accounts.require(user, "page.read")
    decision = find_by_number(session=session, number=number)
    if decision is None:
        raise NotFound(f"There is no decision {ref(number)}.")
    return decision


def _views(
    session: Session, decisions: Sequence[Decision], user: User | None
) -> list[DecisionView]:
    """Decisions with their people and links: links to pages (and discussions on pages) in a
    subtree ``user`` may not read are left out (``None``: what anyone may read)."""
    if not decisions:
        return []
    ids = [d.id for d in decisions]
    people = list(
        session.exec(select(DecisionPerson).where(col(DecisionPerson.decision_id).in_(ids)))
    )
    links = list(
        session.exec(
            select(DecisionLink)
            .where(col(DecisionLink.decision_id).in_(ids))
            .order_by(col(DecisionLink.id))
        )
    )
    users = accounts.users_by_id(
        session=session, ids={p.user_id for p in people} | {d.created_by_id for d in decisions}
    )
    page_map = pages.pages_by_id(session=session, ids={lk.page_id for lk in links if lk.page_id})
    related_ids = {d.supersedes_id for d in decisions} | {d.superseded_by_id for d in decisions}
    related = decisions_by_id(session=session, ids={i for i in related_ids if i})
    thread_titles, thread_slugs = _thread_titles(
        session, {lk.thread_id for lk in links if lk.thread_id}
    )
    readable = access.access_for(session=session, user=user)
    if readable.hidden_roots:
        hidden_pages = {pid for pid, p in page_map.items() if not readable.can_read(p.slug)}
        hidden_threads = {t for t, slug in thread_slugs.items() if not readable.can_read(slug)}
        links = [
            lk
            for lk in links
            if (lk.page_id or 0) not in hidden_pages and (lk.thread_id or 0) not in hidden_threads
        ]
    out = []
    for d in decisions:
        view = DecisionView(
            decision=d,
            supersedes=related.get(d.supersedes_id or 0),
            superseded_by=related.get(d.superseded_by_id or 0),
            author=users.get(d.created_by_id or 0),
        )
        for p in people:
            if p.decision_id == d.id and p.user_id in users:
                view.people.setdefault(p.role, []).append(users[p.user_id])
        for role in view.people:
            view.people[role].sort(key=lambda u: u.username)
        view.links = [
            LinkView(
                link=lk,
                page=page_map.get(lk.page_id or 0),
                thread_title=thread_titles.get(lk.thread_id or 0, ""),
            )
            for lk in links
            if lk.decision_id == d.id
        ]
        out.append(view)
    return out


def _thread_titles(session: Session, ids: set[int | None]) -> tuple[dict[int, str], dict[int, str]]:
    """The titles of these threads, and the addresses of their pages."""
    from app.discussions import service as discussions  # lazily: discussions import pages

    wanted = {i for i in ids if i}
    if not wanted:
        return {}, {}
    found = discussions.threads_by_id(session=session, ids=wanted)
    return (
        {
            v.thread.id or 0: v.thread.title or v.excerpt[:80] or f"Discussion #{v.thread.id}"
            for v in found
        },
        {v.thread.id or 0: v.page.slug for v in found},
    )


def decisions_by_id(*, session: Session, ids: Iterable[int]) -> dict[int, Decision]:
    """Decisions by id."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {
        d.id or 0: d for d in session.exec(select(Decision).where(col(Decision.id).in_(wanted)))
    }


def get_decision(*, session: Session, number: int, user: User | None) -> DecisionView:
    """One decision with its people and links (raises NotFound)."""
    return _views(session, [_get(session, number, user)], user)[0]


def _chain(session: Session, decision: Decision) -> list[Decision]:
    """The supersession chain through ``decision``: oldest first."""
    back: list[Decision] = []
    seen = {decision.id}
    walk = decision
    while walk.supersedes_id and walk.supersedes_id not in seen:
        prev = session.get(Decision, walk.supersedes_id)
        if prev is None:
            break
        seen.add(prev.id)
        back.append(prev)
        walk = prev
    forward: list[Decision] = []
    walk = decision
    while walk.superseded_by_id and walk.superseded_by_id not in seen:
        nxt = session.get(Decision, walk.superseded_by_id)
        if nxt is None:
            break
        seen.add(nxt.id)
        forward.append(nxt)
        walk = nxt
    return [*reversed(back), decision, *forward]


def get_record(*, session: Session, number: int, user: User | None) -> Record:
    """A decision for its record page: MADR sections rendered through the sanitiser."""
    view = get_decision(session=session, number=number, user=user)
    d = view.decision

    def md(body: str) -> str:
        return pages.render_preview(session=session, body=body, user=user).html if body else ""

    html = {
        name: md(getattr(d, name)) for name in ("context", "drivers", "rationale", "consequences")
    }
    options = [
        {
            "name": o.get("name", ""),
            "pros": md(o.get("pros", "")),
            "cons": md(o.get("cons", "")),
            "chosen": "yes"
            if d.chosen_option and o.get("name", "").lower() == d.chosen_option.lower()
            else "",
        }
        for o in d.options
    ]
    _section_titles(session, view.page_links)
    versions = list(
        session.exec(
            select(DecisionVersion)
            .where(DecisionVersion.decision_id == d.id)
            .order_by(col(DecisionVersion.version).desc())
        )
    )
    return Record(
        view=view, html=html, options_html=options, chain=_chain(session, d), versions=versions
    )


def _section_titles(session: Session, links: list[LinkView]) -> None:
    """Fill in the heading text of linked sections (the heading may have been renamed since)."""
    from app.discussions import service as discussions  # lazily: discussions import pages

    texts: dict[int, dict[str, str]] = {}
    for lv in links:
        if not lv.link.section or lv.page is None or lv.page.is_deleted:
            continue
        if lv.page.id not in texts:
            texts[lv.page.id or 0] = dict(
                discussions.section_choices(session=session, page=lv.page)
            )
        lv.section_title = texts[lv.page.id or 0].get(lv.link.section, "")


def decision_versions(
    *, session: Session, number: int, user: User | None
) -> tuple[DecisionView, list[tuple[DecisionVersion, User | None]]]:
    """Earlier versions of a decision (newest first) with who amended each."""
    view = get_decision(session=session, number=number, user=user)
    rows = list(
        session.exec(
            select(DecisionVersion)
            .where(DecisionVersion.decision_id == view.decision.id)
            .order_by(col(DecisionVersion.version).desc())
        )
    )
    authors = accounts.users_by_id(session=session, ids={r.author_id for r in rows})
    return view, [(r, authors.get(r.author_id or 0)) for r in rows]


def current_answer(
    *, session: Session, number: int, user: User | None
) -> tuple[DecisionView, list[Decision]]:
    """The decision in force for DEC-``number``: follows "superseded by" to the end.

    Returns the current decision and the path from the one asked for to it.
    """
    decision = _get(session, number, user)
    path = [decision]
    seen = {decision.id}
    while decision.status == DecisionStatus.superseded and decision.superseded_by_id:
        nxt = session.get(Decision, decision.superseded_by_id)
        if nxt is None or nxt.id in seen:
            break
        seen.add(nxt.id)
        path.append(nxt)
        decision = nxt
    return _views(session, [decision], user)[0], path


def _user_id(session: Session, username: str) -> int | None:
    found = accounts.users_by_username(session=session, names=[username.lstrip("@")])
    person = found.get(username.lstrip("@").lower())
    return person.id if person is not None else None


def list_decisions(
    *,
    session: Session,
    user: User | None,
    filters: LogFilters | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[DecisionView], int]:
    """The decision log, newest number first, with filters; returns one page and the total."""
    accounts.require(user, "page.read")
    f = filters or LogFilters()
    stmt = select(Decision)
    if f.status:
        stmt = stmt.where(Decision.status == DecisionStatus(f.status))
    if f.workshop is not None:
        stmt = stmt.where(Decision.workshop_id == f.workshop)
    if f.since is not None:
        stmt = stmt.where(col(Decision.decided_on) >= f.since)
    if f.until is not None:
        stmt = stmt.where(col(Decision.decided_on) <= f.until)
    if f.review == "due":
        stmt = stmt.where(
            col(Decision.status).in_(IN_FORCE),
            col(Decision.review_on).is_not(None),
            col(Decision.review_on) <= today(),
        )
    if f.under.strip("/"):
        ids = pages.page_ids_under(session=session, prefix=f.under.removeprefix("/wiki/"))
        readable = access.access_for(session=session, user=user)
        if readable.hidden_roots:  # links to hidden pages must not tell which decisions have them
            found = pages.pages_by_id(session=session, ids=ids)
            ids = [i for i, p in found.items() if readable.can_read(p.slug)]
        stmt = stmt.where(
            col(Decision.id).in_(
                select(DecisionLink.decision_id).where(col(DecisionLink.page_id).in_(ids or [-1]))
            )
        )
    if f.decider:
        uid = _user_id(session, f.decider)
        if uid is None:
            return [], 0
        stmt = stmt.where(
            col(Decision.id).in_(
                select(DecisionPerson.decision_id).where(
                    DecisionPerson.user_id == uid, DecisionPerson.role == PersonRole.decider
                )
            )
        )
    rows = list(session.exec(stmt.order_by(col(Decision.number).desc())))
    if f.tag:
        # tags are a JSON list: filtered here, identically on SQLite and PostgreSQL
        wanted = " ".join(f.tag.split()).lower()
        rows = [d for d in rows if wanted in d.tags]
    total = len(rows)
    return _views(session, rows[offset : offset + limit], user), total


def all_tags(*, session: Session) -> list[str]:
    """Every tag used on a decision, sorted (for the log's filter)."""
    tags: set[str] = set()
    for row in session.exec(select(Decision.tags)):
        tags.update(row)
    return sorted(tags)


# --- for other domains ------------------------------------------------------------------------


def workshop_decisions(*, session: Session, workshop_id: int, user: User | None) -> list[Decision]:
    """Decisions recorded for a workshop, by number (for its summary)."""
    accounts.require(user, "page.read")
    return list(
        session.exec(
            select(Decision)
            .where(Decision.workshop_id == workshop_id)
            .order_by(col(Decision.number))
        )
    )


def governing(*, session: Session, page_id: int) -> list[Decision]:
    """Decisions in force that govern a page (or a section of it), by number."""
    ids = select(DecisionLink.decision_id).where(
        DecisionLink.page_id == page_id,
        col(DecisionLink.kind).in_([LinkKind.page, LinkKind.revision]),
    )
    return list(
        session.exec(
            select(Decision)
            .where(col(Decision.id).in_(ids), col(Decision.status).in_(IN_FORCE))
            .order_by(col(Decision.number))
        )
    )


def revision_decisions(*, session: Session, page_id: int) -> dict[int, Decision]:
    """Revision number -> the decision that made it, for the page's history."""
    rows = session.exec(
        select(DecisionLink.revision, Decision)
        .join(Decision, col(Decision.id) == col(DecisionLink.decision_id))
        .where(DecisionLink.page_id == page_id, DecisionLink.kind == LinkKind.revision)
    )
    return {rev: d for rev, d in rows if rev is not None}


def governed_sections(*, session: Session, page_id: int) -> dict[str, Decision]:
    """Heading id -> the decision in force that governs that section of the page."""
    rows = session.exec(
        select(DecisionLink.section, Decision)
        .join(Decision, col(Decision.id) == col(DecisionLink.decision_id))
        .where(
            DecisionLink.page_id == page_id,
            DecisionLink.kind == LinkKind.page,
            DecisionLink.section != "",
            col(Decision.status).in_(IN_FORCE),
        )
        .order_by(col(Decision.number))
    )
    out: dict[str, Decision] = {}
    for section, d in rows:
        out.setdefault(section, d)
    return out


# --- search -------------------------------------------------------------------------------------


def search_views(*, session: Session, ids: Iterable[int]) -> list[DecisionView]:
    """Decisions with people and links, for the search indexer."""
    rows = list(session.exec(select(Decision).where(col(Decision.id).in_(set(ids)))))
    return _views(session, rows, None)  # the index names only pages anyone may read


def decisions_linking(*, session: Session, page_id: int) -> list[int]:
    """Ids of the decisions that link the page (for the search seam)."""
    stmt = select(DecisionLink.decision_id).where(DecisionLink.page_id == page_id).distinct()
    return list(session.exec(stmt))


def search_version(decision: Decision) -> str:
    """Changes whenever the decision's searchable state does."""
    return f"{decision.status}-{decision.version}-{decision.updated_at.isoformat()}"


def search_versions(*, session: Session) -> dict[int, str]:
    """Decision id -> version, to reconcile the search index."""
    return {d.id or 0: search_version(d) for d in session.exec(select(Decision))}


def count_decisions(*, session: Session) -> int:
    """How many decisions exist."""
    return int(session.exec(select(func.count()).select_from(Decision)).one())
