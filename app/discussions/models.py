"""Discussions tables: threads on pages (optionally anchored to a passage), comments, versions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel

from app.core.time import utcnow


def _ts(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class ThreadStatus(enum.StrEnum):
    open = "open"
    resolved = "resolved"


class AnchorKind(enum.StrEnum):
    page = "page"  # the page as a whole
    heading = "heading"  # one section, by its heading id
    passage = "passage"  # text the reader selected in the rendered page


class Thread(SQLModel, table=True):
    """A discussion on a page; its first comment is the opening post."""

    __table_args__ = (Index("ix_thread_status_activity", "status", "last_activity_at"),)

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="page.id", index=True, ondelete="CASCADE")
    title: str = Field(default="", max_length=200)
    status: ThreadStatus = Field(default=ThreadStatus.open, max_length=16)
    author_id: int | None = Field(
        default=None, foreign_key="user_account.id", index=True, ondelete="SET NULL"
    )
    anchor_kind: AnchorKind = Field(default=AnchorKind.page, max_length=16)
    anchor_heading: str = Field(default="", max_length=200, description="heading id, h-…")
    anchor_heading_text: str = Field(default="", max_length=300)
    anchor_quote: str = Field(default="", max_length=2000, description="the selected text")
    anchor_prefix: str = Field(default="", max_length=200, description="text just before")
    anchor_suffix: str = Field(default="", max_length=200, description="text just after")
    anchor_revision: int = Field(default=0, description="page revision the anchor was made on")
    resolved_by_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    resolved_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    comment_count: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    last_activity_at: datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))


class Comment(SQLModel, table=True):
    """One post in a thread. Edits keep the earlier text in CommentVersion; deletion is soft."""

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="thread.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(
        default=None, foreign_key="user_account.id", index=True, ondelete="SET NULL"
    )
    reply_to_id: int | None = Field(default=None, description="the comment this one quotes")
    body: str = Field(sa_column=Column(Text, nullable=False))
    html: str = Field(default="", sa_column=Column(Text, nullable=False), description="rendered")
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))
    edited_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    deleted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    hidden_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    hidden_by_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    hidden_reason: str = Field(default="", max_length=500)


class CommentVersion(SQLModel, table=True):
    """An earlier text of an edited comment."""

    __tablename__ = "comment_version"

    id: int | None = Field(default=None, primary_key=True)
    comment_id: int = Field(foreign_key="comment.id", index=True, ondelete="CASCADE")
    version: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Mention(SQLModel, table=True):
    """A user @mentioned in a comment (for "my discussions" and notifications)."""

    comment_id: int = Field(foreign_key="comment.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(
        foreign_key="user_account.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    thread_id: int = Field(foreign_key="thread.id", index=True, ondelete="CASCADE")
