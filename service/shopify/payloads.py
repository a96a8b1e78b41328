"""The store as Clout knows it: customers, orders and refunds, kept current from webhook payloads.

Shopify delivers at least once, in no particular order, sometimes a day late. Every upsert
therefore compares the payload's `updated_at` with what is stored and ignores anything older,
so replaying any mix of deliveries in any order ends in the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.errors import PermanentError
from service.core.models import Customer, Order, Refund, Shop
from service.shopify.ids import legacy_id, to_gid


def parse_time(value: object) -> datetime | None:
    """Shopify's ISO 8601 timestamps; a zone-less one is taken as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # "9999-12-31T23:59:59-23:59" falls off the calendar
        return None


MAX_MONEY = Decimal(10) ** 12  # the columns hold 14 digits, 2 after the point


def _money(value: object) -> Decimal | None:
    """An amount as sent; None for anything that is not one a shop could charge (text, NaN,
    infinity, beyond what the database column holds)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite() or abs(amount) >= MAX_MONEY:
        return None
    return amount.quantize(Decimal("0.01"))


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _text(value: object, limit: int | None = None) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text[:limit] if limit else text


def _gid(resource: str, payload: dict[str, Any]) -> str:
    value = payload.get("admin_graphql_api_id") or payload.get("id")
    try:
        return to_gid(resource, value)
    except ValueError as error:
        raise PermanentError(f"{resource} payload has no usable id") from error


def _is_stale(stored: datetime | None, incoming: datetime | None) -> bool:
    return stored is not None and incoming is not None and incoming < stored


def change_customer_tags(*, customer: Customer, tags: Iterable[str], added: bool) -> bool:
    """A `customer.tags_added` / `customer.tags_removed` change on Clout's copy of the
    customer's tags (since API 2025-01 the customer's own webhooks carry none); whether it
    changed anything. A redacted customer keeps nothing."""
    if customer.redacted_at is not None:
        return False
    before = [t.strip() for t in (customer.tags or "").split(",") if t.strip()]
    named = {t.strip().casefold(): t.strip() for t in tags if t.strip()}
    # Shopify's tags ignore case: `VIP` added to a customer tagged `vip` is the one tag, and
    # taking off `vip` takes off `VIP`.
    had = {t.casefold() for t in before}
    after = (
        before + [t for key, t in named.items() if key not in had]
        if added
        else [t for t in before if t.casefold() not in named]
    )
    if after == before:
        return False
    customer.tags = ", ".join(after)
    return True


def upsert_customer(
    *,
    session: Session,
    shop: Shop,
    payload: dict[str, Any],
    authoritative: bool = True,
    known: MutableMapping[str, Customer] | None = None,
) -> Customer:
    """Create or refresh a customer from a `customers/*` payload or an order's `customer` object.

    An order's embedded customer is a partial, often undated snapshot (`authoritative=False`):
    it only fills fields Clout does not know yet. A redacted customer's personal data is never
    stored again, even if a late delivery still carries it. `known` (GID → row), when given,
    holds every row of the shop the caller may name, so nothing is looked up one at a time
    (an import of many); rows made here are added to it.
    """
    gid = _gid("Customer", payload)
    if known is not None:
        customer = known.get(gid)
    else:
        customer = session.scalar(
            select(Customer).where(Customer.shop_id == shop.id, Customer.shopify_id == gid)
        )
    if customer is None:
        customer = Customer(shop_id=shop.id, shopify_id=gid)
        session.add(customer)
        if known is not None:
            known[gid] = customer
    if customer.redacted_at is not None:
        return customer
    incoming = parse_time(payload.get("updated_at"))
    if _is_stale(customer.shopify_updated_at, incoming):
        return customer
    fresh = authoritative and incoming is not None

    def put(attr: str, value: object) -> None:
        if value is None and not fresh:
            return
        if fresh or getattr(customer, attr) is None:
            setattr(customer, attr, value)

    put("email", _text(payload.get("email"), 320))
    put("first_name", _text(payload.get("first_name"), 255))
    put("last_name", _text(payload.get("last_name"), 255))
    put("phone", _text(payload.get("phone"), 64))
    put("state", _text(payload.get("state"), 32))
    put("note", _text(payload.get("note")))
    put("default_address", payload.get("default_address"))
    put("currency", _text(payload.get("currency"), 8))
    put("shopify_created_at", parse_time(payload.get("created_at")))
    # Customer payloads before 2025-01 carried these; later ones don't (the Admin API has them).
    if "orders_count" in payload:
        put("number_of_orders", _count(payload["orders_count"]))
    if "total_spent" in payload:
        put("amount_spent", _money(payload["total_spent"]))
    if "tags" in payload:
        put("tags", _text(payload.get("tags")))
    if incoming is not None and authoritative:
        customer.shopify_updated_at = incoming
    return customer


def upsert_order(
    *,
    session: Session,
    shop: Shop,
    payload: dict[str, Any],
    known: MutableMapping[str, Order] | None = None,
) -> Order:
    """Create or refresh an order from an `orders/*` payload (create, updated and cancelled all
    carry the whole order). `known` as for `upsert_customer`."""
    gid = _gid("Order", payload)
    if known is not None:
        order = known.get(gid)
    else:
        order = session.scalar(
            select(Order).where(Order.shop_id == shop.id, Order.shopify_id == gid)
        )
    if order is None:
        order = Order(shop_id=shop.id, shopify_id=gid)
        session.add(order)
        if known is not None:
            known[gid] = order
    incoming = parse_time(payload.get("updated_at"))
    if _is_stale(order.shopify_updated_at, incoming):
        return order

    customer_payload = payload.get("customer")
    customer = None
    if isinstance(customer_payload, dict) and customer_payload.get("id"):
        customer = upsert_customer(
            session=session, shop=shop, payload=customer_payload, authoritative=False
        )
        session.flush()
        order.customer_id = customer.id

    products = [
        to_gid("Product", item["product_id"])
        for item in _list(payload.get("line_items"))
        if isinstance(item, dict)
        and isinstance(item.get("product_id"), int | str)
        and str(item["product_id"]).isdigit()
    ]
    if products:
        order.product_ids = {"ids": products}
    fulfillments = [f for f in _list(payload.get("fulfillments")) if isinstance(f, dict)]
    shipped = [t for t in (parse_time(f.get("created_at")) for f in fulfillments) if t]
    if shipped:
        order.fulfilled_at = min(shipped)
    if any(str(f.get("shipment_status") or "") == "delivered" for f in fulfillments):
        order.delivered_at = order.delivered_at or max(shipped)
    order.name = _text(payload.get("name"), 64)
    order.financial_status = _text(payload.get("financial_status"), 32)
    order.fulfillment_status = _text(payload.get("fulfillment_status"), 32)
    order.cancel_reason = _text(payload.get("cancel_reason"), 32)
    order.cancelled_at = parse_time(payload.get("cancelled_at"))
    order.total_price = _money(payload.get("total_price"))
    order.currency = _text(payload.get("currency"), 8)
    order.tags = _text(payload.get("tags"))
    order.shopify_created_at = parse_time(payload.get("created_at"))
    order.shopify_updated_at = incoming or order.shopify_updated_at
    if order.redacted_at is not None or (customer is not None and customer.redacted_at is not None):
        # Keep the order's facts, not the personal data redaction erased: a late delivery
        # about an order redacted by id (a guest's) brings no customer to say so.
        return order
    order.discount_codes = {"codes": _list(payload.get("discount_codes"))}
    order.email = _text(payload.get("email") or payload.get("contact_email"), 320)
    order.phone = _text(payload.get("phone"), 64)
    order.note = _text(payload.get("note"))
    order.note_attributes = {"attributes": _list(payload.get("note_attributes"))}
    shipping = payload.get("shipping_address")
    order.shipping_address = shipping if isinstance(shipping, dict) else None
    return order


def _list(value: object) -> list[Any]:
    """A list a payload should carry; anything else a sender put there counts as none."""
    return value if isinstance(value, list) else []


def record_refund(*, session: Session, shop: Shop, payload: dict[str, Any]) -> Refund:
    """Keep a refund once; its order is created as a placeholder if Clout has not seen it yet."""
    gid = _gid("Refund", payload)
    try:
        order_gid = to_gid("Order", payload.get("order_id"))
    except ValueError as error:
        raise PermanentError("refund payload has no order_id") from error
    refund = session.scalar(
        select(Refund).where(Refund.shop_id == shop.id, Refund.shopify_id == gid)
    )
    if refund is None:
        refund = Refund(shop_id=shop.id, shopify_id=gid, order_shopify_id=order_gid)
        session.add(refund)
    order = session.scalar(
        select(Order).where(Order.shop_id == shop.id, Order.shopify_id == order_gid)
    )
    if order is None:
        session.add(Order(shop_id=shop.id, shopify_id=order_gid))
    refund.note = _text(payload.get("note"))
    refund.shopify_created_at = parse_time(payload.get("created_at"))
    line_items = _list(payload.get("refund_line_items"))
    # `refunds/create` fires "independently of the movement of money" (Shopify): a refund of
    # line items may move less than their subtotal, or nothing (a restock). What the customer
    # got back is the sum of the refund's successful refund transactions.
    moved = Decimal(0)
    currency = None
    for transaction in _list(payload.get("transactions")):
        if (
            isinstance(transaction, dict)
            and transaction.get("kind") == "refund"
            and transaction.get("status") == "success"
        ):
            moved += _money(transaction.get("amount")) or Decimal(0)
            currency = currency or _text(transaction.get("currency"), 8)
    refund.amount = moved
    refund.currency = (
        currency or (order.currency if order else None) or _refund_currency(line_items)
    )
    refund.line_item_count = len(line_items)
    return refund


def _refund_currency(line_items: list[Any]) -> str | None:
    """Shopify's sample sends transactions with `currency: null`; the shop's currency is on
    the refunded line items' money sets."""
    for item in line_items:
        money = item.get("subtotal_set") if isinstance(item, dict) else None
        shop_money = money.get("shop_money") if isinstance(money, dict) else None
        if isinstance(shop_money, dict):
            found = _text(shop_money.get("currency_code"), 8)
            if found:
                return found
    return None


def customer_ref_of_order(payload: dict[str, Any]) -> str | None:
    customer = payload.get("customer")
    if isinstance(customer, dict):
        try:
            return to_gid("Customer", customer.get("admin_graphql_api_id") or customer.get("id"))
        except ValueError:
            return None
    return None


def _admin_address(address: object) -> dict[str, Any] | None:
    if not isinstance(address, dict) or not address:
        return None
    return {
        "first_name": address.get("firstName"),
        "last_name": address.get("lastName"),
        "address1": address.get("address1"),
        "city": address.get("city"),
        "zip": address.get("zip"),
        "country_code": address.get("countryCodeV2"),
    }


def _lower(value: object) -> str | None:
    return str(value).lower() if value else None


def admin_order_payload(node: dict[str, Any]) -> dict[str, Any]:
    """An order as the Admin GraphQL API returns it (`documents.ORDER_FIELDS`, or a line of a
    bulk operation's result), in the REST shape its webhooks carry: what `upsert_order` reads."""
    money = ((node.get("totalPriceSet") or {}).get("shopMoney")) or {}
    line_items = ((node.get("lineItems") or {}).get("nodes")) or []
    fulfillments = node.get("fulfillments") or []
    return {
        "admin_graphql_api_id": node["id"],
        "name": node.get("name"),
        "email": node.get("email"),
        "phone": node.get("phone"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": _lower(node.get("cancelReason")),
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "fulfillment_status": _lower(node.get("displayFulfillmentStatus")),
        "total_price": money.get("amount"),
        "currency": money.get("currencyCode"),
        "tags": ", ".join(node.get("tags") or []),
        "note": node.get("note"),
        "note_attributes": [
            {"name": a.get("key"), "value": a.get("value")}
            for a in node.get("customAttributes") or []
        ],
        "discount_codes": [{"code": c} for c in node.get("discountCodes") or []],
        "shipping_address": _admin_address(node.get("shippingAddress")),
        "line_items": [
            {"product_id": legacy_id(li["product"]["id"])}
            for li in line_items
            if isinstance(li, dict) and li.get("product")
        ],
        "fulfillments": [
            {
                "created_at": f.get("createdAt"),
                "shipment_status": (f.get("displayStatus") or "").lower(),
            }
            for f in fulfillments
            if isinstance(f, dict)
        ],
    }


def admin_customer_payload(node: dict[str, Any]) -> dict[str, Any]:
    """A customer as the Admin GraphQL API returns it (a line of a bulk operation's result), in
    the REST shape of `customers/*` webhooks: what `upsert_customer` reads. Unlike today's
    webhooks, the Admin API still has the customer's order count, spend and tags."""
    spent = node.get("amountSpent") or {}
    orders = node.get("numberOfOrders")  # UnsignedInt64: a string
    payload: dict[str, Any] = {
        "admin_graphql_api_id": node["id"],
        "email": (node.get("defaultEmailAddress") or {}).get("emailAddress"),
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
        "phone": (node.get("defaultPhoneNumber") or {}).get("phoneNumber"),
        "state": _lower(node.get("state")),
        "note": node.get("note"),
        "default_address": _admin_address(node.get("defaultAddress")),
        "currency": spent.get("currencyCode"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "tags": ", ".join(node.get("tags") or []),
    }
    if isinstance(orders, str | int) and str(orders).isdigit():
        payload["orders_count"] = int(orders)
    if spent.get("amount") is not None:
        payload["total_spent"] = spent["amount"]
    return payload


def names_a_customer(session: Session, customer_id: int | None) -> bool:
    """The order's customer is one Shopify named (not a stand-in Clout made for a signal)."""
    if customer_id is None:
        return False
    customer = session.get(Customer, customer_id)
    return customer is not None and customer.shopify_id.startswith("gid://shopify/Customer/")


def upsert_order_from_admin(
    *, session: Session, shop: Shop, node: dict[str, Any], customer: Customer | None
) -> Order:
    """An order as the Admin GraphQL API returns it (`documents.ORDER_FIELDS`), for linking and
    reconciliation: the same row a webhook would have made."""
    order = upsert_order(session=session, shop=shop, payload=admin_order_payload(node))
    if not names_a_customer(session, order.customer_id):
        # No customer yet, or only the stand-in a signal was hung on before Shopify named the
        # buyer (`guest:<order>`): Shopify's answer says who it is.
        order.customer_id = None
    if customer is not None and order.customer_id is None:
        session.flush()
        order.customer_id = customer.id
    elif order.customer_id is None and isinstance(node.get("customer"), dict):
        known = node["customer"]
        linked = upsert_customer(
            session=session,
            shop=shop,
            payload={
                "id": known["id"],
                "first_name": known.get("firstName"),
                "last_name": known.get("lastName"),
                "email": (known.get("defaultEmailAddress") or {}).get("emailAddress"),
            },
            authoritative=False,
        )
        session.flush()
        order.customer_id = linked.id
    return order
