"""What the support desk taught the detector: closed cases' words, labelled, for the next
training run — and never a redacted customer's words."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.cli import main
from service.compliance import redact_customer
from service.core.db import session_scope
from service.core.models import Incident, Shop, utcnow
from service.signals.incidents import NOT_A_COMPLAINT, resolve_incident
from service.signals.labels import labelled_texts
from tests.support.clout import process_delivery_now, state
from tests.support.helpers import (
    SHOP,
    as_body,
    fixture_bytes,
    fixture_json,
    shopify_headers,
    signed_review,
)

NOTE = "Second time asking: where is my order??"


def an_order_with_a_note(number: int, customer_id: int, email: str) -> dict[str, Any]:
    order = fixture_json("shopify/orders_create.json")
    order_id = 7001000000100 + number - 1000
    order.update(
        id=order_id,
        admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
        name=f"#{number}",
        email=email,
        cancel_reason=None,
        cancelled_at=None,
        total_price="50.00",
        created_at="2026-11-10T10:00:00Z",
        updated_at="2026-11-10T10:00:00Z",
        fulfillments=[],
        note=NOTE,
        customer={"id": customer_id, "email": email, "first_name": "Ann", "last_name": "Lee"},
    )
    return order


def deliver(client: FlaskClient, app: Flask, *, path: str, body: bytes, **request: Any) -> None:
    response = client.post(path, data=body, **request)
    assert response.status_code == 200, response.json
    process_delivery_now(app, response.json["delivery_id"])


def deliver_order(client: FlaskClient, app: Flask, order: dict[str, Any]) -> None:
    """Shopify's orders/create for `order`, signed, taken and worked on."""
    body = as_body(order)
    deliver(
        client,
        app,
        path="/webhooks/shopify",
        body=body,
        headers=shopify_headers("orders/create", body),
    )


def export_labels(settings: dict[str, Any]) -> Any:
    """`clout text export-labels --shop SHOP`, as the merchant runs it."""
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    return CliRunner(env=env).invoke(main, ["text", "export-labels", "--shop", SHOP])


def two_closed_cases(client: FlaskClient, app: Flask) -> None:
    """An order note an agent closed as not a complaint, and a 2★ review resolved as one."""
    deliver_order(client, app, an_order_with_a_note(1020, 7001000000200, "ann@example.org"))
    review = fixture_bytes("reviews/generic_review.json")
    headers, query = signed_review("generic", review)
    deliver(
        client,
        app,
        path=f"/webhooks/reviews/generic/{SHOP}",
        body=review,
        headers=headers,
        query_string=query,
    )
    with session_scope(state(app).sessions) as session:
        note_case, review_case = session.scalars(select(Incident).order_by(Incident.id)).all()
        resolve_incident(
            session=session,
            incident=note_case,
            by="page:agent-1",
            now=utcnow(),
            resolution=NOT_A_COMPLAINT,
        )
        resolve_incident(session=session, incident=review_case, by="page:agent-1", now=utcnow())


def test_an_unknown_store_is_refused_with_a_clear_message(settings: dict[str, Any]) -> None:
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}

    result = CliRunner(env=env).invoke(
        main, ["text", "export-labels", "--shop", "nobody.myshopify.com"]
    )

    assert result.exit_code == 2
    assert "nobody.myshopify.com is not a store Clout knows" in result.output


def test_a_redacted_customers_words_are_never_exported(
    client: FlaskClient, app: Flask, review_shop: Shop
) -> None:
    # given two closed cases, then the note's writer asks to be forgotten
    two_closed_cases(client, app)
    with session_scope(state(app).sessions) as session:
        shop = session.get(Shop, review_shop.id)
        assert shop is not None
        redact_customer(
            session=session,
            shop=shop,
            customer_gid="gid://shopify/Customer/7001000000200",
            order_ids=[],
            now=utcnow(),
        )

    # when the labels are exported
    with session_scope(state(app).sessions) as session:
        exported = list(labelled_texts(session=session))

    # then only the other customer's review is there
    assert NOTE not in [e.text for e in exported]
    assert [e.source for e in exported] == ["review"]


def test_open_cases_are_not_labels(client: FlaskClient, app: Flask, review_shop: Shop) -> None:
    # given a complaint nobody has closed yet
    deliver_order(client, app, an_order_with_a_note(1021, 7001000000201, "bo@example.org"))

    # when the labels are exported, then there is nothing: no person has judged it
    with session_scope(state(app).sessions) as session:
        assert list(labelled_texts(session=session)) == []


def test_closed_cases_become_labelled_texts_for_the_next_training_run(
    client: FlaskClient, app: Flask, review_shop: Shop, settings: dict[str, Any]
) -> None:
    # given a note closed as "not a complaint" and a review resolved as a real one
    two_closed_cases(client, app)

    # when the merchant exports the labels
    result = export_labels(settings)

    # then each text carries the person's label, its stars and where it came from, and no
    # name or email
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["text"], x["complaint"], x["outcome"], x["source"]) for x in lines] == [
        (NOTE, False, "not_a_complaint", "order_note"),
        ("Meh Too small and the colour is wrong.", True, "resolved", "review"),
    ]
    assert lines[1]["stars"] == 1.44  # 2 on the platform's 10-point scale, as Clout stores it
    assert "example.org" not in result.stdout
    assert "Kim" not in result.stdout
    assert "2 labelled texts" in result.stderr


def test_clout_text_still_reads_standard_input(settings: dict[str, Any]) -> None:
    # given the detector's command, now also the home of export-labels
    # when a text is piped to it
    result = CliRunner().invoke(main, ["text"], input="Where is my order??\n")

    # then it still answers with one verdict a line
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["complaint"] is True


def test_exported_words_never_reach_the_terminal_as_controls(
    client: FlaskClient, app: Flask, shop: Shop, settings: dict[str, Any]
) -> None:
    # given a closed case whose note carries what a terminal obeys or a reader is fooled by:
    # a C1 control sequence (clear screen) and a right-to-left override
    order = an_order_with_a_note(1021, 7001000000201, "bo@example.org")
    order["note"] = "Where is my order?? \x9b2J \u202egnorw"
    deliver_order(client, app, order)
    with session_scope(state(app).sessions) as session:
        case = session.scalars(select(Incident)).one()
        resolve_incident(session=session, incident=case, by="page:agent-1", now=utcnow())

    # when the labels are exported to the operator's terminal
    result = export_labels(settings)

    # then they are written as JSON escapes, and read back as the customer wrote them
    assert result.exit_code == 0, result.output
    assert "\x9b" not in result.stdout
    assert "\u202e" not in result.stdout
    [line] = result.stdout.splitlines()
    assert json.loads(line)["text"] == order["note"]
