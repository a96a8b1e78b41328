"""A store's history — its customers and their orders — read through one Shopify bulk operation.

Shopify runs the query (`documents.HISTORY`) in the background and leaves its result as a JSONL
file behind a signed URL: one line per object, an order's line naming its customer in
`__parentId`. The steps here are each one network call or one short transaction, never both:

- `request_backfill` records that the shop's history is wanted (a `Backfill` row; one per shop
  at a time, as the unique index on unfinished rows says);
- `orders_window` decides which orders to ask for: without `read_all_orders` Shopify shows an
  app only the last 60 days of them, and the merchant is told so;
- `start` / `BulkOperation.read` ask Shopify to run the query and where it stands;
- `result_lines` streams the file line by line, skipping the lines already imported;
- `import_lines` writes one batch of lines in the caller's transaction, through the same
  upserts as webhooks: the newer `updated_at` wins, whichever arrives first.

What comes next — the import loop, profiles, incidents attended again — is `deliveries.backfill`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.core.errors import PermanentError
from service.core.logs import get_logger
from service.core.models import Backfill, Customer, Order, Shop
from service.shopify.admin import (
    ShopifyAdmin,
    ShopifyUnavailable,
    ShopifyUserErrors,
)
from service.shopify.payloads import (
    admin_customer_payload,
    admin_order_payload,
    names_a_customer,
    upsert_customer,
    upsert_order,
)

log = get_logger(__name__)

BACKFILL_TASK = "clout.backfill"
QUEUE = "clout"
# "read_orders … only orders from the last 60 days; read_all_orders for full history" (Shopify's
# access-scopes reference).
RECENT_ORDERS = timedelta(days=60)
ALL_ORDERS_SCOPE = "read_all_orders"


class BackfillStatus(StrEnum):
    REQUESTED = "requested"  # recorded; Shopify not asked yet
    RUNNING = "running"  # Shopify is building the file
    IMPORTING = "importing"  # the file is ready; `lines_done` of it are in
    COMPLETED = "completed"
    FAILED = "failed"


class BackfillRunning(Exception):
    """The shop's history is already being imported: one import per shop at a time."""

    def __init__(self, *, domain: str, backfill: Backfill) -> None:
        self.backfill_id = backfill.id
        super().__init__(
            f"the history of {domain} is already being imported ({describe(backfill)}); "
            f"`clout shops backfill {domain} --status` shows where it stands"
        )


def describe(backfill: Backfill) -> str:
    """Where an import stands, in a line."""
    status = backfill.status
    if status == BackfillStatus.REQUESTED:
        text = f"requested {backfill.requested_at:%Y-%m-%d %H:%M} UTC"
    elif status == BackfillStatus.RUNNING:
        text = f"Shopify is preparing it: {backfill.object_count:,} objects so far"
    elif status == BackfillStatus.IMPORTING:
        total = max(backfill.object_count, backfill.lines_done)
        share = f" ({backfill.lines_done / total:.0%})" if total else ""
        text = f"importing: {backfill.lines_done:,} of {total:,} lines{share}"
    elif status == BackfillStatus.COMPLETED:
        finished = f"{backfill.finished_at:%Y-%m-%d %H:%M} UTC" if backfill.finished_at else ""
        text = f"completed {finished}: {backfill.customers:,} customers, {backfill.orders:,} orders"
    else:
        text = f"failed: {backfill.error or 'unknown error'}"
    return text


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def latest_backfill(*, session: Session, shop: Shop) -> Backfill | None:
    found: Backfill | None = session.scalar(
        select(Backfill).where(Backfill.shop_id == shop.id).order_by(Backfill.id.desc()).limit(1)
    )
    return found


def unfinished_backfill(*, session: Session, shop: Shop) -> Backfill | None:
    found: Backfill | None = session.scalar(
        select(Backfill).where(Backfill.shop_id == shop.id, Backfill.finished_at.is_(None))
    )
    return found


def request_backfill(
    *, session: Session, shop: Shop, now: datetime, since: datetime | None = None
) -> Backfill:
    """Record that the shop's history (orders created on or after `since`, or all Shopify lets
    Clout read) is to be imported. Refused with BackfillRunning while another import of the
    shop is unfinished — checked first, and enforced by the database's unique index when two
    requests race."""
    running = unfinished_backfill(session=session, shop=shop)
    if running is not None:
        raise BackfillRunning(domain=shop.domain, backfill=running)
    backfill = Backfill(
        shop_id=shop.id, status=BackfillStatus.REQUESTED, since=since, requested_at=now
    )
    try:
        with session.begin_nested():
            session.add(backfill)
            session.flush()
    except IntegrityError:
        running = unfinished_backfill(session=session, shop=shop)
        if running is None:
            raise
        raise BackfillRunning(domain=shop.domain, backfill=running) from None
    log.info("backfill_requested", shop=shop.domain, backfill_id=backfill.id)
    return backfill


