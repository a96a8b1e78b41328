"""The attention floor: who gets which priority and deadline.

Severity sets the floor — a priority and a response deadline for every unhappy customer.
Influence (high clout, high Klout, unhappy people around them) can only raise the priority and
shorten the deadline. A low, unknown or opted-out profile changes nothing: it never lowers,
delays or drops the case.

Tags Clout writes (each at most 40 characters; the attention tag is configurable):

| tag | on | meaning |
|---|---|---|
| `clout-attention` | order, customer | an open case: this customer is unhappy |
| `clout-priority-urgent` / `-high` / `-normal` | order, customer | how soon to answer |
| `clout-reason-<kind>` | order | why: review, refund, dispute, return, delivery, |
| | | cancellation, note |
| `clout-influence-high` | order | a high clout or Klout score (either one) |
| `clout-hidden-influencer` | order | high clout, low or unknown Klout: the case follower |
| | | counts miss |
| `clout-contagion` | order | people connected to them are unhappy too |
| `clout-overdue` | order | the deadline passed without a resolution |

A person resolves a case by adding the resolved tag (`clout-resolved` by default) or removing
the attention tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

PRIORITIES = ("normal", "high", "urgent")  # lowest first
TAG_PREFIX = "clout-"
MAX_TAG_LENGTH = 40
HIGH_SCORE = 80.0  # a score at or above this is "high" (scores are percentile-like, 0–100)
LOW_SCORE = 30.0


@dataclass(frozen=True)
class Floor:
    priority: str
    hours: float


DEFAULT_FLOORS: Mapping[str, Floor] = {
    "critical": Floor("urgent", 4.0),
    "high": Floor("high", 24.0),
    "normal": Floor("normal", 48.0),
    "low": Floor("normal", 72.0),
}


def parse_floors(text: str | None) -> dict[str, Floor]:
    """`CLOUT_DEADLINE_HOURS`, e.g. "critical=4,high=24,normal=48,low=72" (hours per severity)."""
    floors = dict(DEFAULT_FLOORS)
    for part in (text or "").split(","):
        if not part.strip():
            continue
        severity, _, hours = part.partition("=")
        severity = severity.strip()
        if severity not in floors:
            raise ValueError(f"unknown severity {severity!r} in CLOUT_DEADLINE_HOURS")
        value = float(hours)
        if value <= 0:
            raise ValueError("deadlines must be positive")
        floors[severity] = Floor(floors[severity].priority, value)
    return floors


@dataclass(frozen=True)
class Influence:
    """What is known of the customer's influence. None means unknown, never zero."""

    clout: float | None = None
    klout: float | None = None
    contagion: int = 0  # connected customers who are unhappy now
    opted_out: bool = False
    reasons: tuple[str, ...] = ()

    @property
    def band(self) -> str:
        if self.opted_out:
            return "opted-out"
        known = [s for s in (self.clout, self.klout) if s is not None]
        if not known:
            return "unknown"
        top = max(known)
        return "high" if top >= HIGH_SCORE else ("medium" if top >= LOW_SCORE else "low")


UNKNOWN = Influence()


@dataclass(frozen=True)
class Decision:
    priority: str
    deadline_at: datetime
    tags: tuple[str, ...]
    reasons: tuple[str, ...]
    floor: Floor
    band: str
    raised_by: tuple[str, ...] = field(default=())


def _raise(priority: str, steps: int) -> str:
    return PRIORITIES[min(len(PRIORITIES) - 1, PRIORITIES.index(priority) + steps)]


def decide(
    *,
    severity: str,
    opened_at: datetime,
    influence: Influence | None,
    kinds: Iterable[str],
    attention_tag: str,
    floors: Mapping[str, Floor] = DEFAULT_FLOORS,
    escalations: int = 0,
    overdue: bool = False,
) -> Decision:
    """Priority, deadline and tags for an incident. The floor comes first; influence and
    escalation may only raise it."""
    floor = floors[severity]
    influence = influence or UNKNOWN
    raised_by: list[str] = []
    tags = [attention_tag]
    if not influence.opted_out:
        if (influence.clout or 0) >= HIGH_SCORE or (influence.klout or 0) >= HIGH_SCORE:
            raised_by.append("high influence")
            tags.append("clout-influence-high")
        if (influence.clout or 0) >= HIGH_SCORE and (
            influence.klout is None or influence.klout < LOW_SCORE
        ):
            tags.append("clout-hidden-influencer")
        if influence.contagion >= 2:
            raised_by.append(f"{influence.contagion} connected customers are unhappy too")
            tags.append("clout-contagion")
    steps = len(raised_by) + escalations
    priority = _raise(floor.priority, steps)
    # Each step halves the time left; nothing ever pushes the deadline past the floor's.
    hours = floor.hours * 0.5 ** len(raised_by)
    deadline = opened_at + timedelta(hours=min(hours, floor.hours))
    tags.append(f"clout-priority-{priority}")
    tags += sorted({f"clout-reason-{kind}" for kind in kinds})
    if overdue:
        tags.append("clout-overdue")
    checked = tuple(dict.fromkeys(t[:MAX_TAG_LENGTH] for t in tags))
    return Decision(
        priority=priority,
        deadline_at=deadline,
        tags=checked,
        reasons=tuple(influence.reasons),
        floor=floor,
        band=influence.band,
        raised_by=tuple(raised_by),
    )


def customer_tags(decision: Decision, attention_tag: str) -> tuple[str, ...]:
    """The customer carries the case and its priority, not the per-order reasons."""
    return (attention_tag, f"clout-priority-{decision.priority}")


def is_clout_tag(tag: str, attention_tag: str) -> bool:
    return tag == attention_tag or tag.startswith(TAG_PREFIX)
