"""Clout's words, typed: delivery and incident statuses, severities, priorities, signal kinds and
influence bands, and the attention floor per severity.

Each is a `StrEnum` stored as the same string it always was (no data migration), so a value read
back from the database, a queue message or a tag compares equal to its member, while mypy
checks that a severity is never passed where a priority belongs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise


class ShopStatus(StrEnum):
    ACTIVE = "active"
    UNINSTALLED = "uninstalled"  # the merchant removed the app; data kept until shop/redact


class DeliveryStatus(StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"  # permanent: the payload cannot be handled; an operator may retry it
    DEAD = "dead"  # transient errors outlasted every attempt
    IGNORED = "ignored"  # nothing to do (the shop is gone, or the topic has no handler)

    @property
    def pending(self) -> bool:
        """Still Clout's to finish (a worker will, or the sweeper will hand it to one)."""
        return self in (DeliveryStatus.RECEIVED, DeliveryStatus.PROCESSING, DeliveryStatus.RETRYING)


PENDING_DELIVERIES = tuple(s for s in DeliveryStatus if s.pending)


class IncidentStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Severity(StrEnum):
    """How unhappy a signal says the customer is; an incident keeps its worst signal's."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    def worse(self, other: Severity) -> Severity:
        return self if self.rank >= other.rank else other


_SEVERITY_ORDER = (Severity.LOW, Severity.NORMAL, Severity.HIGH, Severity.CRITICAL)


class Priority(StrEnum):
    """How soon to answer. The floor sets it from severity; influence only ever raises it."""

    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return _PRIORITY_ORDER.index(self)

    def raised(self, steps: int) -> Priority:
        return _PRIORITY_ORDER[min(len(_PRIORITY_ORDER) - 1, self.rank + max(0, steps))]


_PRIORITY_ORDER = (Priority.NORMAL, Priority.HIGH, Priority.URGENT)


class SignalKind(StrEnum):
    """What happened, in the merchant's words; each has a reason tag (`clout-reason-<kind>`)."""

    REVIEW = "review"
    REFUND = "refund"
    DISPUTE = "dispute"
    RETURN = "return"
    DELIVERY = "delivery"
    CANCELLATION = "cancellation"
    NOTE = "note"


class InfluenceBand(StrEnum):
    UNKNOWN = "unknown"  # nothing known: never read as low
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    OPTED_OUT = "opted-out"


@dataclass(frozen=True)
class Floor:
    """The attention floor for one severity: the priority and the hours to answer within."""

    priority: Priority
    hours: float


DEFAULT_FLOORS: Mapping[Severity, Floor] = {
    Severity.CRITICAL: Floor(Priority.URGENT, 4.0),
    Severity.HIGH: Floor(Priority.HIGH, 24.0),
    Severity.NORMAL: Floor(Priority.NORMAL, 48.0),
    Severity.LOW: Floor(Priority.NORMAL, 72.0),
}


def parse_floors(text: str | None) -> dict[Severity, Floor]:
    """`CLOUT_DEADLINE_HOURS`, e.g. "critical=4,high=24,normal=48,low=72" (hours per severity)."""
    floors = dict(DEFAULT_FLOORS)
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, _, hours = part.partition("=")
        try:
            severity = Severity(name.strip())
        except ValueError:
            raise ValueError(f"unknown severity {name.strip()!r} in CLOUT_DEADLINE_HOURS") from None
        value = float(hours)
        if value <= 0:
            raise ValueError("deadlines must be positive")
        floors[severity] = Floor(floors[severity].priority, value)
    why = out_of_order({s: f.hours for s, f in floors.items()})
    if why is not None:
        raise ValueError(why)
    return floors


def out_of_order(hours: Mapping[Severity, float], *, prefix: str = "") -> str | None:
    """Why these deadlines would promise a worse case a later answer than a milder one (a
    chargeback answered after a delivery complaint); None when they do not."""
    ladder = (Severity.CRITICAL, Severity.HIGH, Severity.NORMAL, Severity.LOW)
    for worse, milder in pairwise(ladder):
        if hours[worse] > hours[milder]:
            return (
                f"{prefix}{worse.value} ({hours[worse]:g} h) is later than {prefix}{milder.value} "
                f"({hours[milder]:g} h): a worse case never waits longer"
            )
    return None


