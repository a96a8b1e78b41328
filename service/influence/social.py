"""Social handles customers give (a checkout's note attribute `instagram`, a note saying
"tiktok: @maya"): which networks Clout reads, and what a handle on each may look like.

A handle is customer-typed text that ends up in an outbound request to the Klout provider, so
it is checked against the network's own rules for usernames before Clout keeps it: anything
else (a path, a query, a URL to elsewhere, spaces) is not a handle and is dropped.
"""

from __future__ import annotations

import re

# What each network accepts as a username (from its sign-up rules), with a margin on length.
HANDLE_RULES: dict[str, re.Pattern[str]] = {
    "instagram": re.compile(r"[A-Za-z0-9._]{1,30}"),
    "tiktok": re.compile(r"[A-Za-z0-9._]{2,24}"),
    "youtube": re.compile(r"[A-Za-z0-9._-]{3,30}"),
    "twitter": re.compile(r"[A-Za-z0-9_]{1,15}"),
    "x": re.compile(r"[A-Za-z0-9_]{1,15}"),
    "facebook": re.compile(r"[A-Za-z0-9.]{5,50}"),
    "pinterest": re.compile(r"[A-Za-z0-9_]{3,30}"),
}
SOCIAL_NETWORKS = tuple(HANDLE_RULES)
_PROFILE_URL = re.compile(
    r"(?:https?://)?(?:www\.|m\.)?(?:instagram|tiktok|youtube|twitter|x|facebook|pinterest)"
    r"\.com/@?([^/?#\s]+)/?",
    re.I,
)


def clean_handle(network: str, value: str) -> str | None:
    """The handle as the network spells it, or None when `value` is not one (a profile URL on
    that network is read as its handle)."""
    rule = HANDLE_RULES.get(network.lower())
    if rule is None:
        return None
    text = value.strip()
    linked = _PROFILE_URL.fullmatch(text)
    if linked:
        text = linked.group(1)
    text = text.removeprefix("@")
    if not rule.fullmatch(text) or not text.strip("."):
        return None  # "." and ".." are path segments, not usernames
    return text
