"""Attachments use cases: upload (new or a new version), read, versions, restore, delete.

Reading needs ``page.read``; uploading, restoring and deleting need ``page.edit``. Each use
case that writes is one transaction; the file is stored (atomically, by hash) before the row
that refers to it commits.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import User
from app.attachments import files
from app.attachments.models import Attachment, AttachmentVersion
from app.attachments.storage import BlobStore, Received, Thumb
from app.core.db import begin_write, is_sqlite, settings_of
from app.core.errors import Conflict, Invalid, NotFound
from app.core.time import utcnow
from app.pages import service as pages
from app.pages.models import Page

THUMB_WIDTHS = (160, 960)


@dataclass(frozen=True)
class UploadResult:
    attachment: Attachment
    version: AttachmentVersion
    created: bool  # a new name on the page
    unchanged: bool  # the same content as the current version: no new version


@dataclass(frozen=True)
class AttachmentView:
    attachment: Attachment
    kind: files.FileKind
    uploader: User | None  # who uploaded the current version
    versions: list[AttachmentVersion]  # newest first
    users: dict[int, User]  # uploaders of the versions, by id


@dataclass(frozen=True)
class Content:
    """What to send for a download."""

    path: Path
    name: str
    sha256: str
    size: int
    content_type: str
    kind: files.FileKind
    version: int


def store(session: Session) -> BlobStore:
    """The blob store of the session's data directory."""
    return BlobStore(settings_of(session))


# --- lookups -------------------------------------------------------------------------------


def get_page(*, session: Session, slug: str, user: User | None) -> Page:
    """The page whose files these are: at ``slug`` or moved from it (raises NotFound)."""
    return _page(session, slug, user)


def _page(session: Session, slug: str, user: User | None) -> Page:
    """The page at ``slug`` (following a move), readable by ``user``."""
    if "\x00" in slug:  # PostgreSQL refuses NUL in text: no such page
        accounts.require(user, "page.read")
        raise NotFound("There is no such page.")
    page = pages.find_page(session=session, slug=slug, include_deleted=True)
    if page is None:
        moved = pages.find_redirect(session=session, slug=slug, user=user)
        if moved is not None:
            slug = moved
    return pages.get_page(session=session, slug=slug, user=user, include_deleted=True)


def _writable_page(session: Session, slug: str, user: User | None) -> Page:
    accounts.require(user, "page.edit")
    page = _page(session, slug, user)
    pages.require_editable(session=session, slug=page.slug, user=user)
    if page.is_deleted:
        raise Conflict(f"The page {page.slug!r} is deleted; undelete it to change its files.")
    return page


def _find(session: Session, page: Page, name: str, *, lock: bool = False) -> Attachment | None:
    if name != files.clean_name(name):
        return None  # stored names are always clean; this one cannot exist (NUL, "/", "..")
    stmt = select(Attachment).where(Attachment.page_id == page.id, Attachment.name == name)
    if lock and not is_sqlite(session):
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def _get(
    session: Session, page: Page, name: str, *, include_deleted: bool = False, lock: bool = False
) -> Attachment:
    found = _find(session, page, name, lock=lock)
    if found is None or (found.is_deleted and not include_deleted):
        raise NotFound(f"The page {page.slug!r} has no attachment {name!r}.", name=name)
    return found


def _versions(session: Session, attachment: Attachment) -> list[AttachmentVersion]:
    return list(
        session.exec(
            select(AttachmentVersion)
            .where(AttachmentVersion.attachment_id == attachment.id)
            .order_by(col(AttachmentVersion.number).desc())
        )
    )


def _view(session: Session, attachment: Attachment) -> AttachmentView:
    versions = _versions(session, attachment)
    users = accounts.users_by_id(session=session, ids=(v.uploaded_by_id for v in versions))
    current = next((v for v in versions if v.number == attachment.head), None)
    return AttachmentView(
        attachment=attachment,
        kind=files.kind_for_content_type(attachment.content_type),
        uploader=users.get(current.uploaded_by_id or 0) if current else None,
        versions=versions,
        users=users,
    )


def list_attachments(
    *, session: Session, slug: str, user: User | None, deleted: bool = False
) -> list[AttachmentView]:
    """A page's attachments by name (the deleted ones instead when ``deleted``)."""
    page = _page(session, slug, user)
    stmt = select(Attachment).where(Attachment.page_id == page.id)
    stmt = stmt.where(
        col(Attachment.deleted_at).is_not(None) if deleted else col(Attachment.deleted_at).is_(None)
    )
    rows = session.exec(stmt.order_by(col(Attachment.name))).all()
    return [_view(session, a) for a in rows]


