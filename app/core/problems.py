"""OpenAPI descriptions of the problem-details (RFC 9457) answers the JSON API gives."""

from __future__ import annotations

from typing import Any

PROBLEM: dict[str, Any] = {"model": dict[str, object], "description": "Problem details (RFC 9457)"}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may answer with these error statuses."""
    return dict.fromkeys(codes, PROBLEM)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "Problem details (RFC 9457); some answers add fields (errors, conflict…)",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
    "additionalProperties": True,
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem_content(response: dict[str, Any], status: str) -> dict[str, Any]:
    # a route's own problem model (e.g. a conflict with both texts) stays; generic ones and
    # FastAPI's validation error become the Problem schema
    declared = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = declared.get("$ref", "")
    specific = ref and not ref.endswith(("/HTTPValidationError", "/Problem"))
    if status == "422":
        response["description"] = "The input is not valid (problem details)"
    return {"application/problem+json": {"schema": declared if specific else _PROBLEM_REF}}


def document_problems(schema: dict[str, Any], prefix: str = "/api/") -> dict[str, Any]:
    """Say in the OpenAPI schema what every API error really is: problem+json.

    Every error status an operation declares is answered as ``application/problem+json`` (the
    one exception handler makes sure of it), and any other error — a revoked token, a body over
    the size limit, a full disk — can come from any operation, so each gets a ``default``.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for path, item in schema.get("paths", {}).items():
        if not path.startswith(prefix):
            continue
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = _problem_content(response, status)
            responses.setdefault(
                "default",
                {
                    "description": "Problem details (RFC 9457) for any error",
                    "content": {"application/problem+json": {"schema": _PROBLEM_REF}},
                },
            )
    # FastAPI's own validation-error schemas are no longer referenced
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema
