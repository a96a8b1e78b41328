"""Shopify's Admin GraphQL schema exactly as Shopify publishes it: the oracle.

The introspection result of each Admin API version ships inside Shopify's npm package
`@shopify/dev-mcp` (`package/dist/data/admin_<version>.json.gz`). Clout vendors the file of the
version it targets under `schema/`, with the package version, sha256 and licence beside it in
`schema/SOURCE.json`; `python -m service.shopify.refresh_schema VERSION` fetches another version.

Production code never loads it. The local emulator (`clout devstore`) executes against it, so a
document Shopify would refuse is refused there too, and the contract tests validate every
document Clout sends with it, price it by Shopify's cost rules and check the access scopes it
needs.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLCompositeType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    build_client_schema,
    get_named_type,
    specified_rules,
    validate,
    validate_schema,
    value_from_ast_untyped,
)
from graphql.language import IntValueNode
from graphql.utilities import get_operation_ast

SCHEMA_DIR = Path(__file__).parent / "schema"

# Shopify refuses a single query whose requested cost is above this (docs: "API rate limits").
MAX_QUERY_COST = 1000
# A bulk operation's query: "at least one connection field and … up to five connections with a
# maximum nesting depth of two levels" (bulkOperationRunQuery, 2026-07), one top-level field.
BULK_MAX_CONNECTIONS = 5
BULK_MAX_DEPTH = 2
MUTATION_COST = 10
_OWNER_WEIGHTS = {
    "Order": 10,
    "Product": 4,
    "ProductVariant": 2,
    "Collection": 1,
    "Customer": 1,
    "Shop": 1,
}

# Shopify answers a refused document with a code per kind of problem; graphql-core names the
# rule that found it. (Codes as Shopify's GraphQL Admin API returns them.)
_SHOPIFY_CODES = {
    "FieldsOnCorrectTypeRule": "undefinedField",
    "KnownArgumentNamesRule": "argumentNotAccepted",
    "ValuesOfCorrectTypeRule": "argumentLiteralsIncompatible",
    "ProvidedRequiredArgumentsRule": "missingRequiredArguments",
    "VariablesInAllowedPositionRule": "variableMismatch",
    "KnownTypeNamesRule": "undefinedType",
    "NoUnusedVariablesRule": "variableNotUsed",
    "NoUndefinedVariablesRule": "variableNotDefined",
    "ScalarLeafsRule": "selectionMismatch",
    "VariablesAreInputTypesRule": "variableRequiresValidType",
    "KnownFragmentNamesRule": "undefinedFragment",
    "NoUnusedFragmentsRule": "useAndDefineFragment",
}


class SchemaNotVendored(LookupError):
    """No schema for this Admin API version is vendored (see `refresh_schema`)."""


def schema_file(version: str) -> Path:
    return SCHEMA_DIR / f"admin_{version}.json.gz"


def vendored_versions() -> list[str]:
    return sorted(
        p.name.removeprefix("admin_").removesuffix(".json.gz")
        for p in SCHEMA_DIR.glob("admin_*.json.gz")
    )


def source_record() -> dict[str, Any]:
    """What `schema/SOURCE.json` says about each vendored file (package, version, sha256)."""
    record: dict[str, Any] = json.loads((SCHEMA_DIR / "SOURCE.json").read_text())
    return record


@functools.cache
def _introspection(version: str) -> dict[str, Any]:
    path = schema_file(version)
    if not path.exists():
        raise SchemaNotVendored(
            f"no Admin API schema for {version} under {SCHEMA_DIR}"
            f" (vendored: {', '.join(vendored_versions()) or 'none'})"
        )
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        loaded: dict[str, Any] = json.load(stream)
    return loaded


@functools.cache
def admin_schema(version: str) -> GraphQLSchema:
    """The executable schema of one Admin API version (built once a process, ~0.5 s)."""
    schema = build_client_schema(cast("Any", _introspection(version)["data"]))
    # graphql-core holds schemas to a rule Shopify's own does not keep: an implementation's field
    # may not be deprecated while its interface's is not (Node.id on a few types). Shopify serves
    # that schema, so it is accepted as published; any other fault still stops here.
    faults = [
        e for e in validate_schema(schema) if not e.message.endswith("must not be deprecated.")
    ]
    if faults:
        raise TypeError("\n".join(e.message for e in faults))
    schema._validation_errors = []
    return schema


@functools.cache
def required_scopes(version: str) -> Mapping[tuple[str, str | None], tuple[str, ...]]:
    """Access scopes Shopify lists per type (`(type, None)`) and per field: any one grants it."""
    items = _introspection(version).get("offline_scopes", {}).get("items", [])
    found: dict[tuple[str, str | None], tuple[str, ...]] = {}
    for item in items:
        scopes = tuple(item.get("offlineScopes") or ())
        if scopes:
            found[(item["typeName"], item.get("fieldName"))] = scopes
    return found


def shopify_errors(schema: GraphQLSchema, document: DocumentNode) -> list[dict[str, Any]]:
    """The document's problems as Shopify reports them (message, locations, extensions.code);
    empty when Shopify would accept it."""
    problems = validate(schema, document)
    if not problems:
        return []
    errors: list[dict[str, Any]] = []
    for rule in specified_rules:
        for problem in validate(schema, document, [rule]):
            formatted = dict(problem.formatted)
            formatted["extensions"] = {"code": _SHOPIFY_CODES.get(rule.__name__, "validation")}
            errors.append(formatted)
    return errors or [dict(p.formatted) for p in problems]


def bulk_query_problems(schema: GraphQLSchema, document: DocumentNode) -> list[str]:
    """What Shopify's bulk rules refuse in a bulk operation's query (the schema's own checks,
    `shopify_errors`, come first): one top-level field, at least one connection, at most five,
    nested at most two deep. Empty when Shopify would run it."""
    operation = get_operation_ast(document)
    if operation is None or schema.query_type is None:
        return ["a bulk query is one query operation"]
    if operation.operation != OperationType.QUERY:
        return ["a bulk query is a query, not a mutation"]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    top = [
        s
        for s in selected_fields(schema, schema.query_type, operation.selection_set, fragments)
        if not s[1].name.value.startswith("__")
    ]
    problems = []
    if len(top) != 1:
        problems.append("a bulk query selects exactly one top-level field")
    depths = list(_connection_depths(schema, schema.query_type, operation.selection_set, fragments))
    if not depths:
        problems.append("a bulk query must include at least one connection")
    if len(depths) > BULK_MAX_CONNECTIONS:
        problems.append(f"a bulk query may have at most {BULK_MAX_CONNECTIONS} connections")
    if depths and max(depths) > BULK_MAX_DEPTH:
        problems.append(f"a bulk query may nest connections at most {BULK_MAX_DEPTH} levels deep")
    return problems


def selected_fields(
    schema: GraphQLSchema,
    parent: GraphQLCompositeType,
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> list[tuple[GraphQLCompositeType, FieldNode]]:
    """The fields a selection set selects, through its fragments, each with its parent type."""
    found: list[tuple[GraphQLCompositeType, FieldNode]] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found.append((parent, selection))
            continue
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else None
            inner = selection.selection_set
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None:
                continue
            condition, inner = fragment.type_condition.name.value, fragment.selection_set
        else:
            continue
        target = composite_type(schema.get_type(condition)) if condition else parent
        if target is not None:
            found += selected_fields(schema, target, inner, fragments)
    return found


def _connection_depths(
    schema: GraphQLSchema,
    parent: GraphQLCompositeType,
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    depth: int = 0,
) -> list[int]:
    """The nesting depth of every connection selected (a top-level one is 1)."""
    depths: list[int] = []
    for owner, node in selected_fields(schema, parent, selection_set, fragments):
        if isinstance(owner, GraphQLUnionType) or node.selection_set is None:
            continue
        definition = owner.fields.get(node.name.value)
        named = composite_type(get_named_type(definition.type)) if definition else None
        if named is None:
            continue
        if isinstance(named, GraphQLObjectType) and is_connection(named):
            depths.append(depth + 1)
            for item, inner in node_selections(named, node):
                depths += _connection_depths(schema, item, inner, fragments, depth + 1)
        else:
            depths += _connection_depths(schema, named, node.selection_set, fragments, depth)
    return depths


def requested_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> int:
    """The cost Shopify requests from the bucket before running a document, by its published
    rules: scalars and enums 0, an object 1, a connection 2 + its page size × each node, a list
    of objects sized by its `first`, each mutation 10."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        raise ValueError("the document has no (single) operation to price")
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    pricing = _Pricing(schema, operation, dict(variables or {}), fragments)
    if operation.operation == OperationType.MUTATION:
        return sum(
            MUTATION_COST + pricing.owners_weight(s)
            for s in operation.selection_set.selections
            if isinstance(s, FieldNode) and not s.name.value.startswith("__")
        )
    if schema.query_type is None:
        raise ValueError("the schema has no query root")
    return max(1, pricing.selection(schema.query_type, operation.selection_set))


