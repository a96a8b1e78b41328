"""The "Unhappy customer detected" Flow trigger carries exactly the fields its extension declares
(extensions/unhappy-customer-detected/shopify.extension.toml), in the declared types."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.attention.attend import FLOW_TRIGGER_HANDLE, flow_trigger_payload
from service.attention.policy import Decision, decide
from service.core.vocabulary import Severity, SignalKind
from service.dev.devstore.schema import flow_payload_problems, flow_trigger_fields

EXTENSION = (
    Path(__file__).resolve().parents[3]
    / "extensions"
    / "unhappy-customer-detected"
    / "shopify.extension.toml"
)
OPENED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def declared() -> dict[str, str]:
    config = tomllib.loads(EXTENSION.read_text())
    [extension] = config["extensions"]
    assert extension["handle"] == FLOW_TRIGGER_HANDLE
    fields = flow_trigger_fields(FLOW_TRIGGER_HANDLE)
    assert fields is not None
    return fields


CUSTOMER = "gid://shopify/Customer/7003000000001"
ORDER = "gid://shopify/Order/7003000000002"


def a_decision() -> Decision:
    return decide(
        severity=Severity.HIGH,
        opened_at=OPENED,
        influence=None,
        kinds=[SignalKind.REFUND],
        attention_tag="clout-attention",
    )


@pytest.mark.parametrize(
    "influence",
    [{}, {"clout": 81.4, "klout": None, "band": "high"}, {"clout": 12, "klout": 64}],
    ids=["nothing-known", "clout-only", "both-known"],
)
def test_the_payload_has_every_declared_field_in_its_declared_type(
    influence: dict[str, object],
) -> None:
    payload = flow_trigger_payload(
        severity=Severity.HIGH,
        decision=a_decision(),
        influence=influence,
        customer_gid=CUSTOMER,
        order_gid=ORDER,
        sentences=["was refunded in full", "wrote: the box arrived\nempty"],
    )

    assert payload is not None
    assert flow_payload_problems(declared(), payload) == []
    assert payload["customer_id"] == 7003000000001
    assert payload["order_id"] == 7003000000002
    assert payload["reasons"] == "was refunded in full\nwrote: the box arrived empty"


def test_an_unknown_score_reads_unknown_never_a_number() -> None:
    payload = flow_trigger_payload(
        severity=Severity.HIGH,
        decision=a_decision(),
        influence={"clout": 81.4, "klout": None},
        customer_gid=CUSTOMER,
        order_gid=ORDER,
        sentences=[],
    )

    assert payload is not None
    assert (payload["clout_score"], payload["klout_score"]) == ("81", "unknown")


def test_a_case_with_nothing_in_shopify_sends_no_trigger() -> None:
    # a review by someone Shopify does not know, on no order
    payload = flow_trigger_payload(
        severity=Severity.HIGH,
        decision=a_decision(),
        influence={},
        customer_gid=None,
        order_gid=None,
        sentences=["left a one-star review"],
    )

    assert payload is None


def test_the_shape_clout_used_to_send_is_refused_as_flow_would() -> None:
    old = {
        "severity": "high",
        "priority": "high",
        "deadline": "2026-11-21T09:00:00Z",
        "influence_band": "unknown",
        "reasons": ["was refunded in full"],  # a list where text is declared
        "clout_score": None,  # null where a value is declared
        "klout_score": None,
        "customer_id": "gid://shopify/Customer/7003000000001",  # a GID, not the numeric id
    }

    problems = flow_payload_problems(declared(), old)

    assert any("'reasons' must be text" in p for p in problems)
    assert any("Missing field: 'clout_score'" in p for p in problems)
    assert any("'customer_id' must be the numeric id" in p for p in problems)
