"""The application factory."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Response
from fastapi.staticfiles import StaticFiles

from app.core import handlers, heap, problems
from app.core.browser import BrowserSecurity
from app.core.config import Settings
from app.core.db import ROOT, make_engine
from app.core.deps import csrf_protect, remember_client
from app.decisions import reminders as decision_reminders
from app.notifications import mail
from app.pages import rendering
from app.pages.view_cache import PageViewCache, PageViewCacheMiddleware
from app.reviews import reminders as page_reviews
from app.search import lifecycle as search_lifecycle
from app.webhooks import sender as webhook_sender


def _static_version() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "static").rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()[:10]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build an Atrium application for ``settings`` (read from the environment by default)."""
    settings = settings or Settings()
    engine = make_engine(settings)
    page_cache = PageViewCache(engine=engine, settings=settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        heap.settle()  # everything built so far lives as long as the worker
        async with (
            mail.delivery_task(engine, settings),
            search_lifecycle.indexer_running(_app, engine, settings),
            decision_reminders.review_task(engine, settings),
            page_reviews.review_task(engine, settings),
            webhook_sender.delivery_task(engine, settings),
        ):
            yield
        page_cache.close()
        engine.dispose()

    app = FastAPI(
        title="Atrium",
        summary="Co-design your IT operating model: versioned pages, history and diffs.",
        version="1.0",
        lifespan=lifespan,
        dependencies=[Depends(remember_client), Depends(csrf_protect)],
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    openapi = app.openapi

    def documented_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems.document_problems(openapi())
        return app.openapi_schema

    app.openapi = documented_openapi  # type: ignore[method-assign]
    app.state.engine = engine
    app.state.static_version = _static_version()
    handlers.install(app)

    # innermost first: the page-view cache sits inside the security headers, which every
    # response (a cached one too) gets on its way out
    app.add_middleware(PageViewCacheMiddleware, cache=page_cache)
    app.add_middleware(BrowserSecurity, settings=settings)

    from app.access import api as access_api
    from app.access import routes as access_routes
    from app.accounts import api as accounts_api
    from app.accounts import routes as account_routes
    from app.attachments import api as attachments_api
    from app.attachments import routes as attachment_routes
    from app.audit import api as audit_api
    from app.audit import routes as audit_routes
    from app.decisions import api as decisions_api
    from app.decisions import routes as decision_routes
    from app.discussions import api as discussions_api
    from app.discussions import routes as discussion_routes
    from app.notifications import api as notifications_api
    from app.notifications import routes as notification_routes
    from app.pages import api as pages_api
    from app.pages import history_routes, section_api, section_routes
    from app.pages import routes as page_routes
    from app.proposals import api as proposals_api
    from app.proposals import routes as proposal_routes
    from app.reviews import api as reviews_api
    from app.reviews import routes as review_routes
    from app.search import api as search_api
    from app.search import routes as search_routes
    from app.sso import routes as sso_routes
    from app.webhooks import api as webhooks_api
    from app.webhooks import routes as webhook_routes
    from app.workshops import api as workshops_api
    from app.workshops import routes as workshop_routes

    highlight = rendering.highlight_css()

    @app.get("/static/css/highlight.css", include_in_schema=False)
    def highlight_css() -> Response:
        # generated from Pygments rather than committed, so it always matches the renderer
        return Response(
            highlight, media_type="text/css", headers={"Cache-Control": "public, max-age=86400"}
        )

    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    app.include_router(account_routes.router)
    app.include_router(sso_routes.router)  # answers 404 unless single sign-on is set up
    app.include_router(accounts_api.router)
    app.include_router(audit_routes.router)
    app.include_router(audit_api.router)
    # before the pages API: its /pages/{slug:path} would swallow /pages/{slug}/watch, …/threads
    app.include_router(notifications_api.router)
    app.include_router(notification_routes.router)
    app.include_router(discussions_api.router)
    # before the pages screens and API: /wiki/{slug:path} and /pages/{slug:path} are greedy
    app.include_router(attachments_api.router)
    app.include_router(attachment_routes.router)
    app.include_router(section_api.router)  # before pages_api: /pages/{slug:path} is greedy
    app.include_router(pages_api.router)
    app.include_router(page_routes.router)
    app.include_router(history_routes.router)
    app.include_router(section_routes.router)
    app.include_router(discussion_routes.router)
    app.include_router(decisions_api.router)
    app.include_router(decision_routes.router)
    app.include_router(search_api.router)
    app.include_router(search_routes.router)
    app.include_router(workshops_api.router)
    app.include_router(workshop_routes.router)
    app.include_router(proposals_api.router)
    app.include_router(proposal_routes.router)
    app.include_router(reviews_api.router)
    app.include_router(review_routes.router)
    app.include_router(webhooks_api.router)
    app.include_router(webhook_routes.router)
    app.include_router(access_api.router)
    app.include_router(access_routes.router)

    @app.get("/healthz", tags=["meta"], summary="Liveness and database check")
    def healthz() -> dict[str, str]:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok"}

    return app