class _Pricing:
    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
        fragments: dict[str, FragmentDefinitionNode],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in variables and definition.default_value is not None:
                self.variables[name] = value_from_ast_untyped(definition.default_value)

    def owners_weight(self, mutation: FieldNode) -> int:
        """`metafieldsSet` costs 10 plus a weight per distinct owner it writes to (Shopify
        changelog, "Dynamic complexity cost for metafieldsSet")."""
        if mutation.name.value != "metafieldsSet":
            return 0
        inputs: Any = None
        for argument in mutation.arguments or ():
            if argument.name.value == "metafields":
                inputs = self._value(argument.value)
        owners = {
            str(item.get("ownerId"))
            for item in inputs or ()
            if isinstance(item, dict) and item.get("ownerId")
        }
        return sum(
            _OWNER_WEIGHTS.get(owner.removeprefix("gid://shopify/").split("/")[0], 0)
            for owner in owners
        )

    def selection(self, parent: GraphQLCompositeType, selection_set: SelectionSetNode) -> int:
        on_parent = 0
        per_type: dict[str, int] = {}  # fragments on a concrete type of an interface or union
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                on_parent += self.field(parent, selection)
            else:
                condition, inner = self._fragment(selection)
                target = self.schema.get_type(condition) if condition else parent
                if not isinstance(
                    target, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
                ):
                    continue
                cost = self.selection(target, inner)
                if target is parent:
                    on_parent += cost
                else:
                    per_type[target.name] = per_type.get(target.name, 0) + cost
        return on_parent + max(per_type.values(), default=0)

    def _fragment(
        self, selection: InlineFragmentNode | FragmentSpreadNode | Any
    ) -> tuple[str | None, SelectionSetNode]:
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else None
            return condition, selection.selection_set
        fragment = self.fragments[selection.name.value]
        return fragment.type_condition.name.value, fragment.selection_set

    def field(self, parent: GraphQLCompositeType, node: FieldNode) -> int:
        name = node.name.value
        if name.startswith("__") or isinstance(parent, GraphQLUnionType):
            return 0
        definition = parent.fields.get(name)
        if definition is None or node.selection_set is None:
            return 0  # unknown (validation says so) or a leaf: scalars and enums are free
        named = composite_type(get_named_type(definition.type))
        if named is None:
            return 0
        if isinstance(named, GraphQLObjectType) and is_connection(named):
            size = self._size(node)
            per_node = 1 + sum(
                self.selection(node_type, inner)
                for node_type, inner in node_selections(named, node)
            )
            return 2 + size * per_node
        inner_cost = 1 + self.selection(named, node.selection_set)
        if _is_list(definition.type):
            return max(1, self._size(node, default=1)) * inner_cost
        return inner_cost

    def _size(self, node: FieldNode, *, default: int = 0) -> int:
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                value = self._value(argument.value)
                if isinstance(value, int):
                    return value
        return default

    def _value(self, value: ValueNode) -> Any:
        if isinstance(value, VariableNode):
            return self.variables.get(value.name.value)
        if isinstance(value, IntValueNode):
            return int(value.value)
        return value_from_ast_untyped(value)


