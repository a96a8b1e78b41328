"""Flow action runs: each run id is acted on once

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'flow_runs',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('run_id', sa.String(length=64), nullable=False),
        sa.Column(
            'incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True
        ),
        sa.Column('outcome', sa.String(length=32), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['incident_id'],
            ['incidents.id'],
            name=op.f('fk_flow_runs_incident_id_incidents'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['shop_id'], ['shops.id'], name=op.f('fk_flow_runs_shop_id_shops'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_runs')),
        sa.UniqueConstraint('shop_id', 'run_id', name='uq_flow_runs_shop_run'),
    )


def downgrade() -> None:
    op.drop_table('flow_runs')
