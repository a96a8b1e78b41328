"""subscriptions managed: which shops' webhook subscriptions Clout makes itself

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 05:50:46.496921
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('subscriptions_managed', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Stores connected before: those without a granted scope list came with a custom-app token
    # (`clout shops add`), whose subscriptions Clout makes; OAuth installs record their scopes.
    op.execute(sa.text("UPDATE shops SET subscriptions_managed = true WHERE scopes IS NULL"))


def downgrade() -> None:
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_column('subscriptions_managed')
