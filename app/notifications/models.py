"""Notifications tables: who watches which page, and each user's inbox."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, DateTime, Index
from sqlmodel import Field, SQLModel

from app.core.time import utcnow


class NotificationKind(enum.StrEnum):
    mention = "mention"  # someone @mentioned me
    reply = "reply"  # a new comment in a thread I started or took part in
    new_thread = "new_thread"  # a new thread on a page I watch
    page_edit = "page_edit"  # a new revision of a page I watch
    resolved = "resolved"  # a thread I took part in was resolved or reopened
    workshop = "workshop"  # I was invited to a workshop, or one I am in started
    proposal = "proposal"  # a proposal asks for my response
    decision = "decision"  # a decision was recorded on a page I watch or I am a decider of
    review_due = "review_due"  # a decision or page I am responsible for is due for review


class EmailState(enum.StrEnum):
    none = "none"  # e-mail delivery is off, or the user has no address
    pending = "pending"
    sending = "sending"  # claimed by a delivery worker (until email_claimed_at + the lease)
    sent = "sent"
    failed = "failed"


class Watch(SQLModel, table=True):
    """A user watching a page."""

    user_id: int = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    page_id: int = Field(foreign_key="page.id", primary_key=True, index=True, ondelete="CASCADE")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class Notification(SQLModel, table=True):
    """One item in a user's inbox (and, when configured, one e-mail)."""

    __table_args__ = (
        Index("ix_notification_user_read", "user_id", "read_at"),
        Index("ix_notification_email_state", "email_state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    kind: NotificationKind = Field(max_length=16)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    page_id: int | None = Field(default=None, foreign_key="page.id", ondelete="CASCADE")
    page_slug: str = Field(default="", max_length=255)
    page_title: str = Field(default="", max_length=255)
    thread_id: int | None = Field(default=None, foreign_key="thread.id", ondelete="CASCADE")
    comment_id: int | None = Field(default=None, foreign_key="comment.id", ondelete="CASCADE")
    revision: int | None = Field(default=None)
    excerpt: str = Field(default="", max_length=500)
    url: str = Field(default="", max_length=500, description="where the item leads, site-relative")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    read_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    email_state: EmailState = Field(default=EmailState.none, max_length=16)
    email_attempts: int = Field(default=0)
    email_claimed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
