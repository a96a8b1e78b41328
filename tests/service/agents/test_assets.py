"""The page's static files: fingerprinted URLs a browser may keep for a year, sent gzipped to
browsers that take it, and nothing served for a URL that is not a file's current one."""

from __future__ import annotations

import gzip
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.agents.assets import STATIC, accepts_gzip
from service.core.models import Shop
from tests.support.agents_page import add_agent, log_in
from tests.support.helpers import SHOP


@pytest.fixture
def agent(app: Flask, shop: Shop) -> FlaskClient:
    add_agent(app, "agent@example.org", SHOP)
    client = app.test_client()
    assert log_in(client, "agent@example.org").status_code == 302
    return client


def asset_urls(page: str) -> dict[str, str]:
    """The page's static files by name → the URL it asks for."""
    found = re.findall(r'(?:href|src)="(/agents/assets/[0-9a-f]{12}/([^"]+))"', page)
    return {name: url for url, name in found}


# --- bad input first -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/agents/assets/000000000000/agents.js",  # an old release's digest
        "/agents/assets/{digest}/../views.py",  # out of the static folder
        "/agents/assets/{digest}/%2e%2e/views.py",
        "/agents/assets/{digest}/no-such-file.js",
        "/agents/assets/{digest}/vendor",  # a folder, not a file
    ],
)
def test_a_url_that_is_not_a_files_current_one_is_404_and_not_kept(
    agent: FlaskClient, path: str
) -> None:
    # given the digest the page uses for agents.js
    digest = asset_urls(agent.get("/agents").get_data(as_text=True))["agents.js"].split("/")[3]

    # when a browser asks for something else under /agents/assets
    answer = agent.get(path.format(digest=digest))

    # then nothing is served, and nothing tells a cache to keep the refusal
    assert answer.status_code == 404
    assert "max-age" not in answer.headers.get("Cache-Control", "")


@pytest.mark.parametrize(
    ("header", "takes"),
    [
        ("", False),
        ("identity", False),
        ("gzip;q=0", False),
        ("gzip;q=nonsense", False),
        ("br, gzip, deflate", True),
        ("GZIP;q=0.5", True),
        ("*", True),
    ],
)
def test_only_a_browser_that_takes_gzip_gets_it(header: str, takes: bool) -> None:
    assert accepts_gzip(header) is takes


# --- the files ------------------------------------------------------------------------------


def test_the_page_asks_for_fingerprinted_files_that_browsers_keep_for_a_year(
    agent: FlaskClient,
) -> None:
    # given the agents' page
    urls = asset_urls(agent.get("/agents").get_data(as_text=True))

    # then each of its files is asked for by a URL naming its bytes
    assert set(urls) == {"favicon.svg", "agents.css", "agents.js", "vendor/chart.umd.min.js"}
    for name, url in urls.items():
        # when a browser fetches it without gzip
        answer = agent.get(url, headers={"Accept-Encoding": "identity"})

        # then it gets the file's bytes, to keep for a year without asking again
        assert answer.status_code == 200, name
        assert answer.data == (STATIC / name).read_bytes(), name
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Content-Encoding" not in answer.headers
        assert answer.headers["Vary"] == "Accept-Encoding"
        # and no session cookie that a shared cache could hand to someone else
        assert "Set-Cookie" not in answer.headers


def test_chartjs_goes_gzipped_to_a_browser_that_takes_it(agent: FlaskClient) -> None:
    # given the page's Chart.js URL
    url = asset_urls(agent.get("/agents").get_data(as_text=True))["vendor/chart.umd.min.js"]

    # when a browser that takes gzip fetches it
    answer = agent.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})

    # then it travels compressed, well under half its size, and unpacks to the same file
    raw = (STATIC / "vendor/chart.umd.min.js").read_bytes()
    assert answer.headers["Content-Encoding"] == "gzip"
    assert len(answer.data) < len(raw) / 2
    assert gzip.decompress(answer.data) == raw
    assert "javascript" in answer.headers["Content-Type"]


def test_the_login_page_uses_the_same_fingerprinted_stylesheet(app: Flask) -> None:
    login = app.test_client().get("/agents/login").get_data(as_text=True)

    assert "agents.css" in asset_urls(login)
