"""Pages read use cases about structure: tree, breadcrumbs, backlinks, orphans, wanted pages."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, String, case, func, literal_column, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from app.access import service as access
from app.accounts import service as accounts
from app.accounts.models import User
from app.core.db import is_writing
from app.pages.models import Page, PageLink, PageRedirect, Revision
from app.pages.schemas import TreeNode, WantedPage

# Pages nobody is expected to link to.
_NOT_ORPHANS = ("home",)
_TEMPLATE_PREFIX = "templates/"


def humanize(segment: str) -> str:
    """'core-processes' -> 'Core processes', for tree levels that have no page of their own."""
    text = segment.replace("-", " ").strip()
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Crumb:
    slug: str
    title: str
    exists: bool


def breadcrumbs(*, session: Session, slug: str, user: User | None = None) -> list[Crumb]:
    """The ancestors of ``slug``, root first (levels without a page shown by name).

    Ancestors hidden from ``user`` (None: as an anonymous visitor sees them) are shown by
    name, as if they had no page.
    """
    parts = slug.split("/")
    ancestors = ["/".join(parts[:i]) for i in range(1, len(parts))]
    if not ancestors:
        return []
    view = access.access_for(session=session, user=user)
    titles = dict(
        session.exec(
            select(Page.slug, Page.title).where(
                col(Page.slug).in_(ancestors),
                col(Page.deleted_at).is_(None),
                view.readable(col(Page.slug)),
            )
        ).all()
    )
    return [
        Crumb(slug=a, title=titles.get(a, humanize(a.rsplit("/", 1)[-1])), exists=a in titles)
        for a in ancestors
    ]


class _strpos(FunctionElement[int]):
    """1-based position of a substring, 0 when absent (SQLite ``instr``, PG ``strpos``)."""

    type = Integer()
    inherit_cache = True
    name = "strpos"


@compiles(_strpos)
def _strpos_default(element: _strpos, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


@compiles(_strpos, "sqlite")
def _strpos_sqlite(element: _strpos, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


def _int(value: int) -> ColumnElement[int]:
    # inlined, not bound: PostgreSQL matches the selected and the grouped expression only when
    # they are the same text, and each bound parameter would get its own placeholder
    return literal_column(str(int(value)), Integer)


_SLASH = literal_column("'/'", String)


def _first_segment(text: ColumnElement[str]) -> tuple[ColumnElement[str], ColumnElement[int]]:
    """``text`` up to its first '/' (all of it when there is none), and that '/''s position."""
    cut = _strpos(text, _SLASH)
    return case((cut == _int(0), text), else_=func.substr(text, _int(1), cut - _int(1))), cut


# Tree levels per process, keyed by the database, the level and the subtrees hidden from the
# reader, stored with the tree's version in the database. Every change to the tree (create, a
# new title, move, delete, undelete, import) adds a revision and stamps the page's updated_at,
# and revisions are never deleted: the newest of both names the tree's state. Reading them per
# request (two index lookups) keeps every process and server correct with no message between them.
_TreeKey = tuple[str, str, tuple[str, ...]]
_tree_cache: OrderedDict[_TreeKey, tuple[tuple[object, ...], list[TreeNode]]] = OrderedDict()
_TREE_CACHE_SIZE = 256
_tree_lock = threading.Lock()


def _tree_version(session: Session) -> tuple[object, ...]:
    """The tree's version: the newest revision id and page change."""
    row = session.exec(
        select(
            select(func.max(Revision.id)).scalar_subquery(),
            select(func.max(Page.updated_at)).scalar_subquery(),
        )
    ).one()
    return tuple(row)


def tree_children(*, session: Session, prefix: str, user: User | None) -> list[TreeNode]:
    """The direct children of a tree level ("" for the top), with how many children each has."""
    accounts.require(user, "page.read")
    prefix = prefix.strip("/")
    view = access.access_for(session=session, user=user)
    if is_writing(session):
        # uncommitted changes may yet roll back (and SQLite then reuses their revision ids)
        return _tree_level(session=session, prefix=prefix, view=view)
    key = (str(session.get_bind().engine.url), prefix, tuple(sorted(view.hidden_roots)))
    version = _tree_version(session)
    with _tree_lock:
        found = _tree_cache.get(key)
        if found is not None and found[0] == version:
            _tree_cache.move_to_end(key)
            return list(found[1])
    nodes = _tree_level(session=session, prefix=prefix, view=view)
    with _tree_lock:
        _tree_cache[key] = (version, nodes)
        _tree_cache.move_to_end(key)
        while len(_tree_cache) > _TREE_CACHE_SIZE:
            _tree_cache.popitem(last=False)
    return list(nodes)


