"""Pages service: saving, merging, conflicts, revert, move, delete, drafts, links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.core import db
from app.core.config import Settings
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge, Unauthorized
from app.pages import history, rendering, service, structure
from app.pages.models import Page, Revision, RevisionKind
from app.pages.schemas import DraftSave, PageEdit
from tests.factories import make_page, make_user
from tests.restricted import restrict

BODY = "## Intro\n\nline one\n\n## Middle\n\nline two\n\n## End\n\nline three\n"


def _edit(base: int, body: str, title: str = "Requirement to Value", **kw: object) -> PageEdit:
    return PageEdit(base=base, title=title, body=body, **kw)


def test_create_records_first_revision_with_author(session: Session, editor: User) -> None:
    page = make_page(session, body=BODY, author=editor, tags=["Core", "value", "core"])
    revs = session.exec(select(Revision).where(Revision.page_id == page.id)).all()
    assert [r.number for r in revs] == [1]
    assert revs[0].kind is RevisionKind.create
    assert revs[0].author_id == editor.id
    assert page.tags == ["core", "value"]


def test_save_on_current_base_adds_revision(session: Session, editor: User) -> None:
    page = make_page(session, body=BODY, author=editor)
    result = service.save_page(
        session=session,
        slug=page.slug,
        edit=_edit(1, BODY + "\nmore\n", summary="add"),
        author=editor,
    )
    assert result.revision is not None
    assert result.revision.number == 2
    assert not result.merged
    assert service.current_revision(session=session, page=page).summary == "add"


def test_saving_identical_text_creates_no_revision(session: Session, editor: User) -> None:
    page = make_page(session, body=BODY, author=editor)
    result = service.save_page(session=session, slug=page.slug, edit=_edit(1, BODY), author=editor)
    assert result.revision is None
    assert page.head == 1


def test_non_overlapping_concurrent_edits_merge(session: Session, editor: User) -> None:
    bob = make_user(session, username="bob")
    page = make_page(session, body=BODY, author=editor)
    service.save_page(
        session=session,
        slug=page.slug,
        edit=_edit(1, BODY.replace("line one", "line ONE by bob")),
        author=bob,
    )
    result = service.save_page(
        session=session,
        slug=page.slug,
        edit=_edit(1, BODY.replace("line three", "line THREE by alice")),
        author=editor,
    )
    assert result.merged
    text = service.current_revision(session=session, page=page).body
    assert "line ONE by bob" in text
    assert "line THREE by alice" in text
    assert page.head == 3


def test_overlapping_edit_raises_conflict_and_writes_nothing(
    session: Session, editor: User
) -> None:
    bob = make_user(session, username="bob")
    page = make_page(session, body=BODY, author=editor)
    service.save_page(
        session=session,
        slug=page.slug,
        edit=_edit(1, BODY.replace("line two", "bob's two")),
        author=bob,
    )
    with pytest.raises(service.EditConflict) as caught:
        service.save_page(
            session=session,
            slug=page.slug,
            edit=_edit(1, BODY.replace("line two", "alice's two")),
            author=editor,
        )
    detail = caught.value.conflict
    assert detail.current == 2
    assert detail.base == 1
    assert "bob's two" in detail.their_body
    assert "alice's two" in detail.your_body
    assert "<<<<<<<" in detail.proposal
    assert "alice's two" in detail.proposal
    session.expire_all()
    assert service.find_page(session=session, slug=page.slug).head == 2  # type: ignore[union-attr]
    # the losing text is kept as a server-side draft
    draft = service.find_draft(session=session, slug=page.slug, user=editor)
    assert draft is not None
    assert "alice's two" in draft.body
    assert draft.base == 1


def test_conflict_markers_cannot_be_saved(session: Session, editor: User) -> None:
    page = make_page(session, body=BODY, author=editor)
    marked = "<<<<<<< theirs\na\n=======\nb\n>>>>>>> yours\n"
    with pytest.raises(Invalid, match="conflict markers"):
        service.save_page(session=session, slug=page.slug, edit=_edit(1, marked), author=editor)


def test_concurrent_create_of_same_page_conflicts(session: Session, editor: User) -> None:
    make_page(session, slug="ideas", title="Ideas", body="first\n", author=editor)
    with pytest.raises(service.EditConflict):
        service.save_page(
            session=session, slug="ideas", edit=_edit(0, "second\n", title="Ideas"), author=editor
        )


def test_invalid_input_is_refused(session: Session, editor: User) -> None:
    with pytest.raises(Invalid, match="not a valid page address"):
        make_page(session, slug="Bad Slug!", author=editor)
    with pytest.raises(Invalid, match="title"):
        make_page(session, slug="ok", title="  ", author=editor)
    session.info["settings"] = session.info["settings"].model_copy(update={"max_body_bytes": 10})
    with pytest.raises(TooLarge):
        make_page(session, slug="big", body="x" * 11, author=editor)
    with pytest.raises(Invalid):
        make_page(session, slug="a/revisions", author=editor)
    assert structure.list_pages(session=session, user=editor) == []


def test_base_from_the_future_is_invalid(session: Session, editor: User) -> None:
    page = make_page(session, body=BODY, author=editor)
    with pytest.raises(Invalid, match="does not exist"):
        service.save_page(session=session, slug=page.slug, edit=_edit(7, "x"), author=editor)


def test_readers_and_visitors_cannot_edit(session: Session, editor: User) -> None:
    reader = make_user(session, username="rita", role=Role.reader)
    page = make_page(session, body=BODY, author=editor)
    with pytest.raises(Forbidden):
        service.save_page(session=session, slug=page.slug, edit=_edit(1, "x"), author=reader)
    with pytest.raises(Unauthorized):
        service.save_page(session=session, slug=page.slug, edit=_edit(1, "x"), author=None)
    with pytest.raises(Forbidden):
        service.delete_page(session=session, slug=page.slug, author=reader)


def test_revert_creates_new_revision_with_old_content(session: Session, editor: User) -> None:
    page = make_page(session, body=BODY, author=editor)
    service.save_page(session=session, slug=page.slug, edit=_edit(1, "changed\n"), author=editor)
    result = service.revert_page(session=session, slug=page.slug, number=1, author=editor)
    assert result.revision is not None
    assert result.revision.number == 3
    assert result.revision.kind is RevisionKind.revert
    assert result.revision.body == BODY
    with pytest.raises(NotFound):
        service.revert_page(session=session, slug=page.slug, number=99, author=editor)


def test_move_keeps_history_and_redirects(session: Session, editor: User) -> None:
    page = make_page(session, slug="drafts/r2v", body=BODY, author=editor)
    make_page(session, slug="drafts/r2v/detail", title="Detail", body="x", author=editor)
    make_page(session, slug="home", title="Home", body="See [[drafts/r2v|R2V]].", author=editor)
    service.move_page(
        session=session,
        slug="drafts/r2v",
        new_slug="core-processes/r2v",
        author=editor,
        include_children=True,
    )
    assert page.slug == "core-processes/r2v"
    assert service.find_redirect(session=session, slug="drafts/r2v") == "core-processes/r2v"
    assert service.find_page(session=session, slug="core-processes/r2v/detail") is not None
    assert service.current_revision(session=session, page=page).kind is RevisionKind.move
    backlinks = structure.backlinks(session=session, slug="core-processes/r2v", user=editor)
    assert [p.slug for p in backlinks] == ["home"]
    assert structure.wanted_pages(session=session, user=editor) == []
    with pytest.raises(Conflict):
        service.move_page(
            session=session, slug="home", new_slug="core-processes/r2v", author=editor
        )


def test_delete_is_soft_recorded_and_undoable(session: Session, editor: User) -> None:
    page = make_page(session, body=BODY, author=editor)
    service.delete_page(session=session, slug=page.slug, author=editor)
    assert service.find_page(session=session, slug=page.slug) is None
    kinds = [
        r.kind for r in history.list_revisions(session=session, slug=page.slug, user=editor)[1]
    ]
    assert kinds == [RevisionKind.delete, RevisionKind.create]
    service.undelete_page(session=session, slug=page.slug, author=editor)
    restored = service.find_page(session=session, slug=page.slug)
    assert restored is not None
    assert restored.head == 3
    assert service.current_revision(session=session, page=restored).body == BODY


def test_links_backlinks_orphans_and_wanted(session: Session, editor: User) -> None:
    make_page(
        session,
        slug="home",
        title="Home",
        body="[[Order to Cash]] and [[Missing Thing]] and [[roles/cio|the CIO]]",
        author=editor,
    )
    make_page(
        session, slug="core-processes/order-to-cash", title="Order to Cash", body="x", author=editor
    )
    make_page(session, slug="roles/cmo", title="CMO", body="alone", author=editor)
    assert [
        p.slug
        for p in structure.backlinks(
            session=session, slug="core-processes/order-to-cash", user=editor
        )
    ] == ["home"]
    wanted = {w.slug for w in structure.wanted_pages(session=session, user=editor)}
    assert wanted == {"missing-thing", "roles/cio"}
    assert [p.slug for p in structure.orphaned_pages(session=session, user=editor)] == ["roles/cmo"]
    # the page appearing later turns its links from "missing" into real links
    home = service.find_page(session=session, slug="home")
    assert home is not None
    html = service.render_revision(
        session=session, revision=service.current_revision(session=session, page=home)
    ).html
    assert 'href="/wiki/core-processes/order-to-cash"' in html
    assert "missing" in html.split("the CIO")[0].rsplit("<a", 1)[1]
    make_page(session, slug="roles/cio", title="CIO", body="y", author=editor)
    html = service.render_revision(
        session=session, revision=service.current_revision(session=session, page=home)
    ).html
    assert "missing" not in html.split("the CIO")[0].rsplit("<a", 1)[1]
    assert {w.slug for w in structure.wanted_pages(session=session, user=editor)} == {
        "missing-thing"
    }


def test_tree_and_breadcrumbs(session: Session, editor: User) -> None:
    make_page(session, slug="home", title="Home", body="x", author=editor)
    make_page(
        session, slug="core-processes/order-to-cash", title="Order to Cash", body="x", author=editor
    )
    top = structure.tree_children(session=session, prefix="", user=editor)
    assert [(n.slug, n.exists, n.children) for n in top] == [
        ("home", True, 0),
        ("core-processes", False, 1),
    ]
    crumbs = structure.breadcrumbs(session=session, slug="core-processes/order-to-cash")
    assert [(c.slug, c.title, c.exists) for c in crumbs] == [
        ("core-processes", "Core processes", False)
    ]


def test_drafts_round_trip(session: Session, editor: User) -> None:
    page = make_page(session, body=BODY, author=editor)
    service.save_draft(
        session=session,
        slug=page.slug,
        data=DraftSave(base=1, title="T", body="draft text"),
        user=editor,
    )
    service.save_draft(
        session=session,
        slug=page.slug,
        data=DraftSave(base=1, title="T", body="draft text 2"),
        user=editor,
    )
    draft = service.find_draft(session=session, slug=page.slug, user=editor)
    assert draft is not None
    assert draft.body == "draft text 2"
    service.save_page(session=session, slug=page.slug, edit=_edit(1, "saved\n"), author=editor)
    assert service.find_draft(session=session, slug=page.slug, user=editor) is None


def test_recent_changes_filters(session: Session, editor: User) -> None:
    bob = make_user(session, username="bob")
    make_page(session, slug="core-processes/a", title="A", body="x", author=editor)
    make_page(session, slug="roles/b", title="B", body="x", author=bob)
    all_changes = history.recent_changes(session=session, user=None)
    assert [c.page_slug for c in all_changes] == ["roles/b", "core-processes/a"]
    by_bob = history.recent_changes(session=session, user=None, author="bob")
    assert [c.page_slug for c in by_bob] == ["roles/b"]
    under = history.recent_changes(session=session, user=None, prefix="core-processes")
    assert [c.page_slug for c in under] == ["core-processes/a"]


def test_diff_between_revisions(session: Session, editor: User) -> None:
    page = make_page(session, body="alpha\nbeta\n", author=editor)
    service.save_page(
        session=session, slug=page.slug, edit=_edit(1, "alpha\ngamma\n"), author=editor
    )
    _, old, new, diff = history.diff_revisions(
        session=session, slug=page.slug, old=2, new=1, user=None
    )
    assert (old.number, new.number, diff.added, diff.removed) == (1, 2, 1, 1)


def test_saves_can_be_steps_of_one_larger_transaction(session: Session, editor: User) -> None:
    make_page(session, slug="a", title="A", body="one\n", author=editor)
    make_page(session, slug="b", title="B", body="one\n", author=editor)
    from app.core.db import begin_write

    begin_write(session)
    service.save_page(
        session=session, slug="a", edit=_edit(1, "two\n", "A"), author=editor, commit=False
    )
    service.save_page(
        session=session, slug="b", edit=_edit(1, "two\n", "B"), author=editor, commit=False
    )
    session.rollback()  # the larger use case failed: neither step is kept
    assert [service.find_page(session=session, slug=s).head for s in "ab"] == [1, 1]  # type: ignore[union-attr]

    begin_write(session)
    service.save_page(
        session=session, slug="a", edit=_edit(1, "two\n", "A"), author=editor, commit=False
    )
    with pytest.raises(Conflict):
        # a conflict in a later step rolls back the earlier ones too, and keeps no draft
        service.save_page(
            session=session, slug="a", edit=_edit(1, "three\n", "A"), author=editor, commit=False
        )
    assert service.find_page(session=session, slug="a").head == 1  # type: ignore[union-attr]
    assert service.find_draft(session=session, slug="a", user=editor) is None


def _link_class(html: str, text: str) -> str:
    return html.split(text)[0].rsplit("<a", 1)[1]


def _stored_html(session: Session, page: Page) -> str:
    revision = service.current_revision(session=session, page=page)
    return service.render_revision(session=session, revision=revision).html


def _meanwhile(
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
    settings: Settings,
    change: Callable[[Session], object],
) -> None:
    """Make ``change`` (committed in another session) between the next save's early render
    and its write transaction."""
    early = service._render_early

    def then_change(s: Session, slug: str, body: str) -> service.EarlyRender | None:
        out = early(s, slug, body)
        monkeypatch.setattr(service, "_render_early", early)  # once: the change may save too
        with db.open_session(engine, settings) as other:
            change(other)
            other.commit()
        return out

    monkeypatch.setattr(service, "_render_early", then_change)


def test_a_save_is_rendered_before_its_write_transaction(
    session: Session, editor: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_page(session, slug="roles/cio", title="CIO", body="y", author=editor)
    page = make_page(session, slug="home", title="Home", body="first", author=editor)
    renders: list[bool] = []
    render = rendering.render

    def counting(body: str, **kw: Any) -> rendering.Rendered:
        renders.append(db.is_writing(session))
        return render(body, **kw)

    monkeypatch.setattr(rendering, "render", counting)
    service.save_page(
        session=session,
        slug="home",
        edit=_edit(page.head, "See [[CIO|the CIO]] and [[Nobody]].", title="Home"),
        author=editor,
    )
    # one render, made while no write lock was held, and it is the one stored
    assert renders == [False]
    html = _stored_html(session, page)
    assert "missing" not in _link_class(html, "the CIO")
    assert "missing" in _link_class(html, "Nobody")


def test_an_early_render_is_redone_when_a_link_target_appears_meanwhile(
    session: Session,
    engine: Engine,
    settings: Settings,
    editor: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = make_page(session, slug="home", title="Home", body="first", author=editor)
    _meanwhile(
        monkeypatch,
        engine,
        settings,
        lambda other: make_page(other, slug="roles/cio", title="CIO", body="y", author=editor),
    )
    service.save_page(
        session=session,
        slug="home",
        edit=_edit(page.head, "See [[CIO|the CIO]].", title="Home"),
        author=editor,
    )
    html = _stored_html(session, page)
    assert 'href="/wiki/roles/cio"' in html
    assert "missing" not in _link_class(html, "the CIO")


def test_an_early_render_is_not_kept_for_a_merged_text(session: Session, editor: User) -> None:
    page = make_page(session, slug="home", title="Home", body=BODY, author=editor)
    base = page.head
    service.save_page(
        session=session,
        slug="home",
        edit=_edit(base, BODY.replace("line one", "line ONE"), title="Home"),
        author=editor,
    )
    result = service.save_page(
        session=session,
        slug="home",
        edit=_edit(base, BODY.replace("line three", "line THREE"), title="Home"),
        author=editor,
    )
    assert result.merged
    html = _stored_html(session, page)
    assert "line ONE" in html
    assert "line THREE" in html


def test_an_early_render_is_redone_when_its_link_target_is_restricted_meanwhile(
    session: Session,
    engine: Engine,
    settings: Settings,
    editor: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_page(session, slug="board/secret-plan", title="Secret Plan", body="y", author=editor)
    page = make_page(session, slug="home", title="Home", body="first", author=editor)
    _meanwhile(monkeypatch, engine, settings, lambda other: restrict(other, "board"))
    service.save_page(
        session=session,
        slug="home",
        edit=_edit(page.head, "See [[Secret Plan]].", title="Home"),
        author=editor,
    )
    html = _stored_html(session, page)
    # rendered for everyone: a title that is now restricted must not resolve to its page
    assert "board/secret-plan" not in html
