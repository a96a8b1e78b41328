"""The subset of the Admin GraphQL API that Clout uses, with Shopify's names and shapes,
executed by graphql-core over a DevStore. Query cost follows Shopify's published rules:
objects 1, connections 2 + the page size, mutations 10, scalars and enums 0."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    build_schema,
    get_named_type,
)

from service.devstore.store import (
    Address,
    Customer,
    DevStore,
    Metafield,
    Order,
    iso,
    now,
)

SDL = """
scalar DateTime
scalar Decimal
scalar UnsignedInt64
scalar JSON

interface Node { id: ID! }

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }

type MoneyV2 { amount: Decimal! currencyCode: String! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }

type MailingAddress {
  id: ID
  firstName: String
  lastName: String
  name: String
  address1: String
  address2: String
  city: String
  zip: String
  provinceCode: String
  countryCodeV2: String
  phone: String
  company: String
}

type Attribute { key: String! value: String }

type Metafield { id: ID! namespace: String! key: String! type: String! value: String! updatedAt: DateTime! }
type MetafieldEdge { node: Metafield! cursor: String! }
type MetafieldConnection { edges: [MetafieldEdge!]! nodes: [Metafield!]! pageInfo: PageInfo! }

type CustomerStatistics { predictedSpendTier: String rfmGroup: String }

type Customer implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  email: String
  firstName: String
  lastName: String
  displayName: String!
  phone: String
  note: String
  createdAt: DateTime!
  updatedAt: DateTime!
  tags: [String!]!
  numberOfOrders: UnsignedInt64!
  amountSpent: MoneyV2!
  statistics: CustomerStatistics!
  defaultAddress: MailingAddress
  addressesV2(first: Int, after: String): MailingAddressConnection!
  orders(first: Int, after: String, sortKey: String, reverse: Boolean): OrderConnection!
  metafield(namespace: String!, key: String!): Metafield
  metafields(first: Int, namespace: String): MetafieldConnection!
}
type MailingAddressEdge { node: MailingAddress! cursor: String! }
type MailingAddressConnection { edges: [MailingAddressEdge!]! nodes: [MailingAddress!]! pageInfo: PageInfo! }
type CustomerEdge { node: Customer! cursor: String! }
type CustomerConnection { edges: [CustomerEdge!]! nodes: [Customer!]! pageInfo: PageInfo! }

type DiscountApplication { code: String }
type Refund { id: ID! createdAt: DateTime note: String totalRefundedSet: MoneyBag! }
type FulfillmentTrackingInfo { company: String number: String url: String }
type Fulfillment {
  id: ID!
  createdAt: DateTime!
  status: String!
  displayStatus: String
  deliveredAt: DateTime
  trackingInfo: [FulfillmentTrackingInfo!]!
}
type LineItem { title: String! quantity: Int! product: Product }
type LineItemEdge { node: LineItem! cursor: String! }
type LineItemConnection { edges: [LineItemEdge!]! nodes: [LineItem!]! pageInfo: PageInfo! }
type Product { id: ID! }

type Order implements Node {
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  email: String
  createdAt: DateTime!
  updatedAt: DateTime!
  processedAt: DateTime!
  cancelledAt: DateTime
  cancelReason: String
  displayFinancialStatus: String
  displayFulfillmentStatus: String!
  tags: [String!]!
  note: String
  customAttributes: [Attribute!]!
  discountCodes: [String!]!
  shippingAddress: MailingAddress
  billingAddress: MailingAddress
  customer: Customer
  totalPriceSet: MoneyBag!
  refunds(first: Int): [Refund!]!
  fulfillments(first: Int): [Fulfillment!]!
  lineItems(first: Int, after: String): LineItemConnection!
  metafield(namespace: String!, key: String!): Metafield
}
type OrderEdge { node: Order! cursor: String! }
type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }

type Shop { id: ID! name: String! myshopifyDomain: String! currencyCode: String! }

