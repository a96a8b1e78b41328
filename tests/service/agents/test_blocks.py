"""The blocks on the order and customer pages of the Shopify admin, over HTTP: only a session
token Shopify minted for this app and this shop opens a case; the block shows the case at a
glance; resolving or reopening in a block is the desk's, recorded with the staff member's
name, and Shopify ends up with the same tags as when it is done on the agents' page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.attention.attend import attend_incident, attend_later
from service.core.audit import case_events
from service.core.db import session_scope
from service.core.models import Incident, utcnow
from service.dev.devstore.webhooks import order_payload
from service.shopify.shops import register_shop
from tests.support.agents_page import BUSY_DAY, complains_again, connect_shop, open_case, rung
from tests.support.clout import RunningDevStore, process_delivery_now, record_delivery_now, state
from tests.support.helpers import CLIENT_ID, SHOP, session_token
from workers.tasks import admin_factory, tag_settings

OTHER_SHOP = "other-shop.myshopify.com"
MAYA_ORDER, MAYA = 7001, 9001  # BUSY_DAY's second case: urgent, overdue, known clout


def bearer(**claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {session_token(**claims)}"}


@pytest.fixture
def embedded(make_app: Callable[..., Flask]) -> Flask:
    app = make_app(SHOPIFY_API_KEY=CLIENT_ID)
    connect_shop(app, SHOP)
    return app


@pytest.fixture
def busy(embedded: Flask) -> dict[str, int]:
    return {case.name: open_case(embedded, SHOP, case, number=n) for n, case in enumerate(BUSY_DAY)}


@pytest.fixture
def block(embedded: Flask, busy: dict[str, int]) -> FlaskClient:
    return embedded.test_client()


def new_complaint(app: Flask) -> int:
    """Maya unhappy again (a negative review): the id of the case it opens."""
    return complains_again(app, SHOP, "Maya", ref="review:77")


# --- bad input first --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no token at all
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        bearer(lifetime=-30),  # expired half a minute ago
        bearer(secret="a-secret-that-is-not-the-apps-0123456789"),  # forged
        bearer(audience="another-apps-client-id"),  # minted for another app
    ],
)
def test_a_block_without_a_good_session_token_sees_nothing_and_is_told_to_retry(
    block: FlaskClient, headers: dict[str, str]
) -> None:
    # given an order page whose case is open
    # when the block asks without a token Shopify minted for Clout, alive, for this shop
    answer = block.get(f"/admin-blocks/api/orders/{MAYA_ORDER}/case", headers=headers)
    # then it is refused, and Shopify's admin is told to fetch a fresh token and try once more
    assert answer.status_code == 401
    assert answer.json == {"outcome": "unauthorized"}
    assert answer.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    assert "Maya" not in answer.get_data(as_text=True)


def test_a_forged_token_cannot_resolve_a_case(block: FlaskClient, busy: dict[str, int]) -> None:
    # given Maya's open case
    # when someone without the app's secret asks to resolve it
    answer = block.post(
        f"/admin-blocks/api/cases/{busy['Maya Ortiz']}/resolve",
        json={"note": "closing it for you"},
        headers=bearer(secret="a-secret-that-is-not-the-apps-0123456789"),
    )
    # then nothing changes
    assert answer.status_code == 401
    with session_scope(state(block.application).sessions) as session:
        assert session.get(Incident, busy["Maya Ortiz"]).status == "open"  # type: ignore[union-attr]


def test_another_shops_token_sees_nothing_of_this_shops_customers(
    embedded: Flask, busy: dict[str, int]
) -> None:
    # given a second connected shop, whose staff hold a good token for their own shop
    connect_shop(embedded, OTHER_SHOP)
    client = embedded.test_client()
    theirs = bearer(shop=OTHER_SHOP)

    # when they ask for this shop's order, customer, and case by its id
    order = client.get(f"/admin-blocks/api/orders/{MAYA_ORDER}/case", headers=theirs)
    customer = client.get(f"/admin-blocks/api/customers/{MAYA}/case", headers=theirs)
    resolve = client.post(
        f"/admin-blocks/api/cases/{busy['Maya Ortiz']}/resolve", json={}, headers=theirs
    )
    assign = client.post(
        f"/admin-blocks/api/cases/{busy['Maya Ortiz']}/assign", json={"to": "me"}, headers=theirs
    )

    # then their shop has no such case, and this shop's case stays as it was
    assert (order.status_code, order.json["case"]) == (200, None)
    assert (customer.status_code, customer.json["case"]) == (200, None)
    assert (resolve.status_code, assign.status_code) == (404, 404)
    with session_scope(state(embedded).sessions) as session:
        incident = session.get(Incident, busy["Maya Ortiz"])
        assert incident is not None
        assert (incident.status, incident.assigned_to) == ("open", None)


def test_a_token_for_a_shop_clout_is_not_connected_to_is_refused(block: FlaskClient) -> None:
    answer = block.get(
        f"/admin-blocks/api/orders/{MAYA_ORDER}/case",
        headers=bearer(shop="stranger.myshopify.com"),
    )
    assert (answer.status_code, answer.json) == (403, {"outcome": "shop_not_installed"})


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        ("assign", {"to": "somebody-else"}, 'to must be "me" or empty (nobody)'),
        ("resolve", {"note": 42}, "note must be text"),
        ("resolve", ["not", "an", "object"], "the body must be a JSON object"),
    ],
)
def test_an_action_the_desk_cannot_take_is_a_clear_400(
    block: FlaskClient, busy: dict[str, int], path: str, body: Any, problem: str
) -> None:
    answer = block.post(
        f"/admin-blocks/api/cases/{busy['Maya Ortiz']}/{path}", json=body, headers=bearer()
    )
    assert (answer.status_code, answer.json["outcome"]) == (400, problem)


def test_a_note_longer_than_the_desk_keeps_is_a_400_with_the_desks_reason(
    block: FlaskClient, busy: dict[str, int]
) -> None:
    answer = block.post(
        f"/admin-blocks/api/cases/{busy['Maya Ortiz']}/resolve",
        json={"note": "x" * 2_001},
        headers=bearer(),
    )
    assert (answer.status_code, answer.json) == (
        400,
        {"outcome": "note_too_long", "detail": "a note is at most 2000 characters"},
    )


def test_another_shops_token_cannot_reopen_this_shops_closed_case(
    embedded: Flask, block: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya's case, resolved in this shop's block
    maya = busy["Maya Ortiz"]
    resolved = block.post(f"/admin-blocks/api/cases/{maya}/resolve", headers=bearer())
    assert resolved.status_code == 200
    # when staff of another connected shop, with a good token for their own shop, reopen it
    connect_shop(embedded, OTHER_SHOP)
    answer = block.post(f"/admin-blocks/api/cases/{maya}/reopen", headers=bearer(shop=OTHER_SHOP))
    # then their shop has no such case, and this one stays resolved with nothing in its trail
    assert (answer.status_code, answer.json) == (404, {"outcome": "not_found"})
    with session_scope(state(embedded).sessions) as session:
        assert session.get(Incident, maya).status == "resolved"  # type: ignore[union-attr]
        trail = case_events(session=session, incident_ids=[maya])[maya]
        assert "reopened" not in [event.kind for event in trail]


def test_a_forged_token_cannot_reopen_a_case(block: FlaskClient, busy: dict[str, int]) -> None:
    maya = busy["Maya Ortiz"]
    block.post(f"/admin-blocks/api/cases/{maya}/resolve", headers=bearer())
    answer = block.post(
        f"/admin-blocks/api/cases/{maya}/reopen",
        headers=bearer(secret="a-secret-that-is-not-the-apps-0123456789"),
    )
    assert answer.status_code == 401
    with session_scope(state(block.application).sessions) as session:
        assert session.get(Incident, maya).status == "resolved"  # type: ignore[union-attr]


def test_reopening_a_case_that_is_open_already_is_a_clear_409_and_changes_nothing(
    block: FlaskClient, busy: dict[str, int]
) -> None:
    # given Sam's case is open
    sam = busy["Sam Lee"]
    # when the block asks to reopen it
    answer = block.post(f"/admin-blocks/api/cases/{sam}/reopen", headers=bearer())
    # then the desk says why not, and the trail holds only its signal
    assert (answer.status_code, answer.json) == (
        409,
        {"outcome": "already_open", "detail": "the case is open already"},
    )
    shown = block.get(f"/admin-blocks/api/cases/{sam}/reopen", headers=bearer())
    assert shown.status_code == 405  # only POST reopens
    with session_scope(state(block.application).sessions) as session:
        trail = case_events(session=session, incident_ids=[sam])[sam]
        assert [event.kind for event in trail] == ["signal"]


def test_reopening_an_unknown_case_is_not_found(block: FlaskClient) -> None:
    answer = block.post("/admin-blocks/api/cases/987654321/reopen", headers=bearer())
    assert (answer.status_code, answer.json) == (404, {"outcome": "not_found"})


def test_a_closed_case_is_not_reopened_in_a_block_over_the_customers_newer_open_case(
    embedded: Flask, block: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya's case resolved, and a new complaint since opened a second case for her
    first = busy["Maya Ortiz"]
    block.post(f"/admin-blocks/api/cases/{first}/resolve", headers=bearer())
    newer = new_complaint(embedded)
    # when the block tries to reopen the first
    answer = block.post(f"/admin-blocks/api/cases/{first}/reopen", headers=bearer())
    # then the desk points at the newer case, and the first stays closed
    assert answer.status_code == 409
    assert answer.json == {
        "outcome": "customer_has_open_case",
        "detail": "this customer has a newer open case: work that one instead",
    }
    with session_scope(state(embedded).sessions) as session:
        assert session.get(Incident, first).status == "resolved"  # type: ignore[union-attr]
        assert session.get(Incident, newer).status == "open"  # type: ignore[union-attr]


def test_the_admin_may_ask_from_its_extension_origin(block: FlaskClient) -> None:
    # given the block runs on Shopify's extension origin, not Clout's
    # when the browser asks first whether it may send its token
    answer = block.options(
        f"/admin-blocks/api/cases/{MAYA_ORDER}/resolve",
        headers={
            "Origin": "https://extensions.shopifycdn.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    # then it may, with the token in a header (no cookies are involved)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in answer.headers["Access-Control-Allow-Headers"]
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in answer.headers


# --- the case at a glance ---------------------------------------------------------------------


def test_the_order_page_shows_the_case_priority_deadline_words_and_both_scores(
    block: FlaskClient,
) -> None:
    # given Maya's urgent case, overdue, her clout known and why, her Klout unknown
    # when the block on her order's page asks
    answer = block.get(f"/admin-blocks/api/orders/{MAYA_ORDER}/case", headers=bearer())

    # then it shows what an agent needs at a glance
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.json["me"] == "staff-42"
    case = answer.json["case"]
    assert (case["status"], case["priority"], case["overdue"]) == ("open", "urgent", True)
    assert case["deadline_at"] is not None
    assert case["timeline"][0]["sentences"] == ["Arrived broken."]
    assert case["influence"]["clout"] == 98
    assert case["influence"]["clout_reasons"] == ["brought 5 new customers through referrals"]
    assert case["influence"]["klout"] is None  # unknown, never zero
    assert case["trail"][0]["what"] == "signal"


def test_the_customer_page_shows_the_same_case(block: FlaskClient, busy: dict[str, int]) -> None:
    answer = block.get(f"/admin-blocks/api/customers/{MAYA}/case", headers=bearer())
    assert answer.json["case"]["id"] == busy["Maya Ortiz"]


def test_an_order_clout_never_saw_shows_no_case(block: FlaskClient) -> None:
    answer = block.get("/admin-blocks/api/orders/123456789/case", headers=bearer())
    assert (answer.status_code, answer.json["case"]) == (200, None)


def test_after_a_case_closes_and_a_new_one_opens_the_page_shows_the_open_one(
    embedded: Flask, block: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya's case resolved from the block
    first = busy["Maya Ortiz"]
    block.post(f"/admin-blocks/api/cases/{first}/resolve", json={}, headers=bearer())
    closed = block.get(f"/admin-blocks/api/customers/{MAYA}/case", headers=bearer())
    # when she is unhappy again (a review: a new case opens)
    again = new_complaint(embedded)
    # then her page showed the closed case, and now shows the open one
    assert closed.json["case"]["id"] == first
    assert closed.json["case"]["status"] == "resolved"
    current = block.get(f"/admin-blocks/api/customers/{MAYA}/case", headers=bearer())
    assert current.json["case"]["id"] == again != first


def test_a_complaint_arriving_while_the_block_is_read_is_not_closed_with_the_case(
    embedded: Flask, block: FlaskClient, busy: dict[str, int]
) -> None:
    # given a staff member reading Maya's case on her order's page
    maya = busy["Maya Ortiz"]
    read = block.get(f"/admin-blocks/api/orders/{MAYA_ORDER}/case", headers=bearer())
    rung(embedded)
    # and Maya, meanwhile, leaving another bad review: it joins the open case unseen
    assert new_complaint(embedded) == maya

    # when they resolve the case they read, saying when they read it
    closed = block.post(
        f"/admin-blocks/api/cases/{maya}/resolve",
        json={"note": "Refunded.", "seen_at": read.json["now"]},
        headers=bearer(),
    )

    # then the case they read is closed, and the review they never saw is a new open case,
    # the one her page shows now, rung so Shopify keeps the attention tag
    assert closed.status_code == 200
    carried = closed.json["carried_over"]
    assert closed.json == {"outcome": "resolved", "id": maya, "carried_over": carried}
    assert carried != maya
    now_shown = block.get(f"/admin-blocks/api/customers/{MAYA}/case", headers=bearer())
    assert (now_shown.json["case"]["id"], now_shown.json["case"]["status"]) == (carried, "open")
    assert now_shown.json["case"]["timeline"][0]["sentences"] == ["Still broken."]
    assert rung(embedded) == sorted([maya, carried])


# --- the desk's actions -----------------------------------------------------------------------


def test_assigning_to_me_in_a_block_names_the_staff_member(
    block: FlaskClient, busy: dict[str, int]
) -> None:
    answer = block.post(
        f"/admin-blocks/api/cases/{busy['Ada Park']}/assign",
        json={"to": "me"},
        headers=bearer(user_id="77"),
    )
    assert answer.json == {"outcome": "assigned", "id": busy["Ada Park"], "assigned_to": "staff-77"}
    shown = block.get(f"/admin-blocks/api/orders/{7003}/case", headers=bearer())
    assert shown.json["case"]["assigned_to"] == "staff-77"


def test_each_desk_action_in_a_block_answers_what_the_block_reads(
    embedded: Flask, block: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya's open case, and nothing waiting for the worker
    maya = busy["Maya Ortiz"]
    staff = bearer(user_id="7")
    rung(embedded)

    def act(action: str, body: dict[str, Any] | None = None) -> Any:
        return block.post(f"/admin-blocks/api/cases/{maya}/{action}", json=body, headers=staff)

    # when a staff member takes her case, gives it back, resolves it (twice), undoes that and
    # closes it as not a complaint
    taken = act("assign", {"to": "me"})
    given_back = act("assign", {"to": ""})
    rung_after_assigning = rung(embedded)
    resolved = act("resolve", {"note": "Refunded."})
    rung_after_resolve = rung(embedded)
    again = act("resolve")
    rung_after_again = rung(embedded)
    reopened = act("reopen")
    rung_after_reopen = rung(embedded)
    not_one = act("not-a-complaint", {})
    rung_after_not_one = rung(embedded)

    # then each answer is what the block reads, never kept by a cache
    assert taken.json == {"outcome": "assigned", "id": maya, "assigned_to": "staff-7"}
    assert given_back.json == {"outcome": "assigned", "id": maya, "assigned_to": None}
    assert resolved.json == {"outcome": "resolved", "id": maya}
    assert again.json == {"outcome": "already_closed", "id": maya}
    assert reopened.json == {"outcome": "reopened", "id": maya}
    assert not_one.json == {"outcome": "not_a_complaint", "id": maya}
    for answer in (taken, given_back, resolved, again, reopened, not_one):
        assert (answer.status_code, answer.headers["Cache-Control"]) == (200, "no-store")
    # and the worker is rung for what changes Shopify's tags (a close, a reopen), once each
    assert rung_after_assigning == []
    assert rung_after_resolve == [maya]
    assert rung_after_again == []
    assert rung_after_reopen == [maya]
    assert rung_after_not_one == [maya]


@pytest.mark.parametrize(
    ("action", "body"),
    [("resolve", {"note": "Refunded."}), ("not-a-complaint", {}), ("reopen", {}), ("assign", {})],
)
def test_a_block_action_on_a_case_this_shop_does_not_have_is_404(
    embedded: Flask, block: FlaskClient, action: str, body: dict[str, Any]
) -> None:
    rung(embedded)
    answer = block.post(f"/admin-blocks/api/cases/987654321/{action}", json=body, headers=bearer())
    assert (answer.status_code, answer.json) == (404, {"outcome": "not_found"})
    assert rung(embedded) == []


# The desk's refusals, one contract in a block and on the agents' page (test_views): 400 for a
# request Clout cannot read, 404 for no such case, 409 for what the case's state refuses.


@pytest.mark.parametrize(
    ("action", "body", "outcome"),
    [
        ("resolve", ["not", "an", "object"], "the body must be a JSON object"),
        ("not-a-complaint", {"note": 5}, "note must be text"),
        ("reopen", ["not", "an", "object"], "the body must be a JSON object"),
        ("assign", {"to": 5}, "to must be text"),
    ],
)
def test_a_request_a_block_sends_that_clout_cannot_read_is_a_400_saying_why(
    embedded: Flask, block: FlaskClient, busy: dict[str, int], action: str, body: Any, outcome: str
) -> None:
    # given Maya's open case, and nothing waiting for the worker
    maya = busy["Maya Ortiz"]
    rung(embedded)
    # when a block sends a request Clout cannot read
    answer = block.post(f"/admin-blocks/api/cases/{maya}/{action}", json=body, headers=bearer())
    # then it says what is wrong with it, and the case is as it was
    assert (answer.status_code, answer.json) == (400, {"outcome": outcome})
    with session_scope(state(embedded).sessions) as session:
        trail = case_events(session=session, incident_ids=[maya])[maya]
    assert [event.kind for event in trail] == ["signal"]
    assert rung(embedded) == []


def test_assigning_a_closed_case_in_a_block_is_a_409_with_the_desks_reason(
    embedded: Flask, block: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya's case resolved in a block
    maya = busy["Maya Ortiz"]
    assert (
        block.post(f"/admin-blocks/api/cases/{maya}/resolve", headers=bearer()).status_code == 200
    )
    rung(embedded)
    # when a staff member takes it
    answer = block.post(
        f"/admin-blocks/api/cases/{maya}/assign", json={"to": "me"}, headers=bearer()
    )
    # then the case's state refuses it, the desk says why, and it stays nobody's
    assert (answer.status_code, answer.json) == (
        409,
        {"outcome": "closed", "detail": "the case is closed"},
    )
    assert rung(embedded) == []
    with session_scope(state(embedded).sessions) as session:
        assert session.get(Incident, maya).assigned_to is None  # type: ignore[union-attr]


REFUSALS = {
    "unreadable": (400, "resolve", ["not", "an", "object"]),
    "wrong type": (400, "assign", {"to": 5}),
    "note too long": (400, "resolve", {"note": "x" * 2_001}),
    "no such case": (404, "reopen", {}),
    "open already": (409, "reopen", {}),
    "closed": (409, "assign", {"to": "me"}),
    "newer open case": (409, "reopen", {}),
}


@pytest.mark.parametrize("refusal", REFUSALS)
def test_a_refusal_in_a_block_reads_exactly_as_on_the_agents_page(
    embedded: Flask, block: FlaskClient, busy: dict[str, int], refusal: str
) -> None:
    # given the same store seen from a block and from the agents' page inside the admin, and a
    # case in the state the refusal is about
    status, action, body = REFUSALS[refusal]
    maya = busy["Maya Ortiz"]
    if refusal in ("closed", "newer open case"):
        assert (
            block.post(f"/admin-blocks/api/cases/{maya}/resolve", headers=bearer()).status_code
            == 200
        )
    if refusal == "newer open case":
        new_complaint(embedded)
    case_id = 987654321 if refusal == "no such case" else maya

    # when the same request is made from both
    in_block = block.post(
        f"/admin-blocks/api/cases/{case_id}/{action}", json=body, headers=bearer()
    )
    on_page = block.post(f"/agents/api/incidents/{case_id}/{action}", json=body, headers=bearer())

    # then both answer the same status and the same words
    assert (in_block.status_code, in_block.json) == (on_page.status_code, on_page.json)
    assert in_block.status_code == status
    assert set(in_block.json) <= {"outcome", "detail"}


@pytest.fixture
def live(make_app: Callable[..., Flask], devstore: RunningDevStore) -> Flask:
    """Clout with the Shopify admin's blocks, talking to the emulator."""
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url, SHOPIFY_API_KEY=CLIENT_ID)
    with session_scope(state(app).sessions) as session:
        register_shop(
            session=session,
            vault=state(app).vault,
            domain=SHOP,
            access_token=devstore.token,
            now=utcnow(),
        )
    return app


