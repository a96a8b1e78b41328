"""The Admin API access scopes Clout needs, in one place: OAuth asks for them, a custom app's
token is checked against them, and `shopify.app.toml` declares the same list (a test keeps the
two equal, and checks the list against what every document reads and every topic needs)."""

from __future__ import annotations

APP_SCOPES: tuple[str, ...] = (
    "read_orders",
    "write_orders",
    "read_customers",
    "write_customers",
    "read_returns",
    "read_fulfillments",
    "read_shopify_payments_disputes",
    "read_products",  # product ids on line items: a review is linked to the order it reviews
)
