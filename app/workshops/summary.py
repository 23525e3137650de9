"""The summary page a workshop leaves in the wiki when it closes (a step of the close use case):
agenda, ideas with clusters and revealed votes, proposals with responses and outcomes, decisions
taken, participants. Written with ``save_page(commit=False)`` so the close commits it."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from app.accounts.models import User
from app.core.errors import NotFound
from app.core.time import as_utc, utcnow
from app.decisions import service as decisions
from app.pages import service as pages
from app.pages.models import Page
from app.pages.schemas import PageEdit
from app.proposals import service as proposals
from app.workshops import room, service
from app.workshops.models import Workshop
from app.workshops.service import WorkshopView

SUMMARY_ROOT = "workshops"


class DecisionLike(Protocol):
    """What the summary reads of a decision record."""

    @property
    def number(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def chosen_option(self) -> str: ...


def _slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80].strip("-") or "workshop"


def _date(workshop: Workshop) -> datetime:
    return as_utc(workshop.starts_at or workshop.started_at or workshop.closed_at or utcnow())


def summary_slug(session: Session, workshop: Workshop) -> str:
    """A free address ``workshops/<yyyy-mm-dd>-<slug-of-title>`` (suffixed -2, -3… if taken)."""
    base = f"{SUMMARY_ROOT}/{_date(workshop):%Y-%m-%d}-{_slugify(workshop.title)}"
    slug, n = base, 1
    while pages.find_page(session=session, slug=slug, include_deleted=True) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _indent(text: str, spaces: int = 2) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())


def _idea_lines(v: room.IdeaView, revealed: bool) -> list[str]:
    who = "anonymous" if v.idea.anonymous else (v.author.label if v.author else "former member")
    dots = f" · **{v.dots} dot{'s' if v.dots != 1 else ''}**" if revealed else ""
    lines = [f"- {v.idea.body.strip().splitlines()[0]}"]
    rest = "\n".join(v.idea.body.strip().splitlines()[1:]).strip()
    if rest:
        lines.append(_indent(rest))
    lines.append(f"  — *{who}*{dots}")
    for merged in v.merged:
        lines.append(f"  - (merged) {' '.join(merged.idea.body.split())[:300]}")
    return lines


def _board_markdown(board: room.Board) -> list[str]:
    out: list[str] = []
    if not board.ideas:
        return ["*No ideas.*", ""]
    revealed = board.revealed
    if board.item.dots_per_participant and not revealed:
        out += ["*The dot votes were not revealed.*", ""]
    for cluster in board.clusters:
        n = cluster.dots or 0
        total = f" ({n} dot{'s' if n != 1 else ''})" if revealed else ""
        out += [f"#### {cluster.cluster.title}{total}", ""]
        for v in cluster.ideas:
            out += _idea_lines(v, revealed)
        if not cluster.ideas:
            out.append("*No ideas in this cluster.*")
        out.append("")
    if board.loose:
        if board.clusters:
            out += ["#### Not in a cluster", ""]
        for v in board.loose:
            out += _idea_lines(v, revealed)
        out.append("")
    return out


def _proposal_lines(v: proposals.ProposalView) -> list[str]:
    p = v.proposal
    state = str(p.outcome) if p.outcome else str(p.state)
    lines = [f"- [{p.title}](/proposals/{p.id}) — **{state}**"]
    if not v.tally.hidden:
        counts = ", ".join(f"{n} {stance}" for stance, n in v.tally.counts.items())
        lines.append(f"  - Responses (version {v.tally.version}): {counts or 'none'}")
        for r in v.responses:
            if r.current and r.response.reason.strip():
                who = r.user.label if r.user else "former member"
                reason = " ".join(r.response.reason.split())
                lines.append(f"  - {who} ({r.response.stance}): {reason}")
    else:
        lines.append("  - Responses are hidden until the proposal closes.")
    if p.outcome_note.strip():
        lines.append(f"  - Outcome: {' '.join(p.outcome_note.split())}")
    return lines


def summary_markdown(
    *,
    view: WorkshopView,
    boards: Sequence[room.Board],
    proposal_views: Sequence[proposals.ProposalView],
    decision_rows: Sequence[DecisionLike],
) -> str:
    """The summary page's markdown."""
    w = view.workshop
    out = [
        f"Summary of the workshop **{w.title}**, held {_date(w):%d %B %Y}, closed "
        f"{as_utc(w.closed_at or utcnow()):%d %B %Y %H:%M} UTC. "
        f"[Open the workshop](/workshops/{w.id}).",
        "",
    ]
    if w.goal.strip():
        out += ["## Goal", "", w.goal.strip(), ""]
    out += ["## Participants", ""]
    facilitators = ", ".join(u.label for u in view.facilitators) or "—"
    participants = ", ".join(u.label for u in view.participants) or "—"
    out += [f"- **Facilitators:** {facilitators}", f"- **Participants:** {participants}", ""]
    out += ["## Agenda", ""]
    for n, item in enumerate(view.items, 1):
        out.append(f"{n}. {item.title} ({item.timebox_minutes} min)")
    out.append("")
    by_item: dict[int | None, list[proposals.ProposalView]] = {}
    for pv in proposal_views:
        by_item.setdefault(pv.proposal.item_id, []).append(pv)
    for n, board in enumerate(boards, 1):
        item = board.item
        out += [f"## {n}. {item.title}", ""]
        if item.question.strip():
            out += [f"> {line}" if line else ">" for line in item.question.strip().splitlines()]
            out.append("")
        page = view.page_of(item)
        if page is not None:
            anchor = f"#{item.section}" if item.section else ""
            what = "A section of the page" if item.section else "The page"
            out += [f"{what} [{page.title}](/wiki/{page.slug}{anchor}).", ""]
        out += ["### Ideas", ""]
        out += _board_markdown(board)
        if by_item.get(item.id):
            out += ["### Proposals", ""]
            for pv in by_item[item.id]:
                out += _proposal_lines(pv)
            out.append("")
    known = {i.id for i in view.items}
    loose = [pv for key, group in by_item.items() if key not in known for pv in group]
    if loose:
        out += ["## Other proposals", ""]
        for pv in loose:
            out += _proposal_lines(pv)
        out.append("")
    out += ["## Decisions", ""]
    if decision_rows:
        for d in decision_rows:
            ref = f"DEC-{d.number:04d}"
            chosen = f" — chose *{d.chosen_option}*" if d.chosen_option else ""
            out.append(f"- [{ref}: {d.title}](/decisions/{ref}) — {d.status}{chosen}")
    else:
        out.append("*No decisions were recorded.*")
    out.append("")
    return "\n".join(out)


