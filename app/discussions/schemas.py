"""Discussions input and output shapes, shared by the HTML routes and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from app.discussions.models import AnchorKind, ThreadStatus

StatusFilter = Literal["open", "resolved", "all"]


def _newlines(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


class CommentCreate(BaseModel):
    """A reply in a thread, optionally quoting an earlier comment of the same thread."""

    body: str = ""
    reply_to: int | None = Field(default=None, ge=1, description="id of the comment quoted")

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _newlines(value)


class CommentUpdate(BaseModel):
    body: str = ""

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _newlines(value)


class HideRequest(BaseModel):
    reason: str = Field(default="", max_length=500)


class ThreadCreate(BaseModel):
    """A new thread: its first comment and, optionally, what it is about."""

    title: str = Field(default="", max_length=200)
    body: str = ""
    heading: str = Field(default="", max_length=200, description="heading id (h-…) of a section")
    quote: str = Field(default="", max_length=2000, description="the passage selected")
    prefix: str = Field(default="", max_length=200)
    suffix: str = Field(default="", max_length=200)
    revision: int = Field(default=0, ge=0, description="revision shown when the passage was picked")

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _newlines(value)


class StatusChange(BaseModel):
    status: ThreadStatus


class CommentRead(BaseModel):
    id: int
    thread_id: int
    author: str | None
    reply_to: int | None
    body: str | None = Field(description="markdown; null when removed or hidden")
    html: str | None
    version: int
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    hidden: bool
    hidden_reason: str


class CommentVersionRead(BaseModel):
    version: int
    body: str
    created_at: datetime


class ThreadRead(BaseModel):
    id: int
    page_slug: str
    page_title: str
    title: str
    status: ThreadStatus
    author: str | None
    anchor_kind: AnchorKind
    anchor_heading: str
    anchor_heading_text: str
    anchor_quote: str
    anchor_revision: int
    outdated: bool
    resolved_by: str | None
    resolved_at: datetime | None
    comment_count: int
    created_at: datetime
    last_activity_at: datetime


class ThreadFull(ThreadRead):
    comments: list[CommentRead]
