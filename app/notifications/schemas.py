"""Notifications input and output shapes (shared by the HTML screens and the API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.notifications.models import NotificationKind


class NotificationRead(BaseModel):
    """One inbox item, with the actor's name resolved for display."""

    id: int
    kind: NotificationKind
    actor: str | None = Field(description="username of who did it; null for the system")
    actor_name: str | None = Field(description="how the actor is shown")
    page_slug: str
    page_title: str
    thread_id: int | None
    comment_id: int | None
    revision: int | None
    excerpt: str
    url: str = Field(description="where the item leads, site-relative")
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        """Whether the item is still unread."""
        return self.read_at is None


class NotificationList(BaseModel):
    """One page of a user's inbox."""

    items: list[NotificationRead]
    unread: int = Field(description="unread items in the whole inbox")
    next_offset: int | None = Field(description="offset of the next page; null on the last")


class MarkRead(BaseModel):
    """Which notifications to mark as read: some of your own by id, or all of them."""

    ids: list[int] = Field(default_factory=list, max_length=500)
    all: bool = False


class MarkReadResult(BaseModel):
    marked: int = Field(description="how many were unread and are read now")
    unread: int = Field(description="unread items left")
    items: list[NotificationRead] = Field(description="the notifications named by id, now read")


class UnreadCount(BaseModel):
    unread: int


class WatchRead(BaseModel):
    slug: str
    watching: bool
