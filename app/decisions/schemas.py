"""Decisions input and output shapes, shared by the HTML routes, the API and other domains."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from app.decisions.models import DecisionMethod, DecisionStatus

ReviewFilter = Literal["", "due"]


def _newlines(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _names(value: object) -> list[str]:
    """Usernames from a list or a comma/space separated string, without @ and duplicates."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value or [])  # type: ignore[call-overload]
    return list(dict.fromkeys(str(n).strip().lstrip("@") for n in items if str(n).strip()))


def _tags(value: object) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])  # type: ignore[call-overload]
    return list(dict.fromkeys(" ".join(str(t).split()).lower() for t in items if str(t).strip()))


class OptionIn(BaseModel):
    """One option considered, with its pros and cons (markdown)."""

    name: str = Field(max_length=200)
    pros: str = Field(default="", max_length=20_000)
    cons: str = Field(default="", max_length=20_000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("pros", "cons")
    @classmethod
    def _text(cls, value: str) -> str:
        return _newlines(value)


class PageLinkIn(BaseModel):
    """A page the decision governs, optionally one section (heading id ``h-…``)."""

    slug: str = Field(max_length=255)
    section: str = Field(default="", max_length=200)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        return value.strip().strip("/").removeprefix("wiki/")


class DecisionText(BaseModel):
    """The MADR body of a decision: everything that freezes once it is accepted."""

    title: str = Field(max_length=200)
    context: str = Field(default="", max_length=50_000)
    drivers: str = Field(default="", max_length=50_000)
    options: list[OptionIn] = Field(default_factory=list, max_length=30)
    chosen_option: str = Field(default="", max_length=200)
    rationale: str = Field(default="", max_length=50_000)
    consequences: str = Field(default="", max_length=50_000)
    method: DecisionMethod = DecisionMethod.consent
    decided_on: date | None = None
    review_on: date | None = None
    tags: list[str] = Field(default_factory=list, max_length=30)
    deciders: list[str] = Field(default_factory=list, description="usernames")
    consulted: list[str] = Field(default_factory=list, description="usernames")
    informed: list[str] = Field(default_factory=list, description="usernames")

    @field_validator("title", "chosen_option")
    @classmethod
    def _line(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("context", "drivers", "rationale", "consequences")
    @classmethod
    def _text(cls, value: str) -> str:
        return _newlines(value)

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_list(cls, value: object) -> list[str]:
        return _tags(value)

    @field_validator("deciders", "consulted", "informed", mode="before")
    @classmethod
    def _people(cls, value: object) -> list[str]:
        return _names(value)


class DecisionLinks(BaseModel):
    """What a decision is tied to: a workshop, a proposal, discussions, pages."""

    workshop_id: int | None = Field(default=None, ge=1)
    proposal_id: int | None = Field(default=None, ge=1)
    thread_ids: list[int] = Field(default_factory=list, max_length=50)
    pages: list[PageLinkIn] = Field(default_factory=list, max_length=50)
    supersedes: str = Field(default="", max_length=20, description="DEC-n this one replaces")


class DecisionCreate(DecisionText, DecisionLinks):
    """A new decision record (a draft, or proposed straight away)."""

    status: Literal["draft", "proposed"] = "draft"


class DecisionUpdate(DecisionText, DecisionLinks):
    """The full new text and links of a draft or proposed decision."""


class DecisionAmend(DecisionText):
    """A new version of an accepted decision, with the reason for the change."""

    reason: str = Field(default="", max_length=2000)


class DecisionFromProposal(BaseModel):
    """What the proposals domain hands over when a proposal is accepted."""

    title: str = Field(max_length=200)
    context: str = ""
    options: list[OptionIn] = Field(default_factory=list)
    chosen_option: str = Field(default="", max_length=200)
    rationale: str = ""
    consequences: str = ""
    method: DecisionMethod = DecisionMethod.consent
    deciders: list[str] = Field(default_factory=list, description="usernames")
    tags: list[str] = Field(default_factory=list)
    review_on: date | None = None
    thread_ids: list[int] = Field(default_factory=list)
    pages: list[PageLinkIn] = Field(default_factory=list)

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_list(cls, value: object) -> list[str]:
        return _tags(value)

    @field_validator("deciders", mode="before")
    @classmethod
    def _people(cls, value: object) -> list[str]:
        return _names(value)


Transition = Literal["propose", "accept", "reject", "withdraw", "deprecate"]


class StatusChange(BaseModel):
    action: Transition
    decided_on: date | None = None


class LogFilters(BaseModel):
    """Filters of the decision log."""

    status: DecisionStatus | Literal[""] = ""
    tag: str = Field(default="", max_length=100)
    workshop: int | None = Field(default=None, ge=1)
    under: str = Field(default="", max_length=255, description="page subtree")
    since: date | None = None
    until: date | None = None
    decider: str = Field(default="", max_length=64)
    review: ReviewFilter = ""

    @field_validator("workshop", "since", "until", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        # the log's filter form sends empty fields as empty strings
        return None if isinstance(value, str) and not value.strip() else value


# --- output ------------------------------------------------------------------------------------


class OptionRead(BaseModel):
    name: str
    pros: str
    cons: str


class LinkRead(BaseModel):
    kind: str
    page_slug: str | None = None
    page_title: str | None = None
    section: str = ""
    revision: int | None = None
    thread_id: int | None = None


class DecisionRead(BaseModel):
    id: int
    number: int
    ref: str = Field(description="DEC-0001")
    url: str
    title: str
    status: DecisionStatus
    context: str
    drivers: str
    options: list[OptionRead]
    chosen_option: str
    rationale: str
    consequences: str
    method: DecisionMethod
    decided_on: date | None
    review_on: date | None
    tags: list[str]
    deciders: list[str]
    consulted: list[str]
    informed: list[str]
    workshop_id: int | None
    proposal_id: int | None
    supersedes: str | None
    superseded_by: str | None
    version: int
    links: list[LinkRead]
    created_at: datetime
    updated_at: datetime


class DecisionList(BaseModel):
    total: int
    items: list[DecisionRead]


class DecisionVersionRead(BaseModel):
    version: int
    reason: str
    author: str | None
    created_at: datetime
    snapshot: dict[str, object]


class CurrentAnswer(BaseModel):
    asked: str
    current: DecisionRead
    chain: list[str] = Field(description="DEC refs from the one asked to the one in force")


# --- the HTML form --------------------------------------------------------------------------


class DecisionForm(BaseModel):
    """What the decision form posts: flat fields, options as parallel lists, people as text."""

    title: str = ""
    context: str = ""
    drivers: str = ""
    option_name: list[str] = Field(default_factory=list)
    option_pros: list[str] = Field(default_factory=list)
    option_cons: list[str] = Field(default_factory=list)
    chosen_option: str = ""
    rationale: str = ""
    consequences: str = ""
    method: str = "consent"
    decided_on: str = ""
    review_on: str = ""
    tags: str = ""
    deciders: str = ""
    consulted: str = ""
    informed: str = ""
    workshop_id: str = ""
    proposal_id: str = ""
    thread_ids: str = ""
    pages: str = Field(default="", description="one page a line: slug or slug#section")
    supersedes: str = ""
    status: str = "draft"
    reason: str = ""

    def fields(self) -> dict[str, object]:
        """The values as the API shapes expect them (empty strings become None)."""
        options = [
            {"name": n, "pros": p, "cons": c}
            for n, p, c in zip(
                self.option_name,
                [*self.option_pros, *[""] * len(self.option_name)],
                [*self.option_cons, *[""] * len(self.option_name)],
                strict=False,
            )
            if n.strip() or p.strip() or c.strip()
        ]
        pages = []
        for line in self.pages.splitlines():
            slug, _, section = line.strip().partition("#")
            if slug.strip():
                pages.append({"slug": slug.strip(), "section": section.strip()})
        return {
            "title": self.title,
            "context": self.context,
            "drivers": self.drivers,
            "options": options,
            "chosen_option": self.chosen_option,
            "rationale": self.rationale,
            "consequences": self.consequences,
            "method": self.method,
            "decided_on": self.decided_on or None,
            "review_on": self.review_on or None,
            "tags": self.tags,
            "deciders": self.deciders,
            "consulted": self.consulted,
            "informed": self.informed,
            "workshop_id": self.workshop_id.strip() or None,
            "proposal_id": self.proposal_id.strip() or None,
            "thread_ids": [t.lstrip("#") for t in self.thread_ids.replace(",", " ").split()],
            "pages": pages,
            "supersedes": self.supersedes,
            "status": self.status,
            "reason": self.reason,
        }
