"""Shopify topic → handler. Each handler translates a payload into calls on `service/`."""

from __future__ import annotations

from sqlalchemy import select

from service import compliance
from service.attention import attend
from service.core.errors import PermanentError, TransientError
from service.core.logs import get_logger
from service.core.models import Backfill, Customer, Order
from service.core.vocabulary import ShopStatus, same_tag
from service.deliveries.lifecycle import (
    REVIEW_KEY_PREFIX,
    DeliveryContext,
    TopicHandler,
    handler_key,
)
from service.influence import profiles
from service.shopify import payloads, shops
from service.shopify.ids import event_ref, to_gid
from service.signals import events, platforms, relink, reviews
from service.signals.incidents import Raised, open_incident

log = get_logger(__name__)


def _listed(value: object) -> list[object]:
    """A list the payload should carry (order ids): anything else is no list at all."""
    return value if isinstance(value, list) else []


def _customer_gid(ctx: DeliveryContext) -> str:
    customer = ctx.payload.get("customer")
    if not isinstance(customer, dict):
        raise PermanentError("payload has no customer object")
    try:
        return to_gid("Customer", customer.get("id"))
    except ValueError as error:
        raise PermanentError("payload's customer has no usable id") from error


def _about_this_shop(ctx: DeliveryContext, key: str, *, shop_id_key: str) -> None:
    """Refuse a body that does not name the delivery's shop. Shopify signs the body, not its
    headers (the topic and the shop among them), and its signature never expires: a signed
    body captured on its way to one shop (a proxy's log, a debugging tunnel) could be re-sent
    with another's header, or under another topic (an order's body as `shop/redact`), and
    erase or disconnect a store. Shopify's own bodies for these topics always name the shop
    (`shop_domain` and `shop_id`; the Shop object's `myshopify_domain` and `id`)."""
    named = ctx.payload.get(key)
    shop_id = ctx.payload.get(shop_id_key)
    if not (isinstance(named, str) and named.lower() == ctx.shop.domain):
        raise PermanentError("the body does not name the delivery's shop")
    if not isinstance(shop_id, int) or isinstance(shop_id, bool):
        raise PermanentError("the body has no shop id")


def _forget_payload_if_redacted(ctx: DeliveryContext, customer: Customer | None) -> None:
    # A late delivery about a redacted customer must not keep their data in its raw body.
    if customer is not None and customer.redacted_at is not None:
        ctx.delivery.body = None


def _noted(ctx: DeliveryContext, raised: Raised | None) -> None:
    # A signal seen before (a replay, a reconciliation rerun) changes nothing: no attendance,
    # no writes to Shopify — unless it was revised (a refund now known to be full).
    if raised is not None and (raised.new_signal or raised.incident.needs_attention):
        ctx.incidents.add(raised.incident.id)
    if raised is not None and ctx.delivery.customer_ref is None:
        # Who the delivery is about: what redaction erases, and how `clout deliveries list`
        # tells a delivery whose case has not reached Shopify.
        customer = ctx.session.get(Customer, raised.signal.customer_id)
        ctx.delivery.customer_ref = customer.shopify_id if customer is not None else None


def _order_for(ctx: DeliveryContext, value: object) -> Order:
    """The order a payload refers to (by id or GID), as Clout has it — already looked up in
    Shopify before this transaction when Clout lacked it (`prepare`) — or a placeholder that
    the order's own webhook, or reconciliation, fills in later."""
    if isinstance(value, dict):
        value = value.get("admin_graphql_api_id") or value.get("id")
    try:
        gid = to_gid("Order", value)
    except ValueError as error:
        raise PermanentError("payload names no order") from error
    order = ctx.session.scalar(
        select(Order).where(Order.shop_id == ctx.shop.id, Order.shopify_id == gid)
    )
    if order is None:
        order = Order(shop_id=ctx.shop.id, shopify_id=gid)
        ctx.session.add(order)
        ctx.session.flush()
    else:
        _relink(ctx, order)  # `prepare` may just have learnt whose it is
    return order


def _relink(ctx: DeliveryContext, order: Order) -> None:
    """Signals kept on a stand-in (a guest, an unknown reviewer) move to the customer Shopify
    now names for the order, or whose email a review came from; those cases are attended."""
    ctx.incidents |= relink.relink_order(
        session=ctx.session, shop=ctx.shop, order=order, now=ctx.now
    )
    if order.customer is not None:
        ctx.incidents |= relink.relink_reviewer(
            session=ctx.session, shop=ctx.shop, customer=order.customer, now=ctx.now
        )


