"""Review apps, connected with guidance: the exact URL each one posts to, where in that app it
goes, and the secret that proves a delivery is its own (../shared/research/reviews.md).

Two kinds of secret: a platform that signs its deliveries (Judge.me, Okendo, Fera) signs with a
secret *it* holds, which the merchant copies into Clout; a platform that signs nothing (Yotpo,
REVIEWS.io, Trustpilot, Loox) is given a URL that carries a secret *Clout* makes (`?key=`), and
Stamped echoes one Clout makes from its webhook form.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.core.crypto import TokenVault
from service.core.models import Delivery, ReviewSecret, Shop
from service.core.vocabulary import DeliveryStatus

REVIEWS_PATH = "/webhooks/reviews"
PUBLIC_URL_PLACEHOLDER = "https://<CLOUT_PUBLIC_URL>"


class Secret(StrEnum):
    THEIRS = "theirs"  # the platform's own signing secret, pasted into Clout
    URL_KEY = "key"  # Clout makes one and puts it in the URL
    FORM = "form"  # Clout makes one and the merchant types it in the app's webhook form


@dataclass(frozen=True)
class ReviewApp:
    provider: str
    name: str
    secret: Secret
    secret_is: str  # where the merchant finds theirs, or what Clout's is for
    steps: tuple[str, ...]  # {url} and {secret} and {shop} are filled in when shown

    @property
    def key_in_url(self) -> bool:
        return self.secret is Secret.URL_KEY

    @property
    def clout_makes_secret(self) -> bool:
        return self.secret is not Secret.THEIRS


REVIEW_APPS: dict[str, ReviewApp] = {
    app.provider: app
    for app in (
        ReviewApp(
            "judgeme",
            "Judge.me",
            Secret.THEIRS,
            "your Private API token (Judge.me admin → Settings → Integrations → View API "
            "tokens): Judge.me signs webhooks made with it using that token",
            (
                (
                    "Judge.me has no webhook form: webhooks are made with its API. Run, with your "
                    "Private API token:"
                ),
                (
                    "  curl -X POST 'https://judge.me/api/v1/webhooks?api_token=TOKEN&shop_domain="
                    "{shop}' -H 'Content-Type: application/json' "
                    '-d \'{{"webhook": {{"key": "review/created", "url": "{url}"}}}}\''
                ),
                '  and the same with "review/updated" (a review edited or moderated later).',
            ),
        ),
        ReviewApp(
            "okendo",
            "Okendo",
            Secret.THEIRS,
            "the webhook secret (whsec_…) Okendo returns when the subscription is made",
            (
                (
                    "Okendo's webhooks (Advanced plan and above) are made with its Merchant API, "
                    "with your Okendo user id and API key:"
                ),
                (
                    "  curl -u USER_ID:API_KEY -X POST https://api.okendo.io/enterprise/"
                    "webhook_subscriptions -H 'Content-Type: application/json' -d '{{\"endpointUrl"
                    '": "{url}", "isEnabled": true, "subscriptions": [{{"resourceType": '
                    '"review", "topic": "create"}}], "version": "2025-02-01"}}\''
                ),
                "  The answer holds the webhook secret (whsec_…): give it to Clout.",
            ),
        ),
        ReviewApp(
            "fera",
            "Fera",
            Secret.THEIRS,
            "your Fera store's Secret Key (Fera signs each delivery's ?jwt= with it)",
            (
                "In Fera: Integrations → Webhooks → add a webhook.",
                "  URL: {url}",
                "  Events: review_create, review_update.",
            ),
        ),
        ReviewApp(
            "stamped",
            "Stamped",
            Secret.FORM,
            "a secret Clout made; Stamped sends it back with every delivery",
            (
                "In Stamped: Settings → Webhooks → Add Webhook.",
                "  Payload URL: {url}",
                "  Secret: {secret}",
                "  Events: Reviews; Is Active: on. Save.",
            ),
        ),
        ReviewApp(
            "yotpo",
            "Yotpo",
            Secret.URL_KEY,
            "a secret Clout made, in the URL (Yotpo signs nothing)",
            (
                (
                    "Yotpo turns webhooks on through your Yotpo representative; then make a "
                    "review_create and a review_updated webhook (Yotpo's Create Webhook API) with "
                    "this target URL:"
                ),
                "  {url}",
            ),
        ),
        ReviewApp(
            "reviewsio",
            "REVIEWS.io",
            Secret.URL_KEY,
            "a secret Clout made, in the URL (REVIEWS.io signs nothing)",
            (
                (
                    "In REVIEWS.io: add a 'review submitted' webhook (dashboard, or its "
                    "webhook/add API) with this URL:"
                ),
                "  {url}",
                (
                    "  Send review invitations with the Shopify order number as the order id: "
                    "it is how a review finds its order."
                ),
            ),
        ),
        ReviewApp(
            "trustpilot",
            "Trustpilot",
            Secret.URL_KEY,
            "a secret Clout made, in the URL (Trustpilot signs nothing)",
            (
                (
                    "In Trustpilot's Business app: Integrations → Developers → Webhooks. Paste as "
                    "the Subscription URL (service reviews, and product reviews if you collect "
                    "them), press Test, then Save:"
                ),
                "  {url}",
                (
                    "  Trustpilot sends no email: invite with the Shopify order number as the "
                    "reference so a review finds its order."
                ),
            ),
        ),
        ReviewApp(
            "loox",
            "Loox",
            Secret.URL_KEY,
            "a secret Clout made, in the URL",
            (
                (
                    "Loox webhooks come with its Convert and Unlimited plans (Loox admin → "
                    "Integrations → API & webhooks). Use this URL for new reviews:"
                ),
                "  {url}",
            ),
        ),
        ReviewApp(
            "generic",
            "any other app (or Shopify Flow's Send HTTP request)",
            Secret.URL_KEY,
            "a secret Clout made: in the URL, or as the key of a base64 HMAC-SHA256 of the "
            "body in X-Clout-Hmac-Sha256",
            (
                "POST the review as JSON (see the README's 'Review platforms' for the fields) to:",
                "  {url}",
                (
                    "  or to the URL without ?key=, signed: X-Clout-Hmac-Sha256 = base64 of "
                    "HMAC-SHA256(body, {secret})."
                ),
            ),
        ),
    )
}


def review_url(*, public_url: str | None, provider: str, domain: str, key: str | None) -> str:
    base = (public_url or PUBLIC_URL_PLACEHOLDER).rstrip("/")
    url = f"{base}{REVIEWS_PATH}/{provider}/{domain}"
    return f"{url}?key={quote(key, safe='')}" if key else url


def new_secret() -> str:
    # URL-safe: it may travel in a query string.
    return secrets.token_urlsafe(32)


def stored_secret(*, session: Session, vault: TokenVault, shop: Shop, provider: str) -> str | None:
    row = session.scalar(
        select(ReviewSecret).where(
            ReviewSecret.shop_id == shop.id, ReviewSecret.provider == provider
        )
    )
    return None if row is None else vault.open(row.secret)


def connect_review_app(
    *, session: Session, vault: TokenVault, shop: Shop, provider: str, secret: str
) -> None:
    """Store (or replace) the shop's secret for a review platform, encrypted like tokens."""
    row = session.scalar(
        select(ReviewSecret).where(
            ReviewSecret.shop_id == shop.id, ReviewSecret.provider == provider
        )
    )
    if row is None:
        row = ReviewSecret(shop_id=shop.id, provider=provider, secret=b"")
        session.add(row)
    row.secret = vault.seal(secret)
    session.flush()


