"""What keeps the attention floor from reaching a store's people, read from the database:
attention tags that are not in Shopify (and whether Shopify refused them), and notification
channels whose notices are not arriving. `clout doctor` words it for the operator, the agents'
page for the store's own people (`agents.health`), so both tell the same facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.attention.pending import is_pending, refusals
from service.core.models import Incident, OutboundEffect, SettingChange

NOTICES_WINDOW = timedelta(days=7)
# An outbox kind as people name the channel.
CHANNELS = {"webhook": "webhook", "slack": "Slack", "email": "email", "flow": "Flow trigger"}


@dataclass(frozen=True)
class TagsNotInShopify:
    count: int  # open cases whose attention tag is not in Shopify yet
    oldest: datetime  # when the longest-waiting of them opened
    refused: list[int]  # those Shopify refused since they last opened, latest refusal first
    refused_why: str | None  # Shopify's words for the latest refusal


def tags_not_in_shopify(*, session: Session, shop_id: int) -> TagsNotInShopify | None:
    """Open cases whose attention tag has not reached Shopify; None when every one has."""
    count, oldest = session.execute(
        select(func.count(), func.min(Incident.opened_at)).where(
            is_pending(), Incident.shop_id == shop_id
        )
    ).one()
    if not count:
        return None
    refused = refusals(session=session, shop_id=shop_id)
    return TagsNotInShopify(
        count=count,
        oldest=oldest,
        refused=list(dict.fromkeys(incident_id for incident_id, _ in refused)),
        refused_why=refused[0][1] if refused else None,
    )


# The store's settings that say where a channel's notices go: one changed after a failure
# means the failure says nothing of the address now set.
_ADDRESSED_BY = {
    "slack": ("notify.slack_url",),
    "webhook": ("notify.webhook_url", "notify.webhook_secret"),
    "email": ("notify.email",),
}


@dataclass(frozen=True)
class NoticesNotDelivered:
    missed: dict[str, int]  # channel (outbox kind) → notices not delivered in the window
    # channel → why its latest notice failed (None: no reason recorded), for each channel whose
    # latest notice in the window failed: one the store is not hearing from now
    silent: dict[str, str | None]
    # channels whose latest notice failed, but whose address the store changed since: the
    # next notice will tell whether the new one works
    changed_since: list[str]


def notices_not_delivered(
    *, session: Session, shop_id: int, now: datetime
) -> NoticesNotDelivered | None:
    """The store's notices that did not arrive in the last 7 days; None when none failed."""
    rows = session.execute(
        select(
            OutboundEffect.kind,
            OutboundEffect.status,
            OutboundEffect.error,
            OutboundEffect.settled_at,
        )
        .where(
            OutboundEffect.shop_id == shop_id,
            OutboundEffect.settled_at >= now - NOTICES_WINDOW,
            OutboundEffect.status.in_(("sent", "failed", "uncertain")),
        )
        .order_by(OutboundEffect.settled_at, OutboundEffect.id)
    ).all()
    missed: dict[str, int] = {}
    last: dict[str, tuple[str, str | None, datetime]] = {}
    for kind, status, error, settled_at in rows:
        last[kind] = (status, error, settled_at or now)
        if status != "sent":
            missed[kind] = missed.get(kind, 0) + 1
    if not missed:
        return None
    changed = dict(
        session.execute(
            select(SettingChange.key, func.max(SettingChange.changed_at))
            .where(SettingChange.shop_id == shop_id)
            .group_by(SettingChange.key)
        ).all()
    )
    silent: dict[str, str | None] = {}
    changed_since: list[str] = []
    for kind, (status, error, settled_at) in last.items():
        if status == "sent":
            continue
        if any(changed.get(key, settled_at) > settled_at for key in _ADDRESSED_BY.get(kind, ())):
            changed_since.append(kind)
        else:
            silent[kind] = error
    return NoticesNotDelivered(missed=missed, silent=silent, changed_since=changed_since)
