"""Sections of a page under /api/v1: list them, save one (the same services as the HTML editor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from app.core.deps import OptionalUser, SessionDep
from app.core.problems import PROBLEM
from app.pages import history, section_service
from app.pages.api import ConflictProblem, page_read
from app.pages.schemas import SaveOutcome

router = APIRouter(prefix="/api/v1", tags=["pages"])


class SectionRead(BaseModel):
    index: int = Field(description="1.. in the order of the headings; 0 is the text before them")
    level: int = Field(description="heading level 1-6; 0 for the text before the first heading")
    title: str = Field(description="the heading's text as written in the markdown")
    anchor: str = Field(description="id of the heading in the rendered page ('' if none)")
    source: str = Field(description="the section's markdown, heading line included")


class SectionsRead(BaseModel):
    slug: str
    revision: int
    sections: list[SectionRead]


class SectionSave(BaseModel):
    base: int = Field(ge=1, description="revision the section's text was taken from")
    heading: str = Field(
        default="", max_length=500, description="the section's title at `base`, as a check"
    )
    text: str = Field(description="the section's new markdown, heading line included")
    summary: str = Field(default="", max_length=500)


class SectionSaveOutcome(SaveOutcome):
    anchor: str = Field(description="id of the section's heading in the saved page ('' if none)")


@router.get(
    "/pages/{slug:path}/sections",
    summary="A page's sections, with their markdown",
    responses={404: PROBLEM},
)
def list_sections(
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    revision: Annotated[int | None, Query(ge=1)] = None,
) -> SectionsRead:
    page, rev, infos = section_service.list_sections(
        session=session, slug=slug, user=user, number=revision
    )
    return SectionsRead(
        slug=page.slug,
        revision=rev.number,
        sections=[
            SectionRead(
                index=i.section.index,
                level=i.section.level,
                title=i.section.title,
                anchor=i.anchor,
                source=i.source,
            )
            for i in infos
        ],
    )


@router.put(
    "/pages/{slug:path}/sections/{index}",
    summary="Save one section against the revision it was taken from (merged like any save)",
    responses={
        404: PROBLEM,
        409: {
            "model": ConflictProblem,
            "description": "Overlapping concurrent edit, or the "
            "section's heading at `base` is not `heading`",
        },
        413: PROBLEM,
        422: PROBLEM,
    },
)
def save_section(
    slug: str,
    index: Annotated[int, Path(ge=0)],
    data: SectionSave,
    session: SessionDep,
    user: OptionalUser,
) -> SectionSaveOutcome:
    saved = section_service.save_section(
        session=session,
        slug=slug,
        index=index,
        heading=data.heading,
        base=data.base,
        text=data.text,
        summary=data.summary,
        author=user,
    )
    rev = saved.result.revision
    return SectionSaveOutcome(
        page=page_read(saved.result.page),
        revision=history.revision_read(rev, None) if rev is not None else None,
        merged=saved.result.merged,
        unchanged=rev is None,
        anchor=saved.anchor,
    )