def _tree_level(*, session: Session, prefix: str, view: access.Access) -> list[TreeNode]:
    # grouped in SQL by the next segment of the slug, so a view reads one row per shown node
    # rather than every page below the level (the top level is the whole wiki)
    slug = col(Page.slug)
    rest = cast(ColumnElement[str], func.substr(slug, _int(len(prefix) + 2)) if prefix else slug)
    child, cut = _first_segment(rest)
    grandchild, _ = _first_segment(func.substr(rest, cut + _int(1)))
    is_child = cut == _int(0)
    stmt = (
        select(
            child.label("child"),
            func.max(case((is_child, col(Page.title)))),
            func.count(case((~is_child, grandchild)).distinct()),
        )
        .where(col(Page.deleted_at).is_(None), view.readable(slug))
        .group_by(child)
    )
    if prefix:
        stmt = stmt.where(slug.startswith(prefix + "/", autoescape=True))
    base = prefix + "/" if prefix else ""
    out = [
        TreeNode(
            slug=base + segment,
            title=title if title is not None else humanize(segment),
            exists=title is not None,
            children=count,
        )
        for segment, title, count in session.exec(stmt)
    ]
    # sections with subpages first, then pages, each alphabetically; home always leads
    return sorted(out, key=lambda n: (n.slug != "home", n.children == 0, n.title.lower()))


def backlinks(*, session: Session, slug: str, user: User | None) -> list[Page]:
    """Pages whose current revision links here (also through old, redirected addresses).

    Only pages ``user`` may read, and nothing at all about a page hidden from them.
    """
    accounts.require(user, "page.read")
    view = access.access_for(session=session, user=user)
    if not view.can_read(slug):
        return []
    # one statement: the page's old addresses are a subquery, not two lookups first
    old_slugs = (
        select(PageRedirect.old_slug)
        .join(Page, col(Page.id) == PageRedirect.page_id)
        .where(Page.slug == slug)
    )
    linking = select(PageLink.source_id).where(
        or_(col(PageLink.target_slug) == slug, col(PageLink.target_slug).in_(old_slugs))
    )
    return list(
        session.exec(
            select(Page)
            .where(
                col(Page.id).in_(linking),
                col(Page.deleted_at).is_(None),
                view.readable(col(Page.slug)),
            )
            .order_by(col(Page.title))
        )
    )


def orphaned_pages(*, session: Session, user: User | None) -> list[Page]:
    """Pages no other page links to (the start page and templates excepted).

    Among the pages ``user`` may read, linked from pages they may read.
    """
    accounts.require(user, "page.read")
    view = access.access_for(session=session, user=user)
    linked = (
        select(PageLink.target_slug)
        .join(Page, col(Page.id) == PageLink.source_id)
        .where(col(Page.deleted_at).is_(None), view.readable(col(Page.slug)))
    )
    redirected_linked = select(PageRedirect.page_id).where(col(PageRedirect.old_slug).in_(linked))
    return list(
        session.exec(
            select(Page)
            .where(
                col(Page.deleted_at).is_(None),
                col(Page.slug).not_in(linked),
                col(Page.id).not_in(redirected_linked),
                col(Page.slug).not_in(_NOT_ORPHANS),
                ~col(Page.slug).startswith(_TEMPLATE_PREFIX),
                view.readable(col(Page.slug)),
            )
            .order_by(col(Page.slug))
        )
    )


def wanted_pages(*, session: Session, user: User | None) -> list[WantedPage]:
    """Addresses that pages link to but where no page exists, most wanted first.

    Counting links from pages ``user`` may read, to addresses outside subtrees hidden from them.
    """
    accounts.require(user, "page.read")
    view = access.access_for(session=session, user=user)
    existing = select(Page.slug).where(col(Page.deleted_at).is_(None))
    redirects = select(PageRedirect.old_slug)
    rows = session.exec(
        select(PageLink.target_slug, func.count())
        .join(Page, col(Page.id) == PageLink.source_id)
        .where(
            col(Page.deleted_at).is_(None),
            col(PageLink.target_slug).not_in(existing),
            col(PageLink.target_slug).not_in(redirects),
            view.readable(col(Page.slug)),
            view.readable(col(PageLink.target_slug)),
        )
        .group_by(col(PageLink.target_slug))
        .order_by(func.count().desc(), col(PageLink.target_slug))
    ).all()
    return [WantedPage(slug=slug, links=n) for slug, n in rows]


def list_templates(*, session: Session, user: User | None) -> list[Page]:
    """Pages under templates/ that new pages can start from."""
    accounts.require(user, "page.read")
    view = access.access_for(session=session, user=user)
    return list(
        session.exec(
            select(Page)
            .where(
                col(Page.slug).startswith(_TEMPLATE_PREFIX),
                col(Page.deleted_at).is_(None),
                view.readable(col(Page.slug)),
            )
            .order_by(col(Page.title))
        )
    )


def template_body(*, session: Session, slug: str, user: User | None) -> str:
    """The current text of a template page ("" when there is no such template)."""
    accounts.require(user, "page.read")
    if not slug.startswith(_TEMPLATE_PREFIX):
        return ""
    if not access.access_for(session=session, user=user).can_read(slug):
        return ""
    page = session.exec(
        select(Page).where(Page.slug == slug, col(Page.deleted_at).is_(None))
    ).first()
    if page is None:
        return ""
    rev = session.exec(
        select(Revision).where(Revision.page_id == page.id, Revision.number == page.head)
    ).first()
    return rev.body if rev else ""


def list_pages(*, session: Session, user: User | None, include_deleted: bool = False) -> list[Page]:
    """Every page ``user`` may read, by slug."""
    accounts.require(user, "page.read")
    view = access.access_for(session=session, user=user)
    stmt = select(Page).where(view.readable(col(Page.slug))).order_by(col(Page.slug))
    if not include_deleted:
        stmt = stmt.where(col(Page.deleted_at).is_(None))
    return list(session.exec(stmt))
