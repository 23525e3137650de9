"""Discussions use cases: open threads (optionally on a passage), reply, edit, remove, moderate,
resolve, and list what is still open."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, true
from sqlmodel import Session, col, select

from app.access import service as access
from app.accounts import service as accounts
from app.accounts.models import User
from app.core import events
from app.core.db import begin_write, settings_of
from app.core.errors import Forbidden, Invalid, NotFound, TooLarge
from app.core.time import utcnow
from app.discussions import anchors
from app.discussions.models import (
    AnchorKind,
    Comment,
    CommentVersion,
    Mention,
    Thread,
    ThreadStatus,
)
from app.discussions.schemas import (
    CommentCreate,
    CommentUpdate,
    StatusFilter,
    ThreadCreate,
)
from app.notifications import service as notifications
from app.pages import section_service
from app.pages import service as pages
from app.pages.models import Page
from app.search import service as search

MAX_COMMENT_CHARS = 20_000
EXCERPT_CHARS = 280
# @name at the start or after a space/bracket; e-mail addresses (x@y) are not mentions
_MENTION = re.compile(r"(?<![\w@./+-])@([A-Za-z0-9][A-Za-z0-9_.-]{0,63})")
_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)


# --- views handed to templates and the API ----------------------------------------------------


@dataclass
class CommentView:
    comment: Comment
    author: User | None
    reply_to: Comment | None = None
    reply_to_author: User | None = None

    @property
    def removed(self) -> bool:
        return self.comment.deleted_at is not None

    @property
    def hidden(self) -> bool:
        return self.comment.hidden_at is not None

    @property
    def visible(self) -> bool:
        return not self.removed and not self.hidden


@dataclass
class ThreadView:
    thread: Thread
    page: Page
    author: User | None
    resolved_by: User | None
    outdated: bool
    comments: list[CommentView] = field(default_factory=list)

    @property
    def first(self) -> CommentView | None:
        return self.comments[0] if self.comments else None

    @property
    def excerpt(self) -> str:
        first = self.first
        if first is None or not first.visible:
            return ""
        return _excerpt(first.comment.body)


def _excerpt(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


# --- checks -------------------------------------------------------------------------------------


def _thread_of_readable_page(session: Session, thread_id: int, user: User | None) -> Thread:
    """The thread, if ``user`` may read its page; a hidden page's threads do not exist for them
    (the error names no page, so it reveals no address)."""
    thread = session.get(Thread, thread_id)
    if thread is None or not _can_read_page(session, user, thread.page_id):
        raise NotFound(f"There is no discussion #{thread_id}.")
    return thread


def _comment_on_readable_page(session: Session, comment_id: int, user: User | None) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is not None:
        thread = session.get(Thread, comment.thread_id)
        if thread is not None and _can_read_page(session, user, thread.page_id):
            return comment
    raise NotFound(f"There is no comment #{comment_id}.")


def _can_read_page(session: Session, user: User | None, page_id: int) -> bool:
    view = access.access_for(session=session, user=user)
    if not view.restricted_anywhere:
        return True
    page = pages.pages_by_id(session=session, ids=[page_id]).get(page_id)
    return page is not None and view.can_read(page.slug)


def _readable_threads(session: Session, user: User | None) -> ColumnElement[bool]:
    """A condition on ``Thread.page_id``: the threads of pages ``user`` may read."""
    view = access.access_for(session=session, user=user)
    if not view.hidden_roots:
        return true()
    return col(Thread.page_id).in_(select(Page.id).where(view.readable(col(Page.slug))))


def _check_body(session: Session, body: str) -> str:
    if not body.strip():
        raise Invalid("A comment cannot be empty.", field="body")
    limit = min(MAX_COMMENT_CHARS, settings_of(session).max_body_bytes)
    if len(body) > limit:
        raise TooLarge(
            f"The comment is {len(body):,} characters long; the limit is {limit:,}. "
            "Split it into several comments or put the long text on a page.",
            field="body",
        )
    return body


def mentioned_names(body: str) -> list[str]:
    """The @names in a comment, outside code, in order of first use."""
    text = _CODE.sub(" ", body)
    names = [m.rstrip(".-") for m in _MENTION.findall(text)]
    return list(dict.fromkeys(n for n in names if n))


def _resolve_mentions(session: Session, body: str) -> dict[str, User]:
    names = mentioned_names(body)
    users = accounts.users_by_username(session=session, names=names)
    unknown = [n for n in names if n.lower() not in users]
    if unknown:
        listed = ", ".join(f"@{n}" for n in unknown)
        raise Invalid(
            f"There is no user {listed}. Check the spelling, or write the name without @.",
            field="body",
        )
    return users


def _render(session: Session, body: str, mentions: dict[str, User], user: User | None) -> str:
    """Comment markdown through the page renderer and sanitiser, with @mentions linked."""

    def link(match: re.Match[str]) -> str:
        name = match.group(1).rstrip(".-")
        found = mentions.get(name.lower())
        if found is None:
            return match.group(0)
        tail = match.group(1)[len(name) :]
        return f"[@{found.username}](/discussions?participant={found.username}){tail}"

    parts = _CODE.split(body)
    text = "".join(p if i % 2 else _MENTION.sub(link, p) for i, p in enumerate(parts))
    return pages.render_preview(session=session, body=text, user=user).html


# --- reading --------------------------------------------------------------------------------------


def _page_blocks(session: Session, page: Page, number: int | None = None) -> list[anchors.Block]:
    number = number or page.head
    revision = pages.get_revision(session=session, page=page, number=number)
    return anchors.blocks(pages.render_revision(session=session, revision=revision).html)


def anchor_of(thread: Thread) -> anchors.Anchor:
    """The anchor of a thread, for locating it in a rendered revision."""
    if thread.anchor_kind == AnchorKind.passage:
        return anchors.Anchor(
            quote=thread.anchor_quote, prefix=thread.anchor_prefix, suffix=thread.anchor_suffix
        )
    if thread.anchor_kind == AnchorKind.heading:
        return anchors.Anchor(heading=thread.anchor_heading)
    return anchors.Anchor()


def _outdated(thread: Thread, blocks: Sequence[anchors.Block] | None) -> bool:
    if thread.anchor_kind == AnchorKind.page or blocks is None:
        return False
    return anchors.locate(blocks, anchor_of(thread)) is None


def _views(session: Session, threads: Sequence[Thread], *, with_comments: bool) -> list[ThreadView]:
    if not threads:
        return []
    page_map = pages.pages_by_id(session=session, ids={t.page_id for t in threads})
    comments: dict[int, list[Comment]] = {}
    if with_comments:
        rows = session.exec(
            select(Comment)
            .where(col(Comment.thread_id).in_([t.id for t in threads]))
            .order_by(col(Comment.created_at), col(Comment.id))
        )
        for c in rows:
            comments.setdefault(c.thread_id, []).append(c)
    user_ids: set[int | None] = set()
    for t in threads:
        user_ids |= {t.author_id, t.resolved_by_id}
    for cs in comments.values():
        user_ids |= {c.author_id for c in cs}
    users = accounts.users_by_id(session=session, ids=user_ids)
    blocks: dict[int, list[anchors.Block] | None] = {}
    views = []
    for t in threads:
        page = page_map[t.page_id]
        if t.anchor_kind != AnchorKind.page and t.page_id not in blocks:
            blocks[t.page_id] = None if page.is_deleted else _page_blocks(session, page)
        by_id = {c.id: c for c in comments.get(t.id or 0, [])}
        views.append(
            ThreadView(
                thread=t,
                page=page,
                author=users.get(t.author_id or 0),
                resolved_by=users.get(t.resolved_by_id or 0),
                outdated=_outdated(t, blocks.get(t.page_id)),
                comments=[
                    CommentView(
                        comment=c,
                        author=users.get(c.author_id or 0),
                        reply_to=by_id.get(c.reply_to_id),
                        reply_to_author=users.get(by_id[c.reply_to_id].author_id or 0)
                        if c.reply_to_id in by_id
                        else None,
                    )
                    for c in comments.get(t.id or 0, [])
                ],
            )
        )
    return views


def page_threads(
    *, session: Session, slug: str, user: User | None, status: StatusFilter = "open"
) -> list[ThreadView]:
    """A page's threads with their comments, newest activity first."""
    page = pages.get_page(session=session, slug=slug, user=user, include_deleted=True)
    stmt = select(Thread).where(Thread.page_id == page.id)
    if status != "all":
        stmt = stmt.where(Thread.status == ThreadStatus(status))
    stmt = stmt.order_by(col(Thread.last_activity_at).desc(), col(Thread.id).desc())
    return _views(session, list(session.exec(stmt)), with_comments=True)


