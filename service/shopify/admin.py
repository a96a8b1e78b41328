"""The Admin GraphQL API client every worker uses, and the few operations Clout needs.

Built on `httpx` directly rather than `shopifyapp.admin_graphql_request`: that function fixes the
endpoint to `https://{shop}.myshopify.com` (Clout must honour `CLOUT_SHOPIFY_ADMIN_URL`), gives
up at once on a 200 `THROTTLED` answer, and cannot share a cost budget between processes.
Rate limits are handled as Shopify documents them: a 200 with a `THROTTLED` error and a 429
(`Retry-After`) both mean "wait and retry"; 5xx and connection errors are retried with
exponential back-off and jitter; a 4xx that retrying cannot fix is never retried.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from service.core.errors import PermanentError, TransientError
from service.core.logs import get_logger
from service.shopify import documents
from service.shopify.budget import FLOOR_LANE, CostBudget
from service.shopify.documents import AdminDocument
from service.shopify.payloads import parse_time

log = get_logger(__name__)

ORDER_TAG_MAX = 40
METAFIELD_NAMESPACE = "clout"


class ShopifyUnavailable(TransientError):
    """Shopify is throttling, erroring or unreachable: try again later."""


class ShopifyRefused(PermanentError):
    """Shopify refused the request itself (bad query, unknown resource, invalid input)."""


class ShopifyUnauthorized(ShopifyRefused):
    """The access token was refused (401/403): revoked, uninstalled or missing a scope.
    `revoked`: Shopify no longer takes the token at all (a 401, or a refresh it refused),
    as after an uninstall; a 403 is a call the token may not make, from a store that may
    well have the app."""

    def __init__(self, message: str, *, revoked: bool = True) -> None:
        super().__init__(message)
        self.revoked = revoked


class ShopifyUserErrors(ShopifyRefused):
    def __init__(self, operation: str, errors: Sequence[Mapping[str, Any]]) -> None:
        self.errors = list(errors)
        messages = "; ".join(str(e.get("message")) for e in errors)
        super().__init__(f"{operation}: {messages}")


def admin_endpoint(*, shop: str, api_version: str, admin_url: str | None) -> str:
    """`CLOUT_SHOPIFY_ADMIN_URL` (development, tests) sends every shop's calls to one server."""
    base = admin_url.rstrip("/") if admin_url else f"https://{shop}"
    return f"{base}/admin/api/{api_version}/graphql.json"


