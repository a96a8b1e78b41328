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
    ],
)
def test_a_bad_setting_names_itself(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={"SHOPIFY_API_SECRET": "s", name: value}, env_file=None)


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
