"""Page stewardship input and output shapes, shared by the HTML routes and the API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator

from app.reviews.models import ReviewStatus, StewardshipEventKind

MAX_OWNERS = 20
MAX_REVIEW_MONTHS = 60


def _names(value: object) -> list[str]:
    """Usernames from a list or a comma/space separated string, without @ and duplicates."""
    if value is None:
        return []
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    return list(dict.fromkeys(str(n).strip().lstrip("@").lower() for n in items if str(n).strip()))


class StewardshipUpdate(BaseModel):
    """A change to a page's stewardship; only the fields given are changed.

    ``review_by: null`` removes the review date, ``approved_by: ""`` (or null) the decision.
    """

    owners: list[str] | None = Field(default=None, description="usernames; replaces the owners")
    status: ReviewStatus | None = None
    review_by: date | None = Field(default=None, description="today or later")
    review_months: int | None = Field(
        default=None, ge=1, le=MAX_REVIEW_MONTHS, description="how far 'mark reviewed' moves it"
    )
    approved_by: str | None = Field(
        default=None, max_length=20, description="the decision approving the page, e.g. DEC-0001"
    )

    @field_validator("owners", mode="before")
    @classmethod
    def _owners(cls, value: object) -> list[str] | None:
        return None if value is None else _names(value)

    @field_validator("approved_by")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None


class MarkReviewed(BaseModel):
    """Marking a page reviewed: the next review date is ``next_review`` or the page's interval
    from today."""

    next_review: date | None = Field(default=None, description="after today; default: interval")
    note: str = Field(default="", max_length=400, description="what was checked, for the history")

    @field_validator("note")
    @classmethod
    def _note(cls, value: str) -> str:
        return " ".join(value.split())


class StewardshipEventRead(BaseModel):
    """One entry of a page's stewardship history."""

    kind: StewardshipEventKind
    actor: str | None = Field(description="username; null for the system's review check")
    summary: str
    changes: dict[str, object]
    created_at: datetime


class StewardshipRead(BaseModel):
    """A page's owners, review status and dates."""

    slug: str
    title: str
    status: ReviewStatus
    owners: list[str]
    review_by: date | None
    review_months: int
    overdue: bool = Field(description="the review date has come")
    approved_by: str | None = Field(description="DEC-n approving the page, if any")
    last_reviewed_at: datetime | None
    last_reviewed_by: str | None
    history: list[StewardshipEventRead] = Field(description="newest first")


class DueRead(BaseModel):
    """One page in the review list."""

    slug: str
    title: str
    status: ReviewStatus
    owners: list[str]
    review_by: date | None
    overdue: bool
    days: int | None = Field(description="days until the review date (negative: overdue)")
    last_reviewed_at: datetime | None


class DueList(BaseModel):
    """Pages with a review date or needing review, overdue first."""

    items: list[DueRead]
    overdue: int = Field(description="how many of the listed pages are overdue")


class DueFilters(BaseModel):
    """Filters of the review list."""

    owner: str = Field(default="", max_length=64, description="only pages this user owns")
    under: str = Field(default="", max_length=255, description="only this page and those below")
    overdue: bool = Field(default=False, description="only pages whose review date has come")

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str) -> str:
        return value.strip().lstrip("@").lower()

    @field_validator("under")
    @classmethod
    def _under(cls, value: str) -> str:
        return value.strip().strip("/").removeprefix("wiki/")
