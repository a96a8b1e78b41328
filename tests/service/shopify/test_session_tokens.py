"""Session tokens from the admin's blocks: only a token Shopify minted for this app, for one
shop, still alive, proves a staff member. Everything else is refused, with a reason for the
logs."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest

from service.shopify.session_tokens import (
    SessionTokenRefused,
    StaffMember,
    bearer_token,
    read_session_token,
)
from tests.support.helpers import CLIENT_ID, OLD_SECRET, SECRET, SHOP, session_token

NOW = 1_790_000_000.0


def claims(**changes: Any) -> dict[str, Any]:
    """The claims Shopify's admin puts in a block's token, changed as a test needs."""
    made = {
        "iss": f"https://{SHOP}/admin",
        "dest": f"https://{SHOP}",
        "aud": CLIENT_ID,
        "sub": "42",
        "exp": int(NOW) + 60,
        "nbf": int(NOW) - 5,
        "iat": int(NOW) - 5,
        "jti": str(uuid.uuid4()),
        "sid": "session-1",
    }
    made.update(changes)
    return {k: v for k, v in made.items() if v is not None}


def token(secret: str = SECRET, algorithm: str = "HS256", **changes: Any) -> str:
    return jwt.encode(claims(**changes), secret, algorithm=algorithm)


def read(value: str, *, now: float = NOW, secrets: tuple[str, ...] = (SECRET,)) -> StaffMember:
    return read_session_token(token=value, api_key=CLIENT_ID, secrets=secrets, now=now)


@pytest.mark.parametrize(
    ("forged", "code"),
    [
        (token(secret="someone-elses-secret-0123456789abcdef"), "bad_signature"),  # not ours
        (token()[:-10] + "tampered00", "bad_signature"),  # signature altered
        (jwt.encode(claims(), key=None, algorithm="none"), "bad_signature"),  # unsigned
        (token(aud="another-apps-client-id"), "another_app"),  # minted for another app
        (token(exp=None), "claim_missing"),  # would never expire
        (token(dest=None), "claim_missing"),
        (token(dest="https://evil.example"), "bad_dest"),
        (token(dest=f"http://{SHOP}", iss=f"http://{SHOP}/admin"), "bad_dest"),
        (token(dest=f"https://{SHOP}/x", iss=f"https://{SHOP}/x/admin"), "bad_dest"),
        (token(iss="https://other-shop.myshopify.com/admin"), "issuer_not_the_shop"),
        (token(sub="staff-1; drop"), "bad_sub"),
        (token(sub="9" * 21), "bad_sub"),
        (token(nbf=int(NOW) - 3600, exp=int(NOW) + 3600), "lives_too_long"),
        ("not a token at all", "bad_signature"),
    ],
)
def test_a_forged_or_foreign_token_is_refused(forged: str, code: str) -> None:
    # given a token Shopify did not mint for this app and this shop
    # when Clout reads it
    with pytest.raises(SessionTokenRefused) as refused:
        read(forged)
    # then it proves nobody, and the log says why
    assert refused.value.code == code


def test_an_expired_token_is_refused_and_a_future_one_too() -> None:
    # given a token good for NOW … NOW+60
    good = token()
    # when it is read two minutes late, or before it starts
    with pytest.raises(SessionTokenRefused) as late:
        read(good, now=NOW + 120)
    with pytest.raises(SessionTokenRefused) as early:
        read(good, now=NOW - 60)
    # then neither reading proves anyone
    assert late.value.code == "expired"
    assert early.value.code == "not_yet_valid"


def test_no_secret_or_no_api_key_configured_fails_closed() -> None:
    # given an app whose secret or client id is not set
    # when a token arrives
    # then it is refused rather than waved through
    with pytest.raises(SessionTokenRefused) as no_secret:
        read_session_token(token=token(), api_key=CLIENT_ID, secrets=("",), now=NOW)
    with pytest.raises(SessionTokenRefused) as no_key:
        read_session_token(token=token(), api_key=None, secrets=(SECRET,), now=NOW)
    assert no_secret.value.code == no_key.value.code == "app_not_configured"


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer ", "Basic abc", "bearer abc", "Bearer " + "a" * 5000]
)
def test_a_missing_or_malformed_authorization_header_is_refused(header: str | None) -> None:
    with pytest.raises(SessionTokenRefused) as refused:
        bearer_token(header)
    assert refused.value.code == "missing_bearer_token"


def test_a_token_shopify_minted_names_the_shop_and_the_staff_member() -> None:
    # given the token the admin hands a block on the order page
    # when Clout reads it, a second before it expires
    staff = read(bearer_token("Bearer " + token()), now=NOW + 59)
    # then it knows the shop and who is looking
    assert staff == StaffMember(shop=SHOP, user_id="42")


def test_a_token_signed_with_the_secret_rotating_out_still_counts() -> None:
    # given a secret rotation under way
    # when a token signed with the old secret arrives
    staff = read(token(secret=OLD_SECRET), secrets=(SECRET, OLD_SECRET))
    # then it is read like any other
    assert staff.shop == SHOP


def test_the_real_clock_reads_a_fresh_token() -> None:
    # The shared helper mints with the real clock, as the admin does.
    staff = read_session_token(
        token=session_token(), api_key=CLIENT_ID, secrets=(SECRET,), now=time.time()
    )
    assert staff.user_id == "42"
