"""Klout, online reach: a pluggable provider looks up the handles a customer gave. No handle,
no provider, or a failed lookup leaves Klout unknown, never zero."""

from __future__ import annotations

import contextlib
import json
from typing import Protocol
from urllib.parse import quote

import httpx
import redis

from service.influence.scoring import Reach
from service.influence.social import clean_handle


class KloutProvider(Protocol):
    def lookup(self, network: str, handle: str) -> Reach | None: ...


class KloutUnavailable(Exception):
    """The provider could not answer: Klout stays unknown and the profile incomplete."""


class NotAHandle(ValueError):
    """What the customer typed is not a username on that network: nothing is looked up."""


def provider_url(base: str, network: str, handle: str) -> httpx.URL:
    """`{base}/{network}/{handle}`, each part one encoded path segment: nothing a customer
    types can add a segment, a query or a fragment, or leave the provider's host."""
    cleaned = clean_handle(network, handle)
    if cleaned is None:
        raise NotAHandle(network)
    root = httpx.URL(base)
    path = f"{root.path.rstrip('/')}/{quote(network.lower(), safe='')}/{quote(cleaned, safe='')}"
    url = root.copy_with(path=path, query=None, fragment=None)
    if (url.scheme, url.host, url.port) != (root.scheme, root.host, root.port) or (
        url.raw_path.decode() != path
    ):
        raise NotAHandle(network)  # the URL library read it otherwise: do not send it
    return url


class HttpKloutProvider:
    """Any social-data service answering `GET {url}/{network}/{handle}` with
    `{"followers": int, "engagement_rate": float, "authenticity": float}`, configured by
    `CLOUT_KLOUT_PROVIDER_URL` and `CLOUT_KLOUT_PROVIDER_KEY`; answers cached in Redis. The key
    goes to that host only: requests are built from it, and redirects are not followed."""

    def __init__(
        self,
        *,
        url: str,
        key: str | None,
        cache: redis.Redis | None,
        ttl_seconds: int = 86_400,
        timeout: float = 5.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.url, self.key, self.cache, self.ttl = url.rstrip("/"), key, cache, ttl_seconds
        self.http = http or httpx.Client(timeout=timeout, follow_redirects=False)

    def lookup(self, network: str, handle: str) -> Reach | None:
        try:
            url = provider_url(self.url, network, handle)
        except NotAHandle:
            return None  # not a handle there: no reach to find
        cache_key = f"clout:klout:{network.lower()}:{handle.lower()}"
        if self.cache is not None:
            try:
                cached = self.cache.get(cache_key)
            except redis.RedisError:
                cached = None
            if cached:
                data = json.loads(cached)
                return Reach(**data) if data else None
        try:
            response = self.http.get(
                url,
                headers={"Authorization": f"Bearer {self.key}"} if self.key else {},
                follow_redirects=False,
            )
        except httpx.HTTPError:
            raise KloutUnavailable(network) from None
        if response.status_code == 404:
            reach = None
        elif response.is_success:
            try:
                body = response.json()
                reach = Reach(
                    int(body["followers"]),
                    float(body.get("engagement_rate", 0.0)),
                    float(body.get("authenticity", 1.0)),
                )
            except (ValueError, TypeError, KeyError, AttributeError):
                raise KloutUnavailable(network) from None  # an answer we cannot read
        else:
            raise KloutUnavailable(network)
        if self.cache is not None:
            with contextlib.suppress(redis.RedisError):
                self.cache.set(
                    cache_key, json.dumps(reach.__dict__ if reach else None), ex=self.ttl
                )
        return reach
