"""Every GraphQL document Clout sends to Shopify's Admin API, in one place.

Each is a constant with the cost Shopify requests for it (the shared budget paces on that
figure). Keeping them here, never built from strings at the call site, is what lets the
contract tests hold every one of them to Shopify's real schema of the targeted version
(`admin_schema`): fields and enums that exist, no deprecated field without a dated exception,
the cost by Shopify's rules and under its single-query limit, and the access scopes the app
asks for in `shopify.app.toml`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_OPERATION = re.compile(r"^\s*(query|mutation)\s+(\w+)")


@dataclass(frozen=True)
class AdminDocument:
    text: str
    cost: int  # Shopify's requested cost for it (checked by tests against the real schema)
    # Variables the cost is figured with, for a document whose cost depends on them (Shopify
    # prices metafieldsSet by the owners it writes to).
    priced_with: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if _OPERATION.match(self.text) is None:
            raise ValueError("an Admin document is one named query or mutation")

    @property
    def name(self) -> str:
        """The operation's name, sent as `operationName` and seen in Shopify's logs."""
        match = _OPERATION.match(self.text)
        return match.group(2) if match else ""


# What profiles, unhappiness rules and linking read of an order (webhook payloads carry the
# same facts in REST shape; `store.upsert_order_from_admin` maps one onto the other).
ORDER_FIELDS = """
fragment OrderFields on Order {
  id name email createdAt updatedAt cancelledAt cancelReason
  displayFinancialStatus displayFulfillmentStatus tags note
  customAttributes { key value } discountCodes
  shippingAddress { firstName lastName address1 city zip countryCodeV2 }
  customer { id firstName lastName defaultEmailAddress { emailAddress } }
  totalPriceSet { shopMoney { amount currencyCode } }
  refunds(first: 5) { id createdAt note totalRefundedSet { shopMoney { amount currencyCode } } }
  fulfillments(first: 5) { id createdAt status displayStatus deliveredAt }
  lineItems(first: 5) { nodes { product { id } } }
}
"""

SHOP_INFO = AdminDocument(
    "query ShopInfo { shop { name myshopifyDomain currencyCode } }",
    cost=1,
)

TAGS_ADD = AdminDocument(
    """mutation TagsAdd($id: ID!, $tags: [String!]!) {
      tagsAdd(id: $id, tags: $tags) {
        node { ... on Order { tags } ... on Customer { tags } }
        userErrors { field message }
      }
    }""",
    cost=10,
)

TAGS_REMOVE = AdminDocument(
    """mutation TagsRemove($id: ID!, $tags: [String!]!) {
      tagsRemove(id: $id, tags: $tags) {
        node { ... on Order { tags updatedAt } ... on Customer { tags updatedAt } }
        userErrors { field message }
      }
    }""",
    cost=10,
)

TAGS_OF = AdminDocument(
    "query TagsOf($id: ID!) { node(id: $id) { ... on Order { tags } ... on Customer { tags } } }",
    cost=1,
)

METAFIELDS_SET = AdminDocument(
    """mutation MetafieldsSet($metafields: [MetafieldsSetInput!]!) {
      metafieldsSet(metafields: $metafields) {
        metafields { key }
        userErrors { field message code }
      }
    }""",
    cost=11,  # 10, and 1 for the one customer Clout writes to (Order owners would weigh 10)
    priced_with={"metafields": [{"ownerId": "gid://shopify/Customer/1", "key": "k", "value": "v"}]},
)

# A closed case's attention_* metafields come off the customer, so a Flow or a segment reading
# them does not go on seeing `attention_priority=high` after a person resolved it.
METAFIELDS_DELETE = AdminDocument(
    """mutation MetafieldsDelete($metafields: [MetafieldIdentifierInput!]!) {
      metafieldsDelete(metafields: $metafields) {
        deletedMetafields { key }
        userErrors { field message }
      }
    }""",
    cost=10,
)

CUSTOMER = AdminDocument(
    """query Customer($id: ID!) { customer(id: $id) {
      id firstName lastName createdAt updatedAt tags numberOfOrders
      defaultEmailAddress { emailAddress }
      amountSpent { amount currencyCode }
      statistics { predictedSpendTier rfmGroup }
      defaultAddress { address1 city zip countryCodeV2 }
      addressesV2(first: 5) { nodes { address1 city zip countryCodeV2 } }
    } }""",
    cost=12,
)

CUSTOMER_BY_EMAIL = AdminDocument(
    """query CustomerByEmail($query: String!) {
      customers(first: 1, query: $query) {
        nodes { id firstName lastName createdAt updatedAt defaultEmailAddress { emailAddress } }
      }
    }""",
    cost=4,
)

CUSTOMER_RECENT_ORDERS = AdminDocument(
    """query CustomerRecentOrders($id: ID!) { customer(id: $id) {
      orders(first: 10, reverse: true) { nodes { ...OrderFields } }
    } }"""
    + ORDER_FIELDS,
    cost=393,
)

ORDER = AdminDocument(
    "query Order($id: ID!) { order(id: $id) { ...OrderFields } }" + ORDER_FIELDS,
    cost=39,
)

ORDERS_UPDATED_SINCE = AdminDocument(
    """query OrdersUpdatedSince($query: String!, $after: String) {
      orders(first: 20, after: $after, query: $query, sortKey: UPDATED_AT) {
        pageInfo { hasNextPage endCursor }
        nodes { ...OrderFields }
      }
    }"""
    + ORDER_FIELDS,
    cost=782,
)

FLOW_TRIGGER_RECEIVE = AdminDocument(
    """mutation FlowTriggerReceive($handle: String!, $payload: JSON!) {
      flowTriggerReceive(handle: $handle, payload: $payload) { userErrors { field message } }
    }""",
    cost=10,
)

WEBHOOK_SUBSCRIPTIONS = AdminDocument(
    """query WebhookSubscriptions($after: String) {
      webhookSubscriptions(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { id topic uri }
      }
    }""",
    cost=102,
)

WEBHOOK_SUBSCRIPTION_CREATE = AdminDocument(
    """mutation WebhookSubscriptionCreate(
      $topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!
    ) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
        webhookSubscription { id topic uri }
        userErrors { field message }
      }
    }""",
    cost=10,
)

WEBHOOK_SUBSCRIPTION_DELETE = AdminDocument(
    """mutation WebhookSubscriptionDelete($id: ID!) {
      webhookSubscriptionDelete(id: $id) {
        deletedWebhookSubscriptionId
        userErrors { field message }
      }
    }""",
    cost=10,
)


# --- a store's history, through one bulk operation ------------------------------------------


@dataclass(frozen=True)
class BulkQuery:
    """The query a bulk operation runs (`bulkOperationRunQuery(query:)`): Shopify executes it in
    the background with no page sizes and no cost limit, and writes the result as JSONL — one
    line per object, the nodes of a nested connection on lines of their own carrying
    `__parentId`. Shopify takes it as text, without variables, so the one thing that varies
    (which orders) is written into it by `render`, never by a caller. The contract tests hold
    every rendering to the schema like any document, and to Shopify's bulk rules: one top-level
    field, at most five connections, nested at most two deep."""

    template: str  # `ORDERS_ARGS` stands where the orders connection's arguments go

    def render(self, *, orders_since: datetime | None = None) -> str:
        arguments = ""
        if orders_since is not None:
            stamp = orders_since.astimezone(UTC).isoformat(timespec="seconds")
            arguments = f"(query: \"created_at:>='{stamp.replace('+00:00', 'Z')}'\")"
        return self.template.replace("ORDERS_ARGS", arguments)


# Every customer with what profiles and linking read of them, and their orders with what
# profiles, unhappiness rules and linking read of an order (`ORDER_FIELDS` without its line
# items: a third level of connections is more than a bulk query may nest). The customer of
# each order is its line's `__parentId`.
HISTORY = BulkQuery(
    """{
  customers {
    edges {
      node {
        id firstName lastName note tags state createdAt updatedAt numberOfOrders
        amountSpent { amount currencyCode }
        defaultEmailAddress { emailAddress }
        defaultPhoneNumber { phoneNumber }
        defaultAddress { firstName lastName address1 city zip countryCodeV2 }
        orders ORDERS_ARGS {
          edges {
            node {
              id name email phone createdAt updatedAt cancelledAt cancelReason
              displayFinancialStatus displayFulfillmentStatus tags note
              customAttributes { key value } discountCodes
              shippingAddress { firstName lastName address1 city zip countryCodeV2 }
              totalPriceSet { shopMoney { amount currencyCode } }
              fulfillments { createdAt displayStatus }
            }
          }
        }
      }
    }
  }
}"""
)

BULK_OPERATION_FIELDS = """
fragment BulkOperationFields on BulkOperation {
  id status errorCode objectCount rootObjectCount fileSize url partialDataUrl query
  createdAt completedAt
}
"""

BULK_OPERATION_RUN_QUERY = AdminDocument(
    """mutation BulkOperationRunQuery($query: String!) {
      bulkOperationRunQuery(query: $query) {
        bulkOperation { ...BulkOperationFields }
        userErrors { field message code }
      }
    }"""
    + BULK_OPERATION_FIELDS,
    cost=10,
)

BULK_OPERATION = AdminDocument(
    """query BulkOperation($id: ID!) {
      node(id: $id) { ... on BulkOperation { ...BulkOperationFields } }
    }"""
    + BULK_OPERATION_FIELDS,
    cost=1,
)

# Which scopes the shop granted: a custom app's token says nothing about them, and without
# `read_all_orders` Shopify shows an app only the last 60 days of orders.
ACCESS_SCOPES = AdminDocument(
    "query AccessScopes { currentAppInstallation { accessScopes { handle } } }",
    cost=2,
)


# --- what Clout keeps in the merchant's admin: saved order views, customer metafield
# definitions, customer segments (`attention.workspace` plans them) ---------------------------

ORDER_SAVED_SEARCHES = AdminDocument(
    """query OrderSavedSearches($after: String) {
      orderSavedSearches(first: 50, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { id name query resourceType }
      }
    }""",
    cost=52,
)

SAVED_SEARCH_CREATE = AdminDocument(
    """mutation SavedSearchCreate($input: SavedSearchCreateInput!) {
      savedSearchCreate(input: $input) {
        savedSearch { id name query resourceType }
        userErrors { field message }
      }
    }""",
    cost=10,
)

SAVED_SEARCH_UPDATE = AdminDocument(
    """mutation SavedSearchUpdate($input: SavedSearchUpdateInput!) {
      savedSearchUpdate(input: $input) {
        savedSearch { id name query resourceType }
        userErrors { field message }
      }
    }""",
    cost=10,
)

SAVED_SEARCH_DELETE = AdminDocument(
    """mutation SavedSearchDelete($input: SavedSearchDeleteInput!) {
      savedSearchDelete(input: $input) {
        deletedSavedSearchId
        userErrors { field message }
      }
    }""",
    cost=10,
)

# What Clout compares of a definition: its type and words, whether it is pinned, the values it
# allows, and who outside the admin may read it.
METAFIELD_DEFINITION_FIELDS = """
fragment MetafieldDefinitionFields on MetafieldDefinition {
  id namespace key name description ownerType pinnedPosition
  type { name }
  validations { name value }
  access { storefront customerAccount }
}
"""

METAFIELD_DEFINITIONS = AdminDocument(
    """query MetafieldDefinitions($ownerType: MetafieldOwnerType!, $namespace: String) {
      metafieldDefinitions(first: 25, ownerType: $ownerType, namespace: $namespace) {
        nodes { ...MetafieldDefinitionFields }
      }
    }"""
    + METAFIELD_DEFINITION_FIELDS,
    cost=102,  # one page: Clout defines fewer than 25 in its namespace (a test keeps it so)
)

METAFIELD_DEFINITION_CREATE = AdminDocument(
    """mutation MetafieldDefinitionCreate($definition: MetafieldDefinitionInput!) {
      metafieldDefinitionCreate(definition: $definition) {
        createdDefinition { ...MetafieldDefinitionFields }
        userErrors { field message code }
      }
    }"""
    + METAFIELD_DEFINITION_FIELDS,
    cost=10,
)

METAFIELD_DEFINITION_UPDATE = AdminDocument(
    """mutation MetafieldDefinitionUpdate($definition: MetafieldDefinitionUpdateInput!) {
      metafieldDefinitionUpdate(definition: $definition) {
        updatedDefinition { ...MetafieldDefinitionFields }
        userErrors { field message code }
      }
    }"""
    + METAFIELD_DEFINITION_FIELDS,
    cost=10,
)

SEGMENTS = AdminDocument(
    """query Segments($after: String) {
      segments(first: 50, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { id name query }
      }
    }""",
    cost=52,
)

SEGMENT_CREATE = AdminDocument(
    """mutation SegmentCreate($name: String!, $query: String!) {
      segmentCreate(name: $name, query: $query) {
        segment { id name query }
        userErrors { field message }
      }
    }""",
    cost=10,
)

SEGMENT_UPDATE = AdminDocument(
    """mutation SegmentUpdate($id: ID!, $name: String, $query: String) {
      segmentUpdate(id: $id, name: $name, query: $query) {
        segment { id name query }
        userErrors { field message }
      }
    }""",
    cost=10,
)

SEGMENT_DELETE = AdminDocument(
    """mutation SegmentDelete($id: ID!) {
      segmentDelete(id: $id) {
        deletedSegmentId
        userErrors { field message }
      }
    }""",
    cost=10,
)
