"""Clout's blocks on the order and customer pages of the Shopify admin (the admin UI extension
in `extensions/clout-case-block`): the case at a glance, and the desk's actions on it.

The block runs in Shopify's admin, on Shopify's extension origin, and calls Clout with the
session token Shopify gives it (`shopify.session_tokens`, read strictly: another shop's token,
an expired or forged one proves nobody). What it shows is the agents' page's own view of a
case (`queue.case_in_full`); what it does goes through the desk (`desk.close_case`,
`desk.reopen_case`, `desk.assign_case`), so a case closed or reopened from a block is recorded
with the staff member's name and gets the same tags in Shopify as on the agents' page.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from service.agents.desk import DeskRefused, assign_case, close_case, reopen_case
from service.agents.queue import case_in_full
from service.agents.views import Refused, Viewer, no_store
from service.core.db import session_scope
from service.core.logs import get_logger
from service.core.models import Customer, Incident, Order, Shop, Signal, utcnow
from service.core.state import clout_state
from service.core.vocabulary import IncidentStatus, ShopStatus
from service.deliveries.lifecycle import enqueue_attention
from service.shopify.session_tokens import SessionTokenRefused, bearer_token, read_session_token
from service.shopify.shops import find_shop

log = get_logger(__name__)
blueprint = Blueprint("admin_blocks", __name__, url_prefix="/admin-blocks/api")
ADMIN = "admin:"  # who the trail records for an action taken in a block: admin:staff-<id>
# The block runs on Shopify's extension origin, not Clout's: it may call, with its token in a
# header (never a cookie, so no origin needs trusting for credentials).
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Expose-Headers": "X-Shopify-Retry-Invalid-Session-Request",
    "Access-Control-Max-Age": "7200",
}


# --- which case a page shows ------------------------------------------------------------------


def case_on_page(*, session: Session, shop: Shop, owner_gid: str) -> int | None:
    """The case a block on an order's or a customer's page shows: the customer's open case, or
    else their latest closed one; for an order, a case with a signal on that order counts too
    (a dispute on a guest checkout is on a stand-in customer). None when there is none."""
    if owner_gid.startswith("gid://shopify/Order/"):
        order = session.scalar(
            select(Order).where(Order.shop_id == shop.id, Order.shopify_id == owner_gid)
        )
        if order is None:
            return None
        on_order = Incident.id.in_(select(Signal.incident_id).where(Signal.order_id == order.id))
        which = (
            or_(on_order, Incident.customer_id == order.customer_id)
            if order.customer_id is not None
            else on_order
        )
    else:
        customer = session.scalar(
            select(Customer).where(Customer.shop_id == shop.id, Customer.shopify_id == owner_gid)
        )
        if customer is None:
            return None
        which = Incident.customer_id == customer.id
    return session.scalar(
        select(Incident.id)
        .where(Incident.shop_id == shop.id, which)
        .order_by(
            case((Incident.status == IncidentStatus.OPEN, 0), else_=1),
            Incident.opened_at.desc(),
            Incident.id.desc(),
        )
        .limit(1)
    )


# --- who is asking ----------------------------------------------------------------------------


@blueprint.errorhandler(Refused)
def refused(error: Refused) -> tuple[Response, int, dict[str, str]]:
    return jsonify(outcome=error.outcome), error.status, error.headers


@blueprint.after_request
def cors(response: Response) -> Response:
    response.headers.update(CORS)
    return no_store(response)


def staff_viewer() -> Viewer:
    """The staff member a block's session token names, in a shop connected to Clout."""
    state = clout_state()
    try:
        staff = read_session_token(
            token=bearer_token(request.headers.get("Authorization")),
            api_key=state.settings.shopify_api_key,
            secrets=state.settings.webhook_secrets,
            now=time.time(),
        )
    except SessionTokenRefused as refusal:
        log.info("block_token_refused", code=refusal.code)
        if refusal.code == "app_not_configured":
            raise Refused(503, "unavailable") from None
        # Shopify's admin fetches a fresh token and tries once more on this header.
        retry = {"X-Shopify-Retry-Invalid-Session-Request": "1"}
        raise Refused(401, "unauthorized", retry) from None
    with session_scope(state.sessions) as db:
        shop = find_shop(session=db, domain=staff.shop)
        if shop is None or shop.status != ShopStatus.ACTIVE:
            raise Refused(403, "shop_not_installed")
        db.expunge(shop)
    return Viewer(shop=shop, who=f"staff-{staff.user_id}", by_login=False)


