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
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from service.core.vocabulary import DEFAULT_ATTENTION_TAG, parse_floors, tags_clash

DEFAULT_API_VERSION = "2026-07"
_API_VERSION = re.compile(r"[0-9]{4}-[0-9]{2}|unstable")  # matched whole: fullmatch
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
    # With the 15 s lease, a delivery whose worker died is taken over within 25 s (a lease plus
    # one interval); after a restart, the start's sweep takes it when its lease ends.
    sweep_interval_seconds: float = 10.0
    sweep_after_seconds: float = 60.0
    stale_processing_seconds: float = 600.0
    delivery_lease_seconds: float = 15.0
    # How long a finished delivery's raw body is kept, for an operator to read or replay: 0
    # drops it in the transaction that finishes the delivery (the rows it became hold what
    # Clout needs), so the database grows with customers, not with traffic.
    payload_retention_days: float = 0.0
    log_level: str = "INFO"
    resolved_tag: str = "clout-resolved"
    opt_out_tag: str = "clout-opt-out"
    deadline_hours: str | None = None  # "critical=4,high=24,normal=48,low=72"
    late_unfulfilled_days: float = 3.0
    late_no_update_days: float = 5.0
    reconcile_interval_seconds: float = 900.0
    escalate_interval_seconds: float = 60.0
    profile_refresh_interval_seconds: float = 60.0
    profile_retry_seconds: float = 300.0
    notify_webhook_url: str | None = None
    notify_webhook_secret: str | None = field(default=None, repr=False)
    smtp_url: str | None = field(default=None, repr=False)
    notify_email_to: str | None = None
    notify_email_from: str = "clout@localhost"
    klout_provider_url: str | None = None
    klout_provider_key: str | None = field(default=None, repr=False)
    # Where Shopify reaches this Clout (https://clout.example.com): the address of the webhook
    # subscriptions Clout makes for stores connected with a custom-app token.
    public_url: str | None = None
    notify_slack_url: str | None = None
    # Whether a shop's notification address may be on this machine or a private network: off,
    # since any shop's staff can set one and the workers sit inside the operator's network.
    notify_private_targets: bool = False
    pending_alert_minutes: float = 15.0  # an attention tag not in Shopify this long: tell someone
    # How many reverse proxies in front of Clout add X-Forwarded-For / X-Forwarded-Proto: only
    # then are those headers believed (the client's address for login limits, https for the
    # cookie); with none, they are anyone's to forge and are ignored.
    trusted_proxies: int = 0
    # Who may read /metrics: a request bearing this token; without one, only this machine.
    metrics_token: str | None = field(default=None, repr=False)

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


# The drivers Clout installs: another one named in the URL would fail on a missing module.
_DATABASE_SCHEME = re.compile(r"(?:sqlite(?:\+pysqlite)?|postgresql\+psycopg)://")
_DATABASE_WANTED = (
    "CLOUT_DATABASE_URL must be sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DATABASE "
    "(Clout runs on SQLite or on PostgreSQL through psycopg)"
)


