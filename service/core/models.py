"""What Clout keeps: the shops it serves, every delivery it accepted, and the store's customers
and orders as far as finding unhappy customers needs them.

Shopify IDs are kept as GID strings (`gid://shopify/Order/820982911946154508`): 64-bit IDs lose
digits as soon as anything treats them as floats, and the GID is what the Admin API takes back.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    delete,
    event,
    false,
    insert,
    inspect,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from service.core import people
from service.core.vocabulary import (
    DeliveryStatus,
    IncidentStatus,
    Priority,
    Severity,
    ShopStatus,
    SignalKind,
)

# Integer on SQLite so the primary key is the rowid alias (autoincrement); 64-bit on PostgreSQL.
Id = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


Word = TypeVar("Word", bound=StrEnum)


class Vocabulary(TypeDecorator[Word]):
    """A column of one of Clout's words (`core.vocabulary`): stored as the plain string it
    always was, read back as its enum member; a string that is no such word is refused."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[Word], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Word | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> Word | None:
        return None if value is None else self.enum(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite hands back naive ones otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: Json}


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    # Fernet ciphertext; see service.core.crypto. Never logged, never returned by the CLI.
    access_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    refresh_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    access_token_expires_at: Mapped[datetime | None]
    refresh_token_expires_at: Mapped[datetime | None]
    scopes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ShopStatus] = mapped_column(
        Vocabulary(ShopStatus, 20), default=ShopStatus.ACTIVE
    )
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
    uninstalled_at: Mapped[datetime | None]
    # Reconciliation's watermark: orders updated up to here have been read back from Shopify.
    reconciled_until: Mapped[datetime | None]
    # Where a run cut off by its time limit stopped: the next reads on from exactly here. Set
    # only mid-pass; a caught-up pass reads again from a little before the watermark, for
    # orders Shopify had not yet listed when it read.
    reconcile_resume_at: Mapped[datetime | None]
    # Clout makes this shop's webhook subscriptions through the Admin API (a store connected
    # with a custom-app token); a public app's come from shopify.app.toml instead.
    subscriptions_managed: Mapped[bool] = mapped_column(default=False, server_default=false())


