"""Attachments output shapes for the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class VersionRead(BaseModel):
    number: int
    sha256: str
    size: int
    content_type: str
    original_name: str
    restored_from: int | None
    uploaded_by: str | None
    created_at: datetime


class AttachmentRead(BaseModel):
    name: str
    page_slug: str
    url: str  # download address (current version)
    markdown: str  # what to write in a page to show or link it
    size: int
    content_type: str
    kind: str
    version: int
    sha256: str
    uploaded_by: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    versions: list[VersionRead]


class UploadRead(AttachmentRead):
    created: bool  # a new name on the page
    unchanged: bool  # same content as the current version: no new version was made


class RestoreRequest(BaseModel):
    version: int
