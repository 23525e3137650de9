"""data_version

The content version: one row whose number every committed change to shared content moves on,
so caches of rendered screens in any process can be validated with one primary-key read.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25 23:20:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table('data_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(table, [{'id': 1, 'n': 0}])


def downgrade() -> None:
    op.drop_table('data_version')
