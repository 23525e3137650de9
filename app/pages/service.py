"""Pages use cases: create, save (with merge and conflict detection), revert, move, delete."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from app.access import service as access
from app.accounts import service as accounts
from app.accounts.models import User
from app.core import events
from app.core.db import begin_write, is_writing, settings_of
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from app.core.time import utcnow
from app.notifications import service as notifications
from app.pages import links, rendering, storage
from app.pages.merge import has_conflict_markers, merge_tags, merge_text, merge_value
from app.pages.models import (
    Draft,
    Page,
    PageLink,
    PageRedirect,
    RenderedRevision,
    Revision,
    RevisionKind,
)
from app.pages.schemas import ConflictDetail, DraftSave, PageEdit
from app.search import service as search


class EditConflict(Conflict):
    """Someone saved overlapping changes since the editor's base revision."""

    def __init__(self, detail: ConflictDetail) -> None:
        super().__init__(
            "Someone else changed the same lines while you were editing. "
            "Nothing was saved: compare both versions and resolve the conflict.",
            conflict=detail.model_dump(),
        )
        self.conflict = detail


@dataclass
class RenderBatch:
    """Renders put off to the end of a bulk import's transaction (see ``finish_batch``).

    ``pages``: pages whose current revision is rendered once at the end; ``slugs``: addresses
    whose linking pages are re-rendered then (a page appeared there or took that title).
    """

    pages: dict[int, Page] = field(default_factory=dict)
    slugs: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class EarlyRender:
    """A render of the submitted text made before the write transaction, and the link targets
    it resolved: kept if the saved text is the same and the targets still resolve the same."""

    body: str
    rendered: rendering.Rendered
    targets: dict[str, rendering.LinkTarget]


@dataclass(frozen=True)
class SaveResult:
    page: Page
    revision: Revision | None  # None when nothing changed
    merged: bool


# --- lookups ---------------------------------------------------------------------------------


def find_page(*, session: Session, slug: str, include_deleted: bool = False) -> Page | None:
    """The page at ``slug`` or None, whoever asks (for use cases that check access after)."""
    page = session.exec(select(Page).where(Page.slug == slug)).first()
    if page is None or (page.is_deleted and not include_deleted):
        return None
    return page


def find_readable_page(
    *, session: Session, slug: str, user: User | None, include_deleted: bool = False
) -> Page | None:
    """The page at ``slug`` if ``user`` may read it, else None (hidden pages do not exist)."""
    if not access.access_for(session=session, user=user).can_read(slug):
        return None
    return find_page(session=session, slug=slug, include_deleted=include_deleted)


def get_page(
    *, session: Session, slug: str, user: User | None, include_deleted: bool = False
) -> Page:
    """The page at ``slug`` (raises NotFound, also for a page in a subtree hidden from ``user``)."""
    accounts.require(user, "page.read")
    page = find_readable_page(
        session=session, slug=slug, user=user, include_deleted=include_deleted
    )
    if page is None:
        raise NotFound(f"There is no page {slug!r} yet.", slug=slug)
    return page


def require_editable(*, session: Session, slug: str, user: User | None) -> None:
    """Raise unless the subtree rules let ``user`` change (or create) the page at ``slug``.

    Hidden: NotFound, worded as for a page that does not exist. Readable but not editable:
    Forbidden, saying why. The role's own permission is checked apart.
    """
    view = access.access_for(session=session, user=user)
    if not view.can_read(slug):
        raise NotFound(f"There is no page {slug!r}.", slug=slug)
    if not view.can_edit(slug):
        raise Forbidden(
            f"{slug!r} is in a restricted area where you may read but not change pages; "
            "ask an administrator to give one of your groups edit access.",
            slug=slug,
        )


def can_edit(*, session: Session, slug: str, user: User | None) -> bool:
    """Whether ``user``'s role and the subtree rules let them edit the page at ``slug``."""
    return accounts.can(user, "page.edit") and access.access_for(
        session=session, user=user
    ).can_edit(slug)


def restriction_of(*, session: Session, slug: str, user: User | None) -> list[str] | None:
    """For a page ``user`` may read: the names of the groups that may read it, when restricted.

    None when no restriction covers the page. Where restrictions nest, the innermost one's
    groups are named (the outer ones narrow it further only for their non-members).
    """
    view = access.access_for(session=session, user=user)
    if not view.is_restricted(slug) or not view.can_read(slug):
        return None
    return access.readers_of(session=session, slug=slug)


