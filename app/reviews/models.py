"""Page stewardship tables: who owns a page, its review status and date, and the change log."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Column, Date, DateTime, Index
from sqlmodel import Field, SQLModel

from app.core.time import utcnow

DEFAULT_REVIEW_MONTHS = 12


def _ts(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class ReviewStatus(enum.StrEnum):
    draft = "draft"
    in_review = "in_review"
    approved = "approved"
    needs_review = "needs_review"  # its review date came (or a steward flagged it)


class StewardshipEventKind(enum.StrEnum):
    changed = "changed"  # owners, status, review date or interval set by someone
    reviewed = "reviewed"  # someone marked the page reviewed
    due = "due"  # the review date came: owners were notified, the status became needs review


class PageStewardship(SQLModel, table=True):
    """A page's review state; the row exists once anyone set something (else: draft, no date)."""

    __tablename__ = "page_stewardship"

    page_id: int = Field(foreign_key="page.id", primary_key=True, ondelete="CASCADE")
    status: ReviewStatus = Field(default=ReviewStatus.draft, max_length=16, index=True)
    review_by: date | None = Field(default=None, sa_column=Column(Date, nullable=True, index=True))
    review_months: int = Field(
        default=DEFAULT_REVIEW_MONTHS, description="how far 'mark reviewed' moves the review date"
    )
    approved_decision_id: int | None = Field(
        default=None, foreign_key="decision.id", ondelete="SET NULL"
    )
    # the review date the owners were last told about: once per date, however often we check
    notified_for: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    last_reviewed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_reviewed_by_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class PageOwner(SQLModel, table=True):
    """A user responsible for keeping a page current."""

    __tablename__ = "page_owner"

    page_id: int = Field(foreign_key="page.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(
        foreign_key="user_account.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class StewardshipEvent(SQLModel, table=True):
    """One entry of a page's stewardship history (shown in the page's history timeline)."""

    __tablename__ = "stewardship_event"
    __table_args__ = (Index("ix_stewardship_event_page_created", "page_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="page.id", ondelete="CASCADE")
    kind: StewardshipEventKind = Field(max_length=16)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    summary: str = Field(default="", max_length=500)
    # what changed, for the API: {"status": ["draft", "approved"], "owners": [[...], [...]], …}
    changes: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
