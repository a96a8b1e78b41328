"""Agents' sign-ins are held on the server: the cookie carries a session's token and nothing
else, so logging out, a new password and removing the agent each end it at once — a copy of
the old cookie, kept by an attacker or a shared computer, reads nothing afterwards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from service.cli import main
from service.core.db import session_scope
from service.core.models import AgentSession, Shop, utcnow
from tests.support.agents_page import PASSWORD, add_agent, csrf_of, log_in, page_csrf
from tests.support.clout import state
from tests.support.helpers import SHOP

COOKIE = "clout_session"


@pytest.fixture
def signed_in(app: Flask, shop: Shop) -> FlaskClient:
    add_agent(app, "agent@example.org", SHOP)
    client = app.test_client()
    assert log_in(client, "agent@example.org").status_code == 302
    return client


def copy_of_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def with_cookie(app: Flask, value: str) -> FlaskClient:
    """Another browser, holding a copy of someone's cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, value)
    return other


def cli(settings: dict[str, Any], *args: str, stdin: str = "") -> Any:
    env = {k: str(v) for k, v in settings.items() if k.startswith(("CLOUT_", "SHOPIFY_"))}
    done = CliRunner().invoke(main, list(args), stdin, env=env)
    assert done.exit_code == 0, done.output
    return done


def test_a_copied_cookie_reads_the_queue_until_the_agent_logs_out(
    app: Flask, signed_in: FlaskClient
) -> None:
    # given a copy of an agent's cookie, which works while they are signed in
    stolen = with_cookie(app, copy_of_cookie(signed_in))
    assert stolen.get("/agents/api/queue").status_code == 200

    # when the agent logs out
    signed_in.post("/agents/logout", data={"csrf": page_csrf(signed_in)})

    # then the copy is refused too, for reading and for resolving
    assert stolen.get("/agents/api/queue").status_code == 401
    assert stolen.get("/agents").headers["Location"].endswith("/agents/login")
    assert stolen.post("/agents/api/incidents/1/resolve").status_code == 401


def test_a_new_password_ends_every_session_of_the_agent(
    app: Flask, signed_in: FlaskClient, settings: dict[str, Any]
) -> None:
    # given an agent signed in on two computers
    laptop = app.test_client()
    assert log_in(laptop, "agent@example.org").status_code == 302

    # when the operator gives them a new password
    cli(settings, "agents", "add", "agent@example.org", "--shop", SHOP, "--password-stdin",
        stdin="a brand new password!\n")  # fmt: skip

    # then both sessions are over, and the new password opens a new one
    assert signed_in.get("/agents/api/queue").status_code == 401
    assert laptop.get("/agents/api/queue").status_code == 401
    fresh = app.test_client()
    assert log_in(fresh, "agent@example.org", "a brand new password!").status_code == 302
    assert fresh.get("/agents/api/queue").status_code == 200


def test_the_same_password_again_changes_only_the_shops_and_keeps_the_session(
    app: Flask, signed_in: FlaskClient, settings: dict[str, Any]
) -> None:
    cli(settings, "agents", "add", "agent@example.org", "--shop", SHOP, "--password-stdin",
        stdin=PASSWORD + "\n")  # fmt: skip

    assert signed_in.get("/agents/api/queue").status_code == 200


def test_a_removed_agent_stays_out_even_when_added_back(
    app: Flask, signed_in: FlaskClient, settings: dict[str, Any]
) -> None:
    # given a copy of the agent's cookie
    stolen = with_cookie(app, copy_of_cookie(signed_in))

    # when the agent is removed, then added back with the same password
    cli(settings, "agents", "remove", "agent@example.org")
    removed = stolen.get("/agents/api/queue").status_code
    cli(settings, "agents", "add", "agent@example.org", "--shop", SHOP, "--password-stdin",
        stdin=PASSWORD + "\n")  # fmt: skip

    # then the old sessions never come back: they must sign in again
    assert removed == 401
    assert stolen.get("/agents/api/queue").status_code == 401
    assert signed_in.get("/agents/api/queue").status_code == 401


def test_a_session_ends_on_the_server_after_a_working_day(
    app: Flask, signed_in: FlaskClient
) -> None:
    # given a session begun thirteen hours ago, whose cookie is replayed
    with session_scope(state(app).sessions) as session:
        session.execute(update(AgentSession).values(expires_at=utcnow() - timedelta(hours=1)))

    # then the server no longer knows it
    assert signed_in.get("/agents/api/queue").status_code == 401


def test_a_cookie_from_before_server_sessions_is_refused(
    app: Flask, shop: Shop, make_app: Callable[..., Flask]
) -> None:
    # given a cookie Clout signed when the cookie held the agent's id itself
    add_agent(app, "agent@example.org", SHOP)
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    old = serializer.dumps({"agent_id": 1, "csrf": "x", "_permanent": True})

    assert with_cookie(app, old).get("/agents/api/queue").status_code == 401


def login_cookie(client: FlaskClient, **request: Any) -> str:
    """The Set-Cookie header of a successful sign-in made with `request` (base_url, headers)."""
    form = client.get("/agents/login", **request).get_data(as_text=True)
    answer = client.post(
        "/agents/login",
        data={"email": "agent@example.org", "password": PASSWORD, "csrf": csrf_of(form)},
        **request,
    )
    assert answer.status_code == 302
    return next(v for v in answer.headers.getlist("Set-Cookie") if v.startswith(f"{COOKIE}="))


@pytest.fixture
def agent_of_shop(app: Flask, shop: Shop) -> None:
    add_agent(app, "agent@example.org", SHOP)


@pytest.mark.usefixtures("agent_of_shop")
def test_over_https_the_login_cookie_is_secure_httponly_and_same_site(app: Flask) -> None:
    cookie = login_cookie(app.test_client(), base_url="https://clout.example.org")

    assert "; Secure" in cookie
    assert "; HttpOnly" in cookie
    assert "; SameSite=Lax" in cookie


@pytest.mark.usefixtures("agent_of_shop")
def test_over_plain_http_on_this_machine_the_cookie_still_works(app: Flask) -> None:
    cookie = login_cookie(app.test_client())

    assert "; Secure" not in cookie
    assert "; HttpOnly" in cookie


@pytest.mark.usefixtures("agent_of_shop")
def test_behind_a_trusted_proxy_its_https_makes_the_cookie_secure(
    make_app: Callable[..., Flask], app: Flask
) -> None:
    # given the same Clout behind one proxy it trusts, and alone on the internet
    proxied = make_app(CLOUT_TRUSTED_PROXIES="1")
    forwarded = {"headers": {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}}

    # then the proxy's word on the scheme counts only when the proxy is trusted
    assert "; Secure" in login_cookie(proxied.test_client(), **forwarded)
    assert "; Secure" not in login_cookie(app.test_client(), **forwarded)


def test_adding_an_agent_without_a_terminal_says_how_to_give_the_password(
    app: Flask, settings: dict[str, Any]
) -> None:
    # when a script adds an agent without --password-stdin: no terminal to ask at
    env = {k: str(v) for k, v in settings.items() if k.startswith(("CLOUT_", "SHOPIFY_"))}
    done = CliRunner().invoke(
        main, ["agents", "add", "agent@example.org", "--shop", SHOP], "hunter2\n", env=env
    )

    # then it asks nobody, adds nobody, and names the option
    assert done.exit_code == 2
    assert "--password-stdin" in done.output
    assert "Password" not in done.output
