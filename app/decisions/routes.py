"""Decisions HTML screens: the log, a record, the current answer, versions, the record form."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from app.accounts import service as accounts
from app.accounts.models import User
from app.core.deps import OptionalUser, SessionDep
from app.core.errors import Conflict, DomainError, Invalid, NotFound
from app.core.templating import is_htmx, redirect, render
from app.decisions import service, views
from app.decisions.models import DecisionMethod, DecisionStatus
from app.decisions.schemas import (
    DecisionAmend,
    DecisionCreate,
    DecisionForm,
    DecisionUpdate,
    LogFilters,
)

router = APIRouter(include_in_schema=False)
M = TypeVar("M", bound=BaseModel)
PER_PAGE = 25
METHODS = [
    (DecisionMethod.consent, "Consent"),
    (DecisionMethod.vote, "Vote"),
    (DecisionMethod.advice, "Advice process"),
    (DecisionMethod.owner, "Owner decides"),
]


def number_of(value: str) -> int:
    """The number in a decision address (``DEC-0001`` or ``1``); unknown shapes are 404."""
    try:
        return service.parse_ref(value)
    except Invalid:
        raise NotFound(f"There is no decision {value[:40]!r}.") from None


def parse_form(model: type[M], form: DecisionForm) -> M:
    """Turn the posted form into a service input; malformed values are a clear 422."""
    try:
        return model.model_validate(form.fields())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise Invalid(f"{where or 'input'}: {first.get('msg')}", field=where) from None


def _form_ctx(
    *, mode: str, form: DecisionForm, view: views.DecisionView | None = None
) -> dict[str, Any]:
    rows = max(len(form.option_name) + 1, 3)
    options = [
        {
            "name": form.option_name[i] if i < len(form.option_name) else "",
            "pros": form.option_pros[i] if i < len(form.option_pros) else "",
            "cons": form.option_cons[i] if i < len(form.option_cons) else "",
        }
        for i in range(rows)
    ]
    return {"mode": mode, "form": form, "options": options, "methods": METHODS, "view": view}


def _form_of(view: views.DecisionView) -> DecisionForm:
    d = view.decision
    return DecisionForm(
        title=d.title,
        context=d.context,
        drivers=d.drivers,
        option_name=[o.get("name", "") for o in d.options],
        option_pros=[o.get("pros", "") for o in d.options],
        option_cons=[o.get("cons", "") for o in d.options],
        chosen_option=d.chosen_option,
        rationale=d.rationale,
        consequences=d.consequences,
        method=str(d.method),
        decided_on=d.decided_on.isoformat() if d.decided_on else "",
        review_on=d.review_on.isoformat() if d.review_on else "",
        tags=", ".join(d.tags),
        deciders=", ".join(u.username for u in view.deciders),
        consulted=", ".join(u.username for u in view.consulted),
        informed=", ".join(u.username for u in view.informed),
        workshop_id=str(d.workshop_id or ""),
        proposal_id=str(d.proposal_id or ""),
        thread_ids=" ".join(str(v.link.thread_id) for v in view.thread_links),
        pages="\n".join(
            (v.page.slug if v.page else "") + (f"#{v.link.section}" if v.link.section else "")
            for v in view.page_links
        ),
        supersedes=service.ref(view.supersedes.number) if view.supersedes else "",
        status=str(d.status),
    )


# --- the log --------------------------------------------------------------------------------


@router.get("/decisions", name="decisions.log")
def log(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    filters: Annotated[LogFilters, Query()],
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    items, total = service.list_decisions(
        session=session,
        user=user,
        filters=filters,
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
    )
    query = {k: v for k, v in filters.model_dump(mode="json").items() if v not in ("", None)}
    ctx = {
        "items": items,
        "total": total,
        "filters": filters,
        "query": query,
        "statuses": list(DecisionStatus),
        "tags": views.all_tags(session=session),
        "page_no": page,
        "pages": max(1, (total + PER_PAGE - 1) // PER_PAGE),
        "can_record": accounts.can(user, "decision.record"),
    }
    return render(request, "decisions/log.html", ctx, block="results" if is_htmx(request) else None)


# --- recording --------------------------------------------------------------------------------


@router.get("/decisions/new", name="decisions.new")
def new_form(
    request: Request,
    user: OptionalUser,
    supersedes: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[str, Query(max_length=255)] = "",
    workshop: Annotated[str, Query(max_length=12)] = "",
) -> Response:
    accounts.require_user(user, "decision.record")
    form = DecisionForm(supersedes=supersedes, pages=page, workshop_id=workshop)
    return render(request, "decisions/form.html", _form_ctx(mode="new", form=form))


def _refused(request: Request, exc: DomainError, ctx: dict[str, Any]) -> Response:
    """Show the form again with what was typed and the message (a refusal must not lose text)."""
    return render(
        request, "decisions/form.html", {**ctx, "error": exc.detail}, status_code=exc.status_code
    )


@router.post("/decisions/new", name="decisions.create")
def create(
    request: Request,
    form: Annotated[DecisionForm, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    accounts.require_user(user, "decision.record")
    try:
        decision = service.create_decision(
            session=session, data=parse_form(DecisionCreate, form), user=user
        )
    except (Invalid, Conflict) as exc:
        return _refused(request, exc, _form_ctx(mode="new", form=form))
    return redirect(request, f"/decisions/{service.ref(decision.number)}")


@router.get("/decisions/current/{value}", name="decisions.current")
def current(request: Request, value: str, session: SessionDep, user: OptionalUser) -> Response:
    number = number_of(value)
    view, path = service.current_answer(session=session, number=number, user=user)
    record = service.get_record(session=session, number=view.decision.number, user=user)
    ctx = _record_ctx(record, user) | {"asked": service.ref(number), "path": path}
    return render(request, "decisions/record.html", ctx)


def _record_ctx(record: views.Record, user: User | None) -> dict[str, Any]:
    d = record.view.decision
    return {
        "record": record,
        "view": record.view,
        "d": d,
        "can_record": accounts.can(user, "decision.record"),
        "editable": d.status in (DecisionStatus.draft, DecisionStatus.proposed),
        "methods": dict(METHODS),
        "asked": None,
        "path": [],
    }


@router.get("/decisions/{value}", name="decisions.record")
def record(request: Request, value: str, session: SessionDep, user: OptionalUser) -> Response:
    number = number_of(value)
    canonical = service.ref(number)
    if value != canonical:
        return RedirectResponse(f"/decisions/{canonical}", status_code=308)
    rec = service.get_record(session=session, number=number, user=user)
    block = "record" if is_htmx(request) else None
    return render(request, "decisions/record.html", _record_ctx(rec, user), block=block)


@router.get("/decisions/{value}/edit", name="decisions.edit")
def edit_form(request: Request, value: str, session: SessionDep, user: OptionalUser) -> Response:
    accounts.require_user(user, "decision.record")
    view = service.get_decision(session=session, number=number_of(value), user=user)
    status = view.decision.status
    if status not in (DecisionStatus.draft, DecisionStatus.proposed, DecisionStatus.accepted):
        raise Conflict(
            f"{view.ref} is {status}; its text is frozen. Record a new decision instead."
        )
    mode = "amend" if status == DecisionStatus.accepted else "edit"
    return render(
        request, "decisions/form.html", _form_ctx(mode=mode, form=_form_of(view), view=view)
    )


@router.post("/decisions/{value}/edit", name="decisions.update")
def update(
    request: Request,
    value: str,
    form: Annotated[DecisionForm, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    number = number_of(value)
    try:
        service.update_decision(
            session=session, number=number, data=parse_form(DecisionUpdate, form), user=user
        )
    except (Invalid, Conflict) as exc:
        view = service.get_decision(session=session, number=number, user=user)
        return _refused(request, exc, _form_ctx(mode="edit", form=form, view=view))
    return redirect(request, f"/decisions/{service.ref(number)}")


@router.post("/decisions/{value}/amend", name="decisions.amend")
def amend(
    request: Request,
    value: str,
    form: Annotated[DecisionForm, Form()],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    number = number_of(value)
    try:
        service.amend_decision(
            session=session, number=number, data=parse_form(DecisionAmend, form), user=user
        )
    except (Invalid, Conflict) as exc:
        view = service.get_decision(session=session, number=number, user=user)
        return _refused(request, exc, _form_ctx(mode="amend", form=form, view=view))
    return redirect(request, f"/decisions/{service.ref(number)}")


@router.post("/decisions/{value}/status", name="decisions.status")
def status(
    request: Request,
    value: str,
    action: Annotated[str, Form(max_length=20)],
    session: SessionDep,
    user: OptionalUser,
) -> Response:
    number = number_of(value)
    service.change_status(session=session, number=number, action=action, user=user)
    return redirect(request, f"/decisions/{service.ref(number)}")


@router.get("/decisions/{value}/versions", name="decisions.versions")
def versions(request: Request, value: str, session: SessionDep, user: OptionalUser) -> Response:
    view, earlier = service.decision_versions(session=session, number=number_of(value), user=user)
    return render(request, "decisions/versions.html", {"view": view, "versions": earlier})
