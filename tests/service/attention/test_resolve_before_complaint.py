"""A person's resolve closes what they could have seen, not a complaint that came after it.

A person adds the resolved tag to an order in the Shopify admin; Shopify stamps the order's
`updated_at` and sends `orders/updated`. Webhooks are unordered and a busy queue runs minutes
behind, so a new complaint from the same customer (a second chargeback) can be recorded and
folded into the still-open case before that `orders/updated` is read. Reading it then closes
the whole case — the new chargeback with it — and Clout takes the attention tag off: a
complaint that arrived after the person's decision is closed without anyone having seen it.
Against the emulator over HTTP, with a real Redis and database."""

from __future__ import annotations

import httpx
from flask import Flask
from sqlalchemy import select

from service.core import db
from service.core.models import Incident, Signal
from service.core.vocabulary import IncidentStatus
from service.dev.devstore.webhooks import order_payload
from tests.support.clout import (
    RunningDevStore,
    attend_now,
    chargeback,
    process_delivery_now,
    record_delivery_now,
    state,
    the_incident,
    work_on,
)


def a_person_tags(devstore: RunningDevStore, gid: str, tag: str) -> None:
    """What the Shopify admin sends when a person adds a tag to an order."""
    answer = httpx.post(
        f"{devstore.url}/admin/api/2026-07/graphql.json",
        headers={"X-Shopify-Access-Token": devstore.token},
        json={
            "query": "mutation($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) "
            "{ userErrors { message } } }",
            "variables": {"id": gid, "tags": [tag]},
        },
        timeout=10,
    ).json()
    assert answer["data"]["tagsAdd"]["userErrors"] == []


def test_a_chargeback_after_the_resolved_tag_is_not_closed_by_it(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a customer's case, attended: the attention tag on their order in Shopify
    _, order = chargeback(clout, devstore)
    first_case = the_incident(clout)
    assert attend_now(clout, first_case) == "attended"
    assert "clout-attention" in order.tags

    # and a person resolving it in the Shopify admin: the resolved tag on the order, and the
    # orders/updated Shopify sends for it, still waiting in Clout's queue
    a_person_tags(devstore, order.gid, "clout-resolved")
    resolved_in_shopify = record_delivery_now(
        clout, topic="orders/updated", payload=order_payload(devstore.store, order)
    )

    # when the customer files a second chargeback, processed first (webhooks are unordered)
    second = record_delivery_now(
        clout,
        topic="disputes/create",
        payload={"id": 777, "order_id": order.id, "type": "chargeback"},
    )
    assert process_delivery_now(clout, second) == "done"
    # and then the person's orders/updated is read
    work_on(clout, resolved_in_shopify)

    # then the first case is closed as the person asked, but the chargeback that came after
    # their decision is still an open case, with the attention tag back on the order
    with db.session_scope(state(clout).sessions) as session:
        late = session.scalars(select(Signal).where(Signal.source_ref.contains("777"))).one()
        case = session.get(Incident, late.incident_id)
        assert case is not None
        assert case.status == IncidentStatus.OPEN, (case.id, case.status, case.resolved_by)
        case_id = case.id
        closed = session.get(Incident, first_case)
        assert closed is not None
        assert (closed.status, closed.resolved_by) == (IncidentStatus.RESOLVED, "resolved-tag")
        assert case_id != first_case
    attend_now(clout, case_id)
    assert "clout-attention" in order.tags
    assert "clout-resolved" not in order.tags
