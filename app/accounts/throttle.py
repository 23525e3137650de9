"""Sign-in throttling, counted in the database so that it holds across processes and servers.

Every failed sign-in is one ``LoginFailure`` row with the account tried and the client address.
An account (or an address, with a higher limit) that failed ``limit`` times within the window is
locked until its last failure plus the lock-out; each further lock-out within a day lasts twice
as long. While locked, passwords are not even checked. A successful sign-in clears the account
from its rows (its count restarts) but keeps them for its address, so one good account cannot
be used to reset an address that guesses at others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from app.accounts.models import LoginFailure
from app.core.config import Settings
from app.core.errors import TooManyRequests
from app.core.time import as_utc

FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class _Limit:
    column: str
    key: str
    limit: int


def _wait(session: Session, settings: Settings, lim: _Limit, now: datetime) -> float:
    field = col(getattr(LoginFailure, lim.column))
    times = session.exec(
        select(LoginFailure.at)
        .where(field == lim.key, col(LoginFailure.at) > now - FORGET_AFTER)
        .order_by(col(LoginFailure.at))
    ).all()
    # replay the day: ``limit`` failures within the window start a lock-out, each one twice
    # as long as the one before; failures before a lock-out do not count towards the next
    window = timedelta(minutes=settings.login_window_minutes)
    lockouts, until, counted = 0, None, list[datetime]()
    for raw in times:
        at = as_utc(raw)
        counted = [t for t in counted if t > at - window] + [at]
        if len(counted) >= lim.limit:
            lockouts += 1
            minutes = min(
                settings.login_lockout_minutes * 2 ** min(lockouts - 1, 20),
                settings.login_lockout_max_minutes,
            )
            until, counted = at + timedelta(minutes=minutes), []
    return max(0.0, (until - now).total_seconds()) if until is not None else 0.0


def _limits(settings: Settings, account: str, address: str) -> list[_Limit]:
    limits = [_Limit("account", account, settings.login_max_failures)]
    if address:
        limits.append(_Limit("address", address, settings.login_address_max_failures))
    return limits


def check(
    *, session: Session, settings: Settings, account: str, address: str, now: datetime
) -> None:
    """Raise TooManyRequests (with the wait) while the account or the address is locked."""
    wait = max(_wait(session, settings, lim, now) for lim in _limits(settings, account, address))
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        unit = "minute" if minutes == 1 else "minutes"
        raise TooManyRequests(
            f"Too many failed sign-ins; try again in {minutes} {unit}.",
            retry_after=math.ceil(wait),
        )


def record_failure(*, session: Session, account: str, address: str, now: datetime) -> None:
    """Count one failed sign-in (in the caller's write transaction) and forget day-old ones."""
    session.execute(delete(LoginFailure).where(col(LoginFailure.at) < now - FORGET_AFTER))
    session.add(LoginFailure(account=account[:64], address=address[:64], at=now))


def clear_account(*, session: Session, account: str) -> None:
    """Restart an account's count after a successful sign-in (its address keeps its count)."""
    session.execute(
        update(LoginFailure).where(col(LoginFailure.account) == account).values(account=None)
    )
