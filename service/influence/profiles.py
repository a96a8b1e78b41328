"""Influence profiles: Klout and clout side by side, each with its reasons.

**clout** is real-world influence, from what the shop already knows:
- value — lifetime spend and number of orders (kept as one component: spend is a poor
  predictor of influence on its own);
- gifts — distinct people the customer ships gifts to;
- referrals — other customers who redeemed a discount code that is the customer's own;
- word of mouth — other customers who named them when asked how they heard of the shop;
- circles — other customers sharing their workplace email domain or their address.
Each component is a percentile within the shop (of log counts, so one outlier does not flatten
everyone else), shrunk toward the shop's median when there is little evidence, and the
components are combined with a noisy-OR: one strong channel is enough.

**Klout** is online reach, from handles the customer gave (order note attributes such as
`instagram`, or customer notes) — never guessed from an email. A pluggable provider fetches
followers and engagement over HTTP; no handle or a failed lookup is unknown, never zero.

**contagion** counts customers connected to this one (gift, referral, workplace, household)
who are unhappy right now.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import math
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import redis
import requests
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from service.core.logs import get_logger
from service.core.models import Customer, Incident, InfluenceProfile, Order, Shop
from service.core.vocabulary import IncidentStatus, ShopStatus
from service.influence.scoring import Influence

log = get_logger(__name__)

FREEMAIL = {
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
# How far one channel alone can carry the score: a referral or a word-of-mouth mention is direct
# evidence of influence, spend the weakest (it measures wallets, not voices).
WEIGHTS = {"value": 0.35, "gifts": 0.75, "referrals": 0.95, "word_of_mouth": 0.9, "circles": 0.4}
THIN_SHOP = 50  # fewer customers known than this: percentiles are rough
SHRINK = 2.0  # pseudo-observations pulling a thin record toward the shop's median
SOCIAL_NETWORKS = ("instagram", "tiktok", "youtube", "twitter", "x", "facebook", "pinterest")
HEARD_FROM_KEYS = ("referred_by", "how_did_you_hear", "heard_about_us_from", "referrer")


def stored_influence(*, session: Session, customer: Customer) -> Influence | None:
    """The customer's last computed influence; None when Clout knows nothing yet (unknown,
    never zero: the attention floor is decided without it)."""
    profile = session.scalar(
        select(InfluenceProfile).where(InfluenceProfile.customer_id == customer.id)
    )
    if profile is None:
        return None
    reasons = profile.reasons or {}
    return Influence(
        clout=profile.clout_score,
        klout=profile.klout_score,
        contagion=profile.contagion,
        opted_out=profile.opted_out,
        reasons=tuple(reasons.get("clout", [])) + tuple(reasons.get("klout", [])),
    )


# --- what the shop knows, in one pass ------------------------------------------------------


@dataclass
class Facts:
    """Per customer raw figures for the whole shop, built from one scan of its orders."""

    spend: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    orders: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    gift_recipients: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    gift_recipients_who_buy: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    referred: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    referred_revenue: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    named_by: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    colleagues: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    household: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    domain_of: dict[int, str] = field(default_factory=dict)
    handles: dict[int, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    customers: list[int] = field(default_factory=list)


def _norm_address(address: dict[str, Any] | None) -> str | None:
    if not address or not address.get("address1"):
        return None
    return re.sub(
        r"\W+", " ", f"{address.get('address1')} {address.get('zip') or ''}".lower()
    ).strip()


def _person(address: dict[str, Any] | None) -> str | None:
    if not address:
        return None
    name = (
        address.get("name") or f"{address.get('first_name') or ''} {address.get('last_name') or ''}"
    )
    return re.sub(r"\s+", " ", str(name).lower()).strip() or None


def referral_first_name(code: str) -> str | None:
    """A referral code is a customer's own when it is their first name and two to four digits
    and exactly one customer has that first name (no guessing between two Annas)."""
    match = re.fullmatch(r"([A-Z]+)\d{2,4}", code.upper())
    return match.group(1) if match else None


def gather_facts(*, session: Session, shop: Shop) -> Facts:  # noqa: PLR0912, PLR0915 - one pass
    """One scan of the shop's customers and orders (streamed): cost grows linearly with size."""
    facts = Facts()
    by_email: dict[str, int] = {}
    by_name: dict[str, int] = {}
    by_first_name: dict[str, list[int]] = defaultdict(list)
    home: dict[int, str] = {}
    own_name: dict[int, str] = {}
    rows = session.execute(
        select(
            Customer.id,
            Customer.email,
            Customer.first_name,
            Customer.last_name,
            Customer.default_address,
            Customer.note,
        )
        .where(Customer.shop_id == shop.id)
        .execution_options(yield_per=2000)
    )
    for cid, email, first, last, address, note in rows:
        facts.customers.append(cid)
        if email:
            by_email[email.lower()] = cid
            domain = email.lower().rsplit("@", 1)[-1]
            if domain not in FREEMAIL:
                facts.domain_of[cid] = domain
        full = f"{first or ''} {last or ''}".strip().lower()
        if full:
            by_name[full] = cid
            own_name[cid] = full
        if first:
            by_first_name[first.upper()].append(cid)
        spot = _norm_address(address)
        if spot:
            home[cid] = spot
        for network, handle in _handles_in_text(note or ""):
            facts.handles[cid].append((network, handle))

    addresses: dict[str, set[int]] = defaultdict(set)
    first_order_at: dict[int, datetime] = {}
    order_rows = session.execute(
        select(
            Order.customer_id,
            Order.total_price,
            Order.shipping_address,
            Order.discount_codes,
            Order.note_attributes,
            Order.shopify_created_at,
            Order.cancelled_at,
        )
        .where(Order.shop_id == shop.id, Order.customer_id.is_not(None))
        .execution_options(yield_per=5000)
    )
    redemptions: list[tuple[int, str, float]] = []
    for cid, total, shipping, codes, attributes, created, cancelled in order_rows:
        if cancelled is not None:
            continue
        amount = float(total or Decimal(0))
        facts.spend[cid] += amount
        facts.orders[cid] += 1
        if created is not None and (cid not in first_order_at or created < first_order_at[cid]):
            first_order_at[cid] = created
        recipient = _person(shipping)
        spot = _norm_address(shipping)
        gift = bool(
            recipient and own_name.get(cid) and recipient != own_name[cid] and spot != home.get(cid)
        )
        if spot and not gift:
            addresses[spot].add(cid)  # where they live: a gift's address is someone else's home
        if gift and recipient:
            facts.gift_recipients[cid].add(recipient)
            other = by_name.get(recipient)
            if other is not None and other != cid:
                facts.gift_recipients_who_buy[cid].add(other)
        for code in (codes or {}).get("codes") or []:
            text = str(code.get("code") if isinstance(code, dict) else code).upper()
            redemptions.append((cid, text, amount))
        for attribute in (attributes or {}).get("attributes") or []:
            if not isinstance(attribute, dict):
                continue
            key = str(attribute.get("name") or attribute.get("key") or "").lower()
            value = str(attribute.get("value") or "").strip()
            if key in HEARD_FROM_KEYS and value:
                named = by_email.get(value.lower()) or by_name.get(value.lower())
                if named is not None and named != cid:
                    facts.named_by[named].add(cid)
            if key in SOCIAL_NETWORKS and value:
                facts.handles[cid].append((key, value.lstrip("@")))

    for cid, code, amount in redemptions:
        name = referral_first_name(code)
        owners = by_first_name.get(name, []) if name else []
        if len(owners) == 1 and owners[0] != cid:
            owner = owners[0]
            facts.referred[owner].add(cid)
            facts.referred_revenue[owner] += amount

    by_domain: dict[str, set[int]] = defaultdict(set)
    for cid, domain in facts.domain_of.items():
        by_domain[domain].add(cid)
    for members in by_domain.values():
        for cid in members:
            facts.colleagues[cid] = members - {cid}
    for cid, spot in home.items():
        addresses[spot].add(cid)
    for members in addresses.values():
        if 1 < len(members) <= 8:  # a household, not a warehouse or a pick-up point
            for cid in members:
                facts.household[cid] |= members - {cid}
    return facts


