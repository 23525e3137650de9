"""Domain events: published in the transaction of the change, to every subscriber."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from app.accounts.models import User
from app.core import events
from app.core.errors import Conflict
from app.pages import service as pages
from app.pages.schemas import PageEdit
from tests.factories import make_page


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[events.Event]:
    got: list[events.Event] = []

    def record(_session: Session, event: events.Event) -> None:
        got.append(event)

    monkeypatch.setattr(events, "_subscribers", [record])
    return got


def test_page_save_move_and_delete_publish_events(
    session: Session, editor: User, seen: list[events.Event]
) -> None:
    page = make_page(session, slug="core/r2v", body="one\n", author=editor)
    pages.save_page(
        session=session,
        slug="core/r2v",
        edit=PageEdit(base=1, title=page.title, body="two\n"),
        author=editor,
    )
    pages.move_page(session=session, slug="core/r2v", new_slug="core/req-to-value", author=editor)
    pages.delete_page(session=session, slug="core/req-to-value", author=editor)
    assert [e.name for e in seen] == ["page.saved", "page.saved", "page.moved", "page.deleted"]
    assert seen[1].data["revision"] == 2
    assert seen[1].actor_id == editor.id
    assert seen[2].data["moved_from"] == "core/r2v"
    assert seen[2].data["slug"] == "core/req-to-value"


def test_a_save_that_conflicts_publishes_nothing_that_sticks(
    session: Session, editor: User, seen: list[events.Event]
) -> None:
    make_page(session, slug="p", body="a\n", author=editor)
    seen.clear()
    with pytest.raises(Conflict):
        pages.create_page(
            session=session, slug="p", edit=PageEdit(base=0, title="P", body="b\n"), author=editor
        )
    assert seen == []


def test_unknown_event_names_are_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown event"):
        events.publish(session, events.Event(name="page.exploded", actor_id=None, data={}))
