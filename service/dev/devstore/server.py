"""The emulator's HTTP face: `POST /admin/api/{version}/graphql.json`, throttled like Shopify.

A real leaky bucket per store (configurable plan limits) answers `THROTTLED` (200) or 429 when a
query's requested cost exceeds what is available; faults can be switched on over HTTP
(`POST /devstore/faults`) or in code: a 5xx rate, added latency, a 429 storm.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from email.utils import formatdate
from typing import Any

import jwt
from flask import Flask, Response, request
from graphql import GraphQLError, OperationDefinitionNode, parse
from graphql.utilities import get_operation_ast
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from service.core.config import DEFAULT_API_VERSION
from service.dev.devstore import bulk
from service.dev.devstore import schema as devschema
from service.dev.devstore.store import DevStore
from service.shopify.admin_schema import (
    MAX_QUERY_COST,
    SchemaNotVendored,
    requested_cost,
    shopify_errors,
)
from service.shopify.scopes import APP_SCOPES


@dataclass
class Plan:
    """Shopify's GraphQL bucket: `maximum` points, refilled at `restore_rate` points a second."""

    maximum: float = 1000.0
    restore_rate: float = 50.0


class LeakyBucket:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.available = plan.maximum
        self.at = time.monotonic()
        self.lock = threading.Lock()

    def _refill(self) -> None:
        moment = time.monotonic()
        self.available = min(
            self.plan.maximum, self.available + (moment - self.at) * self.plan.restore_rate
        )
        self.at = moment

    def take(self, cost: float) -> bool:
        with self.lock:
            self._refill()
            if cost > self.available:
                return False
            self.available -= cost
            return True

    def refund(self, points: float) -> None:
        with self.lock:
            self._refill()
            self.available = min(self.plan.maximum, self.available + points)

    def status(self) -> dict[str, float]:
        with self.lock:
            self._refill()
            return {
                "maximumAvailable": self.plan.maximum,
                "currentlyAvailable": round(self.available, 1),
                "restoreRate": self.plan.restore_rate,
            }


@dataclass
class Faults:
    error_rate: float = 0.0  # share of calls answered 502/503
    latency: float = 0.0  # seconds added to every call
    storm_seconds: float = 0.0  # answer 429 to everything for this long (from when it is set)
    throttle_style: str = "graphql"  # how a throttle shows: "graphql" (200 THROTTLED) or "http"
    only_tags: bool = False  # every call but tagsAdd / tagsRemove answers 500
    # Calls to these root fields (comma-separated: "tagsRemove") answer 503 while set: one
    # operation down while the rest of Shopify answers.
    failing: str = ""
    # Mutations by these root fields (comma-separated) are answered with a userError, as Shopify
    # refuses a change it will not make: the call is answered, the change is not made.
    refusing: str = ""
    clock_offset: float = 0.0  # seconds Shopify's `Date` header is off from this machine's
    # A bulk result's download breaks off after this many lines (0: never), as a dropped
    # connection would: what an import must survive.
    cut_download_after_lines: int = 0
    storm_until: float = field(default=0.0, repr=False)


@dataclass
class Stats:
    calls: int = 0
    succeeded: int = 0
    throttled: int = 0
    server_errors: int = 0
    storm_429: int = 0
    unauthorized: int = 0
    token_grants: int = 0
    token_refreshes: int = 0
    token_exchanges: int = 0
    mutations: dict[str, int] = field(default_factory=dict)
    points_spent: float = 0.0


