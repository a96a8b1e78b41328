"""review secrets, refresh token expiry

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:22:40.261351
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('review_secrets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('secret', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_review_secrets_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_secrets')),
    sa.UniqueConstraint('shop_id', 'provider', name='uq_review_secrets_shop_provider')
    )
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refresh_token_expires_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_column('refresh_token_expires_at')

    op.drop_table('review_secrets')
