"""Decision records in the manner of MADR: numbered, versioned, linked to what they changed."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Column, Date, DateTime, Text
from sqlmodel import Field, SQLModel

from app.core.time import utcnow


def _ts(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class DecisionStatus(enum.StrEnum):
    draft = "draft"
    proposed = "proposed"
    accepted = "accepted"
    rejected = "rejected"
    withdrawn = "withdrawn"
    deprecated = "deprecated"
    superseded = "superseded"


class DecisionMethod(enum.StrEnum):
    consent = "consent"
    vote = "vote"
    advice = "advice"
    owner = "owner"  # the owner decides


class PersonRole(enum.StrEnum):
    decider = "decider"
    consulted = "consulted"
    informed = "informed"


class LinkKind(enum.StrEnum):
    page = "page"  # a page the decision governs (optionally one section)
    revision = "revision"  # a page revision the decision made
    thread = "thread"  # a discussion that led to it


class Decision(SQLModel, table=True):
    """DEC-{number}. Once accepted its text changes only by amendment or supersession."""

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True, index=True)
    title: str = Field(max_length=200)
    status: DecisionStatus = Field(default=DecisionStatus.draft, max_length=16, index=True)
    context: str = Field(default="", sa_column=Column(Text, nullable=False))
    drivers: str = Field(default="", sa_column=Column(Text, nullable=False))
    # [{"name": …, "pros": …, "cons": …}]
    options: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    chosen_option: str = Field(default="", max_length=200)
    rationale: str = Field(default="", sa_column=Column(Text, nullable=False))
    consequences: str = Field(default="", sa_column=Column(Text, nullable=False))
    method: DecisionMethod = Field(default=DecisionMethod.consent, max_length=16)
    decided_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    review_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True, index=True))
    review_notified_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    workshop_id: int | None = Field(
        default=None, foreign_key="workshop.id", index=True, ondelete="SET NULL"
    )
    proposal_id: int | None = Field(
        default=None, foreign_key="proposal.id", index=True, ondelete="SET NULL"
    )
    supersedes_id: int | None = Field(default=None, description="the decision this replaces")
    superseded_by_id: int | None = Field(default=None, description="the decision replacing it")
    version: int = Field(default=1, description="grows with each amendment")
    created_by_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))


class DecisionVersion(SQLModel, table=True):
    """An earlier text of a decision, kept when it is amended (with the reason)."""

    __tablename__ = "decision_version"

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decision.id", index=True, ondelete="CASCADE")
    version: int
    snapshot: dict[str, object] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    author_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class DecisionPerson(SQLModel, table=True):
    """A decider, someone consulted or someone informed."""

    __tablename__ = "decision_person"

    decision_id: int = Field(foreign_key="decision.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(
        foreign_key="user_account.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    role: PersonRole = Field(primary_key=True, max_length=16)


class DecisionLink(SQLModel, table=True):
    """What a decision governs or changed: a page (or section), a page revision, a thread."""

    __tablename__ = "decision_link"

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decision.id", index=True, ondelete="CASCADE")
    kind: LinkKind = Field(max_length=16)
    page_id: int | None = Field(default=None, foreign_key="page.id", index=True, ondelete="CASCADE")
    section: str = Field(default="", max_length=200, description="heading id (h-…), if any")
    revision: int | None = Field(default=None, description="page revision number")
    thread_id: int | None = Field(
        default=None, foreign_key="thread.id", index=True, ondelete="CASCADE"
    )
