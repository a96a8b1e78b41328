"""Clout's OpenAPI description keeps up with its routes: schemathesis
(`tests/security/test_openapi.py`) only sends requests to what `/openapi.json` describes, so a
route left out of it is never fuzzed. In the fast layer, so a new route without its
description fails at once, not only in the slow suite."""

from __future__ import annotations

import json
import re

from flask import Flask

from service.ops import OPENAPI

# Files, not API: the page's scripts and styles, at plain and fingerprinted URLs.
STATIC = {"static", "dashboard.static", "dashboard.fingerprinted"}
# Werkzeug answers these for every route by itself: HEAD as GET, OPTIONS with the methods.
AUTOMATIC = {"HEAD", "OPTIONS"}
PARAMETER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def served(app: Flask) -> set[tuple[str, str]]:
    """(method, path) of every route but the static files, the path as OpenAPI writes it."""
    return {
        (method, PARAMETER.sub(r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in STATIC
        for method in (rule.methods or set()) - AUTOMATIC
    }


def described() -> set[tuple[str, str]]:
    paths = json.loads(OPENAPI.read_text())["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item}


def test_every_route_clout_serves_is_described_and_nothing_else(app: Flask) -> None:
    # given the routes the app answers, and the description schemathesis reads
    routes, description = served(app), described()
    # then each route is described with each of its methods, and nothing is described that
    # the app does not answer
    assert sorted(routes - description) == [], "served but not in service/openapi.json"
    assert sorted(description - routes) == [], "in service/openapi.json but not served"
    assert ("POST", "/agents/api/incidents/{incident_id}/resolve") in routes
