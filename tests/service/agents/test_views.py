"""The agents' page over HTTP: the queue in deadline order with everything an agent needs,
filters, logins, one shop never seeing another's customers, and resolving from the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from service.agents.queue import CASE_TIMELINE_MOST, QUEUE_TIMELINE_MOST, clout_split
from service.attention.escalation import escalate_overdue
from service.attention.notify import Notifier
from service.cli import main
from service.core.db import session_scope
from service.core.models import Incident, Shop, utcnow
from service.core.vocabulary import DEFAULT_FLOORS, Severity
from service.shopify.shops import mark_uninstalled
from tests.support.agents_page import (
    BUSY_DAY,
    PASSWORD,
    Case,
    add_agent,
    complains_again,
    connect_shop,
    keeps_reviewing,
    log_in,
    open_case,
    page_csrf,
    rung,
)
from tests.support.clout import state
from tests.support.helpers import CLIENT_ID, SHOP, session_token

OTHER_SHOP = "other-shop.myshopify.com"


@pytest.fixture
def busy(app: Flask, shop: Shop) -> dict[str, int]:
    """The test shop on a busy day, and an agent who may see it."""
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


def act(agent: FlaskClient, path: str, body: Any = None) -> Any:
    return agent.post(f"/agents/api/{path}", json=body, headers={"X-CSRF-Token": page_csrf(agent)})


def test_the_queue_puts_the_soonest_deadline_first_with_reasons_scores_and_links(
    agent: FlaskClient,
) -> None:
    answer = agent.get("/agents/api/queue")

    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert names(answer) == ["Maya Ortiz", "Ada Park", "Ivy Chen", "Sam Lee"]
    maya = answer.json["incidents"][0]
    assert maya["overdue"] is True
    assert -1.6 * 3600 < maya["seconds_left"] < -1.4 * 3600
    assert maya["priority"] == "urgent"
    assert maya["reasons"] == ["refund"]
    assert maya["timeline"][0]["sentences"] == ["Arrived broken."]
    assert maya["timeline"][0]["order"] == "#1001"
    assert maya["orders"] == [
        {
            "name": "#1001",
            "admin_url": f"https://{SHOP}/admin/orders/7001",
            "total": "84.50",
            "currency": "EUR",
        }
    ]
    assert maya["customer"]["email"] == "maya@example.org"
    assert maya["customer"]["orders_count"] == 3
    assert maya["band"] == "high"
    assert maya["customer"]["admin_url"] == f"https://{SHOP}/admin/customers/9001"
    assert maya["influence"]["clout"] == 98
    assert maya["influence"]["klout"] is None  # unknown, never zero
    assert maya["influence"]["clout_reasons"] == ["brought 5 new customers through referrals"]
    assert maya["influence"]["quadrant"] == "word-of-mouth"
    ada = answer.json["incidents"][1]
    assert ada["influence"]["unknown"] == ["no profile yet"]
    assert ada["overdue"] is False


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"priority": "urgent"}, ["Maya Ortiz", "Ada Park"]),
        ({"reason": "delivery"}, ["Sam Lee"]),
        ({"overdue": "1"}, ["Maya Ortiz"]),
        ({"overdue": "0"}, ["Ada Park", "Ivy Chen", "Sam Lee"]),
        ({"band": "high"}, ["Maya Ortiz", "Ivy Chen"]),
        ({"band": "unknown", "priority": "urgent"}, ["Ada Park"]),
    ],
)
def test_filters_narrow_the_queue(
    agent: FlaskClient, query: dict[str, str], expected: list[str]
) -> None:
    assert names(agent.get("/agents/api/queue", query_string=query)) == expected


def test_an_escalated_case_stays_overdue_on_the_page(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya's case past its deadline, escalated by the worker: a higher priority, a new
    # (shorter) deadline still ahead, and the overdue tag on her orders in Shopify
    with session_scope(state(app).sessions) as session:
        escalated = escalate_overdue(
            session=session,
            now=utcnow(),
            floors=lambda _shop_id: DEFAULT_FLOORS,
            notifier=lambda _shop_id: Notifier(),
        )
    assert escalated == [busy["Maya Ortiz"]]

    # when an agent looks at the queue, and filters it to overdue cases
    queue = agent.get("/agents/api/queue").json
    overdue = agent.get("/agents/api/queue", query_string={"overdue": "1"})
    on_time = agent.get("/agents/api/queue", query_string={"overdue": "0"})

    # then she is still overdue everywhere the page says so, as Shopify's tag does
    [maya] = [e for e in queue["incidents"] if e["customer"]["name"] == "Maya Ortiz"]
    assert maya["seconds_left"] > 0
    assert maya["overdue"] is True
    assert queue["counts"]["overdue"] == 1
    assert names(overdue) == ["Maya Ortiz"]
    assert "Maya Ortiz" not in names(on_time)


def test_a_filter_value_the_queue_does_not_know_is_a_clear_400(agent: FlaskClient) -> None:
    answer = agent.get("/agents/api/queue", query_string={"priority": "whenever"})

    assert answer.status_code == 400
    assert "priority must be one of" in answer.json["outcome"]


def test_the_picture_places_customers_in_named_quadrants(agent: FlaskClient) -> None:
    answer = agent.get("/agents/api/picture")

    assert answer.status_code == 200
    by_name = {p["name"]: p for p in answer.json["points"]}
    assert by_name["Maya Ortiz"]["quadrant"] == "word-of-mouth"
    assert by_name["Ivy Chen"]["quadrant"] == "online-only"
    assert by_name["Sam Lee"]["quadrant"] == "everyday"
    assert answer.json["not_placed"] == 1  # Ada: no profile yet
    first = answer.json["quadrants"][0]  # the quadrant Clout exists for comes first
    assert first["key"] == "word-of-mouth"
    assert first["customers"] == 1
    assert first["label"].startswith("Word-of-mouth influencers")


def test_a_filter_the_picture_cannot_read_is_a_clear_400(agent: FlaskClient) -> None:
    answer = agent.get("/agents/api/picture", query_string={"band": "famous"})

    assert answer.status_code == 400
    assert "band must be one of" in answer.json["outcome"]


@pytest.mark.parametrize(
    ("scores", "split"),
    [
        ([], 50.0),  # nothing known: the middle of the scale
        ([98.0, 12.0, 20.0], 50.0),  # too few to speak of a distribution
        ([float(s) for s in range(10, 100, 10)], 80.0),  # 9 scores: the top 2 (a quarter)
        ([70.0] * 8, 70.1),  # all tied: none stands out, so nobody is above the line
        ([10.0, 20.0, 30.0, 40.0], 50.0),  # never below the middle of the scale
    ],
)
def test_the_clout_line_lets_at_most_a_quarter_of_unhappy_customers_above_it(
    scores: list[float], split: float
) -> None:
    assert clout_split(scores) == split
    if len(scores) >= 4:
        assert sum(1 for s in scores if s >= split) <= len(scores) // 4


def test_on_a_real_shop_with_klout_mostly_unknown_the_picture_still_tells_customers_apart(
    app: Flask, shop: Shop
) -> None:
    # given a real shop's day: 34 unhappy customers, Klout known for one, clout spread out and
    # mostly above the middle (unhappy customers are often good ones), each waiting a while
    now = utcnow()
    for n in range(34):
        clout = 30.0 + 2 * n  # 30 … 96: 24 of 34 at or above 50
        case = Case(f"Customer {n:02d}", "review", "high", "high", 24, clout=clout, klout=None)
        if n == 33:
            case = Case("Online Star", "review", "high", "urgent", 2, clout=40.0, klout=91.0)
        open_case(app, SHOP, case, number=n, now=now - timedelta(hours=n))
    add_agent(app, "agent@example.org", SHOP)
    agent = app.test_client()
    log_in(agent, "agent@example.org")

    # when an agent looks at the picture
    drawn = agent.get("/agents/api/picture").json

    # then the line between real pull and not is stated, and puts at most a quarter above it
    split = drawn["split"]["clout"]
    above = [p for p in drawn["points"] if p["clout"] >= split]
    assert split > 50
    assert 0 < len(above) <= 34 // 4
    by_key = {q["key"]: q["customers"] for q in drawn["quadrants"]}
    assert by_key["word-of-mouth"] == len(above)
    # and customers whose Klout is unknown do not pile up on one line: each is placed by how
    # long they have waited, with Klout as their mark
    assert len({p["hours_waiting"] for p in drawn["points"]}) == 34
    star = next(p for p in drawn["points"] if p["name"] == "Online Star")
    assert (star["klout"], star["quadrant"]) == (91.0, "online-only")

    # when the agent filters the queue to urgent cases, the picture follows, the line stays
    urgent = agent.get("/agents/api/picture", query_string={"priority": "urgent"}).json
    assert [p["name"] for p in urgent["points"]] == ["Online Star"]
    assert urgent["filtered"] is True
    assert urgent["split"]["clout"] == split


def test_without_a_login_the_page_sends_you_to_sign_in_and_the_api_says_401(
    app: Flask, busy: dict[str, int]
) -> None:
    client = app.test_client()

    assert client.get("/agents").headers["Location"].endswith("/agents/login")
    assert client.get("/agents/api/queue").status_code == 401
    assert client.post(f"/agents/api/incidents/{busy['Maya Ortiz']}/resolve").status_code == 401


def test_a_wrong_password_is_refused_and_repeated_guessing_is_slowed(
    app: Flask, busy: dict[str, int]
) -> None:
    client = app.test_client()

    first = log_in(client, "agent@example.org", "not the password at all")
    assert first.status_code == 401
    assert "Wrong email or password" in first.get_data(as_text=True)
    for _ in range(9):
        log_in(client, "nobody@example.org", "still not the password")
    blocked = log_in(client, "agent@example.org", PASSWORD)

    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 900  # what is left of the quarter hour
    assert client.get("/agents/api/queue").status_code == 401


def test_the_page_is_served_with_a_strict_content_security_policy(agent: FlaskClient) -> None:
    page = agent.get("/agents")

    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy  # the chart library is served by Clout, no CDN
    assert "frame-ancestors 'none'" in policy
    assert re.search(
        r'src="/agents/assets/[0-9a-f]{12}/vendor/chart\.umd\.min\.js"', page.get_data(as_text=True)
    )
    library = agent.get("/agents/static/vendor/chart.umd.min.js")
    assert library.status_code == 200
    assert library.get_data().startswith(b"/*!\n * Chart.js v4")
    library.close()


def test_an_agent_sees_only_their_own_shop(app: Flask, busy: dict[str, int]) -> None:
    # given a second shop with its own unhappy customer, and an agent of that shop only
    connect_shop(app, OTHER_SHOP)
    theirs = open_case(app, OTHER_SHOP, Case("Zoe Other", "refund", "high", "high", 5), number=50)
    add_agent(app, "other@example.org", OTHER_SHOP)
    other = app.test_client()
    log_in(other, "other@example.org")

    # when they read the queue, ask for the first shop, or resolve its incident
    own = other.get("/agents/api/queue")
    asked = other.get("/agents/api/queue", query_string={"shop": SHOP})
    resolved = other.post(
        f"/agents/api/incidents/{busy['Maya Ortiz']}/resolve",
        headers={"X-CSRF-Token": page_csrf(other)},
    )

    # then they see only their own customer, and the first shop's incident is untouched
    assert names(own) == ["Zoe Other"]
    assert asked.status_code == 403
    assert resolved.status_code == 404
    with state(app).sessions() as session:
        maya = session.get(Incident, busy["Maya Ortiz"])
        assert maya is not None
        assert maya.status == "open"
        zoe = session.get(Incident, theirs)
        assert zoe is not None
        assert zoe.status == "open"


def test_an_uninstalled_shops_cases_are_closed_to_its_agents(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given an agent signed in to a shop's queue
    assert agent.get("/agents/api/queue").status_code == 200

    # when the merchant uninstalls Clout (its data is kept until Shopify's shop/redact)
    with session_scope(state(app).sessions) as session:
        found = session.get(Shop, 1)
        assert found is not None
        mark_uninstalled(session=session, shop=found, now=utcnow())

    # then the agent reads and changes none of its customers' cases, as inside the admin,
    # from the admin blocks and from Flow
    read = agent.get("/agents/api/queue")
    case = agent.get(f"/agents/api/incidents/{busy['Sam Lee']}")
    resolved = act(agent, f"incidents/{busy['Sam Lee']}/resolve")
    assert [read.status_code, case.status_code, resolved.status_code] == [403, 403, 403]
    assert read.json["outcome"] == "shop_not_installed"
    with state(app).sessions() as session:
        sam = session.get(Incident, busy["Sam Lee"])
        assert sam is not None
        assert sam.status == "open"


def test_resolving_needs_the_pages_csrf_token(agent: FlaskClient, busy: dict[str, int]) -> None:
    incident = busy["Sam Lee"]

    forged = agent.post(f"/agents/api/incidents/{incident}/resolve")
    done = agent.post(
        f"/agents/api/incidents/{incident}/resolve", headers={"X-CSRF-Token": page_csrf(agent)}
    )

    assert forged.status_code == 403
    assert done.status_code == 200
    assert done.json["outcome"] == "resolved"
    assert done.json["resolved_by"].startswith("page:agent-")
    assert "Sam Lee" not in names(agent.get("/agents/api/queue"))


@pytest.mark.parametrize(
    "incident_id",
    [str(2**63), "9" * 30, "٣", "0", "-1", "1e3"],
    ids=["2**63", "30-digits", "arabic-indic-3", "zero", "negative", "float"],
)
def test_an_incident_id_no_row_can_have_is_404_not_a_crash(
    agent: FlaskClient, busy: dict[str, int], incident_id: str
) -> None:
    answer = agent.post(
        f"/agents/api/incidents/{incident_id}/resolve", headers={"X-CSRF-Token": page_csrf(agent)}
    )

    assert answer.status_code == 404
    assert answer.is_json
    assert len(names(agent.get("/agents/api/queue"))) == len(busy)  # nothing resolved


def test_inside_the_shopify_admin_the_session_token_names_the_shop(
    make_app: Callable[..., Flask],
) -> None:
    # given an embedded Clout with one unhappy customer in each of two shops
    app = make_app(SHOPIFY_API_KEY=CLIENT_ID)
    connect_shop(app, SHOP)
    connect_shop(app, OTHER_SHOP)
    open_case(app, SHOP, BUSY_DAY[0], number=1)
    open_case(app, OTHER_SHOP, Case("Zoe Other", "refund", "high", "high", 5), number=2)
    client = app.test_client()

    def bearer(**claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {session_token(**claims)}"}

    # when the page asks with a session token for each shop, and with forged or stale ones
    mine = client.get("/agents/api/queue", headers=bearer(shop=SHOP))
    theirs = client.get("/agents/api/queue", headers=bearer(shop=OTHER_SHOP))
    forged = client.get("/agents/api/queue", headers=bearer(secret="shpss_" + "x" * 32))
    stale = client.get("/agents/api/queue", headers=bearer(lifetime=-60))
    unknown = client.get("/agents/api/queue", headers=bearer(shop="never-installed.myshopify.com"))

    # then each token sees its own shop's customers only; bad tokens are told to retry
    assert names(mine) == ["Ivy Chen"]
    assert names(theirs) == ["Zoe Other"]
    assert forged.status_code == 401
    assert forged.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    assert stale.status_code == 401
    assert unknown.status_code == 403


def test_agents_are_managed_from_the_command_line(
    app: Flask, shop: Shop, settings: dict[str, Any]
) -> None:
    runner = CliRunner()
    env = {k: str(v) for k, v in settings.items() if k.startswith(("CLOUT_", "SHOPIFY_"))}

    short = runner.invoke(
        main,
        ["agents", "add", "a@example.org", "--shop", SHOP, "--password-stdin"],
        "short\n",
        env=env,
    )
    unknown = runner.invoke(
        main,
        ["agents", "add", "a@example.org", "--shop", "nope.myshopify.com", "--password-stdin"],
        PASSWORD + "\n",
        env=env,
    )
    added = runner.invoke(
        main,
        ["agents", "add", "A@Example.org", "--shop", SHOP, "--password-stdin"],
        PASSWORD + "\n",
        env=env,
    )
    client = app.test_client()
    signed_in = log_in(client, "a@example.org")
    removed = runner.invoke(main, ["agents", "remove", "a@example.org"], env=env)
    listed = runner.invoke(main, ["agents", "list"], env=env)

    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
    assert unknown.exit_code == 1
    assert "no such shop: nope.myshopify.com" in unknown.output
    assert added.exit_code == 0, added.output
    assert signed_in.status_code == 302
    assert removed.exit_code == 0
    # a removed agent's open page stops working at its next request
    assert client.get("/agents/api/queue").status_code == 401
    assert listed.output.strip() == f"a@example.org\tdisabled\t{SHOP}"


# --- the desk's answers -----------------------------------------------------------------------


def test_each_desk_action_on_the_page_answers_what_the_page_reads(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya's open case, and nothing waiting for the worker
    maya, ivy, sam = busy["Maya Ortiz"], busy["Ivy Chen"], busy["Sam Lee"]
    me = agent.get("/agents/api/queue").json["me"]
    rung(app)

    # when an agent takes her case, snoozes it, resolves it (twice), undoes that, and closes
    # it as not a complaint; then takes two more cases and resolves them with hers
    assigned = act(agent, f"incidents/{maya}/assign", {"to": "me"})
    snoozed = act(agent, f"incidents/{maya}/snooze", {"hours": 2})
    rung_after_assign_and_snooze = rung(app)
    resolved = act(agent, f"incidents/{maya}/resolve", {"note": "Refunded."})
    rung_after_resolve = rung(app)
    again = act(agent, f"incidents/{maya}/resolve")
    rung_after_again = rung(app)
    reopened = act(agent, f"incidents/{maya}/reopen")
    rung_after_reopen = rung(app)
    not_one = act(agent, f"incidents/{maya}/not-a-complaint", {})
    rung_after_not_one = rung(app)
    taken = act(agent, "incidents/bulk", {"action": "assign", "ids": [ivy, sam], "to": "me"})
    rung_after_taken = rung(app)
    closed = act(agent, "incidents/bulk", {"action": "resolve", "ids": [ivy, sam, maya, 2**40]})
    rung_after_closed = rung(app)

    # then each answer is what the page reads, never kept by a cache
    assert assigned.json == {"outcome": "assigned", "id": maya, "assigned_to": me}
    assert (snoozed.json["outcome"], snoozed.json["id"]) == ("snoozed", maya)
    assert utcnow() < datetime.fromisoformat(snoozed.json["until"]) <= utcnow() + timedelta(hours=2)
    assert resolved.json == {"outcome": "resolved", "id": maya, "resolved_by": f"page:{me}"}
    # a second click changes nothing, and says so
    assert again.json == {"outcome": "already_closed", "id": maya, "resolved_by": f"page:{me}"}
    assert reopened.json == {"outcome": "reopened", "id": maya}
    assert not_one.json == {"outcome": "not_a_complaint", "id": maya, "resolved_by": f"page:{me}"}
    assert taken.json == {
        "outcome": "done",
        "results": [{"id": ivy, "outcome": "assigned"}, {"id": sam, "outcome": "assigned"}],
    }
    assert closed.json == {
        "outcome": "done",
        "results": [
            {"id": ivy, "outcome": "resolved"},
            {"id": sam, "outcome": "resolved"},
            {"id": maya, "outcome": "already_closed"},
        ],  # an id that is no case of this shop is left out
    }
    for answer in (assigned, snoozed, resolved, again, reopened, not_one, taken, closed):
        assert (answer.status_code, answer.headers["Cache-Control"]) == (200, "no-store")
    # and the worker is rung for what changes Shopify's tags (a close, a reopen), once each
    assert rung_after_assign_and_snooze == []
    assert rung_after_resolve == [maya]
    assert rung_after_again == []
    assert rung_after_reopen == [maya]
    assert rung_after_not_one == [maya]
    assert rung_after_taken == []
    assert rung_after_closed == sorted([ivy, sam])


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("resolve", {"note": "Refunded."}),
        ("not-a-complaint", {}),
        ("reopen", {}),
        ("assign", {"to": "me"}),
        ("snooze", {"hours": 2}),
    ],
)
def test_a_desk_action_on_a_case_this_shop_does_not_have_is_404(
    app: Flask, agent: FlaskClient, busy: dict[str, int], action: str, body: dict[str, Any]
) -> None:
    # given a case id that is no case of this shop
    rung(app)
    # when an agent acts on it with a well-formed request
    answer = act(agent, f"incidents/987654321/{action}", body)
    # then there is no such case, and nothing is rung
    assert (answer.status_code, answer.json) == (404, {"outcome": "not_found"})
    assert rung(app) == []


def test_a_bulk_action_leaves_out_ids_this_shop_does_not_have(
    agent: FlaskClient, busy: dict[str, int]
) -> None:
    answer = act(agent, "incidents/bulk", {"action": "resolve", "ids": [987654321, 2**40]})

    assert (answer.status_code, answer.json) == (200, {"outcome": "done", "results": []})
    assert len(names(agent.get("/agents/api/queue"))) == len(busy)


# The desk's refusals, one contract on every route (and in the admin's blocks, test_blocks):
# 400 for a request Clout cannot read, 404 for no such case, 409 for what the case's state
# refuses; `outcome` always, and the desk's sentence in `detail` when `outcome` is its code.


def trail_of(agent: FlaskClient, incident_id: int) -> list[str]:
    case = agent.get(f"/agents/api/incidents/{incident_id}").json
    return [step["what"] for step in case["trail"]]


@pytest.mark.parametrize(
    ("path", "body", "outcome"),
    [
        ("{sam}/resolve", ["not", "an", "object"], "the body must be a JSON object"),
        ("{sam}/not-a-complaint", {"note": 5}, "note must be text"),
        ("{sam}/reopen", ["not", "an", "object"], "the body must be a JSON object"),
        ("{sam}/assign", {"to": 5}, "to must be text"),
        ("{sam}/assign", {"to": "someone-else"}, 'to must be "me" or empty (nobody)'),
        ("{sam}/snooze", {"hours": "soon"}, "hours must be a number (0 or none: wake it now)"),
        ("bulk", {"action": "resolve", "ids": "all of them"}, "ids must be a list of case ids"),
        ("bulk", {"action": "delete", "ids": ["{sam}"]}, 'action must be "resolve" or "assign"'),
        ("bulk", {"action": "assign", "ids": ["{sam}"], "to": 5}, "to must be text"),
    ],
)
def test_a_desk_request_the_page_cannot_read_is_a_400_saying_why(
    app: Flask, agent: FlaskClient, busy: dict[str, int], path: str, body: Any, outcome: str
) -> None:
    # given Sam's open case, and nothing waiting for the worker
    sam = busy["Sam Lee"]
    if isinstance(body, dict) and body.get("ids") == ["{sam}"]:
        body = {**body, "ids": [sam]}
    rung(app)
    # when the page sends a request Clout cannot read
    answer = act(agent, "incidents/" + path.format(sam=sam), body)
    # then it says what is wrong with it, and the case is as it was
    assert (answer.status_code, answer.json) == (400, {"outcome": outcome})
    assert trail_of(agent, sam) == ["signal"]
    assert rung(app) == []


TOO_LONG = ("note_too_long", "a note is at most 2000 characters")
TOO_LATE = ("snooze_out_of_range", "snooze until a time within the next 14 days")
TOO_MANY = ("bulk_size", "choose between 1 and 100 cases")


@pytest.mark.parametrize(
    ("path", "body", "refusal"),
    [
        ("{sam}/resolve", {"note": "x" * 2_001}, TOO_LONG),
        ("{sam}/not-a-complaint", {"note": "x" * 2_001}, TOO_LONG),
        ("{sam}/snooze", {"hours": 24 * 15}, TOO_LATE),
        ("{sam}/snooze", {"hours": -1}, TOO_LATE),
        ("{sam}/snooze", {"hours": 1e300}, TOO_LATE),  # no overflow, no 500
        ("bulk", {"action": "resolve", "ids": []}, TOO_MANY),
        ("bulk", {"action": "assign", "ids": list(range(1, 102))}, TOO_MANY),
    ],
)
def test_a_value_out_of_the_desks_range_is_a_400_with_the_desks_reason(
    agent: FlaskClient, busy: dict[str, int], path: str, body: Any, refusal: tuple[str, str]
) -> None:
    sam = busy["Sam Lee"]

    answer = act(agent, "incidents/" + path.format(sam=sam), body)

    outcome, detail = refusal
    assert (answer.status_code, answer.json) == (400, {"outcome": outcome, "detail": detail})
    assert trail_of(agent, sam) == ["signal"]


@pytest.mark.parametrize(("action", "body"), [("assign", {"to": "me"}), ("snooze", {"hours": 2})])
def test_assigning_or_snoozing_a_closed_case_is_a_409_with_the_desks_reason(
    app: Flask, agent: FlaskClient, busy: dict[str, int], action: str, body: dict[str, Any]
) -> None:
    # given Maya's case resolved, and nothing waiting for the worker
    maya = busy["Maya Ortiz"]
    assert act(agent, f"incidents/{maya}/resolve").status_code == 200
    rung(app)
    # when an agent asks for what only an open case allows
    answer = act(agent, f"incidents/{maya}/{action}", body)
    # then the case's state refuses it, the desk says why, and nothing changes or is rung
    assert (answer.status_code, answer.json) == (
        409,
        {"outcome": "closed", "detail": "the case is closed"},
    )
    assert answer.headers["Cache-Control"] == "no-store"
    assert trail_of(agent, maya) == ["signal", "resolved"]
    assert rung(app) == []


def test_reopening_an_open_case_is_a_409_with_the_desks_reason(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    sam = busy["Sam Lee"]
    rung(app)

    answer = act(agent, f"incidents/{sam}/reopen")

    assert (answer.status_code, answer.json) == (
        409,
        {"outcome": "already_open", "detail": "the case is open already"},
    )
    assert trail_of(agent, sam) == ["signal"]
    assert rung(app) == []


def test_a_customer_with_hundreds_of_signals_keeps_the_queue_small_and_the_worst_in_view(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya (a critical refund) who then leaves 300 bad reviews on the same open case
    keeps_reviewing(app, SHOP, "Maya", times=300)

    # when an agent's page polls the queue and opens her case
    queue = agent.get("/agents/api/queue")
    case = agent.get(f"/agents/api/incidents/{busy['Maya Ortiz']}")

    # then the queue stays a page's worth: her card shows the worst signal and the latest ones,
    # and says how many there are in all
    assert queue.status_code == 200
    assert len(queue.data) < 30_000
    maya = next(e for e in queue.json["incidents"] if e["customer"]["name"] == "Maya Ortiz")
    assert maya["signal_count"] == 301
    shown = maya["timeline"]
    assert len(shown) == QUEUE_TIMELINE_MOST
    assert shown[0]["sentences"] == ["Arrived broken."]
    assert [s["sentences"] for s in shown[1:]] == [
        [f"Bad review number {n}."] for n in range(300 - QUEUE_TIMELINE_MOST + 1, 300)
    ]
    # and the case shows more of them, each named so the page can put the words beside it
    assert case.status_code == 200
    assert case.json["signal_count"] == 301
    assert len(case.json["timeline"]) == CASE_TIMELINE_MOST
    assert len(case.data) < 100_000
    assert {s["id"] for s in shown} <= {s["id"] for s in case.json["timeline"]}
    assert case.json["timeline"][0]["words"]["source"]


def test_the_page_names_agents_by_their_login_where_a_case_records_their_number(
    agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya's case assigned to the signed-in agent, and Ada's closed by them
    act(agent, f"incidents/{busy['Maya Ortiz']}/assign", {"to": "me"})
    act(agent, f"incidents/{busy['Ada Park']}/resolve", {"note": "Called her."})

    # when the page reads the queue, the resolved cases and Ada's case
    queue = agent.get("/agents/api/queue").json
    resolved = agent.get("/agents/api/resolved").json
    ada = agent.get(f"/agents/api/incidents/{busy['Ada Park']}").json

    # then each answer says who the page's numbers are
    me = queue["me"]
    assert re.fullmatch(r"agent-[0-9]+", me)
    maya = next(e for e in queue["incidents"] if e["customer"]["name"] == "Maya Ortiz")
    assert maya["assigned_to"] == me
    assert queue["people"] == {me: "agent@example.org"}
    assert resolved["incidents"][0]["resolved_by"] == f"page:{me}"
    assert resolved["people"] == {me: "agent@example.org"}
    assert ada["people"] == {me: "agent@example.org"}


def test_the_page_names_no_agent_of_another_store(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given an agent of another store, to whom an operator assigned Maya's case by number
    connect_shop(app, OTHER_SHOP)
    add_agent(app, "elsewhere@example.org", OTHER_SHOP)
    with state(app).sessions() as session:
        from service.core.models import Agent

        elsewhere = session.query(Agent).filter_by(email="elsewhere@example.org").one()
        incident = session.get(Incident, busy["Maya Ortiz"])
        assert incident is not None
        incident.assigned_to = f"agent-{elsewhere.id}"
        session.commit()

    # when this store's agent reads the queue
    queue = agent.get("/agents/api/queue").json

    # then the other store's person is not named to them
    assert "elsewhere@example.org" not in str(queue["people"])


def test_a_cards_newest_signal_is_shown_however_many_worse_ones_it_has(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given Maya (a critical refund), twelve chargebacks, and then a mild review just now
    keeps_reviewing(app, SHOP, "Maya", times=12, severity=Severity.CRITICAL)
    keeps_reviewing(app, SHOP, "Maya", times=1, severity=Severity.LOW, start_in_minutes=60)

    # when the page polls the queue
    queue = agent.get("/agents/api/queue").json

    # then her card shows what just arrived, beside the worst of the rest
    maya = next(e for e in queue["incidents"] if e["customer"]["name"] == "Maya Ortiz")
    assert len(maya["timeline"]) == QUEUE_TIMELINE_MOST
    assert maya["timeline"][-1]["severity"] == "low"
    assert {s["severity"] for s in maya["timeline"][:-1]} == {"critical"}


def test_a_second_agent_closing_a_case_another_closed_is_told_it_was_closed_already(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given two agents with the queue open: the first resolves Maya's case
    add_agent(app, "second@example.org", SHOP)
    second = app.test_client()
    assert log_in(second, "second@example.org").status_code == 302
    maya = busy["Maya Ortiz"]
    first = act(agent, f"incidents/{maya}/resolve", {"note": "Refunded, replacement sent."})
    assert first.json["outcome"] == "resolved"

    # when the second, whose page still shows the case, closes it as not a complaint with a
    # note of her own
    late = act(second, f"incidents/{maya}/not-a-complaint", {"note": "Just a rating slip."})

    # then the answer says it was closed already, by the first agent, as bulk and the admin
    # blocks say it: not "resolved", which the page announces as her own close ("Closed as not
    # a complaint: Maya Ortiz") with an Undo that would reopen the first agent's close, and
    # her note is dropped without a word
    assert late.status_code == 200
    assert late.json["outcome"] == "already_closed", late.json
    assert late.json["resolved_by"] == first.json["resolved_by"]


def test_a_complaint_that_arrives_while_the_agent_reads_is_not_closed_with_her_case(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given an agent reading Maya's case on the page (the queue as of its `now`)
    maya = busy["Maya Ortiz"]
    seen_at = agent.get("/agents/api/queue").json["now"]
    rung(app)
    # and Maya, meanwhile, leaving another bad review: it joins her open case unseen
    later = complains_again(app, SHOP, "Maya", ref="review:while-reading")
    assert later == maya

    # when the agent resolves the case she read, saying when she read it
    closed = act(agent, f"incidents/{maya}/resolve", {"note": "Refunded.", "seen_at": seen_at})

    # then her case is closed as she asked, and the review she never saw is a new open case
    # (the page says so), rung so Shopify keeps the attention tag: no complaint is closed by
    # someone who could not have read it
    assert closed.status_code == 200, closed.json
    assert closed.json["outcome"] == "resolved"
    carried = closed.json["carried_over"]
    assert isinstance(carried, int)
    assert carried != maya
    queue = agent.get("/agents/api/queue").json["incidents"]
    maya_now = [entry for entry in queue if entry["customer"]["name"] == "Maya Ortiz"]
    assert [entry["id"] for entry in maya_now] == [carried]
    assert [item["sentences"] for item in maya_now[0]["timeline"]] == [["Still broken."]]
    assert rung(app) == sorted([maya, carried])


def test_a_bulk_resolve_leaves_what_arrived_after_the_page_was_read_open(
    app: Flask, agent: FlaskClient, busy: dict[str, int]
) -> None:
    # given the queue read, and then a new review on Ivy's case
    ivy, sam = busy["Ivy Chen"], busy["Sam Lee"]
    seen_at = agent.get("/agents/api/queue").json["now"]
    complains_again(app, SHOP, "Ivy", ref="review:bulk-while-reading")

    # when the agent resolves both cases at once
    closed = act(
        agent, "incidents/bulk", {"action": "resolve", "ids": [ivy, sam], "seen_at": seen_at}
    )

    # then both close, and Ivy's new review is an open case of its own, named in the answer
    results = {r["id"]: r for r in closed.json["results"]}
    assert results[sam] == {"id": sam, "outcome": "resolved"}
    assert results[ivy]["outcome"] == "resolved"
    assert results[ivy]["carried_over"] not in (None, ivy)
    assert "Ivy Chen" in names(agent.get("/agents/api/queue"))


@pytest.mark.parametrize("seen_at", ["yesterday", 12, "2026-13-40T00:00:00"])
def test_a_seen_at_the_page_cannot_read_is_a_400(
    agent: FlaskClient, busy: dict[str, int], seen_at: Any
) -> None:
    answer = act(agent, f"incidents/{busy['Maya Ortiz']}/resolve", {"seen_at": seen_at})

    assert answer.status_code == 400
    assert "seen_at" in answer.json["outcome"] + answer.json.get("detail", "")
    assert "Maya Ortiz" in names(agent.get("/agents/api/queue"))
