"""vocabulary: broader concepts

Revision ID: 9b1e4c7d2a60
Revises: 35e9ff471735
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9b1e4c7d2a60'
down_revision = '35e9ff471735'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('concept_broader',
    sa.Column('concept_id', sa.Integer(), nullable=False),
    sa.Column('broader_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['broader_id'], ['concepts.id'], name=op.f('fk_concept_broader_broader_id_concepts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['concept_id'], ['concepts.id'], name=op.f('fk_concept_broader_concept_id_concepts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('concept_id', 'broader_id', name=op.f('pk_concept_broader'))
    )
    with op.batch_alter_table('concept_broader', schema=None) as batch_op:
        batch_op.create_index('ix_concept_broader_broader_id', ['broader_id'], unique=False)


def downgrade():
    with op.batch_alter_table('concept_broader', schema=None) as batch_op:
        batch_op.drop_index('ix_concept_broader_broader_id')

    op.drop_table('concept_broader')
