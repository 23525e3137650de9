"""access

Restricted page subtrees: groups of users, restrictions on a subtree root, and the grants
(read or edit) that restrictions give to groups.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 19:35:22.472191
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('user_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_group_name'), ['name'], unique=True)

    op.create_table('subtree_restriction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('root', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('subtree_restriction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subtree_restriction_root'), ['root'], unique=True)

    op.create_table('user_group_member',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['user_group.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id')
    )
    with op.batch_alter_table('user_group_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_group_member_user_id'), ['user_id'], unique=False)

    op.create_table('subtree_grant',
    sa.Column('restriction_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('read', 'edit', name='accesslevel'), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['user_group.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['restriction_id'], ['subtree_restriction.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('restriction_id', 'group_id')
    )
    with op.batch_alter_table('subtree_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subtree_grant_group_id'), ['group_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('subtree_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subtree_grant_group_id'))

    op.drop_table('subtree_grant')
    with op.batch_alter_table('user_group_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_group_member_user_id'))

    op.drop_table('user_group_member')
    with op.batch_alter_table('subtree_restriction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subtree_restriction_root'))

    op.drop_table('subtree_restriction')
    with op.batch_alter_table('user_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_group_name'))

    op.drop_table('user_group')
    if op.get_bind().dialect.name == 'postgresql':
        # sa.Enum made a PostgreSQL type; dropping the table leaves it behind
        op.execute('DROP TYPE IF EXISTS accesslevel')
