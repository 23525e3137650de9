"""Pages input and output shapes, shared by the HTML routes and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from app.pages.models import RevisionKind


def _clean_tags(value: Any) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    seen: dict[str, None] = {}
    for item in items:
        tag = str(item).strip().lower()
        if tag:
            seen[tag[:64]] = None
    return list(seen)


class PageEdit(BaseModel):
    """A save from the editor: always states the revision it started from."""

    base: int = Field(default=0, ge=0, description="revision the editor started from; 0 = new")
    title: str = Field(max_length=255)
    body: str = ""
    tags: list[str] = Field(default_factory=list)
    summary: str = Field(default="", max_length=500)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str]:
        return _clean_tags(value)

    @field_validator("title", "summary")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("body")
    @classmethod
    def _newlines(cls, value: str) -> str:
        return value.replace("\r\n", "\n").replace("\r", "\n")


class DraftSave(BaseModel):
    base: int = Field(default=0, ge=0)
    title: str = Field(default="", max_length=255)
    body: str = ""
    tags: list[str] = Field(default_factory=list)
    summary: str = Field(default="", max_length=500)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str]:
        return _clean_tags(value)


class MoveRequest(BaseModel):
    new_slug: str = Field(max_length=255)
    summary: str = Field(default="", max_length=500)
    include_children: bool = False


class RevertRequest(BaseModel):
    number: int = Field(ge=1)
    summary: str = Field(default="", max_length=500)


class PageRead(BaseModel):
    slug: str
    title: str
    tags: list[str]
    head: int
    created_at: datetime
    updated_at: datetime
    deleted: bool


class PageFull(PageRead):
    body: str
    html: str


class RevisionRead(BaseModel):
    number: int
    kind: RevisionKind
    slug: str
    title: str
    tags: list[str]
    summary: str
    author: str | None
    created_at: datetime
    size: int


class RevisionFull(RevisionRead):
    body: str


class ChangeRead(RevisionRead):
    page_slug: str


class TreeNode(BaseModel):
    slug: str
    title: str
    exists: bool
    children: int = Field(description="number of direct children")


class WantedPage(BaseModel):
    slug: str
    links: int


class SaveOutcome(BaseModel):
    page: PageRead
    revision: RevisionRead | None
    merged: bool = Field(description="other people's changes were merged in")
    unchanged: bool = Field(description="nothing differed from the current revision")


class ConflictDetail(BaseModel):
    base: int
    current: int
    base_body: str
    their_body: str
    your_body: str
    proposal: str
    their_title: str
    your_title: str
    conflicts: int
