"""Every domain's tables, imported for Alembic's metadata."""

from __future__ import annotations

from sqlmodel import SQLModel

from app.accounts.models import ApiToken, LoginSession, User
from app.discussions.models import Comment, CommentVersion, Mention, Thread
from app.notifications.models import Notification, Watch
from app.pages.models import Draft, Page, PageLink, PageRedirect, RenderedRevision, Revision
from app.search.models import OutboxEvent

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "Comment",
    "CommentVersion",
    "Draft",
    "LoginSession",
    "Mention",
    "Notification",
    "OutboxEvent",
    "Page",
    "PageLink",
    "PageRedirect",
    "RenderedRevision",
    "Revision",
    "Thread",
    "User",
    "Watch",
    "metadata",
]
