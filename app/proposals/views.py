"""Proposals read side: the views handed to templates and the API, who may do what, lists,
tallies, versions, and the prefill of a new proposal."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.access import service as access
from app.accounts import service as accounts
from app.accounts.models import User
from app.core.errors import Conflict, Forbidden, NotFound, Unauthorized
from app.core.time import as_utc, utcnow
from app.decisions import service as decisions
from app.pages import diff as diffs
from app.pages import service as pages
from app.pages.models import Page
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
    StateFilter,
)
from app.workshops import service as workshops

EXCERPT_CHARS = 280


# --- views handed to templates and the API ----------------------------------------------------


@dataclass
class ChangeView:
    change: ProposalChange
    page: Page
    base_body: str
    diff: diffs.Diff

    @property
    def moved_on(self) -> bool:
        """The page has newer revisions than the one the change was written against."""
        return self.page.head != self.change.base_revision


@dataclass
class ResponseView:
    response: ProposalResponse
    user: User | None
    current: bool  # given on the proposal's current version


@dataclass
class TallyView:
    hidden: bool
    version: int
    counts: dict[Stance, int]
    earlier: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def percent(self, stance: Stance) -> int:
        """The stance's share of the current version's responses, for the tally bar."""
        return round(100 * self.counts.get(stance, 0) / self.total) if self.total else 0


@dataclass
class ProposalView:
    proposal: Proposal
    author: User | None
    closed_by: User | None
    html: str
    tally: TallyView
    responses: list[ResponseView] = field(default_factory=list)
    changes: list[ChangeView] = field(default_factory=list)
    mine: ProposalResponse | None = None  # the viewer's response to the current version
    decision_ref: str = ""  # DEC-0001 once accepted
    can_respond: bool = False
    can_edit: bool = False
    can_close: bool = False
    can_withdraw: bool = False

    @property
    def id(self) -> int:
        return self.proposal.id or 0

    @property
    def is_open(self) -> bool:
        return self.proposal.state == ProposalState.open

    @property
    def past_closing(self) -> bool:
        return past_closing(self.proposal)

    @property
    def excerpt(self) -> str:
        text = " ".join(self.proposal.description.split())
        return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"

    def by_stance(self) -> list[tuple[Stance, list[ResponseView]]]:
        """Responses grouped by stance (current version first within a group)."""
        return [
            (s, sorted((r for r in self.responses if r.response.stance == s), key=_newest_first))
            for s in Stance
        ]


def _newest_first(r: ResponseView) -> tuple[bool, float]:
    return (not r.current, -as_utc(r.response.created_at).timestamp())


def past_closing(p: Proposal) -> bool:
    return p.closes_at is not None and as_utc(p.closes_at) <= utcnow()


def results_visible(p: Proposal) -> bool:
    """Tallies show unless hidden until the proposal closes (by outcome or closing time)."""
    return not p.hide_results or p.state != ProposalState.open or past_closing(p)


# --- permissions ------------------------------------------------------------------------------


def _require_workshop(session: Session, p: Proposal, user: User | None) -> None:
    accounts.require(user, "page.read")
    if p.workshop_id is not None:
        # a workshop's proposals are visible to whoever may see the workshop
        workshops.get_workshop(session=session, workshop_id=p.workshop_id, user=user)


def change_slugs(*, session: Session, ids: Iterable[int]) -> dict[int, list[str]]:
    """Proposal id -> the addresses of the pages it would change."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.exec(
        select(ProposalChange.proposal_id, Page.slug)
        .join(Page, col(Page.id) == col(ProposalChange.page_id))
        .where(col(ProposalChange.proposal_id).in_(wanted))
    )
    out: dict[int, list[str]] = {}
    for pid, slug in rows:
        out.setdefault(pid, []).append(slug)
    return out


def proposals_changing(*, session: Session, page_id: int) -> list[int]:
    """Ids of the proposals that would change the page (for the search seam)."""
    stmt = select(ProposalChange.proposal_id).where(ProposalChange.page_id == page_id).distinct()
    return list(session.exec(stmt))


def _hidden(session: Session, proposals: Sequence[Proposal], user: User | None) -> set[int]:
    """Ids of the proposals that would change a page ``user`` may not read."""
    view = access.access_for(session=session, user=user)
    if not view.hidden_roots or not proposals:
        return set()
    slugs = change_slugs(session=session, ids=[p.id for p in proposals if p.id is not None])
    return {pid for pid, found in slugs.items() if not all(map(view.can_read, found))}


def require_read(session: Session, p: Proposal, user: User | None) -> None:
    _require_workshop(session, p, user)
    if _hidden(session, [p], user):
        # a proposal to change a hidden page does not exist for this user either
        raise NotFound(f"There is no proposal #{p.id}.")