def pages_by_id(*, session: Session, ids: Iterable[int]) -> dict[int, Page]:
    """Pages (deleted ones included) by id; for other domains that refer to pages."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {p.id or 0: p for p in session.exec(select(Page).where(col(Page.id).in_(wanted)))}


def page_ids_under(*, session: Session, prefix: str) -> list[int]:
    """Ids of the page at ``prefix`` and every page below it."""
    prefix = prefix.strip("/")
    stmt = select(Page.id).where(
        or_(col(Page.slug) == prefix, col(Page.slug).startswith(prefix + "/", autoescape=True))
    )
    return [i for i in session.exec(stmt) if i is not None]


def find_redirect(*, session: Session, slug: str, user: User | None = None) -> str | None:
    """The current slug of a page that used to live at ``slug``, if it was moved.

    Where the page went is told only to those who may read it there (``user``: None asks as
    an anonymous visitor).
    """
    row = session.get(PageRedirect, slug)
    if row is None:
        return None
    page = session.get(Page, row.page_id)
    if page is None or page.is_deleted:
        return None
    if not access.access_for(session=session, user=user).can_read(page.slug):
        return None
    return page.slug


def get_revision(*, session: Session, page: Page, number: int) -> Revision:
    """Revision ``number`` of ``page`` (raises NotFound)."""
    rev = session.exec(
        select(Revision).where(Revision.page_id == page.id, Revision.number == number)
    ).first()
    if rev is None:
        raise NotFound(f"The page {page.slug!r} has no revision {number}.", slug=page.slug)
    return rev


def current_revision(*, session: Session, page: Page) -> Revision:
    """The page's newest revision."""
    return get_revision(session=session, page=page, number=page.head)


# --- rendering with the per-revision cache ----------------------------------------------------


def _resolver(session: Session, *, preload: bool = False) -> rendering.Resolver:
    """Wikilink targets to pages; the same for every reader, as renders are cached.

    So that a render tells nobody about a restricted page: a title never resolves to a page
    in a restricted subtree, and a link whose address lies in one always looks like a link to
    an existing page (whether it exists there is for those who may read it to find out).

    ``preload``: read every candidate page once now instead of querying per render (for many
    renders in one transaction that adds no pages meanwhile, as at the end of an import batch).
    """
    if preload:
        return link_table(session=session).resolve
    anyone = _anyone(session)
    live = (col(Page.deleted_at).is_(None), anyone.readable(col(Page.slug)))
    candidates = select(Page.slug, Page.title).where(*live)

    def lookup(lowered: set[str], slugs: set[str]) -> tuple[list[tuple[str, str]], set[str]]:
        rows = session.exec(
            candidates.where(or_(func.lower(Page.title).in_(lowered), col(Page.slug).in_(slugs)))
        ).all()
        redirects = select(PageRedirect.old_slug).where(col(PageRedirect.old_slug).in_(slugs))
        return [(slug, title) for slug, title in rows], set(session.exec(redirects).all())

    return lambda targets: links.resolve_targets(targets, lookup, anyone)


def _anyone(session: Session) -> access.Access:
    restricted = access.access_for(session=session, user=None).roots
    return access.Access(user_id=None, is_admin=False, roots=restricted)


def link_table(*, session: Session) -> links.LinkTable:
    """Every page a wikilink can resolve to, read once (to resolve many links in memory)."""
    anyone = _anyone(session)
    table = links.LinkTable(anyone=anyone)
    # the database's lower(), as in the querying resolver (SQLite's lowers ASCII letters only)
    every = session.exec(
        select(Page.slug, Page.title, func.lower(Page.title)).where(
            col(Page.deleted_at).is_(None), anyone.readable(col(Page.slug))
        )
    )
    for slug, title, lowered in every:
        table.put(slug, title, lowered)
    table.moved = set(session.exec(select(PageRedirect.old_slug)).all())
    return table


def render_revision(*, session: Session, revision: Revision) -> RenderedRevision:
    """The sanitised HTML of a revision, from the cache or rendered now (not stored)."""
    cached = session.get(RenderedRevision, revision.id)
    if cached is not None:
        return cached
    out = rendering.render(
        revision.body,
        resolve=_resolver(session),
        attachments=rendering.attachments_url(revision.slug),
    )
    return RenderedRevision(revision_id=revision.id or 0, html=out.html, toc=out.toc)


