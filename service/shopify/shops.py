"""The stores Clout serves."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.crypto import TokenVault
from service.core.models import Incident, Shop
from service.core.vocabulary import IncidentStatus, ShopStatus
from service.shopify.admin import (
    ShopifyAdmin,
    ShopifyRefused,
    ShopifyUnauthorized,
    ShopifyUnavailable,
)
from service.shopify.budget import CostBudget
from service.shopify.review_apps import REVIEW_APPS, connect_review_app
from service.shopify.scopes import APP_SCOPES

# Matched whole (`fullmatch`): a pattern ending in `$` also matches before a final newline.
_SHOP_DOMAIN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com")


def is_shop_domain(value: str) -> bool:
    """Shopify's own rule for a shop's permanent domain (the OAuth docs' regular expression)."""
    return isinstance(value, str) and len(value) <= 255 and bool(_SHOP_DOMAIN.fullmatch(value))


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


REVIEW_PROVIDERS = tuple(REVIEW_APPS)


class ShopCheckFailed(Exception):
    """The store or its token cannot be used; the message tells the merchant what to fix."""


def parse_review_secrets(pairs: Sequence[str]) -> dict[str, str]:
    """`PROVIDER=SECRET` pairs, as `clout shops add --review-secret` takes them."""
    secrets: dict[str, str] = {}
    for pair in pairs:
        provider, sep, secret = pair.partition("=")
        provider = provider.strip().lower()
        if not sep or not secret.strip():
            raise ValueError(f"--review-secret takes PROVIDER=SECRET, got {pair.split('=')[0]!r}=…")
        if provider not in REVIEW_PROVIDERS:
            raise ValueError(
                f"unknown review platform {provider!r}; one of: {', '.join(REVIEW_PROVIDERS)}"
            )
        secrets[provider] = secret.strip()
    return secrets


def register_shop(
    *,
    session: Session,
    vault: TokenVault,
    domain: str,
    access_token: str,
    now: datetime,
    review_secrets: Mapping[str, str] | None = None,
) -> Shop:
    """Add a store (or reconnect one) with an Admin API access token, stored encrypted."""
    domain = normalise_shop_domain(domain)
    shop = find_shop(session=session, domain=domain)
    if shop is None:
        shop = Shop(domain=domain, installed_at=now)
        session.add(shop)
        session.flush()
    shop.access_token = vault.seal(access_token)
    shop.access_token_expires_at = None
    shop.refresh_token = None
    shop.installed_at = now if shop.uninstalled_at else shop.installed_at
    reconnected(session=session, shop=shop)
    # A custom app's token: nothing declares its webhooks for it (no shopify.app.toml), so
    # Clout makes them through the Admin API.
    shop.subscriptions_managed = True
    for provider, secret in (review_secrets or {}).items():
        connect_review_app(
            session=session, vault=vault, shop=shop, provider=provider, secret=secret
        )
    return shop


def check_token(*, settings: Settings, domain: str, access_token: str, http: httpx.Client) -> str:
    """One cheap Admin API call with the token; returns the shop's name or says what is wrong."""
    admin = ShopifyAdmin(
        shop=domain,
        access_token=access_token,
        api_version=settings.shopify_api_version,
        http=http,
        admin_url=settings.shopify_admin_url,
        max_attempts=3,
        backoff_base=0.2,
    )
    try:
        info = admin.shop_info()
    except ShopifyUnauthorized:
        raise ShopCheckFailed(
            f"Shopify refused this token for {domain}. Use the Admin API access token "
            "(it starts with shpat_) of the custom app installed on that store, with the "
            f"scopes {', '.join(APP_SCOPES)}."
        ) from None
    except ShopifyUnavailable:
        raise ShopCheckFailed(
            f"could not reach Shopify at {admin.endpoint}; check the network and try again"
        ) from None
    except ShopifyRefused as error:
        raise ShopCheckFailed(f"Shopify did not accept the check: {error}") from None
    answered = str(info.get("myshopifyDomain", "")).lower()
    if answered and answered != domain:
        raise ShopCheckFailed(f"this token belongs to {answered}, not {domain}")
    return str(info.get("name") or domain)


def reconnected(*, session: Session, shop: Shop) -> None:
    """The store is connected again. Back from an uninstall, what Clout could not write while
    it was away is owed to Shopify: its open cases (escalated meanwhile in Clout's records,
    or decided before it left) and the cases closed since it left are attended again, so their
    tags catch up. A new store, or one that never left, has nothing owed."""
    away_since = shop.uninstalled_at if shop.status != ShopStatus.ACTIVE else None
    shop.status = ShopStatus.ACTIVE
    shop.uninstalled_at = None
    if away_since is None or shop.id is None:
        return
    session.execute(
        update(Incident)
        .where(
            Incident.shop_id == shop.id,
            or_(
                Incident.status == IncidentStatus.OPEN,
                Incident.resolved_at >= away_since,
            ),
        )
        .values(needs_attention=True)
        .execution_options(synchronize_session=False)
    )


def mark_uninstalled(*, session: Session, shop: Shop, now: datetime) -> None:
    """The merchant removed the app: stop calling the shop's API, keep its data until
    `shop/redact` (Shopify sends it 48 hours later) in case they reinstall."""
    shop.status = ShopStatus.UNINSTALLED
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
    if shop.status != ShopStatus.ACTIVE or shop.access_token is None:
        raise ShopifyUnauthorized(f"{shop.domain} is not connected (status {shop.status})")
    return ShopifyAdmin(
        shop=shop.domain,
        access_token=vault.open(shop.access_token),
        api_version=settings.shopify_api_version,
        http=http,
        budget=budget,
        admin_url=settings.shopify_admin_url,
    )
