"""Notifications use cases: watching pages, filling inboxes, reading and marking them.

The event functions (``page_edited``, ``thread_opened``, ``comment_posted``,
``thread_status_changed``, ``watch``) run inside the caller's transaction: they add rows and never
commit. Callers pass the page and thread data in, so this module imports no other domain's service
but accounts and access (pages and discussions import this one).

Restricted subtrees: nobody is told about a page they may not read when the event happens, and
the inbox, its unread count and the API leave out notifications about pages the user can no
longer read (access may change after delivery; e-mails are checked again when sent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.access import service as access
from app.accounts import service as accounts
from app.accounts.models import User
from app.core.db import begin_write, is_sqlite, settings_of
from app.core.errors import NotFound
from app.core.time import as_utc, utcnow
from app.notifications.models import EmailState, Notification, NotificationKind, Watch
from app.notifications.schemas import MarkReadResult, NotificationList, NotificationRead
from app.pages.models import Page  # only for the current address of a notification's page

EXCERPT_CHARS = 280
MAX_PAGE_SIZE = 200


# --- watching --------------------------------------------------------------------------------


def _actor_id(actor: User | None) -> int | None:
    # the system actor (seed import) is an unsaved User without an id: nobody to exclude or watch
    return actor.id if actor is not None else None


def watch(*, session: Session, user_id: int, page_id: int) -> None:
    """Make the user watch the page (idempotent; inside the caller's transaction)."""
    values = {"user_id": user_id, "page_id": page_id, "created_at": utcnow()}
    # ON CONFLICT DO NOTHING: two transactions watching the same page at once must not collide
    if is_sqlite(session):
        session.execute(sqlite_insert(Watch).values(**values).on_conflict_do_nothing())
    else:
        session.execute(pg_insert(Watch).values(**values).on_conflict_do_nothing())


def is_watching(*, session: Session, page_id: int, user: User | None) -> bool:
    """Whether the user watches the page (never for anonymous visitors)."""
    if user is None or user.id is None:
        return False
    row = session.exec(
        select(Watch.user_id).where(Watch.user_id == user.id, Watch.page_id == page_id)
    ).first()
    return row is not None


def watch_state(*, session: Session, page_id: int, user: User | None) -> bool:
    """Whether the signed-in user watches the page (anonymous visitors are refused)."""
    me = accounts.require_user(user, "page.watch")
    return is_watching(session=session, page_id=page_id, user=me)


def set_watch(*, session: Session, page_id: int, user: User | None, watching: bool) -> bool:
    """Start or stop watching a page; returns whether the user now watches it."""
    me = accounts.require_user(user, "page.watch")
    begin_write(session)
    if watching:
        watch(session=session, user_id=me.id or 0, page_id=page_id)
    else:
        session.execute(
            delete(Watch).where(col(Watch.user_id) == me.id, col(Watch.page_id) == page_id)
        )
    session.commit()
    return watching


def watchers(*, session: Session, page_id: int) -> set[int]:
    """Ids of the users watching the page."""
    return set(session.exec(select(Watch.user_id).where(Watch.page_id == page_id)).all())


# --- events (inside the caller's transaction) ------------------------------------------------


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1].rstrip() + "…"


def _notify(
    session: Session,
    recipients: Mapping[int, NotificationKind],
    *,
    actor: User | None,
    page_id: int | None,
    slug: str,
    title: str,
    url: str,
    thread_id: int | None = None,
    comment_id: int | None = None,
    revision: int | None = None,
    excerpt: str = "",
) -> None:
    """Add one notification per recipient; never to the actor, nor to disabled users."""
    actor_id = _actor_id(actor)
    wanted = {uid: kind for uid, kind in recipients.items() if uid != actor_id}
    if not wanted:
        return
    users = accounts.users_by_id(session=session, ids=wanted)
    mail = settings_of(session).mail_enabled
    # about a page in a restricted subtree: only those who may read it (all recipients' groups
    # in one query; unrestricted pages cost one cached query in all)
    restricted = bool(slug) and access.access_for(session=session, user=None).is_restricted(slug)
    views = access.access_for_many(session=session, users=users.values()) if restricted else {}
    for uid, kind in wanted.items():
        user = users.get(uid)
        if user is None or not user.is_active:
            continue
        if restricted and not views[access.key_of(user)].can_read(slug):
            continue
        session.add(
            Notification(
                user_id=uid,
                kind=kind,
                actor_id=actor_id,
                page_id=page_id,
                page_slug=slug[:255],
                page_title=title[:255],
                thread_id=thread_id,
                comment_id=comment_id,
                revision=revision,
                excerpt=_excerpt(excerpt),
                url=url[:500],
                email_state=EmailState.pending if mail and user.email else EmailState.none,
            )
        )


