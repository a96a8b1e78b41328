"""people keys: one customer's profile from indexed queries, the shop's norms as a summary

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 08:30:00

Adds the derived keys Clout finds people by (`service.core.people`) beside customers and orders,
the mentions orders make of other people, and the shop's percentile tables; fills the keys of
rows already stored, in batches. The norms are computed by the next profile refresh.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service.core import people

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
CUSTOMER_KEYS = ('name_key', 'first_name_key', 'email_key', 'workplace_domain', 'home_key')
BATCH = 2000


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        for name in CUSTOMER_KEYS:
            batch_op.add_column(sa.Column(name, sa.String(length=320), nullable=True))
        for name in CUSTOMER_KEYS:
            index = 'ix_customers_shop_workplace' if name == 'workplace_domain' else f'ix_customers_shop_{name}'
            batch_op.create_index(index, ['shop_id', name], unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ship_key', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('ship_name', sa.String(length=320), nullable=True))
        batch_op.create_index('ix_orders_shop_ship_key', ['shop_id', 'ship_key'], unique=False)
    op.create_table('order_mentions',
    sa.Column('id', Id, nullable=False),
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('order_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_mentions_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_order_mentions_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_mentions'))
    )
    with op.batch_alter_table('order_mentions', schema=None) as batch_op:
        batch_op.create_index('ix_order_mentions_shop_kind_key', ['shop_id', 'kind', 'key'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_mentions_order_id'), ['order_id'], unique=False)
    op.create_table('shop_norms',
    sa.Column('shop_id', Id, nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('tables', Json, nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_shop_norms_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', name=op.f('pk_shop_norms'))
    )
    _fill_keys()


def _fill_keys() -> None:
    connection = op.get_bind()
    meta = sa.MetaData()
    customers = sa.Table('customers', meta, autoload_with=connection)
    orders = sa.Table('orders', meta, autoload_with=connection)
    mentions = sa.Table('order_mentions', meta, autoload_with=connection)
    last = 0
    while True:
        rows = connection.execute(
            sa.select(customers.c.id, customers.c.first_name, customers.c.last_name,
                      customers.c.email, customers.c.default_address)
            .where(customers.c.id > last).order_by(customers.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        for row in rows:
            connection.execute(
                customers.update().where(customers.c.id == row.id).values(
                    name_key=people.name_key(row.first_name, row.last_name),
                    first_name_key=people.first_name_key(row.first_name),
                    email_key=people.email_key(row.email),
                    workplace_domain=people.workplace_domain(row.email),
                    home_key=people.address_key(_json(row.default_address)),
                )
            )
        last = rows[-1].id
    last = 0
    while True:
        rows = connection.execute(
            sa.select(orders.c.id, orders.c.shop_id, orders.c.shipping_address,
                      orders.c.discount_codes, orders.c.note_attributes)
            .where(orders.c.id > last).order_by(orders.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        for row in rows:
            shipping = _json(row.shipping_address)
            connection.execute(
                orders.update().where(orders.c.id == row.id).values(
                    ship_key=people.address_key(shipping), ship_name=people.recipient_key(shipping)
                )
            )
            found = [
                {'shop_id': row.shop_id, 'order_id': row.id, 'kind': kind, 'key': key}
                for kind, key in people.mentions(
                    discount_codes=_json(row.discount_codes),
                    note_attributes=_json(row.note_attributes),
                )
            ]
            if found:
                connection.execute(mentions.insert(), found)
        last = rows[-1].id


def _json(value: Any) -> Any:
    return value if isinstance(value, dict) or value is None else None


def downgrade() -> None:
    op.drop_table('shop_norms')
    with op.batch_alter_table('order_mentions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_mentions_order_id'))
        batch_op.drop_index('ix_order_mentions_shop_kind_key')
    op.drop_table('order_mentions')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_shop_ship_key')
        batch_op.drop_column('ship_name')
        batch_op.drop_column('ship_key')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        for name in CUSTOMER_KEYS:
            index = 'ix_customers_shop_workplace' if name == 'workplace_domain' else f'ix_customers_shop_{name}'
            batch_op.drop_index(index)
        for name in reversed(CUSTOMER_KEYS):
            batch_op.drop_column(name)