def render_preview(
    *, session: Session, body: str, user: User | None, slug: str | None = None
) -> rendering.Rendered:
    """Render unsaved markdown for the editor's preview (``slug``: whose attachments show)."""
    accounts.require(user, "page.read")
    _check_body(session, body)
    files = rendering.attachments_url(slug) if slug and rendering.is_valid_slug(slug) else None
    return rendering.render(body, resolve=_resolver(session), attachments=files)


def _store_render(
    session: Session,
    page: Page,
    revision: Revision,
    *,
    resolve: rendering.Resolver | None = None,
    new: bool = False,
    early: EarlyRender | None = None,
) -> None:
    """Render the current revision, cache its HTML and record its outgoing links.

    ``new``: the revision was just added, so no render of it is stored yet (no need to look).
    ``early``: a render of the same text made before the transaction (see ``_render_early``).
    """
    session.flush()
    resolve = resolve or _resolver(session)
    if early is not None and _still_valid(early, revision.body, resolve):
        out = early.rendered
    else:
        out = rendering.render(
            revision.body, resolve=resolve, attachments=rendering.attachments_url(page.slug)
        )
    rendered = RenderedRevision(revision_id=revision.id or 0, html=out.html, toc=out.toc)
    if new:
        session.add(rendered)
    else:
        session.merge(rendered)
    # "fetch": matching the rows to the session's objects by key, not by scanning them all
    session.execute(
        delete(PageLink).where(col(PageLink.source_id) == page.id),
        execution_options={"synchronize_session": "fetch"},
    )
    for slug in dict.fromkeys(out.links):
        if slug != page.slug:
            session.add(PageLink(source_id=page.id or 0, target_slug=slug))


def _render_early(session: Session, slug: str, body: str) -> EarlyRender | None:
    """Render a save's text before its write transaction starts, so the writers' lock is not
    held for it (on SQLite every save waits for the one before to commit: the render was a
    third of that time).

    The render depends on the text, the page's address (its attachments) and what its wikilinks
    resolve to; ``_store_render`` keeps it only if, inside the transaction, the text is the one
    saved and the same targets resolve the same (a page created, moved or hidden meanwhile
    means rendering again). None inside a transaction that writes already (a step of a larger
    use case: there is nothing to win).
    """
    if is_writing(session):
        return None
    resolve = _resolver(session)
    seen: dict[str, rendering.LinkTarget] = {}

    def recording(targets: set[str]) -> dict[str, rendering.LinkTarget]:
        resolved = resolve(targets)
        seen.update(resolved)
        return resolved

    out = rendering.render(body, resolve=recording, attachments=rendering.attachments_url(slug))
    # the access views are cached per session: the transaction must check links (and who may
    # edit) against the restrictions as they are then, not as they were read here
    access.forget(session)
    return EarlyRender(body=body, rendered=out, targets=seen)


def _still_valid(early: EarlyRender, body: str, resolve: rendering.Resolver) -> bool:
    if body != early.body:
        return False  # merged with a concurrent save: another text
    return not early.targets or resolve(set(early.targets)) == early.targets


def _refresh_linkers(session: Session, slugs: Iterable[str], *, skip: int | None = None) -> None:
    """Re-render pages whose links may now point elsewhere (a page appeared, moved or went)."""
    wanted = set(slugs)
    if not wanted:
        return
    session.flush()
    linking = select(PageLink.source_id).where(col(PageLink.target_slug).in_(wanted))
    sources = session.exec(
        select(Page).where(col(Page.id).in_(linking), col(Page.deleted_at).is_(None))
    ).all()
    for page in sources:
        if page.id != skip:
            _store_render(session, page, current_revision(session=session, page=page))


def refresh_links_into(*, session: Session, root: str) -> None:
    """Re-render the pages linking into the subtree at ``root`` (it was restricted or opened).

    Links there, and links by title to its pages, render differently once it is restricted.
    """
    session.flush()
    under = or_(
        col(PageLink.target_slug) == root,
        col(PageLink.target_slug).startswith(root + "/", autoescape=True),
    )
    titles = session.exec(
        select(Page.title).where(
            col(Page.deleted_at).is_(None),
            or_(col(Page.slug) == root, col(Page.slug).startswith(root + "/", autoescape=True)),
        )
    ).all()
    by_title = {rendering.slugify_title(t) for t in titles}
    linking = select(PageLink.source_id).where(or_(under, col(PageLink.target_slug).in_(by_title)))
    sources = session.exec(
        select(Page).where(col(Page.id).in_(linking), col(Page.deleted_at).is_(None))
    ).all()
    for page in sources:
        _store_render(session, page, current_revision(session=session, page=page))