def _ranked(*groups: tuple[NotificationKind, Iterable[int]]) -> dict[int, NotificationKind]:
    """One kind per user: the first group a user is in wins (groups come in priority order)."""
    out: dict[int, NotificationKind] = {}
    for kind, ids in groups:
        for uid in ids:
            out.setdefault(uid, kind)
    return out


def _thread_url(thread_id: int, comment_id: int | None = None) -> str:
    return f"/threads/{thread_id}" + (f"#comment-{comment_id}" if comment_id else "")


def page_edited(
    *,
    session: Session,
    page_id: int,
    slug: str,
    title: str,
    revision: int,
    actor: User | None,
    summary: str = "",
) -> None:
    """A new revision: tell the page's watchers (not the actor), and the actor watches it now."""
    url = f"/diff/{slug}?from={revision - 1}&to={revision}" if revision > 1 else f"/wiki/{slug}"
    recipients = _ranked((NotificationKind.page_edit, watchers(session=session, page_id=page_id)))
    _notify(
        session,
        recipients,
        actor=actor,
        page_id=page_id,
        slug=slug,
        title=title,
        url=url,
        revision=revision,
        excerpt=summary,
    )
    actor_id = _actor_id(actor)
    if actor_id is not None:
        watch(session=session, user_id=actor_id, page_id=page_id)


def _posted(
    session: Session,
    recipients: dict[int, NotificationKind],
    *,
    actor: User | None,
    page_id: int,
    slug: str,
    title: str,
    thread_id: int,
    comment_id: int,
    excerpt: str,
) -> None:
    """Tell the recipients of a new thread or comment, and make its author watch the page."""
    _notify(
        session,
        recipients,
        actor=actor,
        page_id=page_id,
        slug=slug,
        title=title,
        url=_thread_url(thread_id, comment_id),
        thread_id=thread_id,
        comment_id=comment_id,
        excerpt=excerpt,
    )
    actor_id = _actor_id(actor)
    if actor_id is not None:
        watch(session=session, user_id=actor_id, page_id=page_id)


def thread_opened(
    *,
    session: Session,
    page_id: int,
    slug: str,
    title: str,
    thread_id: int,
    comment_id: int,
    actor: User | None,
    excerpt: str,
    mentioned: set[int],
) -> None:
    """A new thread: mentioned users get a mention, the page's other watchers a new_thread."""
    recipients = _ranked(
        (NotificationKind.mention, sorted(mentioned)),
        (NotificationKind.new_thread, sorted(watchers(session=session, page_id=page_id))),
    )
    _posted(
        session,
        recipients,
        actor=actor,
        page_id=page_id,
        slug=slug,
        title=title,
        thread_id=thread_id,
        comment_id=comment_id,
        excerpt=excerpt,
    )


def comment_posted(
    *,
    session: Session,
    page_id: int,
    slug: str,
    title: str,
    thread_id: int,
    comment_id: int,
    actor: User | None,
    excerpt: str,
    participants: set[int],
    mentioned: set[int],
) -> None:
    """A new comment: mentioned users get a mention, the thread's participants a reply."""
    recipients = _ranked(
        (NotificationKind.mention, sorted(mentioned)),
        (NotificationKind.reply, sorted(participants)),
    )
    _posted(
        session,
        recipients,
        actor=actor,
        page_id=page_id,
        slug=slug,
        title=title,
        thread_id=thread_id,
        comment_id=comment_id,
        excerpt=excerpt,
    )


def thread_status_changed(
    *,
    session: Session,
    page_id: int,
    slug: str,
    title: str,
    thread_id: int,
    actor: User | None,
    participants: set[int],
    resolved: bool,
) -> None:
    """A thread was resolved or reopened: tell its participants (not the actor)."""
    _notify(
        session,
        _ranked((NotificationKind.resolved, sorted(participants))),
        actor=actor,
        page_id=page_id,
        slug=slug,
        title=title,
        url=_thread_url(thread_id),
        thread_id=thread_id,
        excerpt="Resolved" if resolved else "Reopened",
    )


