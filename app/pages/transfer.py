"""Import and export of pages as markdown files with YAML front matter.

A page's attachments travel beside its file: ``roles/cio.md`` and ``roles/cio.attachments/``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import frontmatter
import yaml
from sqlalchemy import delete, func, insert, literal
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.attachments import service as attachments
from app.core.errors import DomainError, Invalid
from app.core.time import utcnow
from app.pages import links, rendering
from app.pages.models import Page, PageLink, RenderedRevision, Revision, RevisionKind
from app.pages.schemas import PageEdit
from app.pages.service import (
    RenderBatch,
    batch_step,
    current_revision,
    head_revisions,
    link_table,
    save_page,
    start_batch,
)

Progress = Callable[[str], None]
ATTACHMENTS_SUFFIX = ".attachments"
BATCH_SIZE = 250  # pages per transaction, stored with their renders
POOL_MIN_PAGES = 1_000  # smaller imports render in this process (starting workers costs ~1 s)

RenderedBody = tuple[str, str, tuple[str, ...]]  # html, toc, slugs linked to
Render = Callable[[], RenderedBody]  # waits for a render (in a worker, or does it now)


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    files: int = 0  # attachments added or updated


def markdown_files(directory: Path) -> list[Path]:
    """The markdown files below ``directory`` in a stable order."""
    if not directory.is_dir():
        raise Invalid(f"{directory} is not a directory.")
    return sorted(
        p
        for p in directory.rglob("*.md")
        if p.is_file()
        and not any(part.endswith(ATTACHMENTS_SUFFIX) for part in p.relative_to(directory).parts)
    )


def attachments_dir(page_file: Path) -> Path:
    """The folder holding the attachments of the page in ``page_file``."""
    return page_file.with_suffix(ATTACHMENTS_SUFFIX)


def parse_file(path: Path, root: Path) -> tuple[str, PageEdit]:
    """The slug and content of one markdown file with front matter."""
    slug = path.relative_to(root).with_suffix("").as_posix().lower()
    post = frontmatter.loads(path.read_text(encoding="utf-8"))
    title = str(post.metadata.get("title") or rendering.slugify_title(slug.rsplit("/", 1)[-1]))
    tags = post.metadata.get("tags") or []
    if not isinstance(tags, list):
        tags = [str(tags)]
    return slug, PageEdit(title=title, body=post.content, tags=[str(t) for t in tags])


def import_directory(
    *,
    session: Session,
    directory: Path,
    author: User | None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int | None = None,
) -> ImportReport:
    """Import every markdown file; only pages whose content changed get a new revision.

    Pages are saved ``batch_size`` at a time in one transaction with their renders and links;
    a page that fails leaves nothing behind and the others go on. Wikilinks resolve against
    the wiki as it will be once every file is imported, so each page is rendered once, however
    the links between the files point; the pages linking to a file that failed (or was not
    reached: the import stopped) are rendered again at the end. ``workers``: processes
    rendering meanwhile (0: this one renders; default: one fewer than the CPUs for large
    imports). Attachments follow once their page is committed.
    """
    report = ImportReport()
    paths = markdown_files(directory)
    planned = _plan(paths, directory)
    table = _final_links(session, planned)
    if workers is None:
        # this process saves while the others render: one fewer than the CPUs, as the saving
        # is the longer part (two render processes beside it on 2 cores made three processes
        # share two cores, and the import took longer: 10,001 pages 69 s)
        workers = _cpus() - 1 if len(paths) >= POOL_MIN_PAGES else 0
    try:
        with _Renderer(table, workers) as renderer:
            done: set[int] = set()  # pages rendered (and committed) against ``table``
            for start in range(0, len(paths), max(1, batch_size)):
                chunk = paths[start : start + batch_size]
                _import_batch(session, directory, chunk, author, report, progress, renderer, done)
    except BaseException:
        # the committed batches' links may count on pages that will not come now
        session.rollback()
        with contextlib.suppress(Exception):  # best effort: the first error is the one to see
            _repair(session, report, planned)
        raise
    _repair(session, report, planned)
    return report


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _plan(paths: list[Path], directory: Path) -> dict[str, str]:
    """The slug and title of each page the files will make (the last file wins a slug)."""
    planned: dict[str, str] = {}
    for path in paths:
        try:
            slug, edit = parse_file(path, directory)
        except (ValueError, yaml.YAMLError, UnicodeDecodeError):
            continue  # it fails again when imported, and is reported then
        planned[slug] = edit.title
    return planned


def _final_links(session: Session, planned: dict[str, str]) -> links.LinkTable:
    """The pages links can resolve to once the planned pages are saved."""
    table = link_table(session=session)
    titles = sorted(set(planned.values()))
    lowered: dict[str, str] = {}
    for start in range(0, len(titles), 200):  # the database's lower(), as in the table
        chunk = titles[start : start + 200]
        row = session.execute(select(*(func.lower(literal(t)) for t in chunk))).one()
        lowered.update(zip(chunk, row, strict=True))
    for slug, title in planned.items():
        table.put(slug, title, lowered[title])
    return table


def _import_batch(
    session: Session,
    directory: Path,
    paths: list[Path],
    author: User | None,
    report: ImportReport,
    progress: Progress | None,
    renderer: _Renderer,
    done: set[int],
) -> None:
    batch: RenderBatch = start_batch(session=session)
    saved: list[tuple[str, Path, bool, bool]] = []  # slug, file, created, changed
    renders: dict[int, tuple[str, Render]] = {}  # page id -> the body being rendered
    slugs = [path.relative_to(directory).with_suffix("").as_posix().lower() for path in paths]
    # one query for the batch instead of one per file (deleted pages too: saving undeletes)
    pages = {p.slug: p for p in session.exec(select(Page).where(col(Page.slug).in_(slugs)))}
    for path in paths:
        slug = path.relative_to(directory).with_suffix("").as_posix()
        try:
            slug, edit = parse_file(path, directory)
            with batch_step(session=session, batch=batch):
                page = pages.get(slug)
                edit.base = page.head if page is not None and not page.is_deleted else 0
                edit.summary = f"Imported from {path.name}"
                result = save_page(
                    session=session,
                    slug=slug,
                    edit=edit,
                    author=author,
                    kind=RevisionKind.import_,
                    batch=batch,
                )
            saved.append((slug, path, page is None, result.revision is not None))
            pages[slug] = result.page
            if result.revision is not None:
                body = result.revision.body
                renders[result.page.id or 0] = (body, renderer.submit(slug, body))
        except (DomainError, ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
            report.failed[slug] = str(exc)
        if progress is not None:
            progress(slug)
    try:
        rendered = _finish(session, batch, renderer, renders, done)
    except (DomainError, ValueError) as exc:
        session.rollback()
        for slug, *_ in saved:
            report.failed[slug] = f"its batch of pages failed: {exc}"
        return
    done.update(rendered)
    for slug, path, created, changed in saved:
        try:
            added = _import_attachments(session, slug, attachments_dir(path), author)
        except (DomainError, ValueError) as exc:
            session.rollback()
            report.failed[slug] = str(exc)
            continue
        report.files += added
        if not changed and not added:
            report.unchanged.append(slug)
        elif created:
            report.created.append(slug)
        else:
            report.updated.append(slug)


def _finish(
    session: Session,
    batch: RenderBatch,
    renderer: _Renderer,
    renders: dict[int, tuple[str, Render]],
    done: set[int],
) -> set[int]:
    """Store the renders of the batch's pages, and of pages linking into it not rendered yet
    in this import; commit. Returns the ids of the pages rendered."""
    session.flush()
    pages = dict(batch.pages)
    if batch.slugs:
        linking = select(PageLink.source_id).where(col(PageLink.target_slug).in_(batch.slugs))
        for page in session.exec(
            select(Page).where(col(Page.id).in_(linking), col(Page.deleted_at).is_(None))
        ).all():
            if page.id not in done:
                pages.setdefault(page.id or 0, page)
    heads = head_revisions(session=session, page_ids=pages)
    out: list[tuple[Page, Revision, RenderedBody]] = []
    for page_id, page in sorted(pages.items()):
        if page.is_deleted:
            continue
        head = heads[page_id]
        body, pending = renders.get(page_id) or ("", None)
        if pending is None or body != head.body:  # not submitted, or saved again since
            pending = renderer.local(page.slug, head.body)
        out.append((page, head, pending()))
    _store_renders(session, out)
    session.commit()
    return {page.id or 0 for page, _, _ in out}


def _repair(session: Session, report: ImportReport, planned: dict[str, str]) -> None:
    """Render again the pages whose links counted on a planned page that was not saved."""
    saved = {*report.created, *report.updated, *report.unchanged}
    missing = sorted(planned.keys() - saved)
    if not missing:
        return
    start_batch(session=session)
    ids: set[int] = set()
    for start in range(0, len(missing), 500):  # bounded IN lists
        chunk = missing[start : start + 500]
        slugs = {*chunk, *(rendering.slugify_title(planned[s]) for s in chunk)}
        # an existing page that failed to change keeps its title: links to that resolve too
        current = session.exec(select(Page.title).where(col(Page.slug).in_(chunk))).all()
        slugs |= {rendering.slugify_title(t) for t in current}
        linking = select(PageLink.source_id).where(col(PageLink.target_slug).in_(slugs))
        ids.update(session.exec(linking).all())
    table = link_table(session=session)
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        out = []
        id_chunk = ordered[start : start + 500]
        for page in session.exec(select(Page).where(col(Page.id).in_(id_chunk))).all():
            if not page.is_deleted:
                head = current_revision(session=session, page=page)
                out.append((page, head, _render(table.resolve, page.slug, head.body)))
        _store_renders(session, out)
    session.commit()


def _render(resolve: rendering.Resolver, slug: str, body: str) -> RenderedBody:
    out = rendering.render(body, resolve=resolve, attachments=rendering.attachments_url(slug))
    return out.html, out.toc, out.links


_worker_table: links.LinkTable | None = None


def _start_worker(table: links.LinkTable) -> None:
    global _worker_table  # one table per worker process, for all its renders
    _worker_table = table


def _render_in_worker(slug: str, body: str) -> RenderedBody:
    assert _worker_table is not None
    return _render(_worker_table.resolve, slug, body)


class _Renderer:
    """Renders pages against one link table: in ``workers`` processes while the import goes on
    saving, or (0) in this process when the render is asked for."""

    def __init__(self, table: links.LinkTable, workers: int) -> None:
        self.table = table
        self.pool = (
            ProcessPoolExecutor(
                workers,
                # not fork: this process has a database connection and threads (progress bar)
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(table,),
            )
            if workers > 0
            else None
        )

    def submit(self, slug: str, body: str) -> Render:
        """Start rendering ``body`` (the page at ``slug``); call the result for the render."""
        if self.pool is None:
            return self.local(slug, body)
        future: Future[RenderedBody] = self.pool.submit(_render_in_worker, slug, body)
        return future.result

    def local(self, slug: str, body: str) -> Render:
        """Render ``body`` in this process once asked for."""
        return lambda: _render(self.table.resolve, slug, body)

    def __enter__(self) -> _Renderer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _store_renders(session: Session, renders: list[tuple[Page, Revision, RenderedBody]]) -> None:
    """Cache the renders of the pages' current revisions and record their outgoing links."""
    if not renders:
        return
    now = utcnow()
    revision_ids = [rev.id or 0 for _, rev, _ in renders]
    page_ids = [page.id or 0 for page, _, _ in renders]
    session.execute(
        delete(RenderedRevision).where(col(RenderedRevision.revision_id).in_(revision_ids))
    )
    session.execute(
        insert(RenderedRevision),
        [
            {"revision_id": rev.id, "html": html, "toc": toc, "rendered_at": now}
            for _, rev, (html, toc, _) in renders
        ],
    )
    session.execute(delete(PageLink).where(col(PageLink.source_id).in_(page_ids)))
    rows = [
        {"source_id": page.id, "target_slug": slug}
        for page, _, (_, _, targets) in renders
        for slug in dict.fromkeys(targets)
        if slug != page.slug
    ]
    if rows:
        session.execute(insert(PageLink), rows)


