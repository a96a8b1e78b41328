"""The operator's endpoints and logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import CONTENT_TYPE_LATEST

from service.core.models import Shop
from tests.support.clout import record_delivery_now
from tests.support.helpers import fixture_bytes, shopify_headers, wait_for


def test_healthz_answers_while_the_process_is_alive(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_reports_database_and_redis(client: FlaskClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json["checks"] == {"database": True, "redis": True}


def test_readyz_is_503_when_redis_is_unreachable(make_app: Callable[..., Flask]) -> None:
    app = make_app(CLOUT_REDIS_URL="redis://127.0.0.1:1/0")

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["checks"] == {"database": True, "redis": False}


def test_metrics_show_outcomes_queue_depth_and_lag(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    body = fixture_bytes("shopify/orders_create.json")
    client.post("/webhooks/shopify", data=body, headers=shopify_headers("orders/create", body))

    answer = client.get("/metrics")
    text = answer.get_data(as_text=True)

    # Prometheus's own content type, said once (a scraper parses it)
    assert answer.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert answer.headers["Content-Type"].count("charset") == 1
    assert 'clout_deliveries{source="shopify",status="received",topic="orders/create"} 1.0' in text
    assert "clout_queue_depth 1.0" in text
    lag = next(
        line for line in text.splitlines() if line.startswith("clout_processing_lag_seconds ")
    )
    assert float(lag.split()[1]) >= 0.0
    assert 'clout_up{dependency="redis"} 1.0' in text


def test_a_review_platforms_event_names_cannot_grow_the_metrics_without_end(
    client: FlaskClient, app: Flask, shop: Shop
) -> None:
    # given review deliveries whose bodies name their event freely (the body is the sender's)
    events = ["review/created", "review/updated", "review_delete", *(f"x{n}" for n in range(50))]
    for event in events:
        record_delivery_now(app, topic=event, source="judgeme", payload={"event": event})

    # when the operator's Prometheus scrapes
    text = client.get("/metrics").get_data(as_text=True)

    # then a review platform's deliveries are counted under what the event does, not its name
    series = [
        line for line in text.splitlines() if line.startswith('clout_deliveries{source="judgeme"')
    ]
    assert sorted(series) == [
        'clout_deliveries{source="judgeme",status="received",topic="review/created"} 51.0',
        'clout_deliveries{source="judgeme",status="received",topic="review/deleted"} 1.0',
        'clout_deliveries{source="judgeme",status="received",topic="review/updated"} 1.0',
    ]


def test_logs_carry_ids_but_no_customer_personal_data(
    client: FlaskClient, app: Flask, shop: Shop, worker: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    # given Shopify's sample order, full of a customer's personal data
    body = fixture_bytes("shopify/orders_create.json")
    response = client.post(
        "/webhooks/shopify", data=body, headers=shopify_headers("orders/create", body)
    )
    delivery_id = response.json["delivery_id"]
    logged = ""

    def processed() -> bool:
        nonlocal logged
        logged += capfd.readouterr().err
        return "delivery_processed" in logged

    wait_for(processed)

    # then what was logged names the delivery and none of the person
    assert f'"delivery_id": {delivery_id}' in logged
    for personal in (
        "jon@example.com",
        "john@example.com",
        "John",
        "Smith",
        "Elm St",
        "K2H7A8",
        "555-555-SHIP",
        "shpat_test_token",
    ):
        assert personal not in logged


ELSEWHERE = {"REMOTE_ADDR": "203.0.113.9"}


def test_without_a_token_metrics_answer_only_this_machine(client: FlaskClient) -> None:
    # given no CLOUT_METRICS_TOKEN: a Prometheus on this machine, or `curl` in a terminal here
    here = client.get("/metrics")
    here_v6 = client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"})
    elsewhere = client.get("/metrics", environ_base=ELSEWHERE)
    # a proxy on this machine forwards requests from anywhere: those are not this machine's
    through_a_proxy = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})

    assert (here.status_code, here_v6.status_code) == (200, 200)
    assert elsewhere.status_code == 403
    assert "CLOUT_METRICS_TOKEN" in elsewhere.json["detail"]
    assert through_a_proxy.status_code == 403


@pytest.mark.parametrize(
    "header",
    [
        "X-Real-IP",
        "True-Client-IP",
        "Client-IP",
        "X-Client-IP",
        "X-Forwarded",
        "X-Forwarded-Host",
        "X-Cluster-Client-IP",
        "CF-Connecting-IP",
        "Fastly-Client-IP",
        "Via",
    ],
)
def test_without_a_token_any_proxys_mark_means_not_this_machine(
    client: FlaskClient, header: str
) -> None:
    # given a proxy on this machine that names the client its own way (nginx's X-Real-IP, a
    # CDN's, a Via line), forwarding requests from anywhere
    through_a_proxy = client.get("/metrics", headers={header: "203.0.113.9"})

    # then it is not this machine asking
    assert through_a_proxy.status_code == 403


def test_with_a_token_metrics_need_it_from_anywhere(make_app: Callable[..., Flask]) -> None:
    client = make_app(CLOUT_METRICS_TOKEN="scrape-me-0123456789").test_client()

    missing = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-é"})
    right = client.get(
        "/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"}, environ_base=ELSEWHERE
    )

    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert "clout_up" in right.get_data(as_text=True)


def test_health_and_readiness_stay_open_to_anyone(make_app: Callable[..., Flask]) -> None:
    client = make_app(CLOUT_METRICS_TOKEN="scrape-me-0123456789").test_client()

    assert client.get("/healthz", environ_base=ELSEWHERE).status_code == 200
    assert client.get("/readyz", environ_base=ELSEWHERE).status_code == 200
