"""dashboard: stored whole-network panels

Revision ID: d4a5b6c7e8f9
Revises: 9b1e4c7d2a60
Create Date: 2026-12-07 22:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d4a5b6c7e8f9"
down_revision = "9b1e4c7d2a60"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dashboard_figures",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_dashboard_figures")),
    )


def downgrade():
    op.drop_table("dashboard_figures")
