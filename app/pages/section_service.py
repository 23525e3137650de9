"""Section editing use cases: read one section of a revision, save it as a whole-page revision.

A section save is spliced into the body of the revision the editor started from (never the
current one) and then saved through ``service.save_page`` with that base revision, so edits
made meanwhile to other sections merge three ways and overlapping ones raise ``EditConflict``
with both full texts, exactly as a whole-page save.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import User
from app.core.errors import Conflict, NotFound
from app.pages import sections, service
from app.pages.models import Draft, Page, Revision
from app.pages.schemas import DraftSave, PageEdit


@dataclass(frozen=True)
class SectionInfo:
    """A section of a revision with its text and the id of its heading in the rendered page."""

    section: sections.Section
    anchor: str  # "" for the lead, or when the rendered heading could not be paired
    source: str


@dataclass(frozen=True)
class SectionDraft:
    """What the section editor starts from."""

    page: Page
    revision: Revision
    info: SectionInfo


def _infos(session: Session, revision: Revision) -> list[SectionInfo]:
    found = sections.split(revision.body)
    html = service.render_revision(session=session, revision=revision).html
    anchors = sections.anchors(found, html)
    return [
        SectionInfo(section=s, anchor=anchors.get(s.index, ""), source=s.source(revision.body))
        for s in found
    ]


def heading_choices(*, session: Session, page: Page) -> list[tuple[str, str]]:
    """(id, text) of the top-level headings of the page's current rendered revision.

    A light scan of the cached HTML for the headings alone, for other domains' "which
    section?" choices: a long page is not parsed block by block on every view for them.
    """
    revision = service.current_revision(session=session, page=page)
    html = service.render_revision(session=session, revision=revision).html
    return [(h.anchor, " ".join(h.text.split())) for h in sections.rendered_headings(html)]


def list_sections(
    *, session: Session, slug: str, user: User | None, number: int | None = None
) -> tuple[Page, Revision, list[SectionInfo]]:
    """The sections of a page's current revision (or revision ``number``)."""
    page = service.get_page(session=session, slug=slug, user=user)
    revision = service.get_revision(session=session, page=page, number=number or page.head)
    return page, revision, _infos(session, revision)


def _section_of(page: Page, revision: Revision, index: int, heading: str) -> sections.Section:
    """The section ``index`` of ``revision``, checked against the heading the caller saw."""
    found = sections.find(sections.split(revision.body), index)
    where = f"revision {revision.number} of “{page.title}”"
    if found is None:
        what = "text before the first heading" if index == 0 else f"section {index}"
        raise NotFound(
            f"There is no {what} in {where} (the page may have changed). "
            "Nothing was saved: open the page again and edit the section from there.",
            slug=page.slug,
            section=index,
        )
    if found.title != heading:
        raise Conflict(
            f"Section {index} of {where} is now “{found.title}”, not “{heading}” "
            "(the page changed). Nothing was saved: open the page again and edit the section "
            "from there.",
            slug=page.slug,
            section=index,
            heading=found.title,
        )
    return found


def get_section(
    *,
    session: Session,
    slug: str,
    index: int,
    heading: str,
    user: User | None,
    number: int | None = None,
) -> SectionDraft:
    """Section ``index`` (whose heading must read ``heading``) of the current revision."""
    accounts.require(user, "page.edit")
    page = service.get_page(session=session, slug=slug, user=user)
    service.require_editable(session=session, slug=page.slug, user=user)
    revision = service.get_revision(session=session, page=page, number=number or page.head)
    found = _section_of(page, revision, index, heading)
    anchor = ""
    if found.index:
        html = service.render_revision(session=session, revision=revision).html
        anchor = sections.anchors(sections.split(revision.body), html).get(found.index, "")
    info = SectionInfo(section=found, anchor=anchor, source=found.source(revision.body))
    return SectionDraft(page=page, revision=revision, info=info)


@dataclass(frozen=True)
class SectionSaved:
    """A saved section: the page save's result and where the section now is on the page."""

    result: service.SaveResult
    anchor: str  # id of the section's heading in the saved page ("" when it has none)


def _anchor_after(session: Session, page: Page, text: str, index: int) -> str:
    """The id of the saved text's first heading in the page now (nearest to where it was)."""
    heads = [s for s in sections.split(text) if s.index]
    if not heads:
        return ""
    revision = service.current_revision(session=session, page=page)
    same = [i for i in _infos(session, revision) if i.anchor and i.section.title == heads[0].title]
    best = min(same, key=lambda i: abs(i.section.index - index), default=None)
    return best.anchor if best is not None else ""


def _spliced(
    session: Session, slug: str, index: int, heading: str, base: int, text: str, user: User | None
) -> tuple[Page, Revision, str]:
    """The page, its base revision and the base body with the section replaced by ``text``."""
    accounts.require(user, "page.edit")
    page = service.get_page(session=session, slug=slug, user=user)
    service.require_editable(session=session, slug=page.slug, user=user)
    if base < 1 or base > page.head:
        raise NotFound(f"The page {slug!r} has no revision {base}.", slug=slug)
    revision = service.get_revision(session=session, page=page, number=base)
    found = _section_of(page, revision, index, heading)
    return page, revision, sections.splice(revision.body, found, text)


def save_section_draft(
    *,
    session: Session,
    slug: str,
    index: int,
    heading: str,
    base: int,
    text: str,
    user: User | None,
    summary: str = "",
) -> Draft:
    """Autosave a section editor's text as the user's draft of the whole page."""
    page, revision, body = _spliced(session, slug, index, heading, base, text, user)
    data = DraftSave(
        base=base, title=revision.title, body=body, tags=list(revision.tags), summary=summary
    )
    return service.save_draft(session=session, slug=page.slug, data=data, user=user)


def save_section(
    *,
    session: Session,
    slug: str,
    index: int,
    heading: str,
    base: int,
    text: str,
    author: User | None,
    summary: str = "",
) -> SectionSaved:
    """Save one section's new text as a revision of the whole page, merged like any save."""
    page, revision, body = _spliced(session, slug, index, heading, base, text, author)
    edit = PageEdit(
        base=base, title=revision.title, body=body, tags=list(revision.tags), summary=summary
    )
    # the base revision is immutable: reading it before save_page's write transaction is safe
    result = service.save_page(session=session, slug=page.slug, edit=edit, author=author)
    return SectionSaved(result=result, anchor=_anchor_after(session, result.page, text, index))
