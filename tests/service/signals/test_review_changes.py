"""A review that opened a case, edited or deleted by the customer afterwards: the case stays
open (a person decides it is over, never the review's new words alone), and its trail says what
the customer did, so an agent reading "5★, very happy now" beside "never again" knows why."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from service.agents.desk import close_case
from service.core.db import session_scope
from service.core.models import Incident, IncidentEvent, Shop, utcnow
from service.core.vocabulary import IncidentStatus
from service.dev.devstore.webhooks import order_payload
from service.signals.labels import labelled_texts
from tests.support.clout import RunningDevStore, record_delivery_now, state, work_on

FIRST = {
    "id": "rv-1",
    "rating": 1,
    "title": "Never again",
    "body": "Broke after two days. Never again.",
    "email": "maya@example.org",
}


def review(app: Flask, **fields: Any) -> None:
    payload = {**FIRST, **fields}
    delivery = record_delivery_now(app, topic="reviews/generic", payload=payload, source="generic")
    assert work_on(app, delivery).status == "done"


def a_case_opened_by_a_bad_review(app: Flask, devstore: RunningDevStore) -> int:
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(maya)
    placed = record_delivery_now(
        app, topic="orders/create", payload=order_payload(devstore.store, order)
    )
    assert work_on(app, placed).status == "done"
    review(app)
    with session_scope(state(app).sessions) as session:
        return session.scalars(select(Incident.id)).one()


def trail_of(app: Flask, incident_id: int) -> list[tuple[str, dict[str, Any] | None]]:
    with session_scope(state(app).sessions) as session:
        return [
            (e.kind, e.detail)
            for e in session.scalars(
                select(IncidentEvent)
                .where(IncidentEvent.incident_id == incident_id)
                .order_by(IncidentEvent.id)
            )
        ]


def status_of(app: Flask, incident_id: int) -> str:
    with session_scope(state(app).sessions) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        return incident.status


def test_a_review_edited_to_praise_keeps_the_case_open_and_says_so_in_its_trail(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a case opened by Maya's one-star review
    case = a_case_opened_by_a_bad_review(clout, devstore)

    # when she edits it to five stars and praise, and the platform sends the edit twice
    for _ in range(2):
        review(
            clout,
            event="updated",
            rating=5,
            title="Sorted",
            body="Support replaced it quickly, very happy now.",
        )

    # then the case waits for a person, and its trail says once what she changed
    assert status_of(clout, case) == IncidentStatus.OPEN
    changes = [d for kind, d in trail_of(clout, case) if kind == "review_changed"]
    assert changes == [{"deleted": False, "stars": 5.0, "complaint": False}]


def test_a_deleted_review_is_said_in_the_cases_trail(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a case opened by Maya's one-star review
    case = a_case_opened_by_a_bad_review(clout, devstore)

    # when she deletes it (and the platform says so twice)
    for _ in range(2):
        review(clout, event="deleted")

    # then the case waits for a person, and its trail says once that the review is gone
    assert status_of(clout, case) == IncidentStatus.OPEN
    changes = [d for kind, d in trail_of(clout, case) if kind == "review_changed"]
    assert changes == [{"deleted": True, "stars": None, "complaint": False}]


def test_praise_a_review_was_edited_into_is_not_taught_as_a_complaint(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a case opened by Maya's one-star review, which she then edits into praise
    case = a_case_opened_by_a_bad_review(clout, devstore)
    review(
        clout,
        event="updated",
        rating=5,
        title="Sorted",
        body="Support replaced it quickly, very happy now.",
    )

    # when an agent resolves the case as the real complaint it was
    with session_scope(state(clout).sessions) as session:
        shop = session.scalars(select(Shop)).one()
        close_case(session=session, shop=shop, incident_id=case, by="page:agent-1", now=utcnow())

    # then `clout text export-labels` does not teach the detector that her praise is a
    # complaint: the case's signal now shows, and exports, the edited words ("Sorted Support
    # replaced it quickly, very happy now.", 5★, complaint true) under the sentences of the
    # original ("gave 1 star"), whose words ("Broke after two days. Never again.") are gone
    with session_scope(state(clout).sessions) as session:
        exported = [(t.text, t.stars, t.complaint) for t in labelled_texts(session=session)]
    assert not any("very happy now" in text and complaint for text, _, complaint in exported), (
        exported
    )