# --- validation --------------------------------------------------------------------------------


# last segments that would read as an action in /api/v1/pages/{slug}/<action>
RESERVED_SEGMENTS = frozenset(
    {
        "revisions",
        "diff",
        "backlinks",
        "move",
        "revert",
        "undelete",
        "edit",
        "history",
        "draft",
        "watch",
        "sections",
    }
)


def check_slug(slug: str, *, field: str = "slug") -> None:
    """Raise Invalid unless ``slug`` is a page address pages can be saved at."""
    if not rendering.is_valid_slug(slug) or slug.rsplit("/", 1)[-1] in RESERVED_SEGMENTS:
        raise Invalid(
            f"{slug!r} is not a valid page address: use lower-case letters, digits and hyphens, "
            "with '/' between levels (for example core-processes/order-to-cash).",
            field=field,
        )


_check_slug = check_slug


def _check_body(session: Session, body: str) -> None:
    limit = settings_of(session).max_body_bytes
    if len(body.encode()) > limit:
        raise TooLarge(f"The page text is larger than the limit of {limit:,} bytes.", field="body")


def _check_edit(session: Session, edit: PageEdit) -> None:
    if not edit.title:
        raise Invalid("A page needs a title.", field="title")
    limit = settings_of(session).max_title_chars
    if len(edit.title) > limit:
        raise Invalid(f"A title can have at most {limit} characters.", field="title")
    _check_body(session, edit.body)


def _lock_page(session: Session, slug: str) -> Page | None:
    stmt = select(Page).where(Page.slug == slug)
    if session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


# --- writes -------------------------------------------------------------------------------------


def _add_revision(
    session: Session,
    page: Page,
    *,
    kind: RevisionKind,
    title: str,
    body: str,
    tags: list[str],
    summary: str,
    author: User | None,
    moved_from: str | None = None,
    head: Revision | None = None,
) -> Revision:
    now = utcnow()
    if page.head:
        # the head so far becomes a delta against the new text (see app.pages.storage)
        storage.supersede(head or current_revision(session=session, page=page), body)
    page.head += 1
    page.title = title
    page.tags = list(tags)
    page.updated_at = now
    session.add(page)
    session.flush()
    rev = Revision(
        page_id=page.id or 0,
        number=page.head,
        kind=kind,
        slug=page.slug,
        title=title,
        tags=list(tags),
        encoded_body=storage.encode_full(body),  # the new head: self-contained
        size=len(body.encode()),
        summary=summary,
        author_id=author.id if author else None,
        created_at=now,
    )
    session.add(storage.remember(rev, body))
    session.flush()
    search.enqueue(
        session=session,
        kind="page",
        ref_id=page.id or 0,
        # the page's address or visibility changed: its discussions follow it in the index
        cascade=kind in (RevisionKind.move, RevisionKind.delete, RevisionKind.undelete),
    )
    notifications.page_edited(
        session=session,
        page_id=page.id or 0,
        slug=page.slug,
        title=title,
        revision=rev.number,
        actor=author,
        summary=summary,
    )
    events.publish(
        session,
        events.Event(
            name=_EVENT_OF_KIND.get(kind, "page.saved"),
            actor_id=author.id if author else None,
            data={
                "page_id": page.id,
                "slug": page.slug,
                "title": title,
                "revision": rev.number,
                "kind": str(kind),
                "summary": summary,
                **({"moved_from": moved_from} if moved_from is not None else {}),
            },
        ),
    )
    return rev


_EVENT_OF_KIND = {RevisionKind.move: "page.moved", RevisionKind.delete: "page.deleted"}


