"""Import in batches: links between the pages of an import, and failures leaving nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.access import manage
from app.access.schemas import RestrictionCreate
from app.accounts.models import Role, User
from app.core.errors import Invalid
from app.notifications import service as notifications
from app.pages import service, transfer
from app.pages.models import Page, PageLink, RenderedRevision, Revision
from app.pages.schemas import PageEdit
from app.search.models import OutboxEvent
from tests.factories import make_user


def _write(root: Path, slug: str, title: str, body: str) -> None:
    path = root.joinpath(*slug.split("/")).with_suffix(".md")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\ntitle: {title}\n---\n\n{body}\n", encoding="utf-8")


def _link(slug: str, text: str) -> str:
    return f'<a class="wikilink" href="/wiki/{slug}" rel="noopener noreferrer nofollow">{text}</a>'


def _html(session: Session, slug: str) -> str:
    page = service.find_page(session=session, slug=slug)
    assert page is not None
    rev = service.current_revision(session=session, page=page)
    cached = session.get(RenderedRevision, rev.id)
    assert cached is not None
    return cached.html


@pytest.mark.parametrize("batch_size", [1, 2, 250])
def test_links_in_both_directions_resolve_whichever_page_comes_first(
    session: Session, editor: User, tmp_path: Path, batch_size: int
) -> None:
    src = tmp_path / "src"
    # a links to b and c by title before they exist; c links back to a by title, b by address
    _write(src, "a", "Alpha Page", "See [[Bravo Page]] and [[Charlie]].")
    _write(src, "b", "Bravo Page", "Back to [[a]].")
    _write(src, "c", "Charlie", "Up to [[Alpha Page]], over to [[b]], and [[Nowhere]].")
    report = transfer.import_directory(
        session=session, directory=src, author=editor, batch_size=batch_size
    )
    assert report.created == ["a", "b", "c"]
    assert not report.failed
    a, b, c = (_html(session, s) for s in ("a", "b", "c"))
    assert _link("b", "Bravo Page") in a
    assert _link("c", "Charlie") in a
    assert _link("a", "a") in b
    assert _link("a", "Alpha Page") in c
    assert _link("b", "b") in c
    assert '<a class="wikilink missing" href="/edit/nowhere?title=Nowhere"' in c
    assert "wikilink missing" not in a + b
    links = session.exec(
        select(Page.slug, PageLink.target_slug).join(Page, col(Page.id) == PageLink.source_id)
    ).all()
    assert sorted(links) == [
        ("a", "b"),
        ("a", "c"),
        ("b", "a"),
        ("c", "a"),
        ("c", "b"),
        ("c", "nowhere"),
    ]
    # importing the same files again changes nothing
    again = transfer.import_directory(session=session, directory=src, author=editor)
    assert again.unchanged == ["a", "b", "c"]
    assert len(session.exec(select(Revision)).all()) == 3


def test_a_page_of_an_early_batch_links_to_pages_of_later_ones_rendered_once(
    session: Session, editor: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    _write(src, "a", "Alpha", "See [[Zulu]] and [[m]].")
    _write(src, "m", "Mike", "Back to [[Alpha]].")
    _write(src, "z", "Zulu", "The end.")
    rendered: list[str] = []
    real = transfer._render

    def counting(resolve: Any, slug: str, body: str) -> Any:
        rendered.append(slug)
        return real(resolve, slug, body)

    monkeypatch.setattr(transfer, "_render", counting)
    transfer.import_directory(session=session, directory=src, author=editor, batch_size=1)
    assert _link("z", "Zulu") in _html(session, "a")
    assert _link("m", "m") in _html(session, "a")
    assert _link("a", "Alpha") in _html(session, "m")
    assert rendered == ["a", "m", "z"]  # links resolve against every file: no render again
    links = session.exec(
        select(Page.slug, PageLink.target_slug).join(Page, col(Page.id) == PageLink.source_id)
    ).all()
    assert sorted(links) == [("a", "m"), ("a", "z"), ("m", "a")]


def test_a_page_outside_the_import_linking_to_an_imported_one_is_rendered_again(
    session: Session, editor: User, tmp_path: Path
) -> None:
    service.save_page(
        session=session, slug="home", edit=PageEdit(title="Home", body="[[Zulu]]"), author=editor
    )
    assert "wikilink missing" in _html(session, "home")
    src = tmp_path / "src"
    _write(src, "a", "Alpha", "See [[Zulu]].")
    _write(src, "z", "Zulu", "The end.")
    transfer.import_directory(session=session, directory=src, author=editor, batch_size=1)
    assert _link("z", "Zulu") in _html(session, "home")
    assert _link("z", "Zulu") in _html(session, "a")


def test_links_to_a_file_that_failed_to_import_are_rendered_as_missing(
    session: Session, editor: User, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    _write(src, "a", "Alpha", "See [[Zulu]] and [[b]].")
    _write(src, "b", "Bravo", "Too large to save: " + "x" * 2_000_000)
    _write(src, "z", "Zulu", "See [[a]].")
    _write(src, "zz", "Zulu", "Same title, fails: " + "x" * 2_000_000)
    report = transfer.import_directory(session=session, directory=src, author=editor, batch_size=1)
    assert report.created == ["a", "z"]
    assert sorted(report.failed) == ["b", "zz"]
    html = _html(session, "a")
    assert '<a class="wikilink missing" href="/edit/b?title=b"' in html
    assert _link("z", "Zulu") in html


def test_rendering_in_worker_processes_gives_the_same_pages(
    session: Session, editor: User, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    for i in range(6):
        body = f"# P{i}\n\n## Two\n\n[[Page {(i + 1) % 7}]] [[p{i - 1}]]"
        _write(src, f"p{i}", f"Page {i}", body)
    report = transfer.import_directory(
        session=session, directory=src, author=editor, batch_size=2, workers=2
    )
    assert len(report.created) == 6
    in_workers = {slug: _html(session, slug) for slug in report.created}
    for page in session.exec(select(Page)).all():
        rev = service.current_revision(session=session, page=page)
        expected = service.render_revision(session=session, revision=rev)
        session.expunge(expected)
        cached = session.get(RenderedRevision, rev.id)
        assert cached is not None
        session.delete(cached)
        session.flush()
        fresh = service.render_revision(session=session, revision=rev)
        assert (fresh.html, fresh.toc) == (in_workers[page.slug], expected.toc)
    session.rollback()


def test_a_failing_page_leaves_nothing_and_the_batch_goes_on(
    session: Session, editor: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    _write(src, "a", "Alpha", "See [[b]].")
    _write(src, "b", "Bravo", "Fails after its page and revision were written.")
    _write(src, "c", "Charlie", "See [[a]].")
    real = notifications.page_edited

    def failing(**kw: object) -> None:
        if kw["slug"] == "b":
            raise Invalid("boom")
        real(**kw)  # type: ignore[arg-type]

    monkeypatch.setattr(notifications, "page_edited", failing)
    report = transfer.import_directory(session=session, directory=src, author=editor)
    assert report.created == ["a", "c"]
    assert report.failed == {"b": "boom"}
    slugs = session.exec(select(Page.slug)).all()
    assert sorted(slugs) == ["a", "c"]
    assert len(session.exec(select(Revision)).all()) == 2
    outbox = session.exec(select(OutboxEvent).where(OutboxEvent.kind == "page")).all()
    assert len(outbox) == 2
    assert "wikilink missing" in _html(session, "a")  # b does not exist
    assert _link("a", "a") in _html(session, "c")


def test_a_failing_batch_leaves_none_of_its_pages(
    session: Session, editor: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    for slug in ("a", "b", "c", "d"):
        _write(src, slug, slug.upper(), f"Page {slug}.")
    real = transfer._render

    def failing(resolve: Any, slug: str, body: str) -> Any:
        if slug == "d":
            raise ValueError("render failed")
        return real(resolve, slug, body)

    monkeypatch.setattr(transfer, "_render", failing)
    report = transfer.import_directory(session=session, directory=src, author=editor, batch_size=2)
    assert report.created == ["a", "b"]
    assert sorted(report.failed) == ["c", "d"]
    assert sorted(session.exec(select(Page.slug)).all()) == ["a", "b"]
    assert len(session.exec(select(Revision)).all()) == 2
    assert len(session.exec(select(RenderedRevision)).all()) == 2


def test_imported_links_into_a_restricted_subtree_tell_nothing(
    session: Session, tmp_path: Path
) -> None:
    root = make_user(session, username="root", role=Role.admin)
    manage.create_restriction(session=session, user=root, data=RestrictionCreate(root="hr"))
    src = tmp_path / "src"
    _write(src, "home", "Home", "See [[hr/salaries]], [[Salary bands]] and [[hr/nothing-here]].")
    _write(src, "hr/salaries", "Salary bands", "Secret. [[Home]]")
    report = transfer.import_directory(session=session, directory=src, author=root)
    assert report.created == ["home", "hr/salaries"]
    html = _html(session, "home")
    assert _link("hr/salaries", "hr/salaries") in html
    assert _link("hr/nothing-here", "hr/nothing-here") in html  # looks the same, missing or not
    assert 'href="/edit/salary-bands' in html  # a title does not resolve into the subtree
    assert _link("home", "Home") in _html(session, "hr/salaries")


def test_an_import_that_stops_leaves_no_links_to_the_pages_it_did_not_reach(
    session: Session, editor: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    _write(src, "a", "Alpha", "See [[b]] and [[Zulu]].")
    _write(src, "b", "Bravo", "Back to [[a]].")
    _write(src, "z", "Zulu", "The end.")
    real = transfer._render

    def crashing(resolve: Any, slug: str, body: str) -> Any:
        if slug == "b":
            raise RuntimeError("worker lost")
        return real(resolve, slug, body)

    monkeypatch.setattr(transfer, "_render", crashing)
    with pytest.raises(RuntimeError, match="worker lost"):
        transfer.import_directory(session=session, directory=src, author=editor, batch_size=1)
    assert sorted(session.exec(select(Page.slug)).all()) == ["a"]
    html = _html(session, "a")
    assert '<a class="wikilink missing" href="/edit/b?title=b"' in html
    assert '<a class="wikilink missing" href="/edit/zulu?title=Zulu"' in html
