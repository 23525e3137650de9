"""Audit log input and output shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator


class AuditQuery(BaseModel):
    """The filters of the audit screen, the CSV export and the API (all optional)."""

    actor: str = Field(default="", max_length=64, description="username of who did it")
    action: str = Field(
        default="", max_length=48, description="an action (user.signed_in) or a family (user)"
    )
    target: str = Field(default="", max_length=255, description="text the target contains")
    since: date | None = Field(default=None, description="from this day (UTC), inclusive")
    until: date | None = Field(default=None, description="to this day (UTC), inclusive")

    @field_validator("since", "until", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        # an empty date field in the filter form
        return None if value == "" else value


class AuditEntryRead(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    target: str
    address: str
    details: dict[str, Any]


class AuditList(BaseModel):
    entries: list[AuditEntryRead]
    total: int
    page: int
    pages: int
