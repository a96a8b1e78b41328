"""One unreadable entry in a review platform's batch must not lose the others.

Trustpilot delivers reviews in an envelope (`{"events": [...]}`) of up to 100. An entry Clout
cannot use as a review — an event of a kind it does not read, with no review id — made
`record_review` raise a PermanentError, which failed the whole delivery: the 1★ complaint in
the same envelope was never read, and retrying it fails the same way."""

from __future__ import annotations

import copy

from flask import Flask
from sqlalchemy import select

from service.core.models import Incident, Shop
from tests.support.clout import process_delivery_now, record_delivery_now, state
from tests.support.helpers import fixture_json


def test_a_batch_with_one_unusable_entry_still_opens_the_complaints_case(
    app: Flask, review_shop: Shop
) -> None:
    # given Trustpilot's envelope: a 1★ complaint, and beside it an event that names no review
    envelope = fixture_json("reviews/trustpilot_service-review-created.json")
    complaint = copy.deepcopy(envelope["events"][0])
    complaint["eventData"].update(
        stars=1, title="Broken", text="It arrived broken and nobody answers. Refund me."
    )
    envelope["events"] = [
        complaint,
        {"eventName": "service-review-reply-created", "version": "1", "eventData": {}},
    ]

    # when a worker processes it
    status = process_delivery_now(
        app,
        record_delivery_now(app, topic="reviews/trustpilot", payload=envelope, source="trustpilot"),
    )

    # then the complaint is a case, whatever Clout made of the other entry
    with state(app).sessions() as session:
        cases = session.scalars(select(Incident)).all()
    assert status == "done"
    assert len(cases) == 1
