"""Webhook subscriptions for a store connected with a custom-app token.

A public app's subscriptions are declared in shopify.app.toml (app-specific: Shopify never
deletes them). A custom app has no toml, so Clout makes one subscription per topic it handles
through the Admin API, at `CLOUT_PUBLIC_URL/webhooks/shopify`, and can compare what Shopify has
with what it wants: missing topics, subscriptions Clout does not need, and ones pointing
somewhere else (an old address). Shopify deletes an API-made subscription after repeated
failed deliveries, so `clout shops check` and `clout doctor` look again. The three privacy
topics cannot be made through the API: a custom app's merchant handles those requests in the
Shopify admin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.shopify.admin import ShopifyAdmin

COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
WEBHOOK_PATH = "/webhooks/shopify"


def topic_enum(topic: str) -> str:
    """`orders/create` → `ORDERS_CREATE`, `customer.tags_added` → `CUSTOMER_TAGS_ADDED`:
    Shopify's WebhookSubscriptionTopic value."""
    return topic.upper().replace("/", "_").replace(".", "_")


def callback_url(public_url: str) -> str:
    return public_url.rstrip("/") + WEBHOOK_PATH


@dataclass(frozen=True)
class SubscriptionPlan:
    """What to do so that Shopify sends exactly the topics Clout handles, to Clout."""

    uri: str
    present: tuple[str, ...] = ()  # topics already subscribed at `uri`
    missing: tuple[str, ...] = ()  # topics to subscribe
    # Subscriptions to delete: (id, topic, uri) — a topic Clout does not handle at its address,
    # a second copy, or a handled topic pointing at another address.
    extra: tuple[tuple[str, str, str], ...] = ()

    @property
    def in_order(self) -> bool:
        return not (self.missing or self.extra)


def plan_subscriptions(
    *, existing: Iterable[Mapping[str, Any]], handled: Iterable[str], uri: str
) -> SubscriptionPlan:
    """Compare Shopify's subscriptions with the topics Clout handles. Pure."""
    wanted = {topic_enum(t): t for t in handled if t not in COMPLIANCE_TOPICS}
    present: dict[str, str] = {}
    extra: list[tuple[str, str, str]] = []
    for sub in existing:
        sid, topic, address = str(sub.get("id")), str(sub.get("topic")), str(sub.get("uri"))
        if address == uri and topic in wanted and topic not in present:
            present[topic] = sid
        elif address == uri or topic in wanted:
            extra.append((sid, topic, address))
    return SubscriptionPlan(
        uri=uri,
        present=tuple(sorted(wanted[t] for t in present)),
        missing=tuple(sorted(wanted[t] for t in set(wanted) - set(present))),
        extra=tuple(sorted(extra, key=lambda e: (e[1], e[2]))),
    )


@dataclass
class Pushed:
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "topic: Shopify's reason"


def push_subscriptions(
    *, client: ShopifyAdmin, plan: SubscriptionPlan, delete_extra: bool
) -> Pushed:
    """Make the missing subscriptions (and delete the extra ones when asked)."""
    pushed = Pushed()
    for topic in plan.missing:
        try:
            client.create_webhook_subscription(topic_enum(topic), plan.uri)
        except Exception as error:  # noqa: BLE001 - each topic's answer is reported, then on
            pushed.refused.append(f"{topic}: {error}")
            continue
        pushed.created.append(topic)
    if delete_extra:
        for sid, topic, _ in plan.extra:
            try:
                client.delete_webhook_subscription(sid)
            except Exception as error:  # noqa: BLE001
                pushed.refused.append(f"delete {topic}: {error}")
                continue
            pushed.deleted.append(topic)
    return pushed


def describe_plan(plan: SubscriptionPlan) -> Sequence[str]:
    """The plan in plain words, one line each."""
    lines = [f"Shopify sends Clout's topics to {plan.uri}"]
    lines += [f"  ok       {topic}" for topic in plan.present]
    lines += [
        f"  missing  {topic}: Shopify will not tell Clout about these" for topic in plan.missing
    ]
    lines += [f"  extra    {topic} → {uri}" for _, topic, uri in plan.extra]
    return lines
