"""The emulated store's data, in memory, with Shopify's shapes and IDs."""

from __future__ import annotations

import itertools
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from service.shopify.scopes import APP_SCOPES


def now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


@dataclass
class Address:
    first_name: str
    last_name: str
    address1: str
    city: str
    zip: str
    country_code: str = "US"
    province_code: str | None = None
    phone: str | None = None
    company: str | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def as_rest(self) -> dict[str, Any]:
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "name": self.name,
            "address1": self.address1,
            "address2": None,
            "city": self.city,
            "zip": self.zip,
            "province_code": self.province_code,
            "country_code": self.country_code,
            "phone": self.phone,
            "company": self.company,
        }


@dataclass
class Metafield:
    namespace: str
    key: str
    type: str
    value: str
    id: int = 0
    updated_at: datetime = field(default_factory=now)


@dataclass
class Customer:
    id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    created_at: datetime
    updated_at: datetime
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    addresses: list[Address] = field(default_factory=list)
    metafields: dict[tuple[str, str], Metafield] = field(default_factory=dict)
    predicted_spend_tier: str | None = None
    rfm_group: str | None = None

    @property
    def gid(self) -> str:
        return f"gid://shopify/Customer/{self.id}"


@dataclass
class Refund:
    id: int
    created_at: datetime
    note: str | None
    amount: Decimal

    @property
    def gid(self) -> str:
        return f"gid://shopify/Refund/{self.id}"


@dataclass
class Fulfillment:
    id: int
    created_at: datetime
    status: str  # SUCCESS, CANCELLED, …
    display_status: str | None  # DELIVERED, IN_TRANSIT, ATTEMPTED_DELIVERY, FAILURE, …
    delivered_at: datetime | None = None
    tracking_company: str | None = None

    @property
    def gid(self) -> str:
        return f"gid://shopify/Fulfillment/{self.id}"


@dataclass
class LineItem:
    title: str
    quantity: int
    product_id: int
    price: Decimal


@dataclass
class Order:
    id: int
    number: int
    customer_id: int | None
    email: str | None
    created_at: datetime
    updated_at: datetime
    total: Decimal
    currency: str = "USD"
    financial_status: str = "PAID"
    fulfillment_status: str = "UNFULFILLED"
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    phone: str | None = None
    custom_attributes: list[tuple[str, str]] = field(default_factory=list)
    discount_codes: list[str] = field(default_factory=list)
    shipping_address: Address | None = None
    billing_address: Address | None = None
    line_items: list[LineItem] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    metafields: dict[tuple[str, str], Metafield] = field(default_factory=dict)

    @property
    def gid(self) -> str:
        return f"gid://shopify/Order/{self.id}"

    @property
    def name(self) -> str:
        return f"#{self.number}"


@dataclass
class BulkRun:
    """One bulk query operation: its query, where it stands, and its JSONL result."""

    id: int
    query: str
    created_at: datetime
    status: str = "CREATED"  # → RUNNING → COMPLETED, or FAILED
    completed_at: datetime | None = None
    error_code: str | None = None
    result: bytes = b""
    object_count: int = 0
    root_object_count: int = 0

    @property
    def gid(self) -> str:
        return f"gid://shopify/BulkOperation/{self.id}"

    @property
    def finished(self) -> bool:
        return self.status in ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")


