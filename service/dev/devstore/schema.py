"""The emulator's GraphQL layer: Shopify's real Admin API schema, executed over a DevStore.

The schema is the one Shopify publishes (vendored, `service.shopify.admin_schema`), so a document
Shopify would refuse — an unknown field, a string where an enum belongs, a missing argument, a
variable of the wrong type — is refused here the same way, with Shopify's error shape. What the
emulator implements is listed in `QUERIES` and `MUTATIONS` and in the views below; any other
field answers a clear "not emulated" error, never a made-up value.

Values the views hand back are serialised by the real schema too: an enum the emulator got wrong
("paid" where Shopify says `PAID`) fails loudly instead of passing a test Shopify would fail.
"""

from __future__ import annotations

import base64
import json
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLAbstractType,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    execute_sync,
)

from service.dev.devstore import bulk
from service.dev.devstore.store import (
    Address,
    Customer,
    DevStore,
    Metafield,
    Order,
    iso,
    now,
)
from service.shopify.admin_schema import admin_schema

ORDER_TAG_MAX = 40
CUSTOMER_TAG_MAX = 255
MAX_TAGS = 250
MAX_PAGE = 250
FLOW_PAYLOAD_MAX = 50_000
# The project's Flow trigger extensions, when the emulator runs from a checkout: their declared
# fields are what flowTriggerReceive accepts, as Flow does.
EXTENSIONS_DIR = Path(__file__).resolve().parents[3] / "extensions"


class NotEmulated(GraphQLError):
    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} is not emulated by clout devstore",
            extensions={"code": "NOT_EMULATED"},
        )


def schema_for(version: str) -> GraphQLSchema:
    return admin_schema(version)


# The schema the current request runs on (a bulk operation's query runs on the same one), and
# whether it runs as a bulk operation: then connections are read whole, without page sizes.
_SCHEMA: ContextVar[GraphQLSchema | None] = ContextVar("devstore_schema", default=None)
_BULK: ContextVar[bool] = ContextVar("devstore_bulk", default=False)


def execute(
    store: DevStore,
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    operation_name: str | None = None,
) -> ExecutionResult:
    token = _SCHEMA.set(schema)
    try:
        return execute_sync(
            schema,
            document,
            context_value=store,
            variable_values=dict(variables or {}),
            operation_name=operation_name,
            field_resolver=_resolve,
            type_resolver=_type_of,
        )
    finally:
        _SCHEMA.reset(token)


def current_schema() -> GraphQLSchema:
    schema = _SCHEMA.get()
    if schema is None:
        raise GraphQLError("no schema: run documents through `execute`")
    return schema


@contextmanager
def bulk_mode() -> Iterator[None]:
    """Execute as a bulk operation does: every connection read whole."""
    token = _BULK.set(True)
    try:
        yield
    finally:
        _BULK.reset(token)


