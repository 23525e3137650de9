"""Proposals tables: proposals, their versions, pending page changes and responses."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.time import utcnow


def _ts(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class ProposalState(enum.StrEnum):
    open = "open"
    closed = "closed"
    withdrawn = "withdrawn"


class ProposalSource(enum.StrEnum):
    none = "none"
    idea = "idea"
    thread = "thread"
    page_edit = "page_edit"


class Outcome(enum.StrEnum):
    accepted = "accepted"
    rejected = "rejected"
    deferred = "deferred"


class Stance(enum.StrEnum):
    agree = "agree"
    abstain = "abstain"
    disagree = "disagree"
    block = "block"


class Proposal(SQLModel, table=True):
    """Something put to the participants for a decision."""

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    options: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    version: int = Field(default=1, description="grows when the proposal is edited")
    state: ProposalState = Field(default=ProposalState.open, max_length=16, index=True)
    source: ProposalSource = Field(default=ProposalSource.none, max_length=16)
    source_id: int | None = Field(default=None, description="the idea or thread it came from")
    workshop_id: int | None = Field(
        default=None, foreign_key="workshop.id", index=True, ondelete="SET NULL"
    )
    item_id: int | None = Field(default=None, foreign_key="agenda_item.id", ondelete="SET NULL")
    require_reasons: bool = Field(default=False, description="every response needs a reason")
    hide_results: bool = Field(default=False, description="tallies hidden until it closes")
    closes_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    outcome: Outcome | None = Field(default=None, max_length=16)
    outcome_note: str = Field(default="", sa_column=Column(Text, nullable=False))
    decision_id: int | None = Field(default=None, description="the decision record it led to")
    author_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    closed_by_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))
    closed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ProposalVersion(SQLModel, table=True):
    """The text of a proposal as it was at an earlier version."""

    __tablename__ = "proposal_version"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True, ondelete="CASCADE")
    version: int
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    options: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    author_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ProposalChange(SQLModel, table=True):
    """A proposed new text of a page: a pending revision against ``base_revision``."""

    __tablename__ = "proposal_change"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True, ondelete="CASCADE")
    page_id: int = Field(foreign_key="page.id", index=True, ondelete="CASCADE")
    base_revision: int
    title: str = Field(max_length=255)
    body: str = Field(sa_column=Column(Text, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    applied_revision: int | None = Field(default=None, description="set once accepted")


class ProposalResponse(SQLModel, table=True):
    """A participant's response to one version of a proposal."""

    __tablename__ = "proposal_response"
    __table_args__ = (UniqueConstraint("proposal_id", "user_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    version: int = Field(description="the proposal version responded to")
    stance: Stance = Field(max_length=16)
    option: str = Field(default="", max_length=200, description="the option preferred, if any")
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
