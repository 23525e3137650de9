"""The audit log: record what happened (append only), list it and export it for admins.

There is deliberately no function that changes or removes an entry; on PostgreSQL a trigger
also refuses UPDATE, DELETE and TRUNCATE on the table.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.audit.schemas import AuditQuery
from app.core.errors import Forbidden, Unauthorized

# the client address of the request being served; set once per request by the app so that
# services deep down (the domain-events subscriber) can record it without knowing HTTP
client_address: ContextVar[str] = ContextVar("atrium_client_address", default="")

# what each action means, for the filter on the audit screen
ACTIONS: dict[str, str] = {
    "user.signed_in": "Signed in",
    "user.sign_in_failed": "Failed sign-in",
    "user.sign_in_refused": "Sign-in refused (throttled)",
    "user.signed_out": "Signed out",
    "user.signed_out_everywhere": "Signed out everywhere",
    "user.created": "User created",
    "user.disabled": "User disabled",
    "user.enabled": "User enabled",
    "user.role_changed": "Role changed",
    "user.password_changed": "Password changed",
    "user.sso_linked": "Linked to single sign-on",
    "access.group_created": "Group created",
    "access.group_changed": "Group renamed or described",
    "access.group_deleted": "Group deleted",
    "access.member_added": "Group member added",
    "access.member_removed": "Group member removed",
    "access.restriction_created": "Subtree restricted",
    "access.restriction_deleted": "Subtree restriction removed",
    "access.grant_set": "Group access granted",
    "access.grant_removed": "Group access removed",
    "token.created": "API token created",
    "token.revoked": "API token revoked",
    "token.used": "API token used",
    "page.saved": "Page saved",
    "page.moved": "Page moved",
    "page.deleted": "Page deleted",
    "thread.opened": "Discussion opened",
    "thread.resolved": "Discussion resolved or reopened",
    "decision.recorded": "Decision recorded",
    "workshop.closed": "Workshop closed",
}

PAGE_SIZE = 50
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def record(
    *,
    session: Session,
    action: str,
    actor: User | None = None,
    actor_id: int | None = None,
    actor_name: str = "",
    target: str = "",
    address: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to the caller's transaction (the caller commits it with its change)."""
    if actor is not None:
        actor_id, actor_name = actor.id, actor.username
    entry = AuditEntry(
        actor_id=actor_id,
        actor_name=actor_name[:64],
        action=action,
        target=target[:255],
        address=(client_address.get() if address is None else address)[:64],
        # JSON-safe whatever the caller passed (dates become text)
        details=json.loads(json.dumps(dict(details or {}), default=str)),
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    page: int
    pages: int


def _require_admin(user: User | None) -> None:
    # imported here: accounts records its events through this module
    from app.accounts import service as accounts

    if user is None:
        raise Unauthorized("Please sign in to read the audit log.")
    if not accounts.can(user, "audit.read"):
        raise Forbidden("Only administrators may read the audit log.")


def _filtered(stmt: SelectOfScalar[Any], flt: AuditQuery) -> SelectOfScalar[Any]:
    if flt.actor.strip():
        stmt = stmt.where(func.lower(AuditEntry.actor_name) == flt.actor.strip().lower())
    if flt.action.strip():
        action = flt.action.strip()
        # "page" or "page." means every page action
        if action.endswith(".") or "." not in action:
            prefix = action.rstrip(".") + "."
            stmt = stmt.where(func.substr(AuditEntry.action, 1, len(prefix)) == prefix)
        else:
            stmt = stmt.where(AuditEntry.action == action)
    if flt.target.strip():
        needle = flt.target.strip().lower()
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(func.lower(AuditEntry.target).like(pattern, escape="\\"))
    if flt.since is not None:
        stmt = stmt.where(col(AuditEntry.at) >= datetime.combine(flt.since, time(), UTC))
    if flt.until is not None:
        end = datetime.combine(flt.until + timedelta(days=1), time(), UTC)
        stmt = stmt.where(col(AuditEntry.at) < end)
    return stmt


def list_entries(
    *, session: Session, user: User | None, flt: AuditQuery, page: int = 1
) -> AuditPage:
    """One page of the audit log (newest first), narrowed by ``flt``; administrators only."""
    _require_admin(user)
    total = session.exec(_filtered(select(func.count()).select_from(AuditEntry), flt)).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = session.exec(
        _filtered(select(AuditEntry), flt)
        .order_by(col(AuditEntry.id).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return AuditPage(entries=list(rows), total=total, page=page, pages=pages)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # a spreadsheet would run a cell starting like a formula: make it plain text
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


CSV_HEADER = ("time", "actor_id", "actor", "action", "target", "address", "details")


def check_export(*, user: User | None) -> None:
    """Refuse the export before any byte is streamed unless ``user`` is an administrator."""
    _require_admin(user)


def export_csv(
    *, session: Session, user: User | None, flt: AuditQuery, batch: int = 500
) -> Iterator[str]:
    """The filtered log as CSV text chunks (oldest first), read in batches for streaming."""
    _require_admin(user)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    last_id = 0
    while True:
        rows = list(
            session.exec(
                _filtered(select(AuditEntry), flt)
                .where(col(AuditEntry.id) > last_id)
                .order_by(col(AuditEntry.id))
                .limit(batch)
            )
        )
        for e in rows:
            writer.writerow(
                [
                    _cell(e.at.isoformat()),
                    _cell(e.actor_id),
                    _cell(e.actor_name),
                    _cell(e.action),
                    _cell(e.target),
                    _cell(e.address),
                    _cell(_details_text(e.details)),
                ]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < batch:
            return
        last_id = rows[-1].id or 0


def _details_text(details: Mapping[str, Any]) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True) if details else ""
