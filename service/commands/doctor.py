"""`clout doctor [SHOP]`: what is wrong with this Clout, in plain words, with the fix.

Each check says ok, warn or FAIL; a FAIL is something that keeps unhappy customers from being
tagged (a refused token, a missing scope, a missing subscription, a dead queue, a tag that has
not reached Shopify past the shop's alert threshold) and makes the command exit 1. A warning is
worth a look but does not stop Clout (a quiet store, a delivery that failed last week).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import click
import httpx
import redis
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.attention import escalation, health
from service.commands.common import connected_shop, redis_url_for, session_for
from service.commands.subscriptions import check_store
from service.core import db
from service.core.config import ConfigError, Settings, load_settings
from service.core.crypto import TokenVault, vault_for
from service.core.logs import configure_logging
from service.core.models import (
    Delivery,
    Incident,
    ReviewSecret,
    Shop,
    utcnow,
)
from service.core.shop_settings import shop_config
from service.core.state import REFUSED_SHOPIFY_KEPT, last_refused_review, shopify_refused_since
from service.core.vocabulary import DeliveryStatus, ShopStatus
from service.deliveries.dispatch import waiting_in_broker
from service.deliveries.lifecycle import QUEUE
from service.deliveries.topics import SHOPIFY_TOPICS
from service.shopify import history, shops
from service.shopify.admin import (
    ShopifyAdmin,
    ShopifyRefused,
    ShopifyUnauthorized,
    ShopifyUnavailable,
)
from service.shopify.review_apps import REVIEW_APPS
from service.shopify.scopes import APP_SCOPES
from service.shopify.subscriptions import COMPLIANCE_TOPICS

# A session token from the Shopify admin lives one minute and is checked to the second: a clock
# this far off refuses the embedded app, and every deadline Clout sets is off by as much.
CLOCK_TOLERANCE = timedelta(seconds=10)
# A delivery still waiting after this long means no worker is taking them.
STUCK_AFTER = timedelta(minutes=10)
# Failed deliveries older than this were seen (and left) by someone already.
FAILURES_WINDOW = timedelta(days=7)
# An import of a store's history still unfinished after this long has probably stalled.
STALLED_IMPORT = timedelta(hours=6)
# An overdue case the beat has not escalated this long after its deadline (or three of the
# beat's intervals, if longer) means no beat is running: it escalates every minute.
UNESCALATED_AFTER = timedelta(minutes=5)
# A store that has sent nothing this long after connecting is probably not sending at all.
QUIET_AFTER = timedelta(hours=24)
# Shopify stops retrying a refused delivery within hours; a refusal older than this, with none
# since, is not news (the webhooks line says whether Shopify deleted the subscriptions).
REFUSALS_WINDOW = timedelta(hours=48)


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    subject: str
    says: str
    fix: str | None = None


def ok(subject: str, says: str) -> Finding:
    return Finding(Verdict.OK, subject, says)


def warn(subject: str, says: str, fix: str | None = None) -> Finding:
    return Finding(Verdict.WARN, subject, says, fix)


def fail(subject: str, says: str, fix: str | None = None) -> Finding:
    return Finding(Verdict.FAIL, subject, says, fix)


# --- the install -----------------------------------------------------------------------------


def check_database(settings: Settings) -> Finding:
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        current = db.current_revision(settings.database_url)
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        return fail(
            "database",
            f"cannot open {shown}: {type(cause).__name__}: {cause}",
            "check CLOUT_DATABASE_URL and that the database server is up",
        )
    head = db.head_revision(settings.database_url)
    if current != head:
        return fail(
            "database",
            f"{shown} is at migration {current or 'none'}, this Clout needs {head}",
            "run `clout db upgrade` (`clout serve` does it on start)",
        )
    return ok("database", f"{shown}, at migration {head}")


def check_redis(settings: Settings) -> Finding:
    url = redis_url_for(settings)
    if url is None:
        return fail(
            "redis",
            "no CLOUT_REDIS_URL, and the embedded Redis of `clout serve` is not running: "
            "webhooks are neither received nor worked on",
            "start Clout with `clout serve` (or set CLOUT_REDIS_URL to your Redis)",
        )
    shown = "the embedded Redis of `clout serve`" if settings.redis_url is None else _shown(url)
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
        queued = waiting_in_broker(client, QUEUE)
        policy = _eviction_policy(client)
    except redis.RedisError as error:
        return fail(
            "redis",
            f"cannot reach {shown}: {error}",
            "start Redis (or fix CLOUT_REDIS_URL); until then deliveries wait in the "
            "database and the sweeper queues them once it is back",
        )
    finally:
        client.close()
    if policy not in (None, "noeviction"):
        return warn(
            "redis",
            f"{shown} answers, but may evict keys when its memory is full "
            f"(maxmemory-policy {policy}): a queued delivery's message, or the mark that its "
            "store's work is queued, could go with them",
            "set `maxmemory-policy noeviction` in its redis.conf (or `CONFIG SET "
            "maxmemory-policy noeviction`); Clout's embedded Redis never evicts",
        )
    return ok("redis", f"{shown} answers; {queued} task(s) queued")


def _shown(url: str) -> str:
    """A Redis URL without its password: the doctor's output is pasted into support tickets."""
    parts = urlsplit(url)
    if parts.password is not None:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    # redis-py reads `?password=` too.
    query = [
        (key, "***" if key.lower() == "password" else value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def _eviction_policy(client: redis.Redis) -> str | None:
    """The Redis's maxmemory-policy; None where CONFIG is not allowed (many hosted Redis)."""
    try:
        found = client.config_get("maxmemory-policy")
    except redis.ResponseError:
        return None
    return str(found.get("maxmemory-policy") or "") or None


def check_shopify_signatures(*, settings: Settings, session: Session, now: datetime) -> Finding:
    """Shopify deliveries refused for their signature since the last one accepted: with a
    wrong SHOPIFY_API_SECRET every delivery is refused, nothing reaches the agents' page and
    Shopify deletes the subscriptions once its retries run out. Anyone can post a forged
    delivery too, so only refusals with none accepted since, and recent ones, count: a real
    delivery accepted afterwards shows the secret is right."""
    accepted = session.scalar(
        select(func.max(Delivery.received_at)).where(Delivery.source == "shopify")
    )
    url = redis_url_for(settings)
    if url is None:
        return ok("signatures", "no Redis to ask (the redis line says why)")
    since = max(now - REFUSALS_WINDOW, accepted) if accepted else now - REFUSALS_WINDOW
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        refused = shopify_refused_since(client, since=since.timestamp())
    finally:
        client.close()
    heard = f"the last accepted {_ago(now, accepted)}" if accepted else "none ever accepted"
    if refused is None:
        return ok(
            "signatures",
            f"no Shopify delivery refused since the last accepted, {_ago(now, accepted)}"
            if accepted and accepted > now - REFUSALS_WINDOW
            else "no Shopify delivery refused in the last 48 h",
        )
    latest = datetime.fromtimestamp(refused.latest, UTC)
    counted = f"{refused.count}{'+' if refused.count >= REFUSED_SHOPIFY_KEPT else ''}"
    return fail(
        "signatures",
        f"{counted} Shopify deliveries refused for their signature (401), the latest "
        f"{_ago(now, latest)}; {heard}: SHOPIFY_API_SECRET is not the secret Shopify signs "
        "this app's webhooks with, and nothing reaches Clout",
        "set SHOPIFY_API_SECRET to the app's client secret (its API secret key, not the API "
        "key; a custom app's is under Settings → Apps → Develop apps → API credentials) and "
        "restart Clout. If it is right, someone else sent these (the log's delivery_rejected "
        "lines say when); the next delivery accepted clears this",
    )


@dataclass
class ClockReading:
    """Shopify's `Date` header against this machine's clock, read around each Admin call."""

    worst: timedelta | None = None
    source: str = ""

    def hook(self, response: httpx.Response) -> None:
        stamped = response.headers.get("date")
        if not stamped:
            return
        try:
            theirs = parsedate_to_datetime(stamped)
        except (TypeError, ValueError):
            return
        if theirs.tzinfo is None:  # "-0000": UTC, source unknown (RFC 5322)
            theirs = theirs.replace(tzinfo=UTC)
        # The header has whole seconds: a second of difference is the header, not the clock.
        offset = utcnow() - theirs
        if abs(offset) > timedelta(seconds=1.5) and (
            self.worst is None or abs(offset) > abs(self.worst)
        ):
            self.worst = offset
        elif self.worst is None:
            self.worst = timedelta(0)
        self.source = str(response.request.url.host)


def check_clock(settings: Settings, reading: ClockReading) -> Finding:
    offsets: list[tuple[str, timedelta]] = []
    if reading.worst is not None:
        offsets.append((f"Shopify ({reading.source})", reading.worst))
    if make_url(settings.database_url).get_backend_name() == "postgresql":
        engine = db.make_engine(settings.database_url)
        try:
            with engine.connect() as connection:
                theirs = connection.scalar(select(func.now()))
            if theirs is not None:
                offsets.append(("the database server", utcnow() - theirs))
        except SQLAlchemyError:
            pass  # the database check has said so already
        finally:
            engine.dispose()
    if not offsets:
        return ok("clock", "nothing to compare it with (no store checked)")
    where, worst = max(offsets, key=lambda o: abs(o[1]))
    if abs(worst) > CLOCK_TOLERANCE:
        direction = "ahead of" if worst > timedelta(0) else "behind"
        return fail(
            "clock",
            f"this machine's clock is {abs(worst).total_seconds():.0f} s {direction} {where}: "
            "the Shopify admin's session tokens are refused and deadlines are off",
            "synchronise the clock (`timedatectl set-ntp true`, or your host's NTP service)",
        )
    return ok("clock", "in step with " + " and ".join(w for w, _ in offsets))


# --- one store -------------------------------------------------------------------------------


def _granted(scopes: set[str]) -> set[str]:
    # Shopify: a write_ scope implies its read_ scope.
    return scopes | {"read_" + s.removeprefix("write_") for s in scopes if s.startswith("write_")}


def _admin(shop: Shop, settings: Settings, vault: TokenVault, http: httpx.Client) -> ShopifyAdmin:
    client = shops.admin_for(shop=shop, settings=settings, vault=vault, budget=None, http=http)
    client.max_attempts = 2
    client.backoff_base = 0.2
    # An operator waits at the terminal: a Shopify throttling every call is said in seconds
    # (the `shopify` line), not ridden out for a minute and then called fine.
    client.max_wait = 5.0
    return client


def _expired_token(*, shop: Shop, now: datetime, reconnect: str) -> Finding | None:
    """A public app's offline token expires after an hour and is refreshed by the workers
    when next used; only a lapsed refresh token needs the merchant."""
    expires = shop.access_token_expires_at
    if expires is None or expires > now:
        return None
    refresh_until = shop.refresh_token_expires_at
    if shop.refresh_token is None or (refresh_until is not None and refresh_until <= now):
        return fail("token", "the access token and its refresh token have expired", reconnect)
    return ok("token", "expired an hour after issue, as public apps' do; workers refresh it")


def _unavailable(error: ShopifyUnavailable, endpoint: str) -> Finding:
    if "unreachable" in str(error):
        return fail(
            "token",
            f"could not reach Shopify at {endpoint}: {error}",
            "check this machine's network (and CLOUT_SHOPIFY_ADMIN_URL if it is set)",
        )
    return fail(
        "shopify",
        f"Shopify answers with errors or keeps throttling ({error}): it may be having an "
        "incident; Clout keeps retrying and tags land when it recovers",
        "see https://www.shopifystatus.com; nothing to change on Clout's side",
    )


def check_token_and_scopes(
    *, shop: Shop, settings: Settings, vault: TokenVault, http: httpx.Client, now: datetime
) -> list[Finding]:
    if shop.status != ShopStatus.ACTIVE or shop.access_token is None:
        return [
            fail(
                "token",
                f"{shop.domain} is {shop.status}: Clout holds no token for it",
                "reinstall the app on the store (or `clout shops add` with a new token)",
            )
        ]
    reconnect = (
        "the merchant opens Clout in the Shopify admin to authorise it again"
        if shop.refresh_token is not None
        else f"make a new Admin API token for the custom app and run `clout shops add "
        f"{shop.domain} --token …`"
    )
    expired = _expired_token(shop=shop, now=now, reconnect=reconnect)
    if expired is not None:
        return [expired]
    client = _admin(shop, settings, vault, http)
    try:
        name = str(client.shop_info().get("name") or shop.domain)
        granted = _granted(client.access_scopes())
    except ShopifyUnauthorized:
        return [fail("token", "Shopify refuses Clout's token (revoked or uninstalled)", reconnect)]
    except ShopifyUnavailable as error:
        return [_unavailable(error, client.endpoint)]
    except ShopifyRefused as error:
        return [fail("token", f"Shopify refused the check: {error}", reconnect)]
    found = [ok("token", f"accepted by Shopify ({name})")]
    missing = [s for s in APP_SCOPES if s not in granted]
    if missing:
        fix = (
            "run `shopify app deploy` and ask the merchant to approve the new scopes"
            if shop.refresh_token is not None
            else "add them to the custom app's Admin API scopes in the Shopify admin "
            "(Settings → Apps → Develop apps), reinstall it, and run `clout shops add` again"
        )
        found.append(fail("scopes", f"the token lacks {', '.join(missing)}", fix))
    else:
        found.append(ok("scopes", f"all {len(APP_SCOPES)} granted"))
    return found


def check_subscriptions(*, settings: Settings, shop: Shop) -> Finding:
    if not shop.subscriptions_managed:
        return ok("webhooks", "public app: subscriptions come from shopify.app.toml")
    plan, lines = check_store(settings=settings, domain=shop.domain, fix=False)
    if plan is None:
        return fail("webhooks", " ".join(lines), f"`clout shops check {shop.domain} --fix`")
    if plan.in_order:
        return ok("webhooks", f"{len(plan.present)} topics subscribed at {plan.uri}")
    parts = []
    if plan.missing:
        parts.append("not subscribed: " + ", ".join(plan.missing))
    if plan.extra:
        parts.append(f"{len(plan.extra)} subscription(s) Clout does not want")
    return fail("webhooks", "; ".join(parts), f"run `clout shops check {shop.domain} --fix`")


def _ago(now: datetime, then: datetime) -> str:
    seconds = int((now - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def last_refused_reviews(*, settings: Settings, domain: str) -> dict[str, datetime]:
    """When each review platform's delivery for the store was last refused (a signature or
    key that does not match the stored secret), as intake remembers it; empty without Redis."""
    url = redis_url_for(settings)
    if url is None:
        return {}
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        found = {
            provider: last_refused_review(client, provider=provider, shop_domain=domain)
            for provider in REVIEW_APPS
        }
    finally:
        client.close()
    return {p: datetime.fromtimestamp(at, UTC) for p, at in found.items() if at is not None}


def _review_app_refused(
    *, shop: Shop, provider: str, refused: datetime, accepted: datetime | None, now: datetime
) -> Finding:
    """A review platform whose latest delivery was refused: a renewed secret (or a URL pasted
    wrong) refuses every review since. Anyone holding the URL can post a forged one too, so a
    refusal is a fault only while recent; a delivery accepted afterwards clears it."""
    app = REVIEW_APPS.get(provider)
    name = app.name if app is not None else provider
    since = f"the last accepted {_ago(now, accepted)}" if accepted else "none ever accepted"
    says = (
        f"its latest delivery was refused {_ago(now, refused)} (signature or key does not match "
        f"the stored secret); {since}. Signed with a renewed secret, every review is turned away"
    )
    connect = f"`clout reviews connect {shop.domain} {provider}"
    fix = (
        f"if {name}'s secret was renewed, give Clout the current one: {connect} --secret-stdin`"
        if app is None or not app.clout_makes_secret
        else f"{name} does not send what Clout gave it: {connect}` shows the URL and secret "
        "to paste there"
    ) + ". If nothing changed, someone else sent it (the log's delivery_rejected lines)"
    if now - refused <= REFUSALS_WINDOW:
        return fail(f"reviews/{provider}", says, fix)
    return warn(f"reviews/{provider}", says, fix)


def check_deliveries(
    *, session: Session, shop: Shop, now: datetime, refused_reviews: dict[str, datetime]
) -> list[Finding]:
    last: dict[str, datetime] = dict(
        session.execute(
            select(Delivery.topic, func.max(Delivery.received_at))
            .where(Delivery.shop_domain == shop.domain, Delivery.source == "shopify")
            .group_by(Delivery.topic)
        ).all()
    )
    handled = sorted(t for t in SHOPIFY_TOPICS if t not in COMPLIANCE_TOPICS)
    heard = [f"{t} {_ago(now, last[t])}" for t in handled if t in last]
    never = [t for t in handled if t not in last]
    found: list[Finding] = []
    if not last and now - shop.installed_at > QUIET_AFTER:
        found.append(
            warn(
                "deliveries",
                f"no webhook from Shopify since the store connected {_ago(now, shop.installed_at)}",
                "check that Shopify can reach CLOUT_PUBLIC_URL from the internet, and "
                f"`clout shops check {shop.domain}`",
            )
        )
    else:
        found.append(
            ok("deliveries", "last per topic: " + ("; ".join(heard) or "none yet"))
            if heard
            else ok("deliveries", "none yet (the store connected recently)")
        )
    if heard and never:
        found.append(ok("deliveries", "nothing yet for " + ", ".join(never)))
    for provider in session.scalars(
        select(ReviewSecret.provider).where(ReviewSecret.shop_id == shop.id)
    ):
        when = session.scalar(
            select(func.max(Delivery.received_at)).where(
                Delivery.shop_domain == shop.domain, Delivery.source == provider
            )
        )
        refused = refused_reviews.get(provider)
        if refused is not None and (when is None or refused > when):
            found.append(
                _review_app_refused(
                    shop=shop, provider=provider, refused=refused, accepted=when, now=now
                )
            )
        elif when is None:
            found.append(
                warn(
                    f"reviews/{provider}",
                    "connected, but no review has arrived from it yet",
                    f"`clout reviews connect {shop.domain} {provider}` shows where the URL goes",
                )
            )
        else:
            found.append(ok(f"reviews/{provider}", f"last delivery {_ago(now, when)}"))
    failed = session.execute(
        select(Delivery.status, func.count())
        .where(
            Delivery.shop_domain == shop.domain,
            Delivery.status.in_([DeliveryStatus.FAILED, DeliveryStatus.DEAD]),
            Delivery.received_at >= now - FAILURES_WINDOW,
        )
        .group_by(Delivery.status)
    ).all()
    counts = {str(status): count for status, count in failed}
    if counts:
        found.append(
            fail(
                "failures",
                " and ".join(f"{n} {s}" for s, n in counts.items())
                + (" delivery" if sum(counts.values()) == 1 else " deliveries")
                + " in the last 7 days",
                "see why with `clout deliveries list --status dead` (or failed), mend the "
                "cause, then `clout deliveries retry ID`",
            )
        )
    stuck = session.scalar(
        select(func.count()).where(
            Delivery.shop_domain == shop.domain,
            Delivery.status.in_([s for s in DeliveryStatus if s.pending]),
            Delivery.received_at < now - STUCK_AFTER,
        )
    )
    if stuck:
        found.append(
            fail(
                "workers",
                f"{stuck} deliveries have waited more than {STUCK_AFTER.seconds // 60} minutes",
                "are the workers running? (`clout serve`, or `clout worker` and `clout beat`)",
            )
        )
    return found


def check_history(*, session: Session, shop: Shop, now: datetime) -> Finding:
    """Where the import of the store's history stands: without it, clout means little."""
    latest = history.latest_backfill(session=session, shop=shop)
    if latest is None:
        return warn(
            "history",
            "the store's past orders were never imported: clout rankings start from zero",
            f"`clout shops backfill {shop.domain}`",
        )
    said = history.describe(latest) + (f" — {latest.note}" if latest.note else "")
    if latest.status == history.BackfillStatus.FAILED:
        return fail(
            "history",
            said,
            f"`clout shops backfill {shop.domain}` starts a new import "
            f"(`--status` shows the last one)",
        )
    if latest.finished_at is None and now - latest.requested_at > STALLED_IMPORT:
        return warn(
            "history",
            f"{said}, since {_ago(now, latest.requested_at)}",
            f"are the workers running? `clout shops backfill {shop.domain} --resume` carries "
            "it on in the foreground",
        )
    return ok("history", said)


def check_pending(
    *, session: Session, settings: Settings, vault: TokenVault, shop: Shop, now: datetime
) -> Finding:
    pending = health.tags_not_in_shopify(session=session, shop_id=shop.id)
    if pending is None:
        return ok("tags", "every open case's attention tag is in Shopify")
    limit = timedelta(
        minutes=shop_config(
            session=session, shop_id=shop.id, defaults=settings, vault=vault
        ).pending_alert_minutes
    )
    waited = now - pending.oldest
    says = (
        f"{pending.count} attention tag(s) not in Shopify yet, the oldest waiting "
        f"{_ago(now, pending.oldest).removesuffix(' ago')}"
    )
    fix = f"`clout incidents list --shop {shop.domain} --pending`; the checks above say why"
    if pending.refused:
        # A refusal does not mend itself by waiting (an order deleted in Shopify, another
        # store's record): say Shopify's own words now, not "retrying" until the alert.
        cases = pending.refused
        named = " ".join(str(i) for i in cases[:5])
        return fail(
            "tags",
            f"{says}; Shopify refused the tags of {len(cases)} of them (case "
            f"{named}{' …' if len(cases) > 5 else ''}), the latest: {pending.refused_why}",
            "see whether the order or customer still exists in the Shopify admin (if Shopify "
            "says too many tags, remove some: Clout tries again when the order changes); "
            "the cases stay open on the agents' page (`clout incidents resolve --shop "
            f"{shop.domain} {named}` once handled)",
        )
    return fail("tags", says, fix) if waited >= limit else warn("tags", says + " (retrying)")


def check_escalations(
    *, session: Session, settings: Settings, shop: Shop, now: datetime
) -> Finding:
    """Overdue cases the beat left alone: it escalates every minute, so one still waiting well
    past its deadline means no `clout beat` runs (nor its sweeper and reconciliation), and
    the store's overdue customers get no `clout-overdue` tag and nobody is told."""
    grace = max(UNESCALATED_AFTER, timedelta(seconds=3 * settings.escalate_interval_seconds))
    count, oldest = session.execute(
        select(func.count(), func.min(Incident.deadline_at)).where(
            Incident.shop_id == shop.id, *escalation.due_by(now - grace)
        )
    ).one()
    if not count or oldest is None:
        return ok("overdue", "every case past its deadline was escalated")
    return fail(
        "overdue",
        f"{count} case(s) past their deadline not escalated, the oldest due "
        f"{_ago(now, oldest)}: no overdue tag, no higher priority and no notice. The beat "
        "escalates every minute, through the workers' queue: either no beat runs, or the "
        "workers are far behind (the redis line counts what waits)",
        "start exactly one `clout beat` beside the workers (`clout serve` runs its own; "
        "without it the sweeper and reconciliation stop too); if one runs and tasks wait, "
        "add workers",
    )


def check_reconciled(*, settings: Settings, shop: Shop, now: datetime) -> Finding | None:
    """A store never reconciled three of the beat's reconciliation intervals after it
    connected: no `clout beat` runs, so nothing recovers a webhook Shopify never sent, notices
    a late delivery or escalates a case; the overdue line would say so only days later, once
    a case has passed its deadline. None once reconciled (its watermark does not move for a
    quiet store, so it says nothing later)."""
    grace = max(timedelta(minutes=30), timedelta(seconds=3 * settings.reconcile_interval_seconds))
    if shop.reconciled_until is not None or now - shop.installed_at < grace:
        return None
    return fail(
        "reconcile",
        f"the store connected {_ago(now, shop.installed_at)} and its orders were never read "
        "back: the beat reconciles every store every "
        f"{settings.reconcile_interval_seconds / 60:.0f} min, so no `clout beat` is running "
        "(nor its sweeper, late-delivery checks and escalations), or every run failed",
        "start exactly one `clout beat` beside the workers (`clout serve` runs its own); if "
        "one runs, the workers' reconcile_refused or reconcile_postponed log lines say why",
    )


def check_notifications(*, session: Session, shop: Shop, now: datetime) -> Finding:
    """What the store was told in the last 7 days and what never reached it: a channel whose
    last notice failed is one the merchant is not hearing from (a removed Slack URL, a private
    address, a full mailbox)."""
    found = health.notices_not_delivered(session=session, shop_id=shop.id, now=now)
    if found is None:
        return ok("notifications", "none failed in the last 7 days")
    said = ", ".join(
        f"{n} {health.CHANNELS.get(k, k)} notice{'s' if n > 1 else ''}"
        for k, n in found.missed.items()
    )
    silent = {health.CHANNELS.get(k, k): error for k, error in found.silent.items()}
    # Why each silent channel's last notice failed (`notify`'s few words, naming no address).
    why = [
        error if len(silent) == 1 else f"{name}, {error}" for name, error in silent.items() if error
    ]
    if not silent:
        changed = " and ".join(health.CHANNELS.get(k, k) for k in found.changed_since)
        return warn(
            "notifications",
            f"{said} not delivered in the last 7 days; "
            + (
                f"the {changed} address changed since (the next notice will tell)"
                if changed
                else "later ones were"
            ),
        )
    return fail(
        "notifications",
        f"{said} not delivered in the last 7 days, the last {' and '.join(silent)} too"
        + (f": {'; '.join(why)}" if why else ""),
        f"check the store's addresses (`clout settings show {shop.domain}`): one must be "
        "public unless CLOUT_NOTIFY_PRIVATE_TARGETS=on, and a removed Slack or webhook URL "
        "answers 404; the logs' notify_refused and notify_failed lines say more",
    )


def check_shop(
    *, settings: Settings, domain: str, http: httpx.Client, now: datetime
) -> list[Finding]:
    vault = vault_for(settings)
    with session_for(settings) as session:
        shop = connected_shop(session, domain)
        session.expunge(shop)
    found = check_token_and_scopes(shop=shop, settings=settings, vault=vault, http=http, now=now)
    token_ok = found[0].verdict is Verdict.OK
    if token_ok:
        found.append(check_subscriptions(settings=settings, shop=shop))
    with session_for(settings) as session:
        shop = connected_shop(session, domain)
        found.append(check_history(session=session, shop=shop, now=now))
        found += check_deliveries(
            session=session,
            shop=shop,
            now=now,
            refused_reviews=last_refused_reviews(settings=settings, domain=domain),
        )
        found.append(
            check_pending(session=session, settings=settings, vault=vault, shop=shop, now=now)
        )
        found.append(check_escalations(session=session, settings=settings, shop=shop, now=now))
        if token_ok:  # a refused token stops reconciliation too; its line says so
            reconciled = check_reconciled(settings=settings, shop=shop, now=now)
            if reconciled is not None:
                found.append(reconciled)
        found.append(check_notifications(session=session, shop=shop, now=now))
    return found


# --- the command -----------------------------------------------------------------------------


def _echo(finding: Finding) -> None:
    colour = {Verdict.OK: "green", Verdict.WARN: "yellow", Verdict.FAIL: "red"}[finding.verdict]
    mark = click.style(f"{finding.verdict.value:<5}", fg=colour, bold=finding.verdict != "ok")
    click.echo(f"  {mark} {finding.subject:<16} {finding.says}")
    if finding.fix:
        click.echo(f"  {'':<5} {'':<16} fix: {finding.fix}")


@click.command("doctor")
@click.argument("shop", required=False)
def doctor(shop: str | None) -> None:
    """Check this Clout and its stores; say what is wrong and how to fix it (exit 1 if so)."""
    try:
        settings = load_settings()
    except ConfigError as error:
        # The doctor is what a newcomer runs when nothing works: a setting missing is its
        # first finding, not a usage error.
        click.echo("Clout")
        _echo(fail("settings", str(error), "set it in .env in this folder, or in the environment"))
        sys.exit(1)
    # The checks' findings say what the retries' warnings would: keep the report readable.
    configure_logging("ERROR")
    started = time.monotonic()
    findings: list[Finding] = []

    def report(title: str, checked: list[Finding]) -> None:
        click.echo(title)
        for finding in checked:
            _echo(finding)
        findings.extend(checked)

    database = check_database(settings)
    install = [database, check_redis(settings)]
    if database.verdict is Verdict.OK:
        with session_for(settings) as session:
            install.append(
                check_shopify_signatures(settings=settings, session=session, now=utcnow())
            )
    report("Clout", install)
    clock = ClockReading()
    if database.verdict is Verdict.OK:
        with session_for(settings) as session:
            domains = (
                [connected_shop(session, shop).domain]
                if shop
                else list(
                    session.scalars(
                        select(Shop.domain)
                        .where(Shop.status == ShopStatus.ACTIVE)
                        .order_by(Shop.domain)
                    )
                )
            )
        with httpx.Client(
            timeout=httpx.Timeout(10.0, connect=3.0), event_hooks={"response": [clock.hook]}
        ) as http:
            for domain in domains:
                report(
                    domain, check_shop(settings=settings, domain=domain, http=http, now=utcnow())
                )
        if not domains:
            report("stores", [warn("stores", "no store is connected", "`clout shops add`")])
    report("Time", [check_clock(settings, clock)])
    problems = sum(f.verdict is Verdict.FAIL for f in findings)
    warnings = sum(f.verdict is Verdict.WARN for f in findings)
    took = time.monotonic() - started
    if problems:
        click.echo(f"{problems} problem(s), {warnings} warning(s) ({took:.1f} s).")
        raise SystemExit(1)
    click.echo(f"No problems; {warnings} warning(s) ({took:.1f} s).")
