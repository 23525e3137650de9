"""Import and export of pages as markdown files with YAML front matter.

A page's attachments travel beside its file: ``roles/cio.md`` and ``roles/cio.attachments/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import yaml
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.attachments import service as attachments
from app.core.errors import DomainError, Invalid
from app.pages import rendering
from app.pages.models import Page, Revision, RevisionKind
from app.pages.schemas import PageEdit
from app.pages.service import (
    RenderBatch,
    batch_step,
    find_page,
    finish_batch,
    save_page,
    start_batch,
)

Progress = Callable[[str], None]
ATTACHMENTS_SUFFIX = ".attachments"
BATCH_SIZE = 250  # pages per transaction; each is rendered once, at the end of its batch


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
) -> ImportReport:
    """Import every markdown file; only pages whose content changed get a new revision.

    Pages are saved ``batch_size`` at a time in one transaction, rendered once at its end (so
    links between pages of a batch resolve whichever comes first); a page that fails leaves
    nothing behind and the others go on. Attachments follow once their page is committed.
    """
    report = ImportReport()
    paths = markdown_files(directory)
    for start in range(0, len(paths), max(1, batch_size)):
        _import_batch(
            session, directory, paths[start : start + batch_size], author, report, progress
        )
    return report


def _import_batch(
    session: Session,
    directory: Path,
    paths: list[Path],
    author: User | None,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    batch: RenderBatch = start_batch(session=session)
    saved: list[tuple[str, Path, bool, bool]] = []  # slug, file, created, changed
    for path in paths:
        slug = path.relative_to(directory).with_suffix("").as_posix()
        try:
            slug, edit = parse_file(path, directory)
            with batch_step(session=session, batch=batch):
                page = find_page(session=session, slug=slug, include_deleted=True)
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
        except (DomainError, ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
            report.failed[slug] = str(exc)
        if progress is not None:
            progress(slug)
    try:
        finish_batch(session=session, batch=batch)
    except (DomainError, ValueError) as exc:
        session.rollback()
        for slug, *_ in saved:
            report.failed[slug] = f"its batch of pages failed: {exc}"
        return
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