class DevAdmin:
    def __init__(
        self,
        store: DevStore,
        *,
        plan: Plan | None = None,
        faults: Faults | None = None,
        seed: int = 0,
        client_id: str = "clout-dev-client-id",
        client_secret: str | None = None,
    ) -> None:
        self.store = store
        self.client_id = client_id
        self.client_secret = client_secret
        self.bucket = LeakyBucket(plan or Plan())
        self.faults = faults or Faults()
        self.stats = Stats()
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def set_faults(self, **changes: Any) -> None:
        with self.lock:
            for key, value in changes.items():
                if key not in Faults.__dataclass_fields__ or key == "storm_until":
                    raise ValueError(f"unknown fault {key!r}")
                setattr(self.faults, key, type(getattr(self.faults, key))(value))
            if "storm_seconds" in changes:
                self.faults.storm_until = time.monotonic() + float(changes["storm_seconds"])

    def _count(self, name: str, amount: float = 1) -> None:
        with self.lock:
            setattr(self.stats, name, getattr(self.stats, name) + amount)

    def handle(
        self, token: str | None, body: bytes, version: str = DEFAULT_API_VERSION
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        self._count("calls")
        if self.faults.latency:
            time.sleep(self.faults.latency)
        if token is None or token not in self.store.tokens:
            self._count("unauthorized")
            return (
                401,
                {
                    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
                },
                {},
            )
        if time.monotonic() < self.faults.storm_until:
            self._count("storm_429")
            return (
                429,
                {
                    "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
                },
                {"Retry-After": "1.0"},
            )
        if self.faults.error_rate and self.rng.random() < self.faults.error_rate:
            self._count("server_errors")
            return self.rng.choice((502, 503)), {"errors": "Service Unavailable"}, {}
        try:
            payload = json.loads(body)
            query = payload["query"]
            variables = payload.get("variables") or {}
            operation_name = payload.get("operationName")
            document = parse(query)
        except (ValueError, KeyError, TypeError, GraphQLError):
            return 400, {"errors": {"query": "Required parameter missing or invalid"}}, {}
        if not isinstance(variables, dict):
            return 400, {"errors": {"variables": "must be an object"}}, {}
        try:
            schema = devschema.schema_for(version)
        except SchemaNotVendored:
            return 404, {"errors": "Not Found"}, {}
        problems = shopify_errors(schema, document)
        if problems:
            return 200, {"errors": problems}, {}
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return 200, {"errors": [{"message": "An operation name is required"}]}, {}
        if self.faults.only_tags and not _tags_only(operation):
            self._count("server_errors")
            return 500, {"errors": "Internal Server Error"}, {}
        if self.faults.failing and _root_fields(operation) & set(self.faults.failing.split(",")):
            self._count("server_errors")
            return 503, {"errors": "Service Unavailable"}, {}
        refused = _root_fields(operation) & set(filter(None, self.faults.refusing.split(",")))
        if refused:
            error = {"field": ["id"], "message": "The emulator refuses this change (fault)"}
            return 200, {"data": {f: {"node": None, "userErrors": [error]} for f in refused}}, {}
        cost = requested_cost(schema, document, variables, operation_name)
        if cost > MAX_QUERY_COST:
            return (
                200,
                {
                    "errors": [
                        {
                            "message": f"Query cost is {cost}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).",
                            "extensions": {
                                "code": "MAX_COST_EXCEEDED",
                                "cost": cost,
                                "maxCost": MAX_QUERY_COST,
                            },
                        }
                    ],
                },
                {},
            )
        if not self.bucket.take(cost):
            self._count("throttled")
            extensions = self._cost(cost, None)
            if self.faults.throttle_style == "http":
                return (
                    429,
                    {
                        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                        "extensions": extensions,
                    },
                    {"Retry-After": "1.0"},
                )
            return (
                200,
                {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    "extensions": extensions,
                },
                {},
            )
        result = devschema.execute(self.store, schema, document, variables, operation_name)
        if result.data is None and result.errors and all(not e.path for e in result.errors):
            # Variables Shopify could not coerce (a string where an enum belongs, a missing
            # required value): refused before anything runs, and nothing is charged.
            self.bucket.refund(cost)
            return (
                200,
                {
                    "errors": [
                        {**e.formatted, "extensions": {"code": "INVALID_VARIABLE"}}
                        for e in result.errors
                    ]
                },
                {},
            )
        self._count("succeeded")
        self._count("points_spent", cost)
        if operation.operation.value == "mutation":
            with self.lock:
                for selection in operation.selection_set.selections:
                    name = getattr(selection, "name", None)
                    if name is not None:
                        self.stats.mutations[name.value] = (
                            self.stats.mutations.get(name.value, 0) + 1
                        )
        answer: dict[str, Any] = {"data": result.data, "extensions": self._cost(cost, cost)}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        return 200, answer, {}

    def grant(self, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """`POST /admin/oauth/access_token`: an authorization code or a (single-use) refresh
        token for an expiring offline token, as Shopify answers it."""
        if form.get("client_id") != self.client_id or (
            self.client_secret is not None and form.get("client_secret") != self.client_secret
        ):
            return 400, {"error": "invalid_client"}
        with self.lock:
            if form.get("grant_type") == "urn:ietf:params:oauth:grant-type:token-exchange":
                try:
                    jwt.decode(
                        form.get("subject_token", ""),
                        self.client_secret or "",
                        algorithms=["HS256"],
                        audience=self.client_id,
                        options={"verify_signature": self.client_secret is not None},
                    )
                except jwt.PyJWTError:
                    return 400, {"error": "invalid_subject_token"}
                self.stats.token_exchanges += 1
            elif form.get("grant_type") == "refresh_token":
                if form.get("refresh_token") not in self.store.refresh_tokens:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": "refresh token is invalid or was already used",
                    }
                self.store.refresh_tokens.discard(form["refresh_token"])
                self.stats.token_refreshes += 1
            else:
                if form.get("code") not in self.store.oauth_codes:
                    return 400, {
                        "error": "invalid_request",
                        "error_description": "authorization code was not found or was already used",
                    }
                self.store.oauth_codes.discard(form["code"])
                self.stats.token_grants += 1
            access, refresh = f"shpat_{secrets.token_hex(12)}", f"shprt_{secrets.token_hex(12)}"
            self.store.tokens.add(access)
            self.store.refresh_tokens.add(refresh)
        return 200, {
            "access_token": access,
            "scope": ",".join(APP_SCOPES),
            "expires_in": 3600,
            "refresh_token": refresh,
            "refresh_token_expires_in": 7_776_000,
        }

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": self.bucket.status(),
            }
        }

    def wsgi(self) -> Flask:
        app = Flask("clout-devstore")

        @app.post("/admin/api/<version>/graphql.json")
        def graphql(version: str) -> Response:
            status, body, headers = self.handle(
                request.headers.get("X-Shopify-Access-Token"), request.get_data(), version
            )
            return Response(
                json.dumps(body), status=status, headers=headers, mimetype="application/json"
            )

        @app.get("/devstore/bulk/<int:run_id>.jsonl")
        def bulk_result(run_id: int) -> Response:
            # A signed URL, as Shopify's storage serves one: no access token, the signature is
            # the permission.
            result = bulk.result_for(
                self.store,
                run_id,
                request.args.get("Expires", ""),
                request.args.get("Signature", ""),
            )
            if result is None:
                return Response("AccessDenied", status=403, mimetype="application/xml")
            cut = self.faults.cut_download_after_lines
            return Response(
                _lines(result, cut_after=cut),
                headers={"Content-Length": str(len(result))},
                mimetype="application/jsonl",
            )

        @app.delete("/admin/api_permissions/current.json")
        def uninstall() -> Response:
            # Shopify's way for an app to uninstall itself (and the emulator's way for a test
            # or a walk-through to play a merchant removing the app).
            if request.headers.get("X-Shopify-Access-Token") not in self.store.tokens:
                return Response(
                    json.dumps({"errors": "[API] Invalid API key or access token"}),
                    status=401,
                    mimetype="application/json",
                )
            self.store.uninstall()
            return Response("{}", mimetype="application/json")

        @app.post("/admin/oauth/access_token")
        def access_token() -> Response:
            form = request.get_json(silent=True) or request.form.to_dict()
            status, body = self.grant(form)
            return Response(json.dumps(body), status=status, mimetype="application/json")

        @app.get("/social/<network>/<handle>")
        def social(network: str, handle: str) -> Response:
            found = self.store.social.get((network.lower(), handle.lower()))
            if self.faults.error_rate and self.rng.random() < self.faults.error_rate:
                return Response("{}", status=503, mimetype="application/json")
            if found is None:
                return Response(
                    json.dumps({"error": "not found"}), status=404, mimetype="application/json"
                )
            return Response(json.dumps(found), mimetype="application/json")

        @app.post("/devstore/faults")
        def faults() -> Response:
            try:
                self.set_faults(**(request.get_json(force=True) or {}))
            except (ValueError, TypeError) as error:
                return Response(
                    json.dumps({"error": str(error)}), status=400, mimetype="application/json"
                )
            return Response(json.dumps(asdict(self.faults)), mimetype="application/json")

        @app.get("/devstore/stats")
        def stats() -> Response:
            with self.lock:
                return Response(
                    json.dumps({**asdict(self.stats), "bucket": self.bucket.status()}),
                    mimetype="application/json",
                )

        return app


