"""Pages HTML screens: view, edit (with preview, drafts and conflicts), new page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.accounts import service as accounts
from app.core.deps import OptionalUser, SessionDep
from app.core.errors import Invalid, NotFound, TooLarge
from app.core.templating import redirect, render
from app.decisions import service as decisions
from app.discussions import routes as discussion_routes
from app.discussions import service as discussions
from app.notifications import service as notifications
from app.pages import rendering, section_routes, service, structure
from app.pages.diff import diff_text
from app.pages.models import Page
from app.pages.rendering import slugify_title
from app.pages.schemas import DraftSave, PageEdit
from app.reviews import service as reviews

router = APIRouter(include_in_schema=False)


def page_url(slug: str) -> str:
    return f"/wiki/{slug}"


# a level of the sidebar longer than this shows a window around the page on the way to the
# current one, with links to the whole level: a section of 1,600 pages is not navigable in a
# sidebar, and rendering all of it was most of a page view on a large wiki
SIDEBAR_WINDOW = 40


def sidebar(session: SessionDep, slug: str, user: OptionalUser) -> list[dict[str, object]]:
    """The page tree: top level, with the levels on the way to ``slug`` opened."""
    path = slug.split("/")

    def level(prefix: str, depth: int) -> list[dict[str, object]]:
        nodes = structure.tree_children(session=session, prefix=prefix, user=user)
        on_path = "/".join(path[: depth + 1])
        at = next((i for i, node in enumerate(nodes) if node.slug == on_path), 0)
        first = 0
        if len(nodes) > SIDEBAR_WINDOW:
            first = min(max(0, at - SIDEBAR_WINDOW // 2), len(nodes) - SIDEBAR_WINDOW)
        shown = nodes[first : first + SIDEBAR_WINDOW]
        out: list[dict[str, object]] = []
        if first:
            out.append({"more": first, "prefix": prefix})
        for node in shown:
            opened = node.slug == on_path
            children = level(node.slug, depth + 1) if opened and node.children else None
            out.append({"node": node, "children": children, "current": node.slug == slug})
        if first + len(shown) < len(nodes):
            out.append({"more": len(nodes) - first - len(shown), "prefix": prefix})
        return out

    return level("", 0)


@router.get("/", name="pages.home")
def home() -> Response:
    return RedirectResponse("/wiki/home", status_code=307)


@router.get("/wiki/{slug:path}", name="pages.view")
def view(
    request: Request,
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    rev: Annotated[int | None, Query(ge=1)] = None,
    merged: bool = False,
) -> Response:
    # a page hidden from this user is missing, exactly as one that does not exist
    try:
        page = service.get_page(session=session, slug=slug, user=user, include_deleted=True)
    except NotFound:
        target = service.find_redirect(session=session, slug=slug, user=user)
        if target is not None:
            return RedirectResponse(f"/wiki/{target}?from={slug}", status_code=301)
        return _missing(request, session, slug, user)
    number = rev or page.head
    revision = service.get_revision(session=session, page=page, number=number)
    rendered = service.render_revision(session=session, revision=revision)
    status = request.query_params.get("threads", "open")
    talk = discussion_routes.panel_context(
        session=session,
        page=page,
        user=user,
        status=status if status in ("open", "resolved", "all") else "open",  # type: ignore[arg-type]
    )
    # old revisions show where every thread was made; the current one those in the panel
    shown = (
        talk["threads"]
        if number == page.head
        else discussions.page_threads(session=session, slug=page.slug, user=user, status="all")
    )
    html = rendered.html
    can_edit = service.can_edit(session=session, slug=page.slug, user=user)
    if can_edit and number == page.head and not page.is_deleted:
        html = section_routes.with_edit_links(html, slug=page.slug, revision=revision)
    html, _ = discussions.place_markers(
        html=html, threads=shown, marker=discussion_routes.markers(shown)
    )
    ctx = {
        **talk,
        "page": page,
        "revision": revision,
        "rendered": rendered,
        "content_html": html,
        "old": number != page.head,
        "merged": merged,
        "moved_from": request.query_params.get("from"),
        "crumbs": structure.breadcrumbs(session=session, slug=page.slug, user=user),
        "tree": sidebar(session, page.slug, user),
        "backlinks": structure.backlinks(session=session, slug=page.slug, user=user),
        "can_edit": can_edit,
        "restricted_to": service.restriction_of(session=session, slug=page.slug, user=user),
        "governing": decisions.governing(session=session, page_id=page.id or 0),
        "governed_sections": decisions.governed_notes(session=session, page=page),
        "stewardship": reviews.page_status(session=session, page=page, user=user),
        "watching": notifications.is_watching(session=session, page_id=page.id or 0, user=user)
        if accounts.can(user, "page.watch")
        else None,
    }
    return render(request, "pages/view.html", ctx)


def _missing(request: Request, session: SessionDep, slug: str, user: OptionalUser) -> Response:
    children = structure.tree_children(session=session, prefix=slug, user=user)
    ctx = {
        "slug": slug,
        "title": structure.humanize(slug.rsplit("/", 1)[-1]),
        "children": children,
        "crumbs": structure.breadcrumbs(session=session, slug=slug, user=user),
        "tree": sidebar(session, slug, user),
        "can_create": accounts.can(user, "page.create")
        and service.can_edit(session=session, slug=slug, user=user),
        "status": 404,
    }
    return render(request, "errors/404.html", ctx, status_code=404)


# --- editing -----------------------------------------------------------------------------------


def _tags_text(tags: list[str]) -> str:
    return ", ".join(tags)


@router.get("/new", name="pages.new")
def new_page(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    title: str = "",
    parent: str = "",
    template: str = "",
) -> Response:
    accounts.require(user, "page.create")
    slug = "/".join(p for p in (parent.strip("/"), slugify_title(title)) if p) if title else ""
    ctx = {
        "title": title,
        "parent": parent.strip("/"),
        "slug": slug,
        "template": template,
        "templates": structure.list_templates(session=session, user=user),
    }
    if title and slug:
        qs = f"?title={title}" + (f"&template={template}" if template else "")
        return RedirectResponse(f"/edit/{slug}{qs}", status_code=303)
    return render(request, "pages/new.html", ctx)


def _initial_preview(
    session: SessionDep, page: Page | None, form: PageEdit, user: OptionalUser
) -> rendering.Rendered:
    """The editor's first preview: the cached HTML when the text is the current revision's."""
    if page is not None and not page.is_deleted and form.base == page.head:
        current = service.current_revision(session=session, page=page)
        if current.body == form.body:
            cached = service.render_revision(session=session, revision=current)
            return rendering.Rendered(html=cached.html, toc=cached.toc, headings=(), links=())
    slug = page.slug if page is not None else None
    return service.render_preview(session=session, body=form.body, user=user, slug=slug)


@router.get("/edit/{slug:path}", name="pages.edit")
def edit_form(
    request: Request,
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    title: str = "",
    template: str = "",
    draft: str = "",
) -> Response:
    page = service.find_readable_page(session=session, slug=slug, user=user, include_deleted=True)
    accounts.require(user, "page.edit" if page is not None else "page.create")
    service.require_editable(session=session, slug=slug, user=user)
    saved = service.find_draft(session=session, slug=slug, user=user)
    if page is not None and not page.is_deleted:
        current = service.current_revision(session=session, page=page)
        form = PageEdit(base=page.head, title=current.title, body=current.body, tags=current.tags)
    else:
        body = structure.template_body(session=session, slug=template, user=user)
        form = PageEdit(
            base=0, title=title or structure.humanize(slug.rsplit("/", 1)[-1]), body=body
        )
    resumed = False
    if saved is not None and draft == "resume":
        form = PageEdit(
            base=saved.base,
            title=saved.title or form.title,
            body=saved.body,
            tags=saved.tags,
            summary=saved.summary,
        )
        resumed = True
    ctx = {
        "slug": slug,
        "page": page,
        "form": form,
        "tags_text": _tags_text(form.tags),
        "draft": None if resumed else saved,
        "resumed": resumed,
        "templates": structure.list_templates(session=session, user=user) if page is None else [],
        "template": template,
        "preview": _initial_preview(session, page, form, user),
        "governed": decisions.governed_notes(session=session, page=page),
    }
    return render(request, "pages/edit.html", ctx)


class EditForm(PageEdit):
    tags_text: str = ""


@router.post("/edit/{slug:path}", name="pages.save")
def save(
    request: Request,
    slug: str,
    form: Annotated[EditForm, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    edit = PageEdit(
        base=form.base,
        title=form.title,
        body=form.body,
        summary=form.summary,
        tags=form.tags_text.split(","),
    )
    try:
        result = service.save_page(session=session, slug=slug, edit=edit, author=user)
    except (Invalid, TooLarge) as exc:
        # show the editor again with the text as typed: a refused save must not lose it
        page = service.find_readable_page(
            session=session, slug=slug, user=user, include_deleted=True
        )
        ctx: dict[str, object] = {
            "slug": slug,
            "page": page,
            "form": edit,
            "tags_text": _tags_text(edit.tags),
            "draft": None,
            "resumed": False,
            "templates": [],
            "template": "",
            "preview": rendering.Rendered(html="", toc="", headings=(), links=()),
            "error": exc.detail,
        }
        return render(request, "pages/edit.html", ctx, status_code=exc.status_code)
    except service.EditConflict as exc:
        ctx = {
            "slug": slug,
            "conflict": exc.conflict,
            "form": edit,
            "tags_text": _tags_text(edit.tags),
            "diff": diff_text(exc.conflict.their_body, exc.conflict.your_body),
        }
        return render(request, "pages/conflict.html", ctx, status_code=409)
    url = page_url(result.page.slug) + ("?merged=1" if result.merged else "")
    return redirect(request, url)


@router.post("/preview", name="pages.preview")
def preview(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    body: Annotated[str, Form()] = "",
    page_slug: Annotated[str, Form(max_length=255)] = "",  # so attachment: images show
) -> HTMLResponse:
    rendered = service.render_preview(session=session, body=body, user=user, slug=page_slug)
    return render(request, "pages/edit.html", {"preview": rendered}, block="preview")


@router.post("/draft/{slug:path}/discard", name="pages.discard_draft")
def discard_draft(request: Request, slug: str, session: SessionDep, user: OptionalUser) -> Response:
    service.discard_draft(session=session, slug=slug, user=user)
    return redirect(request, f"/edit/{slug}")


@router.post("/draft/{slug:path}", name="pages.save_draft")
def save_draft(
    request: Request,
    slug: str,
    form: Annotated[EditForm, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> HTMLResponse:
    data = DraftSave(
        base=form.base,
        title=form.title,
        body=form.body,
        summary=form.summary,
        tags=form.tags_text.split(","),
    )
    draft = service.save_draft(session=session, slug=slug, data=data, user=user)
    return render(request, "pages/edit.html", {"saved_draft": draft}, block="draft_status")


# --- move, delete ----------------------------------------------------------------------------


@router.get("/move/{slug:path}", name="pages.move")
def move_form(request: Request, slug: str, session: SessionDep, user: OptionalUser) -> Response:
    accounts.require(user, "page.move")
    page = service.get_page(session=session, slug=slug, user=user)
    service.require_editable(session=session, slug=page.slug, user=user)
    return render(request, "pages/move.html", {"page": page, "new_slug": page.slug})


@router.post("/move/{slug:path}", name="pages.move_submit")
def move(
    request: Request,
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    new_slug: Annotated[str, Form(max_length=255)],
    summary: Annotated[str, Form(max_length=500)] = "",
    include_children: Annotated[bool, Form()] = False,
) -> Response:
    page = service.move_page(
        session=session,
        slug=slug,
        new_slug=new_slug,
        author=user,
        summary=summary,
        include_children=include_children,
    )
    return redirect(request, page_url(page.slug))


@router.post("/delete/{slug:path}", name="pages.delete")
def delete(request: Request, slug: str, session: SessionDep, user: OptionalUser) -> Response:
    service.delete_page(session=session, slug=slug, author=user)
    return redirect(request, page_url(slug))


@router.post("/undelete/{slug:path}", name="pages.undelete")
def undelete(request: Request, slug: str, session: SessionDep, user: OptionalUser) -> Response:
    service.undelete_page(session=session, slug=slug, author=user)
    return redirect(request, page_url(slug))


@router.post("/revert/{slug:path}", name="pages.revert")
def revert(
    request: Request,
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    number: Annotated[int, Form(ge=1)],
) -> Response:
    service.revert_page(session=session, slug=slug, number=number, author=user)
    return redirect(request, page_url(slug))
