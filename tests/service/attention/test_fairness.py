"""The fairness report: time to tag and to resolution by influence band, with a warning when
customers with less influence wait longer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from service.attention.fairness import fairness, warnings
from service.cli import main
from service.core.db import session_scope
from service.core.models import Customer, Incident, Shop, utcnow
from tests.support.clout import state


def an_incident(
    session: Any, shop: Shop, n: int, band: str, *, to_tag: float, to_resolve: float
) -> None:
    customer = Customer(shop_id=shop.id, shopify_id=f"gid://shopify/Customer/{n}")
    session.add(customer)
    session.flush()
    opened = utcnow() - timedelta(days=2)
    session.add(
        Incident(
            shop_id=shop.id,
            customer_id=customer.id,
            status="resolved",
            severity="normal",
            opened_at=opened,
            first_seen_at=opened,
            tagged_at=opened + timedelta(seconds=to_tag),
            resolved_at=opened + timedelta(hours=to_resolve),
            influence={"band": band},
        )
    )


def test_low_influence_customers_waiting_longer_is_reported(
    app: Flask, shop: Shop, settings: dict[str, Any]
) -> None:
    clout = state(app)
    with session_scope(clout.sessions) as session:
        stored = session.scalars(select(Shop)).one()
        for n in range(3):
            an_incident(session, stored, 10 + n, "high", to_tag=2, to_resolve=4)
            an_incident(session, stored, 20 + n, "low", to_tag=2, to_resolve=30)

    with clout.sessions() as session:
        figures = {f.band: f for f in fairness(session=session)}
        found = warnings(list(figures.values()))

    assert figures["high"].median_to_resolve_hours == 4
    assert figures["low"].median_to_resolve_hours == 30
    assert found == [
        "customers with low influence wait 7.5× as long for a resolution as high-influence ones"
    ]
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    result = CliRunner(env=env).invoke(main, ["report", "fairness"])
    assert result.exit_code == 0, result.output
    assert "WARNING: customers with low influence wait 7.5× as long" in result.output
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'clout_time_to_resolution_hours{band="low"} 30.0' in metrics


def test_a_band_of_one_or_two_cases_is_too_few_to_warn_about(
    app: Flask, shop: Shop, settings: dict[str, Any]
) -> None:
    # given two cases a band, the low band's resolved in 30 minutes, the high band's in 5
    clout = state(app)
    with session_scope(clout.sessions) as session:
        stored = session.scalars(select(Shop)).one()
        for n in range(2):
            an_incident(session, stored, 10 + n, "high", to_tag=2, to_resolve=5 / 60)
            an_incident(session, stored, 20 + n, "medium", to_tag=2, to_resolve=0.5)

    # when the operator asks for the fairness report
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    result = CliRunner(env=env).invoke(main, ["report", "fairness"])

    # then no warning is raised on two cases, the times are shown in minutes (not "0.0 h"),
    # and the report says why nothing is compared
    assert result.exit_code == 0, result.output
    assert "WARNING" not in result.output
    assert "0.0 h" not in result.output
    assert "30 min" in result.output
    assert "too few" in result.output


def test_the_report_is_one_stores_when_asked_and_says_when_it_pools_several(
    app: Flask, shop: Shop, settings: dict[str, Any]
) -> None:
    # given two stores on one install: this one's low-influence customers wait 30 h, the
    # other's are answered as fast as anyone
    clout = state(app)
    with session_scope(clout.sessions) as session:
        here = session.scalars(select(Shop)).one()
        other = Shop(domain="other-shop.myshopify.com")
        session.add(other)
        session.flush()
        for n in range(3):
            an_incident(session, here, 10 + n, "high", to_tag=2, to_resolve=4)
            an_incident(session, here, 20 + n, "low", to_tag=2, to_resolve=30)
            an_incident(session, other, 30 + n, "high", to_tag=2, to_resolve=4)
            an_incident(session, other, 40 + n, "low", to_tag=2, to_resolve=4)
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}

    # when the operator asks for each store's report, and for the whole install's
    this_store = CliRunner(env=env).invoke(main, ["report", "fairness", "--shop", here.domain])
    the_other = CliRunner(env=env).invoke(main, ["report", "fairness", "--shop", other.domain])
    pooled = CliRunner(env=env).invoke(main, ["report", "fairness"])

    # then each store's warning is its own, and the pooled report says it pools
    assert this_store.exit_code == 0, this_store.output
    assert "WARNING: customers with low influence wait 7.5× as long" in this_store.output
    assert "WARNING" not in the_other.output
    assert pooled.output.startswith("All 2 stores together (--shop SHOP for one):")
