"""Access input and output shapes (the service checks the values, with clear messages)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.access.models import AccessLevel


class GroupCreate(BaseModel):
    """A new group of users."""

    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)


class GroupUpdate(BaseModel):
    """Rename a group or change its description; fields left out stay as they are."""

    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class MemberAdd(BaseModel):
    """A user to add to a group, by username."""

    username: str = Field(max_length=64)


class GroupRead(BaseModel):
    id: int
    name: str
    description: str
    members: list[str] = Field(description="usernames, alphabetically")
    created_at: datetime


class RestrictionCreate(BaseModel):
    """Close the subtree at ``root`` (a page address; the page need not exist yet)."""

    root: str = Field(max_length=300)
    note: str = Field(default="", max_length=2000)


class GrantSet(BaseModel):
    """What a group may do in a restricted subtree."""

    level: AccessLevel = AccessLevel.read


class GrantRead(BaseModel):
    group_id: int
    group: str
    level: AccessLevel


class RestrictionRead(BaseModel):
    id: int
    root: str
    note: str
    grants: list[GrantRead]
    pages: int = Field(description="how many pages (deleted ones included) lie in the subtree")
    created_by: str | None
    created_at: datetime
