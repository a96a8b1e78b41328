"""The emulated store's webhooks: signed deliveries with Shopify's headers, retried on non-2xx.

Shopify retries a failed delivery 8 times over 4 hours; the emulator keeps that shape on a
compressed schedule (by default 1 s, 2 s, 4 s … 128 s) so a test or the demo sees it happen.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from service.dev.devstore.store import Address, Customer, DevStore, Order, iso
from service.shopify.subscriptions import topic_enum

RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)


def _address(address: Address | None) -> dict[str, Any] | None:
    return address.as_rest() if address else None


def customer_payload(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "admin_graphql_api_id": customer.gid,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone": customer.phone,
        "state": "enabled",
        "note": customer.note,
        "verified_email": True,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
        "currency": "USD",
        "default_address": _address(customer.addresses[0] if customer.addresses else None),
    }


def order_payload(store: DevStore, order: Order) -> dict[str, Any]:
    """An order as Shopify's REST-shaped order webhooks carry it."""
    customer = store.customers.get(order.customer_id) if order.customer_id else None
    return {
        "id": order.id,
        "admin_graphql_api_id": order.gid,
        "name": order.name,
        "order_number": order.number,
        "email": order.email,
        "contact_email": order.email,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
        "processed_at": iso(order.created_at),
        "cancelled_at": iso(order.cancelled_at),
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "financial_status": order.financial_status.lower(),
        "fulfillment_status": "fulfilled" if order.fulfillment_status == "FULFILLED" else None,
        "currency": order.currency,
        "total_price": f"{order.total:.2f}",
        "tags": ", ".join(sorted(order.tags)),
        "note": order.note,
        "note_attributes": [{"name": k, "value": v} for k, v in order.custom_attributes],
        "discount_codes": [
            {"code": c, "amount": "10.00", "type": "percentage"} for c in order.discount_codes
        ],
        "shipping_address": _address(order.shipping_address),
        "billing_address": _address(order.billing_address),
        "customer": customer_payload(customer) if customer else None,
        "line_items": [
            {
                "title": li.title,
                "quantity": li.quantity,
                "product_id": li.product_id,
                "price": f"{li.price:.2f}",
            }
            for li in order.line_items
        ],
        "refunds": [
            {
                "id": r.id,
                "admin_graphql_api_id": r.gid,
                "created_at": iso(r.created_at),
                "note": r.note,
            }
            for r in order.refunds
        ],
        "fulfillments": [
            {
                "id": f.id,
                "admin_graphql_api_id": f.gid,
                "created_at": iso(f.created_at),
                "status": f.status.lower(),
                "shipment_status": (f.display_status or "").lower() or None,
            }
            for f in order.fulfillments
        ],
    }


def refund_payload(order: Order, index: int = -1) -> dict[str, Any]:
    refund = order.refunds[index]
    return {
        "id": refund.id,
        "admin_graphql_api_id": refund.gid,
        "order_id": order.id,
        "created_at": iso(refund.created_at),
        "processed_at": iso(refund.created_at),
        "note": refund.note,
        "refund_line_items": [
            {
                "quantity": 1,
                "subtotal": float(refund.amount),
                "subtotal_set": {
                    "shop_money": {
                        "amount": f"{refund.amount:.2f}",
                        "currency_code": order.currency,
                    }
                },
            }
        ],
        # As Shopify sends them: the money that moved is in the successful refund transactions.
        "transactions": [
            {
                "id": refund.id + 1,
                "order_id": order.id,
                "kind": "refund",
                "status": "success",
                "gateway": "bogus",
                "amount": f"{refund.amount:.2f}",
                "currency": order.currency,
                "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{refund.id + 1}",
            }
        ]
        if refund.amount > 0
        else [],
    }


