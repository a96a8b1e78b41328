"""Klout, online reach: a pluggable provider looks up the handles a customer gave. No handle,
no provider, or a failed lookup leaves Klout unknown, never zero."""

from __future__ import annotations

import contextlib
import json
from typing import Protocol

import redis
import requests

from service.influence.scoring import Reach


class KloutProvider(Protocol):
    def lookup(self, network: str, handle: str) -> Reach | None: ...


class HttpKloutProvider:
    """Any social-data service answering `GET {url}/{network}/{handle}` with
    `{"followers": int, "engagement_rate": float, "authenticity": float}`, configured by
    `CLOUT_KLOUT_PROVIDER_URL` and `CLOUT_KLOUT_PROVIDER_KEY`; answers cached in Redis."""

    def __init__(
        self,
        *,
        url: str,
        key: str | None,
        cache: redis.Redis | None,
        ttl_seconds: int = 86_400,
        timeout: float = 5.0,
        http: requests.Session | None = None,
    ) -> None:
        self.url, self.key, self.cache, self.ttl, self.timeout = (
            url.rstrip("/"),
            key,
            cache,
            ttl_seconds,
            timeout,
        )
        self.http = http or requests.Session()

    def lookup(self, network: str, handle: str) -> Reach | None:
        cache_key = f"clout:klout:{network}:{handle.lower()}"
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
                f"{self.url}/{network}/{handle}",
                headers={"Authorization": f"Bearer {self.key}"} if self.key else {},
                timeout=self.timeout,
            )
        except requests.RequestException:
            raise KloutUnavailable(network) from None
        if response.status_code == 404:
            reach = None
        elif response.ok:
            body = response.json()
            reach = Reach(
                int(body["followers"]),
                float(body.get("engagement_rate", 0.0)),
                float(body.get("authenticity", 1.0)),
            )
        else:
            raise KloutUnavailable(network)
        if self.cache is not None:
            with contextlib.suppress(redis.RedisError):
                self.cache.set(
                    cache_key, json.dumps(reach.__dict__ if reach else None), ex=self.ttl
                )
        return reach


class KloutUnavailable(Exception):
    """The provider could not answer: Klout stays unknown and the profile incomplete."""
