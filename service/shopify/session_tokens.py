"""Shopify's session tokens from the admin's UI extensions (the blocks on the order and customer
pages), read strictly.

An admin UI extension's `fetch` to the app's own domain carries `Authorization: Bearer <token>`:
an HS256 JWT signed with the app's client secret, naming the app (`aud`, its client id), the
shop (`dest`, `https://<shop>.myshopify.com`), its admin (`iss`, `<dest>/admin`), the staff
member (`sub`) and a short life (`nbf` … `exp`).

`shopifyapp.verify_admin_ui_ext_req` would take a token with no `exp` at all (PyJWT checks the
claim only when it is there), and hands back whatever text `dest` holds. A token here is a key to
a shop's unhappy customers and to closing their cases, so every claim is required and checked,
the time against the caller's clock (a test states it; `clout doctor` watches the real one), and
anything unexpected is a refusal: no secret configured is a refusal too, never a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jwt

from service.shopify.shops import is_shop_domain

# Shopify's admin mints a token for a minute; a little slack for two clocks that differ.
CLOCK_LEEWAY_SECONDS = 5
# No Shopify session token lives longer than a few minutes; a longer one was not minted by it.
LONGEST_LIFE_SECONDS = 10 * 60
REQUIRED_CLAIMS = ("aud", "dest", "exp", "iss", "nbf", "sub")
MAX_TOKEN_LENGTH = 4_096


class SessionTokenRefused(Exception):
    """The token does not prove a staff member of a shop; `code` says why, for the logs only."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class StaffMember:
    """Who is asking, as Shopify's token says: the shop's domain (checked) and the staff id."""

    shop: str
    user_id: str


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer …` header."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    if scheme != "Bearer" or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise SessionTokenRefused("missing_bearer_token")
    return token


def read_session_token(
    *, token: str, api_key: str | None, secrets: Sequence[str], now: float
) -> StaffMember:
    """The staff member a session token proves, or `SessionTokenRefused`. `secrets`: the app's
    client secret and, during a rotation, the previous one; `now`: seconds since the epoch."""
    if not api_key or not any(secrets):
        raise SessionTokenRefused("app_not_configured")
    claims = None
    for secret in (s for s in secrets if s):
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],  # never the token's own choice ("none", RS256 with our key)
                audience=api_key,
                # The time is checked below against `now`, not PyJWT's clock.
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
            break
        except jwt.InvalidAudienceError:
            raise SessionTokenRefused("another_app") from None
        except jwt.MissingRequiredClaimError:
            raise SessionTokenRefused("claim_missing") from None
        except jwt.PyJWTError:
            continue  # the other secret may have signed it
    if claims is None:
        raise SessionTokenRefused("bad_signature")
    return _staff(claims, now=now)


def _staff(claims: dict[str, object], *, now: float) -> StaffMember:
    not_before, expires = claims["nbf"], claims["exp"]
    if not isinstance(not_before, int | float) or not isinstance(expires, int | float):
        raise SessionTokenRefused("bad_time")
    if now < not_before - CLOCK_LEEWAY_SECONDS:
        raise SessionTokenRefused("not_yet_valid")
    if now >= expires + CLOCK_LEEWAY_SECONDS:
        raise SessionTokenRefused("expired")
    if expires - not_before > LONGEST_LIFE_SECONDS:
        raise SessionTokenRefused("lives_too_long")
    dest, issuer, subject = claims["dest"], claims["iss"], claims["sub"]
    if not isinstance(dest, str) or not dest.startswith("https://"):
        raise SessionTokenRefused("bad_dest")
    shop = dest.removeprefix("https://")
    if not is_shop_domain(shop):
        raise SessionTokenRefused("bad_dest")
    # Shopify's own rule: the admin that issued it belongs to the shop it is for.
    if issuer != f"{dest}/admin":
        raise SessionTokenRefused("issuer_not_the_shop")
    # A staff member's numeric id: it becomes part of who a case's trail says acted.
    if not isinstance(subject, str) or not (subject.isascii() and subject.isdigit()):
        raise SessionTokenRefused("bad_sub")
    if len(subject) > 20:
        raise SessionTokenRefused("bad_sub")
    return StaffMember(shop=shop, user_id=subject)