def thread_counts(*, session: Session, page: Page) -> dict[str, int]:
    """How many open and resolved threads a page has."""
    rows = session.exec(
        select(Thread.status, func.count()).where(Thread.page_id == page.id).group_by(Thread.status)
    ).all()
    counts = {"open": 0, "resolved": 0}
    for status, n in rows:
        counts[str(status)] = n
    counts["all"] = counts["open"] + counts["resolved"]
    return counts


def activity_stamp(*, session: Session, page: Page) -> str:
    """Changes whenever anything in the page's discussions changes (for live refresh)."""
    latest, count = session.exec(
        select(func.max(Thread.last_activity_at), func.count()).where(Thread.page_id == page.id)
    ).one()
    stamp = latest.isoformat() if isinstance(latest, datetime) else str(latest or "")
    return f"{count}-{stamp}".replace(":", "").replace("+", "")


def get_thread(*, session: Session, thread_id: int, user: User | None) -> ThreadView:
    """One thread with its comments (raises NotFound)."""
    accounts.require(user, "page.read")
    thread = _thread_of_readable_page(session, thread_id, user)
    return _views(session, [thread], with_comments=True)[0]


def place_markers(
    *, html: str, threads: Sequence[ThreadView], marker: Callable[[list[int]], str]
) -> tuple[str, set[int]]:
    """Insert ``marker(ids)`` HTML after the passage or heading each anchored thread is about."""
    anchored = [
        (v.thread.id or 0, anchor_of(v.thread))
        for v in threads
        if v.thread.anchor_kind != AnchorKind.page
    ]
    if not anchored:
        return html, set()
    return anchors.place(html, anchored, marker)


