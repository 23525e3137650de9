"""webhooks

Webhooks: endpoints, their events, and the delivery outbox/log.
(Reserved in sequence so that work on separate domains cannot fork the migration chain; the
tables arrive with the domain.)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 16:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401


revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
