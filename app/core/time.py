"""Timestamps: always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, without sub-millisecond noise."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def as_utc(value: datetime) -> datetime:
    """Treat a naive datetime from the database as UTC (SQLite drops the zone)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