type Query {
  shop: Shop!
  node(id: ID!): Node
  order(id: ID!): Order
  customer(id: ID!): Customer
  orders(first: Int, after: String, query: String, sortKey: String, reverse: Boolean): OrderConnection!
  customers(first: Int, after: String, query: String): CustomerConnection!
}

type UserError { field: [String!] message: String! }
type MetafieldsSetUserError { field: [String!] message: String! code: String }

type TagsAddPayload { node: Node userErrors: [UserError!]! }
type TagsRemovePayload { node: Node userErrors: [UserError!]! }
type MetafieldsSetPayload { metafields: [Metafield!] userErrors: [MetafieldsSetUserError!]! }
type FlowTriggerReceivePayload { userErrors: [UserError!]! }

input MetafieldsSetInput { ownerId: ID! namespace: String! key: String! type: String! value: String! }

type Mutation {
  tagsAdd(id: ID!, tags: [String!]!): TagsAddPayload
  tagsRemove(id: ID!, tags: [String!]!): TagsRemovePayload
  metafieldsSet(metafields: [MetafieldsSetInput!]!): MetafieldsSetPayload
  flowTriggerReceive(handle: String, payload: JSON): FlowTriggerReceivePayload
}
"""

ORDER_TAG_MAX = 40
CUSTOMER_TAG_MAX = 255
MAX_TAGS = 250
DEFAULT_PAGE = 50
MAX_PAGE = 250


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    value = {"amount": f"{amount:.2f}", "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": value}


def _address(address: Address | None, owner_id: int | None = None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
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


def _offset(after: str | None) -> int:
    if not after:
        return 0
    try:
        return int(base64.b64decode(after).decode().split(":", 1)[1]) + 1
    except (ValueError, IndexError):
        return 0


def _page(
    items: list[Any], first: int | None, after: str | None, view: Any = None
) -> dict[str, Any]:
    size = min(first or DEFAULT_PAGE, MAX_PAGE)
    start = _offset(after)
    chunk = items[start : start + size]
    if view is not None:
        chunk = [view(item) for item in chunk]
    edges = [{"node": item, "cursor": _cursor(start + i)} for i, item in enumerate(chunk)]
    return {
        "edges": edges,
        "nodes": chunk,
        "pageInfo": {
            "hasNextPage": start + size < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _metafield(field: Metafield | None) -> dict[str, Any] | None:
    if field is None:
        return None
    return {
        "id": f"gid://shopify/Metafield/{field.id}",
        "namespace": field.namespace,
        "key": field.key,
        "type": field.type,
        "value": field.value,
        "updatedAt": iso(field.updated_at),
    }


def order_view(store: DevStore, order: Order) -> dict[str, Any]:
    customer = store.customers.get(order.customer_id) if order.customer_id else None
    return {
        "__typename": "Order",
        "id": order.gid,
        "legacyResourceId": str(order.id),
        "name": order.name,
        "email": order.email,
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "processedAt": iso(order.created_at),
        "cancelledAt": iso(order.cancelled_at),
        "cancelReason": order.cancel_reason,
        "displayFinancialStatus": order.financial_status,
        "displayFulfillmentStatus": order.fulfillment_status,
        "tags": sorted(order.tags),
        "note": order.note,
        "customAttributes": [{"key": k, "value": v} for k, v in order.custom_attributes],
        "discountCodes": list(order.discount_codes),
        "shippingAddress": _address(order.shipping_address, order.id),
        "billingAddress": _address(order.billing_address, order.id),
        "customer": (lambda: customer_view(store, customer)) if customer else None,
        "totalPriceSet": _money(order.total, order.currency),
        "refunds": lambda info, first=None: [
            {
                "id": r.gid,
                "createdAt": iso(r.created_at),
                "note": r.note,
                "totalRefundedSet": _money(r.amount, order.currency),
            }
            for r in order.refunds[: first or None]
        ],
        "fulfillments": lambda info, first=None: [
            {
                "id": f.gid,
                "createdAt": iso(f.created_at),
                "status": f.status,
                "displayStatus": f.display_status,
                "deliveredAt": iso(f.delivered_at),
                "trackingInfo": [{"company": f.tracking_company, "number": None, "url": None}]
                if f.tracking_company
                else [],
            }
            for f in order.fulfillments[: first or None]
        ],
        "lineItems": lambda info, first=None, after=None: _page(
            [
                {
                    "title": li.title,
                    "quantity": li.quantity,
                    "product": {"id": f"gid://shopify/Product/{li.product_id}"},
                }
                for li in order.line_items
            ],
            first,
            after,
        ),
        "metafield": lambda info, namespace, key: _metafield(
            order.metafields.get((namespace, key))
        ),
    }


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
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "displayName": f"{first_name} {last_name}".strip() or (customer.email or ""),
        "phone": customer.phone,
        "note": customer.note,
        "createdAt": iso(customer.created_at),
        "updatedAt": iso(customer.updated_at),
        "tags": sorted(customer.tags),
        # UnsignedInt64 is serialised as a string by Shopify.
        "numberOfOrders": str(len(orders)),
        "amountSpent": {"amount": f"{spent:.2f}", "currencyCode": store.currency},
        "statistics": {
            "predictedSpendTier": customer.predicted_spend_tier,
            "rfmGroup": customer.rfm_group,
        },
        "defaultAddress": _address(
            customer.addresses[0] if customer.addresses else None, customer.id
        ),
        "addressesV2": lambda info, first=None, after=None: _page(
            [_address(a, customer.id) for a in customer.addresses], first, after
        ),
        "orders": lambda info, first=None, after=None, sortKey=None, reverse=False: _page(  # noqa: N803
            orders[::-1] if reverse else orders, first, after, view=lambda o: order_view(store, o)
        ),
        "metafield": lambda info, namespace, key: _metafield(
            customer.metafields.get((namespace, key))
        ),
        "metafields": lambda info, first=None, namespace=None: _page(
            [
                _metafield(m)
                for (ns, _), m in sorted(customer.metafields.items())
                if namespace is None or ns == namespace
            ],
            first,
            None,
        ),
    }


def _view(store: DevStore, subject: Customer | Order | None) -> dict[str, Any] | None:
    if isinstance(subject, Order):
        return order_view(store, subject)
    if isinstance(subject, Customer):
        return customer_view(store, subject)
    return None


_UPDATED_SINCE = re.compile(r"updated_at:\s*>=?\s*'?\"?([^'\"\s]+)'?\"?")


def _orders_matching(store: DevStore, query: str | None) -> list[Order]:
    with store.lock:
        orders = sorted(store.orders.values(), key=lambda o: (o.updated_at, o.id))
    if query:
        match = _UPDATED_SINCE.search(query)
        if match:
            since = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
            strict = ">=" not in query
            orders = [
                o for o in orders if o.updated_at > since or (not strict and o.updated_at == since)
            ]
        email = re.search(r"email:\s*'?\"?([^'\"\s]+)", query)
        if email:
            orders = [o for o in orders if (o.email or "").lower() == email.group(1).lower()]
    return orders


def _customers_matching(store: DevStore, query: str | None) -> list[Customer]:
    with store.lock:
        customers = sorted(store.customers.values(), key=lambda c: c.id)
    if query:
        email = re.search(r"email:\s*'?\"?([^'\"\s]+)", query)
        if email:
            customers = [c for c in customers if (c.email or "").lower() == email.group(1).lower()]
    return customers


def _change_tags(store: DevStore, gid: str, tags: list[str] | str, *, add: bool) -> dict[str, Any]:
    if isinstance(tags, str):
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
    if changed:
        store.emit("orders/updated" if isinstance(subject, Order) else "customers/update", subject)
    return {"node": _view(store, subject), "userErrors": []}


def _metafields_set(store: DevStore, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    if len(inputs) > 25:
        return {
            "metafields": None,
            "userErrors": [
                {
                    "field": ["metafields"],
                    "message": "Exceeded the maximum of 25 metafields",
                    "code": "LESS_THAN_OR_EQUAL_TO",
                }
            ],
        }
    errors = []
    for index, item in enumerate(inputs):
        if store.find(item["ownerId"]) is None:
            errors.append(
                {
                    "field": ["metafields", str(index), "ownerId"],
                    "message": "Owner does not exist",
                    "code": "INVALID",
                }
            )
        if len(item["namespace"]) < 3 or len(item["key"]) < 2:
            errors.append(
                {
                    "field": ["metafields", str(index), "key"],
                    "message": "is too short",
                    "code": "TOO_SHORT",
                }
            )
        if item["type"] == "number_integer" and not re.fullmatch(r"-?\d+", item["value"]):
            errors.append(
                {
                    "field": ["metafields", str(index), "value"],
                    "message": "Value must be an integer.",
                    "code": "INVALID_VALUE",
                }
            )
    if errors:  # Shopify's metafieldsSet is atomic: nothing is written when any input is wrong
        return {"metafields": [], "userErrors": errors}
    written = []
    for item in inputs:
        owner = store.find(item["ownerId"])
        assert owner is not None
        with store.lock:
            key = (item["namespace"], item["key"])
            field = owner.metafields.get(key) or Metafield(
                namespace=item["namespace"],
                key=item["key"],
                type=item["type"],
                value="",
                id=store.next_id(),
            )
            field.type, field.value, field.updated_at = item["type"], item["value"], now()
            owner.metafields[key] = field
        written.append(_metafield(field))
    return {"metafields": written, "userErrors": []}


def build(store: DevStore) -> GraphQLSchema:
    schema = build_schema(SDL)
    query = schema.query_type
    mutation = schema.mutation_type
    assert query is not None and mutation is not None

    def resolver(name: str, fn: Any) -> None:
        target = mutation if name in mutation.fields else query
        target.fields[name].resolve = fn

    resolver(
        "shop",
        lambda _root, _info: {
            "id": "gid://shopify/Shop/1",
            "name": store.domain.split(".")[0],
            "myshopifyDomain": store.domain,
            "currencyCode": store.currency,
        },
    )
    resolver("node", lambda _root, _info, id: _view(store, store.find(id)))
    resolver(
        "order",
        lambda _root, _info, id: (
            _view(store, store.find(id)) if id.startswith("gid://shopify/Order/") else None
        ),
    )
    resolver(
        "customer",
        lambda _root, _info, id: (
            _view(store, store.find(id)) if id.startswith("gid://shopify/Customer/") else None
        ),
    )

    def orders(
        _root: Any,
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        query: str | None = None,
        sortKey: str | None = None,  # noqa: N803
        reverse: bool = False,
    ) -> dict[str, Any]:
        found = _orders_matching(store, query)
        return _page(
            found[::-1] if reverse else found, first, after, view=lambda o: order_view(store, o)
        )

    def customers(
        _root: Any,
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        query: str | None = None,
    ) -> dict[str, Any]:
        return _page(
            _customers_matching(store, query), first, after, view=lambda c: customer_view(store, c)
        )

    resolver("orders", orders)
    resolver("customers", customers)
    resolver("tagsAdd", lambda _root, _info, id, tags: _change_tags(store, id, tags, add=True))
    resolver("tagsRemove", lambda _root, _info, id, tags: _change_tags(store, id, tags, add=False))
    resolver("metafieldsSet", lambda _root, _info, metafields: _metafields_set(store, metafields))

    def flow_trigger(
        _root: Any, _info: Any, handle: str | None = None, payload: Any = None
    ) -> dict[str, Any]:
        if not handle or not isinstance(payload, dict):
            return {"userErrors": [{"field": ["handle"], "message": "Invalid handle or payload"}]}
        if len(json.dumps(payload)) > 50_000:
            return {"userErrors": [{"field": ["payload"], "message": "Payload exceeds 50 KB"}]}
        with store.lock:
            store.flow_triggers.append({"handle": handle, "payload": payload})
        return {"userErrors": []}

    resolver("flowTriggerReceive", flow_trigger)

    node = schema.get_type("Node")
    assert node is not None
    node.resolve_type = lambda value, _info, _type: value.get("__typename")  # type: ignore[attr-defined]
    # Fields given as callables (nested connections) are called with their arguments.
    for type_ in schema.type_map.values():
        if (
            isinstance(type_, GraphQLObjectType)
            and not type_.name.startswith("__")
            and type_ not in (query, mutation)
        ):
            for field in type_.fields.values():
                field.resolve = _call_if_callable
    return schema


def _call_if_callable(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:  # type: ignore[type-arg]
    value = (
        source.get(info.field_name)
        if isinstance(source, dict)
        else getattr(source, info.field_name, None)
    )
    if callable(value):
        try:
            return value(info, **args)
        except TypeError:
            return value()
    return value


def requested_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    fragments: dict[str, Any],
) -> int:
    """Shopify's static cost: objects 1, connections 2 + first, mutations 10 each."""
    if operation.operation == OperationType.MUTATION:
        return 10 * len(operation.selection_set.selections)
    root = schema.query_type
    assert root is not None
    return max(1, _selection_cost(root, operation.selection_set, variables, fragments, schema))


