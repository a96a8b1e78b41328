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

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from service.core import shop_settings
from service.core.logs import get_logger
from service.core.models import (
    Customer,
    Incident,
    InfluenceProfile,
    NormsSummary,
    Order,
    Shop,
)
from service.core.people import referral_first_name
from service.core.vocabulary import IncidentStatus, ShopStatus, same_tag
from service.influence.facts import Facts, customer_facts, gather_facts
from service.influence.klout import KloutProvider, KloutUnavailable
from service.influence.scoring import (
    THIN_SHOP,
    Influence,
    Reach,
    ShopNorms,
    clout_score,
    contagion_of,
    klout_score,
    shop_norms,
)

log = get_logger(__name__)


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


def build_profile(
    *,
    session: Session,
    shop: Shop,
    customer: Customer,
    facts: Facts,
    norms: ShopNorms | None,
    unhappy: set[int],
    klout: KloutProvider | None,
    opt_out_tag: str,
    now: datetime,
) -> InfluenceProfile | None:
    """The customer's profile from their facts and the shop's norms. Without norms (a large
    shop whose history Clout is still reading) clout is unknown, never zero, and the profile
    is incomplete, so the sweep computes it again once the norms are there. None for a
    customer erased at Shopify's request: Clout keeps no profile of them again (the orders
    kept as anonymous facts would make one: "2 orders, 810 USD spent")."""
    profile = session.scalar(
        select(InfluenceProfile).where(InfluenceProfile.customer_id == customer.id)
    )
    if customer.redacted_at is not None:
        if profile is not None:
            session.delete(profile)
        return None
    if profile is None:
        profile = InfluenceProfile(shop_id=shop.id, customer_id=customer.id)
        session.add(profile)
    opted_out = has_opted_out(customer, opt_out_tag)
    profile.opted_out = opted_out
    profile.computed_at = now
    if opted_out:
        _forget(profile)
        return profile
    unknown: list[str] = []
    complete = True
    clout = None
    if norms is None:
        complete = False
        unknown.append("Clout is still reading your shop's history: clout unknown for now")
    else:
        currency = facts.currency.get(customer.id, "")
        clout = clout_score(facts=facts, norms=norms, customer_id=customer.id, currency=currency)
    if norms is not None and norms.customers < THIN_SHOP:
        # A shop connected recently: Clout has seen few of its customers, so rankings among
        # them are rough until history arrives (orders, reconciliation).
        unknown.append(
            f"Clout knows {norms.customers} of your customers so far: rankings are rough"
        )
    handles = facts.handles.get(customer.id, [])
    klout_value, klout_reasons, klout_complete = _klout_of(handles, klout, unknown)
    complete = complete and klout_complete
    profile.clout_score = clout.score if clout else None
    profile.klout_score = klout_value
    profile.contagion = contagion_of(facts=facts, customer_id=customer.id, unhappy=unhappy)
    profile.components = clout.components if clout else None
    profile.reasons = {"clout": list(clout.reasons) if clout else [], "klout": klout_reasons}
    if profile.contagion:
        profile.reasons["clout"].append(
            "1 person close to them is unhappy with you right now"
            if profile.contagion == 1
            else f"{profile.contagion} people close to them are unhappy with you right now"
        )
    profile.unknown = {"inputs": unknown}
    profile.complete = complete
    profile.sources = {
        "orders": facts.orders.get(customer.id, 0),
        "shop_customers": norms.customers if norms else None,
        "handles": [f"{n}:{h}" for n, h in handles],
    }
    return profile


def has_opted_out(customer: Customer, opt_out_tag: str) -> bool:
    return any(same_tag(t, opt_out_tag) for t in (customer.tags or "").split(","))


def _forget(profile: InfluenceProfile) -> None:
    # No profile for a customer who opted out; the attention floor still applies to them.
    profile.opted_out = True
    profile.clout_score = profile.klout_score = None
    profile.components = profile.reasons = None
    profile.contagion = 0
    profile.unknown = {"inputs": ["opted out of profiling"]}
    profile.complete = True


