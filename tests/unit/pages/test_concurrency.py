"""Concurrent saves on SQLite and PostgreSQL: every accepted save is kept, nothing silently lost."""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from sqlmodel import select

from app.accounts.models import User
from app.core.config import Settings
from app.core.db import open_session
from app.pages import service
from app.pages.models import Revision
from app.pages.schemas import PageEdit
from tests.factories import make_page, make_user

LINES = [f"paragraph {i}" for i in range(8)]
BODY = "\n\n".join(LINES) + "\n"


def test_parallel_non_overlapping_edits_all_land(engine: Engine, settings: Settings) -> None:
    with open_session(engine, settings) as s:
        users = [make_user(s, username=f"user{i}") for i in range(len(LINES))]
        make_page(s, slug="shared", title="Shared", body=BODY, author=users[0])

    outcomes: list[str] = []

    def edit(i: int, user: User) -> None:
        body = BODY.replace(f"paragraph {i}\n", f"paragraph {i} edited by {user.username}\n")
        with open_session(engine, settings) as s:
            try:
                service.save_page(
                    session=s,
                    slug="shared",
                    author=user,
                    edit=PageEdit(base=1, title="Shared", body=body),
                )
                outcomes.append("saved")
            except service.EditConflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=edit, args=(i, u)) for i, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes == ["saved"] * len(LINES)
    with open_session(engine, settings) as s:
        page = service.find_page(session=s, slug="shared")
        assert page is not None
        assert page.head == len(LINES) + 1
        final = service.current_revision(session=s, page=page).body
        for i, user in enumerate(users):
            assert f"paragraph {i} edited by {user.username}" in final
        numbers = s.exec(select(Revision.number).where(Revision.page_id == page.id)).all()
        assert sorted(numbers) == list(range(1, len(LINES) + 2))


def test_parallel_overlapping_edits_one_wins_rest_conflict(
    engine: Engine, settings: Settings
) -> None:
    with open_session(engine, settings) as s:
        users = [make_user(s, username=f"user{i}") for i in range(5)]
        make_page(s, slug="shared", title="Shared", body=BODY, author=users[0])

    outcomes: dict[str, str] = {}

    def edit(user: User) -> None:
        body = BODY.replace("paragraph 3\n", f"paragraph 3 rewritten by {user.username}\n")
        with open_session(engine, settings) as s:
            try:
                service.save_page(
                    session=s,
                    slug="shared",
                    author=user,
                    edit=PageEdit(base=1, title="Shared", body=body),
                )
                outcomes[user.username] = "saved"
            except service.EditConflict:
                outcomes[user.username] = "conflict"

    threads = [threading.Thread(target=edit, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    winners = [name for name, result in outcomes.items() if result == "saved"]
    assert len(winners) == 1
    assert len(outcomes) == 5
    with open_session(engine, settings) as s:
        page = service.find_page(session=s, slug="shared")
        assert page is not None
        assert page.head == 2
        assert f"rewritten by {winners[0]}" in service.current_revision(session=s, page=page).body
        # every loser's text survives as a draft
        for name, result in outcomes.items():
            if result == "conflict":
                user = next(u for u in users if u.username == name)
                draft = service.find_draft(session=s, slug="shared", user=user)
                assert draft is not None
                assert f"rewritten by {name}" in draft.body
