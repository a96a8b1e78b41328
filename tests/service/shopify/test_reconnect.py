"""A store that uninstalled Clout and came back: what Clout could not write while it was away
reaches Shopify once it is connected again."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from service.core.db import session_scope
from service.core.models import Incident, Shop, utcnow
from service.shopify.shops import mark_uninstalled
from tests.support.clout import (
    RunningDevStore,
    attend_now,
    chargeback,
    closed_by_an_agent,
    connect_test_shop,
    state,
    the_incident,
)


def test_a_case_closed_while_the_store_was_away_is_cleared_in_shopify_once_it_is_back(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback tagged in Shopify, then the merchant uninstalling Clout
    _, order = chargeback(clout, devstore)
    incident_id = the_incident(clout)
    assert attend_now(clout, incident_id) == "attended"
    sessions = state(clout).sessions
    with session_scope(sessions) as session:
        mark_uninstalled(session=session, shop=session.scalars(select(Shop)).one(), now=utcnow())

    # when an agent closes the case meanwhile (nothing of it can reach Shopify), and the
    # merchant connects the store again
    assert closed_by_an_agent(clout, incident_id) == "shop-inactive"
    connect_test_shop(clout, access_token=devstore.token)

    # then the case is owed to Shopify again, and its attendance leaves the order as a close does
    with sessions() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        assert incident.needs_attention is True
    assert attend_now(clout, incident_id) == "cleared"
    tags = devstore.store.orders[order.id].tags
    assert "clout-resolved" in tags
    assert "clout-attention" not in tags