def save_page(
    *,
    session: Session,
    slug: str,
    edit: PageEdit,
    author: User | None,
    kind: RevisionKind | None = None,
    commit: bool = True,
    batch: RenderBatch | None = None,
) -> SaveResult:
    """Create or update a page, merging concurrent non-overlapping edits; conflicts save nothing.

    With ``commit=False`` the save is one step of a larger use case (a decision applying a
    proposed change): the caller's transaction commits it, and a conflict rolls all of it back.
    With a ``batch`` (bulk import, inside ``batch_step``) nothing is committed or rendered yet:
    ``finish_batch`` renders every page of the batch once, when all of them exist.
    """
    if batch is not None:
        commit = False
    _check_slug(slug)
    _check_edit(session, edit)
    early = _render_early(session, slug, edit.body) if batch is None else None
    begin_write(session)
    page = _lock_page(session, slug)
    if page is None or page.is_deleted:
        action = "page.create" if page is None else "page.undelete"
        accounts.require(author, action)
        require_editable(session=session, slug=slug, user=author)
        if edit.base != 0 and page is None:
            raise Conflict(
                f"The page {slug!r} no longer exists (it was moved or never saved). "
                "Nothing was saved; copy your text and create the page again.",
                slug=slug,
            )
        return _create(
            session, slug, page, edit, author, kind, commit=commit, batch=batch, early=early
        )

    accounts.require(author, "page.edit")
    require_editable(session=session, slug=slug, user=author)
    current = current_revision(session=session, page=page)
    title, body, tags, merged = edit.title, edit.body, edit.tags, False
    if edit.base != page.head:
        if edit.base > page.head:
            raise Invalid(f"Revision {edit.base} of {slug!r} does not exist.", field="base")
        title, body, tags = _merge(session, page, current, edit, author, keep_draft=commit)
        merged = True
    if has_conflict_markers(body) and not has_conflict_markers(current.body):
        raise Invalid(
            "The text still contains conflict markers (<<<<<<<, =======, >>>>>>>). "
            "Keep the lines you want and remove the markers before saving.",
            field="body",
        )
    if (title, body, tags) == (current.title, current.body, list(current.tags)):
        _discard_draft(session, author, slug)
        _finish(session, commit)
        return SaveResult(page=page, revision=None, merged=merged)
    rev = _add_revision(
        session,
        page,
        kind=kind or RevisionKind.edit,
        title=title,
        body=body,
        tags=tags,
        summary=edit.summary or ("Merged with concurrent changes" if merged else ""),
        author=author,
        head=current,
    )
    if batch is not None:
        batch.pages[page.id or 0] = page
        if title != current.title:
            batch.slugs.add(rendering.slugify_title(title))
    else:
        _store_render(session, page, rev, new=True, early=early)
        if title != current.title:
            _refresh_linkers(session, [rendering.slugify_title(title)], skip=page.id)
    _discard_draft(session, author, slug)
    _finish(session, commit)
    return SaveResult(page=page, revision=rev, merged=merged)


def start_batch(*, session: Session) -> RenderBatch:
    """Open one write transaction for several saves whose renders wait for ``finish_batch``."""
    begin_write(session)
    return RenderBatch()


@contextmanager
def batch_step(*, session: Session, batch: RenderBatch) -> Iterator[None]:
    """One save of a batch in a savepoint: if it fails, none of it stays (the batch goes on)."""
    pages, slugs = dict(batch.pages), set(batch.slugs)
    try:
        with session.begin_nested():
            yield
    except BaseException:
        batch.pages, batch.slugs = pages, slugs
        raise


def finish_batch(*, session: Session, batch: RenderBatch) -> None:
    """Render each page of the batch, and each page linking into it, once; then commit.

    Wikilinks resolve against every page of the batch, which all exist by now; this gives the
    same renders and links as saving the pages one by one, where each new page re-renders the
    pages already linking to it.
    """
    session.flush()
    if batch.slugs:
        linking = select(PageLink.source_id).where(col(PageLink.target_slug).in_(batch.slugs))
        for page in session.exec(
            select(Page).where(col(Page.id).in_(linking), col(Page.deleted_at).is_(None))
        ).all():
            batch.pages.setdefault(page.id or 0, page)
    heads = {
        r.page_id: r
        for r in session.exec(
            select(Revision)
            .join(Page, col(Page.id) == Revision.page_id)
            .where(col(Page.id).in_(batch.pages), Revision.number == Page.head)
        )
    }
    resolve = _resolver(session, preload=True)
    for page_id, page in sorted(batch.pages.items()):
        if not page.is_deleted:
            _store_render(session, page, heads[page_id], resolve=resolve)
    session.commit()


def _finish(session: Session, commit: bool) -> None:
    if commit:
        session.commit()
    else:
        session.flush()


