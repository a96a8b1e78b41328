"""Shopify IDs as GIDs, whichever form a payload used."""

from __future__ import annotations

import re

# ASCII digits only (`\d` is any Unicode digit), matched whole (`$` allows a final newline).
_GID = re.compile(r"gid://shopify/(?P<type>[A-Za-z]+)/(?P<id>[0-9]+)")
_NUMBER = re.compile(r"[0-9]+")


def to_gid(resource: str, value: object) -> str:
    """`to_gid("Order", 820982911946154508)` → `gid://shopify/Order/820982911946154508`.

    Refuses floats: a float has already lost the ID's last digits.
    """
    if isinstance(value, (bool, float)):
        raise ValueError(  # noqa: TRY004 - callers treat every unusable id alike
            f"{resource} id must be an integer or a GID, got {type(value).__name__}"
        )
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"{resource} id must be positive")
        return f"gid://shopify/{resource}/{value}"
    if isinstance(value, str):
        match = _GID.fullmatch(value)
        if match:
            if match["type"] != resource:
                raise ValueError(f"expected a {resource} GID, got a {match['type']} GID")
            return value
        if _NUMBER.fullmatch(value) and int(value) > 0:
            return f"gid://shopify/{resource}/{value}"
    raise ValueError(f"not a {resource} id: {value!r}")


def legacy_id(gid: str) -> str:
    """The numeric part, as the admin's URLs use it."""
    return gid.rsplit("/", 1)[-1]


def event_ref(value: object, *, limit: int = 128) -> str:
    """An event's own id (a dispute's, a return's, a data request's) as Clout stores it: an
    integer or a short string, never whatever structure a sender put there."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and 0 < len(value) <= limit:
        return value
    raise ValueError("not an event id")
