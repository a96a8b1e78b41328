"""attention state, reconciliation watermark, influence profiles

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 18:49:00.900036
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('influence_profiles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('clout_score', sa.Double(), nullable=True),
    sa.Column('klout_score', sa.Double(), nullable=True),
    sa.Column('contagion', sa.Integer(), nullable=False),
    sa.Column('components', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('unknown', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sources', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_influence_profiles_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_influence_profiles_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_influence_profiles')),
    sa.UniqueConstraint('customer_id', name='uq_influence_profiles_customer')
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('tagged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('needs_attention', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('attended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalations', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('flow_sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('drift_repairs', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('tag_state', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('influence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))

    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reconciled_until', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_column('reconciled_until')

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('influence')
        batch_op.drop_column('tag_state')
        batch_op.drop_column('drift_repairs')
        batch_op.drop_column('flow_sent_at')
        batch_op.drop_column('overdue_at')
        batch_op.drop_column('escalations')
        batch_op.drop_column('attended_at')
        batch_op.drop_column('needs_attention')
        batch_op.drop_column('tagged_at')
        batch_op.drop_column('first_seen_at')

    op.drop_table('influence_profiles')
