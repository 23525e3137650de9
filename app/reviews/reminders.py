"""The periodic review check: owners hear when a page's review date has come."""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager

from sqlalchemy import Engine

from app.core import periodic
from app.core.config import Settings
from app.core.db import open_session
from app.reviews import service

log = logging.getLogger("atrium.reviews")
# due dates are days and the check is idempotent per review date: hourly is plenty
CHECK_INTERVAL_SECONDS = 3600.0


def run_once(engine: Engine, settings: Settings) -> int:
    """Notify the owners of pages that became due; returns how many pages became due."""
    with open_session(engine, settings) as session:
        return service.send_due_notifications(session=session)


def review_task(
    engine: Engine, settings: Settings, interval: float = CHECK_INTERVAL_SECONDS
) -> AbstractAsyncContextManager[None]:
    """Check for due page reviews at start-up and then every ``interval`` seconds."""
    return periodic.every(
        interval, lambda: run_once(engine, settings), name="page review check", log=log
    )