def _resolve(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:  # type: ignore[type-arg]
    parent = info.parent_type
    store: DevStore = info.context
    if parent is info.schema.query_type or parent is info.schema.mutation_type:
        table = QUERIES if parent is info.schema.query_type else MUTATIONS
        root = table.get(info.field_name)
        if root is None:
            raise NotEmulated(f"{parent.name}.{info.field_name}")
        return root(store, **args)
    if not isinstance(source, Mapping) or info.field_name not in source:
        raise NotEmulated(f"{parent.name}.{info.field_name}")
    value = source[info.field_name]
    return value(**args) if callable(value) else value


def _type_of(value: Any, _info: GraphQLResolveInfo, _type: GraphQLAbstractType) -> str | None:  # type: ignore[type-arg]
    return value.get("__typename") if isinstance(value, Mapping) else None


# --- views: what Shopify would answer, built from the DevStore ------------------------------


def _enum(value: str | None) -> str | None:
    return value.upper() if value else None


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    value = {"amount": f"{amount:.2f}", "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": value}


def _address(address: Address | None, owner_id: int | None = None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
        "__typename": "MailingAddress",
        "id": f"gid://shopify/MailingAddress/{owner_id}" if owner_id else None,
        "firstName": address.first_name,
        "lastName": address.last_name,
        "name": address.name,
        "address1": address.address1,
        "address2": None,
        "city": address.city,
        "zip": address.zip,
        "provinceCode": address.province_code,
        "countryCodeV2": address.country_code,
        "phone": address.phone,
        "company": address.company,
    }


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _offset(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(base64.b64decode(cursor).decode().split(":", 1)[1])
    except (ValueError, IndexError) as error:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from error


def _page(
    items: list[Any],
    *,
    view: Callable[[Any], Any] | None = None,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    reverse: bool = False,
    **unsupported: Any,
) -> dict[str, Any]:
    """A Relay connection as Shopify pages one: `first` or `last` is required, at most 250."""
    if unsupported:
        raise NotEmulated(f"the connection argument(s) {', '.join(sorted(unsupported))}")
    if first is None and last is None:
        if not _BULK.get():
            raise GraphQLError("you must provide one of first or last")
        first = len(items)  # a bulk operation pages through the whole connection itself
    size = first if first is not None else last
    assert size is not None
    if (size > MAX_PAGE and not _BULK.get()) or size < 0:
        raise GraphQLError(f"first/last must be between 0 and {MAX_PAGE}")
    ordered = items[::-1] if reverse else items
    indexed = list(enumerate(ordered))
    start, end = _offset(after), _offset(before)
    if start is not None:
        indexed = [(i, x) for i, x in indexed if i > start]
    if end is not None:
        indexed = [(i, x) for i, x in indexed if i < end]
    has_next = has_previous = False
    if first is not None:
        has_next = len(indexed) > size
        indexed = indexed[:size]
        has_previous = start is not None
    else:
        has_previous = len(indexed) > size
        indexed = indexed[-size:] if size else []
        has_next = end is not None
    nodes = [view(x) if view else x for _, x in indexed]
    edges = [
        {"node": node, "cursor": _cursor(i)} for (i, _), node in zip(indexed, nodes, strict=True)
    ]
    return {
        "edges": edges,
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _metafield(field: Metafield | None, owner: str = "") -> dict[str, Any] | None:
    if field is None:
        return None
    return {
        "__typename": "Metafield",
        "id": f"gid://shopify/Metafield/{field.id}",
        "legacyResourceId": str(field.id),
        "namespace": field.namespace,
        "key": field.key,
        "type": field.type,
        "value": field.value,
        "jsonValue": _json_value(field),
        "ownerType": owner,
        "createdAt": iso(field.updated_at),
        "updatedAt": iso(field.updated_at),
    }


def _json_value(field: Metafield) -> Any:
    try:
        return json.loads(field.value)
    except ValueError:
        return field.value


def _metafield_fields(metafields: dict[tuple[str, str], Metafield], owner: str) -> dict[str, Any]:
    def one(*, key: str, namespace: str | None = None) -> dict[str, Any] | None:
        if namespace is None and "." in key:
            namespace, key = key.split(".", 1)
        return _metafield(metafields.get((namespace or "$app", key)), owner)

    def many(*, namespace: str | None = None, **args: Any) -> dict[str, Any]:
        chosen = [
            m for (ns, _), m in sorted(metafields.items()) if namespace is None or ns == namespace
        ]
        return _page(chosen, view=lambda m: _metafield(m, owner), **args)

    return {"metafield": one, "metafields": many}


def order_view(store: DevStore, order: Order) -> dict[str, Any]:
    customer = store.customers.get(order.customer_id) if order.customer_id else None
    refunded = sum((r.amount for r in order.refunds), Decimal(0))

    def refunds(*, first: int | None = None) -> list[dict[str, Any]]:
        return [
            {
                "__typename": "Refund",
                "id": r.gid,
                "legacyResourceId": str(r.id),
                "createdAt": iso(r.created_at),
                "processedAt": iso(r.created_at),
                "updatedAt": iso(r.created_at),
                "note": r.note,
                "totalRefundedSet": _money(r.amount, order.currency),
            }
            for r in order.refunds[:first]
        ]

    def fulfillments(*, first: int | None = None, **_: Any) -> list[dict[str, Any]]:
        return [
            {
                "__typename": "Fulfillment",
                "id": f.gid,
                "legacyResourceId": str(f.id),
                "name": f"{order.name}-F{index + 1}",
                "createdAt": iso(f.created_at),
                "updatedAt": iso(f.delivered_at or f.created_at),
                "status": _enum(f.status),
                "displayStatus": _enum(f.display_status),
                "deliveredAt": iso(f.delivered_at),
                "trackingInfo": _tracking(f.tracking_company),
            }
            for index, f in enumerate(order.fulfillments[:first])
        ]

    line_items = [
        {
            "__typename": "LineItem",
            "title": li.title,
            "name": li.title,
            "quantity": li.quantity,
            "product": {"__typename": "Product", "id": f"gid://shopify/Product/{li.product_id}"}
            if li.product_id
            else None,
        }
        for li in order.line_items
    ]
    return {
        "__typename": "Order",
        "id": order.gid,
        "legacyResourceId": str(order.id),
        "name": order.name,
        "email": order.email,
        "phone": order.phone,
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "processedAt": iso(order.created_at),
        "cancelledAt": iso(order.cancelled_at),
        "cancelReason": _enum(order.cancel_reason),
        "displayFinancialStatus": _enum(order.financial_status),
        "displayFulfillmentStatus": _enum(order.fulfillment_status),
        "currencyCode": order.currency,
        "tags": sorted(order.tags),
        "note": order.note,
        "customAttributes": [{"key": k, "value": v} for k, v in order.custom_attributes],
        "discountCodes": list(order.discount_codes),
        "shippingAddress": _address(order.shipping_address, order.id),
        "billingAddress": _address(order.billing_address, order.id),
        "customer": (lambda: customer_view(store, customer)) if customer else None,
        "totalPriceSet": _money(order.total, order.currency),
        "totalRefundedSet": _money(refunded, order.currency),
        "refunds": refunds,
        "fulfillments": fulfillments,
        "lineItems": lambda **args: _page(line_items, **args),
        **_metafield_fields(order.metafields, "ORDER"),
    }


def _tracking(company: str | None) -> Callable[..., list[dict[str, Any]]]:
    def tracking(**_: Any) -> list[dict[str, Any]]:
        return [{"company": company, "number": None, "url": None}] if company else []

    return tracking


def customer_view(store: DevStore, customer: Customer) -> dict[str, Any]:
    orders = store.customer_orders(customer.id)
    spent = sum(
        (o.total - sum((r.amount for r in o.refunds), Decimal(0)) for o in orders), Decimal(0)
    )
    first_name, last_name = customer.first_name or "", customer.last_name or ""
    return {
        "__typename": "Customer",
        "id": customer.gid,
        "legacyResourceId": str(customer.id),
        "email": customer.email,
        "defaultEmailAddress": {"emailAddress": customer.email} if customer.email else None,
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "displayName": f"{first_name} {last_name}".strip() or (customer.email or ""),
        "phone": customer.phone,
        "defaultPhoneNumber": {"phoneNumber": customer.phone} if customer.phone else None,
        "state": "ENABLED",
        "note": customer.note,
        "createdAt": iso(customer.created_at),
        "updatedAt": iso(customer.updated_at),
        "tags": sorted(customer.tags),
        # UnsignedInt64 is serialised as a string by Shopify.
        "numberOfOrders": str(len(orders)),
        "amountSpent": {"amount": f"{spent:.2f}", "currencyCode": store.currency},
        "statistics": {
            "predictedSpendTier": _enum(customer.predicted_spend_tier),
            "rfmGroup": _enum(customer.rfm_group),
        },
        "defaultAddress": _address(
            customer.addresses[0] if customer.addresses else None, customer.id
        ),
        "addressesV2": lambda **args: _page(
            [_address(a, customer.id) for a in customer.addresses], **args
        ),
        "orders": lambda *, query=None, sortKey=None, **args: _page(  # noqa: N803
            _sorted_orders(_filter_orders(orders, query), sortKey),
            view=lambda o: order_view(store, o),
            **args,
        ),
        **_metafield_fields(customer.metafields, "CUSTOMER"),
    }


def _view(store: DevStore, subject: Customer | Order | None) -> dict[str, Any] | None:
    if isinstance(subject, Order):
        return order_view(store, subject)
    if isinstance(subject, Customer):
        return customer_view(store, subject)
    return None


# --- search queries: the subset of Shopify's search syntax Clout's documents use -------------

_UPDATED_SINCE = re.compile(r"updated_at:\s*(>=?)\s*['\"]?([^'\"\s]+)['\"]?")
_CREATED_SINCE = re.compile(r"created_at:\s*(>=?)\s*['\"]?([^'\"\s]+)['\"]?")
_EMAIL = re.compile(r"email:\s*['\"]?([^'\"\s]+)")
_KNOWN_FILTER = re.compile(r"^\s*(updated_at|created_at|email):")


_TAG_TERM = re.compile(
    r"(?P<negated>NOT\s+|-)?tag:(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s'\"]+)"
)


def _search_terms(query: str) -> list[tuple[bool, str]] | None:
    """A query of tag terms joined by AND (`tag:'a' AND NOT tag:'b'`, what saved views hold) as
    (negated, tag) pairs; None when it is not one (an unclosed quote, another filter)."""
    terms = []
    for part in re.split(r"\s+AND\s+", query.strip()):
        match = _TAG_TERM.fullmatch(part)
        if match is None:
            return None
        value = match.group("value")
        if value[0] in "'\"":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        terms.append((match.group("negated") is not None, value))
    return terms


def _check_search(query: str | None) -> None:
    if query and not _KNOWN_FILTER.match(query) and _search_terms(query) is None:
        raise NotEmulated(f"the search query {query!r}")


def _sorted_orders(orders: list[Order], sort_key: str | None) -> list[Order]:
    keys: dict[str, Callable[[Order], Any]] = {
        "ID": lambda o: o.id,
        "CREATED_AT": lambda o: (o.created_at, o.id),
        "PROCESSED_AT": lambda o: (o.created_at, o.id),
        "UPDATED_AT": lambda o: (o.updated_at, o.id),
        "ORDER_NUMBER": lambda o: o.number,
    }
    chosen = keys.get(sort_key or "ID")
    if chosen is None:
        raise NotEmulated(f"sorting orders by {sort_key}")
    return sorted(orders, key=chosen)


def _orders_matching(store: DevStore, query: str | None) -> list[Order]:
    with store.lock:
        orders = list(store.orders.values())
    return _filter_orders(orders, query)


def _filter_orders(orders: list[Order], query: str | None) -> list[Order]:
    _check_search(query)
    if not query:
        return orders
    for pattern, stamp in ((_UPDATED_SINCE, "updated_at"), (_CREATED_SINCE, "created_at")):
        match = pattern.search(query)
        if match:
            inclusive = match.group(1) == ">="
            since = datetime.fromisoformat(match.group(2).replace("Z", "+00:00"))
            orders = [
                o
                for o in orders
                if getattr(o, stamp) > since or (inclusive and getattr(o, stamp) == since)
            ]
    email = _EMAIL.search(query)
    if email:
        orders = [o for o in orders if (o.email or "").lower() == email.group(1).lower()]
    for negated, tag in _search_terms(query) or []:
        orders = [o for o in orders if (tag in o.tags) != negated]
    return orders


def _customers_matching(store: DevStore, query: str | None) -> list[Customer]:
    _check_search(query)
    with store.lock:
        customers = sorted(store.customers.values(), key=lambda c: c.id)
    if query:
        email = _EMAIL.search(query)
        if email:
            customers = [c for c in customers if (c.email or "").lower() == email.group(1).lower()]
        match = _UPDATED_SINCE.search(query)
        if match:
            since = datetime.fromisoformat(match.group(2).replace("Z", "+00:00"))
            customers = [c for c in customers if c.updated_at > since]
    return customers


# --- root fields -------------------------------------------------------------------------------


def _shop(store: DevStore) -> dict[str, Any]:
    return {
        "__typename": "Shop",
        "id": "gid://shopify/Shop/1",
        "name": store.domain.split(".")[0],
        "myshopifyDomain": store.domain,
        "currencyCode": store.currency,
    }


def _orders(
    store: DevStore,
    *,
    query: str | None = None,
    sortKey: str | None = None,  # noqa: N803 - Shopify's argument name
    **args: Any,
) -> dict[str, Any]:
    found = _sorted_orders(_orders_matching(store, query), sortKey)
    return _page(found, view=lambda o: order_view(store, o), **args)


def _customers(
    store: DevStore,
    *,
    query: str | None = None,
    sortKey: str | None = None,  # noqa: N803 - Shopify's argument name
    **args: Any,
) -> dict[str, Any]:
    if sortKey not in (None, "ID"):
        raise NotEmulated(f"sorting customers by {sortKey}")
    found = _customers_matching(store, query)
    return _page(found, view=lambda c: customer_view(store, c), **args)


def _typed(kind: str, store: DevStore, gid: str) -> dict[str, Any] | None:
    return _view(store, store.find(gid)) if gid.startswith(f"gid://shopify/{kind}/") else None


def _change_tags(store: DevStore, gid: str, tags: list[str] | str, *, add: bool) -> dict[str, Any]:
    if isinstance(tags, str):  # Shopify also takes one comma-separated string
        tags = [t.strip() for t in tags.split(",")]
    subject = store.find(gid)
    if subject is None:
        return {"node": None, "userErrors": [{"field": ["id"], "message": "Resource not found"}]}
    limit = ORDER_TAG_MAX if isinstance(subject, Order) else CUSTOMER_TAG_MAX
    cleaned = [t.strip() for t in tags if t.strip()]
    too_long = [t for t in cleaned if len(t) > limit]
    if too_long:
        return {
            "node": None,
            "userErrors": [
                {"field": ["tags"], "message": f"Tag is too long (maximum is {limit} characters)"}
            ],
        }
    with store.lock:
        before = set(subject.tags)
        after = before | set(cleaned) if add else before - set(cleaned)
        if len(after) > MAX_TAGS:
            return {
                "node": None,
                "userErrors": [{"field": ["tags"], "message": "Too many tags"}],
            }
        changed = after != before
        if changed:
            subject.tags = sorted(after)
            subject.updated_at = now()
    if changed and isinstance(subject, Order):
        store.emit("orders/updated", subject)
    elif changed:
        # Since API 2025-01 a customer's own webhooks carry no tags: the change itself comes
        # as customer.tags_added / customer.tags_removed, naming the tags that changed.
        store.emit("customers/update", subject)
        store.emit(
            "customer.tags_added" if add else "customer.tags_removed",
            {
                "customerId": subject.gid,
                "tags": sorted(after - before if add else before - after),
                "occurredAt": iso(subject.updated_at),
            },
        )
    return {"node": _view(store, subject), "userErrors": []}


def _metafields_set(store: DevStore, metafields: list[dict[str, Any]]) -> dict[str, Any]:
    def error(index: int, name: str, message: str, code: str) -> dict[str, Any]:
        return {
            "field": ["metafields", str(index), name],
            "message": message,
            "code": code,
            "elementIndex": index,
        }

    if len(metafields) > 25:
        return {
            "metafields": None,
            "userErrors": [
                {
                    "field": ["metafields"],
                    "message": "Exceeded the maximum of 25 metafields",
                    "code": "LESS_THAN_OR_EQUAL_TO",
                    "elementIndex": None,
                }
            ],
        }
    errors = []
    for index, item in enumerate(metafields):
        namespace = item.get("namespace") or "$app"
        if store.find(item["ownerId"]) is None:
            errors.append(error(index, "ownerId", "Owner does not exist", "INVALID"))
        if len(namespace) < 3 or len(item["key"]) < 2:
            errors.append(error(index, "key", "is too short", "TOO_SHORT"))
        if not item.get("type"):
            errors.append(error(index, "type", "can't be blank", "BLANK"))
        elif problem := _value_problem(item["type"], item["value"]):
            errors.append(error(index, "value", problem, "INVALID_VALUE"))
        elif refusal := _refusal_by_definition(store, item, namespace):
            # A defined metafield takes only its definition's type and values.
            code = "INVALID_TYPE" if refusal.startswith("Type") else "INVALID_VALUE"
            errors.append(error(index, "value", refusal, code))
    if errors:  # Shopify's metafieldsSet is atomic: nothing is written when any input is wrong
        return {"metafields": [], "userErrors": errors}
    written = []
    for item in metafields:
        owner = store.find(item["ownerId"])
        assert owner is not None
        with store.lock:
            key = (item.get("namespace") or "$app", item["key"])
            field = owner.metafields.get(key) or Metafield(
                namespace=key[0], key=key[1], type=item["type"], value="", id=store.next_id()
            )
            field.type, field.value, field.updated_at = item["type"], item["value"], now()
            owner.metafields[key] = field
        written.append(_metafield(field, "ORDER" if isinstance(owner, Order) else "CUSTOMER"))
    return {"metafields": written, "userErrors": []}


def _metafields_delete(store: DevStore, metafields: list[dict[str, Any]]) -> dict[str, Any]:
    """Shopify's metafieldsDelete: a metafield that is not there is no error (null in
    `deletedMetafields`); an owner that does not exist is."""
    deleted: list[dict[str, Any] | None] = []
    for index, item in enumerate(metafields):
        owner = store.find(item["ownerId"])
        if owner is None:
            return {
                "deletedMetafields": [],
                "userErrors": [
                    {"field": ["metafields", str(index), "ownerId"], "message": "Owner not found"}
                ],
            }
        with store.lock:
            key = (item.get("namespace") or "$app", item["key"])
            gone = owner.metafields.pop(key, None)
        deleted.append(
            None
            if gone is None
            else {"key": key[1], "namespace": key[0], "ownerId": item["ownerId"]}
        )
    return {"deletedMetafields": deleted, "userErrors": []}


def _value_problem(kind: str, value: str) -> str | None:
    """Shopify checks a value against its metafield type (a few common types emulated)."""
    checks: dict[str, Callable[[str], bool]] = {
        "number_integer": lambda v: re.fullmatch(r"-?\d+", v) is not None,
        "number_decimal": lambda v: re.fullmatch(r"-?\d+(\.\d+)?", v) is not None,
        "boolean": lambda v: v in ("true", "false"),
        "date_time": lambda v: (
            re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?", v) is not None
        ),
        "json": _is_json,
        "single_line_text_field": lambda v: "\n" not in v,
        "multi_line_text_field": lambda _v: True,
    }
    check = checks.get(kind)
    if check is None:
        return None  # a type the emulator does not check: accepted, as most are by Shopify
    return None if check(value) else f"Value must be a valid {kind}."


def _is_json(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def flow_trigger_fields(handle: str) -> dict[str, str] | None:
    """The fields a Flow trigger extension declares, {payload key: type}; None when the
    emulator does not know the trigger (run outside a checkout)."""
    for path in EXTENSIONS_DIR.glob("*/shopify.extension.toml"):
        config = tomllib.loads(path.read_text())
        for extension in config.get("extensions", []):
            if extension.get("type") == "flow_trigger" and extension.get("handle") == handle:
                fields = config.get("settings", {}).get("fields", [])
                return {_payload_key(f): f["type"] for f in fields}
    return None


_REFERENCE_KEYS = {
    "customer_reference": "customer_id",
    "order_reference": "order_id",
    "product_reference": "product_id",
}


def _payload_key(field: Mapping[str, str]) -> str:
    return _REFERENCE_KEYS.get(field["type"]) or field["key"]


def flow_payload_problems(declared: Mapping[str, str], payload: Mapping[str, Any]) -> list[str]:
    """How a payload strays from a trigger's declared fields: custom fields must all be there in
    their declared type; references, when given, are numeric ids; nothing undeclared."""
    problems = [f"Invalid field: '{key}' is not declared" for key in payload if key not in declared]
    for key, kind in declared.items():
        value = payload.get(key)
        if kind in _REFERENCE_KEYS:
            if value is not None and not (isinstance(value, int) and not isinstance(value, bool)):
                problems.append(f"'{key}' must be the numeric id of the resource")
            continue
        if value is None:
            problems.append(f"Missing field: '{key}'")
        elif kind in ("single_line_text_field", "multi_line_text_field"):
            if not isinstance(value, str):
                problems.append(f"'{key}' must be text ({kind}), got {type(value).__name__}")
            elif kind == "single_line_text_field" and "\n" in value:
                problems.append(f"'{key}' must be one line")
        elif kind == "number_decimal" and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            problems.append(f"'{key}' must be a number")
        elif kind == "boolean" and not isinstance(value, bool):
            problems.append(f"'{key}' must be true or false")
    references = [k for k, t in declared.items() if t in _REFERENCE_KEYS]
    if references and not any(payload.get(k) is not None for k in references):
        problems.append("the payload names none of the trigger's resources")
    return problems


def _flow_trigger(
    store: DevStore,
    *,
    handle: str | None = None,
    payload: Any = None,
    body: str | None = None,
) -> dict[str, Any]:
    if body is not None:
        raise NotEmulated("flowTriggerReceive's deprecated `body` argument")
    if not handle or not isinstance(payload, dict):
        return {"userErrors": [{"field": ["handle"], "message": "Invalid handle or payload"}]}
    if len(json.dumps(payload)) > FLOW_PAYLOAD_MAX:
        return {"userErrors": [{"field": ["payload"], "message": "Payload exceeds 50 KB"}]}
    declared = flow_trigger_fields(handle)
    if declared is not None:
        problems = flow_payload_problems(declared, payload)
        if problems:
            message = "Errors validating schema:\n  " + "\n  ".join(problems)
            return {"userErrors": [{"field": ["payload"], "message": message}]}
    with store.lock:
        store.flow_triggers.append({"handle": handle, "payload": payload})
    return {"userErrors": []}


def _subscription_view(sub: Mapping[str, Any]) -> dict[str, Any]:
    return {"__typename": "WebhookSubscription", **sub}


def _webhook_subscriptions(
    store: DevStore,
    *,
    topics: list[str] | None = None,
    uri: str | None = None,
    sortKey: str | None = None,  # noqa: N803 - Shopify's argument name
    **args: Any,
) -> dict[str, Any]:
    if sortKey not in (None, "CREATED_AT", "ID"):
        raise NotEmulated(f"sorting webhook subscriptions by {sortKey}")
    with store.lock:
        found = [
            s
            for s in store.subscriptions
            if (topics is None or s["topic"] in topics) and (uri is None or s["uri"] == uri)
        ]
    return _page(found, view=_subscription_view, **args)


_SUBSCRIBABLE_URI = re.compile(r"https://\S+|http://(127\.0\.0\.1|localhost)(:\d+)?/\S*")


def _webhook_subscription_create(
    store: DevStore,
    *,
    topic: str,
    webhookSubscription: dict[str, Any],  # noqa: N803
) -> dict[str, Any]:
    uri = str(webhookSubscription.get("uri") or "")
    if webhookSubscription.get("callbackUrl") is not None:
        raise NotEmulated("webhookSubscriptionCreate's deprecated callbackUrl")
    if not _SUBSCRIBABLE_URI.fullmatch(uri):
        return {
            "webhookSubscription": None,
            "userErrors": [
                {"field": ["webhookSubscription", "uri"], "message": "Address is invalid"}
            ],
        }
    with store.lock:
        if any(s["topic"] == topic and s["uri"] == uri for s in store.subscriptions):
            return {
                "webhookSubscription": None,
                "userErrors": [
                    {
                        "field": ["webhookSubscription", "uri"],
                        "message": "Address for this topic has already been taken",
                    }
                ],
            }
        sub = {
            "id": f"gid://shopify/WebhookSubscription/{store.next_id()}",
            "topic": topic,
            "uri": uri,
            "format": "JSON",
            "createdAt": iso(now()),
            "updatedAt": iso(now()),
        }
        store.subscriptions.append(sub)
    return {"webhookSubscription": _subscription_view(sub), "userErrors": []}


def _webhook_subscription_delete(store: DevStore, *, id: str) -> dict[str, Any]:  # noqa: A002
    with store.lock:
        kept = [s for s in store.subscriptions if s["id"] != id]
        gone = len(kept) != len(store.subscriptions)
        store.subscriptions = kept
    if not gone:
        return {
            "deletedWebhookSubscriptionId": None,
            "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}],
        }
    return {"deletedWebhookSubscriptionId": id, "userErrors": []}


def _current_app_installation(store: DevStore) -> dict[str, Any]:
    return {
        "__typename": "AppInstallation",
        "id": "gid://shopify/AppInstallation/1",
        "accessScopes": [
            {"__typename": "AccessScope", "handle": h, "description": h}
            for h in sorted(store.granted_scopes)
        ],
    }


def _node(store: DevStore, *, id: str) -> dict[str, Any] | None:  # noqa: A002 - Shopify's name
    if id.startswith("gid://shopify/BulkOperation/"):
        return bulk.operation_view(store, id)
    return _view(store, store.find(id))


def _run_bulk_query(
    store: DevStore,
    *,
    query: str,
    groupObjects: bool = False,  # noqa: N803 - Shopify's argument name
) -> dict[str, Any]:
    schema = current_schema()
    return bulk.run_query(
        store,
        schema,
        query,
        group_objects=groupObjects,
        execute=lambda document: _execute_bulk(store, schema, document),
    )


def _execute_bulk(
    store: DevStore, schema: GraphQLSchema, document: DocumentNode
) -> ExecutionResult:
    with bulk_mode():
        return execute(store, schema, document, None)


# --- what an app keeps in the merchant's admin: saved searches, metafield definitions,
# segments ------------------------------------------------------------------------------------

# The metafield types a definition may take that the emulator knows (Shopify lists more: those
# answer "not emulated" rather than a guess), and the validations each accepts.
_DEFINITION_TYPES: dict[str, frozenset[str]] = {
    "single_line_text_field": frozenset({"choices", "min", "max", "regex"}),
    "multi_line_text_field": frozenset({"min", "max", "regex"}),
    "number_integer": frozenset({"min", "max"}),
    "number_decimal": frozenset({"min", "max", "max_precision"}),
    "date_time": frozenset({"min", "max"}),
    "date": frozenset({"min", "max"}),
    "boolean": frozenset(),
    "json": frozenset({"schema"}),
}
_DEFINITION_KEY = re.compile(r"[A-Za-z0-9_-]{2,64}")
_DEFINITION_NAMESPACE = re.compile(r"\$?[A-Za-z0-9_:-]{3,255}")
# Customer segments filter on a metafield only through a definition of these types (Shopify's
# "Metafield-based customer segment filters": date and time, number, text, true or false).
_SEGMENT_METAFIELD_TYPES = frozenset(
    {"date_time", "date", "number_integer", "number_decimal", "single_line_text_field", "boolean"}
)


def _saved_search_view(search: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "__typename": "SavedSearch",
        "id": search["id"],
        "legacyResourceId": search["id"].rsplit("/", 1)[1],
        "name": search["name"],
        "query": search["query"],
        "resourceType": search["resourceType"],
    }


def _saved_search_problem(name: str | None, query: str | None) -> dict[str, Any] | None:
    if name is not None and not name.strip():
        return {"field": ["input", "name"], "message": "Name can't be blank"}
    if query is not None and _search_terms(query) is None:
        return {"field": ["input", "query"], "message": "Query is invalid"}
    return None


def _order_saved_searches(store: DevStore, **args: Any) -> dict[str, Any]:
    with store.lock:
        found = [s for s in store.saved_searches if s["resourceType"] == "ORDER"]
    return _page(found, view=_saved_search_view, **args)


def _saved_search_create(store: DevStore, *, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    if input["resourceType"] != "ORDER":
        # Customer saved searches are deprecated in 2026-07 ("use `segments` instead").
        raise NotEmulated(f"saved searches of {input['resourceType']}")
    problem = _saved_search_problem(input["name"], input["query"])
    if problem is not None:
        return {"savedSearch": None, "userErrors": [problem]}
    search = {
        "id": f"gid://shopify/SavedSearch/{store.next_id()}",
        "name": input["name"],
        "query": input["query"],
        "resourceType": input["resourceType"],
    }
    with store.lock:
        store.saved_searches.append(search)
    return {"savedSearch": _saved_search_view(search), "userErrors": []}


def _saved_search_update(store: DevStore, *, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    problem = _saved_search_problem(input.get("name"), input.get("query"))
    if problem is not None:
        return {"savedSearch": None, "userErrors": [problem]}
    with store.lock:
        search = next((s for s in store.saved_searches if s["id"] == input["id"]), None)
        if search is None:
            return {
                "savedSearch": None,
                "userErrors": [{"field": ["input", "id"], "message": "Saved Search not found"}],
            }
        for key in ("name", "query"):
            if input.get(key) is not None:
                search[key] = input[key]
    return {"savedSearch": _saved_search_view(search), "userErrors": []}


def _saved_search_delete(store: DevStore, *, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    with store.lock:
        kept = [s for s in store.saved_searches if s["id"] != input["id"]]
        gone = len(kept) != len(store.saved_searches)
        store.saved_searches = kept
    if not gone:
        return {
            "deletedSavedSearchId": None,
            "shop": _shop(store),
            "userErrors": [{"field": ["input", "id"], "message": "Saved Search not found"}],
        }
    return {"deletedSavedSearchId": input["id"], "shop": _shop(store), "userErrors": []}


def _definition_view(definition: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "__typename": "MetafieldDefinition",
        "id": definition["id"],
        "namespace": definition["namespace"],
        "key": definition["key"],
        "name": definition["name"],
        "description": definition["description"],
        "ownerType": definition["ownerType"],
        "pinnedPosition": definition["pinnedPosition"],
        "type": {"__typename": "MetafieldDefinitionType", "name": definition["type"]},
        "validations": [
            {"name": n, "value": v, "type": definition["type"]}
            for n, v in definition["validations"]
        ],
        "access": {
            "storefront": definition["access"].get("storefront") or "NONE",
            "customerAccount": definition["access"].get("customerAccount") or "NONE",
            "admin": definition["access"].get("admin"),
        },
    }


def defined(store: DevStore, owner_type: str, namespace: str, key: str) -> dict[str, Any] | None:
    """The definition of a metafield, when there is one."""
    with store.lock:
        return next(
            (
                d
                for d in store.metafield_definitions
                if (d["ownerType"], d["namespace"], d["key"]) == (owner_type, namespace, key)
            ),
            None,
        )


def _metafield_definitions(
    store: DevStore,
    *,
    ownerType: str,  # noqa: N803 - Shopify's argument name
    namespace: str | None = None,
    key: str | None = None,
    **args: Any,
) -> dict[str, Any]:
    # Shopify's defaults (every definition, any pinning, by id) are what the emulator does.
    neutral = {"pinnedStatus": "ANY", "sortKey": "ID", "constraintStatus": None, "query": None}
    for argument, default in neutral.items():
        if args.pop(argument, default) not in (None, default):
            raise NotEmulated(f"metafieldDefinitions' {argument}")
    args.pop("constraintSubtype", None)
    with store.lock:
        found = [
            d
            for d in store.metafield_definitions
            if d["ownerType"] == ownerType
            and (namespace is None or d["namespace"] == namespace)
            and (key is None or d["key"] == key)
        ]
    return _page(found, view=_definition_view, **args)


def _definition_problems(definition: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    def error(name: str, message: str, code: str) -> dict[str, Any]:
        return {"field": ["definition", name], "message": message, "code": code}

    problems = []
    namespace = definition.get("namespace") or "$app"
    if (definition.get("access") or {}).get("admin") and not namespace.startswith("$app"):
        problems.append(
            error(
                "access",
                "Admin access can only be specified for app-owned metafield definitions.",
                "ADMIN_ACCESS_INPUT_NOT_ALLOWED",
            )
        )
    if "name" in definition and not (definition.get("name") or "").strip():
        problems.append(error("name", "Name can't be blank", "BLANK"))
    allowed = _DEFINITION_TYPES.get(kind, frozenset())
    for index, validation in enumerate(definition.get("validations") or []):
        if validation["name"] not in allowed:
            problems.append(
                error(
                    "validations",
                    f"Validations {index}: {validation['name']} is not a valid option for {kind}",
                    "INVALID_OPTION",
                )
            )
        elif validation["name"] == "choices" and not _is_json(validation["value"]):
            problems.append(error("validations", "Choices must be a list", "INVALID_OPTION"))
    return problems


def _pin_position(store: DevStore, owner_type: str) -> int:
    pinned = [
        d["pinnedPosition"]
        for d in store.metafield_definitions
        if d["ownerType"] == owner_type and d["pinnedPosition"] is not None
    ]
    return max(pinned, default=0) + 1


def _metafield_definition_create(store: DevStore, *, definition: dict[str, Any]) -> dict[str, Any]:
    kind, key = definition["type"], definition["key"]
    namespace = definition.get("namespace") or "$app"
    if kind not in _DEFINITION_TYPES:
        raise NotEmulated(f"metafield definitions of type {kind}")
    if definition.get("capabilities") or definition.get("constraints"):
        raise NotEmulated("metafield definition capabilities and constraints")

    def refused(name: str, message: str, code: str) -> dict[str, Any]:
        error = {"field": ["definition", name], "message": message, "code": code}
        return {"createdDefinition": None, "userErrors": [error]}

    if not _DEFINITION_KEY.fullmatch(key):
        return refused("key", "Key is invalid", "INVALID")
    if not _DEFINITION_NAMESPACE.fullmatch(namespace):
        return refused("namespace", "Namespace is invalid", "INVALID")
    problems = _definition_problems(definition, kind)
    if problems:
        return {"createdDefinition": None, "userErrors": problems}
    if defined(store, definition["ownerType"], namespace, key) is not None:
        return refused(
            "key", "Key is in use for Customer metafields on the 'clout' namespace.", "TAKEN"
        )
    with store.lock:
        created = {
            "id": f"gid://shopify/MetafieldDefinition/{store.next_id()}",
            "namespace": namespace,
            "key": key,
            "ownerType": definition["ownerType"],
            "type": kind,
            "name": definition["name"],
            "description": definition.get("description"),
            "pinnedPosition": _pin_position(store, definition["ownerType"])
            if definition.get("pin")
            else None,
            "validations": [(v["name"], v["value"]) for v in definition.get("validations") or []],
            "access": dict(definition.get("access") or {}),
        }
        store.metafield_definitions.append(created)
    return {"createdDefinition": _definition_view(created), "userErrors": []}


def _metafield_definition_update(store: DevStore, *, definition: dict[str, Any]) -> dict[str, Any]:
    namespace = definition.get("namespace") or "$app"
    found = defined(store, definition["ownerType"], namespace, definition["key"])
    if found is None:
        error = {"field": ["definition"], "message": "Definition not found.", "code": "NOT_FOUND"}
        return {"updatedDefinition": None, "userErrors": [error], "validationJob": None}
    if definition.get("capabilities") or definition.get("constraintsUpdates"):
        raise NotEmulated("metafield definition capabilities and constraints")
    problems = _definition_problems(definition, found["type"])
    if problems:
        return {"updatedDefinition": None, "userErrors": problems, "validationJob": None}
    with store.lock:
        for field_name in ("name", "description"):
            if definition.get(field_name) is not None:
                found[field_name] = definition[field_name]
        if definition.get("validations") is not None:
            found["validations"] = [(v["name"], v["value"]) for v in definition["validations"]]
        if definition.get("access") is not None:
            found["access"] = {**found["access"], **definition["access"]}
        if definition.get("pin") is True and found["pinnedPosition"] is None:
            found["pinnedPosition"] = _pin_position(store, found["ownerType"])
        elif definition.get("pin") is False:
            found["pinnedPosition"] = None
    return {"updatedDefinition": _definition_view(found), "userErrors": [], "validationJob": None}


def _refusal_by_definition(store: DevStore, item: Mapping[str, Any], namespace: str) -> str | None:
    owner = store.find(item["ownerId"])
    if owner is None:
        return None
    owner_type = "ORDER" if isinstance(owner, Order) else "CUSTOMER"
    definition = defined(store, owner_type, namespace, item["key"])
    if definition is None:
        return None
    return _definition_refusal(definition, item["type"], item["value"])


def _definition_refusal(definition: Mapping[str, Any], kind: str, value: str) -> str | None:
    """How a value strays from its definition: its type, then its validations."""
    if kind != definition["type"]:
        return (
            f"Type '{kind}' must be consistent with the definition's type: '{definition['type']}'."
        )
    for name, rule in definition["validations"]:
        if name == "choices" and value not in json.loads(rule):
            return f"Value does not exist in provided choices: {rule}."
        if name in ("min", "max") and definition["type"] == "number_integer":
            number, bound = int(value), int(rule)
            if (name == "min" and number < bound) or (name == "max" and number > bound):
                return f"Value must be {'at least' if name == 'min' else 'at most'} {rule}."
    return None


def _segment_view(segment: Mapping[str, Any]) -> dict[str, Any]:
    return {"__typename": "Segment", **segment}


_SEGMENT_CLAUSE = re.compile(
    r"\s*(?P<attribute>[a-z_]+(?:\.[A-Za-z0-9_$:-]+\.[A-Za-z0-9_-]+)?)\s+"
    r"(?P<operator>NOT CONTAINS|CONTAINS|>=|<=|!=|=|>|<|IS NOT NULL|IS NULL)"
    r"\s*(?P<value>'(?:[^'\\]|\\.)*'|-?\d+[dwmy]|\S+)?\s*"
)


def _segment_problem(store: DevStore, query: str) -> str | None:
    """Shopify checks a segment's query when it is saved. The emulator knows the clauses Clout
    writes (tags, metafields) joined by AND; any other attribute is not emulated."""
    for clause in re.split(r"\s+AND\s+", query.strip()):
        match = _SEGMENT_CLAUSE.fullmatch(clause)
        if match is None:
            return f"Query Line 1: '{clause}' is not a valid condition"
        attribute, operator = match.group("attribute"), match.group("operator")
        if attribute == "customer_tags":
            if operator not in ("CONTAINS", "NOT CONTAINS") or not (
                match.group("value") or ""
            ).startswith("'"):
                return "Query Line 1: customer_tags takes CONTAINS 'a tag'"
        elif attribute.startswith("metafields."):
            _, namespace, key = attribute.split(".")
            definition = defined(store, "CUSTOMER", namespace, key)
            if definition is None or definition["type"] not in _SEGMENT_METAFIELD_TYPES:
                return f"Query Line 1: '{attribute}' filter cannot be found."
        else:
            raise NotEmulated(f"the segment attribute {attribute}")
    return None


def _segments(store: DevStore, *, query: str | None = None, **args: Any) -> dict[str, Any]:
    if query is not None or args.pop("sortKey", "CREATION_DATE") not in (None, "CREATION_DATE"):
        raise NotEmulated("searching or sorting segments")
    with store.lock:
        found = list(store.segments)
    return _page(found, view=_segment_view, **args)


def _segment_create(store: DevStore, *, name: str, query: str) -> dict[str, Any]:
    def refused(field_name: str, message: str) -> dict[str, Any]:
        return {"segment": None, "userErrors": [{"field": [field_name], "message": message}]}

    if not name.strip():
        return refused("name", "Name can't be blank")
    problem = _segment_problem(store, query)
    if problem is not None:
        return refused("query", problem)
    with store.lock:
        if any(s["name"] == name for s in store.segments):
            return refused("name", "Name has already been taken")
        segment = {
            "id": f"gid://shopify/Segment/{store.next_id()}",
            "name": name,
            "query": query,
            "creationDate": iso(now()),
            "lastEditDate": iso(now()),
        }
        store.segments.append(segment)
    return {"segment": _segment_view(segment), "userErrors": []}


def _segment_update(
    store: DevStore,
    *,
    id: str,  # noqa: A002 - Shopify's argument name
    name: str | None = None,
    query: str | None = None,
) -> dict[str, Any]:
    def refused(field_name: str, message: str) -> dict[str, Any]:
        return {"segment": None, "userErrors": [{"field": [field_name], "message": message}]}

    if query is not None and (problem := _segment_problem(store, query)) is not None:
        return refused("query", problem)
    with store.lock:
        segment = next((s for s in store.segments if s["id"] == id), None)
        if segment is None:
            return refused("id", "Segment does not exist")
        if name is not None:
            segment["name"] = name
        if query is not None:
            segment["query"] = query
        segment["lastEditDate"] = iso(now())
    return {"segment": _segment_view(segment), "userErrors": []}


def _segment_delete(store: DevStore, *, id: str) -> dict[str, Any]:  # noqa: A002
    with store.lock:
        kept = [s for s in store.segments if s["id"] != id]
        gone = len(kept) != len(store.segments)
        store.segments = kept
    if not gone:
        return {
            "deletedSegmentId": None,
            "userErrors": [{"field": ["id"], "message": "Segment does not exist"}],
        }
    return {"deletedSegmentId": id, "userErrors": []}


QUERIES: dict[str, Callable[..., Any]] = {
    "shop": _shop,
    "node": _node,
    "bulkOperation": lambda store, *, id: bulk.operation_view(store, id),
    "currentBulkOperation": lambda store, *, type="QUERY": bulk.current_view(store, type),
    "order": lambda store, *, id: _typed("Order", store, id),
    "customer": lambda store, *, id: _typed("Customer", store, id),
    "orders": _orders,
    "customers": _customers,
    "webhookSubscriptions": _webhook_subscriptions,
    "currentAppInstallation": _current_app_installation,
    "orderSavedSearches": _order_saved_searches,
    "metafieldDefinitions": _metafield_definitions,
    "segments": _segments,
}

MUTATIONS: dict[str, Callable[..., Any]] = {
    "tagsAdd": lambda store, *, id, tags: _change_tags(store, id, tags, add=True),
    "tagsRemove": lambda store, *, id, tags: _change_tags(store, id, tags, add=False),
    "metafieldsSet": _metafields_set,
    "metafieldsDelete": _metafields_delete,
    "flowTriggerReceive": _flow_trigger,
    "webhookSubscriptionCreate": _webhook_subscription_create,
    "webhookSubscriptionDelete": _webhook_subscription_delete,
    "bulkOperationRunQuery": _run_bulk_query,
    "savedSearchCreate": _saved_search_create,
    "savedSearchUpdate": _saved_search_update,
    "savedSearchDelete": _saved_search_delete,
    "metafieldDefinitionCreate": _metafield_definition_create,
    "metafieldDefinitionUpdate": _metafield_definition_update,
    "segmentCreate": _segment_create,
    "segmentUpdate": _segment_update,
    "segmentDelete": _segment_delete,
}
