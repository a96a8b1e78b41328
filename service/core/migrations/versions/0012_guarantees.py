"""guarantees: a lease on a claimed delivery, the outbox of outbound effects

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'outbound_effects',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column(
            'incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True
        ),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column(
            'payload',
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
            nullable=False,
        ),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('staged_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ['incident_id'],
            ['incidents.id'],
            name=op.f('fk_outbound_effects_incident_id_incidents'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['shop_id'],
            ['shops.id'],
            name=op.f('fk_outbound_effects_shop_id_shops'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_effects')),
        sa.UniqueConstraint('key', name='uq_outbound_effects_key'),
    )
    op.create_index('ix_outbound_effects_status', 'outbound_effects', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbound_effects_status', table_name='outbound_effects')
    op.drop_table('outbound_effects')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