def note_opt_out_change(
    *, session: Session, customer: Customer, opt_out_tag: str | None, now: datetime
) -> None:
    """The opt-out tag went on or came off the customer in Shopify (`opt_out_tag` None: the
    shop's tag is not known here, so either may have happened). Opted out, their profile goes
    at once: nothing of it waits for the sweep, and no provider is asked about them again. No
    longer opted out, the sweep computes it again. An open case keeps what its agent has seen
    (`policy.Held`): the floor never falls within a case."""
    profile = session.scalar(
        select(InfluenceProfile).where(InfluenceProfile.customer_id == customer.id)
    )
    if profile is None:
        return  # profiled when they are first unhappy, by then with the tag
    if opt_out_tag is not None and has_opted_out(customer, opt_out_tag):
        _forget(profile)
        profile.computed_at = now
        profile.stale_since = None
    elif profile.stale_since is None:
        profile.stale_since = now


def opt_out_tag_changed(*, session: Session, shop_id: int, opt_out_tag: str, now: datetime) -> int:
    """The shop keeps its customers out of profiling by `opt_out_tag` from now on: each profile
    is read again by it. A customer who carries it is forgotten at once (nothing waits for the
    sweep, no provider is asked about them again); one opted out by the old tag who does not
    carry the new one is marked stale for the sweep. How many profiles changed."""
    changed = 0
    query = (
        select(InfluenceProfile, Customer)
        .join(Customer, Customer.id == InfluenceProfile.customer_id)
        .where(InfluenceProfile.shop_id == shop_id)
    )
    if opt_out_tag.isascii():
        # Only those who may carry the tag, or were opted out: a large shop's every profile
        # read here would hold SQLite's write lock, which intake needs, for the whole scan.
        # (The database's lower() folds ASCII alone, so other tags are checked row by row.)
        wanted = opt_out_tag.strip().lower().replace("\\", "\\\\")
        wanted = wanted.replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                InfluenceProfile.opted_out.is_(True),
                func.lower(Customer.tags).like(f"%{wanted}%", escape="\\"),
            )
        )
    rows = session.execute(query.execution_options(yield_per=500))
    for profile, customer in rows:
        opted_out = has_opted_out(customer, opt_out_tag)
        if opted_out and not profile.opted_out:
            _forget(profile)
            profile.computed_at = now
            profile.stale_since = None
            changed += 1
        elif not opted_out and profile.opted_out and profile.stale_since is None:
            profile.stale_since = now
            changed += 1
    return changed


def _klout_of(
    handles: list[tuple[str, str]], klout: KloutProvider | None, unknown: list[str]
) -> tuple[float | None, list[str], bool]:
    """Klout from the handles the customer gave: score, reasons, and whether every lookup
    answered; what cannot be known is said in `unknown`."""
    if not handles:
        unknown.append("no social handle shared: Klout unknown")
        return None, [], True
    if klout is None:
        unknown.append("no social-data provider configured: Klout unknown")
        return None, [], True
    reaches: list[tuple[str, str, Reach]] = []
    complete = True
    for network, handle in handles:
        try:
            reach = klout.lookup(network, handle)
        except KloutUnavailable:
            complete = False
            unknown.append(f"{network.title()} lookup failed: will retry")
            continue
        if reach is not None:
            reaches.append((network, handle, reach))
    if not reaches:
        return None, [], complete
    value, reasons = klout_score(reaches)
    return value, reasons, complete


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
    """Profiles for every customer of the shop, in batches (memory stays flat); the shop's
    norms are kept from the same pass. `opt_out_tag` and `klout` are the install's: a shop's
    own opt-out tag and its Klout switch (`clout settings set SHOP opt_out_tag=… klout=off`)
    are the ones its customers are read by."""
    opt_out_tag = shop_settings.opt_out_tag_of(
        session=session, shop_id=shop.id, default=opt_out_tag
    )
    if shop_settings.klout_switched_off(session=session, shop_id=shop.id):
        klout = None
    facts = gather_facts(session=session, shop=shop)
    norms = shop_norms(facts)
    keep_norms(session=session, shop=shop, norms=norms, now=now)
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


# --- the shop's norms: a summary, not a scan per profile ---------------------------------------