def order_changed(ctx: DeliveryContext) -> None:
    order = payloads.upsert_order(session=ctx.session, shop=ctx.shop, payload=ctx.payload)
    ctx.delivery.customer_ref = payloads.customer_ref_of_order(ctx.payload)
    _forget_payload_if_redacted(ctx, order.customer)
    ctx.session.flush()
    _relink(ctx, order)
    if ctx.delivery.topic == "orders/create":
        # The buyer's (and a referrer's) influence just changed; the profile sweep catches up.
        profiles.mark_stale_after_order(
            session=ctx.session, shop=ctx.shop, order=order, now=ctx.now
        )
    if ctx.tag_settings is not None and ctx.delivery.topic == "orders/updated":
        # A person resolving the case, drift to repair, or Clout's own write echoing back.
        touched = attend.note_order_tags(
            session=ctx.session,
            shop=ctx.shop,
            order=order,
            tags=[t.strip() for t in str(ctx.payload.get("tags") or "").split(",") if t.strip()],
            updated_at=payloads.parse_time(ctx.payload.get("updated_at")),
            settings=ctx.tag_settings,
            now=ctx.now,
        )
        ctx.incidents |= {case.id for case in touched}
    _noted(
        ctx,
        events.cancellation_signal(session=ctx.session, shop=ctx.shop, order=order, now=ctx.now),
    )
    _noted(ctx, events.note_signal(session=ctx.session, shop=ctx.shop, order=order, now=ctx.now))


def refund_created(ctx: DeliveryContext) -> None:
    refund = payloads.record_refund(session=ctx.session, shop=ctx.shop, payload=ctx.payload)
    order = ctx.session.scalar(
        select(Order).where(
            Order.shop_id == ctx.shop.id, Order.shopify_id == refund.order_shopify_id
        )
    )
    if order is not None:
        _relink(ctx, order)  # `prepare` may just have learnt whose it is
    if order is not None and order.customer is not None:
        ctx.delivery.customer_ref = order.customer.shopify_id
    if order is not None:
        _noted(
            ctx,
            events.refund_signal(
                session=ctx.session, shop=ctx.shop, order=order, refund=refund, now=ctx.now
            ),
        )


def dispute_opened(ctx: DeliveryContext) -> None:
    order = _order_for(ctx, ctx.payload.get("order_id"))
    _noted(
        ctx,
        events.dispute_signal(
            session=ctx.session, shop=ctx.shop, order=order, payload=ctx.payload, now=ctx.now
        ),
    )


def return_requested(ctx: DeliveryContext) -> None:
    order = _order_for(ctx, ctx.payload.get("order") or ctx.payload.get("order_id"))
    _noted(
        ctx,
        events.return_signal(
            session=ctx.session, shop=ctx.shop, order=order, payload=ctx.payload, now=ctx.now
        ),
    )


def fulfillment_event(ctx: DeliveryContext) -> None:
    order = _order_for(ctx, ctx.payload.get("order_id"))
    _noted(
        ctx,
        events.fulfillment_event_signal(
            session=ctx.session, shop=ctx.shop, order=order, payload=ctx.payload, now=ctx.now
        ),
    )


def review_delivered(ctx: DeliveryContext) -> None:
    """Any review platform's delivery: normalised, recorded, linked, and read for events."""
    provider = ctx.delivery.source
    payload = ctx.payload
    if "_raw" in payload:
        try:
            payload = platforms.loads_lenient(payload["_raw"].encode())
        except ValueError as error:
            raise PermanentError("review body is not JSON") from error
    if not isinstance(payload, dict):
        raise PermanentError("review body is not a JSON object")
    carried = platforms.NORMALISERS[provider](payload)
    usable = [r for r in carried if r.platform_review_id]
    if carried and not usable:
        raise PermanentError("review has no id")
    if len(usable) < len(carried):
        # One entry of a batch that names no review (an event Clout does not read) is left
        # out; the others, a complaint among them, are read as usual.
        log.info("review_entries_skipped", count=len(carried) - len(usable))
    for incoming in usable:
        review = reviews.record_review(
            session=ctx.session, shop=ctx.shop, provider=provider, review=incoming
        )
        customer = reviews.link_review(session=ctx.session, shop=ctx.shop, review=review)
        ctx.delivery.customer_ref = customer.shopify_id
        _noted(
            ctx,
            reviews.review_signal(
                session=ctx.session, shop=ctx.shop, review=review, customer=customer, now=ctx.now
            ),
        )


