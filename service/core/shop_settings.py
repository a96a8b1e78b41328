"""A shop's own settings, over the install-wide defaults the environment gives.

A public app serves many shops, each with its own support hours and channels: deadlines per
severity, the tag names, where escalations and alerts go, whether online reach is looked up.
Only what a merchant changed is stored (`ShopSettings.values`; secrets encrypted beside them),
so a new install-wide default still reaches every key a shop never touched. Settings are read
when they are used, so a change applies without a restart, and every change is recorded: who,
when, old → new (a secret shows only as set or unset).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.crypto import TokenVault
from service.core.db import can_store
from service.core.models import SettingChange, ShopSettings
from service.core.vocabulary import (
    DEFAULT_FLOORS,
    Floor,
    Severity,
    out_of_order,
    parse_floors,
    tags_clash,
)

MAX_TAG_LENGTH = 40  # Shopify's limit for an order tag


class SettingsError(ValueError):
    """A setting was refused; the message says which and what it accepts."""


@dataclass(frozen=True)
class ShopConfig:
    """The settings one shop runs with: its own where it set them, the defaults elsewhere."""

    deadline_hours: Mapping[Severity, float]
    attention_tag: str
    resolved_tag: str
    opt_out_tag: str
    # Attention tags the shop used before a rename: still Clout's, taken off open cases.
    retired_tags: frozenset[str]
    notify_email_to: str | None
    notify_webhook_url: str | None
    notify_webhook_secret: str | None
    notify_slack_url: str | None
    klout: bool
    pending_alert_minutes: float
    # Resolved tags the shop used before a rename: a new case takes them off its orders, as it
    # does the current one (left on, the order reads as resolved in every view keyed on it).
    retired_resolved_tags: frozenset[str] = frozenset()

    @property
    def floors(self) -> dict[Severity, Floor]:
        return {s: Floor(DEFAULT_FLOORS[s].priority, h) for s, h in self.deadline_hours.items()}

    @property
    def notifies(self) -> bool:
        return bool(self.notify_email_to or self.notify_webhook_url or self.notify_slack_url)


# --- what each setting accepts ------------------------------------------------------------------


def _tag(text: str) -> str:
    tag = text.strip()
    if not tag or len(tag) > MAX_TAG_LENGTH or "," in tag:
        raise SettingsError(f"a tag is 1 to {MAX_TAG_LENGTH} characters without a comma")
    return tag


def _hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        raise SettingsError("hours, a number such as 24 or 1.5") from None
    if not 0 < hours <= 24 * 30:
        raise SettingsError("hours between 0 and 720")
    return hours


def _minutes(text: str) -> float:
    try:
        minutes = float(text)
    except ValueError:
        raise SettingsError("minutes, a number such as 15") from None
    if not 1 <= minutes <= 24 * 60:
        raise SettingsError("minutes between 1 and 1440")
    return minutes


_EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+")


def _emails(text: str) -> str:
    addresses = [a.strip() for a in text.split(",") if a.strip()]
    if not addresses or not all(_EMAIL.fullmatch(a) for a in addresses):
        raise SettingsError("one or more email addresses, separated by commas")
    return ", ".join(addresses)


def _url(text: str) -> str:
    url = text.strip()
    if not re.fullmatch(r"https://[^\s/]+(/\S*)?", url) and not re.fullmatch(
        r"http://(127\.0\.0\.1|localhost)(:\d+)?(/\S*)?", url
    ):
        raise SettingsError("an https:// address (http:// only for this machine)")
    try:  # what the sender will make of it: a port, and a name DNS can carry
        parts = urlsplit(url)
        _ = parts.port
        (parts.hostname or "").encode("idna")
    except (ValueError, UnicodeError):
        raise SettingsError("an address with a usable host name and port") from None
    return url


_ADDRESS_KEYS = ("notify.webhook_url", "notify.slack_url")


def private_address(url: str) -> bool:
    """Whether `url` names this machine or a private network outright (a number, or a
    localhost name). A name is resolved only when a notification is sent
    (`attention.notify`): it may point elsewhere by then."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not public_ip(host)
    except ValueError:
        return False  # a name


