"""The Shopify Flow action "Resolve the Clout case" over HTTP: only a body Shopify signed is
acted on; a merchant's workflow closes the customer's case through the desk, recorded as the
workflow's run; a retry changes nothing; and the endpoint reads exactly the fields the extension
declares (extensions/resolve-clout-case/shopify.extension.toml)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.agents.flow_action import HANDLE, FlowActionInvalid, read_flow_action
from service.core.audit import case_events
from service.core.db import session_scope
from service.core.models import Incident, Shop
from tests.support.agents_page import BUSY_DAY, complains_again, open_case
from tests.support.clout import state
from tests.support.helpers import SHOP, shopify_signature

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "extensions" / "resolve-clout-case" / "shopify.extension.toml"
URL = "/flow/actions/resolve-case"
MAYA = 9001  # BUSY_DAY's second case
RUN = "0a6b2c3d-4e5f-4a1b-9c8d-7e6f5a4b3c2d"


def action(**properties: Any) -> dict[str, Any]:
    """The body Flow sends when a workflow runs the action (shopify.dev, Flow action endpoints)."""
    return {
        "shop_id": "1",
        "shopify_domain": SHOP,
        "action_run_id": RUN,
        "action_definition_id": "Resolve the Clout case",
        "handle": HANDLE,
        "properties": {"customer_id": str(MAYA), **properties},
    }


def send(client: FlaskClient, body: dict[str, Any] | bytes, *, signature: str | None = None) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    headers["X-Shopify-Hmac-Sha256"] = shopify_signature(raw) if signature is None else signature
    return client.post(URL, data=raw, headers=headers)


@pytest.fixture
def busy(app: Flask, shop: Shop) -> dict[str, int]:
    return {case.name: open_case(app, SHOP, case, number=n) for n, case in enumerate(BUSY_DAY)}


def status_of(app: Flask, incident_id: int) -> tuple[str, str | None]:
    with session_scope(state(app).sessions) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        return incident.status, incident.resolved_by


# --- bad input first --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    ["", "not base64!", shopify_signature(b"another body"), shopify_signature(b"{}", "wrong")],
)
def test_an_unsigned_or_forged_request_closes_nothing(
    app: Flask, client: FlaskClient, busy: dict[str, int], signature: str
) -> None:
    # given Maya's open case
    # when a request Shopify did not sign asks to resolve it
    answer = send(client, action(), signature=signature)
    # then it is refused and the case stays open
    assert answer.status_code == 401
    assert status_of(app, busy["Maya Ortiz"]) == ("open", None)


def test_a_body_changed_after_signing_is_refused(
    app: Flask, client: FlaskClient, busy: dict[str, int]
) -> None:
    raw = json.dumps(action()).encode()
    signature = shopify_signature(raw)
    answer = send(client, raw.replace(b"9001", b"9002"), signature=signature)
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"handle": "some-other-action"}, "handle must be resolve-clout-case"),
        ({"shopify_domain": "evil.example"}, "shopify_domain must be a *.myshopify.com domain"),
        ({"action_run_id": "../../x"}, "action_run_id is missing or not Flow's"),
        ({"properties": []}, "properties must be an object"),
        ({"properties": {"customer_id": "Maya"}}, "properties.customer_id must name a customer"),
        ({"properties": {"customer_id": True}}, "properties.customer_id must name a customer"),
        ({"properties": {"customer_id": "1", "note": 3}}, "properties.note must be text"),
        (
            {"properties": {"customer_id": "1", "not_a_complaint": "yes"}},
            "properties.not_a_complaint must be true or false",
        ),
    ],
)
def test_a_signed_body_that_is_not_the_action_is_a_clear_400(
    client: FlaskClient, busy: dict[str, int], change: dict[str, Any], problem: str
) -> None:
    answer = send(client, action() | change)
    assert (answer.status_code, answer.json["detail"]) == (400, problem)


def test_a_signed_body_that_is_not_json_is_a_400(client: FlaskClient, shop: Shop) -> None:
    assert send(client, b"\xff\xfe not json").status_code == 400


def test_a_shop_clout_is_not_connected_to_is_a_404(client: FlaskClient, shop: Shop) -> None:
    answer = send(client, action() | {"shopify_domain": "stranger.myshopify.com"})
    assert (answer.status_code, answer.json["outcome"]) == (404, "shop_not_connected")


@pytest.mark.parametrize(
    "note",
    [
        "x" * 2_001,  # too long for the trail
        "Refunded.\x00",  # PostgreSQL cannot store it: a 503, and Flow retried it for ever
        "\ud800 refunded",  # no driver can encode it: a 500
    ],
)
def test_a_note_the_trail_cannot_hold_is_refused_and_closes_nothing(
    app: Flask, client: FlaskClient, busy: dict[str, int], note: str
) -> None:
    answer = send(client, action(note=note))
    assert answer.status_code == 400
    assert status_of(app, busy["Maya Ortiz"]) == ("open", None)


# --- the action -------------------------------------------------------------------------------


def test_a_workflow_resolves_the_customers_case_through_the_desk(
    app: Flask, client: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya's open case
    # when a merchant's workflow runs "Resolve the Clout case" on her, with a note
    answer = send(client, action(note="Refund issued by the returns workflow."))

    # then her case is resolved, recorded as that workflow run, with the note
    assert answer.status_code == 200
    assert answer.json == {"outcome": "resolved", "id": busy["Maya Ortiz"]}
    status, by = status_of(app, busy["Maya Ortiz"])
    assert status == "resolved"
    assert by == f"flow:{RUN}"[:32]
    with session_scope(state(app).sessions) as session:
        events = case_events(session=session, incident_ids=[busy["Maya Ortiz"]])
        resolved = [(e.by, e.detail) for e in events[busy["Maya Ortiz"]] if e.kind == "resolved"]
    assert resolved == [(f"flow:{RUN}", {"note": "Refund issued by the returns workflow."})]
    # and the worker is asked to bring Shopify in step (the flag is the record of it)
    with session_scope(state(app).sessions) as session:
        assert session.get(Incident, busy["Maya Ortiz"]).needs_attention is True  # type: ignore[union-attr]


def test_flow_retrying_the_same_run_changes_nothing(
    app: Flask, client: FlaskClient, busy: dict[str, int]
) -> None:
    first = send(client, action())
    again = send(client, action())
    assert (first.json["outcome"], again.json["outcome"]) == ("resolved", "already_closed")
    with session_scope(state(app).sessions) as session:
        events = case_events(session=session, incident_ids=[busy["Maya Ortiz"]])
    assert [e.kind for e in events[busy["Maya Ortiz"]]].count("resolved") == 1


@pytest.mark.parametrize("first_answer", ["resolved", "already_closed", "no_case"])
def test_replaying_a_run_after_the_customer_complains_again_closes_nothing_new(
    app: Flask, client: FlaskClient, shop: Shop, first_answer: str
) -> None:
    # given a run that resolved Maya's case, found it closed already (an agent was first), or
    # found no case at all; and a new complaint from her since
    if first_answer != "no_case":
        busy = {c.name: open_case(app, SHOP, c, number=n) for n, c in enumerate(BUSY_DAY)}
    if first_answer == "already_closed":
        assert send(client, action() | {"action_run_id": "agent-was-first"}).status_code == 200
    answer = send(client, action())
    assert answer.json["outcome"] == first_answer
    if first_answer == "no_case":  # her first case opens after the run
        busy = {c.name: open_case(app, SHOP, c, number=n) for n, c in enumerate(BUSY_DAY)}
        new_case = busy["Maya Ortiz"]
    else:
        new_case = complains_again(app, SHOP, "Maya", ref="dispute-after-the-run")

    # when the same signed request comes again (Flow retrying late, or someone replaying it)
    again = send(client, action())

    # then it gets the first answer again, and the new case stays open
    assert again.json == (
        {"outcome": "no_case"}
        if first_answer == "no_case"
        else {"outcome": "already_closed", "id": busy["Maya Ortiz"]}
    )
    assert status_of(app, new_case) == ("open", None)


def test_a_customer_without_a_case_is_nothing_to_do_not_a_failure(
    client: FlaskClient, busy: dict[str, int]
) -> None:
    answer = send(client, action() | {"properties": {"customer_id": "123456"}})
    assert (answer.status_code, answer.json["outcome"]) == (200, "no_case")


def test_a_workflow_can_close_a_case_as_never_a_complaint(
    app: Flask, client: FlaskClient, busy: dict[str, int]
) -> None:
    answer = send(client, action(not_a_complaint=True))
    assert answer.json["outcome"] == "not_a_complaint"
    with session_scope(state(app).sessions) as session:
        incident = session.get(Incident, busy["Maya Ortiz"])
        assert incident is not None
        assert incident.resolution == "not_a_complaint"


# --- the extension and the endpoint agree ----------------------------------------------------


def test_the_extension_declares_what_the_endpoint_reads() -> None:
    # given the Flow action extension Shopify deploys
    declared = tomllib.loads(EXTENSION.read_text())
    [extension] = declared["extensions"]
    fields = declared["settings"]["fields"]

    # then it is the action this endpoint answers, at this endpoint's path
    assert (extension["type"], extension["handle"]) == ("flow_action", HANDLE)
    assert len(extension["handle"]) <= 30
    assert urlsplit(extension["runtime_url"]).path == URL
    # and every field it sends is one the endpoint reads, under the name Flow sends it by
    # (a customer_reference arrives as properties.customer_id)
    sent = {f.get("key") or f"{f['type'].removesuffix('_reference')}_id" for f in fields}
    assert sent == {"customer_id", "note", "not_a_complaint"}
    example = {
        "customer_id": "1",
        "note": "text",
        "not_a_complaint": False,
    }
    assert read_flow_action(action() | {"properties": example}).customer_gid.endswith("/1")
    # in types Flow actions take (Shopify CLI's list: services/flow/constants.ts)
    assert {f["type"] for f in fields} <= {
        "customer_reference",
        "boolean",
        "email",
        "multi_line_text_field",
        "number_integer",
        "number_decimal",
        "single_line_text_field",
        "url",
    }
    required = [f for f in fields if f.get("required")]
    assert [f["type"] for f in required] == ["customer_reference"]
    with pytest.raises(FlowActionInvalid):
        read_flow_action(action() | {"properties": {"note": "no customer"}})
