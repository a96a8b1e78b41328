"""Shopify topic → handler. Each handler translates a payload into calls on `service/`."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from service import compliance, shops, store
from service.deliveries import DeliveryContext, TopicHandler
from service.errors import PermanentError
from service.models import Customer, Order
from service.shopify_ids import to_gid


def _customer_gid(ctx: DeliveryContext) -> str:
    customer = ctx.payload.get("customer")
    if not isinstance(customer, dict):
        raise PermanentError("payload has no customer object")
    try:
        return to_gid("Customer", customer.get("id"))
    except ValueError as error:
        raise PermanentError("payload's customer has no usable id") from error


def _forget_payload_if_redacted(ctx: DeliveryContext, customer: Customer | None) -> None:
    # A late delivery about a redacted customer must not keep their data in its raw body.
    if customer is not None and customer.redacted_at is not None:
        ctx.delivery.body = None


def order_changed(ctx: DeliveryContext) -> None:
    order = store.upsert_order(session=ctx.session, shop=ctx.shop, payload=ctx.payload)
    ctx.delivery.customer_ref = store.customer_ref_of_order(ctx.payload)
    _forget_payload_if_redacted(ctx, order.customer)


def refund_created(ctx: DeliveryContext) -> None:
    refund = store.record_refund(session=ctx.session, shop=ctx.shop, payload=ctx.payload)
    order = ctx.session.scalar(
        select(Order).where(
            Order.shop_id == ctx.shop.id, Order.shopify_id == refund.order_shopify_id
        )
    )
    if order is not None and order.customer is not None:
        ctx.delivery.customer_ref = order.customer.shopify_id


def customer_changed(ctx: DeliveryContext) -> None:
    customer = store.upsert_customer(session=ctx.session, shop=ctx.shop, payload=ctx.payload)
    ctx.delivery.customer_ref = customer.shopify_id
    _forget_payload_if_redacted(ctx, customer)


def app_uninstalled(ctx: DeliveryContext) -> None:
    shops.mark_uninstalled(session=ctx.session, shop=ctx.shop, now=ctx.now)


def customer_data_requested(ctx: DeliveryContext) -> None:
    request = ctx.payload.get("data_request")
    request_id = request.get("id") if isinstance(request, dict) else None
    if request_id is None:
        raise PermanentError("data request has no id")
    customer_gid = _customer_gid(ctx)
    compliance.record_data_request(
        session=ctx.session,
        shop=ctx.shop,
        request_id=str(request_id),
        customer_gid=customer_gid,
        order_ids=ctx.payload.get("orders_requested") or [],
        now=ctx.now,
    )
    ctx.delivery.customer_ref = customer_gid


def customer_redacted(ctx: DeliveryContext) -> None:
    customer_gid = _customer_gid(ctx)
    compliance.redact_customer(
        session=ctx.session,
        shop=ctx.shop,
        customer_gid=customer_gid,
        order_ids=ctx.payload.get("orders_to_redact") or [],
        now=ctx.now,
    )
    # The request itself names the customer (email, phone): it goes too.
    ctx.delivery.body = None
    ctx.delivery.customer_ref = customer_gid


def shop_redacted(ctx: DeliveryContext) -> None:
    compliance.redact_shop(session=ctx.session, shop=ctx.shop)
    ctx.erased = True


TOPIC_HANDLERS: Mapping[str, TopicHandler] = {
    "orders/create": order_changed,
    "orders/updated": order_changed,
    "orders/cancelled": order_changed,
    "refunds/create": refund_created,
    "customers/create": customer_changed,
    "customers/update": customer_changed,
    "app/uninstalled": app_uninstalled,
    "customers/data_request": customer_data_requested,
    "customers/redact": customer_redacted,
    "shop/redact": shop_redacted,
}