def get_attachment(
    *, session: Session, slug: str, name: str, user: User | None, include_deleted: bool = False
) -> AttachmentView:
    """One attachment with its versions (raises NotFound)."""
    page = _page(session, slug, user)
    return _view(session, _get(session, page, name, include_deleted=include_deleted))


def open_content(
    *, session: Session, slug: str, name: str, user: User | None, version: int | None = None
) -> Content:
    """The stored file of an attachment's current (or given) version, for a download."""
    page = _page(session, slug, user)
    attachment = _get(session, page, name)  # a deleted file is gone, all its versions too
    number = version or attachment.head
    row = session.exec(
        select(AttachmentVersion).where(
            AttachmentVersion.attachment_id == attachment.id, AttachmentVersion.number == number
        )
    ).first()
    if row is None:
        raise NotFound(f"{name!r} has no version {number}.", name=name)
    blobs = store(session)
    path = blobs.path(row.sha256)
    if not path.is_file():
        raise NotFound(f"The file of {name!r} (version {number}) is missing from the data dir.")
    return Content(
        path=path,
        name=attachment.name,
        sha256=row.sha256,
        size=row.size,
        content_type=row.content_type,
        kind=files.kind_for_content_type(row.content_type),
        version=number,
    )


def thumbnail(*, content: Content, session: Session, width: int) -> Thumb | None:
    """A scaled-down copy of a raster image (None: send the original, it is small enough)."""
    if not content.kind.image:
        return None
    snapped = min((w for w in THUMB_WIDTHS if w >= width), default=THUMB_WIDTHS[-1])
    try:
        return store(session).thumbnail(content.sha256, snapped)
    except (OSError, ValueError, Warning):
        return None  # checked on upload; if it still fails, the original is sent


# --- writes -----------------------------------------------------------------------------------


def _free_name(session: Session, page: Page, name: str) -> str:
    """``name`` or, when taken on the page, ``stem-2.ext``, ``stem-3.ext``…"""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    candidate, n = name, 1
    while _find(session, page, candidate) is not None:
        n += 1
        candidate = f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}"
    return candidate


def upload(
    *,
    session: Session,
    slug: str,
    filename: str,
    stream: BinaryIO,
    user: User | None,
    replace: bool = True,
) -> UploadResult:
    """Store a file on a page: a new attachment, or a new version of the one with that name.

    With ``replace=False`` a taken name gets a numbered suffix instead (pasted images).
    """
    page = _writable_page(session, slug, user)
    name = files.clean_name(filename)
    shown = name or "the file"
    if name:
        files.check_extension_allowed(name)
    blobs = store(session)
    received = blobs.receive(stream, name=shown)
    try:
        kind = files.sniff(received.temp, shown)
        name = files.check_name(name or "file", kind)
    except BaseException:
        blobs.discard(received)
        raise
    # stored before the transaction: a row that commits always finds its file
    blobs.store(received)
    try:
        return _record(session, page, name, received, kind, user, filename, replace=replace)
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            f"Someone uploaded “{name}” at the same moment; try again.", name=name
        ) from exc


def _record(
    session: Session,
    page: Page,
    name: str,
    received: Received,
    kind: files.FileKind,
    user: User | None,
    original: str,
    *,
    replace: bool,
) -> UploadResult:
    begin_write(session)
    if not replace:
        name = _free_name(session, page, name)
    now = utcnow()
    attachment = _find(session, page, name, lock=True)
    created = attachment is None
    if attachment is None:
        attachment = Attachment(
            page_id=page.id or 0,
            name=name,
            head=0,
            sha256=received.sha256,
            size=received.size,
            content_type=kind.content_type,
            created_at=now,
        )
    elif not attachment.is_deleted and attachment.sha256 == received.sha256:
        current = _version(session, attachment, attachment.head)
        session.commit()
        return UploadResult(attachment, current, created=False, unchanged=True)
    attachment.head += 1
    attachment.sha256 = received.sha256
    attachment.size = received.size
    attachment.content_type = kind.content_type
    attachment.updated_at = now
    attachment.deleted_at = None  # uploading a deleted name brings it back, with the new content
    attachment.deleted_by_id = None
    session.add(attachment)
    session.flush()
    version = AttachmentVersion(
        attachment_id=attachment.id or 0,
        number=attachment.head,
        sha256=received.sha256,
        size=received.size,
        content_type=kind.content_type,
        original_name="".join(ch for ch in original if ch.isprintable())[:255],
        uploaded_by_id=user.id if user is not None else None,
        created_at=now,
    )
    session.add(version)
    session.commit()
    return UploadResult(attachment, version, created=created, unchanged=False)


