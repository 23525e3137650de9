"""Who may read and edit which page subtrees: the one place restricted subtrees are decided.

A restriction closes a subtree (its root page and every page below it) to everyone but the
groups it grants ``read`` or ``edit`` to; admins see everything. Where restrictions nest, a user
needs a grant under each. Every domain that shows page content asks an :class:`Access` for the
user — ``access_for(session=, user=)`` — and filters with it::

    view = access.access_for(session=session, user=user)
    view.require_read(page.slug)                      # one page: 404 when hidden
    query.where(view.readable(col(Page.slug)))        # lists: one SQL clause
    docs scope = access.search_scope(view.roots, slug)  # search documents

Hidden pages answer "not found", never "forbidden": their existence is not revealed either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, not_, or_, true
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from app.access.models import AccessLevel, Grant, Group, GroupMember, Restriction
from app.accounts.models import Role, User
from app.core.errors import Forbidden, NotFound

SCOPE_PREFIX = "subtree:"
_CACHE_KEY = "atrium_access"


def covers(root: str, slug: str) -> bool:
    """Whether the page at ``slug`` lies in the subtree rooted at ``root``."""
    return slug == root or slug.startswith(root + "/")


def search_scope(roots: Iterable[str], slug: str) -> str:
    """The search scope of a document about the page at ``slug``: ``""`` when unrestricted.

    It names the innermost restricted root, which determines the whole chain of restrictions
    above the page; :attr:`Access.search_scopes` lists the scopes a user may read.
    """
    inner = max((r for r in roots if covers(r, slug)), key=len, default=None)
    return "" if inner is None else SCOPE_PREFIX + inner


SlugColumn = ColumnElement[str] | Mapped[str]


def _under(column: SlugColumn, root: str) -> ColumnElement[bool]:
    return or_(column == root, column.startswith(root + "/", autoescape=True))


@dataclass(frozen=True)
class Access:
    """What one user may read and edit, given every restriction (computed once per session)."""

    user_id: int | None
    is_admin: bool
    # every restricted root, and the levels this user holds on each (absent: none)
    roots: tuple[str, ...] = ()
    levels: dict[str, AccessLevel] = field(default_factory=dict)

    @property
    def restricted_anywhere(self) -> bool:
        return bool(self.roots)

    def _chain(self, slug: str) -> list[str]:
        return [r for r in self.roots if covers(r, slug)]

    def is_restricted(self, slug: str) -> bool:
        """Whether any restriction covers ``slug`` (whoever is asking)."""
        return any(covers(r, slug) for r in self.roots)

    def can_read(self, slug: str) -> bool:
        if self.is_admin:
            return True
        return all(r in self.levels for r in self._chain(slug))

    def can_edit(self, slug: str) -> bool:
        """Whether the subtree rules let this user change ``slug`` (the role is checked apart)."""
        if self.is_admin:
            return True
        return all(self.levels.get(r) == AccessLevel.edit for r in self._chain(slug))

    def require_read(self, slug: str, what: str = "page") -> None:
        """Raise NotFound (not Forbidden: hidden pages do not exist for this user)."""
        if not self.can_read(slug):
            raise NotFound(f"No {what} at {slug!r}.")

    def require_edit(self, slug: str) -> None:
        self.require_read(slug)
        if not self.can_edit(slug):
            raise Forbidden(
                f"{slug!r} is in a restricted area you may read but not change; "
                "ask an administrator to give one of your groups edit access."
            )

    @property
    def hidden_roots(self) -> tuple[str, ...]:
        """The restricted roots this user may not read (the pages under them are hidden)."""
        if self.is_admin:
            return ()
        return tuple(r for r in self.roots if r not in self.levels)

    def readable(self, slug_column: SlugColumn) -> ColumnElement[bool]:
        """A SQL condition true for rows whose page slug this user may read."""
        hidden = self.hidden_roots
        if not hidden:
            return true()
        return and_(*(not_(_under(slug_column, r)) for r in hidden))

    def readable_slugs(self, slugs: Iterable[str]) -> list[str]:
        return [s for s in slugs if self.can_read(s)]

    @property
    def search_scopes(self) -> frozenset[str]:
        """Search scopes this user may read: ``""`` plus each restricted root they can read."""
        return frozenset({""}) | {SCOPE_PREFIX + r for r in self.roots if self.can_read(r)}


def access_for(*, session: Session, user: User | None) -> Access:
    """The access view of ``user`` (None: anonymous), cached for the session's lifetime.

    Services that change restrictions or groups call :func:`forget` so later reads in the same
    session see the change.
    """
    return access_for_many(session=session, users=[user])[key_of(user)]


def key_of(user: User | None) -> tuple[int | None, bool]:
    """The key of ``user``'s view in what :func:`access_for_many` returns."""
    # keyed by the admin flag too: the unsaved system actor (an admin) has no id either, and
    # must not share an anonymous visitor's view (or hand its own to one)
    is_admin = user is not None and user.is_active and user.role == Role.admin
    return (user.id if user is not None else None, is_admin)


def access_for_many(
    *, session: Session, users: Iterable[User | None]
) -> dict[tuple[int | None, bool], Access]:
    """The access views of several users at once (one query for all their grants), by
    ``(user id, is admin)``; cached like :func:`access_for`."""
    cache: dict[tuple[int | None, bool], Access] = session.info.setdefault(_CACHE_KEY, {})
    wanted = {key_of(u): u for u in users}
    missing = [key for key in wanted if key not in cache]
    if missing:
        roots = tuple(sorted(session.exec(select(Restriction.root)).all()))
        ids = {uid for uid, admin in missing if uid is not None and not admin}
        levels: dict[int, dict[str, AccessLevel]] = {uid: {} for uid in ids}
        active = {uid for uid in ids if (u := wanted[(uid, False)]) is not None and u.is_active}
        if roots and active:
            rows = session.exec(
                select(GroupMember.user_id, Restriction.root, Grant.level)
                .join(Grant, col(Grant.restriction_id) == col(Restriction.id))
                .join(GroupMember, col(GroupMember.group_id) == col(Grant.group_id))
                .where(col(GroupMember.user_id).in_(active))
            ).all()
            for member, root, level in rows:
                if levels[member].get(root) != AccessLevel.edit:
                    levels[member][root] = AccessLevel(level)
        for key in missing:
            uid, admin = key
            mine = levels.get(uid, {}) if uid is not None and not admin else {}
            cache[key] = Access(user_id=uid, is_admin=admin, roots=roots, levels=mine)
    return {key: cache[key] for key in wanted}


def forget(session: Session) -> None:
    """Drop cached access views (after groups, members or restrictions change)."""
    session.info.pop(_CACHE_KEY, None)


def readers_of(*, session: Session, slug: str) -> list[str]:
    """Names of the groups granted the innermost restriction over ``slug`` ([] if none does).

    For the "Restricted" note on a page, shown only to those who may read it.
    """
    covering = [r for r in session.exec(select(Restriction)).all() if covers(r.root, slug)]
    if not covering:
        return []
    inner = max(covering, key=lambda r: len(r.root))
    return list(
        session.exec(
            select(Group.name)
            .join(Grant, col(Grant.group_id) == Group.id)
            .where(Grant.restriction_id == inner.id)
            .order_by(col(Group.name))
        ).all()
    )
