"""The periodic review check: deciders hear when a decision's review date has come."""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager

from sqlalchemy import Engine

from app.core import periodic
from app.core.config import Settings
from app.core.db import open_session
from app.decisions import service

log = logging.getLogger("atrium.decisions")
# reminders are per day (idempotent via review_notified_on): checking hourly is plenty
REVIEW_INTERVAL_SECONDS = 3600.0


def run_once(engine: Engine, settings: Settings) -> int:
    """Send the review reminders that are due; returns how many decisions were due."""
    with open_session(engine, settings) as session:
        return service.send_review_reminders(session=session)


def review_task(
    engine: Engine, settings: Settings, interval: float = REVIEW_INTERVAL_SECONDS
) -> AbstractAsyncContextManager[None]:
    """Check for due reviews at start-up and then every ``interval`` seconds while the app runs."""
    return periodic.every(
        interval, lambda: run_once(engine, settings), name="decision review check", log=log
    )
