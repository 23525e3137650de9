"""sso_link

Single sign-on: the OpenID Connect identities (issuer + subject) linked to accounts.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 19:38:40.739493
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sso_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_sign_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('issuer', 'subject')
    )
    with op.batch_alter_table('sso_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_link_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sso_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_link_user_id'))

    op.drop_table('sso_link')
