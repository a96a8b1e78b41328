"""profile staleness

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 21:04:29.275508
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('influence_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stale_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_influence_profiles_stale_since'), ['stale_since'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('influence_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_influence_profiles_stale_since'))
        batch_op.drop_column('stale_since')

