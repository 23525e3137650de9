"""Attachments tables: files on a page by name, each name with immutable versions.

The bytes live in the data directory, addressed by their SHA-256 (see storage.py); rows only
refer to them, so the same file uploaded twice (or restored) is stored once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.time import utcnow


def _ts(*, nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class Attachment(SQLModel, table=True):
    """A named file on a page; its content is its newest version (``head``)."""

    __table_args__ = (UniqueConstraint("page_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="page.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255, description="sanitised file name, unique on the page")
    head: int = Field(default=1, description="number of the current version")
    # the current version's content, copied here so lists need no join
    sha256: str = Field(max_length=64)
    size: int
    content_type: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    deleted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    deleted_by_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )

    @property
    def is_deleted(self) -> bool:
        """Whether the attachment is soft-deleted."""
        return self.deleted_at is not None


class AttachmentVersion(SQLModel, table=True):
    """One immutable upload (or restore) of an attachment."""

    __tablename__ = "attachment_version"
    __table_args__ = (UniqueConstraint("attachment_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    attachment_id: int = Field(foreign_key="attachment.id", index=True, ondelete="CASCADE")
    number: int
    sha256: str = Field(max_length=64, index=True)
    size: int
    content_type: str = Field(max_length=100)
    original_name: str = Field(default="", max_length=255, description="name as uploaded")
    restored_from: int | None = Field(default=None, description="version this one restored")
    uploaded_by_id: int | None = Field(
        default=None, foreign_key="user_account.id", index=True, ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
