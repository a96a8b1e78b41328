"""What runs on the clock: overdue incidents escalate and notify, reconciliation catches what a
missed webhook would have told Clout, late deliveries are noticed."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlparse

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.logs import get_logger
from service.core.models import Customer, Incident, Order, Refund, Shop
from service.core.vocabulary import Floor, IncidentStatus, Priority, Severity, ShopStatus
from service.shopify.admin import ShopifyAdmin
from service.shopify.ids import legacy_id
from service.shopify.payloads import parse_time, upsert_order_from_admin
from service.signals import events

log = get_logger(__name__)

MAX_ESCALATIONS = 3
RECONCILE_OVERLAP = timedelta(minutes=10)  # Shopify's updated_at and ours are not one clock


@dataclass(frozen=True)
class Notifier:
    """The channels a merchant configured: a signed outgoing webhook (a Slack incoming-webhook
    URL works: the body has a `text`), and email over SMTP."""

    webhook_url: str | None = None
    webhook_secret: str | None = None
    smtp_url: str | None = None
    email_to: str | None = None
    email_from: str = "clout@localhost"
    timeout: float = 5.0

    def notify(self, *, subject: str, message: str, data: dict[str, Any]) -> list[str]:
        sent = []
        if self.webhook_url:
            body = json.dumps({"text": f"{subject}\n{message}", "clout": data}).encode()
            headers = {"Content-Type": "application/json"}
            if self.webhook_secret:
                headers["X-Clout-Signature"] = (
                    "sha256="
                    + hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
                )
            try:
                response = requests.post(
                    self.webhook_url, data=body, headers=headers, timeout=self.timeout
                )
                if response.ok:
                    sent.append("webhook")
                else:
                    log.warning("notify_webhook_failed", status=response.status_code)
            except requests.RequestException as error:
                log.warning("notify_webhook_failed", error=type(error).__name__)
        if self.smtp_url and self.email_to:
            try:
                self._email(subject, message)
                sent.append("email")
            except (OSError, smtplib.SMTPException) as error:
                log.warning("notify_email_failed", error=type(error).__name__)
        return sent

    def _email(self, subject: str, message: str) -> None:
        url = urlparse(self.smtp_url or "")
        mail = EmailMessage()
        mail["Subject"], mail["From"], mail["To"] = subject, self.email_from, self.email_to
        mail.set_content(message)
        secure = url.scheme == "smtps"
        client_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
        with client_class(
            url.hostname or "localhost", url.port or (465 if secure else 25), timeout=self.timeout
        ) as client:
            if url.scheme == "smtp+starttls":
                client.starttls()
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(mail)


def escalate_overdue(
    *, session: Session, now: datetime, floors: Mapping[Severity, Floor], notifier: Notifier
) -> list[int]:
    """Open incidents past their deadline: marked overdue, one priority step up, a notification,
    and a new (shorter) deadline, at most MAX_ESCALATIONS times."""
    due = session.scalars(
        select(Incident).where(
            Incident.status == IncidentStatus.OPEN,
            Incident.deadline_at.is_not(None),
            Incident.deadline_at <= now,
            Incident.escalations < MAX_ESCALATIONS,
        )
    ).all()
    escalated = []
    for incident in due:
        incident.escalations += 1
        incident.overdue_at = incident.overdue_at or now
        incident.priority = (incident.priority or Priority.NORMAL).raised(1)
        floor = floors[incident.severity]
        incident.deadline_at = now + timedelta(hours=floor.hours / 2**incident.escalations)
        incident.needs_attention = True
        shop = session.get(Shop, incident.shop_id)
        customer = session.get(Customer, incident.customer_id)
        reasons = [
            s for signal in incident.signals for s in (signal.detail or {}).get("sentences", [])
        ]
        orders = [session.get(Order, s.order_id) for s in incident.signals if s.order_id]
        names = (
            ", ".join(sorted({o.name for o in orders if o is not None and o.name})) or "no order"
        )
        link = (
            f"https://admin.shopify.com/store/{shop.domain.removesuffix('.myshopify.com')}/customers/{legacy_id(customer.shopify_id)}"
            if shop and customer and customer.shopify_id.startswith("gid://shopify/Customer/")
            else None
        )
        channels = notifier.notify(
            subject=f"Overdue: unhappy customer waiting "
            f"({incident.severity}, now {incident.priority})",
            message=f"Orders {names}. Why: {'; '.join(reasons[:5]) or 'see Clout'}."
            + (f"\n{link}" if link else ""),
            data={
                "incident": incident.id,
                "shop": shop.domain if shop else None,
                "severity": incident.severity,
                "priority": incident.priority,
                "escalations": incident.escalations,
                "orders": names,
                "reasons": reasons[:10],
                "admin_url": link,
            },
        )
        log.warning(
            "incident_overdue",
            incident_id=incident.id,
            escalations=incident.escalations,
            notified=channels,
        )
        escalated.append(incident.id)
    return escalated


def reconcile_shop(
    *,
    session: Session,
    shop: Shop,
    admin: ShopifyAdmin,
    now: datetime,
    first_window: timedelta = timedelta(days=2),
) -> set[int]:
    """Read back every order Shopify says changed since the watermark and run it through the
    same signal rules a webhook would: an unhappy customer is caught even if the webhook never
    came. Idempotent: what was already seen raises nothing new."""
    since = (shop.reconciled_until or now - first_window) - RECONCILE_OVERLAP
    touched: set[int] = set()
    newest = since
    for node in admin.orders_updated_since(since):
        order = upsert_order_from_admin(session=session, shop=shop, node=node, customer=None)
        session.flush()
        updated = parse_time(node.get("updatedAt"))
        newest = max(newest, updated) if updated else newest
        raised = [
            events.cancellation_signal(session=session, shop=shop, order=order, now=now),
            events.note_signal(session=session, shop=shop, order=order, now=now),
        ]
        for refund_node in node.get("refunds") or []:
            refund = _refund_from_admin(session=session, shop=shop, order=order, node=refund_node)
            raised.append(
                events.refund_signal(
                    session=session, shop=shop, order=order, refund=refund, now=now
                )
            )
        for fulfillment in node.get("fulfillments") or []:
            status = str(fulfillment.get("displayStatus") or "").lower()
            if status in {"failure", "attempted_delivery"}:
                raised.append(
                    events.fulfillment_event_signal(
                        session=session,
                        shop=shop,
                        order=order,
                        now=now,
                        payload={
                            "id": fulfillment.get("id"),
                            "status": status,
                            "happened_at": fulfillment.get("createdAt"),
                        },
                    )
                )
        touched |= {r.incident.id for r in raised if r is not None and r.new_signal}
    shop.reconciled_until = max(newest, since + RECONCILE_OVERLAP)
    return touched


def _refund_from_admin(
    *, session: Session, shop: Shop, order: Order, node: dict[str, Any]
) -> Refund:
    refund = session.scalar(
        select(Refund).where(Refund.shop_id == shop.id, Refund.shopify_id == node["id"])
    )
    if refund is None:
        money = ((node.get("totalRefundedSet") or {}).get("shopMoney")) or {}
        refund = Refund(
            shop_id=shop.id,
            shopify_id=node["id"],
            order_shopify_id=order.shopify_id,
            note=node.get("note"),
            amount=Decimal(str(money.get("amount") or 0)),
            currency=money.get("currencyCode"),
            shopify_created_at=parse_time(node.get("createdAt")),
        )
        session.add(refund)
        session.flush()
    return refund


def late_deliveries(*, session: Session, now: datetime, rule: events.LateDeliveryRule) -> set[int]:
    touched: set[int] = set()
    for shop in session.scalars(select(Shop).where(Shop.status == ShopStatus.ACTIVE)):
        for raised in events.late_delivery_signals(session=session, shop=shop, rule=rule, now=now):
            if raised.new_signal:
                touched.add(raised.incident.id)
    return touched
