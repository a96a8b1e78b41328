"""Scoring, pure: clout from the shop's facts (percentiles within the shop, shrunk toward its
median on thin evidence, combined as a noisy-OR), Klout from reach, contagion from circles, and
`Influence`, what the attention policy reads of it all (unknown, never zero)."""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from service.core.vocabulary import InfluenceBand
from service.influence.facts import Facts

HIGH_SCORE = 80.0  # a score at or above this is "high" (scores are percentile-like, 0–100)
LOW_SCORE = 30.0


@dataclass(frozen=True)
class Influence:
    """What is known of the customer's influence. None means unknown, never zero."""

    clout: float | None = None
    klout: float | None = None
    contagion: int = 0  # connected customers who are unhappy now
    opted_out: bool = False
    reasons: tuple[str, ...] = ()

    @property
    def band(self) -> InfluenceBand:
        if self.opted_out:
            return InfluenceBand.OPTED_OUT
        known = [s for s in (self.clout, self.klout) if s is not None]
        if not known:
            return InfluenceBand.UNKNOWN
        top = max(known)
        if top >= HIGH_SCORE:
            return InfluenceBand.HIGH
        return InfluenceBand.MEDIUM if top >= LOW_SCORE else InfluenceBand.LOW


UNKNOWN = Influence()

# How far one channel alone can carry the score: a referral or a word-of-mouth mention is direct
# evidence of influence, spend the weakest (it measures wallets, not voices).
WEIGHTS = {"value": 0.35, "gifts": 0.75, "referrals": 0.95, "word_of_mouth": 0.9, "circles": 0.4}
THIN_SHOP = 50  # fewer customers known than this: percentiles are rough
SHRINK = 2.0  # pseudo-observations pulling a thin record toward the shop's median


class Distribution:
    """How one component is spread over the shop's customers: how many customers have each
    log-scaled value (rounded to three decimals, so that a million customers fit in a summary of
    a few hundred entries — a spend known to 0.1 %)."""

    def __init__(self, values: Iterable[float] = ()) -> None:
        self._count(Counter(_log(v) for v in values))

    @classmethod
    def from_table(cls, table: Iterable[Sequence[float]]) -> Distribution:
        """Back from `table()`: [[log value, customers], …]."""
        made = cls()
        made._count(Counter({float(value): int(count) for value, count in table}))
        return made

    def table(self) -> list[list[float]]:
        return [[value, self._below[i + 1] - self._below[i]] for i, value in enumerate(self._keys)]

    def _count(self, counts: Counter[float]) -> None:
        self._keys = sorted(counts)
        self._below = [0]
        for key in self._keys:
            self._below.append(self._below[-1] + counts[key])
        self.total = self._below[-1]
        middle = self.total // 2  # the median customer, as the share of customers below them
        at = bisect.bisect_right(self._below, middle) - 1
        self.median = self._below[at] / self.total if self.total else 0.0

    def percentile_of_log(self, value: float) -> float:
        if not self.total:
            return 0.0
        return self._below[bisect.bisect_left(self._keys, value)] / self.total

    def percentile(self, raw: float) -> float:
        """The share of customers with less: zero for the many who have none."""
        return self.percentile_of_log(_log(raw))


def _log(value: float) -> float:
    return round(math.log1p(max(0.0, value)), 3)


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

    def summary(self) -> dict[str, list[list[float]]]:
        """What `ShopNorms` rows keep (`from_summary` reads it back)."""
        return {name: getattr(self, name).table() for name in COMPONENTS}

    @classmethod
    def from_summary(cls, tables: dict[str, Any], *, customers: int) -> ShopNorms:
        return cls(
            **{name: Distribution.from_table(tables.get(name) or []) for name in COMPONENTS},
            customers=customers,
        )


COMPONENTS = ("value", "gifts", "referrals", "word_of_mouth", "circles")


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
            one = (
                ", who now buys from you too"
                if gifts == 1
                else ", one of whom now buys from you too"
            )
            extra = one if gift_buyers == 1 else ""
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


@dataclass(frozen=True)
class Reach:
    followers: int
    engagement_rate: float  # interactions per follower per post, 0–1
    authenticity: float  # share of followers that look real, 0–1


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


def contagion_of(*, facts: Facts, customer_id: int, unhappy: set[int]) -> int:
    connected = (
        facts.gift_recipients_who_buy.get(customer_id, set())
        | facts.referred.get(customer_id, set())
        | facts.colleagues.get(customer_id, set())
        | facts.household.get(customer_id, set())
    )
    return len(connected & unhappy)