NORMS_MAX_AGE = timedelta(hours=1)  # how stale the percentile tables may get before a new pass
SMALL_SHOP = 5000  # customers: a shop this small has its first norms computed on the spot


def keep_norms(*, session: Session, shop: Shop, norms: ShopNorms, now: datetime) -> None:
    summary = session.get(NormsSummary, shop.id)
    if summary is None:
        summary = NormsSummary(shop_id=shop.id)
        session.add(summary)
    summary.computed_at = now
    summary.customers = norms.customers
    summary.tables = norms.summary()


def stored_norms(*, session: Session, shop: Shop) -> ShopNorms | None:
    summary = session.get(NormsSummary, shop.id)
    if summary is None:
        return None
    return ShopNorms.from_summary(summary.tables, customers=summary.customers)


def norms_for_profile(*, session: Session, shop: Shop, now: datetime) -> ShopNorms | None:
    """The shop's norms as last summarised. A small shop without a summary yet gets one now
    (its pass costs milliseconds); a large one waits for the scheduled pass (`refresh_norms`)
    rather than scanning on the attendance path: None, and clout stays unknown until then."""
    norms = stored_norms(session=session, shop=shop)
    if norms is not None:
        return norms
    customers = session.scalar(
        select(func.count()).select_from(Customer).where(Customer.shop_id == shop.id)
    )
    if (customers or 0) > SMALL_SHOP:
        return None
    norms = shop_norms(gather_facts(session=session, shop=shop))
    keep_norms(session=session, shop=shop, norms=norms, now=now)
    return norms


def shops_due_for_norms(*, session: Session, now: datetime, max_age: timedelta) -> list[int]:
    """Active shops whose summary is missing or older than `max_age`."""
    return list(
        session.scalars(
            select(Shop.id)
            .outerjoin(NormsSummary, NormsSummary.shop_id == Shop.id)
            .where(
                Shop.status == ShopStatus.ACTIVE,
                or_(NormsSummary.shop_id.is_(None), NormsSummary.computed_at <= now - max_age),
            )
            .order_by(Shop.id)
        )
    )


def compute_norms(*, session: Session, shop: Shop) -> ShopNorms:
    """One pass over the shop (read only); the caller keeps it (`keep_norms`) in a short
    transaction of its own, so no write lock is held while the shop is read."""
    return shop_norms(gather_facts(session=session, shop=shop))


def refresh_profile(
    *,
    session: Session,
    shop: Shop,
    customer: Customer,
    klout: KloutProvider | None,
    opt_out_tag: str,
    now: datetime,
) -> InfluenceProfile | None:
    """One customer's profile, now (a new signal arrived): their facts from indexed queries and
    the shop's norms from its summary, so the cost follows the customer, not the shop."""
    return build_profile(
        session=session,
        shop=shop,
        customer=customer,
        facts=customer_facts(session=session, customer=customer),
        norms=norms_for_profile(session=session, shop=shop, now=now),
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
    """Recompute stale profiles and incomplete ones, each from its customer's own facts.
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
        norms = norms_for_profile(session=session, shop=shop, now=now)
        unhappy = unhappy_customers(session=session, shop=shop)
        # The shop's own opt-out tag, if it set one, over the install-wide `opt_out_tag`.
        shop_opt_out = shop_settings.opt_out_tag_of(
            session=session, shop_id=shop.id, default=opt_out_tag
        )
        # Nor the install's social-data provider for a shop that switched lookups off.
        shop_klout = (
            None if shop_settings.klout_switched_off(session=session, shop_id=shop.id) else klout
        )
        for customer in session.scalars(select(Customer).where(Customer.id.in_(customer_ids))):
            profile = session.scalar(
                select(InfluenceProfile).where(InfluenceProfile.customer_id == customer.id)
            )
            before = _influence_key(profile)
            profile = build_profile(
                session=session,
                shop=shop,
                customer=customer,
                facts=customer_facts(session=session, customer=customer),
                norms=norms,
                unhappy=unhappy,
                klout=shop_klout,
                opt_out_tag=shop_opt_out,
                now=now,
            )
            if profile is not None:
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
