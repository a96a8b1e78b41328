"""Clout against Shopify's real Admin API schema (vendored from Shopify's own npm package), not
against the emulator Clout wrote: every document it sends, the topics it subscribes, the scopes it
asks for and the Flow trigger it fires."""

from __future__ import annotations

import ast
import hashlib
import os
import tomllib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    parse,
    validate,
    visit,
)
from graphql.validation import NoDeprecatedCustomRule

from service.core.config import DEFAULT_API_VERSION
from service.deliveries.topics import TOPIC_HANDLERS
from service.shopify import documents, oauth
from service.shopify.admin_schema import (
    MAX_QUERY_COST,
    SCHEMA_DIR,
    admin_schema,
    bulk_query_problems,
    requested_cost,
    required_scopes,
    schema_file,
    source_record,
)
from service.shopify.documents import AdminDocument, BulkQuery
from service.shopify.scopes import APP_SCOPES
from service.shopify.subscriptions import topic_enum
from tests.support.helpers import sample_file

ROOT = Path(__file__).resolve().parents[3]
# The version under test: the one Clout targets, or the next one while moving to it (README).
VERSION = os.environ.get("SHOPIFY_API_VERSION") or DEFAULT_API_VERSION
PRODUCTION = [ROOT / "service", ROOT / "webhooks", ROOT / "workers"]
NOT_PRODUCTION = {ROOT / "service" / "devstore", ROOT / "service" / "migrations"}
APP_TOML = tomllib.loads((ROOT / "shopify.app.toml").read_text())
COMPLIANCE_TOPICS = {"customers/data_request", "customers/redact", "shop/redact"}

# A deprecated field may stay only with a reason and a date by which it goes.
DEPRECATED_ALLOWED: dict[str, tuple[str, date]] = {}

# Shopify's schema lists the access scope of each type it guards; mutations name theirs only in
# the reference docs: tagsAdd/tagsRemove need write access to the resource tagged (Clout tags
# orders and customers), metafieldsSet and metafieldsDelete to the owner (customers),
# flowTriggerReceive none, and
# an app manages its own webhook subscriptions with no scope of its own.
MUTATION_SCOPES: dict[str, set[str]] = {
    "tagsAdd": {"write_orders", "write_customers"},
    "tagsRemove": {"write_orders", "write_customers"},
    "metafieldsSet": {"write_customers"},
    "metafieldsDelete": {"write_customers"},
    "flowTriggerReceive": set(),
    "webhookSubscriptionCreate": set(),
    "webhookSubscriptionDelete": set(),
    # What a bulk query reads is checked like any query (below); starting one needs no scope.
    "bulkOperationRunQuery": set(),
    # Saved views: the reference names no scope; Clout's are views of orders, which it may
    # write, so it asks no more than write_orders of them.
    "savedSearchCreate": {"write_orders"},
    "savedSearchUpdate": {"write_orders"},
    "savedSearchDelete": {"write_orders"},
    # "access to the namespace and the resource type" of the definition: customers.
    "metafieldDefinitionCreate": {"write_customers"},
    "metafieldDefinitionUpdate": {"write_customers"},
    # Segments are customers' (the schema's own scope list names write_customers).
    "segmentCreate": {"write_customers"},
    "segmentUpdate": {"write_customers"},
    "segmentDelete": {"write_customers"},
}

# What each subscribed topic needs, from Shopify's webhook metadata (access_scopes, 2026-04).
TOPIC_SCOPES = {
    "orders/create": "read_orders",
    "orders/updated": "read_orders",
    "orders/cancelled": "read_orders",
    "refunds/create": "read_orders",
    "customers/create": "read_customers",
    "customers/update": "read_customers",
    "customer.tags_added": "read_customers",
    "customer.tags_removed": "read_customers",
    "disputes/create": "read_shopify_payments_disputes",
    "disputes/update": "read_shopify_payments_disputes",
    "returns/request": "read_returns",
    "fulfillment_events/create": "read_fulfillments",
    "app/uninstalled": None,
    "bulk_operations/finish": None,
}


