"""E-mail delivery of notifications through SMTP (off unless ``ATRIUM_SMTP_HOST`` is set).

Notifications for users with an address are created ``pending``; ``deliver_pending`` sends them in
batches. Several processes may run it at once: each batch is claimed with ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, and inside the IMMEDIATE (write-locked) transaction on SQLite, so no
notification is sent twice. Failed sends are retried with a doubling delay counted from the
notification's creation, and marked ``failed`` after ``mail_max_attempts`` tries.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from sqlalchemy import Engine, and_, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import User
from app.core.config import Settings
from app.core.db import begin_write, is_sqlite, open_session, settings_of
from app.core.time import as_utc, utcnow
from app.notifications import service as notifications
from app.notifications.models import EmailState, Notification, NotificationKind

log = logging.getLogger("atrium.mail")

# a worker that claimed a batch and died: the batch is sent again after this many seconds
CLAIM_LEASE_SECONDS = 300
BATCH_SIZE = 50


@dataclass
class Delivery:
    """What one delivery run did."""

    sent: int = 0
    retried: int = 0  # failed this time, will be tried again
    failed: int = 0  # gave up


# --- composing --------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    # header values must not contain line breaks (header injection); titles never should anyway
    return " ".join(text.split())


def subject_for(note: Notification, actor: User | None) -> str:
    """The subject line of the e-mail for a notification."""
    who = actor.label if actor else "Atrium"
    title = f"“{note.page_title}”"
    status = "reopened" if note.excerpt == "Reopened" else "resolved"
    text = {
        NotificationKind.mention: f"{who} mentioned you on {title}",
        NotificationKind.reply: f"{who} replied in a discussion on {title}",
        NotificationKind.new_thread: f"{who} started a discussion on {title}",
        NotificationKind.page_edit: f"{who} edited {title}",
        NotificationKind.resolved: f"{who} {status} a discussion on {title}",
        NotificationKind.decision: f"{who} recorded a decision: {title}",
        NotificationKind.review_due: f"A {'page' if note.page_slug else 'decision'} is due for "
        f"review: {title}",
    }.get(note.kind, f"{who}: {title}")
    return _one_line(f"[Atrium] {text}")


def _why(kind: NotificationKind, about_page: bool = False) -> str:
    if kind == NotificationKind.mention:
        return "You get this e-mail because you were mentioned."
    if kind in (NotificationKind.reply, NotificationKind.resolved):
        return "You get this e-mail because you took part in this discussion."
    if kind == NotificationKind.review_due and about_page:
        return "You get this e-mail because you are an owner of this page."
    if kind == NotificationKind.review_due:
        return "You get this e-mail because you are a decider of this decision."
    if kind == NotificationKind.decision:
        return "You get this e-mail because you decided, are informed of, or watch what it governs."
    return "You get this e-mail because you watch this page."


def compose(
    note: Notification, recipient: User, actor: User | None, settings: Settings
) -> EmailMessage:
    """The plain-text e-mail for one notification."""
    base = settings.base_url.rstrip("/")
    msg = EmailMessage()
    msg["Subject"] = subject_for(note, actor)
    msg["From"] = _one_line(settings.mail_from)
    msg["To"] = formataddr((_one_line(recipient.label), recipient.email or ""))
    msg["Message-ID"] = make_msgid(domain="atrium")
    msg["Auto-Submitted"] = "auto-generated"
    lines = [subject_for(note, actor).removeprefix("[Atrium] ") + ".", ""]
    if note.excerpt and note.kind != NotificationKind.resolved:
        lines += [f"> {note.excerpt}", ""]
    lines += [
        f"Open it: {base}{note.url}",
        "",
        "-- ",
        _why(note.kind, bool(note.page_slug)),
        f"Your inbox: {base}/inbox",
    ]
    msg.set_content("\n".join(lines) + "\n")
    return msg


# --- sending ----------------------------------------------------------------------------------


def connect(settings: Settings) -> smtplib.SMTP:
    """An open, logged-in SMTP connection (raises OSError or SMTPException)."""
    smtp = smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=settings.smtp_timeout)
    try:
        smtp.ehlo()
        if settings.smtp_starttls and smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        elif settings.smtp_starttls and settings.smtp_username:
            # never send a password in the clear to a server that cannot do TLS
            raise smtplib.SMTPNotSupportedError("the SMTP server does not offer STARTTLS")
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _due(settings: Settings, now: datetime) -> ColumnElement[bool]:
    """Pending notifications whose next try is due (attempt k waits retry * (2**k - 1) seconds),
    and claims a worker gave up on (it died while sending: the lease ran out)."""
    base = settings.mail_retry_seconds
    clauses = [
        and_(
            col(Notification.email_attempts) == k,
            col(Notification.created_at) <= now - timedelta(seconds=base * (2**k - 1)),
        )
        for k in range(max(1, settings.mail_max_attempts))
    ]
    stale = and_(
        col(Notification.email_state) == EmailState.sending,
        col(Notification.email_claimed_at) <= now - timedelta(seconds=CLAIM_LEASE_SECONDS),
    )
    return or_(and_(col(Notification.email_state) == EmailState.pending, or_(*clauses)), stale)


def _claim(session: Session, settings: Settings, now: datetime, limit: int) -> list[Notification]:
    """Pick a batch of due notifications for this worker (inside a write transaction)."""
    stmt = (
        select(Notification).where(_due(settings, now)).order_by(col(Notification.id)).limit(limit)
    )
    if not is_sqlite(session):
        # another worker's claimed rows are skipped, not waited for; SQLite's IMMEDIATE
        # transaction already keeps every other writer out
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.exec(stmt))


def _has_due(session: Session, settings: Settings, now: datetime) -> bool:
    found = session.exec(select(Notification.id).where(_due(settings, now)).limit(1)).first()
    session.rollback()  # end the read transaction before the write one
    return found is not None


def _failed_attempt(note: Notification, settings: Settings, report: Delivery) -> None:
    note.email_attempts += 1
    if note.email_attempts >= settings.mail_max_attempts:
        note.email_state = EmailState.failed
        report.failed += 1
    else:
        report.retried += 1


def deliver_pending(
    *, session: Session, limit: int = BATCH_SIZE, now: datetime | None = None
) -> Delivery:
    """Send one batch of pending notification e-mails; returns what happened."""
    settings = settings_of(session)
    report = Delivery()
    if not settings.mail_enabled:
        return report
    now = now or utcnow()
    if not _has_due(session, settings, now):
        return report
    # connect before claiming, so an unreachable server never holds the write lock
    try:
        smtp: smtplib.SMTP | None = connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("cannot reach SMTP server %s: %s", settings.smtp_host, exc)
        smtp = None
    try:
        # 1. claim a batch in a short write transaction: no lock is held while mail is sent
        begin_write(session)
        batch = _claim(session, settings, now, limit)
        for note in batch:
            note.email_state = EmailState.sending
            note.email_claimed_at = now
            session.add(note)
        ids = [n.id for n in batch]
        users = accounts.users_by_id(
            session=session, ids={n.user_id for n in batch} | {n.actor_id for n in batch}
        )
        # access may have changed since the notification was made: never mail a hidden page
        hidden = notifications.unreadable(session=session, notes=batch, users=users)
        session.commit()
        # 2. send, remembering each outcome
        outcome: dict[int | None, EmailState] = {}
        for note in batch:
            recipient = users.get(note.user_id)
            if recipient is None or not recipient.email or not recipient.is_active:
                outcome[note.id] = EmailState.none  # nobody to write to any more
            elif note.id in hidden:
                outcome[note.id] = EmailState.none  # about a page they may no longer read
            elif smtp is None:
                outcome[note.id] = EmailState.pending
            else:
                message = compose(note, recipient, users.get(note.actor_id or 0), settings)
                try:
                    smtp.send_message(message)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
                    # the server answered with an error: this message failed, the link is fine
                    log.warning("SMTP refused the e-mail to %s: %s", recipient.email, exc)
                    outcome[note.id] = EmailState.pending
                except (OSError, smtplib.SMTPException) as exc:
                    log.warning("SMTP send failed: %s", exc)
                    outcome[note.id] = EmailState.pending
                    with suppress(Exception):
                        smtp.close()
                    smtp = None  # the connection is gone; the rest of the batch counts a try
                else:
                    outcome[note.id] = EmailState.sent
        # 3. record the outcomes in a second short transaction
        if ids:
            begin_write(session)
            rows = session.exec(select(Notification).where(col(Notification.id).in_(ids)))
            for note in rows:
                claimed = note.email_claimed_at
                if note.email_state != EmailState.sending or claimed is None:
                    continue
                if as_utc(claimed) != as_utc(now):
                    continue  # another worker reclaimed it after our lease ran out
                state = outcome.get(note.id, EmailState.pending)
                note.email_claimed_at = None
                if state == EmailState.none:
                    note.email_state = EmailState.none
                elif state == EmailState.sent:
                    note.email_state = EmailState.sent
                    note.email_attempts += 1
                    report.sent += 1
                else:
                    note.email_state = EmailState.pending
                    _failed_attempt(note, settings, report)
                session.add(note)
            session.commit()
    finally:
        if smtp is not None:
            with suppress(Exception):
                smtp.quit()
    return report


def deliver_all(*, session: Session, now: datetime | None = None) -> Delivery:
    """Send batches until nothing is due (or a batch sends nothing)."""
    total = Delivery()
    while True:
        report = deliver_pending(session=session, now=now)
        total.sent += report.sent
        total.retried += report.retried
        total.failed += report.failed
        if report.sent == 0 or report.sent + report.retried + report.failed < BATCH_SIZE:
            return total


# --- the background task ----------------------------------------------------------------------


def _run_once(engine: Engine, settings: Settings) -> None:
    with open_session(engine, settings) as session:
        deliver_all(session=session)


@asynccontextmanager
async def delivery_task(engine: Engine, settings: Settings) -> AsyncIterator[None]:
    """Run deliveries every ``mail_interval`` seconds while the app runs (only when configured)."""
    if not settings.mail_enabled:
        yield
        return
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(_run_once, engine, settings)
            except Exception:
                log.exception("e-mail delivery failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.mail_interval)

    task = asyncio.create_task(loop(), name="atrium-mail")
    try:
        yield
    finally:
        # let a run in progress finish its transaction rather than cancel it in the middle
        stop.set()
        await task
