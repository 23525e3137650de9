"""Page stewardship HTML screens: the review list, a page's stewardship form, mark reviewed."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.accounts.models import User
from app.core.deps import OptionalUser, SessionDep
from app.core.errors import Conflict, DomainError, Invalid
from app.core.templating import is_htmx, redirect, render
from app.reviews import service
from app.reviews.models import ReviewStatus
from app.reviews.schemas import DueFilters, MarkReviewed, StewardshipUpdate
from app.reviews.views import STATUS_LABELS, StewardshipView

router = APIRouter(include_in_schema=False)


class StewardshipForm(BaseModel):
    """The stewardship form as posted: every field a string, checked by ``to_update``."""

    owners: str = Field(default="", max_length=2000)
    status: str = Field(default="", max_length=20)
    review_by: str = Field(default="", max_length=20)
    review_months: str = Field(default="", max_length=5)
    approved_by: str = Field(default="", max_length=20)

    def to_update(self) -> StewardshipUpdate:
        """The service input; a malformed value is a clear Invalid naming its field."""
        try:
            status = ReviewStatus(self.status)
        except ValueError:
            raise Invalid(f"Unknown status {self.status[:20]!r}.", field="status") from None
        months = self.review_months.strip()
        if not months.isdigit() or not 1 <= int(months) <= 60:
            raise Invalid(
                "The review interval is a number of months from 1 to 60.", field="review_months"
            )
        return StewardshipUpdate(
            owners=self.owners,  # the validator splits the comma-separated string
            status=status,
            review_by=_day(self.review_by, "review_by"),
            review_months=int(months),
            approved_by=self.approved_by,
        )


def _day(value: str, field: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{value[:20]!r} is not a date (YYYY-MM-DD).", field=field) from None


def _form_of(view: StewardshipView) -> StewardshipForm:
    row = view.row
    return StewardshipForm(
        owners=", ".join(view.owner_names),
        status=str(row.status),
        review_by=row.review_by.isoformat() if row.review_by else "",
        review_months=str(row.review_months),
        approved_by=view.approved_ref or "",
    )


def _form_ctx(
    view: StewardshipView,
    form: StewardshipForm,
    *,
    session: SessionDep,
    error: str | None = None,
    note: str = "",
    next_review: str = "",
) -> dict[str, Any]:
    return {
        "view": view,
        "page": view.page,
        "form": form,
        "statuses": list(STATUS_LABELS.items()),
        "history": service.page_history(session=session, page=view.page, limit=20),
        "error": error,
        "note": note,
        "next_review": next_review,
        "next_default": service.add_months(service.today(), view.row.review_months),
        "today": service.today(),
    }


def _steward_view(session: SessionDep, slug: str, user: User | None) -> StewardshipView:
    view = service.get_stewardship(session=session, slug=slug, user=user)
    service.require_steward(user=user, view=view)  # no form that could not be saved
    return view


@router.get("/reviews", name="reviews.list")
def review_list(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    filters: Annotated[DueFilters, Query()],
) -> Response:
    error = None
    try:
        items = service.list_due(session=session, user=user, filters=filters)
    except Invalid as exc:
        items, error = [], exc.detail
    ctx = {
        "items": items,
        "filters": filters,
        "error": error,
        "overdue": sum(1 for v in items if v.overdue),
        "filtered": bool(filters.owner or filters.under or filters.overdue),
    }
    return render(request, "reviews/list.html", ctx, block="results" if is_htmx(request) else None)


@router.get("/stewardship/{slug:path}", name="reviews.form")
def stewardship_form(
    request: Request, slug: str, session: SessionDep, user: OptionalUser
) -> Response:
    view = _steward_view(session, slug, user)
    return render(request, "reviews/form.html", _form_ctx(view, _form_of(view), session=session))


@router.post("/stewardship/{slug:path}", name="reviews.save")
def save(
    request: Request,
    slug: str,
    form: Annotated[StewardshipForm, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    try:
        service.set_stewardship(session=session, slug=slug, data=form.to_update(), user=user)
    except (Invalid, Conflict) as exc:
        return _refused(request, session, slug, user, exc, form=form)
    return redirect(request, f"/wiki/{slug}")


@router.post("/mark-reviewed/{slug:path}", name="reviews.mark_reviewed")
def mark_reviewed(
    request: Request,
    slug: str,
    session: SessionDep,
    user: OptionalUser,
    next_review: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    try:
        data = MarkReviewed(next_review=_day(next_review, "next_review"), note=note)
        service.mark_reviewed(session=session, slug=slug, data=data, user=user)
    except (Invalid, Conflict) as exc:
        return _refused(request, session, slug, user, exc, note=note, next_review=next_review)
    return redirect(request, f"/wiki/{slug}")


def _refused(
    request: Request,
    session: SessionDep,
    slug: str,
    user: User | None,
    exc: DomainError,
    *,
    form: StewardshipForm | None = None,
    note: str = "",
    next_review: str = "",
) -> Response:
    """The stewardship form again with what was typed and the message; nothing was saved."""
    view = service.get_stewardship(session=session, slug=slug, user=user)
    ctx = _form_ctx(
        view,
        form or _form_of(view),
        session=session,
        error=exc.detail,
        note=note,
        next_review=next_review,
    )
    if is_htmx(request):
        # a refusal from the page's status box: show the message where the action was taken
        return render(
            request,
            "_error.html",
            {"status": exc.status_code, "title": exc.title, "detail": exc.detail},
            status_code=exc.status_code,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    return render(request, "reviews/form.html", ctx, status_code=exc.status_code)
