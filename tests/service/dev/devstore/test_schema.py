"""The emulator refuses what Shopify refuses: it executes against Shopify's own Admin API schema,
so a document that real Shopify would turn away is turned away here, in Shopify's error shape,
and what the emulator does not implement says so instead of inventing a value."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.dev.devstore.server import DevAdmin, Plan
from service.dev.devstore.store import DevStore

TOKEN = "shpat_schema_test"


@pytest.fixture
def admin() -> DevAdmin:
    store = DevStore("schema-test.myshopify.com")
    store.tokens.add(TOKEN)
    store.add_purchase(store.add_person("ada@example.org"))
    return DevAdmin(store, plan=Plan(maximum=2000, restore_rate=100))


def ask(
    admin: DevAdmin, query: str, variables: dict[str, Any] | None = None, version: str = "2026-07"
) -> tuple[int, dict[str, Any]]:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    status, answer, _ = admin.handle(TOKEN, body, version)
    return status, answer


def codes(answer: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in answer.get("errors", [])]


def test_a_string_where_shopify_wants_an_enum_is_refused(admin: DevAdmin) -> None:
    # the reconciliation query as Clout once sent it: sortKey as a string, not the enum value
    status, answer = ask(
        admin, 'query { orders(first: 5, sortKey: "UPDATED_AT") { nodes { id } } }'
    )

    assert status == 200
    assert "data" not in answer
    assert codes(answer) == ["argumentLiteralsIncompatible"]
    assert "OrderSortKeys" in answer["errors"][0]["message"]


def test_the_enum_value_is_accepted(admin: DevAdmin) -> None:
    status, answer = ask(admin, "query { orders(first: 5, sortKey: UPDATED_AT) { nodes { id } } }")

    assert status == 200
    assert "errors" not in answer
    assert len(answer["data"]["orders"]["nodes"]) == 1


def test_a_field_shopify_does_not_have_is_refused(admin: DevAdmin) -> None:
    _, answer = ask(admin, "query { shop { name followerCount } }")

    assert codes(answer) == ["undefinedField"]


def test_a_missing_required_argument_is_refused(admin: DevAdmin) -> None:
    _, answer = ask(admin, "query { order { id } }")

    assert codes(answer) == ["missingRequiredArguments"]


def test_a_variable_of_the_wrong_type_is_refused(admin: DevAdmin) -> None:
    _, answer = ask(
        admin,
        "query Q($sort: String) { orders(first: 5, sortKey: $sort) { nodes { id } } }",
        {"sort": "UPDATED_AT"},
    )

    assert codes(answer) == ["variableMismatch"]


def test_a_variable_value_that_is_no_value_of_its_enum_is_refused(admin: DevAdmin) -> None:
    _, answer = ask(
        admin,
        "query Q($sort: OrderSortKeys) { orders(first: 5, sortKey: $sort) { nodes { id } } }",
        {"sort": "updated_at"},
    )

    assert codes(answer) == ["INVALID_VARIABLE"]
    assert "data" not in answer


def test_a_connection_without_a_page_size_is_refused(admin: DevAdmin) -> None:
    _, answer = ask(admin, "query { orders { nodes { id } } }")

    assert answer["data"] is None
    assert "you must provide one of first or last" in answer["errors"][0]["message"]


def test_a_field_the_emulator_does_not_implement_says_so_rather_than_inventing(
    admin: DevAdmin,
) -> None:
    # Shop.email exists in Shopify's schema; the emulator does not keep it
    _, answer = ask(admin, "query { shop { name email } }")

    assert answer["data"] is None  # Shop.email is non-null: the error takes the shop with it
    assert answer["errors"][0]["message"] == "Shop.email is not emulated by clout devstore"
    assert codes(answer) == ["NOT_EMULATED"]


def test_a_query_over_shopifys_single_query_limit_is_refused_before_running(
    admin: DevAdmin,
) -> None:
    _, answer = ask(
        admin,
        "query { orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id } } } } }",
    )

    assert codes(answer) == ["MAX_COST_EXCEEDED"]
    assert admin.stats.succeeded == 0


def test_an_api_version_with_no_vendored_schema_is_not_found(admin: DevAdmin) -> None:
    status, _ = ask(admin, "query { shop { name } }", version="2019-01")

    assert status == 404


def test_an_enum_value_the_emulator_got_wrong_fails_loudly(admin: DevAdmin) -> None:
    # the store keeps a display status Shopify has no enum value for
    order = next(iter(admin.store.orders.values()))
    order.fulfillment_status = "SHIPPED_SOMEHOW"

    _, answer = ask(admin, f'query {{ order(id: "{order.gid}") {{ displayFulfillmentStatus }} }}')

    assert answer["data"]["order"] is None
    assert "OrderDisplayFulfillmentStatus" in answer["errors"][0]["message"]
