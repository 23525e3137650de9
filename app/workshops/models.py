"""Workshops tables: workshops, members, agenda items, ideas, clusters and dot votes."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.time import utcnow


def _ts(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class WorkshopState(enum.StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    live = "live"
    closed = "closed"


class MemberRole(enum.StrEnum):
    facilitator = "facilitator"
    participant = "participant"


class ItemStatus(enum.StrEnum):
    pending = "pending"
    current = "current"
    done = "done"


class Workshop(SQLModel, table=True):
    """A design workshop; ``revision`` grows with every change, for live views to follow."""

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    goal: str = Field(default="", sa_column=Column(Text, nullable=False))
    starts_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True, index=True))
    duration_minutes: int = Field(default=120)
    state: WorkshopState = Field(default=WorkshopState.draft, max_length=16, index=True)
    created_by_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    current_item_id: int | None = Field(default=None, description="agenda item being worked on")
    # the shared timer: running since timer_started_at with timer_seconds in total, or paused
    # with timer_remaining seconds left
    timer_seconds: int = Field(default=0)
    timer_started_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    timer_remaining: int | None = Field(default=None)
    summary_page_id: int | None = Field(default=None, foreign_key="page.id", ondelete="SET NULL")
    revision: int = Field(default=0, description="bumped by every change, for live refresh")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    started_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class WorkshopMember(SQLModel, table=True):
    """A facilitator or participant of a workshop."""

    __tablename__ = "workshop_member"

    workshop_id: int = Field(foreign_key="workshop.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(
        foreign_key="user_account.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    role: MemberRole = Field(default=MemberRole.participant, max_length=16)


class AgendaItem(SQLModel, table=True):
    """One step of the agenda: an open question and/or a page (or one of its sections)."""

    __tablename__ = "agenda_item"
    __table_args__ = (Index("ix_agenda_item_order", "workshop_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    workshop_id: int = Field(foreign_key="workshop.id", index=True, ondelete="CASCADE")
    position: int = Field(default=0)
    title: str = Field(max_length=200)
    question: str = Field(default="", sa_column=Column(Text, nullable=False))
    page_id: int | None = Field(default=None, foreign_key="page.id", ondelete="SET NULL")
    section: str = Field(default="", max_length=200, description="heading id (h-…) of a section")
    timebox_minutes: int = Field(default=15)
    dots_per_participant: int = Field(default=3)
    votes_revealed: bool = Field(default=False)
    status: ItemStatus = Field(default=ItemStatus.pending, max_length=16)


class IdeaCluster(SQLModel, table=True):
    """A group of ideas the facilitator put together."""

    __tablename__ = "idea_cluster"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="agenda_item.id", index=True, ondelete="CASCADE")
    title: str = Field(max_length=200)
    position: int = Field(default=0)


class Idea(SQLModel, table=True):
    """A participant's note on an agenda item; ``anonymous`` hides the author from others."""

    id: int | None = Field(default=None, primary_key=True)
    workshop_id: int = Field(foreign_key="workshop.id", index=True, ondelete="CASCADE")
    item_id: int = Field(foreign_key="agenda_item.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    anonymous: bool = Field(default=False)
    body: str = Field(sa_column=Column(Text, nullable=False))
    html: str = Field(default="", sa_column=Column(Text, nullable=False))
    cluster_id: int | None = Field(default=None, foreign_key="idea_cluster.id", ondelete="SET NULL")
    merged_into_id: int | None = Field(default=None, description="the idea this duplicates")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    deleted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class DotVote(SQLModel, table=True):
    """One dot a participant put on an idea (several dots may go on the same idea)."""

    __tablename__ = "dot_vote"
    __table_args__ = (UniqueConstraint("item_id", "user_id", "slot"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="agenda_item.id", index=True, ondelete="CASCADE")
    idea_id: int = Field(foreign_key="idea.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    slot: int = Field(description="1..dots_per_participant: the database refuses an extra dot")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
