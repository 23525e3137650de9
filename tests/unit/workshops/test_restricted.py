"""Workshop agendas about pages in a restricted subtree: members who may not read the page see
the item without the page (nor its title), and the public summary page names no such page."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from app.accounts.models import Role
from app.core.errors import Invalid
from app.workshops import service, summary
from app.workshops.schemas import AgendaItemCreate, WorkshopCreate
from app.workshops.service.core import RESTRICTED_ITEM
from tests.factories import make_page, make_user
from tests.restricted import restrict

SLUG = "hr/salary-bands"


def test_agenda_items_on_hidden_pages_keep_the_page_to_those_who_may_read_it(
    session: Session,
) -> None:
    fran = make_user(session, username="fran", role=Role.facilitator)
    otto = make_user(session, username="otto", role=Role.editor)
    make_page(session, slug=SLUG, title="Salary bands", body="## Bands\n\nBand one.\n")
    restrict(session, "hr", readers=[fran])
    workshop = service.create_workshop(
        session=session,
        data=WorkshopCreate(
            title="Pay review",
            participants=["otto"],
            items=[
                AgendaItemCreate(page=SLUG),  # titled after the page
                AgendaItemCreate(title="Bonus talk", page=SLUG, section="h-bands"),
                AgendaItemCreate(title="Holidays"),
            ],
        ),
        user=fran,
    )
    wid = workshop.id or 0
    mine = service.get_workshop(session=session, workshop_id=wid, user=fran)
    assert [i.title for i in mine.items] == ["Salary bands", "Bonus talk", "Holidays"]
    assert [p.slug if (p := mine.page_of(i)) else None for i in mine.items] == [SLUG, SLUG, None]

    theirs = service.get_workshop(session=session, workshop_id=wid, user=otto)
    assert [i.title for i in theirs.items] == [RESTRICTED_ITEM, "Bonus talk", "Holidays"]
    assert [theirs.page_of(i) for i in theirs.items] == [None, None, None]
    assert all(i.section == "" for i in theirs.items)
    session.rollback()  # the masked copies were never added: nothing was written
    again = service.get_workshop(session=session, workshop_id=wid, user=fran)
    assert again.items[0].title == "Salary bands"

    text = summary.build_markdown(session=session, workshop=workshop, actor=fran)
    assert "Salary bands" not in text
    assert SLUG not in text
    assert "Bonus talk" in text


def test_a_hidden_page_cannot_be_put_on_an_agenda_and_is_named_like_a_missing_one(
    session: Session,
) -> None:
    make_user(session, username="hanna", role=Role.reader)
    otto = make_user(session, username="otto", role=Role.facilitator)
    make_page(session, slug=SLUG, title="Salary bands", body="Band one.\n")
    restrict(session, "hr")
    workshop = service.create_workshop(
        session=session, data=WorkshopCreate(title="Pay review"), user=otto
    )
    for slug in (SLUG, "hr/nothing-here"):
        with pytest.raises(Invalid) as caught:
            service.add_item(
                session=session,
                workshop_id=workshop.id or 0,
                data=AgendaItemCreate(page=slug),
                user=otto,
            )
        assert str(caught.value) == f"There is no page {slug!r}."
        session.rollback()
