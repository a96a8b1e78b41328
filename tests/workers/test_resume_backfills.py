"""The beat's part in history imports: an unfinished import with no live chain of tasks is rung
again; one a chain still carries is left to it, and a finished one is done with."""

from __future__ import annotations

import base64
import json

from flask import Flask

from service.core.db import session_scope
from service.core.models import Backfill, Shop, utcnow
from tests.support.clout import connect_test_shop, state
from workers.tasks import _backfill_key, resume_backfills


def queued(app: Flask) -> list[tuple[str, object]]:
    """(task, first argument) of each message waiting in Clout's queue (kombu's format)."""
    found = []
    for message in state(app).redis.lrange("clout", 0, -1):  # type: ignore[union-attr]
        decoded = json.loads(message)
        args, _kwargs, _embed = json.loads(base64.b64decode(decoded["body"]))
        found.append((decoded["headers"]["task"], args[0]))
    return found


def test_an_import_without_a_live_chain_is_rung_and_one_with_a_chain_is_left_alone(
    app: Flask, shop: Shop
) -> None:
    other = connect_test_shop(app, domain="other-shop.myshopify.com")
    with session_scope(state(app).sessions) as session:
        orphan = Backfill(shop_id=shop.id, status="importing")
        carried = Backfill(shop_id=other.id, status="running")
        finished = Backfill(shop_id=other.id, status="completed", finished_at=utcnow())
        session.add_all([orphan, carried, finished])
    state(app).redis.set(_backfill_key(carried.id), "chain-1")

    with app.app_context():
        rung = resume_backfills()

    assert rung == 1
    assert queued(app) == [("clout.backfill", orphan.id)]