@dataclass
class ShopifyAdmin:
    shop: str
    access_token: str
    api_version: str
    http: httpx.Client
    budget: CostBudget | None = None
    admin_url: str | None = None
    max_attempts: int = 6
    max_wait: float = 60.0  # longest a call waits for budget before handing back to the queue
    backoff_base: float = 0.5
    backoff_cap: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    rng: Callable[[], float] = random.random
    # Where the token comes from when it can expire (a public app's offline token): asked on
    # each call, which happens with no database transaction open, so it may refresh and store
    # the token itself.
    token_source: Callable[[], str] | None = None
    # Which lane of the shop's budget the calls take (`budget.FLOOR_LANE` or `LATER_LANE`).
    lane: str = FLOOR_LANE
    # Seconds one call may spend retrying errors (None: bounded by `max_attempts` alone). The
    # floor's calls are bounded this way, by time rather than by a count of attempts.
    time_limit: float | None = None

    @property
    def endpoint(self) -> str:
        return admin_endpoint(
            shop=self.shop, api_version=self.api_version, admin_url=self.admin_url
        )

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return float(ceiling * (0.5 + self.rng() / 2))

    def _learned(self, document: AdminDocument) -> float:
        return self.budget.learned(document.name) if self.budget is not None else 0.0

    def _take_budget(self, cost: float) -> None:
        if self.budget is None:
            return
        waited = 0.0
        while (wait := self.budget.acquire(self.shop, cost, lane=self.lane)) > 0:
            if waited + wait > self.max_wait:
                raise ShopifyUnavailable(
                    f"the shop's API budget needs {wait:.1f}s more", retry_after=wait
                )
            self.sleep(wait)
            waited += wait

    def execute(  # noqa: PLR0912, PLR0915 - one loop that reads as Shopify's rate-limit rules
        self, document: AdminDocument, variables: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run one of Clout's documents and return its `data`, pacing on the document's
        requested cost against the shop's shared budget."""
        cost = max(float(document.cost), self._learned(document))
        failures = 0  # errors (5xx, unreachable): bounded by max_attempts (and time_limit)
        throttled_for = 0.0  # flow control (THROTTLED, 429): bounded by max_wait
        last_wait = 1.0
        started = time.monotonic()

        def failed(reason: str, **context: object) -> None:
            nonlocal failures, last_wait
            failures += 1
            wait = self._backoff(failures)
            out_of_time = (
                self.time_limit is not None and time.monotonic() - started + wait > self.time_limit
            )
            if failures >= self.max_attempts or out_of_time:
                raise ShopifyUnavailable(
                    f"Shopify did not answer after {failures} attempts ({reason})",
                    retry_after=last_wait,
                )
            last_wait = wait
            event = "shopify_" + reason
            log.warning(event, shop=self.shop, attempt=failures, **context)
            self.sleep(last_wait)

        def throttled(wait: float, reason: str) -> None:
            nonlocal throttled_for, last_wait
            if throttled_for + wait > self.max_wait:
                raise ShopifyUnavailable(f"Shopify kept throttling ({reason})", retry_after=wait)
            throttled_for += wait
            last_wait = wait
            event = "shopify_" + reason
            log.info(event, shop=self.shop, wait=round(wait, 2))
            self.sleep(wait)

        while True:
            self._take_budget(cost)
            try:
                response = self.http.post(
                    self.endpoint,
                    json={
                        "query": document.text,
                        "operationName": document.name,
                        "variables": dict(variables or {}),
                    },
                    headers={
                        "X-Shopify-Access-Token": self.token_source()
                        if self.token_source
                        else self.access_token
                    },
                )
            except httpx.TransportError as error:
                failed("unreachable", error=type(error).__name__)
                continue
            status = response.status_code
            if status == 429:
                throttled(_retry_after(response, default=1.0), "429")
                continue
            if status >= 500:
                failed("5xx", status=status)
                continue
            if status in (401, 403):
                raise ShopifyUnauthorized(
                    f"Shopify answered {status}: the access token was refused",
                    revoked=status == 401,
                )
            if status >= 400:
                raise ShopifyRefused(f"Shopify answered {status}")
            try:
                body = response.json()
            except ValueError:
                failed("unreadable")
                continue
            extensions = (body.get("extensions") or {}).get("cost") or {}
            is_throttled = _has_code(body, "THROTTLED")
            if self.budget is not None and extensions.get("requestedQueryCost"):
                # What Shopify charged up front for this operation: ask for that next time,
                # so the shared budget does not run short of what Shopify will take.
                self.budget.learn(document.name, float(extensions["requestedQueryCost"]))
            if self.budget is not None and extensions.get("throttleStatus"):
                actual = extensions.get("actualQueryCost")
                requested = extensions.get("requestedQueryCost") or cost
                self.budget.observe(
                    self.shop,
                    throttle_status=extensions["throttleStatus"],
                    refund=0.0
                    if is_throttled or actual is None
                    else float(requested) - float(actual),
                )
            if is_throttled:
                throttled(_throttle_wait(extensions, cost), "throttled")
                continue
            if _has_code(body, "INTERNAL_SERVER_ERROR"):
                failed("internal_error")
                continue
            if body.get("errors"):
                raise ShopifyRefused(f"GraphQL errors: {_messages(body['errors'])}")
            data = body.get("data")
            if not isinstance(data, dict):
                raise ShopifyRefused("Shopify answered without data")
            return data

    # --- operations --------------------------------------------------------------------------

    def shop_info(self) -> dict[str, Any]:
        shop: dict[str, Any] = self.execute(documents.SHOP_INFO)["shop"]
        return shop

    def add_tags(self, gid: str, tags: Sequence[str]) -> list[str]:
        """`tagsAdd`: adds without touching anyone else's tags. Returns the tags now on it."""
        return self._change_tags(documents.TAGS_ADD, "tagsAdd", gid, tags)

    def remove_tags(self, gid: str, tags: Sequence[str]) -> list[str]:
        return self._change_tags(documents.TAGS_REMOVE, "tagsRemove", gid, tags)

    def remove_tags_at(self, gid: str, tags: Sequence[str]) -> datetime | None:
        """`tagsRemove`, and when Shopify says the record changed (its `updatedAt`, on Shopify's
        own clock: what the record's next webhook carries as `updated_at`)."""
        node = self._change_node(documents.TAGS_REMOVE, "tagsRemove", gid, tags)
        return parse_time(node.get("updatedAt"))

    def _change_tags(
        self, document: AdminDocument, mutation: str, gid: str, tags: Sequence[str]
    ) -> list[str]:
        return list(self._change_node(document, mutation, gid, tags).get("tags") or [])

    def _change_node(
        self, document: AdminDocument, mutation: str, gid: str, tags: Sequence[str]
    ) -> dict[str, Any]:
        if gid.startswith("gid://shopify/Order/"):
            too_long = [t for t in tags if len(t) > ORDER_TAG_MAX]
            if too_long:
                raise ShopifyRefused(f"order tags longer than {ORDER_TAG_MAX} characters")
        data = self.execute(document, {"id": gid, "tags": list(tags)})
        payload = data.get(mutation) or {}
        if payload.get("userErrors"):
            raise ShopifyUserErrors(mutation, payload["userErrors"])
        node: dict[str, Any] = payload.get("node") or {}
        return node

    def tags_of(self, gid: str) -> list[str]:
        """Read back the tags on an order or a customer (empty if it no longer exists)."""
        data = self.execute(documents.TAGS_OF, {"id": gid})
        return list((data.get("node") or {}).get("tags") or [])

    def set_metafields(self, owner_gid: str, fields: Mapping[str, tuple[str, str]]) -> None:
        """`metafieldsSet` in the `clout` namespace: {key: (type, value)}."""
        data = self.execute(
            documents.METAFIELDS_SET,
            {
                "metafields": [
                    {
                        "ownerId": owner_gid,
                        "namespace": METAFIELD_NAMESPACE,
                        "key": key,
                        "type": kind,
                        "value": value,
                    }
                    for key, (kind, value) in fields.items()
                ]
            },
        )
        payload = data.get("metafieldsSet") or {}
        if payload.get("userErrors"):
            raise ShopifyUserErrors("metafieldsSet", payload["userErrors"])

    def delete_metafields(self, owner_gid: str, keys: Sequence[str]) -> None:
        """`metafieldsDelete` of these keys in the `clout` namespace (one not there is fine)."""
        data = self.execute(
            documents.METAFIELDS_DELETE,
            {
                "metafields": [
                    {"ownerId": owner_gid, "namespace": METAFIELD_NAMESPACE, "key": key}
                    for key in keys
                ]
            },
        )
        payload = data.get("metafieldsDelete") or {}
        if payload.get("userErrors"):
            raise ShopifyUserErrors("metafieldsDelete", payload["userErrors"])

    def customer(self, gid: str) -> dict[str, Any] | None:
        """A customer with the statistics Shopify keeps (orders, spend, RFM group, tiers)."""
        customer: dict[str, Any] | None = self.execute(documents.CUSTOMER, {"id": gid}).get(
            "customer"
        )
        return customer

    def customer_by_email(self, email: str) -> dict[str, Any] | None:
        found = self.execute(documents.CUSTOMER_BY_EMAIL, {"query": f"email:{email}"})
        nodes = ((found.get("customers") or {}).get("nodes")) or []
        return dict(nodes[0]) if nodes else None

    def customer_recent_orders(self, gid: str) -> list[dict[str, Any]]:
        """A customer's ten latest orders, newest first, with what influence and unhappiness
        depend on."""
        data = self.execute(documents.CUSTOMER_RECENT_ORDERS, {"id": gid})
        customer = data.get("customer") or {}
        return list((customer.get("orders") or {}).get("nodes") or [])

    def order(self, gid: str) -> dict[str, Any] | None:
        order: dict[str, Any] | None = self.execute(documents.ORDER, {"id": gid}).get("order")
        return order

    def orders_updated_page(
        self, since: datetime, *, after: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of orders updated after `since`, oldest change first, and the cursor of
        the next page (None on the last)."""
        stamp = since.isoformat().replace("+00:00", "Z")
        data = self.execute(
            documents.ORDERS_UPDATED_SINCE, {"query": f"updated_at:>'{stamp}'", "after": after}
        )
        page = data["orders"]
        more = page["pageInfo"]["hasNextPage"]
        return list(page["nodes"]), (page["pageInfo"]["endCursor"] if more else None)

    def orders_updated_since(self, since: datetime) -> Iterator[dict[str, Any]]:
        """Every order updated after `since`, oldest change first."""
        after: str | None = None
        while True:
            nodes, after = self.orders_updated_page(since, after=after)
            yield from nodes
            if after is None:
                return

    def webhook_subscriptions(self) -> list[dict[str, Any]]:
        """The shop's webhook subscriptions made through the Admin API (not the ones
        shopify.app.toml declares), each {id, topic, uri}."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            page = self.execute(documents.WEBHOOK_SUBSCRIPTIONS, {"after": after})[
                "webhookSubscriptions"
            ]
            found += page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                return found
            after = page["pageInfo"]["endCursor"]

    def create_webhook_subscription(self, topic: str, uri: str) -> str:
        """Subscribe `uri` to `topic` (Shopify's enum name, such as ORDERS_CREATE); its id."""
        data = self.execute(
            documents.WEBHOOK_SUBSCRIPTION_CREATE,
            {"topic": topic, "subscription": {"uri": uri, "format": "JSON"}},
        )
        payload = data.get("webhookSubscriptionCreate") or {}
        if payload.get("userErrors"):
            raise ShopifyUserErrors("webhookSubscriptionCreate", payload["userErrors"])
        return str((payload.get("webhookSubscription") or {}).get("id"))

    def delete_webhook_subscription(self, subscription_id: str) -> None:
        data = self.execute(documents.WEBHOOK_SUBSCRIPTION_DELETE, {"id": subscription_id})
        payload = data.get("webhookSubscriptionDelete") or {}
        if payload.get("userErrors"):
            raise ShopifyUserErrors("webhookSubscriptionDelete", payload["userErrors"])

    # --- what Clout keeps in the merchant's admin (`attention.workspace`) ----------------

    def _payload(
        self, document: AdminDocument, mutation: str, variables: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Run a mutation; its payload, or ShopifyUserErrors when Shopify refused the input."""
        payload: dict[str, Any] = self.execute(document, variables).get(mutation) or {}
        if payload.get("userErrors"):
            raise ShopifyUserErrors(mutation, payload["userErrors"])
        return payload

    def _every(self, document: AdminDocument, root: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            page = self.execute(document, {"after": after})[root]
            found += page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                return found
            after = page["pageInfo"]["endCursor"]

    def order_saved_searches(self) -> list[dict[str, Any]]:
        """The saved views on the store's orders index, each {id, name, query, resourceType}."""
        return self._every(documents.ORDER_SAVED_SEARCHES, "orderSavedSearches")

    def create_order_view(self, name: str, query: str) -> str:
        payload = self._payload(
            documents.SAVED_SEARCH_CREATE,
            "savedSearchCreate",
            {"input": {"name": name, "query": query, "resourceType": "ORDER"}},
        )
        return str((payload.get("savedSearch") or {}).get("id"))

    def update_saved_search(self, saved_search_id: str, name: str, query: str) -> None:
        self._payload(
            documents.SAVED_SEARCH_UPDATE,
            "savedSearchUpdate",
            {"input": {"id": saved_search_id, "name": name, "query": query}},
        )

    def delete_saved_search(self, saved_search_id: str) -> None:
        self._payload(
            documents.SAVED_SEARCH_DELETE, "savedSearchDelete", {"input": {"id": saved_search_id}}
        )

    def metafield_definitions(self, owner_type: str, namespace: str) -> list[dict[str, Any]]:
        """The definitions in one namespace of one owner type (one page: see the document)."""
        data = self.execute(
            documents.METAFIELD_DEFINITIONS, {"ownerType": owner_type, "namespace": namespace}
        )
        return list(data["metafieldDefinitions"]["nodes"])

    def create_metafield_definition(self, definition: Mapping[str, Any]) -> None:
        self._payload(
            documents.METAFIELD_DEFINITION_CREATE,
            "metafieldDefinitionCreate",
            {"definition": dict(definition)},
        )

    def update_metafield_definition(self, definition: Mapping[str, Any]) -> None:
        self._payload(
            documents.METAFIELD_DEFINITION_UPDATE,
            "metafieldDefinitionUpdate",
            {"definition": dict(definition)},
        )

    def segments(self) -> list[dict[str, Any]]:
        """The store's customer segments, each {id, name, query}."""
        return self._every(documents.SEGMENTS, "segments")

    def create_segment(self, name: str, query: str) -> str:
        payload = self._payload(
            documents.SEGMENT_CREATE, "segmentCreate", {"name": name, "query": query}
        )
        return str((payload.get("segment") or {}).get("id"))

    def update_segment(self, segment_id: str, name: str, query: str) -> None:
        self._payload(
            documents.SEGMENT_UPDATE,
            "segmentUpdate",
            {"id": segment_id, "name": name, "query": query},
        )

    def delete_segment(self, segment_id: str) -> None:
        self._payload(documents.SEGMENT_DELETE, "segmentDelete", {"id": segment_id})

    def access_scopes(self) -> set[str]:
        """The scopes the merchant granted this app's token."""
        installation = self.execute(documents.ACCESS_SCOPES).get("currentAppInstallation") or {}
        return {str(s.get("handle")) for s in installation.get("accessScopes") or []}

    def run_bulk_query(self, query: str) -> dict[str, Any]:
        """`bulkOperationRunQuery`: Shopify starts running `query` in the background; returns
        the BulkOperation (`documents.BULK_OPERATION_FIELDS`). Shopify's refusal — the query,
        or as many bulk queries running as the API version allows — is a ShopifyUserErrors
        carrying Shopify's codes."""
        data = self.execute(documents.BULK_OPERATION_RUN_QUERY, {"query": query})
        payload = data.get("bulkOperationRunQuery") or {}
        if payload.get("userErrors") or not isinstance(payload.get("bulkOperation"), dict):
            raise ShopifyUserErrors("bulkOperationRunQuery", payload.get("userErrors") or [])
        operation: dict[str, Any] = payload["bulkOperation"]
        return operation

    def bulk_operation(self, gid: str) -> dict[str, Any] | None:
        """A bulk operation by id: where it stands, how many objects, its result's URL."""
        node = self.execute(documents.BULK_OPERATION, {"id": gid}).get("node")
        return dict(node) if isinstance(node, dict) and node.get("id") else None

    def send_flow_trigger(self, handle: str, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        """`flowTriggerReceive`: starts the merchant's Flow workflows; returns Shopify's
        userErrors (empty when Flow took it)."""
        data = self.execute(
            documents.FLOW_TRIGGER_RECEIVE, {"handle": handle, "payload": dict(payload)}
        )
        return list((data.get("flowTriggerReceive") or {}).get("userErrors") or [])


def _retry_after(response: httpx.Response, *, default: float) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default


def _has_code(body: Mapping[str, Any], code: str) -> bool:
    errors = body.get("errors")
    if not isinstance(errors, list):
        return False
    return any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == code for e in errors
    )


def _throttle_wait(cost_extension: Mapping[str, Any], requested: float) -> float:
    status = cost_extension.get("throttleStatus") or {}
    try:
        available = float(status.get("currentlyAvailable", 0))
        rate = float(status.get("restoreRate") or 50)
        needed = float(cost_extension.get("requestedQueryCost") or requested)
    except (TypeError, ValueError):
        return 1.0
    return max(0.05, (needed - available) / rate)


def _messages(errors: object) -> str:
    if isinstance(errors, list):
        return "; ".join(str(e.get("message") if isinstance(e, dict) else e) for e in errors)[:300]
    return str(errors)[:300]