# IPv6 ranges that carry an IPv4 address in their last 32 bits, reached through it: NAT64
# (64:ff9b::/96, RFC 6052), IPv4-compatible (::/96) and IPv4-translated (::ffff:0:0:0/96).
_CARRIES_IPV4 = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "::/96", "::ffff:0:0:0/96"))
# Local-use NAT64 (RFC 8215): its IPv4 sits where the network chose; never public.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


def public_ip(address: str) -> bool:
    """Whether an IP address is on the public internet (ValueError when it is no address): not
    private, loopback, link-local, shared, reserved or multicast, nor an IPv6 address that
    leads to such an IPv4 one (IPv4-mapped, NAT64, 6to4, IPv4-compatible)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and any(ip in net for net in _CARRIES_IPV4):
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return public_ip(str(inner))
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def _secret(text: str) -> str:
    if len(text.strip()) < 16:
        raise SettingsError("a secret of at least 16 characters")
    return text.strip()


def _switch(text: str) -> bool:
    value = text.strip().lower()
    if value in ("on", "yes", "true", "1"):
        return True
    if value in ("off", "no", "false", "0"):
        return False
    raise SettingsError("on or off")


@dataclass(frozen=True)
class Knob:
    """One setting a merchant can change: what it means, what it accepts, its default."""

    key: str
    meaning: str
    parse: Callable[[str], Any]
    default: Callable[[Settings], Any]
    secret: bool = False


def _deadline_default(severity: Severity) -> Callable[[Settings], float]:
    return lambda settings: parse_floors(settings.deadline_hours)[severity].hours


KNOBS: dict[str, Knob] = {
    knob.key: knob
    for knob in (
        *(
            Knob(
                f"deadline.{s.value}",
                f"hours to answer a {s.value} case (influence can only make it sooner)",
                _hours,
                _deadline_default(s),
            )
            for s in (Severity.CRITICAL, Severity.HIGH, Severity.NORMAL, Severity.LOW)
        ),
        Knob(
            "attention_tag",
            "the tag every unhappy customer's orders carry",
            _tag,
            lambda s: s.attention_tag,
        ),
        Knob(
            "resolved_tag", "the tag a person adds to close a case", _tag, lambda s: s.resolved_tag
        ),
        Knob(
            "opt_out_tag",
            "a customer tag that keeps the customer out of profiling",
            _tag,
            lambda s: s.opt_out_tag,
        ),
        Knob(
            "notify.email",
            "who is emailed about overdue cases and tags not landing",
            _emails,
            lambda s: s.notify_email_to,
        ),
        Knob(
            "notify.webhook_url",
            "a URL that receives signed JSON about overdue cases",
            _url,
            lambda s: s.notify_webhook_url,
        ),
        Knob(
            "notify.webhook_secret",
            "the secret that signs those requests",
            _secret,
            lambda s: s.notify_webhook_secret,
            secret=True,
        ),
        Knob(
            "notify.slack_url",
            "a Slack incoming-webhook URL for overdue cases",
            _url,
            lambda s: s.notify_slack_url,
        ),
        Knob(
            "klout",
            "look up online reach for handles customers gave (on or off)",
            _switch,
            lambda s: s.klout_provider_url is not None,
        ),
        Knob(
            "pending_alert_minutes",
            "minutes an attention tag may wait for Shopify before someone is told",
            _minutes,
            lambda s: s.pending_alert_minutes,
        ),
    )
}
_TAG_KEYS = ("attention_tag", "resolved_tag", "opt_out_tag")


# --- reading and changing them ------------------------------------------------------------------


def _row(session: Session, shop_id: int) -> ShopSettings | None:
    return session.scalar(select(ShopSettings).where(ShopSettings.shop_id == shop_id))


def _secrets(row: ShopSettings | None, vault: TokenVault) -> dict[str, str]:
    if row is None or not row.secrets:
        return {}
    loaded: dict[str, str] = json.loads(vault.open(row.secrets))
    return loaded


def _stored(row: ShopSettings | None, vault: TokenVault) -> dict[str, Any]:
    """The shop's own values, by setting (bookkeeping such as retired tags left out)."""
    values = {**((row.values or {}) if row else {}), **_secrets(row, vault)}
    return {k: v for k, v in values.items() if k in KNOBS}


