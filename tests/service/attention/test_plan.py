"""Attendance's plan, decided without a database or Shopify: what each order and the customer
must carry, and what the metafields and the Flow trigger will say."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from service.attention.attend import Case, TagSettings, plan_attendance
from service.core.vocabulary import DEFAULT_FLOORS, Priority, Severity, SignalKind
from service.influence.scoring import Influence

OPENED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SETTINGS = TagSettings(
    attention_tag="clout-attention", resolved_tag="clout-resolved", floors=DEFAULT_FLOORS
)
MAYA = "gid://shopify/Customer/7004000000001"
FIRST, SECOND = "gid://shopify/Order/7004000000010", "gid://shopify/Order/7004000000011"


def a_case(**changes: object) -> Case:
    case = Case(
        incident_id=1,
        shop_id=1,
        shop_active=True,
        open=True,
        severity=Severity.HIGH,
        opened_at=OPENED,
        escalations=0,
        overdue=False,
        kinds=frozenset({SignalKind.REFUND, SignalKind.REVIEW}),
        signal_count=2,
        sentences=("was refunded in full", "left a one-star review"),
        influence=None,
        profile_fresh=False,
        order_gids=(FIRST, SECOND),
        customer_gid=MAYA,
        written={},
        flow_sent=False,
        drift_repairs=0,
        resolved_by=None,
    )
    return dataclasses.replace(case, **changes)  # type: ignore[arg-type]


def test_every_order_and_the_customer_carry_the_floor() -> None:
    plan = plan_attendance(case=a_case(), settings=SETTINGS)

    assert set(plan.targets) == {FIRST, SECOND, MAYA}
    for order in (FIRST, SECOND):
        assert {"clout-attention", "clout-priority-high", "clout-reason-refund"} <= set(
            plan.targets[order]
        )
    # the customer carries the case and its priority, not the per-order reasons
    assert plan.targets[MAYA] == ("clout-attention", "clout-priority-high")
    assert plan.decision.deadline_at == OPENED + timedelta(hours=24)


def test_an_unknown_influence_changes_nothing_and_says_unknown() -> None:
    plan = plan_attendance(case=a_case(influence=None), settings=SETTINGS)

    assert plan.decision.priority == Priority.HIGH
    assert plan.influence_snapshot["band"] == "unknown"
    assert plan.metafields is not None
    _, fields = plan.metafields
    assert "clout_score" not in fields  # unknown is left out, never written as zero
    assert plan.flow_payload is not None
    assert plan.flow_payload["clout_score"] == "unknown"


def test_high_influence_raises_the_priority_and_shortens_the_deadline() -> None:
    plan = plan_attendance(case=a_case(influence=Influence(clout=91.0)), settings=SETTINGS)

    assert plan.decision.priority == Priority.URGENT
    assert plan.decision.deadline_at == OPENED + timedelta(hours=12)
    assert "clout-hidden-influencer" in plan.targets[FIRST]


def test_a_guest_gets_the_order_tags_and_no_customer_writes() -> None:
    plan = plan_attendance(case=a_case(customer_gid=None), settings=SETTINGS)

    assert set(plan.targets) == {FIRST, SECOND}
    assert plan.metafields is None
    assert plan.flow_payload is not None
    assert "customer_id" not in plan.flow_payload
    assert plan.flow_payload["order_id"] == 7004000000010


def test_the_flow_trigger_is_planned_once() -> None:
    plan = plan_attendance(case=a_case(flow_sent=True), settings=SETTINGS)

    assert plan.flow_payload is None
