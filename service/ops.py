"""Operator endpoints: /healthz (alive), /readyz (database and Redis reachable), /metrics.

/healthz and /readyz answer anyone (they say nothing but up or down). /metrics tells how many
deliveries each shop's topics brought, what is failing and what is waiting: with
CLOUT_METRICS_TOKEN set it needs `Authorization: Bearer <token>` from everywhere; without one,
only a request made on this machine directly (a loopback address, and no header a proxy names
the client by, `PROXY_HEADERS` or X-Forwarded-*: a proxy here forwards requests from anywhere)
is answered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import redis
from flask import Blueprint, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.attention.fairness import fairness
from service.attention.pending import pending_figures
from service.core.crypto import same_secret
from service.core.models import utcnow
from service.core.state import REJECTIONS_KEY, Clout, clout_state
from service.deliveries.dispatch import waiting_in_broker
from service.deliveries.lifecycle import QUEUE, delivery_stats

blueprint = Blueprint("ops", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    return jsonify(status="ok"), 200


def database_ok(state: Clout) -> bool:
    try:
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


def redis_ok(state: Clout) -> bool:
    try:
        return bool(state.redis.ping())
    except redis.RedisError:
        return False


OPENAPI = Path(__file__).with_name("openapi.json")


@blueprint.get("/openapi.json")
def openapi() -> Response:
    """The description of Clout's HTTP endpoints (what schemathesis exercises in the tests)."""
    return Response(OPENAPI.read_bytes(), mimetype="application/json")


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    state = clout_state()
    checks = {"database": database_ok(state), "redis": redis_ok(state)}
    ready = all(checks.values())
    return jsonify(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503


class DeliveryCollector(Collector):
    """Figures read at scrape time from the database and Redis, so they are right however many
    web and worker processes there are."""

    def __init__(self, state: Clout) -> None:
        self.state = state

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        up = GaugeMetricFamily("clout_up", "1 when the dependency answers", labels=["dependency"])
        up.add_metric(["database"], 1.0 if database_ok(self.state) else 0.0)
        up.add_metric(["redis"], 1.0 if redis_ok(self.state) else 0.0)
        yield up
        yield from self._deliveries()
        yield from self._pending()
        yield from self._fairness()
        yield from self._redis_figures()

    def _pending(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.state.sessions() as session:
                figures = pending_figures(session=session, now=utcnow())
        except SQLAlchemyError:
            return
        pending = GaugeMetricFamily(
            "clout_attention_pending",
            "Open cases whose attention tag has not reached Shopify yet",
        )
        pending.add_metric([], float(figures.count))
        yield pending
        oldest = GaugeMetricFamily(
            "clout_attention_pending_oldest_seconds",
            "How long the oldest of those has waited (0 when none)",
        )
        oldest.add_metric([], figures.oldest_seconds)
        yield oldest

    def _fairness(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.state.sessions() as session:
                figures = fairness(session=session, since=utcnow() - timedelta(days=30))
        except SQLAlchemyError:
            return
        to_tag = GaugeMetricFamily(
            "clout_time_to_tag_seconds",
            "Median seconds from the first delivery to the attention tag, "
            "by influence band (30 days)",
            labels=["band"],
        )
        to_resolve = GaugeMetricFamily(
            "clout_time_to_resolution_hours",
            "Median hours from an incident opening to its resolution, by influence band (30 days)",
            labels=["band"],
        )
        for figure in figures:
            if figure.median_to_tag_seconds is not None:
                to_tag.add_metric([figure.band], figure.median_to_tag_seconds)
            if figure.median_to_resolve_hours is not None:
                to_resolve.add_metric([figure.band], figure.median_to_resolve_hours)
        yield to_tag
        yield to_resolve

    def _deliveries(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.state.sessions() as session:
                stats = delivery_stats(session=session, now=utcnow())
        except SQLAlchemyError:
            return
        deliveries = GaugeMetricFamily(
            "clout_deliveries",
            "Deliveries held, by sender, topic and outcome (received, processing, retrying, "
            "done, failed, dead, ignored)",
            labels=["source", "topic", "status"],
        )
        series: Counter[tuple[str, str, str]] = Counter()
        for (source, topic, status), count in stats.by_topic_status.items():
            series[source, topic if source == "shopify" else review_event(topic), status] += count
        for labels, count in sorted(series.items()):
            deliveries.add_metric(list(labels), count)
        yield deliveries
        lag = GaugeMetricFamily(
            "clout_processing_lag_seconds",
            "Age of the oldest delivery not yet processed (0 when none is waiting)",
        )
        lag.add_metric([], stats.oldest_pending_age or 0.0)
        yield lag

    def _redis_figures(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        try:
            depth = waiting_in_broker(self.state.redis, QUEUE)
            rejections = self.state.redis.hgetall(REJECTIONS_KEY)
        except redis.RedisError:
            return
        queue = GaugeMetricFamily("clout_queue_depth", "Tasks waiting in the broker queue")
        queue.add_metric([], float(depth))
        yield queue
        turned = CounterMetricFamily(
            "clout_intake_not_recorded",
            "Deliveries answered without being recorded, by sender and reason "
            "(unauthorized, bad_request, too_large, unhandled_topic, unknown_shop, unavailable)",
            labels=["source", "reason"],
        )
        for key, value in sorted(rejections.items()):
            source, _, reason = (key.decode() if isinstance(key, bytes) else key).partition("|")
            turned.add_metric([source, reason], float(value))
        yield turned


LOOPBACK = ("127.0.0.1", "::1")
# The headers a proxy or a CDN names the client by: any of them on a request from this machine
# means a proxy here forwarded it, from anywhere (nginx's X-Real-IP as much as X-Forwarded-For).
# A plain TCP forward (socat, `ssh -R`) adds none: CLOUT_METRICS_TOKEN is the answer there.
PROXY_HEADERS = (
    "Forwarded",
    "X-Real-IP",
    "True-Client-IP",
    "Client-IP",
    "X-Client-IP",
    "X-Cluster-Client-IP",
    "CF-Connecting-IP",
    "Fastly-Client-IP",
    "Via",
)


def review_event(topic: str) -> str:
    """A review delivery's topic as a metric label. The topic is the body's own event name
    (any text up to 100 characters), and each distinct one would be a series of its own for as
    long as its deliveries are kept: the label says what the event does instead."""
    named = topic.lower()
    if "delete" in named:
        return "review/deleted"
    return "review/updated" if "update" in named else "review/created"


def metrics_refusal(token: str | None) -> tuple[Response, int] | None:
    """Why this request may not read /metrics, or None when it may."""
    if token is not None:
        given = request.headers.get("Authorization", "")
        if given.startswith("Bearer ") and same_secret(given.removeprefix("Bearer "), token):
            return None
        refusal = jsonify(outcome="unauthorized", detail="Authorization: Bearer <token> needed")
        refusal.headers["WWW-Authenticate"] = 'Bearer realm="clout-metrics"'
        return refusal, 401
    forwarded = any(request.headers.get(name) is not None for name in PROXY_HEADERS) or any(
        name.lower().startswith("x-forwarded")
        for name in request.headers.keys()  # noqa: SIM118
    )
    if request.remote_addr in LOOPBACK and not forwarded:
        return None
    return jsonify(
        outcome="forbidden",
        detail="only this machine may read /metrics: set CLOUT_METRICS_TOKEN to scrape it "
        "from elsewhere (Authorization: Bearer <token>)",
    ), 403


@blueprint.get("/metrics")
def metrics() -> Response | tuple[Response, int]:
    state = clout_state()
    refused = metrics_refusal(state.settings.metrics_token)
    if refused is not None:
        return refused
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeliveryCollector(state))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