def _own(session: Session, shop_id: int, key: str) -> object:
    """A setting the shop set itself (None: it set none). Only for values that are not
    secrets: read without the vault."""
    row = _row(session, shop_id)
    return (row.values or {}).get(key) if row is not None else None


def opt_out_tag_of(*, session: Session, shop_id: int, default: str) -> str:
    """The tag that keeps the shop's customers out of profiling: its own if it set one, else
    `default` (the install-wide `CLOUT_OPT_OUT_TAG`)."""
    own = _own(session, shop_id, "opt_out_tag")
    return own if isinstance(own, str) and own else default


def klout_switched_off(*, session: Session, shop_id: int) -> bool:
    """Whether the shop turned online-reach lookups off (`klout=off`): then no handle of its
    customers goes to the install's social-data provider."""
    return _own(session, shop_id, "klout") is False


def shop_config(
    *, session: Session, shop_id: int, defaults: Settings, vault: TokenVault
) -> ShopConfig:
    """The settings the shop runs with now (read each time: a change needs no restart)."""
    row = _row(session, shop_id)
    own = _stored(row, vault)

    def value(key: str) -> Any:
        return own[key] if key in own else KNOBS[key].default(defaults)

    return ShopConfig(
        deadline_hours={s: float(value(f"deadline.{s.value}")) for s in Severity},
        attention_tag=value("attention_tag"),
        resolved_tag=value("resolved_tag"),
        opt_out_tag=value("opt_out_tag"),
        retired_tags=frozenset((row.values or {}).get("retired_tags", []) if row else []),
        retired_resolved_tags=frozenset(
            (row.values or {}).get("retired_resolved_tags", []) if row else []
        ),
        notify_email_to=value("notify.email"),
        notify_webhook_url=value("notify.webhook_url"),
        notify_webhook_secret=value("notify.webhook_secret"),
        notify_slack_url=value("notify.slack_url"),
        klout=bool(value("klout")),
        pending_alert_minutes=float(value("pending_alert_minutes")),
    )


@dataclass(frozen=True)
class Shown:
    key: str
    value: str
    own: bool  # the shop's own value, not the install-wide default
    meaning: str


def _show(knob: Knob, value: Any) -> str:
    if value is None:
        return "(not set)"
    if knob.secret:
        return "(set)"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def describe(
    *, session: Session, shop_id: int, defaults: Settings, vault: TokenVault
) -> list[Shown]:
    own = _stored(_row(session, shop_id), vault)

    def shown(key: str, knob: Knob) -> str:
        if key in own:
            return _show(knob, own[key])
        default = knob.default(defaults)
        if key in _ADDRESS_KEYS and default is not None:
            # The operator's own address: a Slack URL posts into their Slack, and every
            # store's staff can read this list.
            return "(set for the whole install)"
        return _show(knob, default)

    return [
        Shown(key=key, value=shown(key, knob), own=key in own, meaning=knob.meaning)
        for key, knob in KNOBS.items()
    ]


@dataclass(frozen=True)
class Changed:
    key: str
    old: str
    new: str


def _parsed(key: str, text: str) -> Any:
    """What `key` takes from `text`; None for an empty value (back to the default)."""
    if not can_store(text):
        # PostgreSQL refuses NUL, and no driver (nor the vault, for a secret) encodes a lone
        # surrogate: refused, as a desk note is, rather than a 500 or a value changed unasked.
        raise SettingsError(f"{key}: a value cannot hold NUL or unpaired surrogates")
    if not KNOBS[key].secret and not text.isprintable():
        # Any store's staff can set these, and `clout settings show` and `history` print them
        # on the operator's terminal: an escape sequence there is obeyed, a line break forges
        # a row. A secret is never shown.
        raise SettingsError(f"{key}: a value cannot hold line breaks or control characters")
    if text.strip() == "":
        return None
    try:
        return KNOBS[key].parse(text)
    except SettingsError as error:
        raise SettingsError(f"{key}: {error}") from None


