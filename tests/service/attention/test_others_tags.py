"""Clout takes off only the tags it writes. A store's own tags that happen to start with
`clout-` — the customer's opt-out (`clout-opt-out`, a privacy choice), a loyalty tag a merchant
named `clout-club` — are the store's, whatever Clout does to a case. Against the emulator over
HTTP, with a real Redis and database."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from tests.support.clout import (
    RunningDevStore,
    attend_now,
    chargeback,
    closed_by_an_agent,
    the_incident,
)


def test_attending_a_case_leaves_the_customers_opt_out_tag_in_shopify(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a customer who asked not to be profiled (the opt-out tag on them in Shopify),
    # and a chargeback on their order
    person, _ = chargeback(clout, devstore)
    person.tags = ["clout-opt-out"]
    incident_id = the_incident(clout)

    # when Clout attends the case (the floor, then the read-back)
    assert attend_now(clout, incident_id) == "attended"

    # then the customer carries the case's tags and still their opt-out
    assert "clout-attention" in person.tags
    assert "clout-opt-out" in person.tags


def test_closing_a_case_leaves_the_stores_own_clout_named_tags(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given an attended case on an order the merchant tagged `clout-club`, of a customer who
    # opted out
    person, order = chargeback(clout, devstore, tags=["clout-club"])
    incident_id = the_incident(clout)
    attend_now(clout, incident_id)
    person.tags = sorted({*person.tags, "clout-opt-out"})

    # when an agent resolves it
    assert closed_by_an_agent(clout, incident_id) == "cleared"

    # then Clout's open-case tags are gone, the store's own are where the merchant put them
    assert "clout-attention" not in order.tags
    assert "clout-resolved" in order.tags
    assert "clout-club" in order.tags
    assert "clout-opt-out" in person.tags


def test_closing_a_case_after_the_attention_tag_was_renamed_in_the_environment(
    make_app: Callable[..., Flask], clout: Flask, devstore: RunningDevStore
) -> None:
    # given a case attended under Clout's default attention tag, `clout-attention`
    person, order = chargeback(clout, devstore)
    incident_id = the_incident(clout)
    attend_now(clout, incident_id)
    assert "clout-attention" in order.tags

    # when the operator restarts Clout with CLOUT_ATTENTION_TAG=needs-care, and an agent
    # resolves the case
    renamed = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url, CLOUT_ATTENTION_TAG="needs-care")
    assert closed_by_an_agent(renamed, incident_id) == "cleared"

    # then no attention tag is left on the closed case's order or its customer, by either name
    assert "clout-attention" not in order.tags
    assert "clout-attention" not in person.tags
    assert "clout-resolved" in order.tags
