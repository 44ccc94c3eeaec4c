"""page cache: the shared data generation; directory indexes

Revision ID: 35e9ff471735
Revises: c7e2d4a91b30
Create Date: 2026-11-24 03:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '35e9ff471735'
down_revision = 'c7e2d4a91b30'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('page_generation',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('generation', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_page_generation'))
    )
    # The one row every cacheable request reads and every page-data transaction increases.
    op.bulk_insert(table, [{'id': 1, 'generation': 0}])
    # The directory's first page and its count without reading every member.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_role_full_name', ['role', 'full_name'], unique=False)
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.create_index('ix_profiles_name_public_user_id', ['name_public', 'user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_profiles_name_public_user_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_role_full_name')
    op.drop_table('page_generation')
