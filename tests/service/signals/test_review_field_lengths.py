"""Review platforms' free text that is longer than the column Clout keeps it in.

A reviewer types their own name; a platform writes a rating as text ("1.0000000000000000"),
names an order or a review by an id of its own making. PostgreSQL refuses a value longer than
its `varchar(n)` (SQLite does not check): the review's delivery fails with a DataError, every
retry fails the same way, and the unhappy customer who wrote it never gets a case."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from service.core.models import Incident, Review, Shop
from tests.support.clout import process_delivery_now, record_delivery_now, state

COMPLAINT = "It arrived broken and nobody answers my emails. I want my money back."
CASES: dict[str, dict[str, Any]] = {
    # a name as a reviewer typed it into the review form: 300 characters
    "long reviewer name": {"name": "Maria " * 50},
    # a rating written with more digits than the 16 characters kept of it
    "rating with many digits": {"rating": "1.0000000000000000"},
    # a platform's own review id, past the 128 characters kept
    "long review id": {"id": "r" * 200},
    # an order reference that is no Shopify order (a platform's own, 150 characters)
    "long order reference": {"order": "ext-" + "9" * 146},
    # digits past any 64-bit Shopify order id: not an order Clout can tag, nor a row to make
    "order number past 64 bits": {"order": "9" * 80},
}


@pytest.mark.parametrize("fields", CASES.values(), ids=CASES.keys())
def test_a_one_star_review_with_an_oversize_field_still_opens_a_case(
    app: Flask, review_shop: Shop, fields: dict[str, Any]
) -> None:
    # given a 1★ complaint from a review platform with one field longer than Clout's column
    review = {
        "id": "r-1",
        "rating": 1,
        "body": COMPLAINT,
        "email": "maria@example.org",
        "name": "Maria",
        **fields,
    }

    # when a worker processes it
    delivery_id = record_delivery_now(
        app, topic="reviews/generic", payload=review, source="generic"
    )
    status = process_delivery_now(app, delivery_id)

    # then the review is kept, every value within its column (PostgreSQL refuses any longer),
    # and the customer has a case: the attention floor does not depend on a name's length
    assert status == "done"
    with state(app).sessions() as session:
        kept = session.scalars(select(Review)).one()
        cases = session.scalars(select(Incident)).all()
        for column in Review.__table__.columns:
            length = getattr(column.type, "length", None)
            value = getattr(kept, column.key)
            if length is not None and isinstance(value, str):
                assert len(value) <= length, (column.key, len(value), length)
    assert len(cases) == 1