# --- decisions (engineer D) ------------------------------------------------------------------


def decision_recorded(
    *,
    session: Session,
    ref: str,
    title: str,
    recipients: set[int],
    actor: User | None,
) -> None:
    """A decision was accepted: tell its deciders and the people to inform (not the actor)."""
    _notify(
        session,
        _ranked((NotificationKind.decision, sorted(recipients))),
        actor=actor,
        page_id=None,
        slug="",
        title=f"{ref}: {title}",
        url=f"/decisions/{ref}",
        excerpt=f"{ref} was accepted",
    )


def decision_review_due(
    *,
    session: Session,
    ref: str,
    title: str,
    review_on: date,
    recipients: set[int],
) -> None:
    """A decision's review date has come: tell its deciders."""
    _notify(
        session,
        _ranked((NotificationKind.review_due, sorted(recipients))),
        actor=None,
        page_id=None,
        slug="",
        title=f"{ref}: {title}",
        url=f"/decisions/{ref}",
        excerpt=f"{ref} is due for review (review date {review_on.isoformat()})",
    )


def page_review_due(
    *,
    session: Session,
    page_id: int,
    slug: str,
    title: str,
    review_by: date,
    recipients: set[int],
) -> None:
    """A page's review date has come: tell its owners."""
    _notify(
        session,
        _ranked((NotificationKind.review_due, sorted(recipients))),
        actor=None,
        page_id=page_id,
        slug=slug,
        title=title,
        url=f"/wiki/{slug}",
        excerpt=f"The page is due for review (review by {review_by.isoformat()})",
    )


# --- proposals (engineer P) ------------------------------------------------------------------


def proposal_opened(
    *,
    session: Session,
    proposal_id: int,
    title: str,
    excerpt: str,
    recipients: set[int],
    actor: User | None,
    page_id: int | None = None,
    slug: str = "",
) -> None:
    """A proposal asks for responses: tell the workshop's members or the page's watchers."""
    _notify(
        session,
        _ranked((NotificationKind.proposal, sorted(recipients))),
        actor=actor,
        page_id=page_id,
        slug=slug,
        title=title,
        url=f"/proposals/{proposal_id}",
        excerpt=excerpt,
    )


# --- workshops (engineer W) -----------------------------------------------------------------


def workshop_invited(
    *,
    session: Session,
    workshop_id: int,
    title: str,
    starts_at: datetime | None,
    recipients: set[int],
    actor: User | None,
) -> None:
    """Members of a workshop were invited (it was scheduled, or they joined a scheduled one)."""
    when = f"Starts {as_utc(starts_at).strftime('%d %b %Y, %H:%M')} UTC" if starts_at else ""
    _notify(
        session,
        _ranked((NotificationKind.workshop, sorted(recipients))),
        actor=actor,
        page_id=None,
        slug="",
        title=title,
        url=f"/workshops/{workshop_id}",
        excerpt=when or "Invited",
    )


def workshop_started(
    *, session: Session, workshop_id: int, title: str, recipients: set[int], actor: User | None
) -> None:
    """A workshop went live: its members are asked to join the room."""
    _notify(
        session,
        _ranked((NotificationKind.workshop, sorted(recipients))),
        actor=actor,
        page_id=None,
        slug="",
        title=title,
        url=f"/workshops/{workshop_id}",
        excerpt="Started",
    )


# --- the inbox -------------------------------------------------------------------------------


def visible_to(session: Session, user: User | None) -> ColumnElement[bool]:
    """A condition on notifications: those about no page or about a page ``user`` may read now
    (by the address the page has now, and the one it had when the notification was made)."""
    view = access.access_for(session=session, user=user)
    if not view.hidden_roots:
        return true()
    readable_pages = select(Page.id).where(view.readable(col(Page.slug)))
    return and_(
        view.readable(col(Notification.page_slug)),
        or_(col(Notification.page_id).is_(None), col(Notification.page_id).in_(readable_pages)),
    )


