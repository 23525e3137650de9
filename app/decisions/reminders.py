"""The periodic review check: deciders hear when a decision's review date has come."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from sqlalchemy import Engine

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


@asynccontextmanager
async def review_task(
    engine: Engine, settings: Settings, interval: float = REVIEW_INTERVAL_SECONDS
) -> AsyncIterator[None]:
    """Check for due reviews at start-up and then every ``interval`` seconds while the app runs."""
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(run_once, engine, settings)
            except Exception:
                log.exception("decision review check failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    task = asyncio.create_task(loop(), name="atrium-decision-reviews")
    try:
        yield
    finally:
        stop.set()
        await task
