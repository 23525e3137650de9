"""Proposals input and output shapes, shared by the HTML routes and the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from app.core.errors import Invalid
from app.proposals.models import Outcome, ProposalSource, ProposalState, Stance

StateFilter = Literal["open", "closed", "all"]
MAX_OPTIONS = 20


def _newlines(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _clean_options(value: Any) -> list[str]:
    # the HTML form sends one option a line; the API a list
    if value is None:
        return []
    items = value.splitlines() if isinstance(value, str) else list(value)
    seen: dict[str, None] = {}
    for item in items:
        text = " ".join(str(item).split())[:200]
        if text:
            seen[text] = None
    return list(seen)


class ChangeCreate(BaseModel):
    """A proposed new text of a page, against the revision it was based on."""

    slug: str = Field(max_length=255)
    base: int = Field(ge=1, description="the page revision the change was written against")
    title: str = Field(default="", max_length=255, description="empty: keep the page's title")
    body: str = ""
    tags: list[str] | None = Field(default=None, description="None: keep the page's tags")

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _newlines(value)


class ChangeUpdate(BaseModel):
    """A new proposed text for one change, written against the page's current revision."""

    base: int = Field(ge=1)
    title: str = Field(default="", max_length=255)
    body: str = ""

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _newlines(value)


class _ProposalText(BaseModel):
    title: str = Field(default="", max_length=200)
    description: str = ""
    options: list[str] = Field(default_factory=list)
    require_reasons: bool = False
    hide_results: bool = False
    closes_at: datetime | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        return _newlines(value)

    @field_validator("options", mode="before")
    @classmethod
    def _options(cls, value: Any) -> list[str]:
        return _clean_options(value)


class ProposalCreate(_ProposalText):
    """A new proposal, from an idea, a thread, a suggested page edit, or from nothing."""

    source: ProposalSource = ProposalSource.none
    source_id: int | None = Field(default=None, ge=1, description="the idea or thread id")
    changes: list[ChangeCreate] = Field(default_factory=list)


class ProposalUpdate(_ProposalText):
    """A new text of a proposal (fields left out stay); after responses to the current version
    a changed text becomes a new version."""


class ResponseCreate(BaseModel):
    """A participant's response; ``change`` replaces their response to the same version."""

    stance: Stance
    reason: str = Field(default="", max_length=5000)
    option: str = Field(default="", max_length=200)
    change: bool = Field(default=False, description="replace my response to this version")

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _newlines(value).strip()


class ProposalClose(BaseModel):
    """Closing with an outcome; accepting records a decision and applies the page changes."""

    outcome: Outcome
    note: str = Field(default="", max_length=5000)
    chosen_option: str = Field(default="", max_length=200)
    # after a conflict: the facilitator's updated text for one change, applied before accepting
    change_id: int | None = Field(default=None, ge=1)
    change_base: int | None = Field(default=None, ge=1)
    change_title: str = Field(default="", max_length=255)
    change_body: str | None = None

    @field_validator("change_id", "change_base", mode="before")
    @classmethod
    def _blank_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("change_body")
    @classmethod
    def _change_body(cls, value: str | None) -> str | None:
        return None if value is None else _newlines(value)

    @field_validator("note")
    @classmethod
    def _note(cls, value: str) -> str:
        return _newlines(value).strip()


# --- output ------------------------------------------------------------------------------------


class ChangeRead(BaseModel):
    id: int
    page_slug: str
    page_title: str
    page_deleted: bool
    base_revision: int
    current_revision: int
    title: str
    body: str
    tags: list[str]
    applied_revision: int | None


class ResponseRead(BaseModel):
    id: int
    user: str | None
    stance: Stance
    option: str
    reason: str
    version: int
    current_version: bool
    created_at: datetime


class Tally(BaseModel):
    hidden: bool = Field(description="results are hidden until the proposal closes")
    version: int
    agree: int | None = None
    abstain: int | None = None
    disagree: int | None = None
    block: int | None = None
    total: int | None = None
    earlier: int | None = Field(default=None, description="responses given on earlier versions")


class ProposalRead(BaseModel):
    id: int
    title: str
    description: str
    html: str
    options: list[str]
    version: int
    state: ProposalState
    source: ProposalSource
    source_id: int | None
    workshop_id: int | None
    item_id: int | None
    require_reasons: bool
    hide_results: bool
    closes_at: datetime | None
    outcome: Outcome | None
    outcome_note: str
    decision_id: int | None
    author: str | None
    closed_by: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    tally: Tally


class ProposalFull(ProposalRead):
    changes: list[ChangeRead]
    responses: list[ResponseRead]


class VersionRead(BaseModel):
    version: int
    title: str
    description: str
    options: list[str]
    author: str | None
    created_at: datetime


# --- HTML forms (flat fields; the API takes the nested shapes above) ---------------------------


def _when(value: str) -> datetime | None:
    # <input type="datetime-local"> sends a naive "YYYY-MM-DDTHH:MM", shown and read as UTC
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(
            f"{value!r} is not a date and time (YYYY-MM-DDTHH:MM).", field="closes_at"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ProposalForm(BaseModel):
    """The proposal form: options one a line, at most one page change."""

    title: str = Field(default="", max_length=200)
    description: str = ""
    options: str = ""
    source: ProposalSource = ProposalSource.none
    source_id: str = ""
    require_reasons: bool = False
    hide_results: bool = False
    closes_at: str = ""
    change_slug: str = Field(default="", max_length=255)
    change_base: int = Field(default=0, ge=0)
    change_title: str = Field(default="", max_length=255)
    change_body: str = ""

    def to_create(self) -> ProposalCreate:
        """The nested shape the service takes."""
        changes = []
        if self.change_slug and self.change_base:
            changes.append(
                ChangeCreate(
                    slug=self.change_slug,
                    base=self.change_base,
                    title=self.change_title,
                    body=self.change_body,
                )
            )
        return ProposalCreate(
            title=self.title,
            description=self.description,
            options=self.options,  # split into a list by the validator
            source=self.source,
            source_id=int(self.source_id) if self.source_id.strip().isdigit() else None,
            require_reasons=self.require_reasons,
            hide_results=self.hide_results,
            closes_at=_when(self.closes_at),
            changes=changes,
        )

    def to_update(self) -> ProposalUpdate:
        """The edit shape (source and changes are fixed once the proposal exists)."""
        return ProposalUpdate(
            title=self.title,
            description=self.description,
            options=self.options,  # split into a list by the validator
            require_reasons=self.require_reasons,
            hide_results=self.hide_results,
            closes_at=_when(self.closes_at),
        )
