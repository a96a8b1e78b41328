"""docker-compose.yml's shape, run on this machine: nginx with the repository's configuration
(deploy/nginx/) in front of `clout web`. Slow clients are held by nginx, not by gunicorn's
threads; what nginx refuses is refused in JSON; and the client address Clout reads is the one
nginx saw, whatever a client claims. Skipped without nginx (apt-get install nginx-light)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from service.agents.accounts import save_agent
from service.core import db
from service.core.models import utcnow
from service.shopify.shops import register_shop
from tests.support.agents_page import PASSWORD
from tests.support.helpers import SECRET, SHOP, wait_for
from tests.support.proxy import SlowClient, nginx_binary, running_proxy, running_web

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        nginx_binary() is None, reason="nginx is not installed: apt-get install nginx-light"
    ),
]
WEB_THREADS = 2  # one gunicorn worker with two threads: two stuck clients would take them all


@pytest.fixture
def proxy(tmp_path: Path, redis_url: str) -> Iterator[str]:
    """Clout (one gunicorn worker, two threads) behind nginx, with a shop and an agent; the
    proxy's address."""
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    database = f"sqlite:///{tmp_path / 'clout.db'}"
    db.upgrade(database)
    env = {
        "SHOPIFY_API_SECRET": SECRET,
        "CLOUT_DATABASE_URL": database,
        "CLOUT_REDIS_URL": redis_url,
        "CLOUT_DATA_DIR": str(tmp_path / "data"),
        "CLOUT_TRUSTED_PROXIES": "1",
        "CLOUT_LOG_LEVEL": "WARNING",
    }
    from service.core.config import load_settings
    from service.core.crypto import vault_for

    engine = db.make_engine(database)
    with db.session_scope(db.make_session_factory(engine)) as session:
        register_shop(
            session=session,
            vault=vault_for(load_settings(env, environ={}, env_file=None)),
            domain=SHOP,
            access_token="shpat_x",
            now=utcnow(),
        )
        session.flush()
        save_agent(
            session=session, email="ana@example.org", password=PASSWORD, shop_domains=[SHOP],
            now=utcnow(),
        )  # fmt: skip
    engine.dispose()
    with (
        running_web(env, workers=1, threads=WEB_THREADS) as web,
        running_proxy(web, access_log=tmp_path / "access.log") as port,
    ):
        yield f"http://127.0.0.1:{port}"


def test_healthz_answers_while_more_slow_clients_than_threads_are_held(proxy: str) -> None:
    # given four times as many clients as gunicorn has threads, each still sending its headers
    port = int(proxy.rsplit(":", 1)[1])
    slow = [SlowClient(port) for _ in range(4 * WEB_THREADS)]
    try:
        assert all(client.one_more_line() for client in slow)

        # when the health check asks, again and again
        answers = [requests.get(f"{proxy}/healthz", timeout=10) for _ in range(5)]

        # then it is answered every time: no gunicorn thread is waiting on a slow client
        assert [a.status_code for a in answers] == [200] * 5
    finally:
        for client in slow:
            client.close()


def test_a_body_too_large_for_the_proxy_is_refused_in_json(proxy: str) -> None:
    answer = requests.post(f"{proxy}/webhooks/shopify", data=b"x" * (4 * 1024 * 1024), timeout=30)

    assert answer.status_code == 413
    assert answer.json()["outcome"] == "request_entity_too_large"


def test_a_forged_forwarded_for_neither_escapes_the_limit_nor_opens_metrics(proxy: str) -> None:
    # given someone guessing Ana's password, claiming a new address on every try
    browser = requests.Session()

    def guess(n: int) -> int:
        form = browser.get(f"{proxy}/agents/login", timeout=10).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        return browser.post(
            f"{proxy}/agents/login",
            data={"email": "ana@example.org", "password": "wrong", "csrf": csrf.group(1)},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
            allow_redirects=False,
            timeout=10,
        ).status_code

    # then nginx's own view of the address is what counts: the eleventh try is turned away
    assert [guess(n) for n in range(11)] == [401] * 10 + [429]
    # and /metrics, open to this machine only, is not open through the proxy
    metrics = requests.get(f"{proxy}/metrics", headers={"X-Forwarded-For": "127.0.0.1"}, timeout=10)
    assert metrics.status_code == 403


def test_the_proxy_logs_each_request_without_its_query_string(proxy: str, tmp_path: Path) -> None:
    # given a review platform that proves itself by the shop's key in the URL, and the embedded
    # app's first load with its session token in the URL
    requests.post(f"{proxy}/webhooks/reviews/yotpo/{SHOP}?key=s3cret-review-key", timeout=10)
    requests.get(f"{proxy}/agents?shop={SHOP}&id_token=eyJ.session.token", timeout=10)

    # when the operator reads the proxy's log (`docker compose logs proxy`)
    log = tmp_path / "access.log"
    written = wait_for(lambda: log.read_text() if log.read_text().count("\n") >= 2 else None)

    # then each request is there by its path, and neither secret is
    assert f'"POST /webhooks/reviews/yotpo/{SHOP} HTTP/1.1"' in written
    assert '"GET /agents HTTP/1.1"' in written
    assert "s3cret-review-key" not in written
    assert "session.token" not in written