# A tag setting → where the names it had before are kept: open cases still carry an old
# attention tag, and orders an old resolved tag, and each name stays Clout's to take off
# (`attention.attend`).
_RETIRING = {"attention_tag": "retired_tags", "resolved_tag": "retired_resolved_tags"}


def _retired(
    *, stored: Mapping[str, Any], before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, list[str]]:
    kept: dict[str, list[str]] = {}
    for key, bookkeeping in _RETIRING.items():
        retired = set(stored.get(bookkeeping, []))
        if before[key] != after[key]:
            retired = (retired | {before[key]}) - {after[key]}
        if retired:
            kept[bookkeeping] = sorted(retired)
    return kept


def change(
    *,
    session: Session,
    shop_id: int,
    changes: Mapping[str, str],
    by: str,
    defaults: Settings,
    vault: TokenVault,
    now: datetime,
) -> list[Changed]:
    """Apply `key=value` changes (an empty value goes back to the default) all or none, and
    record each one. Refuses an unknown key, a value the key does not accept, or tag names
    that would collide."""
    unknown = sorted(set(changes) - set(KNOBS))
    if unknown:
        raise SettingsError(f"no setting called {', '.join(unknown)} (known: {', '.join(KNOBS)})")
    row = _row(session, shop_id)
    own = _stored(row, vault)
    parsed = {key: _parsed(key, text) for key, text in changes.items()}
    if not defaults.notify_private_targets:
        for key in _ADDRESS_KEYS:
            if parsed.get(key) and private_address(parsed[key]):
                raise SettingsError(
                    f"{key}: an address on the public internet (this Clout sends no store's "
                    "notifications to this machine or a private network; an install serving "
                    "one store may allow it with CLOUT_NOTIFY_PRIVATE_TARGETS=on, set where web "
                    "and the workers read it)"
                )
    after = {**own, **{k: v for k, v in parsed.items() if v is not None}}
    for key in (k for k, v in parsed.items() if v is None):
        after.pop(key, None)

    def effective(source: Mapping[str, Any], key: str) -> Any:
        return source[key] if key in source else KNOBS[key].default(defaults)

    why = tags_clash(
        {key: str(effective(after, key)) for key in _TAG_KEYS}, attention_key="attention_tag"
    ) or out_of_order(
        {s: float(effective(after, f"deadline.{s.value}")) for s in Severity}, prefix="deadline."
    )
    if why is not None:
        raise SettingsError(why)

    done: list[Changed] = []
    for key in parsed:
        knob = KNOBS[key]
        old, new = effective(own, key), effective(after, key)
        if old == new and (key in own) == (key in after):
            continue
        done.append(Changed(key, _show(knob, old), _show(knob, new)))
        session.add(
            SettingChange(
                shop_id=shop_id,
                key=key,
                old=_show(knob, old),
                new=_show(knob, new) + ("" if key in after else " (default)"),
                changed_by=by,
                changed_at=now,
            )
        )
    if not done:
        return done
    if row is None:
        row = ShopSettings(shop_id=shop_id, values={})
        session.add(row)
    plain = {k: v for k, v in after.items() if not KNOBS[k].secret}
    plain |= _retired(
        stored=row.values or {},
        before={key: effective(own, key) for key in _RETIRING},
        after={key: effective(after, key) for key in _RETIRING},
    )
    hidden = {k: v for k, v in after.items() if KNOBS[k].secret}
    row.values = plain
    row.secrets = vault.seal(json.dumps(hidden)) if hidden else None
    row.updated_at = now
    return done


def history(*, session: Session, shop_id: int, limit: int = 50) -> list[SettingChange]:
    return list(
        session.scalars(
            select(SettingChange)
            .where(SettingChange.shop_id == shop_id)
            .order_by(SettingChange.changed_at.desc(), SettingChange.id.desc())
            .limit(limit)
        )
    )
