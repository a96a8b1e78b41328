"""Clout's views, metafield definitions and segments in the merchant's admin: planned without
Shopify, then made, mended and read back against the emulator over HTTP (which executes
Shopify's real 2026-07 schema and enforces definitions on metafieldsSet)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import httpx
import pytest
from graphql import parse

from service.attention.attend import Case, TagSettings, customer_metafields, plan_attendance
from service.attention.workspace import (
    DEFINITIONS,
    HIDDEN_INFLUENCER_TAG,
    OVERDUE_TAG,
    URGENT_TAG,
    Found,
    customer_segments,
    order_views,
    plan_workspace,
    push_workspace,
    remove_workspace,
    tend_workspace,
    wanted_workspace,
)
from service.core.vocabulary import DEFAULT_FLOORS, InfluenceBand, Priority, Severity, SignalKind
from service.dev.devstore.schema import execute
from service.dev.devstore.store import DevStore
from service.influence.scoring import Influence
from service.shopify.admin import METAFIELD_NAMESPACE, ShopifyAdmin, ShopifyUserErrors
from service.shopify.admin_schema import admin_schema
from tests.support.clout import RunningDevStore
from tests.support.helpers import SHOP

OPENED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SETTINGS = TagSettings(
    attention_tag="clout-attention", resolved_tag="clout-resolved", floors=DEFAULT_FLOORS
)


def a_case(**changes: object) -> Case:
    case = Case(
        incident_id=1,
        shop_id=1,
        shop_active=True,
        open=True,
        severity=Severity.HIGH,
        opened_at=OPENED,
        escalations=0,
        overdue=True,
        kinds=frozenset({SignalKind.REFUND}),
        signal_count=2,
        sentences=("Where is my order??", "I want my money back."),
        influence=Influence(clout=91.0, klout=12.0),
        profile_fresh=True,
        order_gids=("gid://shopify/Order/7004000000010",),
        customer_gid="gid://shopify/Customer/7004000000001",
        written={},
        flow_sent=False,
        drift_repairs=0,
        resolved_by=None,
    )
    return dataclasses.replace(case, **changes)  # type: ignore[arg-type]


def client_for(dev: RunningDevStore) -> ShopifyAdmin:
    return ShopifyAdmin(
        shop=SHOP,
        access_token=dev.token,
        api_version="2026-07",
        http=httpx.Client(timeout=5),
        admin_url=dev.url,
    )


def orders_in_view(store: DevStore, query: str) -> set[str]:
    """What the orders index shows for a saved view's query (the emulator's search)."""
    result = execute(
        store,
        admin_schema("2026-07"),
        parse("query V($q: String) { orders(first: 50, query: $q) { nodes { name } } }"),
        {"q": query},
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return {node["name"] for node in result.data["orders"]["nodes"]}


# --- bad input first: what Shopify refuses ----------------------------------------------------


def test_shopify_refuses_a_segment_on_a_metafield_without_a_definition(
    devstore: RunningDevStore,
) -> None:
    # given a store where Clout has not defined its metafields yet
    client = client_for(devstore)
    resolved = customer_segments(attention_tag="clout-attention")[1]

    # when the "resolved in the last 30 days" segment is made before its definition
    with pytest.raises(ShopifyUserErrors, match="filter cannot be found"):
        client.create_segment(resolved.name, resolved.query)

    # then nothing was made; which is why push_workspace makes definitions first
    assert devstore.store.segments == []


def test_a_value_outside_its_definition_is_refused_and_nothing_is_written(
    devstore: RunningDevStore,
) -> None:
    # given Clout's definitions in the store and a customer
    client = client_for(devstore)
    tend_workspace(
        client=client, attention_tag="clout-attention", resolved_tag="clout-resolved", fix=True
    )
    customer = devstore.store.add_person("maya@example.com", "Maya", "Lee")

    # when a priority outside the choices, or reasons in the old json type, are written
    with pytest.raises(ShopifyUserErrors, match="choices"):
        client.set_metafields(
            customer.gid, {"attention_priority": ("single_line_text_field", "whenever")}
        )
    with pytest.raises(ShopifyUserErrors, match="consistent with the definition"):
        client.set_metafields(customer.gid, {"attention_reasons": ("json", '["late"]')})

    # then the customer carries neither
    assert customer.metafields == {}


def test_a_tag_name_with_a_quote_cannot_break_out_of_the_view_query() -> None:
    views = order_views(attention_tag="it's late", resolved_tag="done")

    assert views[0].query == "tag:'it\\'s late' AND NOT tag:'done'"


# --- plan, without Shopify ------------------------------------------------------------------


def test_a_store_with_nothing_gets_every_view_definition_and_segment() -> None:
    wanted = wanted_workspace(attention_tag="clout-attention", resolved_tag="clout-resolved")

    plan = plan_workspace(wanted=wanted, found=Found())

    assert [v.name for v in plan.create_views] == [
        "Clout · needs attention",
        "Clout · urgent",
        "Clout · overdue",
        "Clout · hidden influencers",
    ]
    assert [s.name for s in plan.create_segments] == [
        "Unhappy customers (Clout)",
        "Resolved in the last 30 days (Clout)",
    ]
    assert len(plan.create_definitions) == len(DEFINITIONS)
    assert not plan.in_order


def test_renamed_tags_rewrite_the_views_and_the_segment_in_place() -> None:
    # given a store whose views were made under the default tag names
    before = wanted_workspace(attention_tag="clout-attention", resolved_tag="clout-resolved")
    found = Found(
        views=[
            {"id": f"v{i}", "name": v.name, "query": v.query} for i, v in enumerate(before.views)
        ],
        segments=[
            {"id": f"s{i}", "name": s.name, "query": s.query} for i, s in enumerate(before.segments)
        ],
    )

    # when the merchant renames the attention and resolved tags
    after = wanted_workspace(attention_tag="needs-reply", resolved_tag="answered")
    plan = plan_workspace(wanted=after, found=found)

    # then every view is rewritten (same ids, new tag names) and none made twice
    assert plan.create_views == ()
    assert [view_id for view_id, _ in plan.update_views] == ["v0", "v1", "v2", "v3"]
    assert all("needs-reply" in v.query and "answered" in v.query for _, v in plan.update_views)
    assert [(i, s.query) for i, s in plan.update_segments] == [
        ("s0", "customer_tags CONTAINS 'needs-reply'")
    ]
    assert plan.create_segments == ()


def test_a_definition_of_another_type_is_a_conflict_for_a_person() -> None:
    taken = {
        "namespace": METAFIELD_NAMESPACE,
        "key": "clout_score",
        "ownerType": "CUSTOMER",
        "type": {"name": "single_line_text_field"},
    }
    wanted = wanted_workspace(attention_tag="a-tag", resolved_tag="r-tag")

    plan = plan_workspace(wanted=wanted, found=Found(definitions=[taken]))

    assert len(plan.conflicts) == 1
    assert "clout.clout_score is defined as single_line_text_field" in plan.conflicts[0]
    assert all(d.key != "clout_score" for d in plan.create_definitions + plan.update_definitions)


def test_the_views_name_the_tags_the_policy_writes() -> None:
    # an overdue case of a customer with high clout and little reach: urgent, hidden influencer
    plan = plan_attendance(case=a_case(), settings=SETTINGS)
    written = set(plan.decision.tags)

    assert plan.decision.priority == Priority.URGENT
    assert {URGENT_TAG, OVERDUE_TAG, HIDDEN_INFLUENCER_TAG} <= written


def test_what_clout_writes_on_a_customer_is_what_its_definitions_say() -> None:
    definitions = {d.key: d for d in DEFINITIONS}
    cases = [
        a_case(),
        a_case(influence=None, overdue=False),
        a_case(severity=Severity.CRITICAL, influence=Influence(clout=0.0, klout=100.0)),
    ]
    for case in cases:
        plan = plan_attendance(case=case, settings=SETTINGS)
        fields = customer_metafields(
            case=case, decision=plan.decision, influence=plan.influence_snapshot
        )
        for key, (kind, value) in fields.items():
            # every metafield Clout writes has a definition of the type it is written in
            assert key in definitions, key
            assert kind == definitions[key].type, key
            rules = dict(definitions[key].validations)
            if "choices" in rules:
                assert value in json.loads(rules["choices"]), (key, value)
            if "min" in rules:
                assert int(rules["min"]) <= int(value) <= int(rules["max"]), (key, value)
    # and every value a choice could take is allowed: priorities, severities, bands
    assert json.loads(dict(definitions["influence_band"].validations)["choices"]) == [
        b.value for b in InfluenceBand
    ]
    assert "resolved_at" in definitions  # written at resolution (push_clearance)
    assert len(DEFINITIONS) < 25  # read back in one page (documents.METAFIELD_DEFINITIONS)


# --- against the emulator, over HTTP -------------------------------------------------------------


def test_connecting_twice_makes_everything_once(devstore: RunningDevStore) -> None:
    client = client_for(devstore)

    # when the workspace is tended twice (a reconnect, `shops check --fix`)
    first, first_lines = tend_workspace(
        client=client, attention_tag="clout-attention", resolved_tag="clout-resolved", fix=True
    )
    second, second_lines = tend_workspace(
        client=client, attention_tag="clout-attention", resolved_tag="clout-resolved", fix=True
    )

    # then the store has each view, definition and segment once, and the second run made none
    store = devstore.store
    assert first.in_order, first_lines
    assert second.in_order, second_lines
    assert sorted(s["name"] for s in store.saved_searches) == sorted(
        v.name for v in order_views(attention_tag="a", resolved_tag="b")
    )
    assert len(store.metafield_definitions) == len(DEFINITIONS)
    assert len(store.segments) == 2
    assert not any(line.strip().startswith("made") for line in second_lines)
    # the ones an agent reads first are pinned, none is readable outside the admin
    pinned = {d["key"] for d in store.metafield_definitions if d["pinnedPosition"] is not None}
    assert pinned == {"attention_priority", "attention_deadline", "attention_reasons"} | {
        "clout_score",
        "klout_score",
    }
    assert all(d["access"]["storefront"] == "NONE" for d in store.metafield_definitions)


def test_the_views_show_the_orders_clout_tagged_and_follow_a_rename(
    devstore: RunningDevStore,
) -> None:
    # given orders of open, urgent, overdue and resolved cases, and one of nobody's
    store = devstore.store
    someone = store.add_person("someone@example.com")
    open_case = store.add_purchase(someone, tags=["clout-attention", "clout-priority-normal"])
    urgent = store.add_purchase(
        someone, tags=["clout-attention", URGENT_TAG, OVERDUE_TAG, HIDDEN_INFLUENCER_TAG]
    )
    resolved = store.add_purchase(someone, tags=["clout-attention", "clout-resolved", URGENT_TAG])
    store.add_purchase(someone, tags=["vip"])
    client = client_for(devstore)
    tend_workspace(
        client=client, attention_tag="clout-attention", resolved_tag="clout-resolved", fix=True
    )

    # when the merchant opens each saved view
    shown = {s["name"]: orders_in_view(store, s["query"]) for s in store.saved_searches}

    # then each shows the open cases it names, never a resolved one
    assert shown["Clout · needs attention"] == {open_case.name, urgent.name}
    assert shown["Clout · urgent"] == {urgent.name}
    assert shown["Clout · overdue"] == {urgent.name}
    assert shown["Clout · hidden influencers"] == {urgent.name}
    assert resolved.name not in set().union(*shown.values())

    # when the shop renames its attention tag and the workspace is tended again
    store.add_purchase(someone, tags=["needs-reply"])
    plan, lines = tend_workspace(
        client=client, attention_tag="needs-reply", resolved_tag="clout-resolved", fix=True
    )

    # then the same views were rewritten, not duplicated, and follow the new name
    assert plan.in_order, lines
    assert len(store.saved_searches) == 4
    assert any("rewrote  order view “Clout · needs attention”" in line for line in lines)
    needs = next(s for s in store.saved_searches if s["name"] == "Clout · needs attention")
    assert len(orders_in_view(store, needs["query"])) == 1
    segment = next(s for s in store.segments if s["name"] == "Unhappy customers (Clout)")
    assert segment["query"] == "customer_tags CONTAINS 'needs-reply'"


def test_what_attendance_writes_lands_under_the_definitions(devstore: RunningDevStore) -> None:
    # given Clout's definitions in the store, which then enforces them on every write
    client = client_for(devstore)
    tend_workspace(
        client=client, attention_tag="clout-attention", resolved_tag="clout-resolved", fix=True
    )
    customer = devstore.store.add_person("maya@example.com", "Maya", "Lee")
    case = a_case(customer_gid=customer.gid)
    plan = plan_attendance(case=case, settings=SETTINGS)
    assert plan.metafields is not None

    # when attendance writes its metafields on the customer
    client.set_metafields(customer.gid, plan.metafields[1])

    # then Shopify took every one, in its defined type
    types = {d["key"]: d["type"] for d in devstore.store.metafield_definitions}
    written = {key: field for (_, key), field in customer.metafields.items()}
    assert set(written) == set(plan.metafields[1])
    assert all(field.type == types[key] for key, field in written.items())
    assert written["attention_reasons"].value == "Where is my order??\nI want my money back."


def test_mending_reports_what_shopify_refused_and_goes_on(devstore: RunningDevStore) -> None:
    # given a merchant's own definition under one of Clout's keys, of another type
    client = client_for(devstore)
    client.create_metafield_definition(
        {
            "namespace": METAFIELD_NAMESPACE,
            "key": "klout_score",
            "ownerType": "CUSTOMER",
            "type": "single_line_text_field",
            "name": "Klout (ours)",
        }
    )

    # when the workspace is mended
    plan, lines = tend_workspace(
        client=client, attention_tag="clout-attention", resolved_tag="clout-resolved", fix=True
    )

    # then everything else is made, and the conflict is left to a person, in words
    assert not plan.in_order
    assert len(plan.conflicts) == 1
    assert "clout.klout_score is defined as single_line_text_field" in plan.conflicts[0]
    assert len(devstore.store.segments) == 2
    assert len(devstore.store.saved_searches) == 4
    assert any(line.startswith("  conflict") for line in lines)


def test_removing_takes_clouts_views_and_segments_and_leaves_the_merchants(
    devstore: RunningDevStore,
) -> None:
    client = client_for(devstore)
    tend_workspace(
        client=client, attention_tag="clout-attention", resolved_tag="clout-resolved", fix=True
    )
    client.create_order_view("Unfulfilled, paid", "tag:'paid'")

    removed = remove_workspace(client=client)

    assert len(removed) == 6
    assert [s["name"] for s in devstore.store.saved_searches] == ["Unfulfilled, paid"]
    assert devstore.store.segments == []
    assert len(devstore.store.metafield_definitions) == len(DEFINITIONS)  # the merchant's data


def test_push_makes_definitions_before_segments(devstore: RunningDevStore) -> None:
    client = client_for(devstore)
    wanted = wanted_workspace(attention_tag="clout-attention", resolved_tag="clout-resolved")

    pushed = push_workspace(client=client, plan=plan_workspace(wanted=wanted, found=Found()))

    assert pushed.refused == []
    assert len(devstore.store.segments) == 2