class NotTheirSecret(ValueError):
    """A secret was given for a platform that signs nothing: Clout makes that one."""


def wire_review_app(
    *,
    session: Session,
    vault: TokenVault,
    shop: Shop,
    app: ReviewApp,
    given: str | None,
    renew: bool = False,
) -> tuple[str | None, bool]:
    """Connect (or look at) a review app for a store: store the platform's secret when given,
    make Clout's own when the platform has none (or `renew`). The secret in force (None while
    a signing platform's is still to come), and whether it is new."""
    if given is not None and app.clout_makes_secret:
        raise NotTheirSecret(f"{app.name} does not sign with a secret of its own: Clout makes one")
    current = stored_secret(session=session, vault=vault, shop=shop, provider=app.provider)
    if app.clout_makes_secret and (current is None or renew):
        given = new_secret()
    if given is not None:
        connect_review_app(
            session=session, vault=vault, shop=shop, provider=app.provider, secret=given
        )
    return given or current, given is not None


def disconnect_review_app(*, session: Session, shop: Shop, provider: str) -> bool:
    row = session.scalar(
        select(ReviewSecret).where(
            ReviewSecret.shop_id == shop.id, ReviewSecret.provider == provider
        )
    )
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def connected_providers(*, session: Session, shop: Shop) -> Sequence[str]:
    return list(
        session.scalars(
            select(ReviewSecret.provider)
            .where(ReviewSecret.shop_id == shop.id)
            .order_by(ReviewSecret.provider)
        )
    )


@dataclass(frozen=True)
class Arrival:
    """The newest delivery from a review platform for one store."""

    received_at: datetime
    delivery_id: int
    status: str
    error: str | None  # why it failed, when it did
    count: int  # deliveries from the platform for the store, in all


def last_arrival(*, session: Session, shop: Shop, provider: str) -> Arrival | None:
    mine = (Delivery.shop_domain == shop.domain, Delivery.source == provider)
    count = session.scalar(select(func.count()).where(*mine)) or 0
    newest = session.scalar(
        select(Delivery).where(*mine).order_by(Delivery.received_at.desc(), Delivery.id.desc())
    )
    if newest is None:
        return None
    failed = newest.status in {DeliveryStatus.FAILED, DeliveryStatus.DEAD}
    return Arrival(
        received_at=newest.received_at,
        delivery_id=newest.id,
        status=str(newest.status),
        error=newest.last_error if failed else None,
        count=count,
    )
