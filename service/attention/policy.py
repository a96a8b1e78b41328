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

Within an open case nothing falls: a profile recomputed lower (a score that moved, a klout that
became known) may raise the case, never lower its priority, push its deadline back or take off
an influence tag an agent has already seen (`Held`). Only resolving the case ends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from service.core.vocabulary import (
    DEFAULT_FLOORS,
    INFLUENCE_TAGS,
    Floor,
    InfluenceBand,
    Priority,
    Severity,
    SignalKind,
)
from service.influence.scoring import HIGH_SCORE, LOW_SCORE, UNKNOWN, Influence

MAX_TAG_LENGTH = 40


@dataclass(frozen=True)
class Held:
    """What an open case already shows, which a new decision may add to but never take back:
    its priority, its deadline, the influence tags on its orders and why it was raised."""

    priority: Priority | None = None
    deadline_at: datetime | None = None
    tags: frozenset[str] = frozenset()
    raised_by: tuple[str, ...] = ()
    # The severity its last decision was made for (None: not known, an older record).
    severity: Severity | None = None


@dataclass(frozen=True)
class Decision:
    priority: Priority
    deadline_at: datetime
    tags: tuple[str, ...]
    reasons: tuple[str, ...]
    floor: Floor
    band: InfluenceBand
    raised_by: tuple[str, ...] = field(default=())


def decide(
    *,
    severity: Severity,
    opened_at: datetime,
    influence: Influence | None,
    kinds: Iterable[SignalKind],
    attention_tag: str,
    floors: Mapping[Severity, Floor] = DEFAULT_FLOORS,
    escalations: int = 0,
    overdue: bool = False,
    held: Held | None = None,
) -> Decision:
    """Priority, deadline and tags for an incident. The floor comes first; influence and
    escalation may only raise it; what the open case already shows (`held`) stays."""
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
    priority = floor.priority.raised(steps)
    # Each step halves the time left; nothing ever pushes the deadline past the floor's.
    hours = floor.hours * 0.5 ** len(raised_by)
    deadline = opened_at + timedelta(hours=min(hours, floor.hours))
    if held is not None:
        # An agent saw this case raised: a lower profile now must not quietly demote it.
        if held.priority is not None and held.priority.rank > priority.rank:
            priority = held.priority
        if held.deadline_at is not None:
            # An escalated case is on the deadline its escalation gave it: the one counted
            # from its opening has passed, and taking it back would have the next minute's
            # escalation come at once, with another notice. Unless the case grew worse since
            # (a chargeback on a late cancellation): the worse severity's floor counts, as it
            # does for a case never escalated, and the beat escalates it at once.
            kept = escalations and held.severity in (None, severity)
            deadline = held.deadline_at if kept else min(deadline, held.deadline_at)
        tags += sorted(held.tags & INFLUENCE_TAGS - set(tags))
        raised_by += [reason for reason in held.raised_by if reason not in raised_by]
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
