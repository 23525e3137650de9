"""A job run at start-up and then every so often while the app runs (off the event loop)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress


@asynccontextmanager
async def every(
    interval: float, job: Callable[[], object], *, name: str, log: logging.Logger
) -> AsyncIterator[None]:
    """Run ``job`` in a thread now and every ``interval`` seconds; failures are logged."""
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(job)
            except Exception:
                log.exception("%s failed", name)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    task = asyncio.create_task(loop(), name=f"atrium-{name.replace(' ', '-')}")
    try:
        yield
    finally:
        stop.set()
        await task
