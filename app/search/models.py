"""Search tables: the outbox every domain writes to, the documents the PostgreSQL backend ranks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.time import utcnow

# Created by migration 0003 on PostgreSQL only (a stored generated tsvector and its GIN index),
# so they are not part of the SQLModel metadata; model/migration comparisons skip them.
PG_ONLY_COLUMNS = frozenset({"tsv", "rank_tsv"})
PG_ONLY_INDEXES = frozenset({"ix_search_document_tsv"})


def include_object(
    obj: Any,  # noqa: ARG001 - Alembic's include_object signature
    name: str | None,
    type_: str,
    reflected: bool,
    compare_to: Any,
) -> bool:
    """Alembic hook: ignore the PostgreSQL-only search objects when comparing with the models."""
    if reflected and compare_to is None:
        if type_ == "column" and name in PG_ONLY_COLUMNS:
            return False
        if type_ == "index" and name in PG_ONLY_INDEXES:
            return False
    return True


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


class SearchDocumentRow(SQLModel, table=True):
    """One searchable document as the PostgreSQL backend stores it (unused with Whoosh).

    On PostgreSQL the table also has ``tsv``, a stored generated ``tsvector`` over title (A),
    headings and tags (B) and body (D), with a GIN index.
    """

    __tablename__ = "search_document"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id", name="uq_search_document_kind_ref"),
        Index("ix_search_document_path", "path"),
        Index("ix_search_document_updated_at", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    ref_id: int
    title: str = Field(default="", sa_column=Column(Text, nullable=False))
    headings: str = Field(default="", sa_column=Column(Text, nullable=False))
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    tags_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    authors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    path: str = Field(default="", max_length=255)
    status: str = Field(default="", max_length=32)
    scope: str = Field(default="", max_length=255)
    url: str = Field(default="", max_length=512)
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    backlinks: int = 0
    version: str = Field(default="", max_length=64)
