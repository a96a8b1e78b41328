"""The stores Clout serves."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Settings
from service.crypto import TokenVault
from service.models import Shop
from service.shopify_admin import ShopifyAdmin, ShopifyUnauthorized
from service.shopify_budget import CostBudget

_SHOP_DOMAIN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$")


def is_shop_domain(value: str) -> bool:
    """Shopify's own rule for a shop's permanent domain (the OAuth docs' regular expression)."""
    return bool(_SHOP_DOMAIN.match(value)) and len(value) <= 255


def normalise_shop_domain(value: str) -> str:
    domain = value.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    if not is_shop_domain(domain):
        raise ValueError(
            f"{value!r} is not a shop domain: use the permanent SHOP.myshopify.com domain "
            "(Shopify admin → Settings → Domains), not a custom storefront domain"
        )
    return domain


def find_shop(*, session: Session, domain: str) -> Shop | None:
    return session.scalar(select(Shop).where(Shop.domain == domain.lower()))


def register_shop(
    *, session: Session, vault: TokenVault, domain: str, access_token: str, now: datetime
) -> Shop:
    """Add a store (or reconnect one) with an Admin API access token, stored encrypted."""
    domain = normalise_shop_domain(domain)
    shop = find_shop(session=session, domain=domain)
    if shop is None:
        shop = Shop(domain=domain, installed_at=now)
        session.add(shop)
    shop.access_token = vault.seal(access_token)
    shop.status = "active"
    shop.installed_at = now if shop.uninstalled_at else shop.installed_at
    shop.uninstalled_at = None
    return shop


def mark_uninstalled(*, session: Session, shop: Shop, now: datetime) -> None:
    """The merchant removed the app: stop calling the shop's API, keep its data until
    `shop/redact` (Shopify sends it 48 hours later) in case they reinstall."""
    shop.status = "uninstalled"
    shop.uninstalled_at = now
    shop.access_token = None
    shop.refresh_token = None
    shop.access_token_expires_at = None
    session.flush()


def http_client(timeout: float = 10.0) -> httpx.Client:
    """One pooled HTTP client per process: Shopify keeps connections alive."""
    return httpx.Client(timeout=httpx.Timeout(timeout, connect=3.0), http2=False)


def admin_for(
    *,
    shop: Shop,
    settings: Settings,
    vault: TokenVault,
    budget: CostBudget | None,
    http: httpx.Client,
) -> ShopifyAdmin:
    """The Admin API client for a connected shop, with its token decrypted."""
    if shop.status != "active" or shop.access_token is None:
        raise ShopifyUnauthorized(f"{shop.domain} is not connected (status {shop.status})")
    return ShopifyAdmin(
        shop=shop.domain,
        access_token=vault.open(shop.access_token),
        api_version=settings.shopify_api_version,
        http=http,
        budget=budget,
        admin_url=settings.shopify_admin_url,
    )