def _import_attachments(session: Session, slug: str, folder: Path, author: User | None) -> int:
    """Upload the files beside a page; returns how many were new or changed."""
    if not folder.is_dir():
        return 0
    changed = 0
    for item in sorted(p for p in folder.iterdir() if p.is_file()):
        changed += attachments.import_file(session=session, slug=slug, path=item, user=author)
    return changed


def render_file(title: str, tags: list[str], body: str) -> str:
    """One page as markdown with front matter, the format import reads."""
    meta = yaml.safe_dump(
        {"title": title, "tags": list(tags)},
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
        width=1000,
    )
    return f"---\n{meta}---\n\n{body.strip()}\n"


def export_directory(*, session: Session, directory: Path, progress: Progress | None = None) -> int:
    """Write every page's current revision as ``slug.md``; returns how many were written."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = session.exec(
        select(Page, Revision)
        .join(Revision, (col(Revision.page_id) == Page.id) & (col(Revision.number) == Page.head))
        .where(col(Page.deleted_at).is_(None))
        .order_by(col(Page.slug))
    ).all()
    for page, rev in rows:
        target = directory.joinpath(*page.slug.split("/")).with_suffix(".md")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_file(rev.title, list(rev.tags), rev.body), encoding="utf-8")
        for name, stored in attachments.current_files(session=session, page_id=page.id or 0):
            folder = attachments_dir(target)
            folder.mkdir(exist_ok=True)
            shutil.copyfile(stored, folder / name)
        if progress is not None:
            progress(page.slug)
    return len(rows)
