"""Shop domains: only a store's permanent `*.myshopify.com` domain, the whole value and nothing
after it, is ever taken for one."""

from __future__ import annotations

import pytest

from service.shopify.shops import is_shop_domain, normalise_shop_domain


@pytest.mark.parametrize(
    "value",
    [
        "test-shop.myshopify.com\n",  # `$` in a regular expression matches before a final \n
        "test-shop.myshopify.com\r\n",
        "test-shop.myshopify.com.evil.example",
        "evil.example/test-shop.myshopify.com",
        "evil.example",
        "-shop.myshopify.com",
        "tést-shop.myshopify.com",
        "",
    ],
)
def test_only_a_whole_myshopify_domain_is_a_shop_domain(value: str) -> None:
    assert not is_shop_domain(value)


def test_a_permanent_domain_is_a_shop_domain_and_is_normalised() -> None:
    assert is_shop_domain("test-shop.myshopify.com")
    assert normalise_shop_domain(" https://Test-Shop.myshopify.com/ ") == "test-shop.myshopify.com"
