"""The tasks that keep a store's saved views, metafield definitions and segments: the beat rings
one per connected store, a worker makes or mends them in the store's tag names of now (against
the emulator, over HTTP), an unreachable store is retried and a refusal is not; and renaming a
tag on the settings page rings a worker to rewrite the views."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from celery.exceptions import Retry
from flask import Flask

from service.attention.retag import change_settings
from service.attention.workspace import DEFINITIONS
from service.core.db import session_scope
from service.core.models import Shop, utcnow
from service.core.vocabulary import ShopStatus
from service.shopify.history import WORKSPACE_TASK
from service.shopify.shops import register_shop
from tests.support.agents_page import connect_shop
from tests.support.clout import RunningDevStore, connect_test_shop, state
from tests.support.helpers import CLIENT_ID, SHOP, session_token
from workers.tasks import tend_workspace_task, tend_workspaces

OTHER_SHOP = "other-shop.myshopify.com"


def rung(app: Flask) -> list[object]:
    """The shop ids of the workspace tasks waiting in Clout's queue (kombu's format)."""
    found = []
    for message in state(app).redis.lrange("clout", 0, -1):  # type: ignore[union-attr]
        decoded = json.loads(message)
        if decoded["headers"]["task"] == WORKSPACE_TASK:
            args, _kwargs, _embed = json.loads(base64.b64decode(decoded["body"]))
            found.append(args[0])
    return found


@pytest.fixture
def live(make_app: Callable[..., Flask], devstore: RunningDevStore) -> Flask:
    app = make_app(CLOUT_SHOPIFY_ADMIN_URL=devstore.url)
    with session_scope(state(app).sessions) as session:
        register_shop(
            session=session,
            vault=state(app).vault,
            domain=SHOP,
            access_token=devstore.token,
            now=utcnow(),
        )
    return app


def shop_id(app: Flask, domain: str = SHOP) -> int:
    with session_scope(state(app).sessions) as session:
        found = session.query(Shop).filter_by(domain=domain).one()
        return found.id


# --- bad input first --------------------------------------------------------------------------


def test_a_store_that_is_gone_or_uninstalled_is_left_alone(app: Flask, shop: Shop) -> None:
    # given a store that uninstalled Clout
    with session_scope(state(app).sessions) as session:
        session.get(Shop, shop.id).status = ShopStatus.UNINSTALLED  # type: ignore[union-attr]
    # when a worker is asked to tend it, or a store that does not exist
    with app.app_context():
        outcomes = [tend_workspace_task(shop.id), tend_workspace_task(987654)]
    # then nothing is tried
    assert outcomes == ["shop-inactive", "shop-inactive"]


def test_a_store_shopify_cannot_be_reached_for_is_tried_again_later(app: Flask, shop: Shop) -> None:
    # given the test settings' Admin API address, where nothing listens
    # when a worker tends the store
    with app.app_context(), pytest.raises(Retry):
        tend_workspace_task(shop.id)
    # then the task is retried, not given up


def test_a_store_that_revoked_the_token_is_a_refusal_not_a_retry(
    live: Flask, devstore: RunningDevStore
) -> None:
    devstore.store.tokens.discard(devstore.token)
    with live.app_context():
        assert tend_workspace_task(shop_id(live)) == "refused"
    assert devstore.store.saved_searches == []


# --- the work ---------------------------------------------------------------------------------


def test_the_beat_rings_one_task_per_connected_store(app: Flask, shop: Shop) -> None:
    # given two connected stores and one that uninstalled Clout
    other = connect_test_shop(app, domain=OTHER_SHOP)
    gone = connect_test_shop(app, domain="gone-shop.myshopify.com")
    with session_scope(state(app).sessions) as session:
        session.get(Shop, gone.id).status = ShopStatus.UNINSTALLED  # type: ignore[union-attr]
    # when the beat's task runs
    with app.app_context():
        count = tend_workspaces()
    # then a worker is asked to tend each connected store once
    assert count == 2
    assert sorted(rung(app)) == sorted([shop.id, other.id])  # type: ignore[type-var]


def test_a_worker_makes_the_workspace_once_and_mends_what_was_deleted(
    live: Flask, devstore: RunningDevStore
) -> None:
    # given a connected store with nothing of Clout's in its admin
    # when a worker tends it, twice
    with live.app_context():
        first = tend_workspace_task(shop_id(live))
        made = (len(devstore.store.saved_searches), len(devstore.store.segments))
        second = tend_workspace_task(shop_id(live))
    # then the views, definitions and segments are made once, not twice
    assert first == second == "in-order"
    assert made == (4, 2)
    assert len(devstore.store.saved_searches) == 4
    assert len(devstore.store.segments) == 2
    clouts = [d for d in devstore.store.metafield_definitions if d["namespace"] == "clout"]
    assert len(clouts) == len(DEFINITIONS)

    # and when the merchant deletes a view, the next round puts it back
    devstore.store.saved_searches = devstore.store.saved_searches[1:]
    with live.app_context():
        assert tend_workspace_task(shop_id(live)) == "in-order"
    assert len(devstore.store.saved_searches) == 4


def test_a_worker_writes_the_views_in_the_stores_own_tag_name(
    live: Flask, devstore: RunningDevStore
) -> None:
    # given a store whose attention tag is its own
    with live.app_context():
        tend_workspace_task(shop_id(live))
    store = shop_id(live)
    with session_scope(state(live).sessions) as session:  # changed as the CLI does
        change_settings(
            session=session,
            shop_id=store,
            changes={"attention_tag": "needs-care"},
            by="cli:test",
            defaults=state(live).settings,
            vault=state(live).vault,
            now=utcnow(),
        )
    # when a worker tends it
    with live.app_context():
        assert tend_workspace_task(shop_id(live)) == "in-order"
    # then its views filter on that tag
    queries = {s["name"]: s["query"] for s in devstore.store.saved_searches}
    assert "needs-care" in queries["Clout · needs attention"]
    assert "clout-attention" not in queries["Clout · needs attention"]


# --- the settings page rings it ---------------------------------------------------------------


@pytest.fixture
def embedded(make_app: Callable[..., Flask]) -> Flask:
    app = make_app(SHOPIFY_API_KEY=CLIENT_ID)
    connect_shop(app, SHOP)
    return app


def staff() -> dict[str, str]:
    return {"Authorization": f"Bearer {session_token()}"}


def test_renaming_a_tag_on_the_settings_page_rings_a_worker_to_rewrite_the_views(
    embedded: Flask,
) -> None:
    # given a store's settings page in the admin
    client = embedded.test_client()
    # when staff change a deadline, then the resolved tag's name
    deadline = client.post(
        "/app/api/settings", json={"changes": {"deadline.high": "12"}}, headers=staff()
    )
    queued_after_deadline = rung(embedded)
    renamed = client.post(
        "/app/api/settings", json={"changes": {"resolved_tag": "all-good"}}, headers=staff()
    )
    # then only the tag's new name asks a worker to rewrite the views, for this store
    assert (deadline.status_code, renamed.status_code) == (200, 200)
    assert queued_after_deadline == []
    assert rung(embedded) == [shop_id(embedded)]