def unreadable(
    *, session: Session, notes: Iterable[Notification], users: Mapping[int, User]
) -> set[int]:
    """Ids of the ``notes`` about a page their recipient (in ``users``) may not read now."""
    notes = [n for n in notes if n.page_slug or n.page_id is not None]
    if not notes or not access.access_for(session=session, user=None).restricted_anywhere:
        return set()
    ids = {n.page_id for n in notes if n.page_id is not None}
    now_at = dict(session.exec(select(Page.id, Page.slug).where(col(Page.id).in_(ids))).all())
    views = access.access_for_many(session=session, users=[users.get(n.user_id) for n in notes])
    out = set()
    for note in notes:
        view = views[access.key_of(users.get(note.user_id))]
        slugs = [note.page_slug, now_at.get(note.page_id or 0, "")]
        if not all(view.can_read(slug) for slug in slugs if slug):
            out.add(note.id or 0)
    return out


def _reads(session: Session, rows: Iterable[Notification]) -> list[NotificationRead]:
    rows = list(rows)
    actors = accounts.users_by_id(session=session, ids={r.actor_id for r in rows})
    out = []
    for row in rows:
        actor = actors.get(row.actor_id or 0)
        out.append(
            NotificationRead(
                id=row.id or 0,
                kind=row.kind,
                actor=actor.username if actor else None,
                actor_name=actor.label if actor else None,
                page_slug=row.page_slug,
                page_title=row.page_title,
                thread_id=row.thread_id,
                comment_id=row.comment_id,
                revision=row.revision,
                excerpt=row.excerpt,
                url=row.url,
                created_at=as_utc(row.created_at),
                read_at=as_utc(row.read_at) if row.read_at else None,
            )
        )
    return out


def _unread(session: Session, user: User) -> int:
    stmt = select(func.count()).where(
        col(Notification.user_id) == user.id,
        col(Notification.read_at).is_(None),
        visible_to(session, user),
    )
    return int(session.exec(stmt).one())


def unread_count(*, session: Session, user: User | None) -> int:
    """How many unread notifications the user has."""
    me = accounts.require_user(user, "notification.read")
    return _unread(session, me)


def list_inbox(
    *,
    session: Session,
    user: User | None,
    unread_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> NotificationList:
    """The user's notifications, newest first, one page at a time."""
    me = accounts.require_user(user, "notification.read")
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    offset = max(0, offset)
    stmt = select(Notification).where(Notification.user_id == me.id, visible_to(session, me))
    if unread_only:
        stmt = stmt.where(col(Notification.read_at).is_(None))
    stmt = stmt.order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
    rows = list(session.exec(stmt.offset(offset).limit(limit + 1)))
    more = len(rows) > limit
    return NotificationList(
        items=_reads(session, rows[:limit]),
        unread=_unread(session, me),
        next_offset=offset + limit if more else None,
    )


def mark_read(
    *, session: Session, user: User | None, ids: Iterable[int] = (), all: bool = False
) -> MarkReadResult:
    """Mark some of the user's own notifications (by id), or all of them, as read."""
    me = accounts.require_user(user, "notification.read")
    wanted = set(ids)
    begin_write(session)
    now = utcnow()
    marked = 0
    rows: list[Notification] = []
    if wanted:
        rows = list(
            session.exec(
                select(Notification).where(
                    col(Notification.id).in_(wanted),
                    Notification.user_id == me.id,
                    visible_to(session, me),
                )
            )
        )
        missing = wanted - {r.id for r in rows}
        if missing:
            # someone else's notifications are indistinguishable from ones that do not exist
            listed = ", ".join(str(i) for i in sorted(missing))
            raise NotFound(f"You have no notification {listed}.", ids=sorted(missing))
        for row in rows:
            if row.read_at is None:
                row.read_at = now
                session.add(row)
                marked += 1
    if all:
        result = session.execute(
            update(Notification)
            .where(col(Notification.user_id) == me.id, col(Notification.read_at).is_(None))
            .values(read_at=now)
        )
        marked += int(getattr(result, "rowcount", 0) or 0)
    session.flush()
    unread = _unread(session, me)
    session.commit()
    return MarkReadResult(
        marked=marked, unread=unread, items=_reads(session, sorted(rows, key=lambda r: r.id or 0))
    )
