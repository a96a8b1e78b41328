"""spent_flow_runs: Flow action runs a store's erasure took, kept as digests

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'spent_flow_runs',
        sa.Column('run_key', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('run_key', name=op.f('pk_spent_flow_runs')),
    )


def downgrade() -> None:
    op.drop_table('spent_flow_runs')
