"""A warm searcher sees every later change: updates, deletions and merged segments.

The Whoosh backend keeps the segments a searcher has open when the index changes and opens only
new ones; these tests search before each change so that path is the one taken.
"""

from __future__ import annotations

from sqlmodel import Session

from app.accounts import service as accounts
from app.pages import service as pages
from app.pages.schemas import PageEdit
from tests.factories import make_page
from tests.unit.search.conftest import Find, titles


def edit(session: Session, slug: str, title: str, body: str) -> None:
    page = pages.find_page(session=session, slug=slug)
    assert page is not None
    change = PageEdit(title=title, body=body, base=page.head)
    pages.save_page(session=session, slug=slug, edit=change, author=accounts.system_actor())


def test_an_updated_page_is_found_once_by_its_new_words_only(session: Session, find: Find) -> None:
    make_page(session, slug="atlas", title="Atlas", body="Cartography of the estate.\n")
    make_page(session, slug="globe", title="Globe", body="Spheres.\n")
    assert titles(find("cartography")) == ["Atlas"]  # the searcher is now warm
    edit(session, "atlas", "Atlas", "Topography of the estate.\n")
    assert find("cartography").total == 0
    assert titles(find("topography")) == ["Atlas"]
    assert titles(find("estate")) == ["Atlas"]  # once, not the old and the new version
    assert titles(find("spheres")) == ["Globe"]


def test_a_deleted_page_disappears_from_a_warm_searcher(session: Session, find: Find) -> None:
    make_page(session, slug="atlas", title="Atlas", body="Cartography.\n")
    make_page(session, slug="globe", title="Globe", body="Cartography too.\n")
    assert sorted(titles(find("cartography"))) == ["Atlas", "Globe"]
    pages.delete_page(session=session, slug="atlas", author=accounts.system_actor())
    assert titles(find("cartography")) == ["Globe"]


def test_many_small_commits_merge_without_losing_or_doubling(session: Session, find: Find) -> None:
    for i in range(25):  # one commit each: Whoosh merges the small segments as they pile up
        make_page(session, slug=f"p{i}", title=f"Page {i}", body=f"common tok{i:02d}end\n")
        assert find("common").total == i + 1
    for i in range(0, 25, 2):  # updates land in new segments and delete from merged ones
        edit(session, f"p{i}", f"Page {i}", f"common changed{i}\n")
        assert find("common").total == 25
    assert find("changed*").total == 13
    assert find("tok00end").total == 0
    assert find("tok01end").total == 1
