"""An order Shopify will not tag must not look like one that carries the attention tag.

Shopify caps the tags a record may carry (the emulator: 250 on an order, as on a customer),
and stores whose apps tag everything reach it.
Clout's `tagsAdd` on such an order is refused ("Too many tags"); the customer still takes the
tag, and the case then counts as tagged: "in Shopify: tagged", nothing pending, and
`clout doctor` and the agents' page say nothing is wrong — while the order with the chargeback
is missing from every order view filtered by the attention tag. Against the emulator over HTTP,
with a real Redis and database."""

from __future__ import annotations

from flask import Flask

from service.attention.health import tags_not_in_shopify
from service.attention.pending import pending_ids
from service.core import db
from service.core.models import Incident
from service.dev.devstore.webhooks import order_payload
from tests.support.clout import (
    RunningDevStore,
    attend_now,
    chargeback,
    record_delivery_now,
    state,
    the_incident,
    work_on,
)


def test_an_order_that_refused_the_attention_tag_is_reported(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback on an order that already carries Shopify's 250 tags
    person, order = chargeback(clout, devstore, tags=[f"app-{i}" for i in range(250)])
    incident_id = the_incident(clout)

    # when Clout attends the case
    attend_now(clout, incident_id)

    # then the order has no attention tag (Shopify refused it), the customer has
    assert "clout-attention" not in order.tags
    assert "clout-attention" in person.tags
    # and that is said where people look: pending, or a refusal doctor and the page report
    with db.session_scope(state(clout).sessions) as session:
        shop_id = session.get(Incident, incident_id).shop_id  # type: ignore[union-attr]
        reported = tags_not_in_shopify(session=session, shop_id=shop_id)
        pending = pending_ids(session=session, shop_id=shop_id)
    assert incident_id in pending or (reported is not None and incident_id in reported.refused)


def test_once_the_store_makes_room_the_order_gets_the_tag_and_the_case_is_tagged(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a case whose order Shopify refused the attention tag (250 tags already)
    _, order = chargeback(clout, devstore, tags=[f"app-{i}" for i in range(250)])
    incident_id = the_incident(clout)
    attend_now(clout, incident_id)
    assert "clout-attention" not in order.tags

    # when a person takes some of the order's tags off in the Shopify admin, and the
    # orders/updated Shopify sends for it is read
    order.tags = [t for t in order.tags if t not in {f"app-{i}" for i in range(10)}]
    work_on(
        clout,
        record_delivery_now(
            clout, topic="orders/updated", payload=order_payload(devstore.store, order)
        ),
    )

    # then Clout tries again: the order carries the attention tag, and the case is tagged
    assert "clout-attention" in order.tags
    with db.session_scope(state(clout).sessions) as session:
        shop_id = session.get(Incident, incident_id).shop_id  # type: ignore[union-attr]
        assert incident_id not in pending_ids(session=session, shop_id=shop_id)