def section_choices(*, session: Session, page: Page) -> list[tuple[str, str]]:
    """(heading id, heading text) of the page's sections, for "about this section"."""
    # the headings alone, not every block: this runs on each view of the page
    return section_service.heading_choices(session=session, page=page)


def list_discussions(
    *,
    session: Session,
    user: User | None,
    status: StatusFilter = "open",
    prefix: str = "",
    author: str = "",
    participant: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ThreadView], int]:
    """Threads wiki-wide by last activity, with filters; returns one page and the total."""
    accounts.require(user, "page.read")
    stmt = select(Thread).where(_readable_threads(session, user))
    if status != "all":
        stmt = stmt.where(Thread.status == ThreadStatus(status))
    if prefix.strip("/"):
        stmt = stmt.where(
            col(Thread.page_id).in_(pages.page_ids_under(session=session, prefix=prefix))
        )
    for name, clause in ((author, "author"), (participant, "participant")):
        if not name:
            continue
        found = accounts.users_by_username(session=session, names=[name.lstrip("@")])
        person = found.get(name.lstrip("@").lower())
        if person is None:
            return [], 0
        if clause == "author":
            stmt = stmt.where(Thread.author_id == person.id)
        else:
            stmt = stmt.where(
                col(Thread.id).in_(select(Comment.thread_id).where(Comment.author_id == person.id))
            )
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(
        stmt.order_by(col(Thread.last_activity_at).desc(), col(Thread.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return _views(session, list(rows), with_comments=False), total


def my_discussions(
    *, session: Session, user: User | None, status: StatusFilter = "all", limit: int = 100
) -> list[tuple[ThreadView, set[str]]]:
    """Threads I started, took part in or was mentioned in, each with how I am involved."""
    me = accounts.require_user(user, "page.read")
    started = set(session.exec(select(Thread.id).where(Thread.author_id == me.id)))
    took_part = set(session.exec(select(Comment.thread_id).where(Comment.author_id == me.id)))
    mentioned = set(session.exec(select(Mention.thread_id).where(Mention.user_id == me.id)))
    ids = started | took_part | mentioned
    if not ids:
        return []
    stmt = select(Thread).where(col(Thread.id).in_(ids), _readable_threads(session, me))
    if status != "all":
        stmt = stmt.where(Thread.status == ThreadStatus(status))
    stmt = stmt.order_by(col(Thread.last_activity_at).desc()).limit(limit)
    out = []
    for view in _views(session, list(session.exec(stmt)), with_comments=False):
        tid = view.thread.id
        how = {
            label
            for label, bucket in (
                ("started", started),
                ("replied", took_part),
                ("mentioned", mentioned),
            )
            if tid in bucket
        }
        out.append((view, how))
    return out


@dataclass(frozen=True)
class Activity:
    """One discussion event for the page history timeline."""

    at: datetime
    kind: str  # opened, comment, resolved
    thread_id: int
    comment_id: int | None
    thread_title: str
    actor: User | None
    excerpt: str


def page_activity(*, session: Session, page: Page, limit: int = 500) -> list[Activity]:
    """Discussion events on a page, newest first, for the history timeline."""
    threads = {t.id: t for t in session.exec(select(Thread).where(Thread.page_id == page.id))}
    if not threads:
        return []
    comments = list(
        session.exec(
            select(Comment)
            .where(col(Comment.thread_id).in_(list(threads)))
            .order_by(col(Comment.created_at).desc())
            .limit(limit)
        )
    )
    users = accounts.users_by_id(
        session=session,
        ids={c.author_id for c in comments} | {t.resolved_by_id for t in threads.values()},
    )
    first_ids = dict(
        session.exec(
            select(Comment.thread_id, func.min(Comment.id))
            .where(col(Comment.thread_id).in_(list(threads)))
            .group_by(col(Comment.thread_id))
        ).all()
    )
    events = []
    for c in comments:
        t = threads[c.thread_id]
        visible = c.deleted_at is None and c.hidden_at is None
        events.append(
            Activity(
                at=c.created_at,
                kind="opened" if first_ids.get(c.thread_id) == c.id else "comment",
                thread_id=c.thread_id,
                comment_id=c.id,
                thread_title=t.title,
                actor=users.get(c.author_id or 0),
                excerpt=_excerpt(c.body) if visible else "",
            )
        )
    for t in threads.values():
        if t.status == ThreadStatus.resolved and t.resolved_at is not None:
            events.append(
                Activity(
                    at=t.resolved_at,
                    kind="resolved",
                    thread_id=t.id or 0,
                    comment_id=None,
                    thread_title=t.title,
                    actor=users.get(t.resolved_by_id or 0),
                    excerpt="",
                )
            )
    events.sort(key=lambda e: e.at, reverse=True)
    return events[:limit]


def comment_versions(
    *, session: Session, comment_id: int, user: User | None
) -> tuple[CommentView, list[CommentVersion]]:
    """A comment and its earlier texts, newest first (hidden/removed texts stay private)."""
    accounts.require(user, "page.read")
    comment = _comment_on_readable_page(session, comment_id, user)
    if comment.deleted_at is not None or (
        comment.hidden_at is not None and not accounts.can(user, "comment.moderate")
    ):
        raise NotFound("This comment was removed; its earlier versions are not shown.")
    versions = list(
        session.exec(
            select(CommentVersion)
            .where(CommentVersion.comment_id == comment_id)
            .order_by(col(CommentVersion.version).desc())
        )
    )
    author = accounts.users_by_id(session=session, ids=[comment.author_id]).get(
        comment.author_id or 0
    )
    return CommentView(comment=comment, author=author), versions


# --- writing --------------------------------------------------------------------------------------


def _live_page(session: Session, page_id: int) -> Page:
    page = pages.pages_by_id(session=session, ids=[page_id]).get(page_id)
    if page is None or page.is_deleted:
        raise Invalid(
            "The page of this discussion was deleted; undelete it to continue the discussion."
        )
    return page


def _participants(session: Session, thread: Thread) -> set[int]:
    ids = set(session.exec(select(Comment.author_id).where(Comment.thread_id == thread.id)).all())
    ids.add(thread.author_id)
    return {i for i in ids if i is not None}


def _add_comment(
    session: Session,
    thread: Thread,
    body: str,
    author: User,
    mentions: dict[str, User],
    reply_to: int | None = None,
) -> Comment:
    now = utcnow()
    comment = Comment(
        thread_id=thread.id or 0,
        author_id=author.id,
        reply_to_id=reply_to,
        body=body,
        html=_render(session, body, mentions, author),
        created_at=now,
    )
    session.add(comment)
    session.flush()
    for person in mentions.values():
        session.add(
            Mention(comment_id=comment.id or 0, user_id=person.id or 0, thread_id=thread.id or 0)
        )
    thread.comment_count += 1
    thread.last_activity_at = now
    session.add(thread)
    search.enqueue(session=session, kind="comment", ref_id=comment.id or 0)
    search.enqueue(session=session, kind="thread", ref_id=thread.id or 0)
    return comment


def _validate_anchor(
    session: Session, page: Page, data: ThreadCreate
) -> tuple[AnchorKind, int, str]:
    """Check the anchor matches the page; returns its kind, revision and heading text."""
    if not data.quote.strip() and not data.heading:
        return AnchorKind.page, 0, ""
    number = data.revision or page.head
    if number > page.head:
        raise Invalid(f"Revision {number} of {page.slug!r} does not exist.", field="revision")
    blocks = _page_blocks(session, page, number)
    heading_text = ""
    if data.heading:
        index = anchors.find_heading(blocks, data.heading)
        if index is None:
            raise Invalid(
                "That section is not on the page (it may have been renamed). "
                "Reload the page and pick the section again.",
                field="heading",
            )
        heading_text = blocks[index].text
    if data.quote.strip():
        anchor = anchors.Anchor(quote=data.quote, prefix=data.prefix, suffix=data.suffix)
        if anchors.find_passage(blocks, anchor) is None:
            raise Invalid(
                "The selected passage is not on the page (it may have just been edited). "
                "Reload the page and select the passage again.",
                field="quote",
            )
        return AnchorKind.passage, number, heading_text
    return AnchorKind.heading, number, heading_text


def open_thread(*, session: Session, slug: str, data: ThreadCreate, author: User | None) -> Thread:
    """Start a discussion on a page (optionally on a section or a passage)."""
    me = accounts.require_user(author, "comment.create")
    body = _check_body(session, data.body)
    begin_write(session)
    page = pages.get_page(session=session, slug=slug, user=me, include_deleted=True)
    if page.is_deleted:
        raise Invalid("This page was deleted; undelete it before discussing it.")
    kind, revision, heading_text = _validate_anchor(session, page, data)
    mentions = _resolve_mentions(session, body)
    now = utcnow()
    thread = Thread(
        page_id=page.id or 0,
        title=data.title,
        author_id=me.id,
        anchor_kind=kind,
        anchor_heading=data.heading if kind != AnchorKind.page else "",
        anchor_heading_text=heading_text[:300],
        anchor_quote=" ".join(data.quote.split()) if kind == AnchorKind.passage else "",
        anchor_prefix=" ".join(data.prefix.split())[-200:] if kind == AnchorKind.passage else "",
        anchor_suffix=" ".join(data.suffix.split())[:200] if kind == AnchorKind.passage else "",
        anchor_revision=revision,
        created_at=now,
        last_activity_at=now,
    )
    session.add(thread)
    session.flush()
    comment = _add_comment(session, thread, body, me, mentions)
    notifications.thread_opened(
        session=session,
        page_id=page.id or 0,
        slug=page.slug,
        title=page.title,
        thread_id=thread.id or 0,
        comment_id=comment.id or 0,
        actor=me,
        excerpt=_excerpt(body),
        mentioned={u.id for u in mentions.values() if u.id is not None},
    )
    events.publish(
        session,
        events.Event(
            name="thread.opened",
            actor_id=me.id,
            data={
                "thread_id": thread.id,
                "title": thread.title,
                "page_id": page.id,
                "slug": page.slug,
                "anchor": str(kind),
                "excerpt": _excerpt(body),
            },
        ),
    )
    session.commit()
    return thread


def reply(*, session: Session, thread_id: int, data: CommentCreate, author: User | None) -> Comment:
    """Add a comment to a thread, optionally quoting one of its comments."""
    me = accounts.require_user(author, "comment.create")
    body = _check_body(session, data.body)
    begin_write(session)
    thread = _thread_of_readable_page(session, thread_id, me)
    page = _live_page(session, thread.page_id)
    if data.reply_to is not None:
        quoted = session.get(Comment, data.reply_to)
        if quoted is None or quoted.thread_id != thread.id:
            raise Invalid(
                "The comment you are replying to is not in this discussion.", field="reply_to"
            )
    mentions = _resolve_mentions(session, body)
    participants = _participants(session, thread)
    comment = _add_comment(session, thread, body, me, mentions, data.reply_to)
    notifications.comment_posted(
        session=session,
        page_id=page.id or 0,
        slug=page.slug,
        title=page.title,
        thread_id=thread.id or 0,
        comment_id=comment.id or 0,
        actor=me,
        excerpt=_excerpt(body),
        participants=participants,
        mentioned={u.id for u in mentions.values() if u.id is not None},
    )
    session.commit()
    return comment


def edit_comment(
    *, session: Session, comment_id: int, data: CommentUpdate, user: User | None
) -> Comment:
    """Change the text of your own comment; the earlier text is kept as a version."""
    me = accounts.require_user(user, "comment.create")
    body = _check_body(session, data.body)
    begin_write(session)
    comment = _comment_on_readable_page(session, comment_id, me)
    if comment.author_id != me.id:
        raise Forbidden("You can only edit your own comments.")
    if comment.deleted_at is not None or comment.hidden_at is not None:
        raise Invalid("This comment was removed and can no longer be edited.")
    thread = session.get(Thread, comment.thread_id)
    assert thread is not None
    page = _live_page(session, thread.page_id)
    if body == comment.body:
        session.commit()
        return comment
    mentions = _resolve_mentions(session, body)
    earlier = set(session.exec(select(Mention.user_id).where(Mention.comment_id == comment.id)))
    session.add(
        CommentVersion(
            comment_id=comment.id or 0,
            version=comment.version,
            body=comment.body,
            created_at=comment.edited_at or comment.created_at,
        )
    )
    now = utcnow()
    comment.body = body
    comment.html = _render(session, body, mentions, me)
    comment.version += 1
    comment.edited_at = now
    session.add(comment)
    new_mentions = {u.id for u in mentions.values() if u.id is not None and u.id not in earlier}
    for uid in new_mentions:
        session.add(Mention(comment_id=comment.id or 0, user_id=uid, thread_id=thread.id or 0))
    thread.last_activity_at = now
    session.add(thread)
    if new_mentions:
        notifications.comment_posted(
            session=session,
            page_id=page.id or 0,
            slug=page.slug,
            title=page.title,
            thread_id=thread.id or 0,
            comment_id=comment.id or 0,
            actor=me,
            excerpt=_excerpt(body),
            participants=set(),
            mentioned=new_mentions,
        )
    search.enqueue(session=session, kind="comment", ref_id=comment.id or 0)
    session.commit()
    return comment


def delete_comment(*, session: Session, comment_id: int, user: User | None) -> Comment:
    """Remove your own comment; the thread stays readable with "comment removed"."""
    me = accounts.require_user(user, "comment.create")
    begin_write(session)
    comment = _comment_on_readable_page(session, comment_id, me)
    if comment.author_id != me.id:
        raise Forbidden(
            "You can only remove your own comments; facilitators can hide others' comments."
        )
    if comment.deleted_at is None:
        comment.deleted_at = utcnow()
        session.add(comment)
        _touch(session, comment.thread_id)
        search.enqueue(session=session, kind="comment", ref_id=comment.id or 0)
    session.commit()
    return comment


def hide_comment(*, session: Session, comment_id: int, reason: str, user: User | None) -> Comment:
    """A facilitator or admin hides a comment from readers, saying why."""
    me = accounts.require_user(user, "comment.moderate")
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid(
            "Say why the comment is hidden; participants will see the reason.", field="reason"
        )
    begin_write(session)
    comment = _comment_on_readable_page(session, comment_id, me)
    comment.hidden_at = utcnow()
    comment.hidden_by_id = me.id
    comment.hidden_reason = reason[:500]
    session.add(comment)
    _touch(session, comment.thread_id)
    search.enqueue(session=session, kind="comment", ref_id=comment.id or 0)
    session.commit()
    return comment


def unhide_comment(*, session: Session, comment_id: int, user: User | None) -> Comment:
    """Show a hidden comment again."""
    me = accounts.require_user(user, "comment.moderate")
    begin_write(session)
    comment = _comment_on_readable_page(session, comment_id, me)
    comment.hidden_at = None
    comment.hidden_by_id = None
    comment.hidden_reason = ""
    session.add(comment)
    _touch(session, comment.thread_id)
    search.enqueue(session=session, kind="comment", ref_id=comment.id or 0)
    session.commit()
    return comment


def _touch(session: Session, thread_id: int) -> None:
    thread = session.get(Thread, thread_id)
    if thread is not None:
        thread.last_activity_at = utcnow()
        session.add(thread)


def set_status(
    *, session: Session, thread_id: int, status: ThreadStatus, user: User | None
) -> Thread:
    """Resolve or reopen a thread: its author, editors, facilitators and admins may."""
    me = accounts.require_user(user, "comment.create")
    begin_write(session)
    thread = _thread_of_readable_page(session, thread_id, me)
    if thread.author_id != me.id and not accounts.can(me, "thread.resolve_any"):
        raise Forbidden("Only the person who started the discussion or an editor can do this.")
    page = _live_page(session, thread.page_id)
    if thread.status == status:
        session.commit()
        return thread
    now = utcnow()
    thread.status = status
    thread.resolved_at = now if status == ThreadStatus.resolved else None
    thread.resolved_by_id = me.id if status == ThreadStatus.resolved else None
    thread.last_activity_at = now
    session.add(thread)
    notifications.thread_status_changed(
        session=session,
        page_id=page.id or 0,
        slug=page.slug,
        title=page.title,
        thread_id=thread.id or 0,
        actor=me,
        participants=_participants(session, thread),
        resolved=status == ThreadStatus.resolved,
    )
    events.publish(
        session,
        events.Event(
            name="thread.resolved",
            actor_id=me.id,
            data={
                "thread_id": thread.id,
                "title": thread.title,
                "page_id": page.id,
                "slug": page.slug,
                "status": str(status),
            },
        ),
    )
    search.enqueue(session=session, kind="thread", ref_id=thread.id or 0)
    session.commit()
    return thread


# --- search sources -------------------------------------------------------------------------


def threads_by_id(*, session: Session, ids: Iterable[int]) -> list[ThreadView]:
    """Threads with their comments, for the search indexer."""
    rows = list(session.exec(select(Thread).where(col(Thread.id).in_(set(ids)))))
    return _views(session, rows, with_comments=True)


def comments_by_id(*, session: Session, ids: Iterable[int]) -> list[tuple[Comment, Thread]]:
    """Comments with their thread, for the search indexer."""
    rows = session.exec(
        select(Comment, Thread)
        .join(Thread, col(Thread.id) == col(Comment.thread_id))
        .where(col(Comment.id).in_(set(ids)))
    )
    return [(c, t) for c, t in rows]


def _where(page: Page, scope: str) -> str:
    # the page's address and restricted scope, short enough for any slug (versions are stored
    # in 64 characters)
    return hashlib.blake2b(f"{page.slug}@{scope}".encode(), digest_size=6).hexdigest()


def search_version(thread: Thread, page: Page, scope: str = "") -> str:
    """Changes whenever the thread's searchable state does (its page's address and restricted
    scope included)."""
    stamp = int(thread.last_activity_at.timestamp() * 1_000_000)
    return f"{thread.status}-{thread.comment_count}-{stamp}-{_where(page, scope)}"


def comment_search_version(comment: Comment, page: Page, scope: str = "") -> str:
    """Changes whenever the comment's text, its page's address or its scope does."""
    return f"{comment.version}-{_where(page, scope)}"


def thread_versions(*, session: Session, scope_of: Callable[[str], str]) -> dict[int, str]:
    """Thread id -> version of every thread on a live page, to reconcile the search index;
    ``scope_of(slug)`` is the search scope of a page's documents."""
    live = _live_pages(session)
    return {
        t.id or 0: search_version(t, live[t.page_id], scope_of(live[t.page_id].slug))
        for t in session.exec(select(Thread))
        if t.page_id in live
    }


def comment_versions_index(*, session: Session, scope_of: Callable[[str], str]) -> dict[int, str]:
    """Comment id -> version of every visible comment on a live page."""
    live = _live_pages(session)
    rows = session.exec(
        select(Comment.id, Comment.version, Thread.page_id)
        .join(Thread, col(Thread.id) == col(Comment.thread_id))
        .where(col(Comment.deleted_at).is_(None), col(Comment.hidden_at).is_(None))
    )
    return {
        cid or 0: f"{version}-{_where(live[page_id], scope_of(live[page_id].slug))}"
        for cid, version, page_id in rows
        if page_id in live
    }


def _live_pages(session: Session) -> dict[int, Page]:
    page_ids = set(session.exec(select(Thread.page_id).distinct()))
    found = pages.pages_by_id(session=session, ids=page_ids)
    return {pid: p for pid, p in found.items() if not p.is_deleted}


def documents_of_page(*, session: Session, page_id: int) -> list[tuple[str, int]]:
    """("thread", id) and ("comment", id) of everything discussed on a page."""
    threads = [t for t in session.exec(select(Thread.id).where(Thread.page_id == page_id)) if t]
    if not threads:
        return []
    comments = session.exec(select(Comment.id).where(col(Comment.thread_id).in_(threads)))
    return [("thread", t) for t in threads] + [("comment", c) for c in comments if c]


def pages_of(*, session: Session, threads: Sequence[Thread]) -> dict[int, Page]:
    """The pages of these threads, by id."""
    return pages.pages_by_id(session=session, ids={t.page_id for t in threads})


def authors_of(*, session: Session, comments: Sequence[Comment]) -> dict[int, User]:
    """The authors of these comments, by id."""
    return accounts.users_by_id(session=session, ids={c.author_id for c in comments})