# --- the case ---------------------------------------------------------------------------------


def _case_of(owner_gid: str) -> Response:
    viewer = staff_viewer()
    with session_scope(clout_state().sessions) as db:
        incident_id = case_on_page(session=db, shop=viewer.shop, owner_gid=owner_gid)
        found = (
            None
            if incident_id is None
            else case_in_full(session=db, shop=viewer.shop, incident_id=incident_id, now=utcnow())
        )
    return jsonify(me=viewer.who, case=found)


@blueprint.get("/orders/<id:order_id>/case")
def order_case(order_id: int) -> Response:
    return _case_of(f"gid://shopify/Order/{order_id}")


@blueprint.get("/customers/<id:customer_id>/case")
def customer_case(customer_id: int) -> Response:
    return _case_of(f"gid://shopify/Customer/{customer_id}")


# --- the desk's actions -----------------------------------------------------------------------


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise Refused(400, f"{name} must be text")
    return value


def _close(incident_id: int, *, not_a_complaint: bool) -> tuple[Response, int]:
    viewer = staff_viewer()
    note = _text(_body(), "note")
    try:
        with session_scope(clout_state().sessions) as db:
            done = close_case(
                session=db,
                shop=viewer.shop,
                incident_id=incident_id,
                by=ADMIN + viewer.who,
                now=utcnow(),
                note=note,
                not_a_complaint=not_a_complaint,
            )
    except DeskRefused as error:
        raise Refused(400, str(error)) from error
    if done is None:
        raise Refused(404, "not_found")
    if done.outcome != "already_closed":
        # After the commit: the worker takes Clout's tags off and adds the resolved tag.
        enqueue_attention(
            celery=current_app.extensions["celery"],
            incident_id=done.incident_id,
            shop=viewer.shop.domain,
        )
    log.info("incident_closed_in_block", incident_id=incident_id, by=viewer.who, how=done.outcome)
    return jsonify(outcome=done.outcome, id=incident_id), 200


@blueprint.post("/cases/<id:incident_id>/resolve")
def resolve(incident_id: int) -> tuple[Response, int]:
    return _close(incident_id, not_a_complaint=False)


@blueprint.post("/cases/<id:incident_id>/not-a-complaint")
def not_a_complaint(incident_id: int) -> tuple[Response, int]:
    return _close(incident_id, not_a_complaint=True)


@blueprint.post("/cases/<id:incident_id>/reopen")
def reopen(incident_id: int) -> tuple[Response, int]:
    """Undo a close, as the agents' page does: open again with its priority and deadline; the
    worker takes the resolved tag off in Shopify before the attention tag goes back on."""
    viewer = staff_viewer()
    try:
        with session_scope(clout_state().sessions) as db:
            done = reopen_case(
                session=db,
                shop=viewer.shop,
                incident_id=incident_id,
                by=ADMIN + viewer.who,
                now=utcnow(),
            )
    except DeskRefused as error:
        # Open already, or the customer has a newer open case: work that one instead.
        raise Refused(409, str(error)) from error
    if done is None:
        raise Refused(404, "not_found")
    # After the commit, as for a close: the worker brings Shopify back in step.
    enqueue_attention(
        celery=current_app.extensions["celery"],
        incident_id=done.incident_id,
        shop=viewer.shop.domain,
    )
    log.info("incident_reopened_in_block", incident_id=incident_id, by=viewer.who)
    return jsonify(outcome=done.outcome, id=incident_id), 200


@blueprint.post("/cases/<id:incident_id>/assign")
def assign(incident_id: int) -> tuple[Response, int]:
    viewer = staff_viewer()
    to = _text(_body(), "to")
    if to not in (None, "", "me"):
        raise Refused(400, 'to must be "me" or empty (nobody)')
    try:
        with session_scope(clout_state().sessions) as db:
            done = assign_case(
                session=db,
                shop=viewer.shop,
                incident_id=incident_id,
                to=viewer.who if to == "me" else None,
                by=ADMIN + viewer.who,
                now=utcnow(),
            )
    except DeskRefused as error:
        raise Refused(409, str(error)) from error
    if done is None:
        raise Refused(404, "not_found")
    return jsonify(outcome="assigned", id=incident_id, assigned_to=viewer.who if to else None), 200