def _database_url(url: str) -> str:
    """The URL as SQLAlchemy takes it. A PostgreSQL host's own URL names no driver (or says
    `postgres:`, which SQLAlchemy refuses): that means psycopg, the one Clout installs. Only
    the scheme of a URL refused is quoted: the rest may hold a password."""
    for bare in ("postgres://", "postgresql://"):
        if url.startswith(bare):
            url = "postgresql+psycopg://" + url.removeprefix(bare)
    if not _DATABASE_SCHEME.match(url):
        scheme = url.split("://", 1)[0] + "://" if "://" in url else "no scheme"
        raise ConfigError(f"{_DATABASE_WANTED}, got {scheme!r}")
    try:
        parsed = make_url(url)
        _ = parsed.port  # a port that is no number fails here, not deep in the driver
    except (ArgumentError, ValueError):
        raise ConfigError(f"{_DATABASE_WANTED}: the URL given cannot be read") from None
    return url


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
    if not _API_VERSION.fullmatch(version):
        raise ConfigError(f"SHOPIFY_API_VERSION must look like 2026-07, got {version!r}")
    tag = _text(values, "CLOUT_ATTENTION_TAG") or DEFAULT_ATTENTION_TAG
    if len(tag) > _MAX_TAG_LENGTH or "," in tag:
        raise ConfigError(
            f"CLOUT_ATTENTION_TAG must be at most {_MAX_TAG_LENGTH} characters and contain no "
            f"comma (Shopify's limit for order tags), got {tag!r}"
        )
    data_dir = Path(_text(values, "CLOUT_DATA_DIR") or ".clout").expanduser().resolve()
    database_url = _database_url(
        _text(values, "CLOUT_DATABASE_URL") or f"sqlite:///{Path('clout.db').resolve()}"
    )
    encryption_key = _text(values, "CLOUT_ENCRYPTION_KEY")
    if encryption_key is None and not database_url.startswith("sqlite"):
        raise ConfigError(
            "CLOUT_ENCRYPTION_KEY is not set. With a shared database every process must use the "
            "same key for access tokens at rest; generate one with `clout keys generate`."
        )
    admin_url = _text(values, "CLOUT_SHOPIFY_ADMIN_URL")
    settings = Settings(
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
        delivery_lease_seconds=_number(
            values, "CLOUT_DELIVERY_LEASE_SECONDS", Settings.delivery_lease_seconds, minimum=1
        ),
        payload_retention_days=_number(
            values, "CLOUT_PAYLOAD_RETENTION_DAYS", Settings.payload_retention_days, minimum=0
        ),
        log_level=(_text(values, "CLOUT_LOG_LEVEL") or "INFO").upper(),
        resolved_tag=_tag(values, "CLOUT_RESOLVED_TAG", "clout-resolved"),
        opt_out_tag=_tag(values, "CLOUT_OPT_OUT_TAG", "clout-opt-out"),
        deadline_hours=_floors(values),
        late_unfulfilled_days=_number(values, "CLOUT_LATE_UNFULFILLED_DAYS", 3.0, minimum=0.01),
        late_no_update_days=_number(values, "CLOUT_LATE_NO_UPDATE_DAYS", 5.0, minimum=0.01),
        reconcile_interval_seconds=_number(
            values, "CLOUT_RECONCILE_INTERVAL_SECONDS", 900.0, minimum=1
        ),
        escalate_interval_seconds=_number(
            values, "CLOUT_ESCALATE_INTERVAL_SECONDS", 60.0, minimum=0.1
        ),
        profile_refresh_interval_seconds=_number(
            values, "CLOUT_PROFILE_REFRESH_INTERVAL_SECONDS", 60.0, minimum=0.1
        ),
        profile_retry_seconds=_number(values, "CLOUT_PROFILE_RETRY_SECONDS", 300.0, minimum=0),
        notify_webhook_url=_text(values, "CLOUT_NOTIFY_WEBHOOK_URL"),
        notify_webhook_secret=_text(values, "CLOUT_NOTIFY_WEBHOOK_SECRET"),
        smtp_url=_text(values, "CLOUT_SMTP_URL"),
        notify_email_to=_text(values, "CLOUT_NOTIFY_EMAIL_TO"),
        notify_email_from=_text(values, "CLOUT_NOTIFY_EMAIL_FROM") or "clout@localhost",
        klout_provider_url=_text(values, "CLOUT_KLOUT_PROVIDER_URL"),
        klout_provider_key=_text(values, "CLOUT_KLOUT_PROVIDER_KEY"),
        public_url=_public_url(values),
        notify_slack_url=_text(values, "CLOUT_NOTIFY_SLACK_URL"),
        notify_private_targets=_on_or_off(values, "CLOUT_NOTIFY_PRIVATE_TARGETS"),
        pending_alert_minutes=_number(values, "CLOUT_PENDING_ALERT_MINUTES", 15.0, minimum=1),
        trusted_proxies=_count(values, "CLOUT_TRUSTED_PROXIES"),
        metrics_token=_metrics_token(values),
    )
    # The rules a store's own tags follow (`shop_settings.change`): every store without its
    # own has these, and a resolved tag that is the attention tag would close each case at once.
    clash = tags_clash(
        {
            "CLOUT_ATTENTION_TAG": settings.attention_tag,
            "CLOUT_RESOLVED_TAG": settings.resolved_tag,
            "CLOUT_OPT_OUT_TAG": settings.opt_out_tag,
        },
        attention_key="CLOUT_ATTENTION_TAG",
    )
    if clash is not None:
        raise ConfigError(clash)
    return settings


def _metrics_token(values: Mapping[str, object]) -> str | None:
    token = _text(values, "CLOUT_METRICS_TOKEN")
    if token is not None and (len(token) < 16 or not token.isascii() or not token.isprintable()):
        raise ConfigError(
            "CLOUT_METRICS_TOKEN must be at least 16 printable ASCII characters "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    return token


def _on_or_off(values: Mapping[str, object], name: str) -> bool:
    text = (_text(values, name) or "off").lower()
    if text not in ("on", "off"):
        raise ConfigError(f"{name} must be on or off, got {text!r}")
    return text == "on"


def _count(values: Mapping[str, object], name: str) -> int:
    text = _text(values, name)
    if text is None:
        return 0
    if not re.fullmatch(r"[0-9]", text):
        raise ConfigError(f"{name} must be a whole number from 0 to 9, got {text!r}")
    return int(text)


def _public_url(values: Mapping[str, object]) -> str | None:
    url = _text(values, "CLOUT_PUBLIC_URL")
    if url is None:
        return None
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(
            f"CLOUT_PUBLIC_URL must be the address Shopify reaches Clout at, such as "
            f"https://clout.example.com, got {url!r}"
        )
    return url.rstrip("/")


def _tag(values: Mapping[str, object], name: str, default: str) -> str:
    tag = _text(values, name) or default
    if len(tag) > _MAX_TAG_LENGTH or "," in tag:
        raise ConfigError(f"{name} must be at most {_MAX_TAG_LENGTH} characters, no comma")
    return tag


def _floors(values: Mapping[str, object]) -> str | None:

    text = _text(values, "CLOUT_DEADLINE_HOURS")
    try:
        parse_floors(text)
    except ValueError as error:
        raise ConfigError(f"CLOUT_DEADLINE_HOURS: {error} (e.g. critical=4,high=24)") from None
    return text
