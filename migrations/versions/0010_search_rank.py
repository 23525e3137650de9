"""search rank vector (PostgreSQL full-text backend)

A second, small generated tsvector to rank with: the title (A), headings and tags (B) and the
first 1,000 characters of the body (D). Matching still uses the full ``tsv`` and its GIN index;
ranking every match by ``ts_rank_cd`` over the full vector read (detoasted) ~5 KB per matching
page, which was most of a frequent word's query time. The rank vector stays in the row
(``STORAGE MAIN``), so ranking reads no TOAST. Nothing on SQLite (the Whoosh backend's database).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 17:05:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANK_TSV = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(headings, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(tags_text, '')), 'B') || "
    "setweight(to_tsvector('english', left(coalesce(body, ''), 1000)), 'D')"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            f"ALTER TABLE search_document ADD COLUMN rank_tsv tsvector "
            f"GENERATED ALWAYS AS ({RANK_TSV}) STORED"
        )
        op.execute("ALTER TABLE search_document ALTER COLUMN rank_tsv SET STORAGE MAIN")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE search_document DROP COLUMN rank_tsv")
