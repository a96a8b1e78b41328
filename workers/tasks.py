"""Tasks: load by id, call a `service/` function, turn its outcome into a retry or an ack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task

from service import deliveries, shops
from service.db import session_scope
from service.models import Shop, utcnow
from service.shopify_admin import ShopifyAdmin
from service.shopify_budget import CostBudget
from service.state import Clout, clout_state


def _admin_for(state: Clout) -> Callable[[Shop], ShopifyAdmin]:
    def admin(shop: Shop) -> ShopifyAdmin:
        return shops.admin_for(
            shop=shop,
            settings=state.settings,
            vault=state.vault,
            budget=CostBudget(state.redis),
            http=state.http,
        )

    return admin


@shared_task(name=deliveries.PROCESS_TASK, bind=True, max_retries=None)
def process_delivery(self: Any, delivery_id: int) -> str:
    state = clout_state()
    outcome = deliveries.process_delivery(
        sessions=state.sessions,
        delivery_id=int(delivery_id),
        handlers=state.handlers,
        max_attempts=state.settings.delivery_max_attempts,
        stale_after=state.settings.stale_processing_seconds,
        admin_for=_admin_for(state),
    )
    if outcome.retry_in is not None:
        # The row already says `retrying` with its due time: if this message is lost, the
        # sweeper rings again.
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="clout.sweep_deliveries")
def sweep_deliveries() -> int:
    state = clout_state()
    with session_scope(state.sessions) as session:
        due = deliveries.due_for_sweep(
            session=session,
            now=utcnow(),
            after=state.settings.sweep_after_seconds,
            stale_after=state.settings.stale_processing_seconds,
        )
    celery = process_delivery.app
    return sum(deliveries.enqueue_delivery(celery=celery, delivery_id=i) for i in due)


@shared_task(name="clout.purge_payloads")
def purge_payloads() -> int:
    state = clout_state()
    with session_scope(state.sessions) as session:
        return deliveries.purge_payloads(
            session=session, now=utcnow(), retention_days=state.settings.payload_retention_days
        )
