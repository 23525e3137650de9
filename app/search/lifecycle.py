"""Start and stop the search indexer with the web application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from app.core.config import Settings
from app.search.backends import release_backend
from app.search.indexer import Indexer


@asynccontextmanager
async def indexer_running(app: FastAPI, engine: Engine, settings: Settings) -> AsyncIterator[None]:
    """Every worker runs an indexer thread; only the one holding the lock writes to the index."""
    indexer = Indexer(settings, engine) if settings.search_indexer else None
    app.state.indexer = indexer
    if indexer is not None:
        indexer.start()
    try:
        yield
    finally:
        if indexer is not None:
            await asyncio.to_thread(indexer.stop)
        release_backend(settings, engine)
