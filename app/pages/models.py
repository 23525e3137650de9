"""Pages tables: pages, their immutable revisions, links, redirects, drafts and render cache."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from app.core.time import utcnow


def _ts(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class RevisionKind(enum.StrEnum):
    create = "create"
    edit = "edit"
    revert = "revert"
    move = "move"
    delete = "delete"
    undelete = "undelete"
    import_ = "import"


class Page(SQLModel, table=True):
    """The current state of a page; its content lives in its revisions."""

    # wikilinks resolve by title without regard to case (see ``service._resolver``)
    __table_args__ = (Index("ix_page_title_lower", text("lower(title)")),)

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=255, unique=True, index=True)
    title: str = Field(max_length=255, index=True)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    head: int = Field(default=0, description="number of the current revision")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))
    deleted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))

    @property
    def is_deleted(self) -> bool:
        """Whether the page is soft-deleted."""
        return self.deleted_at is not None


class Revision(SQLModel, table=True):
    """One immutable version of a page.

    Its text is stored compressed, mostly as a delta against the next revision (see
    ``app.pages.storage``); ``body`` decodes it, ``size`` is the text's length in bytes.
    """

    __table_args__ = (
        UniqueConstraint("page_id", "number"),
        Index("ix_revision_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="page.id", index=True, ondelete="CASCADE")
    number: int
    kind: RevisionKind = Field(default=RevisionKind.edit, max_length=16)
    slug: str = Field(max_length=255)
    title: str = Field(max_length=255)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    encoded_body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int = Field(default=0, description="bytes of the text (UTF-8)")
    summary: str = Field(default="", max_length=500)
    author_id: int | None = Field(
        default=None, foreign_key="user_account.id", index=True, ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())

    @property
    def body(self) -> str:
        """The revision's text (decoded through the session it was loaded in, then kept)."""
        from app.pages import storage  # storage builds on this model

        return storage.revision_body(revision=self)


class PageLink(SQLModel, table=True):
    """A wikilink from the current revision of a page to a slug (which may not exist)."""

    __tablename__ = "page_link"

    source_id: int = Field(foreign_key="page.id", primary_key=True, ondelete="CASCADE")
    target_slug: str = Field(max_length=255, primary_key=True, index=True)


class PageRedirect(SQLModel, table=True):
    """An old slug that now leads to a moved page."""

    __tablename__ = "page_redirect"

    old_slug: str = Field(max_length=255, primary_key=True)
    page_id: int = Field(foreign_key="page.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Draft(SQLModel, table=True):
    """An editor's autosaved, unsaved work on one page (or a page yet to be created)."""

    __table_args__ = (UniqueConstraint("user_id", "slug"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    slug: str = Field(max_length=255)
    base: int = Field(default=0, description="revision the editor started from; 0 for new pages")
    title: str = Field(default="", max_length=255)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    summary: str = Field(default="", max_length=500)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class RenderedRevision(SQLModel, table=True):
    """Sanitised HTML of a revision; derived data, dropped whenever links may have changed."""

    __tablename__ = "rendered_revision"

    revision_id: int = Field(foreign_key="revision.id", primary_key=True, ondelete="CASCADE")
    html: str = Field(sa_column=Column(Text, nullable=False))
    toc: str = Field(default="", sa_column=Column(Text, nullable=False))
    rendered_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
