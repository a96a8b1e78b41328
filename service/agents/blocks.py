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
from contextlib import AbstractContextManager

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from service.agents.desk import assign_case, close_case, reopen_case
from service.agents.queue import case_in_full
from service.agents.views import (
    DeskCall,
    Refused,
    Viewer,
    assignee,
    desk_call,
    desk_result,
    no_store,
    refused,
    seen_at_field,
    text_field,
)
from service.core.db import session_scope
from service.core.logs import get_logger
from service.core.models import Customer, Incident, Order, Shop, Signal, utcnow
from service.core.state import clout_state
from service.core.vocabulary import IncidentStatus, ShopStatus
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


# The page's answer to a refusal: one shape on both surfaces.
blueprint.register_error_handler(Refused, refused)


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
    now = utcnow()
    with session_scope(clout_state().sessions) as db:
        incident_id = case_on_page(session=db, shop=viewer.shop, owner_gid=owner_gid)
        found = (
            None
            if incident_id is None
            else case_in_full(session=db, shop=viewer.shop, incident_id=incident_id, now=now)
        )
    # `now`: when the staff member read the case; a close sends it back as `seen_at`.
    return jsonify(me=viewer.who, now=now.isoformat(), case=found)


@blueprint.get("/orders/<id:order_id>/case")
def order_case(order_id: int) -> Response:
    return _case_of(f"gid://shopify/Order/{order_id}")


@blueprint.get("/customers/<id:customer_id>/case")
def customer_case(customer_id: int) -> Response:
    return _case_of(f"gid://shopify/Customer/{customer_id}")


# --- the desk's actions -----------------------------------------------------------------------


def _desk() -> AbstractContextManager[DeskCall]:
    # The agents' page's glue, so a refusal reads the same in a block as on the page.
    return desk_call(staff_viewer, where=ADMIN)


def _close(incident_id: int, *, not_a_complaint: bool) -> tuple[Response, int]:
    with _desk() as desk:
        done = desk.found(
            close_case(
                session=desk.session,
                shop=desk.viewer.shop,
                incident_id=incident_id,
                by=desk.by,
                now=utcnow(),
                note=text_field(desk.body, "note"),
                not_a_complaint=not_a_complaint,
                seen_at=seen_at_field(desk.body),
            )
        )
    log.info(
        "incident_closed_in_block", incident_id=incident_id, by=desk.viewer.who, how=done.outcome
    )
    return jsonify(desk_result(done)), 200


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
    with _desk() as desk:
        done = desk.found(
            reopen_case(
                session=desk.session,
                shop=desk.viewer.shop,
                incident_id=incident_id,
                by=desk.by,
                now=utcnow(),
            )
        )
    log.info("incident_reopened_in_block", incident_id=incident_id, by=desk.viewer.who)
    return jsonify(outcome=done.outcome, id=incident_id), 200


@blueprint.post("/cases/<id:incident_id>/assign")
def assign(incident_id: int) -> tuple[Response, int]:
    with _desk() as desk:
        to = assignee(desk.body, desk.viewer)
        desk.found(
            assign_case(
                session=desk.session,
                shop=desk.viewer.shop,
                incident_id=incident_id,
                to=to,
                by=desk.by,
                now=utcnow(),
            )
        )
    return jsonify(outcome="assigned", id=incident_id, assigned_to=to), 200