def payload_for(store: DevStore, topic: str, subject: Any) -> dict[str, Any]:
    if isinstance(subject, Order):
        if topic == "refunds/create":
            return refund_payload(subject)
        return order_payload(store, subject)
    if isinstance(subject, Customer):
        return customer_payload(subject)
    if isinstance(subject, dict):
        return subject
    raise TypeError(f"cannot make a {topic} payload from {type(subject).__name__}")


@dataclass
class Sent:
    topic: str
    webhook_id: str
    body: bytes
    url: str = ""
    attempts: list[int] = field(default_factory=list)  # HTTP status of each try (0: no answer)
    delivered: bool = False


class WebhookSender:
    def __init__(
        self,
        store: DevStore,
        *,
        url: str | None,
        secret: str,
        api_version: str = "2026-07",
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        timeout: float = 5.0,
    ) -> None:
        self.store = store
        self.url = url
        self.secret = secret
        self.api_version = api_version
        self.retry_delays = retry_delays
        self.timeout = timeout
        self.sent: list[Sent] = []
        self._queue: queue.PriorityQueue[tuple[float, int, Sent]] = queue.PriorityQueue()
        self._counter = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="devstore-webhooks", daemon=True)
        self._http = requests.Session()
        self._lock = threading.Lock()

    def start(self) -> WebhookSender:
        self.store.listeners.append(self.on_event)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.on_event in self.store.listeners:
            self.store.listeners.remove(self.on_event)
        self._stop.set()
        self._thread.join(timeout=5)
        self._http.close()

    def on_event(self, topic: str, subject: Any) -> None:
        self.send(topic, payload_for(self.store, topic, subject))

    def send(
        self,
        topic: str,
        payload: dict[str, Any] | bytes,
        *,
        webhook_id: str | None = None,
        at: float = 0.0,
    ) -> Sent:
        """Queue a delivery (sent `at` seconds from now) to the sender's URL, or, without one,
        to every subscription made for the topic through the Admin API, as Shopify does. The
        same `webhook_id` twice is a duplicate delivery, as Shopify sometimes makes."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        first: Sent | None = None
        for url in self.targets(topic):
            delivery = Sent(
                topic=topic, webhook_id=webhook_id or str(uuid.uuid4()), body=body, url=url
            )
            first = first or delivery
            with self._lock:
                self.sent.append(delivery)
                self._counter += 1
                self._queue.put((time.monotonic() + at, self._counter, delivery))
        return first or Sent(topic=topic, webhook_id=webhook_id or "", body=body, delivered=True)

    def targets(self, topic: str) -> list[str]:
        if self.url:
            return [self.url]
        enum = topic_enum(topic)
        with self.store.lock:
            return [s["uri"] for s in self.store.subscriptions if s["topic"] == enum]

    def idle(self) -> bool:
        with self._lock:
            return all(d.delivered or len(d.attempts) > len(self.retry_delays) for d in self.sent)

    def headers(self, delivery: Sent) -> dict[str, str]:
        signature = base64.b64encode(
            hmac.new(self.secret.encode(), delivery.body, hashlib.sha256).digest()
        ).decode()
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": delivery.topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": self.store.domain,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": delivery.webhook_id,
            "X-Shopify-Event-Id": str(uuid.uuid5(uuid.NAMESPACE_URL, delivery.webhook_id)),
            "X-Shopify-Triggered-At": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                due, order, delivery = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            wait = due - time.monotonic()
            if wait > 0:
                self._queue.put((due, order, delivery))
                self._stop.wait(min(wait, 0.1))
                continue
            try:
                status = self._http.post(
                    delivery.url,
                    data=delivery.body,
                    headers=self.headers(delivery),
                    timeout=self.timeout,
                ).status_code
            except requests.RequestException:
                status = 0
            with self._lock:
                delivery.attempts.append(status)
                if 200 <= status < 300:
                    delivery.delivered = True
                elif len(delivery.attempts) <= len(self.retry_delays):
                    delay = self.retry_delays[len(delivery.attempts) - 1]
                    self._queue.put((time.monotonic() + delay, order, delivery))