def attend(app: Flask, incident_id: int) -> str:
    clout = state(app)
    common: dict[str, Any] = {
        "sessions": clout.sessions,
        "incident_id": incident_id,
        "admin": admin_factory(clout),
        "shop_settings": tag_settings(clout),
        "now": utcnow(),
    }
    outcome = attend_incident(**common)
    attend_later(**common)
    return outcome


def test_resolving_in_the_block_tags_shopify_as_the_agents_page_does(
    live: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback on Maya's order, attended: her order carries Clout's tags
    person = devstore.store.add_person("mother@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(person)
    for topic, payload in (
        ("orders/create", order_payload(devstore.store, order)),
        ("disputes/create", {"id": 501, "order_id": order.id, "type": "chargeback"}),
    ):
        assert process_delivery_now(live, record_delivery_now(live, topic=topic, payload=payload))
    with session_scope(state(live).sessions) as session:
        incident_id = session.scalars(select(Incident.id)).one()
    attend(live, incident_id)
    assert "clout-attention" in order.tags
    client = live.test_client()

    # when a staff member opens her order and resolves the case in the block, with a note
    shown = client.get(f"/admin-blocks/api/orders/{order.id}/case", headers=bearer(user_id="7"))
    assert shown.json["case"]["id"] == incident_id
    answer = client.post(
        f"/admin-blocks/api/cases/{incident_id}/resolve",
        json={"note": "Called her; refund on its way."},
        headers=bearer(user_id="7"),
    )
    assert answer.json == {"outcome": "resolved", "id": incident_id}
    assert attend(live, incident_id) == "cleared"

    # then Shopify shows a resolved case, as when it is resolved on the agents' page
    assert "clout-resolved" in order.tags
    assert not [t for t in order.tags if t.startswith("clout-") and t != "clout-resolved"]
    # and the trail names who resolved it, where, and their note
    with session_scope(state(live).sessions) as session:
        events = case_events(session=session, incident_ids=[incident_id])[incident_id]
        resolved = [(e.by, e.detail) for e in events if e.kind == "resolved"]
        incident = session.get(Incident, incident_id)
        assert incident is not None
        assert incident.resolved_by == "admin:staff-7"
    assert resolved == [("admin:staff-7", {"note": "Called her; refund on its way."})]
    # and resolving it again changes nothing
    again = client.post(f"/admin-blocks/api/cases/{incident_id}/resolve", headers=bearer())
    assert again.json == {"outcome": "already_closed", "id": incident_id}


def test_reopening_in_the_block_tags_shopify_as_the_agents_page_does(
    live: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback on Maya's order, attended, then resolved in the block: her order
    # carries the resolved tag
    person = devstore.store.add_person("mother@example.org", "Maya", "Ortiz")
    order = devstore.store.add_purchase(person)
    for topic, payload in (
        ("orders/create", order_payload(devstore.store, order)),
        ("disputes/create", {"id": 502, "order_id": order.id, "type": "chargeback"}),
    ):
        assert process_delivery_now(live, record_delivery_now(live, topic=topic, payload=payload))
    with session_scope(state(live).sessions) as session:
        incident_id = session.scalars(select(Incident.id)).one()
    attend(live, incident_id)
    client = live.test_client()
    resolved = client.post(
        f"/admin-blocks/api/cases/{incident_id}/resolve", headers=bearer(user_id="7")
    )
    assert resolved.json == {"outcome": "resolved", "id": incident_id}
    attend(live, incident_id)
    assert "clout-resolved" in order.tags
    assert "clout-attention" not in order.tags
    shown = client.get(f"/admin-blocks/api/orders/{order.id}/case", headers=bearer(user_id="8"))
    assert (shown.json["case"]["id"], shown.json["case"]["status"]) == (incident_id, "resolved")

    # when another staff member, on her order's page, reopens the case in the block
    answer = client.post(
        f"/admin-blocks/api/cases/{incident_id}/reopen", headers=bearer(user_id="8")
    )
    assert (answer.status_code, answer.json) == (200, {"outcome": "reopened", "id": incident_id})
    assert attend(live, incident_id) == "attended"

    # then Shopify shows an open case again, as after an undo on the agents' page: the
    # attention tag back on the order and the resolved tag off it
    assert "clout-attention" in order.tags
    assert "clout-resolved" not in order.tags
    # and the block shows it open, the trail naming who reopened it, and where
    again = client.get(f"/admin-blocks/api/orders/{order.id}/case", headers=bearer(user_id="8"))
    assert again.json["case"]["status"] == "open"
    with session_scope(state(live).sessions) as session:
        events = case_events(session=session, incident_ids=[incident_id])[incident_id]
    kinds = [event.kind for event in events]
    reopened = kinds.index("reopened")
    assert events[reopened].by == "admin:staff-8"
    # and reopening it again is refused: it is open already
    twice = client.post(f"/admin-blocks/api/cases/{incident_id}/reopen", headers=bearer())
    assert twice.status_code == 409


def test_a_note_with_half_an_emoji_is_refused_not_a_500(
    block: FlaskClient, embedded: Flask, busy: dict[str, int]
) -> None:
    # given a staff member's note whose JSON escapes half an emoji (a lone surrogate: no
    # database takes one, and json.loads keeps it)
    maya = busy["Maya Ortiz"]

    # when they resolve the case with it
    refused = block.post(
        f"/admin-blocks/api/cases/{maya}/resolve",
        json={"note": "Refunded \ud83d and apologised"},
        headers=bearer(),
    )

    # then the desk refuses the note plainly and the case stays open
    assert refused.status_code == 400, refused.json
    assert refused.json["outcome"] == "note_not_text"
    with state(embedded).sessions() as session:
        case = session.get(Incident, maya)
        assert case is not None
        assert case.resolved_at is None
