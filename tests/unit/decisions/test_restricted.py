"""Decision records linking pages in a restricted subtree: the links (and discussions on those
pages) are left out for those who may not read them, and kept when such a user edits."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.accounts.models import Role
from app.core.errors import Invalid
from app.decisions import service
from app.decisions.models import DecisionLink
from app.decisions.schemas import DecisionCreate, DecisionUpdate, LogFilters
from app.discussions import service as discussions
from app.discussions.schemas import ThreadCreate
from app.pages import service as pages
from tests.factories import make_page, make_user
from tests.restricted import restrict

SLUG = "hr/salary-bands"


def test_links_to_hidden_pages_and_threads_are_left_out_and_kept(session: Session) -> None:
    fran = make_user(session, username="fran", role=Role.facilitator)
    otto = make_user(session, username="otto", role=Role.facilitator)
    rita = make_user(session, username="rita", role=Role.reader)
    make_page(session, slug=SLUG, title="Salary bands", body="## Bands\n\nBand one.\n")
    make_page(session, slug="handbook", title="Handbook", body="Hello.\n")
    restrict(session, "hr", readers=[fran])
    thread = discussions.open_thread(
        session=session, slug=SLUG, data=ThreadCreate(title="Bands?", body="Two?"), author=fran
    )
    data = {
        "title": "Two salary bands",
        "deciders": ["fran"],
        "pages": [{"slug": SLUG}, {"slug": "handbook"}],
        "thread_ids": [thread.id],
    }
    d = service.create_decision(
        session=session, data=DecisionCreate.model_validate(data), user=fran
    )

    full = service.get_decision(session=session, number=d.number, user=fran)
    assert [lv.page.slug for lv in full.page_links if lv.page] == [SLUG, "handbook"]
    assert [lv.thread_title for lv in full.thread_links] == ["Bands?"]
    for who in (otto, rita, None):
        seen = service.get_decision(session=session, number=d.number, user=who)
        assert [lv.page.slug for lv in seen.page_links if lv.page] == ["handbook"]
        assert seen.thread_links == []
        record = service.get_record(session=session, number=d.number, user=who)
        assert [lv.page.slug for lv in record.view.page_links if lv.page] == ["handbook"]
        found, total = service.list_decisions(
            session=session, user=who, filters=LogFilters(under="hr")
        )
        assert (found, total) == ([], 0)
    assert (
        service.list_decisions(session=session, user=fran, filters=LogFilters(under="hr"))[1] == 1
    )

    # otto edits what he sees: the links he cannot see stay
    update = {**data, "title": "Two bands", "pages": [{"slug": "handbook"}], "thread_ids": []}
    service.update_decision(
        session=session, number=d.number, data=DecisionUpdate.model_validate(update), user=otto
    )
    session.rollback()
    kept = session.exec(select(DecisionLink.page_id, DecisionLink.thread_id)).all()
    assert sorted(kept, key=str) == sorted(
        [(page_id(session, SLUG), None), (page_id(session, "handbook"), None), (None, thread.id)],
        key=str,
    )
    again = service.get_decision(session=session, number=d.number, user=fran)
    assert {lv.page.slug for lv in again.page_links if lv.page} == {SLUG, "handbook"}
    assert again.decision.title == "Two bands"


def page_id(session: Session, slug: str) -> int | None:
    found = pages.find_page(session=session, slug=slug)
    return found.id if found else None


def test_linking_a_hidden_page_answers_like_a_missing_one(session: Session) -> None:
    otto = make_user(session, username="otto", role=Role.facilitator)
    make_page(session, slug=SLUG, title="Salary bands", body="Band one.\n")
    restrict(session, "hr")
    for slug in (SLUG, "hr/nothing-here"):
        data = {"title": "Bands", "deciders": ["otto"], "pages": [{"slug": slug}]}
        with pytest.raises(Invalid) as caught:
            service.create_decision(
                session=session, data=DecisionCreate.model_validate(data), user=otto
            )
        assert str(caught.value) == f"There is no page {slug!r} to link."
        session.rollback()
