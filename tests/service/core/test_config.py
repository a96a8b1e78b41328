"""Start-up configuration: wrong or missing settings stop Clout with a message that says why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from service.cli import main
from service.core.config import ConfigError, load_settings


def test_a_missing_api_secret_is_a_clear_start_up_error() -> None:
    with pytest.raises(ConfigError, match="SHOPIFY_API_SECRET is not set"):
        load_settings(environ={}, env_file=None)


def test_clout_serve_refuses_to_start_without_the_api_secret(tmp_path: Path) -> None:
    result = CliRunner(env={"SHOPIFY_API_SECRET": ""}).invoke(main, ["serve"])

    assert result.exit_code == 2
    assert "SHOPIFY_API_SECRET is not set" in result.output


def test_the_app_factory_refuses_to_start_without_the_api_secret(
    make_app: Callable[..., Flask],
) -> None:
    with pytest.raises(ConfigError, match="SHOPIFY_API_SECRET"):
        make_app(SHOPIFY_API_SECRET="")


def test_settings_come_from_a_dot_env_file_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SHOPIFY_API_SECRET=from-file\nCLOUT_ATTENTION_TAG=needs-care\n")

    settings = load_settings(environ={"CLOUT_ATTENTION_TAG": "from-env"}, env_file=env_file)

    assert settings.shopify_api_secret == "from-file"
    assert settings.attention_tag == "from-env"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CLOUT_ATTENTION_TAG", "x" * 41, "at most 40 characters"),
        ("CLOUT_ATTENTION_TAG", "a,b", "no comma"),
        ("CLOUT_TRUSTED_PROXIES", "yes", "whole number from 0 to 9"),
        ("CLOUT_METRICS_TOKEN", "short", "at least 16 printable ASCII"),
        ("SHOPIFY_API_VERSION", "latest", "2026-07"),
        ("CLOUT_MAX_BODY_BYTES", "lots", "must be a number"),
        ("CLOUT_DATABASE_URL", "mysql://clout:pw@db/clout", "sqlite:///PATH or postgresql"),
        ("CLOUT_DATABASE_URL", "clout.db", "sqlite:///PATH or postgresql"),
        ("CLOUT_DATABASE_URL", "postgresql+psycopg2://u@db/c", "through psycopg"),
        ("CLOUT_DATABASE_URL", "postgresql://u@db:notaport/c", "cannot be read"),
    ],
)
def test_a_bad_setting_names_itself(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={"SHOPIFY_API_SECRET": "s", name: value}, env_file=None)


def test_a_database_url_refused_is_never_quoted_past_its_scheme() -> None:
    # given a URL with no scheme, whose text holds a password
    with pytest.raises(ConfigError) as refused:
        load_settings(
            environ={"SHOPIFY_API_SECRET": "s", "CLOUT_DATABASE_URL": "clout:secret-pw@db/clout"},
            env_file=None,
        )

    # then the message names the setting, never the password
    assert "CLOUT_DATABASE_URL" in str(refused.value)
    assert "secret-pw" not in str(refused.value)


def test_a_shared_database_needs_an_explicit_encryption_key() -> None:
    with pytest.raises(ConfigError, match="CLOUT_ENCRYPTION_KEY"):
        load_settings(
            environ={"SHOPIFY_API_SECRET": "s", "CLOUT_DATABASE_URL": "postgresql://db/clout"},
            env_file=None,
        )


def test_the_factory_is_configured_by_its_argument(make_app: Callable[..., Flask]) -> None:
    app = make_app(CLOUT_ATTENTION_TAG="look-at-me")

    assert app.testing
    assert app.extensions["clout"].settings.attention_tag == "look-at-me"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgresql_url_without_a_driver_uses_the_one_clout_ships(scheme: str) -> None:
    # given the URL a PostgreSQL host hands out (no driver named; Heroku-style `postgres:`)
    settings = load_settings(
        environ={
            "SHOPIFY_API_SECRET": "s",
            "CLOUT_ENCRYPTION_KEY": "k",
            "CLOUT_DATABASE_URL": f"{scheme}://clout:pw@db:5432/clout",
        },
        env_file=None,
    )

    # then Clout talks to it with psycopg, the driver it installs
    assert settings.database_url == "postgresql+psycopg://clout:pw@db:5432/clout"


def test_a_database_that_cannot_be_reached_is_one_line_naming_the_setting() -> None:
    # given a PostgreSQL URL where nothing listens
    env = {
        "SHOPIFY_API_SECRET": "s",
        "CLOUT_ENCRYPTION_KEY": "k",
        "CLOUT_DATABASE_URL": "postgresql+psycopg://clout:secret-pw@127.0.0.1:9/clout",
    }

    # when a command needs the database
    result = CliRunner(env=env).invoke(main, ["incidents", "list"])

    # then it says which setting to look at and why, without a traceback or the password
    assert result.exit_code == 1, result.output
    assert "CLOUT_DATABASE_URL" in result.output
    assert "Connection refused" in result.output or "connection" in result.output.lower()
    assert "Traceback" not in result.output
    assert "secret-pw" not in result.output


def test_a_database_without_clouts_tables_says_to_upgrade_it(tmp_path: Path) -> None:
    # given an empty SQLite file: Clout's migrations never ran on it
    env = {"SHOPIFY_API_SECRET": "s", "CLOUT_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}

    # when a command reads from it
    result = CliRunner(env=env).invoke(main, ["incidents", "list"])

    # then it names the command that creates them
    assert result.exit_code == 1, result.output
    assert "clout db upgrade" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"CLOUT_RESOLVED_TAG": "Clout-Attention"}, "must all differ"),
        ({"CLOUT_ATTENTION_TAG": "care", "CLOUT_OPT_OUT_TAG": "CARE"}, "must all differ"),
        ({"CLOUT_OPT_OUT_TAG": "clout-overdue"}, "CLOUT_OPT_OUT_TAG: clout-overdue is a tag Clout"),
        ({"CLOUT_ATTENTION_TAG": "clout-priority-high"}, "CLOUT_ATTENTION_TAG: clout-priority"),
    ],
)
def test_install_wide_tags_follow_the_rules_a_stores_own_tags_do(
    values: dict[str, str], message: str
) -> None:
    # given tags a store's settings would refuse (Shopify reads tags ignoring case, and Clout
    # adds and takes off its own), set for the whole install: every store without its own
    # would have them, a resolved tag that is the attention tag closing each case at once
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={"SHOPIFY_API_SECRET": "s", **values}, env_file=None)