def request_on_connect(*, session: Session, shop: Shop, now: datetime) -> Backfill | None:
    """A shop just connected (a custom app's token, an install, a token exchange): import its
    history unless Clout already has it or is importing it. A reconnection after that keeps
    what Clout has; `clout shops backfill` imports again on demand."""
    imported = session.scalar(
        select(Backfill.id).where(
            Backfill.shop_id == shop.id,
            (Backfill.status == BackfillStatus.COMPLETED) | Backfill.finished_at.is_(None),
        )
    )
    if imported is not None:
        return None
    try:
        return request_backfill(session=session, shop=shop, now=now)
    except BackfillRunning:
        return None


class Enqueuer(Protocol):
    def send_task(self, name: str, args: Any = ..., **options: Any) -> Any: ...


def ring_backfill(*, celery: Enqueuer, backfill_id: int, chain: str | None = None) -> bool:
    """Ask a worker to carry the import on. The row is the record: a lost bell is rung again by
    the beat (`clout.resume_backfills`). `chain` names the line of tasks carrying it, so that
    only one runs at a time (see `workers.tasks.backfill`)."""
    try:
        celery.send_task(
            BACKFILL_TASK, args=[backfill_id, chain or uuid.uuid4().hex], queue=QUEUE, retry=False
        )
    except Exception as error:  # noqa: BLE001 - any broker failure: the beat rings again
        log.warning("enqueue_failed", error=type(error).__name__, backfill_id=backfill_id)
        return False
    return True


# Clout's saved views, metafield definitions and segments in the store's admin
# (`attention.workspace`): made at connect and after a tag rename, rung like the import.
WORKSPACE_TASK = "clout.tend_workspace"


def ring_workspace(*, celery: Enqueuer, shop_id: int) -> bool:
    """Ask a worker to make or mend the store's views, definitions and segments. Idempotent;
    a lost bell is rung again by the beat (`clout.tend_workspaces`)."""
    try:
        celery.send_task(WORKSPACE_TASK, args=[shop_id], queue=QUEUE, retry=False)
    except Exception as error:  # noqa: BLE001 - any broker failure: the beat rings again
        log.warning("enqueue_failed", error=type(error).__name__, shop_id=shop_id)
        return False
    return True


# --- which orders ------------------------------------------------------------------------------


def has_all_orders(scopes: str | None) -> bool:
    return ALL_ORDERS_SCOPE in {s.strip() for s in (scopes or "").split(",")}


def orders_window(
    *, scopes: str, since: datetime | None, now: datetime
) -> tuple[datetime | None, str | None]:
    """The oldest order creation time to ask Shopify for, and what to tell the merchant about
    it. Without `read_all_orders` Shopify lets an app read only the last 60 days of orders: ask
    for those alone, and say so."""
    if has_all_orders(scopes):
        return since, None
    floor = now - RECENT_ORDERS
    if since is not None and since >= floor:
        return since, None
    return floor, (
        "Shopify lets Clout read only the last 60 days of orders without the read_all_orders "
        f"permission: orders placed before {floor:%Y-%m-%d} were not imported (customers were)."
    )


# --- Shopify's side ----------------------------------------------------------------------------


class BulkBusy(ShopifyUnavailable):
    """Shopify already runs as many bulk queries of this app for the shop as it allows."""


class ResultGone(PermanentError):
    """The result's URL no longer answers (Shopify keeps a result for seven days)."""


RUNNING_STATES = frozenset({"CREATED", "RUNNING", "CANCELING"})


@dataclass(frozen=True)
class BulkOperation:
    id: str
    status: str
    object_count: int
    url: str | None
    error_code: str | None

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> BulkOperation:
        count = str(node.get("objectCount"))  # UnsignedInt64: a string
        return cls(
            id=str(node["id"]),
            status=str(node.get("status") or ""),
            object_count=int(count) if count.isdigit() else 0,
            url=node.get("url") or None,
            error_code=node.get("errorCode") or None,
        )

    @classmethod
    def read(cls, admin: ShopifyAdmin, gid: str) -> BulkOperation | None:
        node = admin.bulk_operation(gid)
        return cls.from_node(node) if node is not None else None

    @property
    def running(self) -> bool:
        return self.status in RUNNING_STATES


def start(admin: ShopifyAdmin, query: str) -> BulkOperation:
    """Ask Shopify to run the bulk query. Shopify being busy with others is worth waiting for
    (BulkBusy); a query it refuses is not."""
    try:
        return BulkOperation.from_node(admin.run_bulk_query(query))
    except ShopifyUserErrors as error:
        codes = {str(e.get("code")) for e in error.errors}
        if codes & {"OPERATION_IN_PROGRESS", "LIMIT_REACHED"}:
            raise BulkBusy(
                "Shopify is already running this app's bulk queries for the shop",
                retry_after=60.0,
            ) from None
        raise


