"""A store connected with a custom-app token gets its webhook subscriptions from Clout, made
once, compared and mended on request — against the emulator, over HTTP."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from service.cli import main
from service.deliveries.topics import SHOPIFY_TOPICS
from service.shopify.subscriptions import COMPLIANCE_TOPICS, plan_subscriptions, topic_enum
from tests.support.clout import RunningDevStore
from tests.support.helpers import SHOP

PUBLIC = "https://clout.example.org"
URI = PUBLIC + "/webhooks/shopify"
WANTED = sorted(SHOPIFY_TOPICS - COMPLIANCE_TOPICS)


def run(settings: dict[str, Any], devstore: RunningDevStore, *args: str, **env: str) -> Any:
    environment = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    environment.update(CLOUT_SHOPIFY_ADMIN_URL=devstore.url, **env)
    return CliRunner(env=environment).invoke(main, list(args))


def subscribed(devstore: RunningDevStore) -> list[tuple[str, str]]:
    return sorted((s["topic"], s["uri"]) for s in devstore.store.subscriptions)


def test_the_plan_names_whats_missing_extra_or_pointing_elsewhere() -> None:
    existing = [
        {"id": "1", "topic": "ORDERS_CREATE", "uri": URI},
        {"id": "2", "topic": "ORDERS_CREATE", "uri": URI},  # a second copy
        {"id": "3", "topic": "ORDERS_UPDATED", "uri": "https://old.example.org/webhooks/shopify"},
        {"id": "4", "topic": "PRODUCTS_UPDATE", "uri": URI},  # not a topic Clout handles
        {"id": "5", "topic": "PRODUCTS_UPDATE", "uri": "https://another-app.example.org/"},
    ]

    plan = plan_subscriptions(existing=existing, handled=SHOPIFY_TOPICS, uri=URI)

    assert plan.present == ("orders/create",)
    assert "orders/updated" in plan.missing
    assert not COMPLIANCE_TOPICS & set(plan.missing)  # Shopify refuses those through the API
    assert {e[0] for e in plan.extra} == {"2", "3", "4"}  # another app's address is left alone


def test_connecting_a_store_subscribes_every_handled_topic_once(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    # when the merchant connects the store twice (a reconnect after a token change)
    first = run(
        settings, devstore, "shops", "add", SHOP, "--token", devstore.token, CLOUT_PUBLIC_URL=PUBLIC
    )
    second = run(
        settings, devstore, "shops", "add", SHOP, "--token", devstore.token, CLOUT_PUBLIC_URL=PUBLIC
    )

    # then Shopify has one subscription per handled topic, at Clout's address
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert subscribed(devstore) == sorted((topic_enum(t), URI) for t in WANTED)
    assert f"is subscribed to {len(WANTED)} topics at {URI} ({len(WANTED)} made now" in first.output
    assert "missing" not in first.output
    assert f"is subscribed to {len(WANTED)} topics at {URI} (0 made now" in second.output


def test_without_a_public_url_the_merchant_is_told_what_to_set(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    added = run(settings, devstore, "shops", "add", SHOP, "--token", devstore.token)

    assert added.exit_code == 0, added.output
    assert "CLOUT_PUBLIC_URL is not set" in added.output
    assert devstore.store.subscriptions == []


def test_check_finds_a_lost_subscription_and_fix_mends_it(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    run(
        settings, devstore, "shops", "add", SHOP, "--token", devstore.token, CLOUT_PUBLIC_URL=PUBLIC
    )
    # given Shopify dropped one subscription (failed deliveries) and an old address lingers
    devstore.store.subscriptions = [
        s for s in devstore.store.subscriptions if s["topic"] != "DISPUTES_CREATE"
    ]
    devstore.store.subscriptions.append(
        {
            "id": "gid://shopify/WebhookSubscription/1",
            "topic": "ORDERS_CREATE",
            "uri": "https://old.example.org/webhooks/shopify",
        }
    )

    checked = run(settings, devstore, "shops", "check", SHOP, CLOUT_PUBLIC_URL=PUBLIC)
    mended = run(settings, devstore, "shops", "check", SHOP, "--fix", CLOUT_PUBLIC_URL=PUBLIC)
    again = run(settings, devstore, "shops", "check", SHOP, CLOUT_PUBLIC_URL=PUBLIC)

    assert checked.exit_code == 1
    assert "missing  disputes/create" in checked.output
    assert "extra    ORDERS_CREATE → https://old.example.org/webhooks/shopify" in checked.output
    assert mended.exit_code == 0, mended.output
    assert "made     disputes/create" in mended.output
    assert again.exit_code == 0
    assert subscribed(devstore) == sorted((topic_enum(t), URI) for t in WANTED)