class CaseEvent(StrEnum):
    """What can happen to a case, as its audit trail (`incident_events`) records it."""

    SIGNAL = "signal"  # a sign of unhappiness arrived
    DECIDED = "decided"  # priority and deadline set or changed (by the floor, or influence)
    TAGGED = "tagged"  # tags landed in Shopify on an order or the customer
    TAG_REFUSED = "tag_refused"  # Shopify refused a tag write: it never reached Shopify
    UNTAGGED = "untagged"  # Clout's tags taken off (the case closed)
    METAFIELDS_CLEARED = "metafields_cleared"  # the customer's clout.attention_* removed
    ESCALATED = "escalated"  # overdue: a priority step up, a closer deadline
    NOTIFIED = "notified"  # a store's channel took a notice about the case
    # A notice about the case did not reach a channel (refused, or given up after its tries),
    # or may not have (cut short mid-send, not sent again); the detail says why in a few words.
    NOTICE_FAILED = "notice_failed"
    FLOW_TRIGGERED = "flow_triggered"  # Shopify took the "Unhappy customer detected" trigger
    # Shopify refused it or never took it (`outcome` failed), or the send was cut short and
    # it may not have started (uncertain): the merchant's workflows did not run, or may not.
    FLOW_FAILED = "flow_failed"
    RESOLVED = "resolved"  # a person closed it (page, CLI, or a tag in the Shopify admin)
    NOT_A_COMPLAINT = "not_a_complaint"  # a person closed it as never a complaint
    REOPENED = "reopened"  # a person undid a close: the case is open again, tags going back
    # The customer edited the review behind a signal so it reads as no complaint, or deleted
    # it (`{"deleted", "stars", "complaint"}`): said, never acted on — a person closes a case.
    REVIEW_CHANGED = "review_changed"
    ASSIGNED = "assigned"
    SNOOZED = "snoozed"


# Who closes a case through the desk's actions, as the prefix of who the trail records: the
# agents' page, the CLI, a block on an order or customer page in the Shopify admin, a Shopify
# Flow workflow. A case closed by any of them gets the resolved tag in Shopify, as if a person
# had added it (`attend.push_clearance`).
DESK_ACTORS = ("page:", "cli:", "admin:", "flow:")


def same_tag_key(tag: str) -> str:
    """A tag as Shopify compares it (`same_tag`)."""
    return tag.strip().casefold()


def same_tag(tag: str, other: str) -> bool:
    """Shopify's tags ignore case: `Clout-Resolved` typed by a person is the resolved tag to
    Shopify's search, saved views and Flow, and `tagsAdd` of a tag the order carries in
    another case keeps the one it has."""
    return same_tag_key(tag) == same_tag_key(other)


def has_tag(tags: Iterable[str], tag: str) -> bool:
    """Whether `tags` hold `tag`, in any case (`same_tag`)."""
    return any(same_tag(t, tag) for t in tags)


# --- the tags Clout writes ---------------------------------------------------------------------

DEFAULT_ATTENTION_TAG = "clout-attention"
TAG_PREFIX = "clout-"
# What influence adds to a case: once shown on an open case, kept until it is resolved.
INFLUENCE_TAGS = frozenset({"clout-influence-high", "clout-hidden-influencer", "clout-contagion"})
# Every tag the attention policy can write besides the store's attention tag. Only these (and
# the attention tag) are Clout's to take off again: a store's own tags may start with `clout-`
# too — the customer's opt-out (`clout-opt-out`), a merchant's `clout-club` — and are not
# Clout's. The default attention tag is among them: an install that renamed it with
# CLOUT_ATTENTION_TAG (no store setting, so no retired tag) still has cases carrying it.
WRITTEN_TAGS = frozenset(
    {
        DEFAULT_ATTENTION_TAG,
        *INFLUENCE_TAGS,
        *(f"{TAG_PREFIX}priority-{p}" for p in Priority),
        *(f"{TAG_PREFIX}reason-{k}" for k in SignalKind),
        f"{TAG_PREFIX}overdue",
    }
)
_WRITTEN_KEYS = frozenset(same_tag_key(t) for t in WRITTEN_TAGS)


def is_clout_tag(tag: str, attention_tag: str) -> bool:
    """One of the tags Clout writes, in any case: Shopify keeps a tag in the case it was
    first given (`CLOUT-ATTENTION` typed before Clout's `clout-attention` stays so)."""
    return same_tag(tag, attention_tag) or same_tag_key(tag) in _WRITTEN_KEYS


def tags_clash(tags: Mapping[str, str], *, attention_key: str) -> str | None:
    """Why the attention, resolved and opt-out tags (`tags`: each by its setting's name,
    `attention_key` the attention tag's) cannot be used as Shopify will read them; None when
    they can. Each must be its own in any case of letters (`CLOUT-ATTENTION` is
    `clout-attention` to Shopify's search), and none a tag Clout adds and takes off as a case's
    priority, reasons and lateness change: as a store's tag, every open case would fill the
    urgent or overdue views, and a priority change would take the attention tag off with it."""
    if len({same_tag_key(tag) for tag in tags.values()}) != len(tags):
        return "the attention, resolved and opt-out tags must all differ (Shopify ignores case)"
    for key, tag in tags.items():
        if key == attention_key and same_tag(tag, DEFAULT_ATTENTION_TAG):
            continue
        if is_clout_tag(tag, DEFAULT_ATTENTION_TAG):
            return (
                f"{key}: {tag} is a tag Clout writes itself (clout-priority-*, clout-reason-*, "
                "clout-overdue, clout-influence-*, clout-hidden-influencer, clout-contagion, "
                "clout-attention); choose another name"
            )
    return None