def _merge(
    session: Session,
    page: Page,
    current: Revision,
    edit: PageEdit,
    author: User | None,
    *,
    keep_draft: bool = True,
) -> tuple[str, str, list[str]]:
    # base 0: the editor started a new page while someone else created it; merge from empty
    base = get_revision(session=session, page=page, number=edit.base) if edit.base else None
    base_title, base_body, base_tags = (base.title, base.body, base.tags) if base else ("", "", [])
    body = merge_text(base_body, current.body, edit.body)
    title, title_ok = merge_value(base_title, current.title, edit.title)
    tags = merge_tags(base_tags, current.tags, edit.tags)
    if not body.clean or not title_ok:
        detail = ConflictDetail(
            base=edit.base,
            current=current.number,
            base_body=base_body,
            their_body=current.body,
            your_body=edit.body,
            proposal=body.text,
            their_title=current.title,
            your_title=edit.title,
            conflicts=body.conflicts + (0 if title_ok else 1),
        )
        slug = page.slug
        session.rollback()
        # keep the editor's text server-side too, so closing the conflict screen loses nothing
        if keep_draft and author is not None and author.id is not None:
            draft = DraftSave(
                base=edit.base,
                title=edit.title,
                body=edit.body,
                tags=edit.tags,
                summary=edit.summary,
            )
            save_draft(session=session, slug=slug, data=draft, user=author)
        raise EditConflict(detail)
    return title, body.text, tags


def _create(
    session: Session,
    slug: str,
    page: Page | None,
    edit: PageEdit,
    author: User | None,
    kind: RevisionKind | None,
    *,
    commit: bool = True,
    batch: RenderBatch | None = None,
    early: EarlyRender | None = None,
) -> SaveResult:
    if session.get(PageRedirect, slug) is not None:
        # the address becomes a real page again; the old redirect would shadow it
        session.execute(delete(PageRedirect).where(col(PageRedirect.old_slug) == slug))
    if page is None:
        page = Page(slug=slug, title=edit.title, tags=edit.tags)
        session.add(page)
        default_kind = RevisionKind.create
    else:
        page.deleted_at = None
        default_kind = RevisionKind.undelete
    rev = _add_revision(
        session,
        page,
        kind=kind or default_kind,
        title=edit.title,
        body=edit.body,
        tags=edit.tags,
        summary=edit.summary,
        author=author,
    )
    if batch is not None:
        batch.pages[page.id or 0] = page
        batch.slugs |= {slug, rendering.slugify_title(edit.title)}
    else:
        _store_render(session, page, rev, new=True, early=early)
        _refresh_linkers(session, {slug, rendering.slugify_title(edit.title)}, skip=page.id)
    _discard_draft(session, author, slug)
    _finish(session, commit)
    return SaveResult(page=page, revision=rev, merged=False)


def create_page(*, session: Session, slug: str, edit: PageEdit, author: User | None) -> SaveResult:
    """Create a new page; refuses an address where a page already exists."""
    # before the existence check: whether a page is there is not told to those it is hidden from
    accounts.require(author, "page.create")
    require_editable(session=session, slug=slug, user=author)
    if find_page(session=session, slug=slug) is not None:
        raise Conflict(f"There is already a page at {slug!r}.", slug=slug)
    return save_page(
        session=session, slug=slug, edit=edit.model_copy(update={"base": 0}), author=author
    )


def revert_page(
    *, session: Session, slug: str, number: int, author: User | None, summary: str = ""
) -> SaveResult:
    """Make revision ``number``'s content current again, as a new revision."""
    accounts.require(author, "page.revert")
    begin_write(session)
    page = _lock_page(session, slug)
    if page is None or page.is_deleted:
        raise NotFound(f"There is no page {slug!r}.", slug=slug)
    require_editable(session=session, slug=slug, user=author)
    old = get_revision(session=session, page=page, number=number)
    rev = _add_revision(
        session,
        page,
        kind=RevisionKind.revert,
        title=old.title,
        body=old.body,
        tags=list(old.tags),
        summary=summary or f"Reverted to revision {number}",
        author=author,
    )
    _store_render(session, page, rev)
    session.commit()
    return SaveResult(page=page, revision=rev, merged=False)