class DownloadCut(ConnectionError):
    """The `cut_download_after_lines` fault: the connection drops mid-file."""


def _lines(result: bytes, *, cut_after: int) -> Iterator[bytes]:
    for sent, line in enumerate(result.splitlines(keepends=True)):
        if cut_after and sent >= cut_after:
            raise DownloadCut(f"download cut after {sent} lines")
        yield line


@contextmanager
def serving(admin: DevAdmin, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve the emulator in a background thread; yields its base URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    class Stamped(WSGIRequestHandler):
        # Shopify dates every answer; a set offset stands for a client clock that drifted.
        def date_time_string(self, timestamp: float | None = None) -> str:
            return formatdate((timestamp or time.time()) + admin.faults.clock_offset, usegmt=True)

    server: BaseWSGIServer = make_server(
        host, port, admin.wsgi(), threaded=True, request_handler=Stamped
    )
    admin.store.public_url = f"http://{host}:{server.server_port}"
    # A short poll: stopping the emulator (every test that used it) should not cost half a second.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="devstore", daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _root_fields(operation: OperationDefinitionNode) -> set[str]:
    return {
        str(getattr(getattr(s, "name", None), "value", None))
        for s in operation.selection_set.selections
    }


def _tags_only(operation: OperationDefinitionNode) -> bool:
    names = _root_fields(operation)
    return operation.operation.value == "mutation" and names <= {"tagsAdd", "tagsRemove"}
