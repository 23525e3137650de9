"""Every domain's tables, imported for Alembic's metadata."""

from __future__ import annotations

from sqlmodel import SQLModel

from app.accounts.models import ApiToken, LoginSession, User
from app.pages.models import Draft, Page, PageLink, PageRedirect, RenderedRevision, Revision
from app.search.models import OutboxEvent

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "Draft",
    "LoginSession",
    "OutboxEvent",
    "Page",
    "PageLink",
    "PageRedirect",
    "RenderedRevision",
    "Revision",
    "User",
    "metadata",
]