class DevStore:
    """One shop's data. Every method takes the lock: the HTTP server is threaded."""

    def __init__(self, domain: str = "clout-demo.myshopify.com", *, currency: str = "USD") -> None:
        self.domain = domain
        self.currency = currency
        self.lock = threading.RLock()
        self.customers: dict[int, Customer] = {}
        self.orders: dict[int, Order] = {}
        self.tokens: set[str] = set()
        self.oauth_codes: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.flow_triggers: list[dict[str, Any]] = []
        # Webhook subscriptions made through the Admin API: {id, topic (enum), uri, createdAt}.
        self.subscriptions: list[dict[str, Any]] = []
        # What an app keeps in the merchant's admin: saved searches {id, name, query,
        # resourceType}, metafield definitions (see `schema._definition_view`), segments
        # {id, name, query, creationDate, lastEditDate}.
        self.saved_searches: list[dict[str, Any]] = []
        self.metafield_definitions: list[dict[str, Any]] = []
        self.segments: list[dict[str, Any]] = []
        # A stand-in social-data provider: (network, handle) → followers, engagement, authenticity.
        self.social: dict[tuple[str, str], dict[str, float]] = {}
        self.discount_code_owners: dict[str, int] = {}
        self._ids = itertools.count(7_000_000_000_001)
        self._order_numbers = itertools.count(1001)
        self.listeners: list[Any] = []  # callables (topic, payload) for webhooks
        # What `currentAppInstallation { accessScopes }` answers. (The emulator does not hide
        # orders older than 60 days from an app without read_all_orders, as Shopify does.)
        self.granted_scopes: set[str] = set(APP_SCOPES)
        # Bulk query operations, newest last. Shopify lets an app run five at a time per shop
        # from API 2026-01 (one before); a run takes `bulk_seconds` and fails with
        # `bulk_fail_with` (a BulkOperationErrorCode) when that is set.
        self.bulk_runs: dict[int, BulkRun] = {}
        self.bulk_query_limit = 5
        self.bulk_seconds = 0.0
        self.bulk_fail_with: str | None = None
        self.bulk_errors: list[str] = []  # why the last run failed, when the emulator failed it
        # Where the emulator is served (`serving` sets it): results are downloaded from there,
        # from signed URLs, as Shopify serves them from its storage.
        self.public_url = ""
        self.url_secret = secrets.token_hex(16)

    def next_id(self) -> int:
        with self.lock:
            return next(self._ids)

    def next_order_number(self) -> int:
        with self.lock:
            return next(self._order_numbers)

    def add_customer(self, customer: Customer) -> Customer:
        with self.lock:
            self.customers[customer.id] = customer
        return customer

    def add_order(self, order: Order, *, notify: bool = False) -> Order:
        with self.lock:
            self.orders[order.id] = order
        if notify:
            self.emit("orders/create", order)
        return order

    def add_person(
        self, email: str | None, first: str = "Pat", last: str = "Lee", *, days_ago: float = 30
    ) -> Customer:
        """A customer who joined `days_ago` days ago (tests, the demo)."""
        when = now() - timedelta(days=days_ago)
        return self.add_customer(
            Customer(
                id=self.next_id(),
                email=email,
                first_name=first,
                last_name=last,
                phone=None,
                created_at=when,
                updated_at=when,
            )
        )

    def add_purchase(
        self,
        customer: Customer | None,
        *,
        total: Decimal = Decimal("10.00"),
        days_ago: float = 3,
        notify: bool = False,
        **fields: Any,
    ) -> Order:
        """An order placed `days_ago` days ago; `fields` set anything else on it."""
        when = now() - timedelta(days=days_ago)
        order = Order(
            id=self.next_id(),
            number=self.next_order_number(),
            customer_id=customer.id if customer else None,
            email=customer.email if customer else None,
            created_at=when,
            updated_at=when,
            total=total,
        )
        for key, value in fields.items():
            setattr(order, key, value)
        return self.add_order(order, notify=notify)

    def customer_orders(self, customer_id: int) -> list[Order]:
        with self.lock:
            return sorted(
                (o for o in self.orders.values() if o.customer_id == customer_id),
                key=lambda o: o.created_at,
            )

    def uninstall(self) -> None:
        """The merchant removes the app, as Shopify does it: `app/uninstalled` (the Shop
        object) goes to the app, then every token of the app stops working and its webhook
        subscriptions are deleted."""
        self.emit(
            "app/uninstalled",
            {"id": 1, "name": self.domain.split(".")[0], "myshopify_domain": self.domain},
        )
        with self.lock:
            self.tokens.clear()
            self.refresh_tokens.clear()
            self.subscriptions.clear()

    def emit(self, topic: str, subject: Any) -> None:
        for listener in list(self.listeners):
            listener(topic, subject)

    def find(self, gid: str) -> Customer | Order | None:
        kind, _, raw = gid.removeprefix("gid://shopify/").partition("/")
        if not raw.isdigit():
            return None
        with self.lock:
            if kind == "Order":
                return self.orders.get(int(raw))
            if kind == "Customer":
                return self.customers.get(int(raw))
        return None
