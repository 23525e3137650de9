"""Domain errors raised by services and mapped to HTTP by one exception handler."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: a message meant for the person who caused it."""

    status_code = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class Forbidden(DomainError):
    status_code = 403
    title = "Forbidden"


class Unauthorized(DomainError):
    status_code = 401
    title = "Sign-in required"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class Invalid(DomainError):
    status_code = 422
    title = "Invalid input"


class TooLarge(DomainError):
    status_code = 413
    title = "Too large"


class TooManyRequests(DomainError):
    """Refused for a while (sign-in throttling); ``retry_after`` is in seconds."""

    status_code = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after
