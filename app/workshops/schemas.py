"""Workshops input and output shapes, shared by the HTML routes and the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator

from app.core.errors import Invalid
from app.workshops.models import ItemStatus, MemberRole, WorkshopState

MAX_IDEA_CHARS = 2_000
_M = TypeVar("_M", bound=BaseModel)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _newlines(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _when(value: Any) -> Any:
    """Empty form fields mean no date; a date and time without a zone is UTC."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _names(value: Any) -> list[str]:
    """Usernames from a list or a comma/space separated string, without @ and duplicates."""
    if value is None:
        return []
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    seen: dict[str, None] = {}
    for item in items:
        name = str(item).strip().lstrip("@")
        if name:
            seen[name] = None
    return list(seen)


class AgendaItemCreate(BaseModel):
    """One agenda item: an open question and/or a page (or one section of it)."""

    title: str = Field(default="", max_length=200)
    question: str = Field(default="", max_length=5_000)
    page: str = Field(default="", max_length=255, description="slug of the page to work on")
    section: str = Field(default="", max_length=200, description="heading id (h-…) of a section")
    timebox_minutes: int = Field(default=15, ge=1, le=480)
    dots_per_participant: int = Field(default=3, ge=0, le=20)

    @field_validator("title", "page", "section")
    @classmethod
    def _line(cls, value: str) -> str:
        return _one_line(value).strip("/") if value else value

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        return _newlines(value).strip()


class AgendaItemUpdate(BaseModel):
    """Changes to an agenda item; fields left out stay as they are."""

    title: str | None = Field(default=None, max_length=200)
    question: str | None = Field(default=None, max_length=5_000)
    page: str | None = Field(default=None, max_length=255)
    section: str | None = Field(default=None, max_length=200)
    timebox_minutes: int | None = Field(default=None, ge=1, le=480)
    dots_per_participant: int | None = Field(default=None, ge=0, le=20)

    @field_validator("title", "page", "section")
    @classmethod
    def _line(cls, value: str | None) -> str | None:
        return _one_line(value).strip("/") if value else value

    @field_validator("question")
    @classmethod
    def _question(cls, value: str | None) -> str | None:
        return _newlines(value).strip() if value is not None else None


class WorkshopCreate(BaseModel):
    """A new workshop (always a draft): who facilitates, who takes part, and the agenda."""

    title: str = Field(default="", max_length=200)
    goal: str = Field(default="", max_length=5_000)
    starts_at: datetime | None = None
    duration_minutes: int = Field(default=120, ge=5, le=24 * 60)
    facilitators: list[str] = Field(default_factory=list, description="usernames")
    participants: list[str] = Field(default_factory=list, description="usernames")
    items: list[AgendaItemCreate] = Field(default_factory=list, max_length=50)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return _one_line(value)

    @field_validator("goal")
    @classmethod
    def _goal(cls, value: str) -> str:
        return _newlines(value).strip()

    @field_validator("facilitators", "participants", mode="before")
    @classmethod
    def _people(cls, value: Any) -> list[str]:
        return _names(value)

    @field_validator("starts_at", mode="before")
    @classmethod
    def _starts_before(cls, value: Any) -> Any:
        return _when(value)

    @field_validator("starts_at")
    @classmethod
    def _starts(cls, value: datetime | None) -> datetime | None:
        return _when(value)  # type: ignore[no-any-return]


class WorkshopUpdate(BaseModel):
    """Changes to a draft or scheduled workshop; fields left out stay as they are."""

    title: str | None = Field(default=None, max_length=200)
    goal: str | None = Field(default=None, max_length=5_000)
    starts_at: datetime | None = None
    clear_start: bool = Field(default=False, description="remove the date and time")
    duration_minutes: int | None = Field(default=None, ge=5, le=24 * 60)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        return _one_line(value) if value is not None else None

    @field_validator("goal")
    @classmethod
    def _goal(cls, value: str | None) -> str | None:
        return _newlines(value).strip() if value is not None else None

    @field_validator("starts_at", mode="before")
    @classmethod
    def _starts_before(cls, value: Any) -> Any:
        return _when(value)

    @field_validator("starts_at")
    @classmethod
    def _starts(cls, value: datetime | None) -> datetime | None:
        return _when(value)  # type: ignore[no-any-return]


