"""`clout reviews connect|list|disconnect`: wire a review app to a store, with the exact URL,
where it goes in that app, the secret, and then what has arrived from it."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import click
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.commands.common import connected_shop, load, redis_url_for, session_for
from service.core.config import Settings
from service.core.crypto import vault_for
from service.core.models import Delivery, Shop, utcnow
from service.core.state import last_refused_review
from service.shopify.review_apps import (
    REVIEW_APPS,
    NotTheirSecret,
    ReviewApp,
    Secret,
    connected_providers,
    disconnect_review_app,
    last_arrival,
    review_url,
    wire_review_app,
)
from service.shopify.shops import normalise_shop_domain

POLL_SECONDS = 2.0


@click.group("reviews")
def reviews_group() -> None:
    """Connect review apps (Judge.me, Okendo, Yotpo, …) to a store."""


def _shop_argument(value: str) -> str:
    try:
        return normalise_shop_domain(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="SHOP") from None


def _secret_given(secret: str | None, secret_stdin: bool) -> str | None:
    if secret_stdin:
        secret = sys.stdin.readline()
    if secret is not None and not secret.strip():
        raise click.BadParameter("the secret is empty", param_hint="--secret")
    return secret.strip() if secret is not None else None


def last_delivery(*, session: Session, shop: Shop, provider: str) -> str:
    """What has arrived from the platform for this store, in a line."""
    arrival = last_arrival(session=session, shop=shop, provider=provider)
    if arrival is None:
        return "none yet"
    state = arrival.status + (f": {arrival.error}" if arrival.error else "")
    return (
        f"{arrival.received_at:%Y-%m-%d %H:%M:%S} UTC (delivery {arrival.delivery_id}, {state}); "
        f"{arrival.count} in all"
    )


def _last_refused(settings: Settings, *, provider: str, domain: str) -> datetime | None:
    url = redis_url_for(settings)
    if url is None:
        return None
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        at = last_refused_review(client, provider=provider, shop_domain=domain)
    finally:
        client.close()
    return None if at is None else datetime.fromtimestamp(at, UTC)


def _guide(app: ReviewApp, *, url: str, secret: str | None, domain: str) -> list[str]:
    shown = secret or "THE SECRET"
    return [step.format(url=url, secret=shown, shop=domain) for step in app.steps]


@reviews_group.command("connect")
@click.argument("shop")
@click.argument("provider", type=click.Choice(list(REVIEW_APPS), case_sensitive=False))
@click.option("--secret", help="The platform's signing secret (Judge.me, Okendo, Fera).")
@click.option("--secret-stdin", is_flag=True, help="Read the secret from standard input.")
@click.option(
    "--new-secret", "renew", is_flag=True, help="Make a new secret (the old one stops working)."
)
@click.option(
    "--wait",
    type=click.IntRange(min=0),
    default=0,
    metavar="SECONDS",
    help="Watch this long for the platform's first delivery (send a test review meanwhile).",
)
def reviews_connect(
    *, shop: str, provider: str, secret: str | None, secret_stdin: bool, renew: bool, wait: int
) -> None:
    """Connect a review app to SHOP: the URL to paste, where it goes, and what has arrived."""
    settings = load()
    domain = _shop_argument(shop)
    app = REVIEW_APPS[provider.lower()]
    given = _secret_given(secret, secret_stdin)
    vault = vault_for(settings)
    with session_for(settings) as session:
        found = connected_shop(session, domain)
        try:
            secret_now, is_new = wire_review_app(
                session=session, vault=vault, shop=found, app=app, given=given, renew=renew
            )
        except NotTheirSecret as error:
            raise click.BadParameter(
                f"{error} (leave out --secret; --new-secret replaces it)", param_hint="--secret"
            ) from None
        arrived = last_delivery(session=session, shop=found, provider=app.provider)
        started = utcnow()

    url = review_url(
        public_url=settings.public_url,
        provider=app.provider,
        domain=domain,
        key=secret_now if app.key_in_url else None,
    )
    click.echo(f"{app.name} → {domain}")
    if settings.public_url is None:
        click.echo(
            "  (CLOUT_PUBLIC_URL is not set: put the address Shopify and your review apps reach "
            "Clout at in place of https://<CLOUT_PUBLIC_URL>)"
        )
    click.echo(f"URL: {url}")
    click.echo("Where it goes:")
    shown = secret_now if app.secret is Secret.FORM else None
    for line in _guide(app, url=url, secret=shown, domain=domain):
        click.echo(f"  {line}")
    if secret_now is None:
        click.echo(
            f"Secret: not given yet. {app.secret_is[0].upper()}{app.secret_is[1:]}. When you "
            f"have it: `clout reviews connect {domain} {app.provider} --secret-stdin`"
        )
        click.echo(
            "Until then Clout refuses this platform's deliveries (401): it cannot tell "
            "them from forgeries."
        )
        raise SystemExit(1)
    state = "new, " if is_new else ""
    click.echo(f"Secret: stored ({state}encrypted) — {app.secret_is}.")
    click.echo(f"Last delivery: {arrived}")
    refused = _last_refused(settings, provider=app.provider, domain=domain)
    if refused is not None:
        click.echo(
            f"Last refused: {refused:%Y-%m-%d %H:%M:%S} UTC — a delivery whose signature or key "
            "did not match the stored secret"
        )
    if wait:
        _wait_for_delivery(settings, app=app, domain=domain, since=started, seconds=wait)


def _wait_for_delivery(
    settings: Settings, *, app: ReviewApp, domain: str, since: datetime, seconds: int
) -> None:
    click.echo(f"Waiting up to {seconds} s for a delivery from {app.name}: send a test review.")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with session_for(settings) as session:
            found = connected_shop(session, domain)
            newest = session.scalar(
                select(func.max(Delivery.received_at)).where(
                    Delivery.shop_domain == domain, Delivery.source == app.provider
                )
            )
            if newest is not None and newest >= since:
                click.echo(
                    "Arrived: " + last_delivery(session=session, shop=found, provider=app.provider)
                )
                return
        refused = _last_refused(settings, provider=app.provider, domain=domain)
        if refused is not None and refused >= since:
            raise click.ClickException(
                f"{app.name} reached Clout but was refused: its signature or key does not match "
                f"the stored secret. Check the secret ({app.secret_is}) and connect again."
            )
        time.sleep(POLL_SECONDS)
    raise click.ClickException(
        f"nothing arrived from {app.name} in {seconds} s. Check the URL in {app.name}, that "
        "CLOUT_PUBLIC_URL is reachable from the internet, and `clout doctor "
        f"{domain}`."
    )


@reviews_group.command("list")
@click.argument("shop")
def reviews_list(shop: str) -> None:
    """The review apps connected to SHOP and what last arrived from each."""
    settings = load()
    domain = _shop_argument(shop)
    with session_for(settings) as session:
        found = connected_shop(session, domain)
        providers = connected_providers(session=session, shop=found)
        if not providers:
            click.echo(
                f"no review app is connected to {domain}; see `clout reviews connect --help`"
            )
            return
        for provider in providers:
            arrived = last_delivery(session=session, shop=found, provider=provider)
            click.echo(f"{REVIEW_APPS[provider].name:<12} last delivery: {arrived}")


@reviews_group.command("disconnect")
@click.argument("shop")
@click.argument("provider", type=click.Choice(list(REVIEW_APPS), case_sensitive=False))
def reviews_disconnect(shop: str, provider: str) -> None:
    """Forget a review app's secret for SHOP: its deliveries are refused from now on."""
    settings = load()
    domain = _shop_argument(shop)
    with session_for(settings) as session:
        found = connected_shop(session, domain)
        if not disconnect_review_app(session=session, shop=found, provider=provider.lower()):
            raise click.ClickException(f"{provider} is not connected to {domain}")
    click.echo(f"{REVIEW_APPS[provider.lower()].name} is disconnected from {domain}")
