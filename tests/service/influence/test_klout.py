"""What customers type as a social handle cannot steer Clout's request to the Klout provider:
not to another path, query or host, and the provider's key goes to the provider only."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.serving import make_server

from service.influence.klout import HttpKloutProvider, NotAHandle, provider_url
from service.influence.social import SOCIAL_NETWORKS, clean_handle

KEY = "provider-key-0123456789"


class Recorder:
    """An HTTP server at the system's edge that keeps what it was asked."""

    def __init__(self, answer: Any) -> None:
        self.seen: list[tuple[str, str | None]] = []
        self.answer = answer

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ["PATH_INFO"]
        self.seen.append((raw, environ.get("HTTP_AUTHORIZATION")))
        status, headers, body = self.answer(environ)
        start_response(status, headers)
        return [body]


@pytest.fixture
def served() -> Iterator[Any]:
    running: list[Any] = []

    def serve(answer: Any) -> tuple[str, Recorder]:
        recorder = Recorder(answer)
        server = make_server("127.0.0.1", 0, recorder)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        running.append(server)
        return f"http://127.0.0.1:{server.server_port}", recorder

    yield serve
    for server in running:
        server.shutdown()


def followers(_environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    return "200 OK", [("Content-Type", "application/json")], b'{"followers": 1200}'


HOSTILE = [
    "../../internal/admin/delete?all=1#",
    "maya/../../admin",
    "..",
    ".",
    "%2e%2e%2fadmin",
    "maya?admin=1",
    "maya#x",
    "maya smith",
    "https://evil.example/steal",
    "ivy.star\r\nX-Injected: 1",
]


def test_only_a_handle_reaches_the_provider_under_its_own_path(served: Any) -> None:
    # given the provider, and handles customers typed into a checkout note
    base, provider = served(followers)
    klout = HttpKloutProvider(url=f"{base}/social", key=KEY, cache=None)

    # when Clout looks them up
    hostile = [klout.lookup("instagram", text) for text in HOSTILE]
    fine = klout.lookup("instagram", "@ivy.star")
    linked = klout.lookup("instagram", "https://www.instagram.com/ivy.star/")

    # then none of the hostile ones is sent anywhere; real handles are, one segment each
    assert hostile == [None] * len(HOSTILE)
    assert [path for path, _ in provider.seen] == ["/social/instagram/ivy.star"] * 2
    assert fine is not None
    assert linked is not None


def test_the_providers_key_never_follows_a_redirect(served: Any) -> None:
    # given a provider that redirects, to a server that would keep the key
    elsewhere, thief = served(followers)

    def redirect(_environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        return "302 Found", [("Location", f"{elsewhere}/collect")], b""

    base, provider = served(redirect)
    klout = HttpKloutProvider(url=f"{base}/social", key=KEY, cache=None)

    # when a lookup is answered with the redirect
    with pytest.raises(Exception, match="instagram"):
        klout.lookup("instagram", "maya")

    # then the key went to the provider, and nothing to the other server
    assert provider.seen == [("/social/instagram/maya", f"Bearer {KEY}")]
    assert thief.seen == []


@given(network=st.sampled_from(SOCIAL_NETWORKS), typed=st.text(max_size=80))
def test_whatever_is_typed_the_url_stays_on_the_providers_path(network: str, typed: str) -> None:
    base = "https://provider.example.com/v2/social"
    try:
        url = provider_url(base, network, typed)
    except NotAHandle:
        assert clean_handle(network, typed) is None
        return
    assert url.host == "provider.example.com"
    assert url.query == b""
    assert not url.fragment
    parent, _, handle = url.raw_path.decode().rpartition("/")
    assert parent == f"/v2/social/{network}"
    assert handle == clean_handle(network, typed)