def production_documents() -> dict[str, AdminDocument]:
    return {n: d for n, d in vars(documents).items() if isinstance(d, AdminDocument)}


# A bulk query is sent as text (bulkOperationRunQuery's `query`), each rendering of it a query
# Shopify must accept: checked like any document, and against Shopify's bulk rules.
RENDERINGS = {"all orders": {}, "orders since": {"orders_since": datetime(2026, 5, 1, tzinfo=UTC)}}


def bulk_queries() -> dict[str, str]:
    return {
        f"{name} ({how})": query.render(**fill)
        for name, query in vars(documents).items()
        if isinstance(query, BulkQuery)
        for how, fill in RENDERINGS.items()
    }


def every_query_text() -> dict[str, str]:
    return {**{n: d.text for n, d in production_documents().items()}, **bulk_queries()}


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return admin_schema(VERSION)


def granted_scopes() -> set[str]:
    asked = {s.strip() for s in APP_TOML["access_scopes"]["scopes"].split(",") if s.strip()}
    # A write scope includes its read scope (Shopify's access-scopes reference).
    return asked | {s.replace("write_", "read_", 1) for s in asked if s.startswith("write_")}


def test_the_vendored_schema_is_the_file_shopify_published() -> None:
    record = source_record()
    entry = record["files"][schema_file(VERSION).name]

    digest = hashlib.sha256(schema_file(VERSION).read_bytes()).hexdigest()

    assert digest == entry["sha256"]
    assert record["package"] == "@shopify/dev-mcp"
    assert entry["path_in_package"] == f"package/dist/data/admin_{VERSION}.json.gz"
    assert "ISC" in record["licence"]
    assert (SCHEMA_DIR / "LICENSE.dev-mcp").read_text().startswith("ISC License")


@pytest.mark.parametrize("name", sorted(every_query_text()))
def test_shopify_accepts_every_document_clout_sends(name: str, schema: GraphQLSchema) -> None:
    document = parse(every_query_text()[name])

    problems = validate(schema, document)

    assert [p.message for p in problems] == []


@pytest.mark.parametrize("name", sorted(bulk_queries()))
def test_every_bulk_query_keeps_to_shopifys_bulk_rules(name: str, schema: GraphQLSchema) -> None:
    document = parse(bulk_queries()[name])

    problems = bulk_query_problems(schema, document)

    assert problems == []
    # Shopify pages a bulk query itself: a page size would only cut the file short.
    sized = [
        f"{node.name.value}({argument.name.value})"
        for node in _field_nodes(document)
        for argument in node.arguments or ()
        if argument.name.value in ("first", "last")
    ]
    assert sized == []


def _field_nodes(document: DocumentNode) -> list[FieldNode]:
    found: list[FieldNode] = []

    class Fields(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            found.append(node)

    visit(document, Fields())
    return found


@pytest.mark.parametrize("name", sorted(every_query_text()))
def test_no_document_reads_a_deprecated_field_without_a_dated_exception(
    name: str, schema: GraphQLSchema
) -> None:
    document = parse(every_query_text()[name])

    found = [p.message for p in validate(schema, document, [NoDeprecatedCustomRule])]

    unexcused = [m for m in found if not any(k in m for k in DEPRECATED_ALLOWED)]
    assert unexcused == []
    today = datetime.now(UTC).date()
    for key, (reason, removal) in DEPRECATED_ALLOWED.items():
        assert reason, f"{key}: say why it may stay"
        assert today < removal, f"{key}: its exception ran out on {removal}"


@pytest.mark.parametrize("name", sorted(production_documents()))
def test_each_documents_cost_is_what_shopify_requests_and_under_the_single_query_limit(
    name: str, schema: GraphQLSchema
) -> None:
    document = production_documents()[name]

    cost = requested_cost(schema, parse(document.text), document.priced_with)

    assert cost == document.cost
    assert cost <= MAX_QUERY_COST


def _production_files() -> Iterator[Path]:
    for folder in PRODUCTION:
        for path in folder.rglob("*.py"):
            if not any(path.is_relative_to(excluded) for excluded in NOT_PRODUCTION):
                yield path


def _looks_like_graphql(text: str) -> bool:
    head = text.lstrip()
    return head.startswith(("query ", "mutation ", "query{", "mutation{")) and "{" in head


def test_every_document_lives_in_the_documents_module() -> None:
    """A GraphQL string built anywhere else would escape every check in this file."""
    strays = []
    for path in _production_files():
        if path == ROOT / "service" / "shopify" / "documents.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and _looks_like_graphql(text):
                strays.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "AdminDocument"
            ):
                strays.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert strays == []


