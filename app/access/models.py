"""Access tables: groups of users and restricted page subtrees granted to groups."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from app.core.time import utcnow


def _ts() -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=False)


class AccessLevel(enum.StrEnum):
    read = "read"  # may read the subtree (pages, history, discussions, attachments)
    edit = "edit"  # may also change it (still subject to the role's page.* permissions)


class Group(SQLModel, table=True):
    """A named set of users (say "HR" or "Architecture board") that restrictions grant to."""

    __tablename__ = "user_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    description: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class GroupMember(SQLModel, table=True):
    __tablename__ = "user_group_member"

    group_id: int = Field(foreign_key="user_group.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(
        foreign_key="user_account.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class Restriction(SQLModel, table=True):
    """A page subtree (the page at ``root`` and everything below it) closed to all but its grants.

    The root need not exist as a page yet. Where restrictions nest, a user needs a grant under
    every one of them.
    """

    __tablename__ = "subtree_restriction"

    id: int | None = Field(default=None, primary_key=True)
    root: str = Field(max_length=255, unique=True, index=True)
    note: str = Field(default="", max_length=500)
    created_by_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Grant(SQLModel, table=True):
    """A group's access to a restricted subtree."""

    __tablename__ = "subtree_grant"

    restriction_id: int = Field(
        foreign_key="subtree_restriction.id", primary_key=True, ondelete="CASCADE"
    )
    group_id: int = Field(
        foreign_key="user_group.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    level: AccessLevel = Field(default=AccessLevel.read, max_length=8)
