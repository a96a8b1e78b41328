"""Webhook subscriptions of a store connected with a custom-app token, and every store's saved
views, metafield definitions and segments (`attention.workspace`): made at `clout shops add`,
compared and mended by `clout shops check SHOP [--fix]`, Clout's views and segments taken out by
`clout shops check SHOP --remove` before uninstalling."""

from __future__ import annotations

import click

from service.attention.workspace import WorkspacePlan, remove_workspace, tend_workspace
from service.commands.common import connected_shop, load, session_for
from service.core.config import Settings
from service.core.crypto import vault_for
from service.core.shop_settings import shop_config
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


def check_workspace(
    *, settings: Settings, domain: str, fix: bool
) -> tuple[WorkspacePlan | None, list[str]]:
    """Compare the store's saved views, metafield definitions and segments with Clout's, in
    the store's own tag names (and mend them with `fix`)."""
    with session_for(settings) as session:
        shop = connected_shop(session, domain)
        vault = vault_for(settings)
        config = shop_config(session=session, shop_id=shop.id, defaults=settings, vault=vault)
        http = shops.http_client()
        client = shops.admin_for(shop=shop, settings=settings, vault=vault, budget=None, http=http)
    try:
        with http:
            return tend_workspace(
                client=client,
                attention_tag=config.attention_tag,
                resolved_tag=config.resolved_tag,
                fix=fix,
            )
    except (ShopifyUnavailable, ShopifyRefused) as error:
        return None, [f"could not read {domain}'s views, definitions and segments: {error}"]


def workspace_summary(*, settings: Settings, domain: str) -> list[str]:
    """Right after connecting: make the views, definitions and segments, and say so."""
    plan, lines = check_workspace(settings=settings, domain=domain, fix=True)
    if plan is None:
        return [*lines, f"`clout shops check {domain} --fix` makes them once Shopify answers"]
    if plan.in_order:
        made = sum(line.lstrip().startswith("made") for line in lines)
        return [
            (
                f"{domain} has Clout's order views, metafield definitions and segments "
                f"({made} made now)"
            )
        ]
    return [
        (
            f"{domain} is missing some of Clout's views, definitions or segments: "
            f"`clout shops check {domain}` says which"
        ),
        *[line for line in lines if line.startswith(("  refused", "  conflict"))],
    ]


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
@click.option(
    "--remove",
    is_flag=True,
    help="Take Clout's saved views and segments out of the store (before uninstalling).",
)
def shops_check(shop: str, fix: bool, remove: bool) -> None:
    """Compare a store's webhook subscriptions, saved views, metafield definitions and segments
    with what Clout needs."""
    settings = load()
    if remove:
        removed = _remove(settings=settings, domain=shop)
        for line in removed:
            click.echo(line)
        return
    plan, lines = check_store(settings=settings, domain=shop, fix=fix)
    workspace, workspace_lines = check_workspace(settings=settings, domain=shop, fix=fix)
    for line in [*lines, *workspace_lines]:
        click.echo(line)
    wrong = (plan is not None and not plan.in_order) or workspace is None or not workspace.in_order
    if wrong:
        if not fix:
            click.echo(f"run `clout shops check {shop} --fix` to mend it")
        raise SystemExit(1)


def take_workspace_out(*, settings: Settings, domain: str) -> list[str]:
    """Before a store is disconnected: its saved views and segments out of its admin, while
    Clout's token still works. A store that no longer answers (the app uninstalled, the token
    revoked) is said in words and does not stop the disconnection."""
    try:
        return _remove(settings=settings, domain=domain)
    except click.ClickException as error:
        return [
            error.message,
            "remove Clout's saved views and segments in the Shopify admin if they are still there",
        ]


def _remove(*, settings: Settings, domain: str) -> list[str]:
    with session_for(settings) as session:
        shop = connected_shop(session, domain)
        http = shops.http_client()
        client = shops.admin_for(
            shop=shop, settings=settings, vault=vault_for(settings), budget=None, http=http
        )
    try:
        with http:
            removed = remove_workspace(client=client)
    except (ShopifyUnavailable, ShopifyRefused) as error:
        raise click.ClickException(f"could not remove them from {domain}: {error}") from None
    return [f"removed  {what}" for what in removed] or ["nothing of Clout's to remove"]
