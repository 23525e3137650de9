"""Accounts tables: users, sign-in sessions and API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from app.core.time import utcnow


def _ts(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class Role(enum.StrEnum):
    reader = "reader"
    editor = "editor"
    facilitator = "facilitator"
    admin = "admin"


class UserBase(SQLModel):
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(default="", max_length=120)
    email: str | None = Field(default=None, max_length=254)
    role: Role = Field(default=Role.editor, max_length=16)
    is_active: bool = True


class User(UserBase, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())

    @property
    def label(self) -> str:
        """How the user is shown to others."""
        return self.display_name or self.username


class UserRead(UserBase):
    id: int


class LoginSession(SQLModel, table=True):
    """A server-side sign-in session; the cookie holds a random id whose hash is the key."""

    __tablename__ = "login_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    user_agent: str = Field(default="", max_length=255)


class ApiToken(SQLModel, table=True):
    """A bearer token for the API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    name: str = Field(default="", max_length=120)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    scopes: str = Field(default="read write", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    expires_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class TokenScope(enum.StrEnum):
    read = "read"  # safe methods only (GET, HEAD)
    write = "write"  # everything the user may do; implies read


class LoginFailure(SQLModel, table=True):
    """One failed sign-in: counted per account and per client address to throttle guessing.

    Rows are kept about a day; a successful sign-in clears ``account`` on that account's rows,
    which resets its count without lowering its address's.
    """

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    account: str | None = Field(default=None, max_length=64, index=True)
    address: str = Field(default="", max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))
