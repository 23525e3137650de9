"""The page tree is grouped in SQL: each level matches a plain reading of every slug."""

from __future__ import annotations

from sqlmodel import Session

from app.accounts.models import User
from app.core.config import Settings
from app.core.db import make_engine, open_session
from app.pages import service, structure
from app.pages.schemas import TreeNode
from tests.factories import make_page

SLUGS = [
    "home",
    "a",
    "a/b",
    "a/b/c",
    "a/b/d/e",
    "a/x",
    "ab/y",
    "q-r/s",
    "deep/one/two/three",
    "deep/one/two/four",
    "deep/other",
    "gone/page",
]


def _expected(slugs: list[str], prefix: str) -> list[tuple[str, bool, int]]:
    """Direct children of ``prefix`` from the slugs alone: (slug, has a page, children)."""
    depth = prefix.count("/") + 1 if prefix else 0
    nodes: dict[str, tuple[bool, set[str]]] = {}
    for slug in slugs:
        if prefix and not slug.startswith(prefix + "/"):
            continue
        parts = slug.split("/")
        child = "/".join(parts[: depth + 1])
        _, grand = nodes.setdefault(child, (False, set()))
        if slug == child:
            nodes[child] = (True, grand)
        else:
            grand.add(parts[depth + 1])
    return sorted((slug, exists, len(grand)) for slug, (exists, grand) in nodes.items())


def _level(session: Session, prefix: str, user: User) -> list[tuple[str, bool, int]]:
    nodes = structure.tree_children(session=session, prefix=prefix, user=user)
    return sorted((n.slug, n.exists, n.children) for n in nodes)


def test_each_level_matches_the_slugs(session: Session, editor: User) -> None:
    for slug in SLUGS:
        make_page(session, slug=slug, title=f"T {slug}", body="x", author=editor)
    service.delete_page(session=session, slug="gone/page", author=editor)
    live = [s for s in SLUGS if s != "gone/page"]
    prefixes = {""} | {"/".join(s.split("/")[:i]) for s in SLUGS for i in range(1, 4)}
    for prefix in sorted(prefixes):
        assert _level(session, prefix, editor) == _expected(live, prefix), prefix


def test_titles_and_order(session: Session, editor: User) -> None:
    make_page(session, slug="zeta", title="Zeta", body="x", author=editor)
    make_page(session, slug="home", title="Home", body="x", author=editor)
    make_page(session, slug="q-r", title="Section", body="x", author=editor)
    make_page(session, slug="q-r/s", title="S page", body="x", author=editor)
    make_page(session, slug="alpha/t", title="T page", body="x", author=editor)
    top = structure.tree_children(session=session, prefix="", user=editor)
    # home first, then sections with subpages, then pages, each by title
    assert top == [
        TreeNode(slug="home", title="Home", exists=True, children=0),
        TreeNode(slug="alpha", title="Alpha", exists=False, children=1),
        TreeNode(slug="q-r", title="Section", exists=True, children=1),
        TreeNode(slug="zeta", title="Zeta", exists=True, children=0),
    ]
    assert structure.tree_children(session=session, prefix="/q-r/", user=editor) == [
        TreeNode(slug="q-r/s", title="S page", exists=True, children=0)
    ]


def test_a_change_made_elsewhere_shows_at_once(
    settings: Settings, session: Session, editor: User
) -> None:
    """The cached levels follow the database, not this process: another engine (as another
    worker or server would) creates, moves and deletes, and each next view sees it."""
    make_page(session, slug="a/one", title="One", body="x", author=editor)
    session.commit()
    assert _level(session, "a", editor) == [("a/one", True, 0)]
    session.commit()
    other_engine = make_engine(settings)
    try:
        with open_session(other_engine, settings) as other:
            author = other.get(User, editor.id)
            make_page(other, slug="a/two", title="Two", body="x", author=author)
            assert _level(session, "a", editor) == [("a/one", True, 0), ("a/two", True, 0)]
            session.commit()
            service.move_page(session=other, slug="a/two", new_slug="a/one/two", author=author)
            assert _level(session, "a", editor) == [("a/one", True, 1)]
            session.commit()
            service.delete_page(session=other, slug="a/one/two", author=author)
            assert _level(session, "a", editor) == [("a/one", True, 0)]
    finally:
        other_engine.dispose()
