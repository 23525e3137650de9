"""The audit log: one append-only table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel

from app.core.time import utcnow


class AuditEntry(SQLModel, table=True):
    """Something security-relevant that happened; rows are only ever inserted.

    The actor is kept by id and by a snapshot of the username, so the record still reads right
    after a rename; there is deliberately no foreign key (nothing may cascade into this table).
    """

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True),
    )
    actor_id: int | None = Field(default=None, index=True)
    actor_name: str = Field(default="", max_length=64, index=True)
    action: str = Field(max_length=48, index=True)
    target: str = Field(default="", max_length=255)
    address: str = Field(default="", max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
