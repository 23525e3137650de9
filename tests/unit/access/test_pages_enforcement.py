"""The pages domain under restricted subtrees: hidden is 404, read-only is 403, lists filter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from app.access import manage
from app.access.models import AccessLevel
from app.access.schemas import GroupCreate, RestrictionCreate
from app.accounts.models import Role, User
from app.core.errors import Forbidden, NotFound
from app.core.time import utcnow
from app.pages import history, service, structure
from app.pages.models import Revision
from app.pages.schemas import DraftSave, PageEdit
from app.reviews import service as reviews
from app.reviews.schemas import StewardshipUpdate
from tests.factories import make_page, make_user


@pytest.fixture
def people(session: Session) -> dict[str, User]:
    """root (admin); alice outside; bob in HR (edit); carol in HR readers (read)."""
    root = make_user(session, username="root", role=Role.admin)
    out = {"root": root}
    for name in ("alice", "bob", "carol"):
        out[name] = make_user(session, username=name, role=Role.editor)
    hr = manage.create_group(session=session, user=root, data=GroupCreate(name="HR"))
    readers = manage.create_group(session=session, user=root, data=GroupCreate(name="HR readers"))
    manage.add_member(session=session, user=root, group_id=hr.id or 0, username="bob")
    manage.add_member(session=session, user=root, group_id=readers.id or 0, username="carol")
    make_page(session, slug="home", title="Home", body="See [[hr/salaries]] and [[Salary bands]].")
    make_page(session, slug="hr", title="People team", body="Index.")
    make_page(session, slug="hr/salaries", title="Salary bands", body="Secret. [[Home]]")
    made = manage.create_restriction(session=session, user=root, data=RestrictionCreate(root="hr"))
    for group, level in ((hr, AccessLevel.edit), (readers, AccessLevel.read)):
        manage.set_grant(
            session=session,
            user=root,
            restriction_id=made.id or 0,
            group_id=group.id or 0,
            level=level,
        )
    return out


def _edit(session: Session, slug: str, body: str = "Changed.\n") -> PageEdit:
    page = service.find_page(session=session, slug=slug)
    return PageEdit(base=page.head if page else 0, title="T", body=body)


def test_hidden_pages_are_not_found_for_reads(session: Session, people: dict[str, User]) -> None:
    alice = people["alice"]
    for who in (alice, None):
        with pytest.raises(NotFound, match="There is no page 'hr/salaries' yet"):
            service.get_page(session=session, slug="hr/salaries", user=who)
        with pytest.raises(NotFound):
            history.list_revisions(session=session, slug="hr/salaries", user=who)
        with pytest.raises(NotFound):
            history.diff_revisions(session=session, slug="hr/salaries", old=1, new=1, user=who)
    # the same words as a page that does not exist
    with pytest.raises(NotFound, match="There is no page 'hr/nothing' yet"):
        service.get_page(session=session, slug="hr/nothing", user=alice)
    assert service.find_readable_page(session=session, slug="hr", user=alice) is None
    for name in ("bob", "carol", "root"):
        assert service.get_page(session=session, slug="hr/salaries", user=people[name])


def test_writes_need_edit_access(session: Session, people: dict[str, User]) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    with pytest.raises(NotFound):
        service.save_page(
            session=session, slug="hr/salaries", edit=_edit(session, "hr/salaries"), author=alice
        )
    session.rollback()
    # creating below a restricted root is a write there too
    with pytest.raises(NotFound):
        service.save_page(
            session=session, slug="hr/new", edit=_edit(session, "hr/new"), author=alice
        )
    session.rollback()
    with pytest.raises(Forbidden, match="may read but not change"):
        service.save_page(
            session=session, slug="hr/salaries", edit=_edit(session, "hr/salaries"), author=carol
        )
    session.rollback()
    for call in (
        lambda: service.delete_page(session=session, slug="hr/salaries", author=carol),
        lambda: service.revert_page(session=session, slug="hr/salaries", number=1, author=carol),
        lambda: service.move_page(
            session=session, slug="hr/salaries", new_slug="open", author=carol
        ),
        lambda: service.save_draft(
            session=session, slug="hr/salaries", data=DraftSave(title="x", body="y"), user=carol
        ),
    ):
        with pytest.raises(Forbidden):
            call()
        session.rollback()
    with pytest.raises(NotFound):
        service.delete_page(session=session, slug="hr/salaries", author=alice)
    session.rollback()
    # moving into a subtree one may not change is refused, whatever is there
    make_page(session, slug="open-page", title="Open page")
    with pytest.raises(Forbidden, match="restricted area"):
        service.move_page(session=session, slug="open-page", new_slug="hr/open-page", author=carol)
    session.rollback()
    # moving a section with a hidden subtree below it names nothing and moves nothing
    make_page(session, slug="open-page/closed/minutes", title="Minutes")
    manage.create_restriction(
        session=session, user=people["root"], data=RestrictionCreate(root="open-page/closed")
    )
    with pytest.raises(Forbidden, match="Some pages below 'open-page'") as refused:
        service.move_page(
            session=session,
            slug="open-page",
            new_slug="elsewhere",
            author=bob,
            include_children=True,
        )
    assert "minutes" not in refused.value.detail
    session.rollback()
    result = service.save_page(
        session=session, slug="hr/salaries", edit=_edit(session, "hr/salaries"), author=bob
    )
    assert result.revision is not None
    moved = service.move_page(session=session, slug="open-page", new_slug="hr/moved", author=bob)
    assert moved.slug == "hr/moved"
    assert service.can_edit(session=session, slug="hr/salaries", user=bob)
    assert not service.can_edit(session=session, slug="hr/salaries", user=carol)
    assert service.find_draft(session=session, slug="hr/salaries", user=alice) is None


def test_lists_leave_hidden_pages_out(session: Session, people: dict[str, User]) -> None:
    alice, bob = people["alice"], people["bob"]
    top = {n.slug for n in structure.tree_children(session=session, prefix="", user=alice)}
    assert "hr" not in top
    assert "home" in top
    assert structure.tree_children(session=session, prefix="hr", user=alice) == []
    assert [n.slug for n in structure.tree_children(session=session, prefix="hr", user=bob)] == [
        "hr/salaries"
    ]
    assert structure.backlinks(session=session, slug="home", user=alice) == []
    assert [p.slug for p in structure.backlinks(session=session, slug="home", user=bob)] == [
        "hr/salaries"
    ]
    assert structure.backlinks(session=session, slug="hr/salaries", user=alice) == []
    all_pages = {p.slug for p in structure.list_pages(session=session, user=alice)}
    assert all_pages == {"home"}
    assert {p.slug for p in structure.list_pages(session=session, user=bob)} == {
        "home",
        "hr",
        "hr/salaries",
    }
    orphans = {p.slug for p in structure.orphaned_pages(session=session, user=alice)}
    assert not orphans & {"hr", "hr/salaries"}
    wanted = {w.slug for w in structure.wanted_pages(session=session, user=alice)}
    assert not any(s.startswith("hr") for s in wanted)
    changes = history.recent_changes(session=session, user=alice)
    assert {c.page_slug for c in changes} == {"home"}
    assert "hr/salaries" in {c.page_slug for c in history.recent_changes(session=session, user=bob)}
    crumbs = structure.breadcrumbs(session=session, slug="hr/salaries/x", user=alice)
    assert [c.title for c in crumbs] == ["Hr", "Salaries"]
    assert structure.breadcrumbs(session=session, slug="hr/salaries/x", user=bob)[0].title == (
        "People team"
    )


def test_recent_changes_filter_before_the_limit(session: Session, people: dict[str, User]) -> None:
    """A batch of recent changes is full even when the newest changes are all hidden."""
    root = people["root"]
    for i in range(6):
        make_page(session, slug=f"hr/page-{i}", title=f"Hidden {i}", author=root)
    changes = history.recent_changes(session=session, user=people["alice"], limit=1)
    assert [c.page_slug for c in changes] == ["home"]


def test_revisions_made_in_a_restricted_subtree_stay_hidden(
    session: Session, people: dict[str, User]
) -> None:
    """A page moved out of a restricted subtree does not show its restricted past in recent
    changes (the history of the page itself is its own)."""
    bob = people["bob"]
    service.move_page(session=session, slug="hr/salaries", new_slug="salaries", author=bob)
    changes = history.recent_changes(session=session, user=people["alice"])
    assert {(c.page_slug, c.slug) for c in changes if c.page_slug == "salaries"} == {
        ("salaries", "salaries")
    }
    assert session.get(Revision, 1) is not None


def test_links_into_restricted_subtrees_tell_nothing(
    session: Session, people: dict[str, User]
) -> None:
    home = service.get_page(session=session, slug="home", user=people["alice"])
    html = service.render_revision(
        session=session, revision=service.current_revision(session=session, page=home)
    ).html
    # by title: not resolved into the subtree (so neither its address nor existence shows)
    assert "/wiki/hr/salaries" in html  # the link written as an address stays one
    assert 'href="/edit/salary-bands' in html
    # an address inside the subtree looks the same whether or not a page is there
    rendered = service.render_preview(
        session=session, body="[[hr/salaries]] [[hr/nothing-here]]", user=people["alice"]
    )
    assert rendered.html.count('class="wikilink"') == 2
    assert "missing" not in rendered.html


def test_restricting_re_renders_the_pages_linking_in(
    session: Session, people: dict[str, User]
) -> None:
    root = people["root"]
    make_page(session, slug="board/minutes", title="Board minutes", body="Minutes.")
    make_page(session, slug="linker", title="Linker", body="[[Board minutes]]")

    def linker_html() -> str:
        page = service.get_page(session=session, slug="linker", user=root)
        rev = service.current_revision(session=session, page=page)
        return service.render_revision(session=session, revision=rev).html

    assert 'href="/wiki/board/minutes"' in linker_html()
    made = manage.create_restriction(
        session=session, user=root, data=RestrictionCreate(root="board")
    )
    assert "/wiki/board/minutes" not in linker_html()
    manage.delete_restriction(session=session, user=root, restriction_id=made.id or 0)
    assert 'href="/wiki/board/minutes"' in linker_html()


def test_due_reviews_of_hidden_pages_are_not_listed(
    session: Session, people: dict[str, User]
) -> None:
    from app.reviews import views

    root = people["root"]
    day = (utcnow() + timedelta(days=1)).date()
    for slug in ("home", "hr/salaries"):
        reviews.set_stewardship(
            session=session,
            slug=slug,
            data=StewardshipUpdate(owners=["root"], review_by=day),
            user=root,
        )
    assert [v.page.slug for v in views.list_due(session=session, user=people["alice"])] == ["home"]
    assert {v.page.slug for v in views.list_due(session=session, user=people["carol"])} == {
        "home",
        "hr/salaries",
    }