class ReviewSecret(Base):
    """A review platform's webhook secret for one shop (`clout shops add … --review-secret`)."""

    __tablename__ = "review_secrets"
    __table_args__ = (
        UniqueConstraint("shop_id", "provider", name="uq_review_secrets_shop_provider"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    secret: Mapped[bytes] = mapped_column(LargeBinary)  # Fernet ciphertext, like tokens


class Delivery(Base):
    """One webhook delivery as received: the record of what still has to be done."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("source", "webhook_id", name="uq_deliveries_source_webhook_id"),
        Index("ix_deliveries_status_received_at", "status", "received_at"),
        Index("ix_deliveries_shop_domain", "shop_domain"),
        Index("ix_deliveries_customer_ref", "customer_ref"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # "shopify" or a review platform
    webhook_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str | None] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(100))
    shop_domain: Mapped[str] = mapped_column(String(255))
    api_version: Mapped[str | None] = mapped_column(String(20))
    triggered_at: Mapped[datetime | None]
    # The raw bytes as signed; emptied after the retention period and by redaction.
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[DeliveryStatus] = mapped_column(
        Vocabulary(DeliveryStatus, 16), default=DeliveryStatus.RECEIVED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    # Until when the worker that claimed it holds it: renewed while its handler runs, so a
    # worker that died is known within seconds (`lifecycle.claim`), not after a long stall.
    lease_until: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    # The customer the delivery is about, filled in by its handler: what redaction looks for.
    customer_ref: Mapped[str | None] = mapped_column(String(64))


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_id", name="uq_customers_shop_shopify"),
        # Who is who, for one customer's profile without a scan of the shop (`core.people`).
        Index("ix_customers_shop_name_key", "shop_id", "name_key"),
        Index("ix_customers_shop_first_name_key", "shop_id", "first_name_key"),
        Index("ix_customers_shop_email_key", "shop_id", "email_key"),
        Index("ix_customers_shop_workplace", "shop_id", "workplace_domain"),
        Index("ix_customers_shop_home_key", "shop_id", "home_key"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shopify_id: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    default_address: Mapped[dict[str, Any] | None]
    state: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    number_of_orders: Mapped[int | None] = mapped_column(Integer)
    amount_spent: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(8))
    shopify_created_at: Mapped[datetime | None]
    shopify_updated_at: Mapped[datetime | None]
    redacted_at: Mapped[datetime | None]
    # When Shopify last said the opt-out tag came or went (`customer.tags_added` / `_removed`,
    # which arrive in no set order): an older word on it changes nothing.
    opt_out_changed_at: Mapped[datetime | None]
    # Derived from the fields above on every flush (`keep_people_keys`); never written by hand.
    name_key: Mapped[str | None] = mapped_column(String(320))
    first_name_key: Mapped[str | None] = mapped_column(String(320))
    email_key: Mapped[str | None] = mapped_column(String(320))
    workplace_domain: Mapped[str | None] = mapped_column(String(320))
    home_key: Mapped[str | None] = mapped_column(String(320))

    orders: Mapped[list[Order]] = relationship(back_populates="customer")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_id", name="uq_orders_shop_shopify"),
        Index("ix_orders_customer_id", "customer_id"),
        Index("ix_orders_shop_ship_key", "shop_id", "ship_key"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shopify_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    name: Mapped[str | None] = mapped_column(String(64))  # "#1001", what the merchant sees
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    financial_status: Mapped[str | None] = mapped_column(String(32))
    fulfillment_status: Mapped[str | None] = mapped_column(String(32))
    cancel_reason: Mapped[str | None] = mapped_column(String(32))
    cancelled_at: Mapped[datetime | None]
    total_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(8))
    tags: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    note_attributes: Mapped[dict[str, Any] | None]
    discount_codes: Mapped[dict[str, Any] | None]
    shipping_address: Mapped[dict[str, Any] | None]
    shopify_created_at: Mapped[datetime | None]
    shopify_updated_at: Mapped[datetime | None]
    redacted_at: Mapped[datetime | None]
    # Delivery tracking, for late and failed delivery signals.
    fulfilled_at: Mapped[datetime | None]
    last_carrier_update_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    product_ids: Mapped[dict[str, Any] | None]  # {"ids": [product GIDs]}, to link reviews
    # Derived on every flush (`keep_people_keys`): where it went and to whom.
    ship_key: Mapped[str | None] = mapped_column(String(320))
    ship_name: Mapped[str | None] = mapped_column(String(320))

    customer: Mapped[Customer | None] = relationship(back_populates="orders")
    # Written by `_order_mentions` below, not through this collection; deleted with the order.
    mentions: Mapped[list[OrderMention]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class OrderMention(Base):
    """Someone an order names: a referral code's first name, or who the buyer heard of the shop
    from (`core.people.mentions`). Derived from the order on every flush."""

    __tablename__ = "order_mentions"
    __table_args__ = (Index("ix_order_mentions_shop_kind_key", "shop_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(320))


class NormsSummary(Base):
    """The shop's percentile tables for each clout component: a summary of every customer,
    refreshed on a schedule and after a backfill, so that one profile never scans the shop."""

    __tablename__ = "shop_norms"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    computed_at: Mapped[datetime]
    customers: Mapped[int] = mapped_column(Integer)
    tables: Mapped[dict[str, Any]]


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_id", name="uq_refunds_shop_shopify"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shopify_id: Mapped[str] = mapped_column(String(64))
    order_shopify_id: Mapped[str] = mapped_column(String(64), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(8))
    line_item_count: Mapped[int] = mapped_column(Integer, default=0)
    shopify_created_at: Mapped[datetime | None]


class DataRequest(Base):
    """A `customers/data_request`: what Clout holds about the customer, for the merchant to send."""

    __tablename__ = "data_requests"
    __table_args__ = (
        UniqueConstraint("shop_id", "request_id", name="uq_data_requests_shop_request"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    request_id: Mapped[str] = mapped_column(String(64))
    customer_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    export: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Review(Base):
    """A review from a review platform, normalised (rating 1–5) and linked where possible."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint(
            "shop_id", "provider", "platform_review_id", name="uq_reviews_platform_id"
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    platform_review_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="published")  # or pending, deleted
    rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))
    rating_raw: Mapped[str | None] = mapped_column(String(16))
    rating_scale: Mapped[str] = mapped_column(String(16), default="1-5")
    title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    reviewer_email: Mapped[str | None] = mapped_column(String(320))
    reviewer_name: Mapped[str | None] = mapped_column(String(255))
    product_ref: Mapped[str | None] = mapped_column(String(128))
    product_title: Mapped[str | None] = mapped_column(Text)
    order_ref: Mapped[str | None] = mapped_column(String(128))
    verified_buyer: Mapped[bool | None]
    platform_created_at: Mapped[datetime | None]
    platform_updated_at: Mapped[datetime | None]
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    link_method: Mapped[str] = mapped_column(String(32), default="none")
    link_confidence: Mapped[float] = mapped_column(default=0.0)
    analysis: Mapped[dict[str, Any] | None]  # the complaint detector's verdict


