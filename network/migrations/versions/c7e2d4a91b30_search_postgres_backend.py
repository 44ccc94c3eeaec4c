"""search: the PostgreSQL backend's documents and words

Revision ID: c7e2d4a91b30
Revises: b130e98efa50
Create Date: 2026-11-24 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from search.models import POSTGRES_SEARCH_SETUP, SEARCH_CONFIGURATION

# revision identifiers, used by Alembic.
revision = 'c7e2d4a91b30'
down_revision = 'b130e98efa50'
branch_labels = None
depends_on = None

TIERS = ("public", "members", "organisations", "coordinators", "ime", "private")


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(POSTGRES_SEARCH_SETUP)
    tsvector = sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql")
    op.create_table('search_documents',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('obj_id', sa.Integer(), nullable=False),
    sa.Column('confirmed', sa.BigInteger(), nullable=False),
    sa.Column('starts', sa.BigInteger(), nullable=True),
    sa.Column('ends', sa.BigInteger(), nullable=True),
    sa.Column('opened', sa.BigInteger(), nullable=True),
    sa.Column('event_tier', sa.String(length=16), nullable=True),
    sa.Column('name_tier', sa.String(length=16), nullable=True),
    sa.Column('coord_chapters', sa.JSON().with_variant(postgresql.ARRAY(sa.Integer()), 'postgresql'), nullable=False),
    sa.Column('facets', sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), 'postgresql'), nullable=False),
    sa.Column('stored', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    *[sa.Column(f'tsv_{tier}', tsvector, nullable=True) for tier in TIERS],
    sa.PrimaryKeyConstraint('key', name=op.f('pk_search_documents'))
    )
    op.create_index('ix_search_documents_kind', 'search_documents', ['kind', 'confirmed'], unique=False)
    op.create_index('ix_search_documents_facets', 'search_documents', ['facets'], unique=False, postgresql_using='gin')
    for tier in TIERS:
        op.create_index(f'ix_search_documents_tsv_{tier}', 'search_documents', [f'tsv_{tier}'], unique=False, postgresql_using='gin')
    op.create_table('search_words',
    sa.Column('word', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('word', name=op.f('pk_search_words'))
    )


def downgrade():
    op.drop_table('search_words')
    op.drop_table('search_documents')
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {SEARCH_CONFIGURATION}")