def _version(session: Session, attachment: Attachment, number: int) -> AttachmentVersion:
    row = session.exec(
        select(AttachmentVersion).where(
            AttachmentVersion.attachment_id == attachment.id, AttachmentVersion.number == number
        )
    ).first()
    if row is None:
        raise NotFound(f"{attachment.name!r} has no version {number}.", name=attachment.name)
    return row


def restore_version(
    *, session: Session, slug: str, name: str, number: int, user: User | None
) -> AttachmentVersion:
    """Make an earlier version current again, as a new version (history is never rewritten)."""
    page = _writable_page(session, slug, user)
    begin_write(session)
    attachment = _get(session, page, name, lock=True)
    old = _version(session, attachment, number)
    if number == attachment.head:
        raise Invalid(f"Version {number} of “{name}” is already the current one.")
    if not store(session).exists(old.sha256):
        raise NotFound(f"The file of version {number} of “{name}” is missing from the data dir.")
    attachment.head += 1
    attachment.sha256, attachment.size = old.sha256, old.size
    attachment.content_type = old.content_type
    attachment.updated_at = utcnow()
    session.add(attachment)
    version = AttachmentVersion(
        attachment_id=attachment.id or 0,
        number=attachment.head,
        sha256=old.sha256,
        size=old.size,
        content_type=old.content_type,
        original_name=old.original_name,
        restored_from=number,
        uploaded_by_id=user.id if user is not None else None,
        created_at=attachment.updated_at,
    )
    session.add(version)
    session.commit()
    return version


def delete_attachment(*, session: Session, slug: str, name: str, user: User | None) -> Attachment:
    """Soft-delete an attachment: gone from the page and its list, restorable with its history."""
    page = _writable_page(session, slug, user)
    begin_write(session)
    attachment = _get(session, page, name, lock=True)
    attachment.deleted_at = utcnow()
    attachment.deleted_by_id = user.id if user is not None else None
    session.add(attachment)
    session.commit()
    return attachment


def undelete_attachment(*, session: Session, slug: str, name: str, user: User | None) -> Attachment:
    """Bring back a deleted attachment."""
    page = _writable_page(session, slug, user)
    begin_write(session)
    attachment = _get(session, page, name, include_deleted=True, lock=True)
    if not attachment.is_deleted:
        raise Invalid(f"“{name}” is not deleted.")
    attachment.deleted_at = None
    attachment.deleted_by_id = None
    session.add(attachment)
    session.commit()
    return attachment


# --- export, import and housekeeping ------------------------------------------------------


def current_files(*, session: Session, page_id: int) -> list[tuple[str, Path]]:
    """(name, stored file) of a page's attachments that are not deleted, for export."""
    rows = session.exec(
        select(Attachment)
        .where(Attachment.page_id == page_id, col(Attachment.deleted_at).is_(None))
        .order_by(col(Attachment.name))
    ).all()
    blobs = store(session)
    return [(a.name, blobs.path(a.sha256)) for a in rows if blobs.exists(a.sha256)]


def import_file(*, session: Session, slug: str, path: Path, user: User | None) -> bool:
    """Upload one exported file to a page; False when it is already the current content."""
    with path.open("rb") as fh:
        result = upload(session=session, slug=slug, filename=path.name, stream=fh, user=user)
    return not result.unchanged


def collect_garbage(*, session: Session, grace_seconds: float = 3600) -> int:
    """Remove stored files no version refers to (left by failed commits); returns how many.

    Files younger than ``grace_seconds`` are kept: their upload may still be committing.
    """
    blobs = store(session)
    blobs.clean_temp(older_than=grace_seconds)
    referenced = set(session.exec(select(AttachmentVersion.sha256).distinct()).all())
    removed = 0
    cutoff = time.time() - grace_seconds
    for sha in list(blobs.all_hashes()):
        if sha not in referenced and blobs.path(sha).stat().st_mtime < cutoff:
            with contextlib.suppress(OSError):
                blobs.remove(sha)
                removed += 1
    return removed