def may_close(session: Session, p: Proposal, user: User | None) -> bool:
    if user is None:
        return False
    if p.workshop_id is not None:
        return workshops.is_facilitator(session=session, workshop_id=p.workshop_id, user=user)
    return accounts.can(user, "decision.record")


def may_respond(session: Session, p: Proposal, user: User | None) -> bool:
    if user is None or not accounts.can(user, "proposal.respond"):
        return False
    if p.workshop_id is not None:
        return workshops.is_member(session=session, workshop_id=p.workshop_id, user=user)
    return True


def may_edit(session: Session, p: Proposal, user: User | None) -> bool:
    if user is None or p.state != ProposalState.open:
        return False
    own = p.author_id is not None and p.author_id == user.id
    return (own and accounts.can(user, "proposal.create")) or may_close(session, p, user)


def require_close(session: Session, p: Proposal, user: User | None) -> User:
    me = accounts.require_user(user, "proposal.respond")
    if not may_close(session, p, me):
        who = "the workshop's facilitators" if p.workshop_id else "facilitators and admins"
        raise Forbidden(f"Only {who} can close this proposal.")
    return me


def require_open(p: Proposal, doing: str) -> None:
    if p.state != ProposalState.open:
        raise Conflict(f"This proposal is {p.state}: it can no longer be {doing}.", state=p.state)


# --- reading ------------------------------------------------------------------------------------


def load_proposal(session: Session, proposal_id: int, *, lock: bool = False) -> Proposal:
    stmt = select(Proposal).where(Proposal.id == proposal_id)
    if lock and session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    p = session.exec(stmt).first()
    if p is None:
        raise NotFound(f"There is no proposal #{proposal_id}.")
    return p


def _tallies(session: Session, proposals: Sequence[Proposal]) -> dict[int, TallyView]:
    ids = [p.id for p in proposals]
    rows = session.exec(
        select(
            ProposalResponse.proposal_id,
            ProposalResponse.version,
            ProposalResponse.stance,
            func.count(),
        )
        .where(col(ProposalResponse.proposal_id).in_(ids))
        .group_by(
            col(ProposalResponse.proposal_id),
            col(ProposalResponse.version),
            col(ProposalResponse.stance),
        )
    ).all()
    out = {
        p.id or 0: TallyView(
            hidden=not results_visible(p),
            version=p.version,
            counts=dict.fromkeys(Stance, 0),
            earlier=0,
        )
        for p in proposals
    }
    versions = {p.id: p.version for p in proposals}
    for pid, version, stance, n in rows:
        tally = out[pid]
        if version == versions[pid]:
            tally.counts[Stance(stance)] += n
        else:
            tally.earlier += n
    return out


def _views(
    session: Session, proposals: Sequence[Proposal], user: User | None, *, full: bool
) -> list[ProposalView]:
    if not proposals:
        return []
    tallies = _tallies(session, proposals)
    responses: dict[int, list[ProposalResponse]] = {}
    changes: dict[int, list[ProposalChange]] = {}
    if full:
        ids = [p.id for p in proposals]
        for r in session.exec(
            select(ProposalResponse)
            .where(col(ProposalResponse.proposal_id).in_(ids))
            .order_by(col(ProposalResponse.created_at), col(ProposalResponse.id))
        ):
            responses.setdefault(r.proposal_id, []).append(r)
        for c in session.exec(
            select(ProposalChange)
            .where(col(ProposalChange.proposal_id).in_(ids))
            .order_by(col(ProposalChange.id))
        ):
            changes.setdefault(c.proposal_id, []).append(c)
    user_ids: set[int | None] = set()
    for p in proposals:
        user_ids |= {p.author_id, p.closed_by_id}
    for rs in responses.values():
        user_ids |= {r.user_id for r in rs}
    users = accounts.users_by_id(session=session, ids=user_ids)
    page_map = pages.pages_by_id(
        session=session, ids={c.page_id for cs in changes.values() for c in cs}
    )
    decided = decisions.decisions_by_id(
        session=session, ids={p.decision_id for p in proposals if p.decision_id}
    )
    views = []
    for p in proposals:
        pid = p.id or 0
        rs = responses.get(pid, [])
        if tallies[pid].hidden:
            # who responded how would give the hidden results away: only one's own shows
            rs = [r for r in rs if user is not None and r.user_id == user.id]
        view = ProposalView(
            proposal=p,
            author=users.get(p.author_id or 0),
            closed_by=users.get(p.closed_by_id or 0),
            html=_render(session, p.description, user) if full else "",
            tally=tallies[pid],
            responses=[ResponseView(r, users.get(r.user_id), r.version == p.version) for r in rs],
            changes=[_change_view(session, c, page_map[c.page_id]) for c in changes.get(pid, [])],
        )
        if p.decision_id in decided:
            view.decision_ref = decisions.ref(decided[p.decision_id].number)
        if full and user is not None:
            view.mine = next(
                (r for r in rs if r.user_id == user.id and r.version == p.version), None
            )
            view.can_respond = (
                p.state == ProposalState.open
                and not past_closing(p)
                and may_respond(session, p, user)
            )
            view.can_edit = may_edit(session, p, user)
            view.can_close = p.state == ProposalState.open and may_close(session, p, user)
            view.can_withdraw = p.state == ProposalState.open and p.author_id == user.id
        views.append(view)
    return views


