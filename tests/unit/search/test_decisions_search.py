"""Decisions are found by search: every MADR section, rejected options and their cons."""

from __future__ import annotations

from sqlmodel import Session

from app.accounts.models import Role
from app.decisions import service as decisions
from app.decisions.schemas import DecisionAmend, DecisionCreate, OptionIn
from tests.factories import make_user
from tests.unit.search.conftest import Find


def _data(**kw: object) -> DecisionCreate:
    base: dict[str, object] = {
        "title": "Chargeback through showback first",
        "context": "Business units dispute IT costs.",
        "options": [
            OptionIn(name="Showback", pros="Transparent", cons="No incentive"),
            OptionIn(name="Kubernetes chargeback", pros="Exact", cons="Metering is immature"),
        ],
        "chosen_option": "Showback",
        "rationale": "Trust before invoices.",
        "tags": ["finance"],
        "deciders": ["fran"],
    }
    base.update(kw)
    return DecisionCreate.model_validate(base)


def test_decisions_are_searchable_with_kind_and_status(session: Session, find: Find) -> None:
    fran = make_user(session, username="fran", role=Role.facilitator)
    d = decisions.create_decision(session=session, data=_data(), user=fran)

    # "why not X?": the rejected option and its cons find the decision
    hits = find("immature metering").hits
    assert [(h.kind, h.url) for h in hits] == [("decision", "/decisions/DEC-0001")]
    assert hits[0].title == "DEC-0001: Chargeback through showback first"
    assert find("kubernetes").total == 1
    assert find("showback kind:decision").total == 1
    assert find("showback kind:decisions").total == 1
    assert find("showback kind:decision status:accepted").total == 0
    assert find("showback kind:decision status:draft").total == 1
    assert find("tag:finance kind:decision").total == 1

    decisions.change_status(session=session, number=d.number, action="accept", user=fran)
    assert find("showback kind:decision status:accepted").total == 1
    assert find("showback kind:decision status:draft").total == 0

    amend = DecisionAmend(
        **_data(consequences="Quarterly reconciliation with finance.").model_dump(
            exclude={"status"}
        ),
        reason="Add consequences",
    )
    decisions.amend_decision(session=session, number=d.number, data=amend, user=fran)
    assert find("reconciliation kind:decision").total == 1
