"""A Flow action run is acted on once, "however late" — a store's erasure included.

Flow signs the body alone and the signature never expires; the body names the shop, the run
and the customer, and carries no time. Clout remembers every run (`FlowRun`) so the same run
again changes nothing. `shop/redact` erases the store's rows, its run records with them; when
the merchant installs Clout again, the same customer (Shopify's ids do not change) complains
again, and a captured run of the old install is sent once more, it is a run Clout has never
seen: it closes the customer's new case, and the worker takes the attention tag off."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service import compliance
from service.agents.flow_action import HANDLE
from service.core.db import session_scope
from service.core.models import Incident, Shop
from tests.support.agents_page import BUSY_DAY, open_case
from tests.support.clout import connect_test_shop, state
from tests.support.helpers import SHOP, shopify_signature

URL = "/flow/actions/resolve-case"
MAYA = 9001  # BUSY_DAY's second case
RUN = "0a6b2c3d-4e5f-4a1b-9c8d-7e6f5a4b3c2d"


def flow_runs_the_action() -> bytes:
    body: dict[str, Any] = {
        "shop_id": "1",
        "shopify_domain": SHOP,
        "action_run_id": RUN,
        "action_definition_id": "Resolve the Clout case",
        "handle": HANDLE,
        "properties": {"customer_id": str(MAYA)},
    }
    return json.dumps(body).encode()


def send(client: FlaskClient, raw: bytes) -> Any:
    headers = {"Content-Type": "application/json", "X-Shopify-Hmac-Sha256": shopify_signature(raw)}
    return client.post(URL, data=raw, headers=headers)


def test_a_run_captured_before_the_store_was_erased_closes_nothing_after_a_reinstall(
    app: Flask, client: FlaskClient, shop: Shop
) -> None:
    # given a workflow run that resolved Maya's case, its signed request captured on the way
    maya = BUSY_DAY[1]
    open_case(app, SHOP, maya, number=1)
    captured = flow_runs_the_action()
    assert send(client, captured).json["outcome"] == "resolved"

    # and the store erased at Shopify's shop/redact, then Clout installed again
    with session_scope(state(app).sessions) as session:
        erased = session.scalars(select(Shop).where(Shop.domain == SHOP)).one()
        compliance.redact_shop(session=session, shop=erased)
    connect_test_shop(app)
    # and Maya unhappy again: a new open case
    new_case = open_case(app, SHOP, maya, number=1)

    # when the captured request is sent again
    answer = send(client, captured)

    # then it closes nothing: her new case is still open
    with session_scope(state(app).sessions) as session:
        case = session.get(Incident, new_case)
        assert case is not None
        assert (case.status, case.resolved_by) == ("open", None), answer.json