def move_page(
    *,
    session: Session,
    slug: str,
    new_slug: str,
    author: User | None,
    summary: str = "",
    include_children: bool = False,
) -> Page:
    """Give a page (and optionally its subpages) a new address; old addresses redirect."""
    accounts.require(author, "page.move")
    new_slug = new_slug.strip().strip("/")
    _check_slug(new_slug)
    if new_slug == slug:
        raise Invalid("The new address is the same as the old one.", field="new_slug")
    if new_slug.startswith(slug + "/") and include_children:
        raise Invalid("A page cannot be moved below itself.", field="new_slug")
    begin_write(session)
    page = _lock_page(session, slug)
    if page is None or page.is_deleted:
        raise NotFound(f"There is no page {slug!r}.", slug=slug)
    require_editable(session=session, slug=slug, user=author)
    moves = [(page, new_slug)]
    if include_children:
        children = session.exec(select(Page).where(col(Page.slug).startswith(slug + "/"))).all()
        moves += [(child, new_slug + child.slug[len(slug) :]) for child in children]
    for moving, target in moves:
        # the destination must be open to the mover too (moving into or out of a restricted
        # subtree needs edit access on both sides); a hidden page there is "already a page"
        # only to those who may see it
        if moving is not page and not access.access_for(session=session, user=author).can_edit(
            moving.slug
        ):
            # not naming the page: it may be one the mover cannot even see
            raise Forbidden(
                f"Some pages below {slug!r} are in a restricted area you may not change; "
                "nothing was moved. Move the page without its subpages, or ask an administrator.",
                field="include_children",
            )
        _require_destination(session, target, author)
        if find_page(session=session, slug=target, include_deleted=True) is not None:
            raise Conflict(f"There is already a page at {target!r}.", field="new_slug")
        _check_slug(target)
    for moving, target in moves:
        old = moving.slug
        session.execute(delete(PageRedirect).where(col(PageRedirect.old_slug) == target))
        moving.slug = target
        session.add(PageRedirect(old_slug=old, page_id=moving.id or 0))
        cur = current_revision(session=session, page=moving)
        _add_revision(
            session,
            moving,
            kind=RevisionKind.move,
            title=cur.title,
            body=cur.body,
            tags=list(cur.tags),
            summary=summary or f"Moved from {old} to {target}",
            author=author,
            moved_from=old,
        )
    session.flush()
    for moving, _ in moves:
        _store_render(session, moving, current_revision(session=session, page=moving))
    _refresh_linkers(session, {m.slug for m, _ in moves} | {slug})
    session.commit()
    return page


def _require_destination(session: Session, target: str, author: User | None) -> None:
    view = access.access_for(session=session, user=author)
    if not view.can_edit(target):
        raise Forbidden(
            f"{target!r} is in a restricted area you may not change; "
            "choose another address, or ask an administrator for edit access there.",
            field="new_slug",
        )


def delete_page(*, session: Session, slug: str, author: User | None, summary: str = "") -> Page:
    """Soft-delete a page: recorded in its history, undoable."""
    accounts.require(author, "page.delete")
    begin_write(session)
    page = _lock_page(session, slug)
    if page is None or page.is_deleted:
        raise NotFound(f"There is no page {slug!r}.", slug=slug)
    require_editable(session=session, slug=slug, user=author)
    cur = current_revision(session=session, page=page)
    _add_revision(
        session,
        page,
        kind=RevisionKind.delete,
        title=cur.title,
        body=cur.body,
        tags=list(cur.tags),
        summary=summary or "Deleted",
        author=author,
    )
    page.deleted_at = utcnow()
    session.add(page)
    _refresh_linkers(session, {slug})
    session.commit()
    return page


def undelete_page(*, session: Session, slug: str, author: User | None, summary: str = "") -> Page:
    """Restore a soft-deleted page with the content it had."""
    accounts.require(author, "page.undelete")
    begin_write(session)
    page = _lock_page(session, slug)
    if page is None or not page.is_deleted:
        raise NotFound(f"There is no deleted page {slug!r}.", slug=slug)
    if not access.access_for(session=session, user=author).can_read(slug):
        raise NotFound(f"There is no deleted page {slug!r}.", slug=slug)
    require_editable(session=session, slug=slug, user=author)
    cur = current_revision(session=session, page=page)
    page.deleted_at = None
    rev = _add_revision(
        session,
        page,
        kind=RevisionKind.undelete,
        title=cur.title,
        body=cur.body,
        tags=list(cur.tags),
        summary=summary or "Restored",
        author=author,
    )
    _store_render(session, page, rev)
    _refresh_linkers(session, {slug, rendering.slugify_title(cur.title)}, skip=page.id)
    session.commit()
    return page


# --- drafts --------------------------------------------------------------------------------------


def _discard_draft(session: Session, user: User | None, slug: str) -> None:
    if user is not None and user.id is not None:  # the system actor keeps no drafts
        session.execute(delete(Draft).where(col(Draft.user_id) == user.id, col(Draft.slug) == slug))


