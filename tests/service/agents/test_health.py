"""Above the queue, what keeps the attention floor from reaching the store's people: a tag
Shopify refused, notices that do not arrive. Against the emulator over HTTP and a real
receiving endpoint on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.attention.escalation import deliver_notices
from service.attention.notify import Notifier
from service.core.db import session_scope
from service.core.models import Shop, utcnow
from service.core.shop_settings import change
from tests.service.attention.test_outbox import overdue_case, serving_channel
from tests.service.attention.test_trail import attend, chargeback, the_incident
from tests.support.agents_page import add_agent, connect_shop, log_in
from tests.support.clout import RunningDevStore, state
from tests.support.helpers import SHOP

OTHER_SHOP = "other-shop.myshopify.com"


def agent_of(app: Flask, *shops: str) -> FlaskClient:
    email = f"agent-{len(shops)}-{shops[0]}@example.org"
    add_agent(app, email, *shops)
    client = app.test_client()
    assert log_in(client, email).status_code == 302
    return client


def problems(agent: FlaskClient, shop: str = SHOP) -> list[dict[str, Any]]:
    answer = agent.get(f"/agents/api/health?shop={shop}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json is not None
    assert answer.json["shop"] == shop
    return list(answer.json["problems"])


def escalated_to_slack(clout: Flask, devstore: RunningDevStore, url: str) -> None:
    """An overdue case escalated, its notice sent to the store's Slack at `url`."""
    notifier = Notifier(slack_url=url, private_targets=True)
    overdue_case(clout, devstore, notifier)
    deliver_notices(sessions=state(clout).sessions, notifier=lambda _shop_id: notifier, now=utcnow)


@pytest.fixture
def removed_slack() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """The store's Slack incoming webhook, deleted since: it answers 404."""
    yield from serving_channel("404 Not Found")


def test_a_store_whose_floor_reaches_everyone_shows_nothing(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a case whose tags are in Shopify, and no notice sent
    chargeback(clout, devstore)
    assert attend(clout, the_incident(clout)) == "attended"

    # then the page has nothing to warn about
    assert problems(agent_of(clout, SHOP)) == []


def test_a_tag_shopify_refused_is_shown_with_shopifys_reason(
    clout: Flask, devstore: RunningDevStore
) -> None:
    # given a chargeback whose order and customer already have as many tags as Shopify allows
    full = [f"t{n}" for n in range(250)]
    person, _ = chargeback(clout, devstore, tags=full)
    person.tags = list(full)
    attend(clout, the_incident(clout))

    # when an agent opens the page
    [problem] = problems(agent_of(clout, SHOP))

    # then it says Shopify refused the case's attention tag, why, and what to check
    assert problem["about"] == "tags"
    assert problem["says"].startswith("Shopify refused the attention tag of 1 open case: ")
    assert "Too many tags" in problem["says"]
    assert "that the order or customer still exists" in problem["to_do"]


def test_a_channel_whose_notices_do_not_arrive_is_shown_with_why(
    clout: Flask, devstore: RunningDevStore, removed_slack: tuple[str, list[dict[str, str]]]
) -> None:
    # given an overdue case whose escalation went to a Slack URL the store has since deleted
    url, received = removed_slack
    escalated_to_slack(clout, devstore, url)
    assert len(received) == 1

    # when an agent of the store opens the page, and one of another store does
    mine = problems(agent_of(clout, SHOP))
    connect_shop(clout, OTHER_SHOP)
    theirs = problems(agent_of(clout, OTHER_SHOP), OTHER_SHOP)

    # then this store's agent reads that Slack notices are not arriving, why, and where to
    # mend it, without the address; the other store's agent reads nothing of it
    [problem] = [p for p in mine if p["about"] == "notifications"]
    assert problem["says"] == "Slack notices are not arriving: the channel answered 404 Not Found"
    assert "Settings" in problem["to_do"]
    assert "127.0.0.1" not in str(mine)
    assert theirs == []


def test_a_channel_changed_since_its_failure_is_no_longer_said_to_fail(
    clout: Flask, devstore: RunningDevStore, removed_slack: tuple[str, list[dict[str, str]]]
) -> None:
    # given a Slack notice that failed (the URL was deleted)
    url, _ = removed_slack
    escalated_to_slack(clout, devstore, url)
    sessions = state(clout).sessions
    agent = agent_of(clout, SHOP)
    assert [p["about"] for p in problems(agent)] == ["notifications"]

    # when the merchant puts a new Slack URL in the store's settings
    with session_scope(sessions) as session:
        shop = session.scalars(select(Shop).where(Shop.domain == SHOP)).one()
        change(
            session=session,
            shop_id=shop.id,
            changes={"notify.slack_url": "https://hooks.slack.com/services/T0/B0/new"},
            by="page:agent-1",
            defaults=state(clout).settings,
            vault=state(clout).vault,
            now=utcnow(),
        )

    # then the page no longer says Slack notices fail: the old address's failure says nothing
    # of the new one, and the next notice will tell
    assert problems(agent) == []
