"""OpenAPI descriptions of the problem-details (RFC 9457) answers the JSON API gives."""

from __future__ import annotations

from typing import Any

PROBLEM: dict[str, Any] = {"model": dict[str, object], "description": "Problem details (RFC 9457)"}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may answer with these error statuses."""
    return dict.fromkeys(codes, PROBLEM)
