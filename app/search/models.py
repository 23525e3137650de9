"""The search outbox: one row per change to searchable content, in the same transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from app.core.time import utcnow


class OutboxEvent(SQLModel, table=True):
    """A searchable document (``kind`` + ``ref_id``) changed and must be (re)indexed or removed.

    The indexer reads the current state from the database when it drains the row, so an event
    only says *what* changed; deleting is a change like any other.
    """

    __tablename__ = "search_outbox"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, description="page, thread, comment, workshop, decision, …")
    ref_id: int = Field(description="primary key of the changed row in its own domain")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
