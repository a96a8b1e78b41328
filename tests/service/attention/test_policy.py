"""The attention floor, as a property: whatever is (or is not) known of the customer, every
unhappy customer gets the attention tag, a priority at least the floor's, and a deadline no
later than the floor's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.attention.policy import Decision, Held, decide
from service.core.vocabulary import (
    DEFAULT_FLOORS,
    INFLUENCE_TAGS,
    Severity,
    is_clout_tag,
    parse_floors,
)
from service.influence.scoring import Influence

SEVERITIES = sorted(DEFAULT_FLOORS)
KINDS = ["review", "refund", "dispute", "return", "delivery", "cancellation", "note"]
scores = st.one_of(st.none(), st.floats(min_value=0, max_value=100, allow_nan=False))
influences = st.one_of(
    st.none(),
    st.builds(
        Influence, clout=scores, klout=scores, contagion=st.integers(0, 20), opted_out=st.booleans()
    ),
)
moments = st.datetimes(
    # hypothesis takes naive bounds and adds the zone itself
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(
    severity=st.sampled_from(Severity),
    opened_at=moments,
    influence=influences,
    kinds=st.sets(st.sampled_from(KINDS), max_size=4),
    escalations=st.integers(0, 3),
    overdue=st.booleans(),
)
def test_the_floor_holds_for_any_profile(
    severity: str,
    opened_at: datetime,
    influence: Influence | None,
    kinds: set[str],
    escalations: int,
    overdue: bool,
) -> None:
    floor = DEFAULT_FLOORS[severity]

    decision = decide(
        severity=severity,
        opened_at=opened_at,
        influence=influence,
        kinds=kinds,
        attention_tag="clout-attention",
        escalations=escalations,
        overdue=overdue,
    )

    assert "clout-attention" in decision.tags
    assert decision.deadline_at <= opened_at + timedelta(hours=floor.hours)
    assert decision.priority.rank >= floor.priority.rank
    assert all(len(tag) <= 40 and "," not in tag for tag in decision.tags)
    assert f"clout-priority-{decision.priority}" in decision.tags
    # and each is one Clout knows as its own, to take off when the case closes
    assert all(is_clout_tag(tag, "clout-attention") for tag in decision.tags)


@given(severity=st.sampled_from(Severity), opened_at=moments, opted_out=st.booleans())
def test_unknown_and_opted_out_customers_get_exactly_the_floor(
    severity: str, opened_at: datetime, opted_out: bool
) -> None:
    floor = DEFAULT_FLOORS[severity]
    influence = (
        Influence(clout=99.0, klout=99.0, contagion=9, opted_out=True) if opted_out else None
    )

    decision = decide(
        severity=severity,
        opened_at=opened_at,
        influence=influence,
        kinds=[],
        attention_tag="clout-attention",
    )

    assert decision.priority == floor.priority
    assert decision.deadline_at == opened_at + timedelta(hours=floor.hours)
    assert decision.band == ("opted-out" if opted_out else "unknown")


def test_influence_only_raises_and_the_hidden_influencer_is_named() -> None:
    opened = datetime(2026, 11, 25, tzinfo=UTC)
    low = decide(
        severity="normal",
        opened_at=opened,
        influence=Influence(clout=5, klout=2),
        kinds=["review"],
        attention_tag="clout-attention",
    )
    mother = decide(
        severity="normal",
        opened_at=opened,
        influence=Influence(clout=92, klout=None),
        kinds=["review"],
        attention_tag="clout-attention",
    )
    influencer = decide(
        severity="normal",
        opened_at=opened,
        influence=Influence(clout=10, klout=95),
        kinds=["review"],
        attention_tag="clout-attention",
    )

    assert low.priority == "normal"
    assert low.deadline_at == opened + timedelta(hours=48)
    assert mother.priority == "high"
    assert mother.deadline_at == opened + timedelta(hours=24)
    assert "clout-hidden-influencer" in mother.tags
    assert "clout-hidden-influencer" not in influencer.tags
    assert "clout-influence-high" in influencer.tags


def test_deadlines_are_configurable_and_checked() -> None:
    assert parse_floors("critical=2,normal=30")["critical"].hours == 2
    with pytest.raises(ValueError, match="unknown severity"):
        parse_floors("urgent=1")
    with pytest.raises(ValueError, match="positive"):
        parse_floors("high=0")
    # a chargeback is never promised a later answer than a bad review
    with pytest.raises(ValueError, match=r"critical \(30 h\) is later than high \(24 h\)"):
        parse_floors("critical=30")


def held_from(decision: Decision) -> Held:
    """What an open case shows after a decision landed: what the next one must keep."""
    return Held(
        priority=decision.priority,
        deadline_at=decision.deadline_at,
        tags=frozenset(decision.tags),
        raised_by=decision.raised_by,
    )


def test_a_profile_recomputed_lower_does_not_demote_an_open_case() -> None:
    # given a case raised to urgent by a high clout score and two unhappy friends
    opened = datetime(2026, 11, 25, tzinfo=UTC)
    raised = decide(
        severity="high",
        opened_at=opened,
        influence=Influence(clout=95, klout=None, contagion=3),
        kinds=["refund"],
        attention_tag="clout-attention",
    )
    assert raised.priority == "urgent"

    # when the profile is recomputed and now reads low
    again = decide(
        severity="high",
        opened_at=opened,
        influence=Influence(clout=4, klout=3),
        kinds=["refund"],
        attention_tag="clout-attention",
        held=held_from(raised),
    )

    # then the agent still sees it urgent, as soon, and why it was raised
    assert again.priority == "urgent"
    assert "clout-priority-urgent" in again.tags
    assert "clout-priority-normal" not in again.tags
    assert again.deadline_at == raised.deadline_at
    assert {"clout-influence-high", "clout-contagion"} <= set(again.tags)
    assert set(raised.raised_by) <= set(again.raised_by)


@given(
    severity=st.sampled_from(Severity),
    opened_at=moments,
    steps=st.lists(st.tuples(influences, st.booleans()), min_size=1, max_size=12),
)
def test_within_an_open_case_nothing_falls_and_no_tag_flaps(
    severity: str, opened_at: datetime, steps: list[tuple[Influence | None, bool]]
) -> None:
    # given an open case attended again after each change of the customer's profile (and now
    # and then an escalation), each decision keeping what the last one showed
    shown: list[Decision] = []
    escalations = 0
    for influence, escalated in steps:
        escalations = min(3, escalations + escalated)
        shown.append(
            decide(
                severity=severity,
                opened_at=opened_at,
                influence=influence,
                kinds=["review"],
                attention_tag="clout-attention",
                escalations=escalations,
                overdue=escalations > 0,
                held=held_from(shown[-1]) if shown else None,
            )
        )

    # then priority never falls, the deadline never moves later, influence tags never leave,
    # and a tag that left never comes back (the priority tag moves up only)
    for before, after in pairwise(shown):
        assert after.priority.rank >= before.priority.rank
        assert after.deadline_at <= before.deadline_at
        assert set(before.tags) & INFLUENCE_TAGS <= set(after.tags)
    for tag in {tag for decision in shown for tag in decision.tags}:
        present = [tag in decision.tags for decision in shown]
        first, last = present.index(True), len(present) - 1 - present[::-1].index(True)
        assert all(present[first : last + 1]), f"{tag} flapped: {present}"
