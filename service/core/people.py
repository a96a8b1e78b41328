"""How Clout recognises the same person, workplace or home across rows: the keys a customer's
profile is found by (name, first name, workplace email domain, home address) and the mentions an
order carries of someone else (a referral code, "heard about us from").

They are stored beside the rows they come from (`customers.name_key`, `orders.ship_key`,
`order_mentions`, …) and kept in step on every flush (`keep_keys`), so that one customer's
profile is read with indexed queries instead of a scan of the whole shop. The same functions read
rows in the whole-shop pass (`service.influence.facts`), so the two can never disagree on who is
who.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

# Stand-in customers, kept until Shopify names the person: a guest checkout's order
# (`guest:<order GID>`) and a reviewer Clout does not know (`reviewer:<hash>`).
GUEST_PREFIX = "guest:"
REVIEWER_PREFIX = "reviewer:"

FREEMAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "mail.com",
        "msn.com",
        "yandex.com",
        "zoho.com",
    }
)
HEARD_FROM_KEYS = ("referred_by", "how_did_you_hear", "heard_about_us_from", "referrer")
KEY_LENGTH = 320  # longer keys are cut: an index entry, not a record of the address
REFERRAL = "referral"  # an order redeemed a code that may be a customer's own
HEARD_FROM = "heard_from"  # an order named someone when asked how they heard of the shop


def _cut(text: str | None) -> str | None:
    return text[:KEY_LENGTH] if text else None


def address_key(address: dict[str, Any] | None) -> str | None:
    """A place, as two rows that mean the same home would both write it."""
    if not isinstance(address, dict) or not address.get("address1"):
        return None
    text = f"{address.get('address1')} {address.get('zip') or ''}".lower()
    return _cut(re.sub(r"\W+", " ", text).strip())


def recipient_key(address: dict[str, Any] | None) -> str | None:
    """Who a shipping address names."""
    if not isinstance(address, dict):
        return None
    name = (
        address.get("name") or f"{address.get('first_name') or ''} {address.get('last_name') or ''}"
    )
    return _cut(re.sub(r"\s+", " ", str(name).lower()).strip())


def name_key(first_name: str | None, last_name: str | None) -> str | None:
    return _cut(f"{first_name or ''} {last_name or ''}".strip().lower())


def first_name_key(first_name: str | None) -> str | None:
    return _cut(first_name.upper()) if first_name else None


def email_key(email: str | None) -> str | None:
    return _cut(email.lower()) if email else None


def workplace_domain(email: str | None) -> str | None:
    """The email's domain when it looks like a workplace's (not a free mailbox)."""
    if not email:
        return None
    domain = email.lower().rsplit("@", 1)[-1]
    return None if domain in FREEMAIL else _cut(domain)


def referral_first_name(code: str) -> str | None:
    """A referral code is a customer's own when it is their first name and two to four digits
    and exactly one customer has that first name (no guessing between two Annas)."""
    match = re.fullmatch(r"([A-Z]+)\d{2,4}", code.upper())
    return match.group(1) if match else None


def is_gift(
    *, recipient: str | None, spot: str | None, own_name: str | None, home: str | None
) -> bool:
    """An order shipped to someone else's name at an address that is not the buyer's home."""
    return bool(recipient and own_name and recipient != own_name and spot != home)


def mentions(
    *, discount_codes: dict[str, Any] | None, note_attributes: dict[str, Any] | None
) -> Iterator[tuple[str, str]]:
    """What an order says of other people, each (kind, key) once."""
    seen: set[tuple[str, str]] = set()
    for code in (discount_codes or {}).get("codes") or []:
        text = str(code.get("code") if isinstance(code, dict) else code)
        name = referral_first_name(text)
        if name:
            seen.add((REFERRAL, name[:KEY_LENGTH]))
    for attribute in attributes_of(note_attributes):
        key = str(attribute.get("name") or attribute.get("key") or "").lower()
        value = str(attribute.get("value") or "").strip().lower()
        if key in HEARD_FROM_KEYS and value:
            seen.add((HEARD_FROM, value[:KEY_LENGTH]))
    yield from sorted(seen)


def attributes_of(note_attributes: dict[str, Any] | None) -> Iterable[dict[str, Any]]:
    return [a for a in (note_attributes or {}).get("attributes") or [] if isinstance(a, dict)]
