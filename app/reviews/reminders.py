"""The periodic review check: owners hear when a page's review date has come."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from sqlalchemy import Engine

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


@asynccontextmanager
async def review_task(
    engine: Engine, settings: Settings, interval: float = CHECK_INTERVAL_SECONDS
) -> AsyncIterator[None]:
    """Check for due page reviews at start-up and then every ``interval`` seconds."""
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(run_once, engine, settings)
            except Exception:
                log.exception("page review check failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    task = asyncio.create_task(loop(), name="atrium-page-reviews")
    try:
        yield
    finally:
        stop.set()
        await task