class Incident(Base):
    """One unhappy customer's open case: every signal folded in, the highest severity kept."""

    __tablename__ = "incidents"
    __table_args__ = (
        # At most one open incident per customer per shop.
        Index(
            "uq_incidents_one_open",
            "shop_id",
            "customer_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[IncidentStatus] = mapped_column(
        Vocabulary(IncidentStatus, 16), default=IncidentStatus.OPEN
    )
    severity: Mapped[Severity] = mapped_column(Vocabulary(Severity, 16))
    priority: Mapped[Priority | None] = mapped_column(Vocabulary(Priority, 16))
    deadline_at: Mapped[datetime | None]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    # When the first delivery behind it reached Clout, and when the attention tag landed.
    first_seen_at: Mapped[datetime | None]
    tagged_at: Mapped[datetime | None]
    # Set whenever Shopify must be brought up to date; cleared once it is.
    needs_attention: Mapped[bool] = mapped_column(default=True)
    attended_at: Mapped[datetime | None]
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    overdue_at: Mapped[datetime | None]
    flow_sent_at: Mapped[datetime | None]
    # When the operator was told the attention tag had not landed yet (once per incident).
    pending_alerted_at: Mapped[datetime | None]
    # When its best-effort work (read-back and drift repair, metafields, the Flow trigger) is
    # due: set once the floor has landed, pushed back when that work had to be skipped, cleared
    # once done. The sweeper rings for it; nothing else waits on it.
    later_due_at: Mapped[datetime | None] = mapped_column(index=True)
    drift_repairs: Mapped[int] = mapped_column(Integer, default=0)
    # What Clout last wrote: {gid: {"tags": [...], "written_at": iso}} for orders and customer.
    tag_state: Mapped[dict[str, Any] | None]
    # The influence the decision used: {"clout": .., "klout": .., "band": .., "reasons": [..]}.
    influence: Mapped[dict[str, Any] | None]
    # The support desk's hand on the case. How it closed: "resolved", or "not_a_complaint" (a
    # person's label the complaint detector is evaluated against); a person's note with it.
    resolution: Mapped[str | None] = mapped_column(String(24))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    # Who is answering it ("agent-3", "staff-…"), and until when it is out of the agent's way.
    # A snooze only hides the case from the queue's default view: its deadline, priority and
    # tags stay exactly as the floor set them.
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    snoozed_until: Mapped[datetime | None]

    signals: Mapped[list[Signal]] = relationship(
        back_populates="incident", order_by="Signal.occurred_at"
    )


class Signal(Base):
    """One sign of unhappiness, with where it came from and why it counts."""

    __tablename__ = "signals"
    __table_args__ = (
        UniqueConstraint("shop_id", "source", "source_ref", "reason", name="uq_signals_source"),
        Index("ix_signals_incident_id", "incident_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    kind: Mapped[SignalKind] = mapped_column(Vocabulary(SignalKind, 24))
    reason: Mapped[str] = mapped_column(String(40))  # low_rating, hidden_complaint, …
    severity: Mapped[Severity] = mapped_column(Vocabulary(Severity, 16))
    detail: Mapped[dict[str, Any] | None]  # {"sentences": [...], ...} in the merchant's words
    source: Mapped[str] = mapped_column(String(32))  # shopify, judgeme, clout (periodic checks)
    source_ref: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="signals")


class IncidentEvent(Base):
    """The case's audit trail: one row for each thing that happened to it and who did it —
    signals arriving, decisions, tags landing in Shopify (or refused, and why), escalations,
    notifications, and every action of an agent or of Shopify staff through tags. Shown as the
    case's timeline on the agents' page and exported with the customer's data request."""

    __tablename__ = "incident_events"
    __table_args__ = (Index("ix_incident_events_incident_at", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))  # service.core.vocabulary.CaseEvent
    by: Mapped[str] = mapped_column(String(64))  # "clout", "page:agent-3", "resolved-tag", …
    detail: Mapped[dict[str, Any] | None]


class FlowRun(Base):
    """A run of Clout's Shopify Flow action ("Resolve the Clout case") and what Clout answered:
    each run id is acted on once, and a retry or a replay of it, however late, gets the same
    answer and changes nothing (`agents.flow_action`)."""

    __tablename__ = "flow_runs"
    __table_args__ = (UniqueConstraint("shop_id", "run_id", name="uq_flow_runs_shop_run"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(String(64))
    # The case it answered for; none when the customer had none (or it was erased since).
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SpentFlowRun(Base):
    """A Flow action run the store's erasure (`shop/redact`) took with it, kept as a digest of
    the store's domain and the run id: Flow's signature never expires and its body carries no
    time, so a captured run sent again after the merchant reinstalls must still change nothing.
    The digest names neither a person nor, read alone, a store."""

    __tablename__ = "spent_flow_runs"

    run_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256, hex
    at: Mapped[datetime] = mapped_column(default=utcnow)

    @staticmethod
    def key_of(*, shop_domain: str, run_id: str) -> str:
        return hashlib.sha256(f"{shop_domain.lower()}\n{run_id}".encode()).hexdigest()


class OutboundEffect(Base):
    """One thing Clout tells the outside world that it cannot take back — a Flow trigger, a
    notification, an email — recorded under a stable key before it is sent and settled after
    (`attention.outbox`): a crash between the two can neither lose it nor, where the receiver
    cannot tell a repeat, send it twice."""

    __tablename__ = "outbound_effects"
    __table_args__ = (
        UniqueConstraint("key", name="uq_outbound_effects_key"),
        Index("ix_outbound_effects_status", "status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # flow, webhook, slack, email
    key: Mapped[str] = mapped_column(String(160))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    # pending → sending → sent; or failed (refused, out of attempts), or uncertain (a crash
    # after sending began, for a receiver that cannot tell a repeat: never sent again).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    staged_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempted_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class InfluenceProfile(Base):
    """A customer's influence, two scores side by side: clout (real-world reach, from what the
    shop knows) and Klout (online reach, from handles the customer shared). None is unknown."""

    __tablename__ = "influence_profiles"
    __table_args__ = (UniqueConstraint("customer_id", name="uq_influence_profiles_customer"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    clout_score: Mapped[float | None]
    klout_score: Mapped[float | None]
    contagion: Mapped[int] = mapped_column(Integer, default=0)
    components: Mapped[dict[str, Any] | None]  # each component's raw figure and percentile
    reasons: Mapped[dict[str, Any] | None]  # {"clout": [sentences], "klout": [sentences]}
    unknown: Mapped[dict[str, Any] | None]  # {"inputs": [what could not be known]}
    complete: Mapped[bool] = mapped_column(default=False)
    opted_out: Mapped[bool] = mapped_column(default=False)
    computed_at: Mapped[datetime | None]
    sources: Mapped[dict[str, Any] | None]  # which data it was computed from
    # Set when something it was computed from changed (a new order by them, or with their
    # referral code); the profile sweep recomputes it and clears this.
    stale_since: Mapped[datetime | None] = mapped_column(index=True)


class Agent(Base):
    """A person who works the attention queue on Clout's own page (a self-hosted operator's
    login). Inside the Shopify admin, Shopify's session token says who it is instead."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # werkzeug's scrypt hash; the password itself is never stored or logged.
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]

    shops: Mapped[list[Shop]] = relationship(secondary="agent_shops", order_by="Shop.domain")


class AgentSession(Base):
    """An agent's sign-in, held on the server: the cookie carries only its token (whose SHA-256
    is kept here, so the table does not hold working cookies), and a session ends when its row
    goes — logging out, a new password, the agent removed — or when `expires_at` passes."""

    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class AgentShop(Base):
    """Which shops an agent may see: each sees only its own shops' customers."""

    __tablename__ = "agent_shops"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )


class ShopSettings(Base):
    """A shop's own settings, over the install-wide defaults from the environment: only what
    the merchant changed is stored (`values`), so a new default reaches every other key."""

    __tablename__ = "shop_settings"
    __table_args__ = (UniqueConstraint("shop_id", name="uq_shop_settings_shop"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    values: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # Secrets among them (a notification webhook's signing secret), Fernet-encrypted like tokens.
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SettingChange(Base):
    """Every change of a shop's setting: who, when, old → new (secrets shown as set/unset)."""

    __tablename__ = "setting_changes"
    __table_args__ = (Index("ix_setting_changes_shop_changed", "shop_id", "changed_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(255))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Backfill(Base):
    """A store's history, imported through one Shopify bulk operation: where it stands, so an
    import cut short (a crash, a restart) resumes where it stopped."""

    __tablename__ = "backfills"
    __table_args__ = (
        # One import per shop at a time (Shopify runs one bulk query per shop at a time, too).
        Index(
            "uq_backfills_one_running",
            "shop_id",
            unique=True,
            sqlite_where=text("finished_at IS NULL"),
            postgresql_where=text("finished_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # requested → running (Shopify builds the file) → importing → completed, or failed
    status: Mapped[str] = mapped_column(String(16), default="requested")
    since: Mapped[datetime | None]  # orders created on or after (None: all Shopify lets us read)
    bulk_operation_id: Mapped[str | None] = mapped_column(String(128))
    result_url: Mapped[str | None] = mapped_column(Text)
    object_count: Mapped[int] = mapped_column(BigInteger, default=0)  # as Shopify counts them
    lines_done: Mapped[int] = mapped_column(BigInteger, default=0)  # JSONL lines imported
    customers: Mapped[int] = mapped_column(Integer, default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)  # e.g. the 60-day limit without read_all_orders
    error: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


# The derived keys (`core.people`) are kept in step with the rows they come from, whichever code
# path wrote the row (webhooks, imports, redaction, tests), as each row is written: mapper events
# touch only the rows being flushed, so a session holding many rows pays nothing for the rest.


@event.listens_for(Customer, "before_insert")
@event.listens_for(Customer, "before_update")
def _customer_keys(_mapper: object, _connection: Connection, customer: Customer) -> None:
    customer.name_key = people.name_key(customer.first_name, customer.last_name)
    customer.first_name_key = people.first_name_key(customer.first_name)
    customer.email_key = people.email_key(customer.email)
    customer.workplace_domain = people.workplace_domain(customer.email)
    customer.home_key = people.address_key(customer.default_address)


@event.listens_for(Order, "before_insert")
@event.listens_for(Order, "before_update")
def _order_keys(_mapper: object, _connection: Connection, order: Order) -> None:
    order.ship_key = people.address_key(order.shipping_address)
    order.ship_name = people.recipient_key(order.shipping_address)


@event.listens_for(Order, "after_insert")
def _new_order_mentions(_mapper: object, connection: Connection, order: Order) -> None:
    _write_mentions(connection, order)


@event.listens_for(Order, "after_update")
def _changed_order_mentions(_mapper: object, connection: Connection, order: Order) -> None:
    state = inspect(order)
    if any(
        state.attrs[name].history.has_changes() for name in ("discount_codes", "note_attributes")
    ):
        connection.execute(delete(OrderMention).where(OrderMention.order_id == order.id))
        _write_mentions(connection, order)


def _write_mentions(connection: Connection, order: Order) -> None:
    found = [
        {"shop_id": order.shop_id, "order_id": order.id, "kind": kind, "key": key}
        for kind, key in people.mentions(
            discount_codes=order.discount_codes, note_attributes=order.note_attributes
        )
    ]
    if found:
        connection.execute(insert(OrderMention), found)