def customer_changed(ctx: DeliveryContext) -> None:
    customer = payloads.upsert_customer(session=ctx.session, shop=ctx.shop, payload=ctx.payload)
    ctx.delivery.customer_ref = customer.shopify_id
    _forget_payload_if_redacted(ctx, customer)
    ctx.session.flush()
    ctx.incidents |= relink.relink_reviewer(
        session=ctx.session, shop=ctx.shop, customer=customer, now=ctx.now
    )


# Shopify's limits on a customer's tags: at most 250, each at most 255 characters.
_TAGS_MOST, _TAG_LONGEST = 250, 255


def customer_tags_changed(ctx: DeliveryContext) -> None:
    """`customer.tags_added` / `customer.tags_removed`: since API 2025-01 a customer's own
    webhooks carry no tags, so a merchant's opt-out tag put on (or taken off) a customer Clout
    has read arrives only here. The body names the customer and the tags that changed."""
    try:
        gid = to_gid("Customer", ctx.payload.get("customerId"))
    except ValueError as error:
        raise PermanentError("payload names no customer") from error
    tags = ctx.payload.get("tags")
    if (
        not isinstance(tags, list)
        or len(tags) > _TAGS_MOST
        or not all(isinstance(t, str) and len(t) <= _TAG_LONGEST for t in tags)
    ):
        raise PermanentError("payload's tags are not a list of Shopify tags")
    ctx.delivery.customer_ref = gid
    customer = ctx.session.scalar(
        select(Customer).where(Customer.shop_id == ctx.shop.id, Customer.shopify_id == gid)
    )
    if customer is None:
        return  # Clout reads a customer's tags when it first looks them up
    _forget_payload_if_redacted(ctx, customer)
    if customer.redacted_at is not None:
        return
    added = ctx.delivery.topic == "customer.tags_added"
    opt_out = ctx.tag_settings.opt_out_tag if ctx.tag_settings is not None else None
    # Clout's own tags come back here too (every case tags its customer): only the opt-out
    # tag's coming or going touches the profile. Without the shop's tag, either may have.
    about_opt_out = opt_out is None or any(same_tag(t, opt_out) for t in tags)
    if opt_out is not None and about_opt_out:
        # Shopify sends these in no set order: the opt-out taken off and put straight back may
        # arrive back first. Only a word on it newer than the last one heard counts.
        occurred = payloads.parse_time(ctx.payload.get("occurredAt")) or ctx.delivery.triggered_at
        heard = customer.opt_out_changed_at
        if occurred is not None and heard is not None and occurred < heard:
            tags = [t for t in tags if not same_tag(t, opt_out)]
            about_opt_out = False
        elif occurred is not None:
            customer.opt_out_changed_at = occurred
    if not added and ctx.tag_settings is not None:
        _attention_tag_taken_off(ctx, customer, tags, attention_tag=ctx.tag_settings.attention_tag)
    if not payloads.change_customer_tags(customer=customer, tags=tags, added=added):
        return
    if about_opt_out:
        profiles.note_opt_out_change(
            session=ctx.session, customer=customer, opt_out_tag=opt_out, now=ctx.now
        )


def _attention_tag_taken_off(
    ctx: DeliveryContext, customer: Customer, tags: list[str], *, attention_tag: str
) -> None:
    """The attention tag gone from a customer whose case is open: a person in the Shopify
    admin, or another app. Unlike an order's (a person resolving the case, read from
    `orders/updated`), a customer's tag says nothing about which case was handled, so the case
    stays open and is attended again: its later work reads the customer's tags back and puts
    the tag back as drift (a few times at most), so the customer is in the store's segment and
    Flows again. (Clout takes it off only when a case closes: no open case, no echo read.)"""
    if not any(same_tag(t, attention_tag) for t in tags):
        return
    case = open_incident(session=ctx.session, shop=ctx.shop, customer=customer)
    if case is not None:
        case.needs_attention = True
        ctx.incidents.add(case.id)


def bulk_operation_finished(ctx: DeliveryContext) -> None:
    """Shopify finished a bulk operation: if it is the one a history import waits for, carry the
    import on now instead of at its next look (which reads how it ended, well or not)."""
    gid = ctx.payload.get("admin_graphql_api_id")
    if not isinstance(gid, str) or not gid.startswith("gid://shopify/BulkOperation/"):
        raise PermanentError("payload names no bulk operation")
    waiting = ctx.session.scalar(
        select(Backfill.id).where(
            Backfill.shop_id == ctx.shop.id,
            Backfill.bulk_operation_id == gid,
            Backfill.finished_at.is_(None),
        )
    )
    if waiting is not None:
        ctx.backfills.add(waiting)