def result_lines(*, http: httpx.Client, url: str, skip: int = 0) -> Generator[bytes, None, None]:
    """The result file's lines, streamed (never held whole), after the first `skip`. A signed
    URL: no access token goes with it. A download that breaks off is ShopifyUnavailable (the
    import resumes from its last batch); a URL that no longer answers is ResultGone."""
    seen = 0
    rest = b""
    try:
        with http.stream("GET", url, timeout=httpx.Timeout(60.0, connect=5.0)) as response:
            if response.status_code in (400, 401, 403, 404, 410):
                raise ResultGone(f"the result's URL answered {response.status_code}")
            if response.status_code >= 300:
                raise ShopifyUnavailable(f"the result's URL answered {response.status_code}")
            for chunk in response.iter_bytes():  # as they arrive: a cut loses nothing read
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                if seen + len(lines) <= skip:  # a whole chunk already imported
                    seen += len(lines)
                    continue
                for line in lines:
                    seen += 1
                    if seen > skip:
                        yield line
    except httpx.TransportError as error:
        raise ShopifyUnavailable(
            f"the result's download broke off after {seen:,} lines ({type(error).__name__})"
        ) from error
    if rest.strip() and seen + 1 > skip:
        yield rest


# --- into Clout's rows ---------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    customers: int = 0
    orders: int = 0


def _kind(gid: object) -> str:
    return str(gid).removeprefix("gid://shopify/").split("/", 1)[0]


def import_lines(*, session: Session, shop: Shop, lines: Sequence[bytes]) -> Imported:
    """One batch of result lines into customers and orders, in the caller's transaction.

    The same upserts as webhooks, so the newer `updated_at` wins whichever came first: a
    webhook about a change made during the import is not undone by the older snapshot, and
    the snapshot still fills in what no webhook brought. Lines may come in any order (Shopify
    promises none without grouping): an order whose customer's line is still to come is linked
    to a placeholder that line fills in. A redacted customer's orders keep their facts, never
    their personal data."""
    try:
        objects = [json.loads(line) for line in lines if line.strip()]
    except ValueError as error:
        raise PermanentError("a line of Shopify's result is not JSON") from error
    objects = [o for o in objects if isinstance(o, dict)]
    customer_gids = {o["id"] for o in objects if _kind(o.get("id")) == "Customer"}
    customer_gids |= {o["__parentId"] for o in objects if o.get("__parentId")}
    order_gids = [o["id"] for o in objects if _kind(o.get("id")) == "Order"]
    customers = {c.shopify_id: c for c in _rows(session, shop, Customer, customer_gids)}
    orders = {o.shopify_id: o for o in _rows(session, shop, Order, order_gids)}
    counted = {"Customer": 0, "Order": 0}
    for item in objects:
        if _kind(item.get("id")) == "Customer":
            upsert_customer(
                session=session, shop=shop, payload=admin_customer_payload(item), known=customers
            )
            counted["Customer"] += 1
    for parent in customer_gids - set(customers):  # their own line is in a later batch
        upsert_customer(
            session=session,
            shop=shop,
            payload={"admin_graphql_api_id": parent},
            authoritative=False,
            known=customers,
        )
    session.flush()  # once a batch: every customer an order names now has its id
    for item in objects:
        if _kind(item.get("id")) == "Order":
            _import_order(session=session, shop=shop, item=item, customers=customers, orders=orders)
            counted["Order"] += 1
    return Imported(customers=counted["Customer"], orders=counted["Order"])


def _import_order(
    *,
    session: Session,
    shop: Shop,
    item: dict[str, Any],
    customers: dict[str, Customer],
    orders: dict[str, Order],
) -> None:
    payload = admin_order_payload(item)
    order = upsert_order(session=session, shop=shop, payload=payload, known=orders)
    customer = customers.get(item.get("__parentId") or "")
    if (
        customer is not None
        and order.customer_id != customer.id
        and not names_a_customer(session, order.customer_id)
    ):
        # No customer yet, or the stand-in a signal was hung on because Shopify could not say
        # whose the order was then (`guest:<order>`): the history says whose it is, and the
        # import's end moves the stand-in's case to them (`relink_shop`).
        order.customer_id = customer.id
    redacted = order.redacted_at or (customer.redacted_at if customer is not None else None)
    if redacted is not None:
        order.email = order.phone = order.note = None
        order.note_attributes = order.shipping_address = order.discount_codes = None
        order.redacted_at = redacted


_IN_LIST = 500  # bound parameters per IN (…): well under every database's limit


Row = TypeVar("Row", Customer, Order)


def _rows(session: Session, shop: Shop, model: type[Row], gids: Iterable[str]) -> list[Row]:
    wanted = sorted(set(gids))
    found: list[Row] = []
    for start_at in range(0, len(wanted), _IN_LIST):
        chunk = wanted[start_at : start_at + _IN_LIST]
        found += session.scalars(
            select(model).where(model.shop_id == shop.id, model.shopify_id.in_(chunk))
        ).all()
    return found
