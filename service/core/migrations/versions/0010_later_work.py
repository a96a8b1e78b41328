"""later work: when an incident's best-effort work (read-back, metafields, Flow) is due

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('later_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_incidents_later_due_at', ['later_due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_later_due_at')
        batch_op.drop_column('later_due_at')
