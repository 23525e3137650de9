"""Revision storage: compressed texts, deltas against the next revision, keyframes (SQLite and
PostgreSQL), and what users' disks notice: how small 200 revisions of a real page are."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, func
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.config import Settings
from app.core.db import open_session
from app.pages import diff, history, service, storage
from app.pages.models import Revision
from app.pages.schemas import PageEdit
from tests.factories import make_user

SLUG = "guides/storage"
WORDS = ["value", "stream", "order", "invoice", "owner", "review", "team", "risk", "audit"]


def _texts(count: int) -> list[str]:
    """``count`` successive texts of one page, with the awkward ones among them."""
    rng = random.Random(8)
    lines = [" ".join(rng.choices(WORDS, k=12)) + "." for _ in range(40)]
    out = []
    for n in range(1, count + 1):
        lines[rng.randrange(len(lines))] = " ".join(rng.choices(WORDS, k=12)) + f" ({n})."
        out.append("## Notes\n\n" + "\n".join(lines) + "\n")
    out[4] = ""  # an emptied page
    out[9] = "Ünïcödé — 日本語のテキスト, emoji 🎉, RTL עברית\n" + out[8]
    out[15] = "x" * 1000 + "\n" + "".join(f"line {i} {rng.random()}\n" for i in range(4000))
    assert len(out[15].encode()) > 100_000  # past zlib's 32 KB window
    out[16] = out[15] + "one more line\n"
    return out


def _save_all(session: Session, author: User, texts: list[str]) -> None:
    for n, text in enumerate(texts):
        edit = PageEdit(base=n, title="Storage", body=text, summary=f"edit {n + 1}")
        result = service.save_page(session=session, slug=SLUG, edit=edit, author=author)
        assert result.revision is not None
        assert result.revision.number == n + 1


@pytest.fixture
def texts() -> list[str]:
    return _texts(40)


def test_every_revision_round_trips(
    session: Session, engine: Engine, settings: Settings, editor: User, texts: list[str]
) -> None:
    _save_all(session, editor, texts)
    # a fresh session: nothing remembered, every text decoded from the column
    with open_session(engine, settings) as fresh:
        page = service.get_page(session=fresh, slug=SLUG, user=editor)
        for number in range(1, 41):
            rev = service.get_revision(session=fresh, page=page, number=number)
            assert rev.body == texts[number - 1], number
            assert rev.size == len(texts[number - 1].encode())
        # from the oldest first too: each decode reads its own block
    with open_session(engine, settings) as fresh:
        page = service.get_page(session=fresh, slug=SLUG, user=editor)
        for number in range(40, 0, -1):
            assert (
                service.get_revision(session=fresh, page=page, number=number).body
                == (texts[number - 1])
            )
    with open_session(engine, settings) as fresh:
        stored = dict(
            fresh.exec(
                select(Revision.number, Revision.encoded_body).order_by(col(Revision.number))
            ).all()
        )
    # the head and every 16th revision are self-contained; the rest are deltas
    assert [n for n, data in stored.items() if storage.is_self_contained(data)] == [16, 32, 40]


def test_the_current_text_is_one_decompression_away(
    session: Session, engine: Engine, settings: Settings, editor: User, texts: list[str]
) -> None:
    _save_all(session, editor, texts[:23])
    with open_session(engine, settings) as fresh, _statements(engine) as seen:
        page = service.get_page(session=fresh, slug=SLUG, user=editor)
        seen.clear()
        assert service.current_revision(session=fresh, page=page).body == texts[22]
    assert len(seen) == 1  # the revision row itself; no chain


def test_history_lists_do_not_read_texts(
    session: Session, engine: Engine, editor: User, texts: list[str]
) -> None:
    _save_all(session, editor, texts[:20])
    with _statements(engine) as seen:
        _, revs = history.list_revisions(session=session, slug=SLUG, user=editor)
        changes = history.recent_changes(session=session, user=editor)
    assert [r.size for r in revs] == [len(t.encode()) for t in reversed(texts[:20])]
    assert len(changes) == 20
    assert not [s for s in seen if "encoded_body" in s]


def test_diff_of_distant_revisions(session: Session, editor: User, texts: list[str]) -> None:
    _save_all(session, editor, texts)
    session.expunge_all()
    _, old, new, found = history.diff_revisions(
        session=session, slug=SLUG, old=38, new=2, user=editor
    )
    assert (old.number, new.number) == (2, 38)
    assert found == diff.diff_text(texts[1], texts[37])
    assert found.added
    assert found.removed


def test_revert_to_an_old_revision(session: Session, editor: User, texts: list[str]) -> None:
    _save_all(session, editor, texts[:30])
    session.expunge_all()
    result = service.revert_page(session=session, slug=SLUG, number=3, author=editor)
    assert result.revision is not None
    assert result.revision.number == 31
    session.expunge_all()
    page = service.get_page(session=session, slug=SLUG, user=editor)
    assert service.current_revision(session=session, page=page).body == texts[2]
    # the old head became a delta against the reverted text and still reads back
    assert service.get_revision(session=session, page=page, number=30).body == texts[29]
    assert service.get_revision(session=session, page=page, number=3).body == texts[2]


def test_merge_decodes_an_old_base(session: Session, editor: User, texts: list[str]) -> None:
    bob = make_user(session, username="bob")
    _save_all(session, editor, texts[:20])
    base = texts[17]
    first_line = base.splitlines()[2]
    session.expunge_all()
    # bob started from revision 18 (a delta now) and changed a line nobody else touched since
    edit = PageEdit(
        base=18, title="Storage", body=base.replace(first_line, first_line + " Bob was here.")
    )
    result = service.save_page(session=session, slug=SLUG, edit=edit, author=bob)
    assert result.merged
    assert result.revision is not None
    expected = texts[19].replace(first_line, first_line + " Bob was here.")
    assert texts[19] != expected  # the line survived revisions 19 and 20 unchanged
    session.expunge_all()
    page = service.get_page(session=session, slug=SLUG, user=editor)
    assert service.current_revision(session=session, page=page).body == expected


def _page_text(rng: random.Random) -> str:
    """About 600 words in paragraphs, headings and a list, as a wiki page has them."""
    vocabulary = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 10))) for _ in range(900)
    ]
    words = 0
    parts = ["# Order to cash\n"]
    while words < 600:
        if rng.random() < 0.15:
            parts.append("## " + " ".join(rng.choices(vocabulary, k=3)).capitalize() + "\n")
        sentence_count = rng.randint(2, 5)
        paragraph = " ".join(
            " ".join(rng.choices(vocabulary, k=rng.randint(6, 16))).capitalize() + "."
            for _ in range(sentence_count)
        )
        words += len(paragraph.split())
        parts.append(paragraph + "\n")
    return "\n".join(parts)


def test_200_small_edits_take_a_small_fraction_of_their_raw_size(
    session: Session, editor: User
) -> None:
    rng = random.Random(200)
    text = _page_text(rng)
    assert 550 <= len(text.split()) <= 700
    texts = []
    for _ in range(200):
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        words = lines[i].split(" ")
        if len(words) > 3 and rng.random() < 0.5:
            words.pop(rng.randrange(len(words)))  # a word taken away
        words.insert(rng.randrange(len(words) + 1), rng.choice(WORDS) + "s")  # and one added
        lines[i] = " ".join(words)
        text = "\n".join(lines)
        texts.append(text)
    _save_all(session, editor, texts)
    raw, stored = session.exec(
        select(func.sum(Revision.size), func.sum(func.length(Revision.encoded_body)))
    ).one()
    assert raw == sum(len(t.encode()) for t in texts)
    assert stored < 0.15 * raw, f"{stored} of {raw} bytes ({stored / raw:.1%})"


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
