"""Shopify's tags ignore case: `Clout-Resolved` typed by a person on an order is the resolved
tag to Shopify's search and saved views, and an order that carried `CLOUT-ATTENTION` before
Clout's `tagsAdd` of `clout-attention` keeps the tag as it was. Reading an `orders/updated`
against what Clout wrote (`attend._read_order_tags`, pure) must read them so too, as the
opt-out tag already is (`profiles.same_tag`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.attention.attend import TagSettings, _read_order_tags
from service.attention.policy import DEFAULT_FLOORS
from service.core.models import Incident
from service.core.vocabulary import IncidentStatus

ORDER = "gid://shopify/Order/1001"
WRITTEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = TagSettings(
    attention_tag="clout-attention", resolved_tag="clout-resolved", floors=DEFAULT_FLOORS
)


def an_open_case() -> Incident:
    return Incident(
        status=IncidentStatus.OPEN,
        tag_state={
            ORDER: {
                "tags": ["clout-attention", "clout-priority-high"],
                "written_at": WRITTEN.isoformat(),
                "in_step_at": WRITTEN.isoformat(),
            }
        },
    )


def test_the_resolved_tag_typed_in_another_case_closes_the_case() -> None:
    reading = _read_order_tags(
        incident=an_open_case(),
        gid=ORDER,
        present={"clout-attention", "clout-priority-high", "Clout-Resolved"},
        updated_at=WRITTEN + timedelta(minutes=5),
        settings=SETTINGS,
    )
    assert reading is not None
    assert reading.resolved_by == "resolved-tag"


def test_the_attention_tag_in_another_case_is_not_a_person_closing_the_case() -> None:
    reading = _read_order_tags(
        incident=an_open_case(),
        gid=ORDER,
        present={"CLOUT-ATTENTION", "clout-priority-high"},
        updated_at=WRITTEN + timedelta(minutes=5),
        settings=SETTINGS,
    )
    assert reading is None or reading.resolved_by is None
