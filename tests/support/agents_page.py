"""Given-state for the agents' page tests: open incidents as attendance leaves them (signals,
priority, deadline, the influence it decided with, a stored profile), and agent logins."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from service.agents.accounts import save_agent
from service.core.db import session_scope
from service.core.models import Customer, InfluenceProfile, Order, Shop, utcnow
from service.core.vocabulary import Priority, Severity, SignalKind
from service.deliveries.dispatch import FLOOR, fair_queue_of
from service.signals.incidents import SignalDraft, raise_signal
from tests.support.clout import connect_test_shop, state

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    severity: str
    priority: str
    hours_left: float
    clout: float | None = None
    klout: float | None = None
    band: str = "unknown"
    sentence: str = "Arrived broken."
    clout_reasons: tuple[str, ...] = ()


def connect_shop(app: Flask, domain: str) -> Shop:
    return connect_test_shop(app, domain=domain)


def open_case(
    app: Flask, shop_domain: str, case: Case, *, number: int, now: datetime | None = None
) -> int:
    """One unhappy customer with an open incident, decided and tagged; returns the incident id."""
    now = now or utcnow()
    first, _, last = case.name.partition(" ")
    with session_scope(state(app).sessions) as session:
        shop = session.query(Shop).filter_by(domain=shop_domain).one()
        customer = Customer(
            shop_id=shop.id,
            shopify_id=f"gid://shopify/Customer/{9000 + number}",
            first_name=first,
            last_name=last,
            email=f"{first.lower()}@example.org",
            number_of_orders=3,
        )
        order = Order(
            shop_id=shop.id,
            shopify_id=f"gid://shopify/Order/{7000 + number}",
            name=f"#{1000 + number}",
            total_price=Decimal("84.50"),
            currency="EUR",
        )
        session.add_all([customer, order])
        session.flush()
        order.customer_id = customer.id
        raised = raise_signal(
            session=session,
            shop=shop,
            customer=customer,
            order=order,
            draft=SignalDraft(
                kind=SignalKind(case.kind),
                reason=f"{case.kind}_reason",
                severity=Severity(case.severity),
                sentences=(case.sentence,),
                source="shopify",
                source_ref=f"test-{number}",
                occurred_at=now - timedelta(hours=1),
            ),
            now=now,
        )
        incident = raised.incident
        incident.priority = Priority(case.priority)
        incident.deadline_at = now + timedelta(hours=case.hours_left)
        incident.tagged_at = now
        incident.influence = {
            "band": case.band,
            "clout": case.clout,
            "klout": case.klout,
            "reasons": [],
            "raised_by": [],
        }
        incident.needs_attention = False
        incident.attended_at = now
        if case.clout is not None or case.klout is not None:
            session.add(
                InfluenceProfile(
                    shop_id=shop.id,
                    customer_id=customer.id,
                    clout_score=case.clout,
                    klout_score=case.klout,
                    reasons={"clout": list(case.clout_reasons), "klout": []},
                    unknown={"inputs": [] if case.klout is not None else ["social handles"]},
                    complete=True,
                    computed_at=now,
                )
            )
        session.flush()
        return incident.id


def add_agent(app: Flask, email: str, *shops: str) -> None:
    with session_scope(state(app).sessions) as session:
        save_agent(
            session=session, email=email, password=PASSWORD, shop_domains=shops, now=utcnow()
        )


def csrf_of(page: str, field: str = "csrf") -> str:
    found = re.search(rf'name="{field}" value="([^"]+)"', page) or re.search(
        r'data-csrf="([^"]+)"', page
    )
    assert found, "no CSRF token on the page"
    return found.group(1)


def log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    form = client.get("/agents/login").get_data(as_text=True)
    return client.post(
        "/agents/login", data={"email": email, "password": password, "csrf": csrf_of(form)}
    )


def page_csrf(client: FlaskClient) -> str:
    return csrf_of(client.get("/agents").get_data(as_text=True))


BUSY_DAY = (
    Case("Ivy Chen", "review", "high", "high", 20, clout=12, klout=94, band="high"),
    Case(
        "Maya Ortiz",
        "refund",
        "critical",
        "urgent",
        -1.5,
        clout=98,
        klout=None,
        band="high",
        clout_reasons=("brought 5 new customers through referrals",),
    ),
    Case("Sam Lee", "delivery", "normal", "normal", 40, clout=20, klout=10, band="low"),
    Case("Ada Park", "dispute", "critical", "urgent", 2, band="unknown"),
)


def rung(app: Flask) -> list[int]:
    """The cases the worker was rung for since the last look (taken off the queue)."""
    fair = fair_queue_of(app.extensions["celery"])
    assert fair is not None
    found = []
    while (unit := fair.pop()) is not None:
        if unit.lane == FLOOR:
            found.append(unit.item)
    return sorted(found)


def complains_again(app: Flask, shop_domain: str, first_name: str, *, ref: str) -> int:
    """A customer of a busy day unhappy again (a negative review, `ref` its id): the id of the
    case it opens (a new one once their earlier case is closed)."""
    with session_scope(state(app).sessions) as session:
        shop = session.query(Shop).filter_by(domain=shop_domain).one()
        customer = session.query(Customer).filter_by(shop_id=shop.id, first_name=first_name).one()
        return raise_signal(
            session=session,
            shop=shop,
            customer=customer,
            order=None,
            draft=negative_review(ref),
            now=utcnow(),
        ).incident.id


def keeps_reviewing(
    app: Flask,
    shop_domain: str,
    first_name: str,
    *,
    times: int,
    severity: Severity = Severity.HIGH,
    start_in_minutes: float = 0,
) -> None:
    """A customer of a busy day who leaves `times` more bad reviews on their open case, one a
    minute from `start_in_minutes` on (a review app that takes unverified reviews lets anyone
    do this), each read as `severity`."""
    start = utcnow() + timedelta(minutes=start_in_minutes)
    with session_scope(state(app).sessions) as session:
        shop = session.query(Shop).filter_by(domain=shop_domain).one()
        customer = session.query(Customer).filter_by(shop_id=shop.id, first_name=first_name).one()
        for n in range(times):
            draft = replace(
                negative_review(f"review:flood-{severity}-{start_in_minutes}-{n}"),
                severity=severity,
                sentences=(f"Bad review number {n}.",),
                occurred_at=start + timedelta(minutes=n),
                # the last five are 2★, the others 1★: a page that puts the words beside the
                # wrong review shows it
                extra={"stars": 2 if n >= times - 5 else 1},
            )
            raise_signal(
                session=session, shop=shop, customer=customer, order=None, draft=draft, now=start
            )


def negative_review(ref: str) -> SignalDraft:
    """A customer's bad review (`ref` its id) as a signal to raise."""
    return SignalDraft(
        kind=SignalKind.REVIEW,
        reason="review_negative",
        severity=Severity.HIGH,
        sentences=("Still broken.",),
        source="judgeme",
        source_ref=ref,
        occurred_at=utcnow(),
    )