def _node_selections(connection: FieldNode) -> list[SelectionSetNode]:
    """The selections made on a connection's nodes, via `nodes { … }` or `edges { node { … } }`."""
    found: list[SelectionSetNode] = []
    for selection in connection.selection_set.selections if connection.selection_set else ():
        if not isinstance(selection, FieldNode) or selection.selection_set is None:
            continue
        if selection.name.value == "nodes":
            found.append(selection.selection_set)
        elif selection.name.value == "edges":
            for inner in selection.selection_set.selections:
                if (
                    isinstance(inner, FieldNode)
                    and inner.name.value == "node"
                    and inner.selection_set
                ):
                    found.append(inner.selection_set)
    return found


def _argument(node: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    for argument in node.arguments or ():
        if argument.name.value == name:
            value = argument.value
            if value.kind == "variable":
                return variables.get(value.name.value)  # type: ignore[attr-defined]
            return getattr(value, "value", None)
    return None


def _selection_cost(
    parent: GraphQLObjectType,
    selection_set: SelectionSetNode | None,
    variables: dict[str, Any],
    fragments: dict[str, Any],
    schema: GraphQLSchema,
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__") or selection.name.value not in parent.fields:
                continue
            field: GraphQLField = parent.fields[selection.name.value]
            named = get_named_type(field.type)
            if not isinstance(named, GraphQLObjectType) and named.name != "Node":
                continue
            child_type = named if isinstance(named, GraphQLObjectType) else schema.get_type("Order")
            assert isinstance(child_type, GraphQLObjectType)
            if named.name.endswith("Connection"):
                first = _argument(selection, "first", variables) or DEFAULT_PAGE
                node_type = get_named_type(child_type.fields["nodes"].type)
                assert isinstance(node_type, GraphQLObjectType)
                per_node = 1 + sum(
                    _selection_cost(node_type, node_selection, variables, fragments, schema)
                    for node_selection in _node_selections(selection)
                )
                total += 2 + int(first) * per_node
            else:
                # Objects and lists of objects cost 1 plus what is selected inside them.
                inner = _selection_cost(
                    child_type, selection.selection_set, variables, fragments, schema
                )
                total += 1 + inner
        elif isinstance(selection, InlineFragmentNode):
            on = (
                schema.get_type(selection.type_condition.name.value)
                if selection.type_condition
                else parent
            )
            if isinstance(on, GraphQLObjectType):
                total += _selection_cost(on, selection.selection_set, variables, fragments, schema)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                on = schema.get_type(fragment.type_condition.name.value)
                if isinstance(on, GraphQLObjectType):
                    total += _selection_cost(
                        on, fragment.selection_set, variables, fragments, schema
                    )
    return total