def _change_view(session: Session, c: ProposalChange, page: Page) -> ChangeView:
    try:
        base = pages.get_revision(session=session, page=page, number=c.base_revision)
        base_body = base.body
    except NotFound:
        base_body = ""
    return ChangeView(
        change=c, page=page, base_body=base_body, diff=diffs.diff_text(base_body, c.body)
    )


def _render(session: Session, body: str, user: User | None) -> str:
    if not body.strip():
        return ""
    return pages.render_preview(session=session, body=body, user=user).html


def get_proposal(*, session: Session, proposal_id: int, user: User | None) -> ProposalView:
    """A proposal with its responses, page changes (as diffs) and what the viewer may do."""
    p = load_proposal(session, proposal_id)
    require_read(session, p, user)
    return _views(session, [p], user, full=True)[0]


def item_proposals(*, session: Session, item_id: int, user: User | None) -> list[ProposalView]:
    """The proposals of one agenda item, oldest first (for the workshop room)."""
    found = list(
        session.exec(select(Proposal).where(Proposal.item_id == item_id).order_by(col(Proposal.id)))
    )
    if found:
        _require_workshop(session, found[0], user)
    hidden = _hidden(session, found, user)
    return _views(session, [p for p in found if p.id not in hidden], user, full=False)


def workshop_proposals(
    *, session: Session, workshop_id: int, user: User | None
) -> list[ProposalView]:
    """A workshop's proposals with their responses, oldest first (for the room and summary)."""
    found = list(
        session.exec(
            select(Proposal).where(Proposal.workshop_id == workshop_id).order_by(col(Proposal.id))
        )
    )
    if found:
        _require_workshop(session, found[0], user)
    hidden = _hidden(session, found, user)
    return _views(session, [p for p in found if p.id not in hidden], user, full=True)


def list_proposals(
    *,
    session: Session,
    user: User | None,
    state: StateFilter = "open",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ProposalView], int]:
    """Proposals outside workshops and in workshops the user may see, newest first."""
    accounts.require(user, "page.read")
    stmt = select(Proposal)
    if state == "open":
        stmt = stmt.where(Proposal.state == ProposalState.open)
    elif state == "closed":
        stmt = stmt.where(Proposal.state != ProposalState.open)
    rows = list(session.exec(stmt.order_by(col(Proposal.updated_at).desc(), col(Proposal.id))))
    seen: dict[int | None, bool] = {None: True}  # one check per workshop
    for p in rows:
        if p.workshop_id not in seen:
            seen[p.workshop_id] = _visible(session, p, user)
    hidden = _hidden(session, rows, user)
    visible = [p for p in rows if seen[p.workshop_id] and p.id not in hidden]
    return _views(session, visible[offset : offset + limit], user, full=False), len(visible)


def _visible(session: Session, p: Proposal, user: User | None) -> bool:
    try:
        _require_workshop(session, p, user)
    except (Forbidden, NotFound, Unauthorized):
        return False
    return True


def tally(*, session: Session, proposal_id: int, user: User | None) -> TallyView:
    """The live tally of the current version (counts left out while results are hidden)."""
    p = load_proposal(session, proposal_id)
    require_read(session, p, user)
    return _tallies(session, [p])[proposal_id]


def tally_stamp(*, session: Session, proposal_id: int, user: User | None) -> str:
    """Changes whenever the tally or the proposal changes (live views poll it)."""
    p = load_proposal(session, proposal_id)
    require_read(session, p, user)
    return f"{p.state}-{p.version}-{as_utc(p.updated_at).timestamp()}-{past_closing(p)}"


@dataclass
class VersionView:
    text: ProposalVersion
    author: User | None
    since: datetime  # when this version became the current one


