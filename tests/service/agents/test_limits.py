"""Guessing agents' passwords is slowed per client address and per account, counted atomically
in Redis before any password is checked.

The policy: each failed sign-in counts against the address it came from (10 in a quarter
hour) and against the account it named (30). Either full, sign-ins answer 429 until its
quarter hour ends. A success gives its count back. So one address hammering one account locks
out only itself — the account still opens from elsewhere, other accounts too — and an account
is closed for a quarter hour only when three or more addresses guess at it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.core.models import Shop
from tests.support.agents_page import PASSWORD, add_agent, csrf_of
from tests.support.helpers import SHOP

WRONG = "not the password at all"


@pytest.fixture
def accounts(app: Flask, shop: Shop) -> Flask:
    add_agent(app, "ana@example.org", SHOP)
    add_agent(app, "bo@example.org", SHOP)
    return app


class Browser:
    """A browser at one client address (as the server sees it)."""

    def __init__(self, app: Flask, address: str, **headers: str) -> None:
        self.client: FlaskClient = app.test_client()
        self.environ = {"REMOTE_ADDR": address}
        self.headers = headers

    def form(self) -> str:
        page = self.client.get("/agents/login", environ_base=self.environ, headers=self.headers)
        return csrf_of(page.get_data(as_text=True))

    def sign_in(self, email: str, password: str, csrf: str | None = None) -> int:
        answer = self.client.post(
            "/agents/login",
            data={"email": email, "password": password, "csrf": csrf or self.form()},
            environ_base=self.environ,
            headers=self.headers,
        )
        return answer.status_code


def test_forty_parallel_guesses_get_no_more_tries_than_the_limit(accounts: Flask) -> None:
    # given forty browsers at one address, each with the form open
    browsers = [Browser(accounts, "203.0.113.7") for _ in range(40)]
    forms = [b.form() for b in browsers]
    start = threading.Barrier(len(browsers))

    def guess(index: int) -> int:
        start.wait()
        return browsers[index].sign_in("ana@example.org", WRONG, forms[index])

    # when they all guess at once
    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        answers = list(pool.map(guess, range(len(browsers))))

    # then ten passwords were checked and refused, and the rest were turned away unchecked
    assert answers.count(401) == 10
    assert answers.count(429) == 30


def test_one_address_hammering_one_account_locks_out_only_itself(accounts: Flask) -> None:
    # given an attacker at one address guessing at Ana's account until turned away
    attacker = Browser(accounts, "203.0.113.7")
    guesses = [attacker.sign_in("ana@example.org", WRONG) for _ in range(12)]

    # when Ana and Bo sign in from their own addresses, and the attacker tries Bo
    ana = Browser(accounts, "198.51.100.1").sign_in("ana@example.org", PASSWORD)
    bo = Browser(accounts, "198.51.100.2").sign_in("bo@example.org", PASSWORD)
    attacker_on_bo = attacker.sign_in("bo@example.org", PASSWORD)

    # then only the attacker's address is refused
    assert guesses == [401] * 10 + [429] * 2
    assert (ana, bo) == (302, 302)
    assert attacker_on_bo == 429


def test_guesses_from_many_addresses_close_the_account_they_aim_at_and_no_other(
    accounts: Flask,
) -> None:
    # given three addresses each guessing ten times at Ana's account
    for n in range(3):
        attacker = Browser(accounts, f"203.0.113.{n + 10}")
        assert [attacker.sign_in("ana@example.org", WRONG) for _ in range(10)] == [401] * 10

    # when Ana, and then Bo, sign in from a fourth address
    elsewhere = Browser(accounts, "198.51.100.1")
    ana = elsewhere.sign_in("ana@example.org", PASSWORD)
    bo = elsewhere.sign_in("bo@example.org", PASSWORD)

    # then Ana's account waits out its quarter hour; Bo's is untouched
    assert ana == 429
    assert bo == 302


def test_the_wait_is_said_in_retry_after(accounts: Flask) -> None:
    attacker = Browser(accounts, "203.0.113.7")
    for _ in range(10):
        attacker.sign_in("ana@example.org", WRONG)

    answer = attacker.client.post(
        "/agents/login",
        data={"email": "ana@example.org", "password": WRONG, "csrf": attacker.form()},
        environ_base=attacker.environ,
    )

    assert answer.status_code == 429
    assert 0 < int(answer.headers["Retry-After"]) <= 900
    minutes = -(-int(answer.headers["Retry-After"]) // 60)
    assert f"Too many failed attempts. Try again in {minutes} minutes." in answer.get_data(
        as_text=True
    )


def test_signing_in_correctly_uses_up_nothing(accounts: Flask) -> None:
    ana = Browser(accounts, "198.51.100.1")

    assert [ana.sign_in("ana@example.org", PASSWORD) for _ in range(15)] == [302] * 15


def test_behind_a_trusted_proxy_each_client_is_counted_apart(
    make_app: Callable[..., Flask], shop: Shop
) -> None:
    # given Clout behind one trusted proxy: every request comes from the proxy's address
    app = make_app(CLOUT_TRUSTED_PROXIES="1")
    add_agent(app, "ana@example.org", SHOP)
    attacker = Browser(app, "10.0.0.2", **{"X-Forwarded-For": "203.0.113.7"})
    ana = Browser(app, "10.0.0.2", **{"X-Forwarded-For": "198.51.100.1"})

    # when an attacker behind it guesses until turned away
    guesses = [attacker.sign_in("ana@example.org", WRONG) for _ in range(11)]

    # then Ana, behind the same proxy, still signs in
    assert guesses[-1] == 429
    assert ana.sign_in("ana@example.org", PASSWORD) == 302


@pytest.mark.parametrize("email", ["ana@example.org\x00", "\x00", "a" * 5000 + "@example.org"])
def test_an_email_no_account_can_have_is_a_wrong_sign_in(accounts: Flask, email: str) -> None:
    assert Browser(accounts, "198.51.100.1").sign_in(email, PASSWORD) == 401
