"""What the shop's rows say about each customer, read without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from service.influence.facts import COLLEAGUES_MOST, CustomerRow, Facts, OrderRow, facts_from
from service.influence.scoring import clout_score, shop_norms

WHEN = datetime(2026, 11, 1, tzinfo=UTC)


def person(
    cid: int, first: str, last: str, *, email: str | None = None, home: str = ""
) -> CustomerRow:
    address = {"address1": home, "zip": "1000", "name": f"{first} {last}"} if home else None
    return CustomerRow(cid, email, first, last, address, None)


def order(
    cid: int,
    total: str = "50.00",
    *,
    ship_to: tuple[str, str] | None = None,
    codes: list[str] = (),  # type: ignore[assignment]
    attributes: dict[str, str] | None = None,
    cancelled: bool = False,
) -> OrderRow:
    shipping: dict[str, Any] | None = None
    if ship_to:
        shipping = {"name": ship_to[0], "address1": ship_to[1], "zip": "1000"}
    return OrderRow(
        cid,
        Decimal(total),
        shipping,
        {"codes": [{"code": c} for c in codes]},
        {"attributes": [{"name": k, "value": v} for k, v in (attributes or {}).items()]},
        WHEN,
        WHEN if cancelled else None,
    )


def test_an_order_shipped_to_someone_else_is_a_gift_and_their_first_order_a_new_buyer() -> None:
    # given Maya, who ships an order to her sister Rosa, and Rosa, who now buys too
    maya = person(1, "Maya", "Lind", home="1 Elm Street")
    rosa = person(2, "Rosa", "Lind", home="9 Oak Road")

    facts = facts_from([maya, rosa], [order(1, ship_to=("Rosa Lind", "9 Oak Road")), order(2)])

    assert facts.gift_recipients[1] == {"rosa lind"}
    assert facts.gift_recipients_who_buy[1] == {2}
    assert 1 not in facts.household.get(2, set())  # a gift's address is not Maya's home


def test_a_code_that_is_one_customers_first_name_credits_her_with_the_referral() -> None:
    maya = person(1, "Maya", "Lind")
    newcomer = person(2, "Tom", "Berg")

    facts = facts_from([maya, newcomer], [order(2, "80.00", codes=["MAYA10"])])

    assert facts.referred[1] == {2}
    assert facts.referred_revenue[1] == 80.0


def test_a_code_two_customers_could_own_credits_nobody() -> None:
    annas = [person(1, "Anna", "Ek"), person(2, "Anna", "Holm"), person(3, "Tom", "Berg")]

    facts = facts_from(annas, [order(3, codes=["ANNA20"])])

    assert not facts.referred


def test_naming_someone_when_asked_how_you_heard_counts_as_their_word_of_mouth() -> None:
    maya = person(1, "Maya", "Lind", email="maya@example.org")
    tom = person(2, "Tom", "Berg")

    facts = facts_from([maya, tom], [order(2, attributes={"how_did_you_hear": "Maya@example.org"})])

    assert facts.named_by[1] == {2}


def test_people_at_one_address_are_a_household_and_a_workplace_domain_a_circle() -> None:
    a = person(1, "Ada", "Moe", email="ada@acme.test", home="5 Pine Way")
    b = person(2, "Bo", "Moe", email="bo@acme.test", home="5 Pine Way")
    c = person(3, "Cy", "Roe", email="cy@gmail.com", home="7 Birch Lane")

    facts = facts_from([a, b, c], [])

    assert facts.household[1] == {2}
    assert facts.colleagues[1] == {2}
    assert 3 not in facts.colleagues  # a free-mail domain is no workplace


def test_a_domain_more_customers_share_than_a_workplace_holds_is_no_circle() -> None:
    # given a mailbox provider the free-mail list does not name, as web.de or a university is,
    # shared by more customers than one circle of colleagues (anyone can open accounts there)
    many = [person(i, f"P{i}", "Roe", email=f"p{i}@web.de") for i in range(1, COLLEAGUES_MOST + 2)]
    few = [person(100 + i, f"Q{i}", "Moe", email=f"q{i}@acme.test") for i in range(3)]

    # when the shop's facts are read
    facts = facts_from([*many, *few], [])

    # then its customers are nobody's colleagues (counted, every customer held each other
    # one: memory and time grew with the square of the domain's customers), a workplace's are
    assert all(cid not in facts.colleagues for cid in range(1, COLLEAGUES_MOST + 2))
    assert facts.colleagues[100] == {101, 102}


def test_cancelled_orders_count_for_nothing() -> None:
    facts = facts_from([person(1, "Maya", "Lind")], [order(1, "99.00", cancelled=True)])

    assert facts.spend.get(1, 0.0) == 0.0
    assert facts.orders.get(1, 0) == 0


def test_handles_come_from_what_the_customer_gave_in_order_attributes() -> None:
    facts = facts_from(
        [person(1, "Maya", "Lind")], [order(1, attributes={"instagram": "@maya.makes"})]
    )

    assert facts.handles[1] == [("instagram", "maya.makes")]


@pytest.mark.parametrize(
    ("recipients", "buyers", "said"),
    [
        (1, 1, "ships gifts to 1 other person, who now buys from you too"),
        (2, 1, "ships gifts to 2 different people, one of whom now buys from you too"),
        (3, 2, "ships gifts to 3 different people, 2 of whom now buy from you too"),
    ],
)
def test_the_gift_reason_reads_as_a_merchant_would_write_it(
    recipients: int, buyers: int, said: str
) -> None:
    # given a customer who ships gifts to some people, some of whom now buy too
    facts = Facts()
    facts.gift_recipients[1] = {f"recipient-{n}" for n in range(recipients)}
    facts.gift_recipients_who_buy[1] = set(range(2, 2 + buyers))

    # when her clout is scored
    score = clout_score(facts=facts, norms=shop_norms(facts), customer_id=1)

    # then the reason says it in plain English
    assert any(reason.startswith(said) for reason in score.reasons)