def _fields_read(schema: GraphQLSchema, document: DocumentNode) -> set[tuple[str, str]]:
    """Every (type, field) a document touches, its return types included."""
    seen: set[tuple[str, str]] = set()
    info = TypeInfo(schema)

    class Reader(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            parent, field = info.get_parent_type(), info.get_field_def()
            if parent is not None and field is not None:
                seen.add((parent.name, node.name.value))
                seen.add((get_named_type(field.type).name, ""))

    visit(document, TypeInfoVisitor(info, Reader()))
    return seen


def test_the_apps_scopes_cover_everything_the_documents_read_and_write(
    schema: GraphQLSchema,
) -> None:
    granted = granted_scopes()
    scopes = required_scopes(VERSION)
    missing: list[str] = []
    for name, text in every_query_text().items():
        for type_name, field_name in _fields_read(schema, parse(text)):
            if type_name == "Mutation":
                needed = MUTATION_SCOPES.get(field_name)
                if needed is None:
                    missing.append(f"{name}: say which scopes mutation {field_name} needs")
                elif not needed <= granted:
                    missing.append(f"{name}: {field_name} needs {sorted(needed - granted)}")
                continue
            any_of = scopes.get((type_name, field_name or None))
            if any_of and not set(any_of) & granted:
                missing.append(f"{name}: {type_name}.{field_name} needs one of {any_of}")

    assert missing == []


def shopify_topics_handled() -> set[str]:
    return {t for t in TOPIC_HANDLERS if not t.startswith("reviews/")}


def subscribed_topics() -> tuple[set[str], set[str]]:
    topics: set[str] = set()
    compliance: set[str] = set()
    for subscription in APP_TOML["webhooks"]["subscriptions"]:
        topics |= set(subscription.get("topics", []))
        compliance |= set(subscription.get("compliance_topics", []))
    return topics, compliance


def test_oauth_asks_for_the_scopes_the_app_declares() -> None:
    declared = {s.strip() for s in APP_TOML["access_scopes"]["scopes"].split(",")}

    assert declared == set(APP_SCOPES)
    assert set(oauth.SCOPES.split(",")) == set(APP_SCOPES)


def test_every_handled_topic_is_subscribed_and_nothing_else() -> None:
    topics, compliance = subscribed_topics()

    assert compliance == COMPLIANCE_TOPICS
    assert topics | compliance == shopify_topics_handled()


def test_every_subscribed_topic_is_a_topic_shopify_offers(schema: GraphQLSchema) -> None:
    offered = set(schema.get_type("WebhookSubscriptionTopic").values)  # type: ignore[union-attr]
    topics, _ = subscribed_topics()

    unknown = {t for t in topics if topic_enum(t) not in offered}

    assert unknown == set()


def test_the_app_asks_for_the_scope_of_every_topic_it_subscribes() -> None:
    topics, _ = subscribed_topics()
    granted = granted_scopes()

    assert set(TOPIC_SCOPES) == topics
    assert {t: s for t, s in TOPIC_SCOPES.items() if s and s not in granted} == {}


def test_every_handled_topic_has_shopifys_own_sample_as_a_fixture() -> None:
    fixtures = ROOT / "tests" / "fixtures" / "shopify"
    sources = (fixtures / "SOURCES.md").read_text()

    for topic in shopify_topics_handled():
        name = sample_file(topic)
        assert (fixtures / name).exists(), f"no Shopify sample for {topic}"
        assert f"`{name}`" in sources, f"{name}: say where it came from in SOURCES.md"
