"""The Admin API client against the project's emulator, over real HTTP, with a real Redis."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis

from service.dev.devstore.seed import seed_store
from service.dev.devstore.server import DevAdmin, LeakyBucket, Plan, serving
from service.dev.devstore.store import DevStore, Order
from service.shopify.admin import (
    ShopifyAdmin,
    ShopifyRefused,
    ShopifyUnauthorized,
    ShopifyUnavailable,
    admin_endpoint,
)
from service.shopify.budget import FLOOR_LANE, LATER_LANE, CostBudget
from service.shopify.documents import AdminDocument
from tests.support.clout import RunningDevStore
from tests.support.helpers import SHOP


def an_order(store: DevStore, *, tags: list[str] | None = None) -> Order:
    customer = store.add_person("c@example.com", "C", "D")
    return store.add_purchase(customer, tags=list(tags or []))


@pytest.fixture
def budget(redis_url: str) -> CostBudget:
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    return CostBudget(redis.Redis.from_url(redis_url))


def client_for(dev: RunningDevStore, budget: CostBudget | None, **options: object) -> ShopifyAdmin:
    return ShopifyAdmin(
        shop=SHOP,
        access_token=dev.token,
        api_version="2026-07",
        http=httpx.Client(timeout=5),
        budget=budget,
        admin_url=dev.url,
        **options,  # type: ignore[arg-type]
    )


def test_the_admin_url_override_sends_every_shop_to_one_server() -> None:
    assert (
        admin_endpoint(
            shop="a.myshopify.com", api_version="2026-07", admin_url="http://127.0.0.1:9/"
        )
        == "http://127.0.0.1:9/admin/api/2026-07/graphql.json"
    )
    assert (
        admin_endpoint(shop="a.myshopify.com", api_version="2026-07", admin_url=None)
        == "https://a.myshopify.com/admin/api/2026-07/graphql.json"
    )


def test_tags_are_added_and_read_back_without_touching_other_tags(
    devstore: RunningDevStore, budget: CostBudget
) -> None:
    order = an_order(devstore.store, tags=["vip", "wholesale"])
    client = client_for(devstore, budget)

    after_add = client.add_tags(order.gid, ["clout-attention", "clout-priority-high"])
    after_remove = client.remove_tags(order.gid, ["clout-priority-high"])

    assert after_add == ["clout-attention", "clout-priority-high", "vip", "wholesale"]
    assert after_remove == ["clout-attention", "vip", "wholesale"]
    assert client.tags_of(order.gid) == ["clout-attention", "vip", "wholesale"]
    assert devstore.admin.stats.mutations == {"tagsAdd": 1, "tagsRemove": 1}


def test_an_order_tag_over_40_characters_is_refused_before_any_call(
    devstore: RunningDevStore, budget: CostBudget
) -> None:
    order = an_order(devstore.store)

    with pytest.raises(ShopifyRefused, match="40"):
        client_for(devstore, budget).add_tags(order.gid, ["x" * 41])
    assert devstore.admin.stats.calls == 0


def test_metafields_are_written_in_the_clout_namespace(
    devstore: RunningDevStore, budget: CostBudget
) -> None:
    order = an_order(devstore.store)
    customer_gid = f"gid://shopify/Customer/{order.customer_id}"

    client_for(devstore, budget).set_metafields(
        customer_gid, {"clout_score": ("number_integer", "87"), "reasons": ("json", '["a"]')}
    )

    customer = devstore.store.customers[order.customer_id or 0]
    assert customer.metafields[("clout", "clout_score")].value == "87"
    assert customer.metafields[("clout", "reasons")].type == "json"


def test_customer_with_statistics_and_orders(devstore: RunningDevStore, budget: CostBudget) -> None:
    order = an_order(devstore.store)
    client = client_for(devstore, budget)
    gid = f"gid://shopify/Customer/{order.customer_id}"

    customer = client.customer(gid)
    orders = client.customer_recent_orders(gid)

    assert customer is not None
    assert customer["numberOfOrders"] == "1"  # UnsignedInt64 arrives as a string
    assert customer["amountSpent"] == {"amount": "10.00", "currencyCode": "USD"}
    assert "predictedSpendTier" in customer["statistics"]
    assert [o["id"] for o in orders] == [order.gid]


@pytest.mark.e2e  # waits out real throttles and storms
def test_a_burst_far_above_the_bucket_completes_without_a_single_throttle(
    redis_url: str, budget: CostBudget
) -> None:
    # given a small plan: 200 points, 100 a second; and 60 mutations (600 points) at once
    store = DevStore(SHOP)
    store.tokens.add("t")
    admin = DevAdmin(store, plan=Plan(maximum=200, restore_rate=100))
    orders = [an_order(store) for _ in range(60)]
    with serving(admin) as url:
        dev = RunningDevStore(store=store, admin=admin, url=url, token="t")
        client = client_for(dev, budget)
        client.shop_info()  # the first answer tells the budget the shop's plan

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda o: client.add_tags(o.gid, ["clout-attention"]), orders))
        elapsed = time.monotonic() - started

    # then every call succeeded, Shopify never had to throttle, and pacing kept near the rate
    assert all("clout-attention" in tags for tags in results)
    assert admin.stats.throttled == 0
    assert admin.stats.mutations == {"tagsAdd": 60}
    assert elapsed < 600 / 100 + 3


@pytest.mark.e2e  # waits out real throttles and storms
def test_throttling_on_a_cold_start_is_waited_out(devstore: RunningDevStore) -> None:
    # given no shared budget at all: Shopify's THROTTLED answers are the only pacing
    devstore.admin.bucket = type(devstore.admin.bucket)(Plan(maximum=50, restore_rate=100))
    orders = [an_order(devstore.store) for _ in range(20)]
    client = client_for(devstore, None)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda o: client.add_tags(o.gid, ["clout-attention"]), orders))

    assert all(results)
    assert devstore.admin.stats.throttled > 0
    assert devstore.admin.stats.mutations == {"tagsAdd": 20}


@pytest.mark.e2e  # waits out real throttles and storms
@pytest.mark.parametrize("style", ["graphql", "http"])
def test_both_throttle_signals_mean_wait_and_retry(devstore: RunningDevStore, style: str) -> None:
    devstore.admin.set_faults(throttle_style=style)
    devstore.admin.bucket = type(devstore.admin.bucket)(Plan(maximum=10, restore_rate=20))
    orders = [an_order(devstore.store) for _ in range(4)]
    client = client_for(devstore, None)

    for order in orders:
        client.add_tags(order.gid, ["clout-attention"])

    assert devstore.admin.stats.throttled >= 1
    assert devstore.admin.stats.mutations == {"tagsAdd": 4}


@pytest.mark.e2e  # waits out real throttles and storms
def test_a_5xx_storm_is_retried_until_it_passes(
    devstore: RunningDevStore, budget: CostBudget
) -> None:
    devstore.admin.set_faults(error_rate=0.5)
    orders = [an_order(devstore.store) for _ in range(20)]
    client = client_for(devstore, budget, max_attempts=12, backoff_base=0.01)

    for order in orders:
        client.add_tags(order.gid, ["clout-attention"])

    assert devstore.admin.stats.server_errors > 0
    assert all("clout-attention" in o.tags for o in orders)


@pytest.mark.e2e  # waits out real throttles and storms
def test_a_429_storm_is_waited_out(devstore: RunningDevStore, budget: CostBudget) -> None:
    order = an_order(devstore.store)
    devstore.admin.set_faults(storm_seconds=1.5)

    tags = client_for(devstore, budget).add_tags(order.gid, ["clout-attention"])

    assert tags == ["clout-attention"]
    assert devstore.admin.stats.storm_429 >= 1


def test_shopify_down_for_good_ends_in_a_retryable_error(budget: CostBudget) -> None:
    client = ShopifyAdmin(
        shop=SHOP,
        access_token="t",
        api_version="2026-07",
        http=httpx.Client(timeout=1),
        budget=budget,
        admin_url="http://127.0.0.1:1",
        max_attempts=3,
        backoff_base=0.01,
    )

    with pytest.raises(ShopifyUnavailable):
        client.shop_info()


def test_a_refused_token_is_not_retried(devstore: RunningDevStore, budget: CostBudget) -> None:
    client = client_for(devstore, budget)
    client.access_token = "shpat_revoked"

    with pytest.raises(ShopifyUnauthorized):
        client.shop_info()
    assert devstore.admin.stats.calls == 1


def test_a_query_shopify_rejects_is_not_retried(
    devstore: RunningDevStore, budget: CostBudget
) -> None:
    with pytest.raises(ShopifyRefused, match="GraphQL errors"):
        client_for(devstore, budget).execute(
            AdminDocument("query Broken { shop { noSuchField } }", cost=1)
        )
    assert devstore.admin.stats.calls == 1


def test_orders_updated_since_pages_through_every_change(
    devstore: RunningDevStore, budget: CostBudget
) -> None:
    # a Plus-sized bucket: each page costs 782 points, and this is about paging, not pacing
    devstore.admin.bucket.plan = Plan(maximum=4000, restore_rate=1000)
    devstore.admin.bucket.available = 4000.0
    seed_store(devstore.store, customers=40, orders=180, seed=7)
    since = datetime.now(UTC) - timedelta(days=60)
    expected = {o.gid for o in devstore.store.orders.values() if o.updated_at > since}

    seen = [o["id"] for o in client_for(devstore, budget).orders_updated_since(since)]

    assert len(seen) == len(set(seen))
    assert set(seen) == expected
    assert len(expected) > 25  # more than one page


@pytest.mark.e2e  # waits out real throttles and storms
def test_two_worker_processes_share_one_shops_budget(
    redis_url: str, budget: CostBudget, tmp_path: object
) -> None:
    # given a small bucket and two separate processes tagging 25 orders each
    store = DevStore(SHOP)
    store.tokens.add("t")
    admin = DevAdmin(store, plan=Plan(maximum=100, restore_rate=100))
    orders = [an_order(store) for _ in range(50)]
    script = textwrap.dedent(
        """
        import sys, httpx, redis
        from service.shopify.admin import ShopifyAdmin
        from service.shopify.budget import FLOOR_LANE, LATER_LANE, CostBudget
        url, redis_url, *gids = sys.argv[1:]
        client = ShopifyAdmin(shop="test-shop.myshopify.com", access_token="t",
                              api_version="2026-07", http=httpx.Client(timeout=5),
                              budget=CostBudget(redis.Redis.from_url(redis_url)), admin_url=url)
        for gid in gids:
            client.add_tags(gid, ["clout-attention"])
        """
    )
    with serving(admin) as url:
        client_for(RunningDevStore(store, admin, url, "t"), budget).shop_info()
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", script, url, redis_url, *[o.gid for o in orders[i::2]]]
            )
            for i in range(2)
        ]
        codes = [w.wait(timeout=60) for w in workers]

    # then both finished, every order is tagged, and the shared budget kept Shopify happy
    assert codes == [0, 0]
    assert all(o.tags == ["clout-attention"] for o in orders)
    assert admin.stats.throttled == 0


@pytest.mark.e2e  # waits for the bucket to refill
def test_points_taken_from_a_full_bucket_are_not_spent_twice(budget: CostBudget) -> None:
    # given Shopify's bucket and the shared copy both full: 200 points, 100 a second
    shop = f"margin-{uuid.uuid4().hex[:8]}.myshopify.com"
    shopify = LeakyBucket(Plan(maximum=200, restore_rate=100))
    full = {"maximumAvailable": 200, "currentlyAvailable": 200, "restoreRate": 100}
    budget.observe(shop, throttle_status=full)

    # when eight workers take their points at once and their calls reach Shopify 0.1 s later
    # (the copy refills meanwhile; Shopify's full bucket cannot), and before any answer has
    # corrected the copy the workers go on as fast as it allows, each call reaching Shopify
    # at once
    for _ in range(8):
        assert budget.acquire(shop, 10) == 0
    time.sleep(0.1)
    assert all(shopify.take(10) for _ in range(8))
    refused = 0
    for _ in range(20):
        while (wait := budget.acquire(shop, 10)) > 0:
            time.sleep(wait)
        refused += not shopify.take(10)

    # then Shopify refuses none of them
    assert refused == 0


def test_later_work_leaves_the_floors_reserve_in_the_bucket(budget: CostBudget) -> None:
    # given a shop's bucket (1,000 points, 50 a second) nearly spent
    shop = f"lanes-{uuid.uuid4().hex[:8]}.myshopify.com"
    assert budget.acquire(shop, 920) == 0  # 80 points left; the floor's reserve is 100

    # when best-effort work and a floor each ask for 20 points
    later_wait = budget.acquire(shop, 20, lane=LATER_LANE)
    floor_wait = budget.acquire(shop, 20, lane=FLOOR_LANE)

    # then the later call waits until the reserve is whole again, the floor goes at once
    assert later_wait > 0.5
    assert floor_wait == 0


def test_the_budget_asks_what_shopify_last_charged_for_an_operation(
    devstore: RunningDevStore, budget: CostBudget
) -> None:
    # given metafields written on a customer (Shopify prices metafieldsSet by its owners)
    maya = devstore.store.add_person("maya@example.org", "Maya", "Ortiz")
    client = client_for(devstore, budget)

    client.set_metafields(maya.gid, {"attention_priority": ("single_line_text_field", "urgent")})

    # then the budget remembers Shopify's own up-front price for that operation
    assert budget.learned("MetafieldsSet") >= 10
    assert budget.learned("NeverSent") == 0


def test_the_floors_retries_are_bounded_by_time_not_by_a_count(
    devstore: RunningDevStore, budget: CostBudget
) -> None:
    # given Shopify failing every call, and a client allowed a thousand attempts but half a
    # second of retrying
    order = devstore.store.add_purchase(devstore.store.add_person("a@example.org", "A", "B"))
    devstore.admin.set_faults(error_rate=1.0)
    client = dataclasses.replace(
        client_for(devstore, budget),
        max_attempts=1_000,
        time_limit=0.5,
        backoff_base=0.1,
        backoff_cap=0.1,
    )
    before = devstore.admin.stats.server_errors

    # when the attention tag is pushed
    with pytest.raises(ShopifyUnavailable):
        client.add_tags(order.gid, ["clout-attention"])

    # then it gave up after the time ran out: a handful of tries, not a thousand
    tries = devstore.admin.stats.server_errors - before
    assert 2 <= tries <= 12
