"""The support desk on the agents' page over HTTP: the case in full (the customer's own words,
the trail), search, counts that follow the filters, pages, and the desk's actions — resolve
with a note, not a complaint, assign, snooze, bulk — each keeping the attention floor."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from service.agents.desk import CaseStateRefused, reopen_case
from service.core.db import session_scope
from service.core.models import Customer, Incident, Review, Shop, utcnow
from service.core.vocabulary import Severity, SignalKind
from service.signals.incidents import SignalDraft, raise_signal
from tests.support.agents_page import (
    BUSY_DAY,
    Case,
    add_agent,
    complains_again,
    connect_shop,
    log_in,
    open_case,
    page_csrf,
)
from tests.support.clout import state
from tests.support.helpers import SHOP


@pytest.fixture
def busy(app: Flask, shop: Shop) -> dict[str, int]:
    ids = {case.name: open_case(app, SHOP, case, number=n) for n, case in enumerate(BUSY_DAY)}
    add_agent(app, "agent@example.org", SHOP)
    return ids


@pytest.fixture
def agent(app: Flask, busy: dict[str, int]) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, "agent@example.org").status_code == 302
    return client


def names(answer: Any) -> list[str]:
    return [entry["customer"]["name"] for entry in answer.json["incidents"]]


def said(answer: Any) -> str:
    """What the page tells the agent of a refusal: the desk's sentence, or Clout's own."""
    return str(answer.json.get("detail") or answer.json["outcome"])


def act(agent: FlaskClient, path: str, body: Any = None) -> Any:
    return agent.post(f"/agents/api/{path}", json=body, headers={"X-CSRF-Token": page_csrf(agent)})


# --- bad input first -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"page": "0"}, "page starts at 1"),
        ({"per_page": "1000"}, "per_page is 1 to 100"),
        ({"page": "٣"}, "page must be a whole number"),
        ({"q": "x" * 101}, "search is at most 100"),
        ({"q": "Maya\x00"}, "search cannot hold NUL"),  # PostgreSQL refuses it in a query
        ({"assigned": "everyone"}, "assigned must be one of"),
        ({"snoozed": "maybe"}, "snoozed must be true or false"),
    ],
)
def test_a_query_the_queue_cannot_read_is_a_clear_400(
    agent: FlaskClient, query: dict[str, str], problem: str
) -> None:
    answer = agent.get("/agents/api/queue", query_string=query)

    assert answer.status_code == 400
    assert problem in answer.json["outcome"]


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        ("resolve", {"note": 5}, "note must be text"),
        ("resolve", {"note": "x" * 2001}, "at most 2000"),
        # neither can be stored: PostgreSQL refuses NUL, no driver encodes a lone surrogate
        ("resolve", {"note": "Refunded.\x00"}, "cannot hold NUL"),
        ("not-a-complaint", {"note": "\ud800 a joke"}, "unpaired surrogates"),
        ("resolve", ["not", "an", "object"], "JSON object"),
        ("snooze", {"hours": -1}, "within the next 14 days"),
        ("snooze", {"hours": 24 * 15}, "within the next 14 days"),
        ("snooze", {"hours": "soon"}, "hours must be a number"),
        ("snooze", {"hours": 1e300}, "within the next 14 days"),  # no overflow, no 500
        ("assign", {"to": "someone-else"}, 'to must be "me"'),
    ],
)
def test_a_desk_action_it_cannot_take_is_refused_and_changes_nothing(
    agent: FlaskClient, busy: dict[str, int], path: str, body: Any, problem: str
) -> None:
    answer = act(agent, f"incidents/{busy['Sam Lee']}/{path}", body)

    assert answer.status_code == 400
    assert problem in said(answer)
    assert "Sam Lee" in names(agent.get("/agents/api/queue"))
    case = agent.get(f"/agents/api/incidents/{busy['Sam Lee']}").json
    assert case["status"] == "open"
    assert case["assigned_to"] is None
    assert [e["what"] for e in case["trail"]] == ["signal"]


def test_bulk_refuses_ids_that_are_not_ids_and_an_unknown_action(
    agent: FlaskClient, busy: dict[str, int]
) -> None:
    bad_ids = act(agent, "incidents/bulk", {"action": "resolve", "ids": ["1", True]})
    bad_action = act(agent, "incidents/bulk", {"action": "delete", "ids": [busy["Sam Lee"]]})
    none = act(agent, "incidents/bulk", {"action": "resolve", "ids": []})

    assert (bad_ids.status_code, bad_action.status_code, none.status_code) == (400, 400, 400)
    assert len(names(agent.get("/agents/api/queue"))) == len(busy)


# --- the case in full ----------------------------------------------------------------------


def test_the_case_shows_the_customers_own_review_words_stars_and_platform(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given Ivy's case also holds a 1-star Judge.me review in her own words
    now = utcnow()
    with session_scope(state(app).sessions) as session:
        incident = session.get(Incident, busy["Ivy Chen"])
        assert incident is not None
        shop = session.get(Shop, incident.shop_id)
        assert shop is not None
        customer = incident.customer_id
        session.add(
            Review(
                shop_id=shop.id,
                provider="judgeme",
                platform_review_id="r-77",
                rating=Decimal("1"),
                title="Cracked on arrival",
                body="The mug was in pieces. Second time this happened.",
                product_title="Stoneware mug",
                customer_id=customer,
            )
        )
        ivy = session.get(Customer, customer)
        assert ivy is not None
        raise_signal(
            session=session,
            shop=shop,
            customer=ivy,
            order=None,
            draft=SignalDraft(
                kind=SignalKind.REVIEW,
                reason="low_rating",
                severity=Severity.HIGH,
                sentences=("left a 1-star review", "said the mug arrived broken"),
                source="judgeme",
                source_ref="review:r-77",
                occurred_at=now - timedelta(minutes=5),
                extra={"stars": 1.0},
            ),
            now=now,
        )

    # when the agent opens the case
    case = agent.get(f"/agents/api/incidents/{busy['Ivy Chen']}").json

    # then the review is there as she wrote it, each sentence kept apart
    review = next(
        item
        for item in case["timeline"]
        if item["kind"] == "review" and item["words"].get("platform")
    )
    assert review["words"] == {
        "source": "judgeme",
        "platform": "judgeme",
        "stars": 1.0,
        "title": "Cracked on arrival",
        "text": "The mug was in pieces. Second time this happened.",
        "product": "Stoneware mug",
    }
    assert review["sentences"] == ["left a 1-star review", "said the mug arrived broken"]
    assert case["customer"]["email"] == "ivy@example.org"
    assert case["orders"][0]["total"] == "84.50"
    assert [e["what"] for e in case["trail"]] == ["signal", "signal"]


def test_another_shops_case_is_not_found(app: Flask, agent: FlaskClient) -> None:
    connect_shop(app, "other-shop.myshopify.com")
    theirs = open_case(
        app, "other-shop.myshopify.com", Case("Zoe Other", "refund", "high", "high", 5), number=9
    )

    assert agent.get(f"/agents/api/incidents/{theirs}").status_code == 404
    assert act(agent, f"incidents/{theirs}/resolve").status_code == 404


# --- finding cases ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("maya", ["Maya Ortiz"]),
        ("IVY@EXAMPLE", ["Ivy Chen"]),
        ("#1002", ["Sam Lee"]),
        ("100%", []),  # a wildcard typed is a character searched for
        ("nobody-like-this", []),
    ],
)
def test_search_finds_cases_by_name_email_or_order(
    agent: FlaskClient, q: str, expected: list[str]
) -> None:
    assert names(agent.get("/agents/api/queue", query_string={"q": q})) == expected


def test_counts_follow_the_filters_and_an_empty_queue_says_why(agent: FlaskClient) -> None:
    everyone = agent.get("/agents/api/queue").json
    urgent = agent.get("/agents/api/queue", query_string={"priority": "urgent"}).json
    nobody = agent.get("/agents/api/queue", query_string={"q": "nobody-like-this"}).json

    assert everyone["counts"] == {"matching": 4, "overdue": 1, "snoozed": 0, "open": 4}
    assert everyone["filtered"] is False
    assert urgent["counts"] == {"matching": 2, "overdue": 1, "snoozed": 0, "open": 4}
    assert urgent["filtered"] is True
    assert nobody["counts"]["matching"] == 0
    assert nobody["filtered"] is True


def test_pages_split_the_queue_without_losing_or_repeating_a_case(agent: FlaskClient) -> None:
    pages = [
        names(agent.get("/agents/api/queue", query_string={"per_page": 3, "page": p}))
        for p in (1, 2, 3)
    ]

    assert pages == [["Maya Ortiz", "Ada Park", "Ivy Chen"], ["Sam Lee"], []]


# --- the desk's actions -------------------------------------------------------------------


def test_resolving_with_a_note_records_who_and_when_and_lists_it_as_resolved(
    agent: FlaskClient, busy: dict[str, int]
) -> None:
    done = act(agent, f"incidents/{busy['Maya Ortiz']}/resolve", {"note": "Refunded in full."})
    again = act(agent, f"incidents/{busy['Maya Ortiz']}/resolve", {"note": "twice"})

    assert done.status_code == 200
    assert again.status_code == 200  # a second click changes nothing
    case = agent.get(f"/agents/api/incidents/{busy['Maya Ortiz']}").json
    assert case["status"] == "resolved"
    assert case["resolution_note"] == "Refunded in full."
    assert case["resolved_by"].startswith("page:agent-")
    resolved = [e for e in case["trail"] if e["what"] == "resolved"]
    assert len(resolved) == 1
    assert resolved[0]["detail"] == {"note": "Refunded in full."}
    listed = agent.get("/agents/api/resolved").json
    assert listed["total"] == 1
    assert listed["incidents"][0]["customer"]["name"] == "Maya Ortiz"
    assert listed["incidents"][0]["note"] == "Refunded in full."
    assert listed["incidents"][0]["hours_to_resolve"] is not None
    assert "Maya Ortiz" not in names(agent.get("/agents/api/queue"))


def test_not_a_complaint_closes_the_case_with_the_label(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    answer = act(agent, f"incidents/{busy['Ivy Chen']}/not-a-complaint", {"note": "A joke."})

    assert answer.json["outcome"] == "not_a_complaint"
    with session_scope(state(app).sessions) as session:
        incident = session.get(Incident, busy["Ivy Chen"])
        assert incident is not None
        assert incident.resolution == "not_a_complaint"
        assert incident.needs_attention is True  # the worker will take the tags off


def test_snoozing_hides_a_case_but_keeps_its_deadline_priority_and_count(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    with session_scope(state(app).sessions) as session:
        before = session.get(Incident, busy["Sam Lee"])
        assert before is not None
        deadline, priority = before.deadline_at, before.priority

    answer = act(agent, f"incidents/{busy['Sam Lee']}/snooze", {"hours": 2})

    assert answer.status_code == 200
    waiting = agent.get("/agents/api/queue").json
    snoozed = agent.get("/agents/api/queue", query_string={"snoozed": "1"}).json
    assert "Sam Lee" not in names(agent.get("/agents/api/queue"))
    assert waiting["counts"]["snoozed"] == 1
    assert waiting["counts"]["open"] == 4
    assert names(agent.get("/agents/api/queue", query_string={"snoozed": "1"})) == ["Sam Lee"]
    assert snoozed["counts"]["matching"] == 1
    with session_scope(state(app).sessions) as session:
        after = session.get(Incident, busy["Sam Lee"])
        assert after is not None
        assert (after.deadline_at, after.priority, after.status) == (deadline, priority, "open")


def test_assigning_to_me_and_bulk_resolving(agent: FlaskClient, busy: dict[str, int]) -> None:
    mine = act(agent, f"incidents/{busy['Ada Park']}/assign", {"to": "me"})
    bulk = act(
        agent,
        "incidents/bulk",
        {"action": "resolve", "ids": [busy["Ivy Chen"], busy["Sam Lee"], 2**40]},
    )

    assert mine.json["assigned_to"].startswith("agent-")
    assert names(agent.get("/agents/api/queue", query_string={"assigned": "me"})) == ["Ada Park"]
    assert sorted(r["id"] for r in bulk.json["results"]) == sorted(
        [busy["Ivy Chen"], busy["Sam Lee"]]
    )  # an id that is no case of this shop is left out
    assert names(agent.get("/agents/api/queue")) == ["Maya Ortiz", "Ada Park"]
    assigned_closed = act(agent, f"incidents/{busy['Sam Lee']}/assign", {"to": "me"})
    assert (assigned_closed.status_code, said(assigned_closed)) == (409, "the case is closed")


# --- reopening (undo) -----------------------------------------------------------------------


def test_reopening_a_case_that_is_open_is_refused_and_changes_nothing(
    agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given Sam's case is open
    # when an agent asks to reopen it
    answer = act(agent, f"incidents/{busy['Sam Lee']}/reopen")

    # then it is a clear 409 and the trail holds only its signal
    assert answer.status_code == 409
    assert answer.json["outcome"] == "already_open"
    case = agent.get(f"/agents/api/incidents/{busy['Sam Lee']}").json
    assert [e["what"] for e in case["trail"]] == ["signal"]


def test_two_people_reopening_a_case_at_once_get_one_reopen_and_already_open(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya's case was resolved
    act(agent, f"incidents/{busy['Maya Ortiz']}/resolve")
    sessions = state(app).sessions
    with session_scope(sessions) as session:
        shop_id = session.get(Incident, busy["Maya Ortiz"]).shop_id  # type: ignore[union-attr]

    # when one person reopens it (their transaction still open) and another asks the same
    def reopen(session: Session) -> str:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        try:
            reopen_case(
                session=session,
                shop=shop,
                incident_id=busy["Maya Ortiz"],
                by="page:b",
                now=utcnow(),
            )
        except CaseStateRefused as refused:
            return refused.outcome
        return "reopened"

    first = sessions()
    try:
        assert reopen(first) == "reopened"
        second = ThreadPoolExecutor(1).submit(lambda: reopen_in_own_session(sessions, reopen))
        time.sleep(0.5)  # long enough for it to reach the case, whatever it then waits for
        first.commit()
    finally:
        first.close()

    # then the second is told the case is open already, not that another case is
    assert second.result(timeout=30) == "already_open"


def reopen_in_own_session(sessions: Any, reopen: Any) -> str:
    with session_scope(sessions) as session:
        return str(reopen(session))


def test_reopening_another_shops_case_is_not_found(app: Flask, agent: FlaskClient) -> None:
    # given a resolved case of another shop
    connect_shop(app, "other-shop.myshopify.com")
    theirs = open_case(
        app, "other-shop.myshopify.com", Case("Zoe Other", "refund", "high", "high", 5), number=9
    )
    with session_scope(state(app).sessions) as session:
        incident = session.get(Incident, theirs)
        assert incident is not None
        incident.status = "resolved"  # type: ignore[assignment]

    # when this shop's agent tries to reopen it, then it does not exist for them
    assert act(agent, f"incidents/{theirs}/reopen").status_code == 404
    with session_scope(state(app).sessions) as session:
        assert session.get(Incident, theirs).status == "resolved"  # type: ignore[union-attr]


def test_a_closed_case_is_not_reopened_over_the_customers_newer_open_case(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya's case was resolved, and a new complaint since opened a second case for her
    act(agent, f"incidents/{busy['Maya Ortiz']}/resolve")
    newer = complains_again(app, SHOP, "Maya", ref="later-review")

    # when an agent tries to undo the first resolve
    answer = act(agent, f"incidents/{busy['Maya Ortiz']}/reopen")

    # then the desk points at the newer case instead, and the old one stays closed
    assert answer.status_code == 409
    assert answer.json["outcome"] == "customer_has_open_case"
    assert said(answer) == "this customer has a newer open case: work that one instead"
    assert agent.get(f"/agents/api/incidents/{busy['Maya Ortiz']}").json["status"] == "resolved"
    assert agent.get(f"/agents/api/incidents/{newer}").json["status"] == "open"


def test_undoing_a_resolve_puts_the_case_back_as_it_was_with_the_undo_in_its_trail(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya's case, with its priority and deadline, resolved with a note by mistake
    with session_scope(state(app).sessions) as session:
        before = session.get(Incident, busy["Maya Ortiz"])
        assert before is not None
        priority, deadline = before.priority, before.deadline_at
    act(agent, f"incidents/{busy['Maya Ortiz']}/resolve", {"note": "Wrong customer."})

    # when the agent undoes it
    answer = act(agent, f"incidents/{busy['Maya Ortiz']}/reopen")

    # then the case is open again, first in the queue, with the same priority and deadline (the
    # floor: the customer has been waiting all along), nothing left of the resolve, and the
    # worker asked to bring Shopify back in step
    assert answer.status_code == 200
    assert answer.json["outcome"] == "reopened"
    assert names(agent.get("/agents/api/queue"))[0] == "Maya Ortiz"
    assert agent.get("/agents/api/resolved").json["total"] == 0
    case = agent.get(f"/agents/api/incidents/{busy['Maya Ortiz']}").json
    assert case["status"] == "open"
    assert case["resolution_note"] is None
    trail = [(e["what"], e["by"]) for e in case["trail"]]
    assert [what for what, _ in trail] == ["signal", "resolved", "reopened"]
    assert trail[-1][1].startswith("page:agent-")
    with session_scope(state(app).sessions) as session:
        after = session.get(Incident, busy["Maya Ortiz"])
        assert after is not None
        assert (after.priority, after.deadline_at) == (priority, deadline)
        assert after.needs_attention is True
        assert after.tagged_at is None  # pending until the attention tag lands again
