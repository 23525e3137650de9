"""attachments

Attachments: files on pages, by content hash, with versions.
(Reserved in sequence so that work on separate domains cannot fork the migration chain; the
tables arrive with the domain.)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 16:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401


revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
