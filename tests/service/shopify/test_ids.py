"""Shopify ids: a GID or a plain number, whole, in ASCII digits, or no id at all."""

from __future__ import annotations

import pytest

from service.shopify.ids import to_gid


@pytest.mark.parametrize(
    "value",
    ["gid://shopify/Order/5\n", "gid://shopify/Order/٥", "٥", "5\n", "gid://shopify/Order/5/6"],
)
def test_an_id_with_anything_after_it_or_non_ascii_digits_is_no_id(value: str) -> None:
    with pytest.raises(ValueError, match="Order"):
        to_gid("Order", value)
