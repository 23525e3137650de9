"""The baseline: the same stack (FastAPI on uvicorn) answering every GET with pre-built bytes.

``BENCH_STATIC_FILE`` names an HTML file (a saved page view, so the size matches); the server
is started exactly like ``atrium serve`` (``uvicorn.run`` with the factory, the same workers,
proxy headers and log level), so the ratio to it is what Atrium's own work costs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fastapi import FastAPI, Response


def create_app() -> FastAPI:
    """An app whose every GET returns the file's bytes as HTML."""
    body = Path(os.environ["BENCH_STATIC_FILE"]).read_bytes()
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/{path:path}")
    def static(path: str) -> Response:  # noqa: ARG001 - every path answers the same
        return Response(body, media_type="text/html; charset=utf-8")

    return app


def main() -> None:
    """``python -m bench.static_app PORT WORKERS``: serve like ``atrium serve`` does."""
    import uvicorn

    port, workers = int(sys.argv[1]), int(sys.argv[2])
    uvicorn.run(
        "bench.static_app:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


if __name__ == "__main__":
    main()
