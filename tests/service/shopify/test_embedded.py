"""The embedded app's patch-id-token page (`/app/patch-id-token`): where the admin sends a
page load whose session token is missing or stale, to fetch a fresh one. Its `shop` is taken
from the query, so it is checked before it is used anywhere, above all in the header that says
who may frame the page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from tests.support.helpers import CLIENT_ID, SHOP

PATCH = "/app/patch-id-token"


@pytest.fixture
def embedded(make_app: Callable[..., Flask]) -> Flask:
    return make_app(SHOPIFY_API_KEY=CLIENT_ID)


def test_the_page_for_a_shop_loads_app_bridge_framed_by_that_shop_only(embedded: Flask) -> None:
    page = embedded.test_client().get(PATCH, query_string={"shop": SHOP, "shopify-reload": "/app"})

    assert page.status_code == 200
    assert b"app-bridge.js" in page.data
    assert page.headers["Content-Security-Policy"] == (
        f"frame-ancestors https://{SHOP} https://admin.shopify.com;"
    )


@pytest.mark.parametrize(
    "shop",
    [
        "evil.example",  # would let evil.example frame the page
        f"{SHOP}\r\nSet-Cookie: x=1",  # header injection
        f"{SHOP}\n",
        f"{SHOP} https://evil.example",
        "tést.myshopify.com",
        "",
    ],
)
def test_a_shop_that_is_not_a_myshopify_domain_is_refused_before_any_header(
    embedded: Flask, shop: str
) -> None:
    answer = embedded.test_client().get(
        PATCH, query_string={"shop": shop, "shopify-reload": "/app"}
    )

    assert answer.status_code == 400
    assert answer.json["outcome"] == "bad_request"
    assert "Content-Security-Policy" not in answer.headers
    assert "Set-Cookie" not in answer.headers


@pytest.mark.parametrize(
    "reload", ["https://evil.example/app", "//evil.example/app", "/\\evil.example", "/app\r\n", ""]
)
def test_the_page_sends_app_bridge_back_only_to_a_path_of_this_app(
    embedded: Flask, reload: str
) -> None:
    answer = embedded.test_client().get(
        PATCH, query_string={"shop": SHOP, "shopify-reload": reload}
    )

    assert answer.status_code == 400
    assert answer.json["outcome"] == "bad_request"


def test_without_the_apps_client_id_the_page_says_it_is_not_configured(
    make_app: Callable[..., Flask],
) -> None:
    answer = (
        make_app().test_client().get(PATCH, query_string={"shop": SHOP, "shopify-reload": "/app"})
    )

    assert answer.status_code == 503
    assert answer.json["outcome"] == "unavailable"
    assert "SHOPIFY_API_KEY" in answer.json["detail"]
