"""`clout shops …`: connecting a store the way a merchant with a custom app does; and where
`clout serve` and `clout web` listen."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from service.cli import REDIS_RESTARTS, _tend_redis, main
from service.core.config import load_settings
from service.core.crypto import vault_for
from service.core.db import make_engine, make_session_factory
from service.core.embedded_redis import start_embedded_redis
from service.core.models import ReviewSecret, Shop
from tests.support.clout import RunningDevStore
from tests.support.helpers import SHOP


def cli(settings: dict[str, Any], devstore: RunningDevStore) -> CliRunner:
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    env["CLOUT_SHOPIFY_ADMIN_URL"] = devstore.url
    return CliRunner(env=env)


def test_a_store_is_connected_with_a_checked_token_and_review_secrets(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    result = cli(settings, devstore).invoke(
        main,
        [
            "shops",
            "add",
            SHOP,
            "--token",
            devstore.token,
            "--review-secret",
            "judgeme=jm-secret",
            "--review-secret",
            "okendo=whsec_abc",
        ],
    )

    assert result.exit_code == 0, result.output
    assert "connected test-shop.myshopify.com" in result.output
    # the one cheap check, and otherwise only the admin workspace made once (read, made, read)
    assert devstore.admin.stats.mutations == {
        "savedSearchCreate": 4,
        "metafieldDefinitionCreate": 8,
        "segmentCreate": 2,
    }
    assert devstore.admin.stats.calls == 1 + 3 + 14 + 3
    settings_obj = load_settings({k: v for k, v in settings.items() if k != "TESTING"})
    engine = make_engine(settings_obj.database_url)
    with make_session_factory(engine)() as session:
        shop = session.scalar(select(Shop))
        assert shop is not None
        assert shop.access_token is not None
        assert devstore.token.encode() not in shop.access_token
        assert vault_for(settings_obj).open(shop.access_token) == devstore.token
        secrets = {
            r.provider: vault_for(settings_obj).open(r.secret)
            for r in session.scalars(select(ReviewSecret))
        }
        assert secrets == {"judgeme": "jm-secret", "okendo": "whsec_abc"}
    engine.dispose()
    listed = cli(settings, devstore).invoke(main, ["shops", "list"])
    assert SHOP in listed.output
    assert devstore.token not in listed.output


def test_a_refused_token_is_explained_and_nothing_is_stored(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    result = cli(settings, devstore).invoke(main, ["shops", "add", SHOP, "--token", "shpat_wrong"])

    assert result.exit_code == 1
    assert "Shopify refused this token" in result.output
    assert "shpat_wrong" not in result.output
    listed = cli(settings, devstore).invoke(main, ["shops", "list"]).output
    assert SHOP not in listed
    assert "no store is connected" in listed


def test_a_storefront_domain_is_refused_with_the_rule(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    result = cli(settings, devstore).invoke(
        main, ["shops", "add", "www.mystore.com", "--token", "t"]
    )

    assert result.exit_code == 2
    assert "myshopify.com" in result.output
    assert devstore.admin.stats.calls == 0


def test_an_unknown_review_platform_is_refused(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    result = cli(settings, devstore).invoke(
        main, ["shops", "add", SHOP, "--token", devstore.token, "--review-secret", "acme=x"]
    )

    assert result.exit_code == 2
    assert "unknown review platform 'acme'" in result.output


def test_an_unreachable_shopify_is_explained(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    env["CLOUT_SHOPIFY_ADMIN_URL"] = "http://127.0.0.1:1"
    result = CliRunner(env=env).invoke(main, ["shops", "add", SHOP, "--token", "t"])

    assert result.exit_code == 1
    assert "could not reach Shopify" in result.output


def _store_with_history(devstore: RunningDevStore) -> None:
    store = devstore.store
    ada = store.add_person("ada@example.org", "Ada", "Lovelace", days_ago=900)
    bob = store.add_person("bob@example.org", "Bob", "Byte", days_ago=300)
    for days in (800, 400, 100, 20):
        store.add_purchase(ada, days_ago=days)
    store.add_purchase(bob, days_ago=200)


def test_a_store_connected_with_history_is_imported_and_the_cli_shows_it(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    _store_with_history(devstore)
    devstore.store.granted_scopes.add("read_all_orders")
    runner = cli(settings, devstore)

    added = runner.invoke(main, ["shops", "add", SHOP, "--token", devstore.token])
    again = runner.invoke(main, ["shops", "backfill", SHOP])
    resumed = runner.invoke(main, ["shops", "backfill", SHOP, "--resume"])
    status = runner.invoke(main, ["shops", "backfill", SHOP, "--status"])
    listed = runner.invoke(main, ["shops", "list"])

    assert added.exit_code == 0, added.output
    assert "importing its history in the background" in added.output
    # the import `shops add` asked for is still waiting for a worker: a second one is refused
    assert again.exit_code == 1
    assert "already being imported (requested" in again.output
    assert resumed.exit_code == 0, resumed.output
    assert "history completed" in resumed.output
    assert "2 customers, 5 orders" in resumed.output
    assert "Importing" in resumed.output  # the progress bar
    assert "2 customers, 5 orders" in status.output
    assert "history completed" in listed.output


def test_resume_with_nothing_unfinished_says_so_and_starts_nothing(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    # given a store whose history was imported to the end
    _store_with_history(devstore)
    runner = cli(settings, devstore)
    runner.invoke(main, ["shops", "add", SHOP, "--token", devstore.token])
    assert runner.invoke(main, ["shops", "backfill", SHOP, "--resume"]).exit_code == 0

    # when the operator asks to resume it again
    result = runner.invoke(main, ["shops", "backfill", SHOP, "--resume"])

    # then nothing starts, and it says why and how to import again
    assert result.exit_code == 1
    assert "nothing to resume" in result.output
    assert "completed" in result.output
    assert "without --resume a new import starts" in result.output
    status = runner.invoke(main, ["shops", "backfill", SHOP, "--status"])
    assert "history completed" in status.output


def test_without_read_all_orders_the_cli_says_only_60_days_were_read(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    _store_with_history(devstore)
    runner = cli(settings, devstore)
    runner.invoke(main, ["shops", "add", SHOP, "--token", devstore.token])

    result = runner.invoke(main, ["shops", "backfill", SHOP, "--resume"])

    assert result.exit_code == 0, result.output
    assert "2 customers, 1 order" in result.output
    assert "note: Shopify lets Clout read only the last 60 days of orders" in result.output


@pytest.mark.parametrize("command", ["serve", "web"])
def test_clout_serve_and_web_listen_on_this_machine_unless_told_otherwise(command: str) -> None:
    shown = CliRunner().invoke(main, [command, "--help"])

    assert shown.exit_code == 0
    host = re.search(r"--host TEXT\b.*?\[default: ([^\]]+)\]", shown.output, re.DOTALL)
    assert host is not None, shown.output
    assert host.group(1) == "127.0.0.1"


def test_serve_starts_its_redis_again_until_it_keeps_dying(tmp_path: Path) -> None:
    # given the embedded Redis `clout serve` tends
    server = start_embedded_redis(tmp_path / "data")
    tend = _tend_redis(server)
    try:
        assert tend() is None  # running: nothing to do

        # when it dies, it is started again each time, three times within a minute ...
        for _ in range(REDIS_RESTARTS):
            server.process.kill()
            server.process.wait(timeout=10)
            assert tend() is None
            assert server.process.poll() is None

        # ... and a fourth death in that minute ends serve, as a dead web or worker does,
        # rather than restart it for ever
        server.process.kill()
        server.process.wait(timeout=10)
        assert tend() == "redis"
    finally:
        server.stop()


def test_demo_on_a_port_in_use_says_so_before_building_anything() -> None:
    # given something listening on the port the demo is asked for
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        # when the demo is started there
        result = CliRunner().invoke(main, ["demo", "--port", str(port)])

    # then it says so at once: no store generated, no folder left behind to clean up
    assert result.exit_code == 1, result.output
    assert f"port {port}" in result.output
    assert "in use" in result.output
    assert "Clout demo in" not in result.output
    assert "kept in" not in result.output


def test_an_empty_list_of_data_requests_says_so(settings: dict[str, Any]) -> None:
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}

    result = CliRunner(env=env).invoke(main, ["data-requests", "list"])

    assert result.exit_code == 0, result.output
    assert result.output == "no data requests\n"


def test_connecting_a_store_with_no_worker_running_says_how_its_history_comes_in(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    # given no Redis configured and no `clout serve` running: nothing can import in the
    # background yet
    env = {k: str(v) for k, v in settings.items() if k not in {"TESTING", "CLOUT_REDIS_URL"}}
    env["CLOUT_SHOPIFY_ADMIN_URL"] = devstore.url

    # when the merchant connects their store
    added = CliRunner(env=env).invoke(main, ["shops", "add", SHOP, "--token", devstore.token])

    # then it does not claim an import is under way, and says the two ways it will be
    assert added.exit_code == 0, added.output
    assert "in the background" not in added.output
    assert "when `clout serve` runs" in added.output
    assert f"clout shops backfill {SHOP} --resume" in added.output


def every_command(group: click.Group, path: str = "clout") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        found.append((f"{path} {name}", command))
        if isinstance(command, click.Group):
            found += every_command(command, f"{path} {name}")
    return found


def test_every_command_says_what_it_does_in_its_help() -> None:
    # given every command and group an operator can type
    commands = every_command(main)

    # then each says what it does, in the group's listing and its own --help
    silent = [path for path, command in commands if not (command.help or "").strip()]
    assert commands
    assert silent == []