def _validated(model: type[_M], data: dict[str, Any]) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "input"
        raise Invalid(f"{where}: {first.get('msg')}", field=where) from None


class WorkshopForm(BaseModel):
    """The "new workshop" form: people as comma-separated usernames; the agenda comes next."""

    title: str = Field(default="", max_length=200)
    goal: str = Field(default="", max_length=5_000)
    starts_at: str = Field(default="", max_length=40)
    duration_minutes: int = Field(default=120, ge=5, le=24 * 60)
    facilitators: str = Field(default="", max_length=2_000)
    participants: str = Field(default="", max_length=5_000)

    def to_create(self) -> WorkshopCreate:
        """The same input as the API takes."""
        return _validated(WorkshopCreate, self.model_dump())


class WorkshopEditForm(BaseModel):
    """The details form of the plan screen."""

    title: str = Field(default="", max_length=200)
    goal: str = Field(default="", max_length=5_000)
    starts_at: str = Field(default="", max_length=40)
    duration_minutes: int = Field(default=120, ge=5, le=24 * 60)

    def to_update(self) -> WorkshopUpdate:
        """The same input as the API takes; an empty date removes it."""
        data = self.model_dump()
        data["clear_start"] = not self.starts_at.strip()
        return _validated(WorkshopUpdate, data)


class MemberAdd(BaseModel):
    username: str = Field(max_length=64)
    role: MemberRole = MemberRole.participant

    @field_validator("username")
    @classmethod
    def _name(cls, value: str) -> str:
        return value.strip().lstrip("@")


class Reorder(BaseModel):
    """The agenda item ids in their new order (every item once)."""

    item_ids: list[int] = Field(max_length=50)


class StateChange(BaseModel):
    state: WorkshopState


class TimerAction(BaseModel):
    action: Literal["start", "pause", "extend", "reset"]
    minutes: int = Field(default=5, ge=1, le=240, description="for start (optional) and extend")


class IdeaCreate(BaseModel):
    body: str = ""
    anonymous: bool = False
    item_id: int | None = Field(default=None, ge=1, description="default: the current item")

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _newlines(value)


class ClusterCreate(BaseModel):
    title: str = Field(default="", max_length=200)
    item_id: int | None = Field(default=None, ge=1, description="default: the current item")

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return _one_line(value)


class IdeaMove(BaseModel):
    cluster_id: int | None = Field(default=None, ge=1, description="null: out of any cluster")


class IdeaMerge(BaseModel):
    into_id: int = Field(ge=1, description="the idea that is kept")


class DotCreate(BaseModel):
    idea_id: int = Field(ge=1)
    slot: int | None = Field(default=None, ge=1, description="which of your dots; default: next")


# --- output --------------------------------------------------------------------------------------


class MemberRead(BaseModel):
    username: str
    name: str
    role: MemberRole


class AgendaItemRead(BaseModel):
    id: int
    position: int
    title: str
    question: str
    page: str | None
    section: str
    timebox_minutes: int
    dots_per_participant: int
    votes_revealed: bool
    status: ItemStatus


class TimerRead(BaseModel):
    running: bool
    remaining_seconds: int | None = Field(description="null: no timer set")


class WorkshopRead(BaseModel):
    id: int
    title: str
    goal: str
    state: WorkshopState
    starts_at: datetime | None
    duration_minutes: int
    current_item_id: int | None
    revision: int
    timer: TimerRead
    summary_page: str | None
    created_at: datetime
    started_at: datetime | None
    closed_at: datetime | None
    members: list[MemberRead]
    items: list[AgendaItemRead]


class ClusterRead(BaseModel):
    id: int
    item_id: int
    title: str
    position: int


class IdeaRead(BaseModel):
    id: int
    item_id: int
    author: str | None = Field(description="null when anonymous to you")
    anonymous: bool
    body: str
    html: str
    cluster_id: int | None
    merged_into_id: int | None
    created_at: datetime
    my_dots: int
    dots: int | None = Field(description="all dots on the idea; null until revealed")


class BoardRead(BaseModel):
    """An agenda item's ideas, clusters and (once revealed) dot totals."""

    item: AgendaItemRead
    clusters: list[ClusterRead]
    ideas: list[IdeaRead]
    dots_left: int
    dots_placed: int = Field(description="how many dots everyone placed so far")
