"""Where the OAuth grant sends the merchant back: Clout's own address, never the Host header.

`/auth/install` built the callback's `redirect_uri` from the request's Host header (and its
scheme from how the request arrived). A link with a forged Host sends a merchant to Shopify's
grant screen asking to return the authorization code to another site, which only Shopify's
allow-list stops; behind a proxy that ends TLS it asks for an `http://` callback that the
allow-list refuses. CLOUT_PUBLIC_URL says where Clout is: the callback is there."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

from flask import Flask

from service.shopify.oauth import sign_query
from tests.support.helpers import CLIENT_ID, SECRET, SHOP

PUBLIC_URL = "https://clout.example.com"


def test_the_callback_is_at_the_public_url_whatever_the_host_header(
    make_app: Callable[..., Flask],
) -> None:
    # given a public app whose address is set
    app = make_app(SHOPIFY_API_KEY=CLIENT_ID, CLOUT_PUBLIC_URL=PUBLIC_URL)
    signed = sign_query({"shop": SHOP, "timestamp": str(int(time.time()))}, SECRET)

    # when an install request arrives naming another host (a forged link, or a proxy's own)
    response = app.test_client().get(
        "/auth/install", query_string=signed, headers={"Host": "attacker.example.net"}
    )

    # then Shopify is asked to send the merchant back to Clout's own callback
    assert response.status_code == 302
    query = parse_qs(urlparse(response.headers["Location"]).query)
    assert query["redirect_uri"] == [f"{PUBLIC_URL}/auth/callback"]
