"""Single sign-on tables: which provider identity belongs to which Atrium account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.time import utcnow


class SsoLink(SQLModel, table=True):
    """An OpenID Connect identity (issuer and subject) linked to an account.

    The provider's ``sub`` is the only stable key: e-mail addresses and usernames change, so
    they are used once, to find or create the account at the first sign-in, never after.
    """

    __tablename__ = "sso_link"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    issuer: str = Field(max_length=255)
    subject: str = Field(max_length=255)
    email: str | None = Field(default=None, max_length=254)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    last_sign_in_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