def is_connection(named: Any) -> bool:
    return (
        isinstance(named, GraphQLObjectType)
        and named.name.endswith("Connection")
        and "pageInfo" in named.fields
        and ("nodes" in named.fields or "edges" in named.fields)
    )


def _is_list(kind: GraphQLOutputType) -> bool:
    while isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)


def composite_type(kind: object) -> GraphQLCompositeType | None:
    return (
        kind
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)
        else None
    )


def node_selections(
    connection: GraphQLObjectType, node: FieldNode
) -> list[tuple[GraphQLCompositeType, SelectionSetNode]]:
    """What is selected on each node of a connection, through `nodes` or `edges { node }`."""
    found: list[tuple[GraphQLCompositeType, SelectionSetNode]] = []
    for selection in node.selection_set.selections if node.selection_set else ():
        if not isinstance(selection, FieldNode) or selection.selection_set is None:
            continue
        if selection.name.value == "nodes" and "nodes" in connection.fields:
            item = composite_type(get_named_type(connection.fields["nodes"].type))
            if item is not None:
                found.append((item, selection.selection_set))
        elif selection.name.value == "edges" and "edges" in connection.fields:
            edge = get_named_type(connection.fields["edges"].type)
            if not isinstance(edge, GraphQLObjectType):
                continue
            for inner in selection.selection_set.selections:
                if (
                    isinstance(inner, FieldNode)
                    and inner.name.value == "node"
                    and inner.selection_set
                ):
                    item = composite_type(get_named_type(edge.fields["node"].type))
                    if item is not None:
                        found.append((item, inner.selection_set))
    return found