def save_draft(*, session: Session, slug: str, data: DraftSave, user: User | None) -> Draft:
    """Keep the editor's unsaved work on the server (one draft per user and page)."""
    editor = accounts.require_user(user, "page.edit")
    _check_slug(slug)
    _check_body(session, data.body)
    require_editable(session=session, slug=slug, user=editor)
    begin_write(session)
    draft = session.exec(
        select(Draft).where(Draft.user_id == editor.id, Draft.slug == slug)
    ).first() or Draft(user_id=editor.id or 0, slug=slug)
    draft.base, draft.title, draft.body = data.base, data.title, data.body
    draft.tags, draft.summary, draft.updated_at = data.tags, data.summary, utcnow()
    session.add(draft)
    session.commit()
    return draft


def find_draft(*, session: Session, slug: str, user: User | None) -> Draft | None:
    """The user's autosaved draft for this page, if any."""
    if user is None or not access.access_for(session=session, user=user).can_read(slug):
        return None
    return session.exec(select(Draft).where(Draft.user_id == user.id, Draft.slug == slug)).first()


def discard_draft(*, session: Session, slug: str, user: User | None) -> None:
    """Throw away the user's draft for this page."""
    editor = accounts.require_user(user, "page.edit")
    require_editable(session=session, slug=slug, user=editor)
    begin_write(session)
    _discard_draft(session, editor, slug)
    session.commit()


# --- search source -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexEntry:
    """What the search index needs to know about one live page."""

    page: Page
    html: str  # sanitised HTML of the current revision
    authors: list[str]  # usernames of everyone who wrote a revision, most recent first
    backlinks: int


def head_revisions(*, session: Session, page_ids: Iterable[int]) -> dict[int, Revision]:
    """The current revision of each of these pages, by page id, in one query."""
    return {
        r.page_id: r
        for r in session.exec(
            select(Revision)
            .join(Page, col(Page.id) == Revision.page_id)
            .where(col(Revision.page_id).in_(list(page_ids)), Revision.number == Page.head)
        )
    }


def index_entries(*, session: Session, ids: Iterable[int]) -> list[IndexEntry]:
    """The current state of these pages for the search index (deleted or missing ones left out)."""
    wanted = list(ids)
    if not wanted:
        return []
    pages = session.exec(
        select(Page).where(col(Page.id).in_(wanted), col(Page.deleted_at).is_(None))
    ).all()
    if not pages:
        return []
    ids_ = [p.id for p in pages]
    revs = head_revisions(session=session, page_ids=[i for i in ids_ if i is not None])
    cached = dict(
        session.exec(
            select(RenderedRevision.revision_id, RenderedRevision.html).where(
                col(RenderedRevision.revision_id).in_([r.id for r in revs.values()])
            )
        ).all()
    )
    authors: dict[int, list[str]] = {}
    for page_id, username in session.exec(
        select(Revision.page_id, User.username)
        .join(User, col(User.id) == Revision.author_id)
        .where(col(Revision.page_id).in_(ids_))
        .order_by(col(Revision.number).desc())
    ):
        names = authors.setdefault(page_id, [])
        if username not in names:
            names.append(username)
    slugs = [p.slug for p in pages]
    links = dict(
        session.exec(
            select(PageLink.target_slug, func.count())
            .join(Page, col(Page.id) == PageLink.source_id)
            .where(col(PageLink.target_slug).in_(slugs), col(Page.deleted_at).is_(None))
            .group_by(col(PageLink.target_slug))
        ).all()
    )
    out: list[IndexEntry] = []
    for page in pages:
        rev = revs.get(page.id or 0)
        if rev is None:
            continue
        html = cached.get(rev.id or 0)
        if html is None:
            html = render_revision(session=session, revision=rev).html
        out.append(
            IndexEntry(
                page=page,
                html=html,
                authors=authors.get(page.id or 0, []),
                backlinks=int(links.get(page.slug, 0)),
            )
        )
    return out


def index_versions(*, session: Session) -> dict[int, str]:
    """Page id -> head revision number of every live page, to reconcile the search index."""
    rows = session.exec(select(Page.id, Page.head).where(col(Page.deleted_at).is_(None))).all()
    return {page_id or 0: str(head) for page_id, head in rows}


def titles_of(*, session: Session, slugs: Iterable[str]) -> dict[str, str]:
    """Slug -> title of the live pages among ``slugs`` (for breadcrumbs in search results)."""
    wanted = set(slugs)
    if not wanted:
        return {}
    rows = session.exec(
        select(Page.slug, Page.title).where(
            col(Page.slug).in_(wanted), col(Page.deleted_at).is_(None)
        )
    ).all()
    return dict(rows)
