"""Webhook subscriptions of a store connected with a custom-app token: made at `clout shops
add`, compared and mended by `clout shops check SHOP [--fix]`."""

from __future__ import annotations

import click

from service.commands.common import connected_shop, load, session_for
from service.core.config import Settings
from service.core.crypto import vault_for
from service.deliveries.topics import SHOPIFY_TOPICS
from service.shopify import shops
from service.shopify.admin import ShopifyRefused, ShopifyUnavailable
from service.shopify.subscriptions import (
    SubscriptionPlan,
    callback_url,
    describe_plan,
    plan_subscriptions,
    push_subscriptions,
)

NO_PUBLIC_URL = (
    "CLOUT_PUBLIC_URL is not set, so Clout cannot tell Shopify where to send webhooks. Set it "
    "to the address Shopify reaches this Clout at (https://clout.example.com), then run "
    "`clout shops check {domain} --fix`. Until then Shopify sends Clout nothing."
)


def check_store(
    *, settings: Settings, domain: str, fix: bool
) -> tuple[SubscriptionPlan | None, list[str]]:
    """Compare the store's subscriptions with the topics Clout handles (and mend them with
    `fix`); the plan, and what to tell the merchant."""
    with session_for(settings) as session:
        shop = connected_shop(session, domain)
        if not shop.subscriptions_managed:
            public = (
                f"{domain} was installed as a public app: its webhooks come from "
                "shopify.app.toml (deploy it with `shopify app deploy`), not from Clout."
            )
            return None, [public]
        if settings.public_url is None:
            return None, [NO_PUBLIC_URL.format(domain=domain)]
        http = shops.http_client()
        client = shops.admin_for(
            shop=shop, settings=settings, vault=vault_for(settings), budget=None, http=http
        )
    uri = callback_url(settings.public_url)
    try:
        with http:
            plan = plan_subscriptions(
                existing=client.webhook_subscriptions(), handled=SHOPIFY_TOPICS, uri=uri
            )
            lines = list(describe_plan(plan))
            if fix and not plan.in_order:
                pushed = push_subscriptions(client=client, plan=plan, delete_extra=True)
                lines += [f"  made     {t}" for t in pushed.created]
                lines += [f"  deleted  {t}" for t in pushed.deleted]
                lines += [f"  refused  {r}" for r in pushed.refused]
                plan = plan_subscriptions(
                    existing=client.webhook_subscriptions(), handled=SHOPIFY_TOPICS, uri=uri
                )
    except (ShopifyUnavailable, ShopifyRefused) as error:
        return None, [f"could not read {domain}'s webhook subscriptions: {error}"]
    return plan, lines


def subscribe_new_store(*, settings: Settings, domain: str) -> list[str]:
    """Right after `clout shops add`: make the subscriptions, and say what was done."""
    if settings.public_url is None:
        return [NO_PUBLIC_URL.format(domain=domain)]
    plan, lines = check_store(settings=settings, domain=domain, fix=True)
    if plan is None:
        return lines
    done = [line for line in lines if line.startswith(("  made", "  deleted", "  refused"))]
    if plan.in_order:
        made = sum(line.startswith("  made") for line in done)
        kept = len(plan.present) - made
        return [
            (
                f"{domain} is subscribed to {len(plan.present)} topics at {plan.uri} "
                f"({made} made now, {kept} already there)"
            ),
            *[line for line in done if not line.startswith("  made")],
        ]
    return [
        (
            f"{domain} is NOT fully subscribed at {plan.uri}: "
            f"`clout shops check {domain}` says what is missing"
        ),
        *done,
    ]


@click.command("check")
@click.argument("shop")
@click.option("--fix", is_flag=True, help="Make what is missing and delete what is extra.")
def shops_check(shop: str, fix: bool) -> None:
    """Compare a store's webhook subscriptions with the topics Clout handles."""
    plan, lines = check_store(settings=load(), domain=shop, fix=fix)
    for line in lines:
        click.echo(line)
    if plan is not None and not plan.in_order:
        if not fix:
            click.echo(f"run `clout shops check {shop} --fix` to mend it")
        raise SystemExit(1)
