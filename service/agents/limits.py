"""How many passwords may be guessed: per client address and per account, counted in Redis.

Every sign-in takes a place in two counters before its password is checked — its client
address's (`PER_ADDRESS` in `WINDOW`) and its account's (`PER_ACCOUNT`) — in one Lua script, so
forty guesses sent at once get exactly as many checks as the limit, not whatever slipped
between a read and a write. A success gives both places back: only failures count. A full
counter turns sign-ins away with its time left until its window, which starts at its first
failure, ends.

The account's limit is three times the address's: one address hammering one account runs out
first and locks out only itself (the account still opens from elsewhere, and other accounts
do too); an account closes for the rest of its window only when several addresses guess at
it. IPv6 addresses are counted by their /64, which one machine can easily hold entirely.

Without Redis the limiter steps aside (and says so in the log): it is a brake on guessing,
not the lock itself — passwords are 12 characters or more, stored as scrypt hashes.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import timedelta

import redis

from service.core.logs import get_logger

log = get_logger(__name__)

PER_ADDRESS = 10
PER_ACCOUNT = 30
WINDOW = timedelta(minutes=15)

# KEYS: the address's counter, the account's. ARGV: their limits, the window in seconds.
# Answers {1, 0} with a place taken in both, or {0, seconds left} for the first full one.
_TAKE = """
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key) or '0')
  if used >= tonumber(ARGV[i]) then
    local left = redis.call('TTL', key)
    if left < 0 then left = tonumber(ARGV[3]) end
    return {0, left}
  end
end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[3]) end
end
return {1, 0}
"""
_GIVE_BACK = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
"""


@dataclass(frozen=True)
class Attempt:
    allowed: bool
    retry_after: int = 0  # seconds, when not allowed
    keys: tuple[str, ...] = ()  # the places taken, to give back after a success


def _address_key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"clout:login:address:{hashlib.sha256(address.encode()).hexdigest()[:32]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"clout:login:address:{ip.ipv4_mapped}"
        return f"clout:login:address:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"clout:login:address:{ip}"


def _account_key(email: str) -> str:
    # Hashed: no email address in Redis, and any text the form carried is a fixed-size key.
    digest = hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
    return f"clout:login:account:{digest[:32]}"


def take_attempt(*, client: redis.Redis, address: str, email: str) -> Attempt:
    """A place for one sign-in from `address` naming `email`, or how long to wait."""
    keys = (_address_key(address), _account_key(email))
    seconds = int(WINDOW.total_seconds())
    try:
        allowed, left = client.eval(_TAKE, 2, *keys, PER_ADDRESS, PER_ACCOUNT, seconds)
    except redis.RedisError as error:
        log.warning("login_limiter_unavailable", error=type(error).__name__)
        return Attempt(allowed=True)
    if not allowed:
        return Attempt(allowed=False, retry_after=max(1, int(left)))
    return Attempt(allowed=True, keys=keys)


def give_back(*, client: redis.Redis, attempt: Attempt) -> None:
    """After a successful sign-in: it does not count against the address or the account."""
    if not attempt.keys:
        return
    try:
        client.eval(_GIVE_BACK, len(attempt.keys), *attempt.keys)
    except redis.RedisError as error:
        log.warning("login_limiter_unavailable", error=type(error).__name__)
