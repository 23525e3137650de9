"""The permission matrix: every route of the HTML app and the API, called as an anonymous visitor
and as each role with a valid request, is allowed or refused as the role-by-action model says.

ROUTES names the action each route needs: an action of ``PERMISSIONS`` (app/accounts/service.py),
``public`` (anyone, as public reading is on) or ``signed_in`` (any signed-in user). Routes of a
workshop also depend on membership: they run twice, against a workshop the matrix's users are
part of (the facilitator runs it, the reader and the editor take part) and against one they are
not part of (only admins, who run every workshop, may act there). Routes on someone's own
things (their comments, tokens, proposals) run on the caller's own; those on others' things run
on things of another user, so the stronger permission is the one tested.

Allowed: a 2xx or 3xx answer (or a status the rule names). Refused: 401 for an anonymous
visitor, 403 for a signed-in one. Never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlmodel import Session
from starlette.routing import Route

from app.access import manage
from app.access.models import AccessLevel
from app.access.schemas import GroupCreate, RestrictionCreate
from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.service import PERMISSIONS
from app.core.config import Settings
from app.core.db import open_session
from app.core.errors import DomainError
from app.core.security import CSRF_HEADER
from app.main import create_app
from app.pages import service as pages
from app.workshops import room
from tests.conftest import module_settings
from tests.factories import csrf_from, login
from tests.http import permission_world as w
from tests.http.permission_world import OTHER, PAGE, PASSWORD, TARGET, USERNAMES

# --- what a request carries ---------------------------------------------------------------------


@dataclass
class Call:
    """The path parameters and the body (JSON, form or files) of one request."""

    path: dict[str, object] = field(default_factory=dict)
    json: Any = None
    data: dict[str, Any] | None = None
    files: Any = None
    query: dict[str, Any] | None = None


@dataclass
class Case:
    """What a rule's builder may use: a session on the app's database, the world, who asks."""

    session: Session
    world: w.World
    role: str
    members: bool

    @property
    def username(self) -> str | None:
        return USERNAMES.get(self.role)

    @property
    def owner(self) -> str:
        """Who owns the caller's own things (another user's for an anonymous visitor)."""
        return self.username or OTHER

    def workshop(self, *, live: bool) -> w.Workshop:
        return self.world.workshops[(self.members, live)]

    def fresh_workshop(self, *, live: bool) -> w.Workshop:
        return w.fresh_workshop(self.session, members=self.members, live=live)

    def head(self, slug: str = PAGE) -> int:
        page = pages.find_page(session=self.session, slug=slug)
        assert page is not None
        return page.head


Build = Callable[[Case], Call]


@dataclass(frozen=True)
class Rule:
    """The action a route needs, and how to build a valid request to it."""

    action: str
    build: Build = lambda _: Call()
    workshop: bool = False  # runs against a workshop of the matrix's users and one of others
    client: str = ""  # "login", "session", "pw" or "all": a client of its own (see _client)
    ok: frozenset[int] = frozenset()  # statuses besides 2xx/3xx that mean "allowed"
    # a form that those who may not use it are sent back from (303) to what it would change,
    # rather than refused; it shows them nothing they may not read
    bounce: bool = False


# --- builders -----------------------------------------------------------------------------------


def page(_: Case) -> Call:
    return Call({"slug": PAGE})


def fresh_page(c: Case, *, revisions: int = 1, deleted: bool = False) -> Call:
    slug = w.page_slug()
    w.fresh_page(c.session, slug=slug, revisions=revisions, deleted=deleted)
    return Call({"slug": slug})


def edit_form(c: Case) -> Call:
    call = fresh_page(c)
    call.data = {"title": "Edited", "body": "Edited.\n", "base": c.head(str(call.path["slug"]))}
    return call


def page_json(c: Case) -> Call:
    call = fresh_page(c)
    call.json = {"title": "Edited", "body": "Edited.\n", "base": c.head(str(call.path["slug"]))}
    return call


def section_form(c: Case, *, fresh: bool) -> Call:
    call = fresh_page(c) if fresh else page(c)
    slug = str(call.path["slug"])
    call.data = {"section": 1, "heading": "Purpose", "base": c.head(slug)}
    call.data["body"] = "## Purpose\n\nA new purpose.\n"
    return call


def attachment(c: Case) -> Call:
    return Call({"slug": PAGE, "name": c.world.attachment})


def fresh_attachment(c: Case, *, deleted: bool = False) -> Call:
    return Call({"slug": PAGE, "name": w.fresh_attachment(c.session, deleted=deleted)})


def thread(c: Case) -> Call:
    return Call({"thread_id": c.world.thread})


def others_thread(c: Case) -> Call:
    return Call({"thread_id": w.fresh_thread(c.session)[0]})


def own_comment(c: Case) -> Call:
    return Call({"comment_id": w.fresh_comment(c.session, author=c.owner)})


def others_comment(c: Case, *, hidden: bool = False) -> Call:
    return Call({"comment_id": w.fresh_comment(c.session, author=OTHER, hidden=hidden)})


def decision(c: Case) -> Call:
    return Call({"ref": c.world.decision, "value": c.world.decision})


def fresh_decision(c: Case, *, accepted: bool = False) -> Call:
    ref = w.accepted_decision(c.session) if accepted else w.fresh_decision(c.session)
    return Call({"ref": ref, "value": ref})


def proposal(c: Case) -> Call:
    return Call({"proposal_id": c.world.proposal})


def fresh_proposal(c: Case, *, own: bool = False, change: bool = False) -> Call:
    pid, cid = w.fresh_proposal(c.session, author=c.owner if own else OTHER, with_change=change)
    return Call({"proposal_id": pid, "change_id": cid})


def planned(c: Case) -> Call:
    ws = c.workshop(live=False)
    return Call({"workshop_id": ws.id, "item_id": ws.items[0]})


def live(c: Case) -> Call:
    ws = c.workshop(live=True)
    return Call({"workshop_id": ws.id, "item_id": ws.items[0], "idea_id": ws.idea})


def fresh_planned(c: Case) -> Call:
    ws = c.fresh_workshop(live=False)
    return Call({"workshop_id": ws.id, "item_id": ws.items[1], "username": OTHER})


def fresh_live(c: Case) -> Call:
    ws = c.fresh_workshop(live=True)
    return Call({"workshop_id": ws.id, "idea_id": ws.idea, "cluster_id": ws.cluster})


def fresh_idea(c: Case) -> Call:
    ws = c.workshop(live=True)
    return Call({"workshop_id": ws.id, "idea_id": w.fresh_idea(c.session, ws.id)})


def fresh_cluster(c: Case) -> Call:
    ws = c.workshop(live=True)
    cluster = w.fresh_cluster(c.session, ws.id, members=c.members)
    return Call({"workshop_id": ws.id, "cluster_id": cluster})


def my_dot(c: Case) -> Call:
    """An idea the caller put a dot on (when they may vote in the workshop)."""
    call = fresh_idea(c)
    if c.username is not None:
        try:
            room.place_dot(
                session=c.session,
                workshop_id=int(str(call.path["workshop_id"])),
                idea_id=int(str(call.path["idea_id"])),
                user=w.user(c.session, c.username),
            )
        except DomainError:
            c.session.rollback()  # not a member: the request is refused before the dot matters
    return call


def endpoint(c: Case) -> Call:
    return Call({"endpoint_id": c.world.endpoint, "delivery_id": c.world.delivery})


def fresh_endpoint(c: Case) -> Call:
    endpoint_id, delivery_id = w.fresh_endpoint(c.session)
    return Call({"endpoint_id": endpoint_id, "delivery_id": delivery_id})


def fresh_group(c: Case, *, member: str | None = None) -> Call:
    group = manage.create_group(
        session=c.session, user=accounts.system_actor(), data=GroupCreate(name=f"Group {n(c)}")
    )
    if member is not None:
        manage.add_member(
            session=c.session, user=accounts.system_actor(), group_id=group.id or 0, username=member
        )
    return Call({"group_id": group.id, "username": TARGET})


def fresh_restriction(c: Case, *, grant: bool = False) -> Call:
    """A restricted subtree with no page in it (it hides nothing the matrix uses)."""
    admin = accounts.system_actor()
    made = manage.create_restriction(
        session=c.session, user=admin, data=RestrictionCreate(root=f"matrix-closed/r{n(c)}")
    )
    group_id = fresh_group(c).path["group_id"]
    if grant:
        manage.set_grant(
            session=c.session,
            user=admin,
            restriction_id=made.id or 0,
            group_id=int(str(group_id)),
            level=AccessLevel.read,
        )
    return Call({"restriction_id": made.id, "group_id": group_id})


def with_json(build: Build, body: Any | Callable[[Case], Any]) -> Build:
    def made(c: Case) -> Call:
        call = build(c)
        call.json = body(c) if callable(body) else body
        return call

    return made


def with_form(build: Build, body: dict[str, Any] | Callable[[Case], dict[str, Any]]) -> Build:
    def made(c: Case) -> Call:
        call = build(c)
        call.data = body(c) if callable(body) else body
        return call

    return made


def with_query(build: Build, query: dict[str, Any]) -> Build:
    def made(c: Case) -> Call:
        call = build(c)
        call.query = query
        return call

    return made


def nothing(_: Case) -> Call:
    return Call()


def n(_: Case) -> int:
    return w.unique()


NEW_SLUG = lambda c: {"new_slug": f"matrix/moved{n(c)}"}  # noqa: E731
UPLOAD = {"file": ("upload.txt", b"Some notes.\n", "text/plain")}
WEBHOOK = {"url": "https://hooks.example.com/new", "events": ["page.saved"]}
DECISION_FORM = {"title": "A decided thing", "reason": "Because.", "status": "draft"}
STANCE = {"stance": "agree"}


# --- the matrix ---------------------------------------------------------------------------------

P = "public"
S = "signed_in"

ROUTES: dict[tuple[str, str], Rule] = {
    # meta
    ("GET", "/healthz"): Rule(P),
    ("GET", "/static/css/highlight.css"): Rule(P),
    # accounts: screens
    ("GET", "/login"): Rule(P),
    ("POST", "/login"): Rule(
        P,
        with_form(nothing, lambda c: {"username": c.owner, "password": PASSWORD, "next": "/"}),
        client="login",
    ),
    ("POST", "/logout"): Rule(P, client="session"),
    # single sign-on: off in the matrix (no issuer), so these answer 404 to everyone; signed in
    # or not, with it on, is tested against a stub provider in tests/http/test_sso.py
    ("GET", "/login/oidc"): Rule(P, ok=frozenset({404})),
    ("GET", "/login/oidc/callback"): Rule(P, ok=frozenset({404})),
    ("GET", "/account"): Rule("token.own"),
    ("POST", "/account/password"): Rule(
        S,
        with_form(nothing, {"current": PASSWORD, "new": "a different long passphrase 7"}),
        client="pw",
    ),
    ("POST", "/account/tokens"): Rule(
        "token.own", with_form(nothing, {"name": "cli", "scope": "read"})
    ),
    ("POST", "/account/tokens/{token_id}/revoke"): Rule(
        "token.own", lambda c: Call({"token_id": w.fresh_token(c.session, c.owner)})
    ),
    ("POST", "/account/logout-everywhere"): Rule("token.own", client="all"),
    ("GET", "/admin/users"): Rule("user.manage"),
    ("POST", "/admin/users/{username}/role"): Rule(
        "user.manage", with_form(lambda _: Call({"username": TARGET}), {"role": "reader"})
    ),
    ("POST", "/admin/users/{username}/active"): Rule(
        "user.manage", with_form(lambda _: Call({"username": TARGET}), {"active": "true"})
    ),
    # accounts: API
    ("POST", "/api/v1/tokens"): Rule(
        P, with_json(nothing, lambda c: {"username": c.owner, "password": PASSWORD})
    ),
    ("GET", "/api/v1/tokens"): Rule("token.own"),
    ("DELETE", "/api/v1/tokens/{token_id}"): Rule(
        "token.own", lambda c: Call({"token_id": w.fresh_token(c.session, c.owner)})
    ),
    # audit
    ("GET", "/admin/audit"): Rule("audit.read"),
    ("GET", "/admin/audit.csv"): Rule("audit.read"),
    ("GET", "/api/v1/audit"): Rule("audit.read"),
    # notifications
    ("GET", "/api/v1/notifications"): Rule("notification.read"),
    ("POST", "/api/v1/notifications/read"): Rule(
        "notification.read",
        with_json(nothing, lambda c: {"ids": w.notification_ids(c.session, c.username)}),
    ),
    ("GET", "/api/v1/notifications/unread-count"): Rule("notification.read"),
    ("GET", "/api/v1/pages/{slug:path}/watch"): Rule("page.watch", page),
    ("PUT", "/api/v1/pages/{slug:path}/watch"): Rule("page.watch", page),
    ("DELETE", "/api/v1/pages/{slug:path}/watch"): Rule("page.watch", page),
    ("GET", "/inbox"): Rule("notification.read"),
    ("GET", "/inbox/badge"): Rule(P),
    ("POST", "/inbox/read"): Rule("notification.read", with_form(nothing, {"all": "true"})),
    ("POST", "/watch/{slug:path}"): Rule("page.watch", page),
    ("POST", "/unwatch/{slug:path}"): Rule("page.watch", page),
    # discussions: API
    ("GET", "/api/v1/pages/{slug:path}/threads"): Rule(P, page),
    ("POST", "/api/v1/pages/{slug:path}/threads"): Rule(
        "comment.create", with_json(page, {"title": "A question", "body": "Why?"})
    ),
    ("GET", "/api/v1/threads/{thread_id}"): Rule(P, thread),
    ("PATCH", "/api/v1/threads/{thread_id}"): Rule(
        "thread.resolve_any", with_json(others_thread, {"status": "resolved"})
    ),
    ("POST", "/api/v1/threads/{thread_id}/comments"): Rule(
        "comment.create", with_json(thread, {"body": "Me too."})
    ),
    ("PATCH", "/api/v1/comments/{comment_id}"): Rule(
        "comment.create", with_json(own_comment, {"body": "Edited."})
    ),
    ("DELETE", "/api/v1/comments/{comment_id}"): Rule("comment.create", own_comment),
    ("POST", "/api/v1/comments/{comment_id}/hide"): Rule(
        "comment.moderate", with_json(others_comment, {"reason": "off topic"})
    ),
    ("DELETE", "/api/v1/comments/{comment_id}/hide"): Rule(
        "comment.moderate", lambda c: others_comment(c, hidden=True)
    ),
    ("GET", "/api/v1/comments/{comment_id}/versions"): Rule(
        P, lambda c: Call({"comment_id": c.world.comment})
    ),
    ("GET", "/api/v1/discussions"): Rule(P),
    ("GET", "/api/v1/me/discussions"): Rule(S),
    # discussions: screens
    ("GET", "/discuss/{slug:path}"): Rule(P, page),
    ("POST", "/discuss/{slug:path}"): Rule(
        "comment.create", with_form(page, {"title": "A question", "body": "Why?"})
    ),
    ("GET", "/threads/{thread_id}"): Rule(P, thread),
    ("POST", "/threads/{thread_id}/comments"): Rule(
        "comment.create", with_form(thread, {"body": "Me too."})
    ),
    ("POST", "/threads/{thread_id}/status"): Rule(
        "thread.resolve_any", with_form(others_thread, {"status": "resolved"})
    ),
    ("GET", "/comments/{comment_id}/edit"): Rule("comment.create", own_comment, bounce=True),
    ("POST", "/comments/{comment_id}/edit"): Rule(
        "comment.create", with_form(own_comment, {"body": "Edited."})
    ),
    ("POST", "/comments/{comment_id}/delete"): Rule("comment.create", own_comment),
    ("POST", "/comments/{comment_id}/hide"): Rule(
        "comment.moderate", with_form(others_comment, {"reason": "off topic"})
    ),
    ("POST", "/comments/{comment_id}/unhide"): Rule(
        "comment.moderate", lambda c: others_comment(c, hidden=True)
    ),
    ("GET", "/comments/{comment_id}/versions"): Rule(
        P, lambda c: Call({"comment_id": c.world.comment})
    ),
    ("GET", "/discussions"): Rule(P),
    ("GET", "/discussions/mine"): Rule(S),
    ("GET", "/users/suggest"): Rule(S, with_query(nothing, {"q": "ri"})),
    # attachments: API
    ("GET", "/api/v1/pages/{slug:path}/_attachments"): Rule(P, page),
    ("POST", "/api/v1/pages/{slug:path}/_attachments"): Rule(
        "page.edit", lambda _: Call({"slug": PAGE}, files=UPLOAD)
    ),
    ("GET", "/api/v1/pages/{slug:path}/_attachments/{name}"): Rule(P, attachment),
    ("GET", "/api/v1/pages/{slug:path}/_attachments/{name}/content"): Rule(P, attachment),
    ("GET", "/api/v1/pages/{slug:path}/_attachments/{name}/versions"): Rule(P, attachment),
    ("POST", "/api/v1/pages/{slug:path}/_attachments/{name}/versions/restore"): Rule(
        "page.edit", with_json(fresh_attachment, {"version": 1})
    ),
    ("DELETE", "/api/v1/pages/{slug:path}/_attachments/{name}"): Rule(
        "page.edit", fresh_attachment
    ),
    ("POST", "/api/v1/pages/{slug:path}/_attachments/{name}/undelete"): Rule(
        "page.edit", lambda c: fresh_attachment(c, deleted=True)
    ),
    # attachments: screens
    ("GET", "/wiki/{slug:path}/_attachments"): Rule(P, page),
    ("POST", "/wiki/{slug:path}/_attachments"): Rule(
        "page.edit", lambda _: Call({"slug": PAGE}, files=UPLOAD)
    ),
    ("GET", "/wiki/{slug:path}/_attachments/{name}"): Rule(P, attachment),
    ("POST", "/wiki/{slug:path}/_attachments/{name}/delete"): Rule("page.edit", fresh_attachment),
    ("POST", "/wiki/{slug:path}/_attachments/{name}/undelete"): Rule(
        "page.edit", lambda c: fresh_attachment(c, deleted=True)
    ),
    ("POST", "/wiki/{slug:path}/_attachments/{name}/restore"): Rule(
        "page.edit", with_form(fresh_attachment, {"number": 1})
    ),
    # sections
    ("GET", "/api/v1/pages/{slug:path}/sections"): Rule(P, page),
    ("PUT", "/api/v1/pages/{slug:path}/sections/{index}"): Rule(
        "page.edit",
        lambda c: _section_json(c),
    ),
    ("GET", "/edit-section/{slug:path}"): Rule(
        "page.edit", with_query(page, {"section": 1, "heading": "Purpose"})
    ),
    ("POST", "/draft-section/{slug:path}"): Rule(
        "page.edit", lambda c: section_form(c, fresh=False)
    ),
    ("POST", "/edit-section/{slug:path}"): Rule("page.edit", lambda c: section_form(c, fresh=True)),
    # pages: API
    ("GET", "/api/v1/pages"): Rule(P),
    ("POST", "/api/v1/pages"): Rule(
        "page.create",
        with_json(nothing, lambda c: {"slug": f"matrix/new{n(c)}", "title": "New", "body": "New."}),
    ),
    ("GET", "/api/v1/pages/{slug:path}/revisions/{number}"): Rule(
        P, lambda _: Call({"slug": PAGE, "number": 1})
    ),
    ("GET", "/api/v1/pages/{slug:path}/revisions"): Rule(P, page),
    ("GET", "/api/v1/pages/{slug:path}/diff"): Rule(P, with_query(page, {"from": 1, "to": 2})),
    ("POST", "/api/v1/pages/{slug:path}/revert"): Rule(
        "page.revert", with_json(lambda c: fresh_page(c, revisions=2), {"number": 1})
    ),
    ("POST", "/api/v1/pages/{slug:path}/move"): Rule("page.move", with_json(fresh_page, NEW_SLUG)),
    ("POST", "/api/v1/pages/{slug:path}/undelete"): Rule(
        "page.undelete", lambda c: fresh_page(c, deleted=True)
    ),
    ("GET", "/api/v1/pages/{slug:path}/backlinks"): Rule(P, page),
    ("GET", "/api/v1/pages/{slug:path}"): Rule(P, page),
    ("PUT", "/api/v1/pages/{slug:path}"): Rule("page.edit", page_json),
    ("DELETE", "/api/v1/pages/{slug:path}"): Rule("page.delete", fresh_page),
    ("GET", "/api/v1/changes"): Rule(P),
    ("GET", "/api/v1/tree"): Rule(P),
    ("GET", "/api/v1/orphans"): Rule(P),
    ("GET", "/api/v1/wanted"): Rule(P),
    ("POST", "/api/v1/preview"): Rule(P, with_json(nothing, {"body": "**bold**"})),
    # pages: screens
    ("GET", "/"): Rule(P),
    ("GET", "/wiki/{slug:path}"): Rule(P, page),
    ("GET", "/new"): Rule("page.create"),
    ("GET", "/edit/{slug:path}"): Rule("page.edit", page),
    ("POST", "/edit/{slug:path}"): Rule("page.edit", edit_form),
    ("POST", "/preview"): Rule(P, with_form(nothing, {"body": "**bold**"})),
    ("POST", "/draft/{slug:path}/discard"): Rule("page.edit", page),
    ("POST", "/draft/{slug:path}"): Rule(
        "page.edit",
        with_form(page, lambda c: {"title": "Draft", "body": "Draft.\n", "base": c.head()}),
    ),
    ("GET", "/move/{slug:path}"): Rule("page.move", page),
    ("POST", "/move/{slug:path}"): Rule("page.move", with_form(fresh_page, NEW_SLUG)),
    ("POST", "/delete/{slug:path}"): Rule("page.delete", fresh_page),
    ("POST", "/undelete/{slug:path}"): Rule("page.undelete", lambda c: fresh_page(c, deleted=True)),
    ("POST", "/revert/{slug:path}"): Rule(
        "page.revert", with_form(lambda c: fresh_page(c, revisions=2), {"number": 1})
    ),
    ("GET", "/history/{slug:path}"): Rule(P, page),
    ("GET", "/diff/{slug:path}"): Rule(P, with_query(page, {"from": 1, "to": 2})),
    ("GET", "/recent"): Rule(P),
    ("GET", "/recent.atom"): Rule(P),
    ("GET", "/special/tree"): Rule(P),
    ("GET", "/backlinks/{slug:path}"): Rule(P, page),
    ("GET", "/special/orphans"): Rule(P),
    ("GET", "/special/wanted"): Rule(P),
    ("GET", "/special/pages"): Rule(P),
    # decisions: API
    ("GET", "/api/v1/decisions"): Rule(P),
    ("POST", "/api/v1/decisions"): Rule("decision.record", with_json(nothing, {"title": "New"})),
    ("GET", "/api/v1/decisions/current/{ref}"): Rule(P, decision),
    ("GET", "/api/v1/decisions/{ref}"): Rule(P, decision),
    ("PUT", "/api/v1/decisions/{ref}"): Rule(
        "decision.record", with_json(fresh_decision, {"title": "Retitled"})
    ),
    ("POST", "/api/v1/decisions/{ref}/status"): Rule(
        "decision.record", with_json(fresh_decision, {"action": "propose"})
    ),
    ("POST", "/api/v1/decisions/{ref}/amend"): Rule(
        "decision.record",
        with_json(
            lambda c: fresh_decision(c, accepted=True), {"title": "Amended", "reason": "New facts."}
        ),
    ),
    ("POST", "/api/v1/decisions/{ref}/supersede"): Rule(
        "decision.record",
        with_json(lambda c: fresh_decision(c, accepted=True), {"title": "Replacement"}),
    ),
    ("GET", "/api/v1/decisions/{ref}/versions"): Rule(P, decision),
    ("GET", "/api/v1/decisions/{ref}/links"): Rule(P, decision),
    # decisions: screens
    ("GET", "/decisions"): Rule(P),
    ("GET", "/decisions/new"): Rule("decision.record"),
    ("POST", "/decisions/new"): Rule("decision.record", with_form(nothing, DECISION_FORM)),
    ("GET", "/decisions/current/{value}"): Rule(P, decision),
    ("GET", "/decisions/{value}"): Rule(P, decision),
    ("GET", "/decisions/{value}/edit"): Rule("decision.record", decision),
    ("POST", "/decisions/{value}/edit"): Rule(
        "decision.record", with_form(fresh_decision, DECISION_FORM)
    ),
    ("POST", "/decisions/{value}/amend"): Rule(
        "decision.record",
        with_form(lambda c: fresh_decision(c, accepted=True), DECISION_FORM),
    ),
    ("POST", "/decisions/{value}/status"): Rule(
        "decision.record", with_form(fresh_decision, {"action": "propose"})
    ),
    ("GET", "/decisions/{value}/versions"): Rule(P, decision),
    # search
    ("GET", "/api/v1/search"): Rule(P, with_query(nothing, {"q": "matrix"})),
    ("GET", "/search"): Rule(P, with_query(nothing, {"q": "matrix"})),
    ("GET", "/search/suggest"): Rule(P, with_query(nothing, {"q": "mat"})),
    # workshops: API
    ("GET", "/api/v1/workshops"): Rule(P),
    ("POST", "/api/v1/workshops"): Rule("workshop.create", with_json(nothing, {"title": "New"})),
    ("GET", "/api/v1/workshops/{workshop_id}"): Rule(S, live, workshop=True),
    ("PATCH", "/api/v1/workshops/{workshop_id}"): Rule(
        "workshop.run", with_json(planned, {"goal": "Agree."}), workshop=True
    ),
    ("POST", "/api/v1/workshops/{workshop_id}/members"): Rule(
        "workshop.run", with_json(planned, {"username": TARGET}), workshop=True
    ),
    ("DELETE", "/api/v1/workshops/{workshop_id}/members/{username}"): Rule(
        "workshop.run", fresh_planned, workshop=True
    ),
    ("POST", "/api/v1/workshops/{workshop_id}/items"): Rule(
        "workshop.run", with_json(planned, {"title": "More"}), workshop=True
    ),
    ("PATCH", "/api/v1/workshops/{workshop_id}/items/{item_id}"): Rule(
        "workshop.run", with_json(planned, {"timebox_minutes": 20}), workshop=True
    ),
    ("DELETE", "/api/v1/workshops/{workshop_id}/items/{item_id}"): Rule(
        "workshop.run", fresh_planned, workshop=True
    ),
    ("PUT", "/api/v1/workshops/{workshop_id}/items"): Rule(
        "workshop.run", lambda c: _reorder(c), workshop=True
    ),
    ("POST", "/api/v1/workshops/{workshop_id}/state"): Rule(
        "workshop.run", with_json(fresh_planned, {"state": "live"}), workshop=True
    ),
    ("POST", "/api/v1/workshops/{workshop_id}/timer"): Rule(
        "workshop.run", with_json(live, {"action": "start"}), workshop=True
    ),
    ("GET", "/api/v1/workshops/{workshop_id}/board"): Rule(S, live, workshop=True),
    ("POST", "/api/v1/workshops/{workshop_id}/ideas"): Rule(
        "workshop.take_part", with_json(live, {"body": "Another idea"}), workshop=True
    ),
    ("DELETE", "/api/v1/workshops/{workshop_id}/ideas/{idea_id}"): Rule(
        "workshop.run", fresh_idea, workshop=True
    ),
    ("PUT", "/api/v1/workshops/{workshop_id}/ideas/{idea_id}/cluster"): Rule(
        "workshop.run",
        with_json(fresh_idea, lambda c: {"cluster_id": c.workshop(live=True).cluster}),
        workshop=True,
    ),
    ("POST", "/api/v1/workshops/{workshop_id}/ideas/{idea_id}/merge"): Rule(
        "workshop.run",
        with_json(fresh_idea, lambda c: {"into_id": c.workshop(live=True).idea}),
        workshop=True,
    ),
    ("POST", "/api/v1/workshops/{workshop_id}/clusters"): Rule(
        "workshop.run", with_json(live, {"title": "Group"}), workshop=True
    ),
    ("DELETE", "/api/v1/workshops/{workshop_id}/clusters/{cluster_id}"): Rule(
        "workshop.run", fresh_cluster, workshop=True
    ),
    ("POST", "/api/v1/workshops/{workshop_id}/dots"): Rule(
        "workshop.take_part",
        with_json(fresh_idea, lambda c: {"idea_id": c.workshop(live=True).idea}),
        workshop=True,
    ),
    ("DELETE", "/api/v1/workshops/{workshop_id}/ideas/{idea_id}/dots"): Rule(
        "workshop.take_part", my_dot, workshop=True
    ),
    ("POST", "/api/v1/workshops/{workshop_id}/reveal"): Rule(
        "workshop.run", fresh_live, workshop=True
    ),
    ("POST", "/api/v1/workshops/{workshop_id}/next"): Rule(
        "workshop.run", with_json(fresh_live, {}), workshop=True
    ),
    # workshops: screens
    ("GET", "/workshops"): Rule(P),
    ("GET", "/workshops/new"): Rule("workshop.create"),
    ("POST", "/workshops"): Rule("workshop.create", with_form(nothing, {"title": "New"})),
    ("GET", "/workshops/{workshop_id}"): Rule(S, live, workshop=True),
    ("GET", "/workshops/{workshop_id}/live"): Rule(S, live, workshop=True),
    # written when a workshop closes; a closed workshop is open to every reader
    ("GET", "/workshops/{workshop_id}/summary.md"): Rule(
        P, lambda c: Call({"workshop_id": c.world.closed_workshop})
    ),
    ("GET", "/workshops/{workshop_id}/plan"): Rule("workshop.run", planned, workshop=True),
    ("POST", "/workshops/{workshop_id}/plan"): Rule(
        "workshop.run",
        with_form(planned, {"title": "Planned", "goal": "Agree.", "duration_minutes": 90}),
        workshop=True,
    ),
    ("POST", "/workshops/{workshop_id}/members"): Rule(
        "workshop.run", with_form(planned, {"username": TARGET}), workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/members/{username}/remove"): Rule(
        "workshop.run", fresh_planned, workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/items"): Rule(
        "workshop.run", with_form(planned, {"title": "More"}), workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/items/{item_id}"): Rule(
        "workshop.run", with_form(planned, {"title": "First", "timebox_minutes": 20}), workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/items/{item_id}/delete"): Rule(
        "workshop.run", fresh_planned, workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/items/{item_id}/move"): Rule(
        "workshop.run", with_form(fresh_planned, {"offset": -1}), workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/state"): Rule(
        "workshop.run", with_form(fresh_planned, {"state": "live"}), workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/timer"): Rule(
        "workshop.run", with_form(live, {"action": "start"}), workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/ideas"): Rule(
        "workshop.take_part", with_form(live, {"body": "Another idea"}), workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/ideas/{idea_id}/delete"): Rule(
        "workshop.run", fresh_idea, workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/ideas/{idea_id}/cluster"): Rule(
        "workshop.run",
        with_form(fresh_idea, lambda c: {"cluster_id": str(c.workshop(live=True).cluster)}),
        workshop=True,
    ),
    ("POST", "/workshops/{workshop_id}/ideas/{idea_id}/merge"): Rule(
        "workshop.run",
        with_form(fresh_idea, lambda c: {"into_id": c.workshop(live=True).idea}),
        workshop=True,
    ),
    ("POST", "/workshops/{workshop_id}/ideas/{idea_id}/dot"): Rule(
        "workshop.take_part", fresh_idea, workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/ideas/{idea_id}/undot"): Rule(
        "workshop.take_part", my_dot, workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/clusters"): Rule(
        "workshop.run", with_form(live, {"title": "Group"}), workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/clusters/{cluster_id}/delete"): Rule(
        "workshop.run", fresh_cluster, workshop=True
    ),
    ("POST", "/workshops/{workshop_id}/reveal"): Rule("workshop.run", fresh_live, workshop=True),
    ("POST", "/workshops/{workshop_id}/next"): Rule("workshop.run", fresh_live, workshop=True),
    # proposals: API
    ("GET", "/api/v1/proposals"): Rule(P),
    ("POST", "/api/v1/proposals"): Rule(
        "proposal.create", with_json(nothing, {"title": "Let us", "description": "Do it."})
    ),
    ("GET", "/api/v1/proposals/{proposal_id}"): Rule(P, proposal),
    ("PATCH", "/api/v1/proposals/{proposal_id}"): Rule(
        "decision.record", with_json(fresh_proposal, {"title": "Let us, now"})
    ),
    ("POST", "/api/v1/proposals/{proposal_id}/responses"): Rule(
        "proposal.respond", with_json(fresh_proposal, STANCE)
    ),
    ("GET", "/api/v1/proposals/{proposal_id}/tally"): Rule(P, proposal),
    ("POST", "/api/v1/proposals/{proposal_id}/close"): Rule(
        "decision.record", with_json(fresh_proposal, {"outcome": "rejected"})
    ),
    ("PUT", "/api/v1/proposals/{proposal_id}/changes/{change_id}"): Rule(
        "decision.record",
        with_json(
            lambda c: fresh_proposal(c, change=True),
            lambda c: {"base": c.head(), "body": "Rewritten.\n"},
        ),
    ),
    ("POST", "/api/v1/proposals/{proposal_id}/withdraw"): Rule(
        "proposal.respond", lambda c: fresh_proposal(c, own=True)
    ),
    ("GET", "/api/v1/proposals/{proposal_id}/versions"): Rule(P, proposal),
    # proposals: screens
    ("GET", "/proposals"): Rule(P),
    ("GET", "/proposals/new"): Rule("proposal.create"),
    ("POST", "/proposals/new"): Rule(
        "proposal.create", with_form(nothing, {"title": "Let us", "description": "Do it."})
    ),
    ("GET", "/proposals/{proposal_id}"): Rule(P, proposal),
    ("GET", "/proposals/{proposal_id}/tally"): Rule(P, proposal),
    ("POST", "/proposals/{proposal_id}/respond"): Rule(
        "proposal.respond", with_form(fresh_proposal, STANCE)
    ),
    ("GET", "/proposals/{proposal_id}/edit"): Rule("decision.record", proposal, bounce=True),
    ("POST", "/proposals/{proposal_id}/edit"): Rule(
        "decision.record",
        with_form(fresh_proposal, {"title": "Let us, now", "description": "Do it."}),
    ),
    ("POST", "/proposals/{proposal_id}/close"): Rule(
        "decision.record", with_form(fresh_proposal, {"outcome": "rejected"})
    ),
    ("POST", "/proposals/{proposal_id}/withdraw"): Rule(
        "proposal.respond", lambda c: fresh_proposal(c, own=True)
    ),
    ("GET", "/proposals/{proposal_id}/versions"): Rule(P, proposal),
    # page reviews and stewardship
    ("GET", "/api/v1/reviews"): Rule(P),
    ("POST", "/api/v1/stewardship/{slug:path}/reviewed"): Rule(
        "page.steward", with_json(page, {"note": "Still right."})
    ),
    ("GET", "/api/v1/stewardship/{slug:path}"): Rule(P, page),
    ("PATCH", "/api/v1/stewardship/{slug:path}"): Rule(
        "page.steward", with_json(page, {"review_months": 6})
    ),
    ("GET", "/reviews"): Rule(P),
    ("GET", "/stewardship/{slug:path}"): Rule("page.steward", page),
    ("POST", "/stewardship/{slug:path}"): Rule(
        "page.steward", with_form(page, {"owners": OTHER, "status": "draft", "review_months": "6"})
    ),
    ("POST", "/mark-reviewed/{slug:path}"): Rule(
        "page.steward", with_form(page, {"note": "Still right."})
    ),
    # webhooks: API
    ("GET", "/api/v1/webhooks"): Rule("webhook.manage"),
    ("POST", "/api/v1/webhooks"): Rule("webhook.manage", with_json(nothing, WEBHOOK)),
    ("GET", "/api/v1/webhooks/{endpoint_id}"): Rule("webhook.manage", endpoint),
    ("PATCH", "/api/v1/webhooks/{endpoint_id}"): Rule(
        "webhook.manage", with_json(endpoint, {"description": "Ours"})
    ),
    ("DELETE", "/api/v1/webhooks/{endpoint_id}"): Rule("webhook.manage", fresh_endpoint),
    ("POST", "/api/v1/webhooks/{endpoint_id}/rotate-secret"): Rule(
        "webhook.manage", with_json(fresh_endpoint, {})
    ),
    ("GET", "/api/v1/webhooks/{endpoint_id}/deliveries"): Rule("webhook.manage", endpoint),
    ("GET", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}"): Rule(
        "webhook.manage", endpoint
    ),
    ("POST", "/api/v1/webhooks/{endpoint_id}/test"): Rule("webhook.manage", endpoint),
    ("POST", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver"): Rule(
        "webhook.manage", fresh_endpoint
    ),
    # webhooks: screens
    ("GET", "/admin/webhooks"): Rule("webhook.manage"),
    ("GET", "/admin/webhooks/new"): Rule("webhook.manage"),
    ("POST", "/admin/webhooks/new"): Rule("webhook.manage", with_form(nothing, WEBHOOK)),
    ("GET", "/admin/webhooks/{endpoint_id}"): Rule("webhook.manage", endpoint),
    ("GET", "/admin/webhooks/{endpoint_id}/deliveries"): Rule("webhook.manage", endpoint),
    ("GET", "/admin/webhooks/{endpoint_id}/edit"): Rule("webhook.manage", endpoint),
    ("POST", "/admin/webhooks/{endpoint_id}/edit"): Rule(
        "webhook.manage", with_form(fresh_endpoint, {**WEBHOOK, "active": "on"})
    ),
    ("POST", "/admin/webhooks/{endpoint_id}/active"): Rule(
        "webhook.manage", with_form(fresh_endpoint, {"active": "false"})
    ),
    ("POST", "/admin/webhooks/{endpoint_id}/rotate"): Rule("webhook.manage", fresh_endpoint),
    ("POST", "/admin/webhooks/{endpoint_id}/delete"): Rule("webhook.manage", fresh_endpoint),
    ("POST", "/admin/webhooks/{endpoint_id}/test"): Rule("webhook.manage", endpoint),
    ("POST", "/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver"): Rule(
        "webhook.manage", fresh_endpoint
    ),
}


def _section_json(c: Case) -> Call:
    call = fresh_page(c)
    call.path["index"] = 1
    slug = str(call.path["slug"])
    call.json = {"base": c.head(slug), "heading": "Purpose", "text": "## Purpose\n\nNew.\n"}
    return call


def _reorder(c: Case) -> Call:
    ws = c.fresh_workshop(live=False)
    return Call({"workshop_id": ws.id}, json={"item_ids": list(reversed(ws.items))})


def _grant_form(c: Case) -> Call:
    call = fresh_restriction(c)
    call.data = {"group_id": call.path.pop("group_id"), "level": "edit"}
    return call


# groups and restricted subtrees (admins only): screens and API
ACCESS: dict[tuple[str, str], Rule] = {
    key: Rule("access.manage", build)
    for key, build in [
        (("GET", "/admin/access"), nothing),
        (("POST", "/admin/access/groups"), with_form(nothing, lambda c: {"name": f"G{n(c)}"})),
        (
            ("POST", "/admin/access/groups/{group_id}/edit"),
            with_form(fresh_group, lambda c: {"name": f"Renamed {n(c)}", "description": ""}),
        ),
        (("POST", "/admin/access/groups/{group_id}/delete"), fresh_group),
        (
            ("POST", "/admin/access/groups/{group_id}/members"),
            with_form(fresh_group, {"username": TARGET}),
        ),
        (
            ("POST", "/admin/access/groups/{group_id}/members/{username}/remove"),
            lambda c: fresh_group(c, member=TARGET),
        ),
        (
            ("POST", "/admin/access/restrictions"),
            with_form(nothing, lambda c: {"root": f"matrix-closed/new{n(c)}"}),
        ),
        (("POST", "/admin/access/restrictions/{restriction_id}/delete"), fresh_restriction),
        (("POST", "/admin/access/restrictions/{restriction_id}/grants"), _grant_form),
        (
            ("POST", "/admin/access/restrictions/{restriction_id}/grants/{group_id}/remove"),
            lambda c: fresh_restriction(c, grant=True),
        ),
        (("GET", "/api/v1/groups"), nothing),
        (("POST", "/api/v1/groups"), with_json(nothing, lambda c: {"name": f"G{n(c)}"})),
        (("GET", "/api/v1/groups/{group_id}"), fresh_group),
        (
            ("PATCH", "/api/v1/groups/{group_id}"),
            with_json(fresh_group, lambda c: {"description": f"D{n(c)}"}),
        ),
        (("DELETE", "/api/v1/groups/{group_id}"), fresh_group),
        (("GET", "/api/v1/groups/{group_id}/members"), fresh_group),
        (
            ("POST", "/api/v1/groups/{group_id}/members"),
            with_json(fresh_group, {"username": TARGET}),
        ),
        (
            ("DELETE", "/api/v1/groups/{group_id}/members/{username}"),
            lambda c: fresh_group(c, member=TARGET),
        ),
        (("GET", "/api/v1/restrictions"), nothing),
        (
            ("POST", "/api/v1/restrictions"),
            with_json(nothing, lambda c: {"root": f"matrix-closed/new{n(c)}"}),
        ),
        (("GET", "/api/v1/restrictions/{restriction_id}"), fresh_restriction),
        (("DELETE", "/api/v1/restrictions/{restriction_id}"), fresh_restriction),
        (("GET", "/api/v1/restrictions/{restriction_id}/grants"), fresh_restriction),
        (
            ("PUT", "/api/v1/restrictions/{restriction_id}/grants/{group_id}"),
            with_json(fresh_restriction, {"level": "read"}),
        ),
        (
            ("DELETE", "/api/v1/restrictions/{restriction_id}/grants/{group_id}"),
            lambda c: fresh_restriction(c, grant=True),
        ),
    ]
}
ROUTES.update(ACCESS)


# --- the app's routes ---------------------------------------------------------------------------

# generated documentation and its assets are not part of the permission model
NOT_IN_MATRIX = {"/openapi.json", "/docs", "/docs/oauth2-redirect"}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, HTML and API, without static files and docs."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path
        if not isinstance(route, APIRoute | Route) or path is None or path in NOT_IN_MATRIX:
            continue
        found.update((method, path) for method in context.methods or () if method != "HEAD")
    return found


def test_every_route_is_in_the_matrix(tmp_path: Path) -> None:
    """A new route cannot escape the matrix, and the matrix names no route that is gone."""
    routes = app_routes(create_app(Settings(data_dir=tmp_path, secret_key="routes")))
    missing = sorted(routes - ROUTES.keys())
    assert not missing, f"routes without a row in the permission matrix: {missing}"
    stale = sorted(ROUTES.keys() - routes)
    assert not stale, f"rows of the permission matrix for routes that no longer exist: {stale}"


def test_matrix_actions_exist() -> None:
    """Each rule names an action of the permission model (or public / signed_in)."""
    known = set().union(*PERMISSIONS.values()) | {P, S}
    assert {rule.action for rule in ROUTES.values()} <= known


def test_documented_matrix_matches_the_model() -> None:
    """The role-by-action table in docs/security.md says what PERMISSIONS says."""
    text = (Path(__file__).parents[2] / "docs" / "security.md").read_text()
    section = text.split("## Permission matrix", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        documented[cells[0].strip("`")] = [cell == "✓" for cell in cells[1:]]
    levels = list(w.ROLES.values())
    expected = {
        action: [action in PERMISSIONS[level] for level in levels]
        for action in set().union(*PERMISSIONS.values())
    }
    assert documented == expected


def allowed(rule: Rule, role: str, members: bool) -> bool:
    """What the permission model says about ``role`` on this route."""
    if rule.action == P:
        return True
    level = w.ROLES[role]
    if level is None:
        return False
    may = rule.action == S or rule.action in PERMISSIONS[level]
    # admins take part in and run every workshop; nobody else acts in one they are not part of
    return may and (members or level == Role.admin)


# --- running the cases --------------------------------------------------------------------------


@dataclass
class Matrix:
    """The app with its world, a signed-in client and a bearer token per role."""

    app: FastAPI
    settings: Settings
    world: w.World
    anonymous: TestClient
    clients: dict[str, TestClient]
    csrf: dict[str, str]
    tokens: dict[str, str]
    # requests that must be refused do not use up what they name: one build serves every role
    refused: dict[tuple[str, str, str, bool], Call] = field(default_factory=dict)


@pytest.fixture(scope="module")
def matrix(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Matrix]:
    data = tmp_path_factory.mktemp("matrix")
    with (
        module_settings(
            request, data, secret_key="matrix", webhook_worker=False, search_indexer=False
        ) as settings,
        _matrix(settings) as found,
    ):
        yield found


@contextmanager
def _matrix(settings: Settings) -> Iterator[Matrix]:
    app = create_app(settings)
    with (
        pytest.MonkeyPatch.context() as patch,
        TestClient(app) as anonymous,
        open_session(app.state.engine, settings) as session,
    ):
        # the matrix makes a dozen users and signs in dozens of times; the strength of the
        # password hash is not what it tests, so a cheap one keeps it quick
        patch.setattr(
            accounts,
            "_hasher",
            PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)),
        )
        world = w.build(session)
        clients = {}
        csrf = {"anonymous": csrf_from(anonymous.get("/login").text)}
        tokens = {}
        for role, name in USERNAMES.items():
            clients[role] = TestClient(app)  # the lifespan already runs for `anonymous`
            csrf[role] = login(clients[role], name)
            tokens[role] = accounts.create_token(session=session, username=name)[1]
        yield Matrix(app, settings, world, anonymous, clients, csrf, tokens)


def _workshop_proposal(c: Case) -> Call:
    ws = c.workshop(live=True)
    return Call({"proposal_id": w.workshop_proposal(c.session, ws, members=c.members)})


# a proposal made in a workshop belongs to it: its members see it and respond, the workshop's
# facilitators close it (and edit another's), and until the workshop closes outsiders see nothing
WORKSHOP_PROPOSALS: dict[tuple[str, str], Rule] = {
    key: Rule(action, build, workshop=True, bounce=bounce)
    for key, action, build, bounce in [
        (("GET", "/api/v1/proposals/{proposal_id}"), S, _workshop_proposal, False),
        (("GET", "/api/v1/proposals/{proposal_id}/tally"), S, _workshop_proposal, False),
        (("GET", "/api/v1/proposals/{proposal_id}/versions"), S, _workshop_proposal, False),
        (
            ("POST", "/api/v1/proposals/{proposal_id}/responses"),
            "workshop.take_part",
            with_json(_workshop_proposal, STANCE),
            False,
        ),
        (
            ("PATCH", "/api/v1/proposals/{proposal_id}"),
            "workshop.run",
            with_json(_workshop_proposal, {"title": "Retitled"}),
            False,
        ),
        (
            ("POST", "/api/v1/proposals/{proposal_id}/close"),
            "workshop.run",
            with_json(_workshop_proposal, {"outcome": "rejected"}),
            False,
        ),
        (("GET", "/proposals/{proposal_id}"), S, _workshop_proposal, False),
        (("GET", "/proposals/{proposal_id}/tally"), S, _workshop_proposal, False),
        (("GET", "/proposals/{proposal_id}/versions"), S, _workshop_proposal, False),
        (
            ("POST", "/proposals/{proposal_id}/respond"),
            "workshop.take_part",
            with_form(_workshop_proposal, STANCE),
            False,
        ),
        (("GET", "/proposals/{proposal_id}/edit"), "workshop.run", _workshop_proposal, True),
        (
            ("POST", "/proposals/{proposal_id}/edit"),
            "workshop.run",
            with_form(_workshop_proposal, {"title": "Retitled", "description": ""}),
            False,
        ),
        (
            ("POST", "/proposals/{proposal_id}/close"),
            "workshop.run",
            with_form(_workshop_proposal, {"outcome": "rejected"}),
            False,
        ),
    ]
}
TABLES = {"route": ROUTES, "workshop proposal": WORKSHOP_PROPOSALS}


def _cases() -> Iterator[Any]:
    for table, rules in TABLES.items():
        for (method, path), rule in rules.items():
            for members in (True, False) if rule.workshop else (True,):
                for role in w.ROLES:
                    where = "" if not rule.workshop else " member" if members else " outsider"
                    where += "" if table == "route" else f" ({table})"
                    case = f"{method} {path}{where} {role}"
                    yield pytest.param(table, method, path, role, members, id=case)


def _client(m: Matrix, rule: Rule, role: str) -> tuple[TestClient, str]:
    """The client to send the request with, and its CSRF token.

    Requests that sign in, sign out or change a password get a client of their own, so the
    role's client stays signed in; those that end every session of a user or change their
    password act as a spare user of the same role.
    """
    name = USERNAMES.get(role)
    if not rule.client:
        return (m.clients[role], m.csrf[role]) if name else (m.anonymous, m.csrf["anonymous"])
    own = TestClient(m.app)
    if name is None or rule.client == "login":
        return own, csrf_from(own.get("/login").text)
    spare = {"pw": f"pw-{name}", "all": f"all-{name}"}.get(rule.client, name)
    return own, login(own, spare)


def _send(m: Matrix, method: str, path: str, rule: Rule, role: str, call: Call) -> Any:
    url = path
    for key, value in call.path.items():
        url = url.replace(f"{{{key}:path}}", str(value)).replace(f"{{{key}}}", str(value))
    assert "{" not in url, f"no value for a path parameter of {url}"
    api = path.startswith("/api/")
    if api and role in m.tokens:
        client, headers = m.anonymous, {"Authorization": f"Bearer {m.tokens[role]}"}
    else:
        client, token = _client(m, rule, role)
        headers = {CSRF_HEADER: token}
    try:
        return client.request(
            method,
            url,
            params=call.query,
            json=call.json,
            data=call.data,
            files=call.files,
            headers=headers,
            follow_redirects=False,
        )
    finally:
        if rule.client:
            client.close()


@pytest.mark.parametrize(("table", "method", "path", "role", "members"), list(_cases()))
def test_permission(
    matrix: Matrix, table: str, method: str, path: str, role: str, members: bool
) -> None:
    rule = TABLES[table][(method, path)]
    may = allowed(rule, role, members)
    call = None if may else matrix.refused.get((table, method, path, members))
    if call is None:
        with open_session(matrix.app.state.engine, matrix.settings) as session:
            call = rule.build(Case(session, matrix.world, role, members))
        if not may:
            matrix.refused[(table, method, path, members)] = call
    response = _send(matrix, method, path, rule, role, call)
    status = response.status_code
    shown = f"{method} {path} as {role}: {status} {response.text[:300]}"
    assert status != 500, shown
    if may:
        assert status < 400 or status in rule.ok, shown
    elif rule.bounce and (not rule.workshop or allowed(Rule(S), role, members)):
        # sent back to what they may read (one who may not even read it is refused below)
        assert status == 303, shown
        assert "/edit" not in response.headers["location"], shown
    elif role == "anonymous":
        assert status == 401, shown
    else:
        assert status == 403, shown
        # refused by the permission model, not for want of a CSRF token
        assert "missing CSRF token" not in response.text, shown


# what a visitor may still reach when public reading is off: signing in and out, the health check
OPEN_WHEN_PRIVATE = {
    ("GET", "/"),  # only a redirect to /wiki/home, which asks for a sign-in
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/login/oidc"),  # single sign-on (404 here: not configured in the matrix)
    ("GET", "/login/oidc/callback"),
    ("POST", "/api/v1/tokens"),  # a username and password for a token: a sign-in
    ("GET", "/healthz"),
    ("GET", "/inbox/badge"),  # answers empty, so a page left open does not fill with errors
    ("GET", "/static/css/highlight.css"),
}


@pytest.mark.parametrize(
    ("method", "path"),
    [pytest.param(*key, id=" ".join(key)) for key, rule in ROUTES.items() if rule.action == P],
)
def test_private_wiki_refuses_visitors(
    matrix: Matrix, monkeypatch: pytest.MonkeyPatch, method: str, path: str
) -> None:
    """With public reading off, what anyone could read needs a sign-in too."""
    rule = ROUTES[(method, path)]
    with open_session(matrix.app.state.engine, matrix.settings) as session:
        call = rule.build(Case(session, matrix.world, "anonymous", members=True))
    monkeypatch.setattr(matrix.settings, "public_read", False)
    response = _send(matrix, method, path, rule, "anonymous", call)
    shown = f"{method} {path}: {response.status_code} {response.text[:300]}"
    if (method, path) in OPEN_WHEN_PRIVATE:
        assert response.status_code < 400 or response.status_code in rule.ok, shown
    else:
        assert response.status_code == 401, shown


# --- someone else's things ----------------------------------------------------------------------


@dataclass(frozen=True)
class Theirs:
    """A route that acts on one's own things, called on another user's (or, for threads, on the
    caller's own, where the author's right is wider than the role's)."""

    action: str  # who may do it to another's thing ("nobody": not even an admin)
    build: Build
    hidden: bool = False  # refused as 404: whether someone else's exists is not told
    bounce: bool = False


NOBODY = "nobody"


def _others_token(c: Case) -> Call:
    return Call({"token_id": w.fresh_token(c.session, OTHER)})


def _own_thread(c: Case) -> Call:
    return Call({"thread_id": w.fresh_thread(c.session, author=c.owner)[0]})


THEIRS: dict[tuple[str, str], Theirs] = {
    # a hidden comment's earlier texts are for moderators; to others it is gone
    ("GET", "/api/v1/comments/{comment_id}/versions"): Theirs(
        "comment.moderate", lambda c: others_comment(c, hidden=True), hidden=True
    ),
    ("GET", "/comments/{comment_id}/versions"): Theirs(
        "comment.moderate", lambda c: others_comment(c, hidden=True), hidden=True
    ),
    ("PATCH", "/api/v1/comments/{comment_id}"): Theirs(
        NOBODY, with_json(others_comment, {"body": "Not mine."})
    ),
    ("DELETE", "/api/v1/comments/{comment_id}"): Theirs(NOBODY, others_comment),
    ("GET", "/comments/{comment_id}/edit"): Theirs(NOBODY, others_comment, bounce=True),
    ("POST", "/comments/{comment_id}/edit"): Theirs(
        NOBODY, with_form(others_comment, {"body": "Not mine."})
    ),
    ("POST", "/comments/{comment_id}/delete"): Theirs(NOBODY, others_comment),
    # admins may revoke anyone's token; to others, another's token does not exist
    ("DELETE", "/api/v1/tokens/{token_id}"): Theirs("user.manage", _others_token, hidden=True),
    ("POST", "/account/tokens/{token_id}/revoke"): Theirs(
        "user.manage", _others_token, hidden=True
    ),
    ("POST", "/api/v1/proposals/{proposal_id}/withdraw"): Theirs(NOBODY, fresh_proposal),
    ("POST", "/proposals/{proposal_id}/withdraw"): Theirs(NOBODY, fresh_proposal),
    # whoever started a discussion may resolve it, whatever their role
    ("PATCH", "/api/v1/threads/{thread_id}"): Theirs(
        "comment.create", with_json(_own_thread, {"status": "resolved"})
    ),
    ("POST", "/threads/{thread_id}/status"): Theirs(
        "comment.create", with_form(_own_thread, {"status": "resolved"})
    ),
}


def test_extra_tables_name_matrix_routes() -> None:
    assert THEIRS.keys() <= ROUTES.keys()
    assert WORKSHOP_PROPOSALS.keys() <= ROUTES.keys()


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        pytest.param(*key, role, id=f"{' '.join(key)} {role}")
        for key in THEIRS
        for role in w.ROLES
        if role != "anonymous"
    ],
)
def test_someone_elses_things(matrix: Matrix, method: str, path: str, role: str) -> None:
    """Own things are one's own: another's comments, tokens and proposals are refused."""
    rule = THEIRS[(method, path)]
    with open_session(matrix.app.state.engine, matrix.settings) as session:
        call = rule.build(Case(session, matrix.world, role, members=True))
    response = _send(matrix, method, path, Rule(rule.action), role, call)
    status = response.status_code
    shown = f"{method} {path} as {role}: {status} {response.text[:300]}"
    level = w.ROLES[role]
    assert level is not None
    if rule.action != NOBODY and rule.action in PERMISSIONS[level]:
        assert status < 400, shown
    elif rule.bounce:
        assert status == 303, shown
    else:
        assert status == (404 if rule.hidden else 403), shown