def _gone_from_shopify(ctx: DeliveryContext) -> bool:
    """Whether a connected store's app is really gone: Shopify refused its token just now.
    A token Shopify still takes means the merchant has the app (a body captured before they
    reinstalled, sent again, or an uninstall that reached Clout after the reinstall): False,
    and nothing is done. No answer from Shopify is retried: the body's word alone must not
    disconnect or erase a store."""
    if ctx.shop.status != ShopStatus.ACTIVE:
        return True
    if ctx.installed is False:
        if ctx.shop.access_token != ctx.asked_with:
            # The merchant added the app again while Shopify answered: what it refused was
            # the old token. Asked again with the new one, Shopify says the app is there.
            raise TransientError("the store's token changed while Clout asked Shopify")
        return True
    if ctx.installed is None:
        raise TransientError("Shopify did not say whether the app is still installed")
    log.warning("installed_store_not_disconnected", topic=ctx.delivery.topic, shop=ctx.shop.domain)
    ctx.ignored = "Shopify still takes the store's token: the app is installed (a stale body)"
    return False


def app_uninstalled(ctx: DeliveryContext) -> None:
    _about_this_shop(ctx, "myshopify_domain", shop_id_key="id")
    if ctx.shop.status == ShopStatus.ACTIVE and _gone_from_shopify(ctx):
        shops.mark_uninstalled(session=ctx.session, shop=ctx.shop, now=ctx.now)


def customer_data_requested(ctx: DeliveryContext) -> None:
    _about_this_shop(ctx, "shop_domain", shop_id_key="shop_id")
    request = ctx.payload.get("data_request")
    try:
        request_id = event_ref(request.get("id") if isinstance(request, dict) else None, limit=64)
    except ValueError as error:
        raise PermanentError("data request has no usable id") from error
    customer_gid = _customer_gid(ctx)
    compliance.record_data_request(
        session=ctx.session,
        shop=ctx.shop,
        request_id=str(request_id),
        customer_gid=customer_gid,
        order_ids=_listed(ctx.payload.get("orders_requested")),
        now=ctx.now,
        email=_named_email(ctx),
    )
    ctx.delivery.customer_ref = customer_gid


def _named_email(ctx: DeliveryContext) -> str | None:
    customer = ctx.payload.get("customer")
    email = customer.get("email") if isinstance(customer, dict) else None
    return email if isinstance(email, str) else None


def customer_redacted(ctx: DeliveryContext) -> None:
    _about_this_shop(ctx, "shop_domain", shop_id_key="shop_id")
    customer_gid = _customer_gid(ctx)
    compliance.redact_customer(
        session=ctx.session,
        shop=ctx.shop,
        customer_gid=customer_gid,
        order_ids=_listed(ctx.payload.get("orders_to_redact")),
        now=ctx.now,
        email=_named_email(ctx),
    )
    # The request itself names the customer (email, phone): it goes too.
    ctx.delivery.body = None
    ctx.delivery.customer_ref = customer_gid


def shop_redacted(ctx: DeliveryContext) -> None:
    # Shopify sends it 48 hours after an uninstall, and not at all to a store that reinstalled;
    # a connected store is erased only once Shopify has refused its token (its uninstall may
    # never have reached Clout).
    _about_this_shop(ctx, "shop_domain", shop_id_key="shop_id")
    if _gone_from_shopify(ctx):
        compliance.redact_shop(session=ctx.session, shop=ctx.shop)
        ctx.erased = True


TOPIC_HANDLERS: dict[str, TopicHandler] = {
    "orders/create": order_changed,
    "orders/updated": order_changed,
    "orders/cancelled": order_changed,
    "refunds/create": refund_created,
    "customers/create": customer_changed,
    "customers/update": customer_changed,
    "customer.tags_added": customer_tags_changed,
    "customer.tags_removed": customer_tags_changed,
    "disputes/create": dispute_opened,
    "disputes/update": dispute_opened,
    "returns/request": return_requested,
    "fulfillment_events/create": fulfillment_event,
    "app/uninstalled": app_uninstalled,
    "bulk_operations/finish": bulk_operation_finished,
    "customers/data_request": customer_data_requested,
    "customers/redact": customer_redacted,
    "shop/redact": shop_redacted,
    **{f"{REVIEW_KEY_PREFIX}{provider}": review_delivered for provider in platforms.NORMALISERS},
}

# The Shopify topics Clout handles, read from the table the way a worker reads it; intake
# answers "ignored" to any other and records nothing (shopify.app.toml subscribes exactly
# these, a test keeps the two equal).
SHOPIFY_TOPICS = frozenset(t for t in TOPIC_HANDLERS if handler_key("shopify", t) == t)
