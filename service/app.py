"""The app factory: one call builds a configured Clout (Flask app, Celery app, database)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, has_request_context, jsonify, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter, ValidationError

import webhooks
from service import ops
from service.agents import blocks, settings_page, views
from service.core.config import ConfigError, load_settings
from service.core.crypto import vault_for
from service.core.db import make_engine, make_session_factory
from service.core.logs import configure_logging
from service.core.private import private_dir
from service.core.state import Clout, count_rejection, redis_client
from service.shopify import embedded
from service.shopify.install import init_install
from workers.celery_app import init_celery


class ClosingClient(FlaskClient):
    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


class RowId(BaseConverter):
    """`<id:name>` in a route: a row's id as the database stores it, 1 … 2⁶³−1 in ASCII digits.
    Anything else matches no route (404): Werkzeug's `int` takes any Unicode digit, and a
    number past 64 bits reaches the database driver as an OverflowError."""

    regex = r"[0-9]{1,19}"
    weight = 50

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= 2**63 - 1:
            raise ValidationError
        return number

    def to_url(self, value: object) -> str:
        return str(value)


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie, marked `Secure` whenever the request came over HTTPS (as a
    trusted proxy says, with CLOUT_TRUSTED_PROXIES), so it is never sent back in clear text;
    plain http on this machine (`clout serve`) still signs in."""

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = bool(app.config["SESSION_COOKIE_SECURE"])
        return configured or (has_request_context() and request.is_secure)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        # A response any cache may keep (the page's fingerprinted files) carries nobody's
        # cookie, and does not vary by one: a shared cache must not hand a session around.
        if response.cache_control.public:
            return
        super().save_session(app, session, response)


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    """Build Clout. `config` takes the same names as the environment (`SHOPIFY_API_SECRET`,
    `CLOUT_DATABASE_URL`, …) and wins over it; anything missing or wrong raises ConfigError."""
    settings = load_settings(config)
    if settings.redis_url is None:
        raise ConfigError(
            "CLOUT_REDIS_URL is not set. `clout serve` starts an embedded Redis for you; "
            "`clout web`, `clout worker` and `clout beat` need a Redis server, e.g. "
            "CLOUT_REDIS_URL=redis://localhost:6379/0"
        )
    configure_logging(settings.log_level)
    private_dir(settings.data_dir)  # the token key, the beat schedule, the embedded Redis

    app = Flask("clout")
    # Like a real server, the test client closes each response once it is read, so work set to
    # run after the answer (`Response.call_on_close`: ringing the workers) runs in tests too.
    app.test_client_class = ClosingClient
    app.url_map.converters["id"] = RowId
    app.session_interface = SessionCookies()
    if settings.trusted_proxies:
        # Only the last `trusted_proxies` hops of X-Forwarded-For / -Proto are believed.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies
        )
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["TESTING"] = bool((config or {}).get("TESTING", False))
    engine = make_engine(settings.database_url)
    app.extensions["clout"] = Clout(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        vault=vault_for(settings),
        redis=redis_client(settings.redis_url),
    )

    # The factory is the one place that wires the intake and the workers to the core.
    webhooks.register(app)
    app.register_blueprint(ops.blueprint)
    init_install(app)
    app.register_blueprint(embedded.blueprint)
    app.register_blueprint(views.blueprint)
    app.register_blueprint(settings_page.blueprint)
    app.register_blueprint(blocks.blueprint)
    init_celery(app)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        # JSON for every error a sender can cause (413, 404, 405), never an HTML page.
        code = error.code or 500
        if code == 413:
            count_rejection(source="http", reason="too_large")
        return jsonify(outcome=error.name.lower().replace(" ", "_"), detail=error.description), code

    return app
