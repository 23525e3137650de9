"""page reviews

Page ownership and review cycles: owners, status, review-by date.
Tables: page_stewardship (status, review-by date and interval, approving decision, the review
date owners were last notified about), page_owner, stewardship_event (the page history's
stewardship entries).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 16:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('page_owner',
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['page_id'], ['page.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('page_id', 'user_id')
    )
    with op.batch_alter_table('page_owner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_page_owner_user_id'), ['user_id'], unique=False)

    op.create_table('stewardship_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('changed', 'reviewed', 'due', name='stewardshipeventkind'), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['page_id'], ['page.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stewardship_event', schema=None) as batch_op:
        batch_op.create_index('ix_stewardship_event_page_created', ['page_id', 'created_at'], unique=False)

    op.create_table('page_stewardship',
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'in_review', 'approved', 'needs_review', name='reviewstatus'), nullable=False),
    sa.Column('review_by', sa.Date(), nullable=True),
    sa.Column('review_months', sa.Integer(), nullable=False),
    sa.Column('approved_decision_id', sa.Integer(), nullable=True),
    sa.Column('notified_for', sa.Date(), nullable=True),
    sa.Column('last_reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_decision_id'], ['decision.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['last_reviewed_by_id'], ['user_account.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['page_id'], ['page.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('page_id')
    )
    with op.batch_alter_table('page_stewardship', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_page_stewardship_review_by'), ['review_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_page_stewardship_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('page_stewardship', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_page_stewardship_status'))
        batch_op.drop_index(batch_op.f('ix_page_stewardship_review_by'))

    op.drop_table('page_stewardship')
    with op.batch_alter_table('stewardship_event', schema=None) as batch_op:
        batch_op.drop_index('ix_stewardship_event_page_created')

    op.drop_table('stewardship_event')
    with op.batch_alter_table('page_owner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_page_owner_user_id'))

    op.drop_table('page_owner')
    if op.get_bind().dialect.name == 'postgresql':
        # sa.Enum made PostgreSQL types; dropping the tables leaves them behind
        op.execute('DROP TYPE IF EXISTS reviewstatus')
        op.execute('DROP TYPE IF EXISTS stewardshipeventkind')
