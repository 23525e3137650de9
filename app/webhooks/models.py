"""Webhooks tables: endpoints, the delivery outbox (one row per event and endpoint), attempts."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel

from app.core.time import utcnow


def _ts(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class WebhookDeliveryStatus(enum.StrEnum):
    pending = "pending"  # waiting for its (next) attempt at next_attempt_at
    sending = "sending"  # claimed by a worker (until claimed_at + the lease)
    succeeded = "succeeded"  # the receiver answered 2xx
    failed = "failed"  # gave up after the last attempt


class WebhookEndpoint(SQLModel, table=True):
    """A URL that receives the events it subscribed to, signed with its secret."""

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)
    # kept as given: every delivery is signed with it (only shown when created or rotated)
    secret: str = Field(max_length=200)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = Field(default=True)
    created_by_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: written with the change (an outbox), then sent by a worker."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=36, unique=True, description="public id, X-Atrium-Delivery")
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", index=True, ondelete="CASCADE")
    event: str = Field(max_length=64)
    # the exact JSON body sent (and signed) on every attempt
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: WebhookDeliveryStatus = Field(default=WebhookDeliveryStatus.pending)
    attempts: int = Field(default=0, description="failed tries since it was (re)queued")
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    claimed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_status_code: int | None = Field(default=None)
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    completed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class WebhookAttempt(SQLModel, table=True):
    """One try at sending a delivery: what came back and how long it took."""

    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_delivery.id", index=True, ondelete="CASCADE")
    started_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    duration_ms: int = Field(default=0)
    status_code: int | None = Field(default=None)
    error: str = Field(default="", max_length=500)
    response_body: str = Field(default="", max_length=1000, description="the start of it")
