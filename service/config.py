"""Configuration: environment variables (and an optional `.env`), validated once at start-up.

Every setting has one name, the environment variable's. `create_app(config=...)` takes a mapping
with the same names, so a test configures the app exactly as an operator would.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_API_VERSION = "2026-07"
DEFAULT_ATTENTION_TAG = "clout-attention"
_API_VERSION = re.compile(r"^\d{4}-\d{2}$|^unstable$")
_MAX_TAG_LENGTH = 40


class ConfigError(Exception):
    """A setting is missing or wrong; the message tells the operator which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    shopify_api_secret: str = field(repr=False)
    shopify_api_key: str | None = None
    shopify_api_secret_old: str | None = field(default=None, repr=False)
    shopify_api_version: str = DEFAULT_API_VERSION
    shopify_admin_url: str | None = None
    database_url: str = "sqlite:///clout.db"
    redis_url: str | None = None
    encryption_key: str | None = field(default=None, repr=False)
    attention_tag: str = DEFAULT_ATTENTION_TAG
    data_dir: Path = Path(".clout")
    max_body_bytes: int = 2 * 1024 * 1024
    delivery_max_attempts: int = 8
    sweep_interval_seconds: float = 30.0
    sweep_after_seconds: float = 60.0
    stale_processing_seconds: float = 600.0
    payload_retention_days: float = 7.0
    log_level: str = "INFO"

    @property
    def database_is_embedded(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def webhook_secrets(self) -> tuple[str, ...]:
        """Secrets a Shopify delivery may be signed with: current, then the one rotating out."""
        return tuple(s for s in (self.shopify_api_secret, self.shopify_api_secret_old) if s)


def _text(values: Mapping[str, object], name: str) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(values: Mapping[str, object], name: str, default: float, *, minimum: float) -> float:
    text = _text(values, name)
    if text is None:
        return default
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {text!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {text!r}")
    return number


def load_settings(
    overrides: Mapping[str, object] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    env_file: str | Path | None = ".env",
) -> Settings:
    """Read settings from `.env` < the environment < `overrides`, and refuse bad ones loudly."""
    values: dict[str, object] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    values.update(overrides or {})

    secret = _text(values, "SHOPIFY_API_SECRET")
    if secret is None:
        raise ConfigError(
            "SHOPIFY_API_SECRET is not set. Clout verifies every Shopify webhook with your app's "
            "client secret (Shopify admin or Dev Dashboard → your app → API credentials). "
            "Set it in the environment or in a .env file."
        )
    version = _text(values, "SHOPIFY_API_VERSION") or DEFAULT_API_VERSION
    if not _API_VERSION.match(version):
        raise ConfigError(f"SHOPIFY_API_VERSION must look like 2026-07, got {version!r}")
    tag = _text(values, "CLOUT_ATTENTION_TAG") or DEFAULT_ATTENTION_TAG
    if len(tag) > _MAX_TAG_LENGTH or "," in tag:
        raise ConfigError(
            f"CLOUT_ATTENTION_TAG must be at most {_MAX_TAG_LENGTH} characters and contain no "
            f"comma (Shopify's limit for order tags), got {tag!r}"
        )
    data_dir = Path(_text(values, "CLOUT_DATA_DIR") or ".clout").expanduser().resolve()
    database_url = _text(values, "CLOUT_DATABASE_URL") or f"sqlite:///{Path('clout.db').resolve()}"
    encryption_key = _text(values, "CLOUT_ENCRYPTION_KEY")
    if encryption_key is None and not database_url.startswith("sqlite"):
        raise ConfigError(
            "CLOUT_ENCRYPTION_KEY is not set. With a shared database every process must use the "
            "same key for access tokens at rest; generate one with `clout keys generate`."
        )
    admin_url = _text(values, "CLOUT_SHOPIFY_ADMIN_URL")
    return Settings(
        shopify_api_secret=secret,
        shopify_api_key=_text(values, "SHOPIFY_API_KEY"),
        shopify_api_secret_old=_text(values, "SHOPIFY_API_SECRET_OLD"),
        shopify_api_version=version,
        shopify_admin_url=admin_url.rstrip("/") if admin_url else None,
        database_url=database_url,
        redis_url=_text(values, "CLOUT_REDIS_URL"),
        encryption_key=encryption_key,
        attention_tag=tag,
        data_dir=data_dir,
        max_body_bytes=int(
            _number(values, "CLOUT_MAX_BODY_BYTES", Settings.max_body_bytes, minimum=1024)
        ),
        delivery_max_attempts=int(
            _number(
                values, "CLOUT_DELIVERY_MAX_ATTEMPTS", Settings.delivery_max_attempts, minimum=1
            )
        ),
        sweep_interval_seconds=_number(
            values, "CLOUT_SWEEP_INTERVAL_SECONDS", Settings.sweep_interval_seconds, minimum=0.1
        ),
        sweep_after_seconds=_number(
            values, "CLOUT_SWEEP_AFTER_SECONDS", Settings.sweep_after_seconds, minimum=0
        ),
        stale_processing_seconds=_number(
            values, "CLOUT_STALE_PROCESSING_SECONDS", Settings.stale_processing_seconds, minimum=1
        ),
        payload_retention_days=_number(
            values, "CLOUT_PAYLOAD_RETENTION_DAYS", Settings.payload_retention_days, minimum=0
        ),
        log_level=(_text(values, "CLOUT_LOG_LEVEL") or "INFO").upper(),
    )
