"""Section editing screens: the editor for one section, its save, and the headings' edit links."""

from __future__ import annotations

from html import escape
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from app.core.deps import OptionalUser, SessionDep
from app.core.errors import Invalid, TooLarge
from app.core.templating import redirect, render
from app.decisions import service as decisions
from app.pages import rendering, section_service, sections, service
from app.pages.diff import diff_text
from app.pages.models import Revision
from app.pages.schemas import PageEdit

router = APIRouter(include_in_schema=False)


def section_url(slug: str, section: sections.Section) -> str:
    """Where the editor of one section is."""
    query = urlencode({"section": section.index, "heading": section.title})
    return f"/edit-section/{quote(slug, safe='/')}?{query}"


def with_edit_links(html: str, *, slug: str, revision: Revision) -> str:
    """The rendered page with an edit link in each heading that pairs with a source section.

    Added when the page is shown to someone who may edit, never stored: the cached HTML stays
    the same for everyone. The link has no text of its own (its label is an aria-label and its
    look CSS), so the text of the page, selections for passage comments and the headings'
    ids and text read the same as without it.
    """

    def link(section: sections.Section, heading: sections.RenderedHeading) -> str:
        label = f"Edit section: {heading.text.strip()}"
        return (
            f' <a class="section-edit" href="{escape(section_url(slug, section))}"'
            f' aria-label="{escape(label)}" title="{escape(label)}"></a>'
        )

    return sections.link_headings(html, sections.split(revision.body), link)


def _editor_context(
    *,
    session: SessionDep,
    draft: section_service.SectionDraft,
    form: PageEdit,
    index: int,
    heading: str,
) -> dict[str, object]:
    section = draft.info.section
    return {
        "slug": draft.page.slug,
        "page": draft.page,
        "form": form,
        "tags_text": ", ".join(form.tags),
        "draft": None,
        "resumed": False,
        "templates": [],
        "template": "",
        "preview": rendering.Rendered(html="", toc="", headings=(), links=()),
        "governed": decisions.governed_notes(session=session, page=draft.page),
        "section": {
            "index": index,
            "heading": heading,
            "title": section.title or "Text before the first heading",
            "level": section.level,
            "anchor": draft.info.anchor,
        },
    }


@router.get("/edit-section/{slug:path}", name="pages.edit_section")
def edit_section(
    request: Request,
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    section: Annotated[int, Query(ge=0)],
    heading: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    draft = section_service.get_section(
        session=session, slug=slug, index=section, heading=heading, user=user
    )
    form = PageEdit(
        base=draft.revision.number,
        title=draft.revision.title,
        body=draft.info.source,
        tags=list(draft.revision.tags),
    )
    ctx = _editor_context(session=session, draft=draft, form=form, index=section, heading=heading)
    ctx["preview"] = service.render_preview(
        session=session, body=draft.info.source, user=user, slug=draft.page.slug
    )
    return render(request, "pages/edit.html", ctx)


class SectionForm(PageEdit):
    title: str = ""
    section: int
    heading: str = ""


@router.post("/draft-section/{slug:path}", name="pages.save_section_draft")
def save_section_draft(
    request: Request,
    slug: str,
    form: Annotated[SectionForm, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    draft = section_service.save_section_draft(
        session=session,
        slug=slug,
        index=form.section,
        heading=form.heading,
        base=form.base,
        text=form.body,
        summary=form.summary,
        user=user,
    )
    return render(request, "pages/edit.html", {"saved_draft": draft}, block="draft_status")


@router.post("/edit-section/{slug:path}", name="pages.save_section")
def save_section(
    request: Request,
    slug: str,
    form: Annotated[SectionForm, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    try:
        saved = section_service.save_section(
            session=session,
            slug=slug,
            index=form.section,
            heading=form.heading,
            base=form.base,
            text=form.body,
            summary=form.summary,
            author=user,
        )
    except (Invalid, TooLarge) as exc:
        # the editor again with the text as typed: a refused save must not lose it
        draft = section_service.get_section(
            session=session,
            slug=slug,
            index=form.section,
            heading=form.heading,
            user=user,
            number=form.base,
        )
        edit = PageEdit(
            base=form.base,
            title=draft.revision.title,
            body=form.body,
            tags=list(draft.revision.tags),
            summary=form.summary,
        )
        ctx = _editor_context(
            session=session, draft=draft, form=edit, index=form.section, heading=form.heading
        )
        ctx["error"] = exc.detail
        return render(request, "pages/edit.html", ctx, status_code=exc.status_code)
    except service.EditConflict as exc:
        # the whole page, as for any conflicting save: both full texts and a merge proposal;
        # a section editor did not touch the title or tags, so the current ones are kept
        page = service.get_page(session=session, slug=slug, user=user)
        edit = PageEdit(
            base=exc.conflict.base,
            title=exc.conflict.their_title,
            body=exc.conflict.your_body,
            tags=list(page.tags),
            summary=form.summary,
        )
        ctx = {
            "slug": slug,
            "conflict": exc.conflict,
            "form": edit,
            "tags_text": ", ".join(edit.tags),
            "diff": diff_text(exc.conflict.their_body, exc.conflict.your_body),
        }
        return render(request, "pages/conflict.html", ctx, status_code=409)
    result = saved.result
    url = f"/wiki/{result.page.slug}" + ("?merged=1" if result.merged else "")
    return redirect(request, url + (f"#{saved.anchor}" if saved.anchor else ""))