def _boards(session: Session, view: WorkshopView) -> list[room.Board]:
    # as a reader sees it: anonymous authors stay anonymous, nobody's own dots
    public = dataclasses.replace(view, can_run=False, my_role=None)
    return [room.board_of(session=session, view=public, item=i, user=None) for i in view.items]


def build_markdown(*, session: Session, workshop: Workshop, actor: User) -> str:
    """The summary of the workshop as it stands (for the close and the download)."""
    view = service.get_workshop(session=session, workshop_id=workshop.id or 0, user=actor)
    # the summary is a page anyone may read: it names no page in a restricted subtree
    view = service.for_everyone(session=session, view=view)
    return summary_markdown(
        view=view,
        boards=_boards(session, view),
        proposal_views=proposals.workshop_proposals(
            session=session, workshop_id=workshop.id or 0, user=actor
        ),
        decision_rows=decisions.workshop_decisions(
            session=session, workshop_id=workshop.id or 0, user=actor
        ),
    )


def write_summary_page(*, session: Session, workshop: Workshop, actor: User) -> Page:
    """Write the summary page inside the caller's transaction (no commit)."""
    slug = summary_slug(session, workshop)
    edit = PageEdit(
        title=f"Workshop: {workshop.title}"[:255],
        body=build_markdown(session=session, workshop=workshop, actor=actor),
        tags=["workshop-summary"],
        summary=f"Summary of workshop #{workshop.id}",
    )
    result = pages.save_page(session=session, slug=slug, edit=edit, author=actor, commit=False)
    return result.page


def download(*, session: Session, workshop_id: int, user: User | None) -> tuple[str, str]:
    """(file name, markdown) of a workshop's summary: the page's current text once closed."""
    view = service.get_workshop(session=session, workshop_id=workshop_id, user=user)
    if view.summary_slug is None:
        raise NotFound("This workshop has no summary yet: it is written when the workshop closes.")
    page = pages.get_page(session=session, slug=view.summary_slug, user=user)
    revision = pages.current_revision(session=session, page=page)
    name = view.summary_slug.rsplit("/", 1)[-1] + ".md"
    return name, f"# {revision.title}\n\n{revision.body}"