def versions(*, session: Session, proposal_id: int, user: User | None) -> list[VersionView]:
    """Every version of the proposal's text, the current one last."""
    p = load_proposal(session, proposal_id)
    require_read(session, p, user)
    earlier = list(
        session.exec(
            select(ProposalVersion)
            .where(ProposalVersion.proposal_id == proposal_id)
            .order_by(col(ProposalVersion.version))
        )
    )
    current = ProposalVersion(
        proposal_id=proposal_id,
        version=p.version,
        title=p.title,
        description=p.description,
        options=list(p.options),
        author_id=p.author_id,
    )
    texts = [*earlier, current]
    # a snapshot is taken when the next version starts
    starts = [p.created_at, *(v.created_at for v in earlier)]
    users = accounts.users_by_id(session=session, ids={v.author_id for v in texts})
    return [
        VersionView(v, users.get(v.author_id or 0), since)
        for v, since in zip(texts, starts, strict=True)
    ]


def proposals_by_id(*, session: Session, ids: Sequence[int]) -> list[Proposal]:
    """Proposals by id, for the search source."""
    if not ids:
        return []
    return list(session.exec(select(Proposal).where(col(Proposal.id).in_(list(ids)))))


def workshop_proposals_ids(*, session: Session, workshop_id: int) -> list[int]:
    """Ids of a workshop's proposals (no permission check: for the search seam)."""
    stmt = select(Proposal.id).where(Proposal.workshop_id == workshop_id)
    return [pid for pid in session.exec(stmt) if pid is not None]


def search_versions(*, session: Session) -> dict[int, str]:
    """Every proposal id with something that changes when its search document changes."""
    return {p.id or 0: search_version(p) for p in session.exec(select(Proposal))}


def search_version(p: Proposal) -> str:
    """What changes when the proposal's search document changes."""
    return f"{as_utc(p.updated_at).timestamp()}-{p.state}"


@dataclass
class ProposalDraft:
    """What the new-proposal form starts with, taken from its source."""

    source: ProposalSource = ProposalSource.none
    source_id: int | None = None
    title: str = ""
    description: str = ""
    source_label: str = ""
    source_url: str = ""
    page: Page | None = None
    base: int = 0
    page_title: str = ""
    body: str = ""


def draft_proposal(
    *,
    session: Session,
    user: User | None,
    idea: int | None = None,
    thread: int | None = None,
    page: str | None = None,
) -> ProposalDraft:
    """A new proposal prefilled from an idea, a thread or a page (whose text is then edited)."""
    me = accounts.require_user(user, "proposal.create")
    if idea is not None:
        found = workshops.get_idea(session=session, idea_id=idea, user=me)
        room = workshops.get_workshop(session=session, workshop_id=found.workshop_id, user=me)
        # an idea about an agenda item that works on a page may carry an edit of that page
        item = next((i for i in room.items if i.id == found.item_id), None)
        item_page = room.pages.get(item.page_id) if item and item.page_id else None
        rev = (
            pages.current_revision(session=session, page=item_page)
            if item_page is not None and not item_page.is_deleted
            else None
        )
        return ProposalDraft(
            source=ProposalSource.idea,
            source_id=idea,
            title=_first_line(found.body),
            description=found.body,
            source_label=f"an idea in the workshop “{room.workshop.title}”",
            source_url=f"/workshops/{found.workshop_id}",
            page=item_page if rev is not None else None,
            base=rev.number if rev is not None else 0,
            page_title=rev.title if rev is not None else "",
            body=rev.body if rev is not None else "",
        )
    if thread is not None:
        from app.discussions import service as discussions

        tv = discussions.get_thread(session=session, thread_id=thread, user=me)
        first = tv.first
        body = first.comment.body if first is not None and first.visible else ""
        return ProposalDraft(
            source=ProposalSource.thread,
            source_id=thread,
            title=tv.thread.title or _first_line(body),
            description=body,
            source_label=f"a discussion on “{tv.page.title}”",
            source_url=f"/threads/{thread}",
        )
    if page is not None:
        found_page = pages.get_page(session=session, slug=page.strip("/"), user=me)
        rev = pages.current_revision(session=session, page=found_page)
        return ProposalDraft(
            source=ProposalSource.page_edit,
            title=f"Change “{found_page.title}”",
            source_label=f"a suggested edit of “{found_page.title}”",
            source_url=f"/wiki/{found_page.slug}",
            page=found_page,
            base=rev.number,
            page_title=rev.title,
            body=rev.body,
        )
    return ProposalDraft()


def _first_line(text: str) -> str:
    line = next((x.strip(" #*-") for x in text.splitlines() if x.strip()), "")
    return line if len(line) <= 120 else line[:119] + "…"
