"""The Shopify Flow action "Resolve the Clout case" (`extensions/resolve-clout-case`): a
merchant's workflow closes a customer's open case, for instance once a refund went out or a
support ticket was solved elsewhere.

Flow POSTs the action's fields signed like a webhook (`webhooks/flow_actions.py` checks the
signature on the raw bytes); this reads what it sent and closes the case through the desk
(`desk.close_case`), so the trail says a workflow did it (`flow:<action run id>`, the id Flow's
own run log shows) and Shopify gets the resolved tag as when a person resolves it. Flow retries
an action with the same run id: every run is recorded with its answer (`FlowRun`), and the same
run again gets that answer and changes nothing, so a retry is harmless, however late, and a
replayed request cannot close the customer's newer case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.agents.blocks import case_on_page
from service.agents.desk import Done, close_case
from service.core.models import FlowRun, Shop, SpentFlowRun
from service.shopify.shops import is_shop_domain

HANDLE = "resolve-clout-case"  # the extension's handle, sent back by Flow in every request
FLOW = "flow:"
_RUN_ID = re.compile(r"[A-Za-z0-9-]{1,59}")
_CUSTOMER_ID = re.compile(r"(?:gid://shopify/Customer/)?([1-9][0-9]{0,18})")


class FlowActionInvalid(ValueError):
    """A request that is not the action Clout declared (Flow will not retry a 400)."""


@dataclass(frozen=True)
class FlowAction:
    shop: str
    run_id: str
    customer_gid: str
    note: str | None
    not_a_complaint: bool


def read_flow_action(body: Mapping[str, Any]) -> FlowAction:
    """What a Flow action request asks, checked whole before anything uses it."""
    if body.get("handle") != HANDLE:
        raise FlowActionInvalid(f"handle must be {HANDLE}")
    shop = body.get("shopify_domain")
    if not isinstance(shop, str) or not is_shop_domain(shop):
        raise FlowActionInvalid("shopify_domain must be a *.myshopify.com domain")
    run_id = body.get("action_run_id")
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise FlowActionInvalid("action_run_id is missing or not Flow's")
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise FlowActionInvalid("properties must be an object")
    customer = properties.get("customer_id")
    if isinstance(customer, int) and not isinstance(customer, bool):
        customer = str(customer)
    found = _CUSTOMER_ID.fullmatch(customer) if isinstance(customer, str) else None
    if found is None:
        raise FlowActionInvalid("properties.customer_id must name a customer")
    note = properties.get("note")
    if note is not None and not isinstance(note, str):
        raise FlowActionInvalid("properties.note must be text")
    flag = properties.get("not_a_complaint", False)
    if not isinstance(flag, bool):
        raise FlowActionInvalid("properties.not_a_complaint must be true or false")
    return FlowAction(
        shop=shop,
        run_id=run_id,
        customer_gid=f"gid://shopify/Customer/{found.group(1)}",
        note=note,
        not_a_complaint=flag,
    )


def resolve_for_flow(
    *, session: Session, shop: Shop, action: FlowAction, now: datetime
) -> Done | None:
    """Close the customer's open case as the workflow asked. None: Clout has no case for this
    customer (nothing to do is not a failure of the merchant's workflow)."""
    earlier = session.scalar(
        select(FlowRun).where(FlowRun.shop_id == shop.id, FlowRun.run_id == action.run_id)
    )
    if earlier is not None:
        # A retry or a replay: the same answer, nothing changed (never the customer's newer
        # case, which this run was not about).
        if earlier.incident_id is None:
            return None
        return Done(incident_id=earlier.incident_id, outcome="already_closed")
    spent = SpentFlowRun.key_of(shop_domain=shop.domain, run_id=action.run_id)
    if session.get(SpentFlowRun, spent) is not None:
        # A run of an install the store's erasure took: it was acted on then, never again.
        return None
    incident_id = case_on_page(session=session, shop=shop, owner_gid=action.customer_gid)
    done = None
    if incident_id is not None:
        done = close_case(
            session=session,
            shop=shop,
            incident_id=incident_id,
            by=FLOW + action.run_id,
            now=now,
            note=action.note,
            not_a_complaint=action.not_a_complaint,
        )
    # Unique per shop and run: of two copies of one request at once, one is recorded and the
    # other fails to commit, is answered 503, and Flow's retry reads this answer.
    session.add(
        FlowRun(
            shop_id=shop.id,
            run_id=action.run_id,
            incident_id=done.incident_id if done else None,
            outcome=done.outcome if done else "no_case",
            at=now,
        )
    )
    session.flush()
    return done