def _handles_in_text(text: str) -> Iterable[tuple[str, str]]:
    for network, handle in re.findall(
        r"\b(instagram|tiktok|youtube|twitter|facebook|pinterest)\s*[:=]\s*@?([A-Za-z0-9_.]{2,40})",
        text,
        re.I,
    ):
        yield network.lower(), handle


# --- percentiles within the shop -----------------------------------------------------------


class Distribution:
    """Sorted log-scaled values of one component over the shop's customers."""

    def __init__(self, values: Iterable[float]) -> None:
        self.sorted = sorted(math.log1p(max(0.0, v)) for v in values)
        self.median = (
            self.percentile_of_log(self.sorted[len(self.sorted) // 2]) if self.sorted else 0.0
        )

    def percentile_of_log(self, value: float) -> float:
        if not self.sorted:
            return 0.0
        return bisect.bisect_left(self.sorted, value) / len(self.sorted)

    def percentile(self, raw: float) -> float:
        """The share of customers with less: zero for the many who have none."""
        return self.percentile_of_log(math.log1p(max(0.0, raw)))


def shrunk(percentile: float, evidence: float, median: float) -> float:
    return (percentile * evidence + median * SHRINK) / (evidence + SHRINK)


@dataclass(frozen=True)
class ShopNorms:
    value: Distribution
    gifts: Distribution
    referrals: Distribution
    word_of_mouth: Distribution
    circles: Distribution
    customers: int


def shop_norms(facts: Facts) -> ShopNorms:
    ids = facts.customers
    return ShopNorms(
        value=Distribution(facts.spend.get(c, 0.0) for c in ids),
        gifts=Distribution(len(facts.gift_recipients.get(c, ())) for c in ids),
        referrals=Distribution(len(facts.referred.get(c, ())) for c in ids),
        word_of_mouth=Distribution(len(facts.named_by.get(c, ())) for c in ids),
        circles=Distribution(
            len(facts.colleagues.get(c, ())) + len(facts.household.get(c, ())) for c in ids
        ),
        customers=len(ids),
    )


def _more_than(p: float) -> str:
    """ " — more than 97% of your customers", said only where it is worth saying (at least the
    median): "more than 1% of your customers" reads as praise and means nothing."""
    if p < 0.5:
        return ""
    return f" — more than {min(99, math.floor(p * 100))}% of your customers"


@dataclass(frozen=True)
class CloutScore:
    score: float
    components: dict[str, dict[str, float]]
    reasons: list[str]


def clout_score(
    *, facts: Facts, norms: ShopNorms, customer_id: int, currency: str = ""
) -> CloutScore:
    spend = facts.spend.get(customer_id, 0.0)
    orders = facts.orders.get(customer_id, 0)
    gifts = len(facts.gift_recipients.get(customer_id, ()))
    gift_buyers = len(facts.gift_recipients_who_buy.get(customer_id, ()))
    referred = len(facts.referred.get(customer_id, ()))
    named = len(facts.named_by.get(customer_id, ()))
    colleagues = len(facts.colleagues.get(customer_id, ()))
    household = len(facts.household.get(customer_id, ()))
    parts = {
        "value": shrunk(norms.value.percentile(spend), orders, norms.value.median),
        "gifts": norms.gifts.percentile(gifts),
        "referrals": norms.referrals.percentile(referred),
        "word_of_mouth": norms.word_of_mouth.percentile(named),
        "circles": norms.circles.percentile(colleagues + household),
    }
    remaining = 1.0
    for name, p in parts.items():
        remaining *= 1.0 - WEIGHTS[name] * p
    score = round(100.0 * (1.0 - remaining), 1)
    reasons = []
    if referred:
        revenue = facts.referred_revenue.get(customer_id, 0.0)
        reasons.append(
            f"brought {referred} new customer{'s' if referred != 1 else ''} through referrals "
            f"({revenue:,.0f} {currency} in orders){_more_than(parts['referrals'])}".replace(
                "  ", " "
            )
        )
    if named:
        reasons.append(
            f"{named} customer{'s' if named != 1 else ''} named them "
            "when asked how they heard of you"
        )
    if gifts:
        people = "1 other person" if gifts == 1 else f"{gifts} different people"
        if gift_buyers > 1:
            extra = f", {gift_buyers} of whom now buy from you too"
        else:
            extra = ", who now buys from you too" if gift_buyers == 1 else ""
        reasons.append(f"ships gifts to {people}{extra}{_more_than(parts['gifts'])}")
    if colleagues:
        reasons.append(
            f"{colleagues} colleague{'s' if colleagues != 1 else ''} "
            "at their workplace shop here too"
        )
    if household:
        reasons.append(
            "1 other customer shares their address"
            if household == 1
            else f"{household} other customers share their address"
        )
    if orders:
        reasons.append(
            f"{orders} order{'s' if orders != 1 else ''}, {spend:,.0f} {currency} spent"
            f"{_more_than(parts['value'])}".replace("  ", " ")
        )
    components = {
        "value": {
            "spend": round(spend, 2),
            "orders": orders,
            "percentile": round(parts["value"], 3),
        },
        "gifts": {
            "recipients": gifts,
            "recipients_who_buy": gift_buyers,
            "percentile": round(parts["gifts"], 3),
        },
        "referrals": {"customers": referred, "percentile": round(parts["referrals"], 3)},
        "word_of_mouth": {"customers": named, "percentile": round(parts["word_of_mouth"], 3)},
        "circles": {
            "colleagues": colleagues,
            "household": household,
            "percentile": round(parts["circles"], 3),
        },
    }
    return CloutScore(score=score, components=components, reasons=reasons)


# --- Klout ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    followers: int
    engagement_rate: float  # interactions per follower per post, 0–1
    authenticity: float  # share of followers that look real, 0–1


class KloutProvider(Protocol):
    def lookup(self, network: str, handle: str) -> Reach | None: ...


class HttpKloutProvider:
    """Any social-data service answering `GET {url}/{network}/{handle}` with
    `{"followers": int, "engagement_rate": float, "authenticity": float}`, configured by
    `CLOUT_KLOUT_PROVIDER_URL` and `CLOUT_KLOUT_PROVIDER_KEY`; answers cached in Redis."""

    def __init__(
        self,
        *,
        url: str,
        key: str | None,
        cache: redis.Redis | None,
        ttl_seconds: int = 86_400,
        timeout: float = 5.0,
        http: requests.Session | None = None,
    ) -> None:
        self.url, self.key, self.cache, self.ttl, self.timeout = (
            url.rstrip("/"),
            key,
            cache,
            ttl_seconds,
            timeout,
        )
        self.http = http or requests.Session()

    def lookup(self, network: str, handle: str) -> Reach | None:
        cache_key = f"clout:klout:{network}:{handle.lower()}"
        if self.cache is not None:
            try:
                cached = self.cache.get(cache_key)
            except redis.RedisError:
                cached = None
            if cached:
                data = json.loads(cached)
                return Reach(**data) if data else None
        try:
            response = self.http.get(
                f"{self.url}/{network}/{handle}",
                headers={"Authorization": f"Bearer {self.key}"} if self.key else {},
                timeout=self.timeout,
            )
        except requests.RequestException:
            raise KloutUnavailable(network) from None
        if response.status_code == 404:
            reach = None
        elif response.ok:
            body = response.json()
            reach = Reach(
                int(body["followers"]),
                float(body.get("engagement_rate", 0.0)),
                float(body.get("authenticity", 1.0)),
            )
        else:
            raise KloutUnavailable(network)
        if self.cache is not None:
            with contextlib.suppress(redis.RedisError):
                self.cache.set(
                    cache_key, json.dumps(reach.__dict__ if reach else None), ex=self.ttl
                )
        return reach


class KloutUnavailable(Exception):
    """The provider could not answer: Klout stays unknown and the profile incomplete."""


def klout_score(reaches: list[tuple[str, str, Reach]]) -> tuple[float, list[str]]:
    """Reach weighted by engagement and authenticity, log-scaled (1M engaged real followers is
    about 100)."""
    effective = sum(
        r.followers * r.authenticity * min(1.0, 0.3 + 10 * r.engagement_rate) for _, _, r in reaches
    )
    score = round(min(100.0, 100.0 * math.log10(1 + effective) / 6.0), 1)
    reasons = [
        f"{r.followers:,} followers on {network.title()} (@{handle}), "
        f"{r.engagement_rate:.1%} engagement, {r.authenticity:.0%} look real"
        for network, handle, r in sorted(reaches, key=lambda item: -item[2].followers)
    ]
    return score, reasons


# --- building profiles -----------------------------------------------------------------------


def contagion_of(*, facts: Facts, customer_id: int, unhappy: set[int]) -> int:
    connected = (
        facts.gift_recipients_who_buy.get(customer_id, set())
        | facts.referred.get(customer_id, set())
        | facts.colleagues.get(customer_id, set())
        | facts.household.get(customer_id, set())
    )
    return len(connected & unhappy)


def build_profile(
    *,
    session: Session,
    shop: Shop,
    customer: Customer,
    facts: Facts,
    norms: ShopNorms,
    unhappy: set[int],
    klout: KloutProvider | None,
    opt_out_tag: str,
    now: datetime,
    currency: str = "",
) -> InfluenceProfile:
    profile = session.scalar(
        select(InfluenceProfile).where(InfluenceProfile.customer_id == customer.id)
    )
    if profile is None:
        profile = InfluenceProfile(shop_id=shop.id, customer_id=customer.id)
        session.add(profile)
    opted_out = opt_out_tag in [t.strip() for t in (customer.tags or "").split(",")]
    profile.opted_out = opted_out
    profile.computed_at = now
    if opted_out:
        # No profile for a customer who opted out; the attention floor still applies to them.
        profile.clout_score = profile.klout_score = None
        profile.components = profile.reasons = None
        profile.contagion = 0
        profile.unknown = {"inputs": ["opted out of profiling"]}
        profile.complete = True
        return profile
    clout = clout_score(facts=facts, norms=norms, customer_id=customer.id, currency=currency)
    unknown: list[str] = []
    if norms.customers < THIN_SHOP:
        # A shop connected recently: Clout has seen few of its customers, so rankings among
        # them are rough until history arrives (orders, reconciliation).
        unknown.append(
            f"Clout knows {norms.customers} of your customers so far: rankings are rough"
        )
    reaches: list[tuple[str, str, Reach]] = []
    complete = True
    handles = facts.handles.get(customer.id, [])
    if not handles:
        unknown.append("no social handle shared: Klout unknown")
    elif klout is None:
        unknown.append("no social-data provider configured: Klout unknown")
    else:
        for network, handle in handles:
            try:
                reach = klout.lookup(network, handle)
            except KloutUnavailable:
                complete = False
                unknown.append(f"{network.title()} lookup failed: will retry")
                continue
            if reach is not None:
                reaches.append((network, handle, reach))
    klout_value: float | None = None
    klout_reasons: list[str] = []
    if reaches:
        klout_value, klout_reasons = klout_score(reaches)
    profile.clout_score = clout.score
    profile.klout_score = klout_value
    profile.contagion = contagion_of(facts=facts, customer_id=customer.id, unhappy=unhappy)
    profile.components = clout.components
    profile.reasons = {"clout": clout.reasons, "klout": klout_reasons}
    if profile.contagion:
        profile.reasons["clout"].append(
            f"{profile.contagion} people close to them are unhappy with you right now"
        )
    profile.unknown = {"inputs": unknown}
    profile.complete = complete
    profile.sources = {
        "orders": facts.orders.get(customer.id, 0),
        "shop_customers": norms.customers,
        "handles": [f"{n}:{h}" for n, h in handles],
    }
    return profile


def unhappy_customers(*, session: Session, shop: Shop) -> set[int]:
    return set(
        session.scalars(
            select(Incident.customer_id).where(
                Incident.shop_id == shop.id, Incident.status == IncidentStatus.OPEN
            )
        )
    )


def rebuild_shop(
    *,
    session: Session,
    shop: Shop,
    klout: KloutProvider | None,
    opt_out_tag: str,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    batch: int = 500,
) -> int:
    """Profiles for every customer of the shop, in batches (memory stays flat)."""
    facts = gather_facts(session=session, shop=shop)
    norms = shop_norms(facts)
    unhappy = unhappy_customers(session=session, shop=shop)
    done = 0
    ids = list(facts.customers)
    for start in range(0, len(ids), batch):
        customers = session.scalars(
            select(Customer).where(Customer.id.in_(ids[start : start + batch]))
        ).all()
        for customer in customers:
            build_profile(
                session=session,
                shop=shop,
                customer=customer,
                facts=facts,
                norms=norms,
                unhappy=unhappy,
                klout=klout,
                opt_out_tag=opt_out_tag,
                now=now,
            )
        session.flush()
        session.expunge_all()
        done += len(customers)
        if progress is not None:
            progress(len(customers))
    return done


class ShopFactsCache:
    """A shop's facts and norms, kept for a short while in this process, so that a burst of
    incidents in one shop scans it once rather than once each. What it serves is at most `ttl`
    seconds old; the profile sweep (new orders, failed lookups) always scans afresh."""

    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self.scans = 0
        self._kept: dict[int, tuple[float, Facts, ShopNorms]] = {}
        self._lock = threading.Lock()

    def get(self, *, session: Session, shop: Shop) -> tuple[Facts, ShopNorms]:
        now = self.clock()
        with self._lock:
            # Drop what has expired, whichever shop it was: a big shop's facts are not kept
            # in memory once nobody needs them.
            for shop_id in [k for k, (until, _, _) in self._kept.items() if until <= now]:
                del self._kept[shop_id]
            kept = self._kept.get(shop.id)
        if kept is not None:
            return kept[1], kept[2]
        facts = gather_facts(session=session, shop=shop)
        norms = shop_norms(facts)
        with self._lock:
            self.scans += 1
            self._kept[shop.id] = (now + self.ttl, facts, norms)
        return facts, norms


def refresh_profile(
    *,
    session: Session,
    shop: Shop,
    customer: Customer,
    klout: KloutProvider | None,
    opt_out_tag: str,
    now: datetime,
    cache: ShopFactsCache | None = None,
) -> InfluenceProfile:
    """One customer's profile, now (a new signal arrived)."""
    if cache is not None:
        facts, norms = cache.get(session=session, shop=shop)
    else:
        facts = gather_facts(session=session, shop=shop)
        norms = shop_norms(facts)
    return build_profile(
        session=session,
        shop=shop,
        customer=customer,
        facts=facts,
        norms=norms,
        unhappy=unhappy_customers(session=session, shop=shop),
        klout=klout,
        opt_out_tag=opt_out_tag,
        now=now,
    )


# --- keeping profiles current ----------------------------------------------------------------


def mark_stale_after_order(*, session: Session, shop: Shop, order: Order, now: datetime) -> int:
    """A new order changes the buyer's profile (value, gifts) and, if it used a referral code,
    the referrer's. Flag those profiles for the sweep; return how many were flagged."""
    affected: set[int] = set()
    if order.customer_id is not None:
        affected.add(order.customer_id)
    for code in (order.discount_codes or {}).get("codes") or []:
        name = referral_first_name(str(code.get("code") if isinstance(code, dict) else code))
        if not name:
            continue
        owners = session.scalars(
            select(Customer.id)
            .where(Customer.shop_id == shop.id, func.upper(Customer.first_name) == name)
            .limit(2)
        ).all()
        if len(owners) == 1:
            affected.add(owners[0])
    if not affected:
        return 0
    flagged = session.execute(
        update(InfluenceProfile)
        .where(
            InfluenceProfile.customer_id.in_(affected),
            InfluenceProfile.stale_since.is_(None),
        )
        .values(stale_since=now)
    )
    return int(getattr(flagged, "rowcount", 0) or 0)


def _due_profiles(*, now: datetime, retry_after: timedelta) -> Any:
    return select(InfluenceProfile.shop_id, InfluenceProfile.customer_id).where(
        or_(
            InfluenceProfile.stale_since.is_not(None),
            # A failed lookup (provider or Shopify down): try again once it has had a while.
            and_(
                InfluenceProfile.complete.is_(False),
                InfluenceProfile.opted_out.is_(False),
                or_(
                    InfluenceProfile.computed_at.is_(None),
                    InfluenceProfile.computed_at <= now - retry_after,
                ),
            ),
        )
    )


def refresh_due_profiles(
    *,
    session: Session,
    klout: KloutProvider | None,
    opt_out_tag: str,
    now: datetime,
    retry_after: timedelta,
    limit: int = 500,
) -> list[int]:
    """Recompute stale profiles and incomplete ones, one scan per shop however many are due.
    Returns the open incidents whose customer's influence changed: their priority may rise."""
    due = session.execute(
        _due_profiles(now=now, retry_after=retry_after)
        .order_by(InfluenceProfile.computed_at)
        .limit(limit)
    ).all()
    by_shop: dict[int, list[int]] = defaultdict(list)
    for shop_id, customer_id in due:
        by_shop[shop_id].append(customer_id)
    to_attend: list[int] = []
    for shop_id, customer_ids in by_shop.items():
        shop = session.get(Shop, shop_id)
        if shop is None or shop.status != ShopStatus.ACTIVE:
            continue
        facts = gather_facts(session=session, shop=shop)
        norms = shop_norms(facts)
        unhappy = unhappy_customers(session=session, shop=shop)
        for customer in session.scalars(select(Customer).where(Customer.id.in_(customer_ids))):
            profile = session.scalar(
                select(InfluenceProfile).where(InfluenceProfile.customer_id == customer.id)
            )
            before = _influence_key(profile)
            profile = build_profile(
                session=session,
                shop=shop,
                customer=customer,
                facts=facts,
                norms=norms,
                unhappy=unhappy,
                klout=klout,
                opt_out_tag=opt_out_tag,
                now=now,
            )
            profile.stale_since = None
            if _influence_key(profile) != before and customer.id in unhappy:
                incident = session.scalar(
                    select(Incident).where(
                        Incident.customer_id == customer.id, Incident.status == IncidentStatus.OPEN
                    )
                )
                if incident is not None:
                    incident.needs_attention = True
                    to_attend.append(incident.id)
        session.flush()
    return to_attend


def _influence_key(profile: InfluenceProfile | None) -> tuple[object, ...]:
    if profile is None:
        return (None, None, 0, False)
    return (profile.clout_score, profile.klout_score, profile.contagion, profile.opted_out)
