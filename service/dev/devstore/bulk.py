"""Bulk query operations, as Shopify runs them: `bulkOperationRunQuery` starts one in the
background (refused with Shopify's userError while the app already runs as many as the API
version allows), `node(id:)`, `bulkOperation(id:)` and `currentBulkOperation` say where it
stands (CREATED → RUNNING → COMPLETED, or FAILED), and the result is a JSONL file downloaded
from a signed URL, without the access token, as Shopify serves it from its storage.

The query runs on Shopify's schema like every other document, with every connection read whole,
and is written out as Shopify writes it: one line per object, the nodes of a nested connection
on lines of their own with `__parentId` (the `id` of the node they belong to) last. With
`groupObjects: true` a node's children follow it; without (the default since API 2026-01)
Shopify promises no order, and the emulator writes each node's children *before* it: the order
least kind to a reader that assumes parents come first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLCompositeType,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    SelectionSetNode,
    get_named_type,
    parse,
)
from graphql.utilities import get_operation_ast

from service.dev.devstore.store import BulkRun, DevStore, iso, now
from service.shopify.admin_schema import (
    bulk_query_problems,
    composite_type,
    is_connection,
    node_selections,
    selected_fields,
    shopify_errors,
)

URL_LIFETIME = 7 * 24 * 3600  # "The URL expires 7 days after the operation completes."


def run_query(
    store: DevStore,
    schema: GraphQLSchema,
    query: str,
    *,
    group_objects: bool,
    execute: Callable[[DocumentNode], ExecutionResult],
) -> dict[str, Any]:
    """`bulkOperationRunQuery`: a BulkOperation in CREATED, or Shopify's userErrors."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return _refused(f"Invalid bulk query: {error.message}", "INVALID")
    problems = [str(p.get("message")) for p in shopify_errors(schema, document)]
    problems += bulk_query_problems(schema, document)
    if problems:
        return _refused("Invalid bulk query: " + "; ".join(problems), "INVALID")
    with store.lock:
        running = [r for r in store.bulk_runs.values() if not r.finished]
        if len(running) >= store.bulk_query_limit:
            if store.bulk_query_limit == 1:  # API versions before 2026-01
                return _refused(
                    "A bulk query operation for this app and shop is already in progress: "
                    f"{running[0].gid}.",
                    "OPERATION_IN_PROGRESS",
                )
            return _refused(
                "Bulk operations limit reached. Please try again later.", "LIMIT_REACHED"
            )
        run = BulkRun(id=store.next_id(), query=query, created_at=now())
        store.bulk_runs[run.id] = run
        created = _view(store, run)
    threading.Thread(
        target=_work,
        args=(store, schema, run, document),
        kwargs={"group_objects": group_objects, "execute": execute},
        name=f"devstore-bulk-{run.id}",
        daemon=True,
    ).start()
    return {"bulkOperation": created, "userErrors": []}


def _refused(message: str, code: str) -> dict[str, Any]:
    return {
        "bulkOperation": None,
        "userErrors": [
            {"field": ["query"] if code == "INVALID" else None, "message": message, "code": code}
        ],
    }


def _work(
    store: DevStore,
    schema: GraphQLSchema,
    run: BulkRun,
    document: DocumentNode,
    *,
    group_objects: bool,
    execute: Callable[[DocumentNode], ExecutionResult],
) -> None:
    with store.lock:
        run.status = "RUNNING"
    if store.bulk_seconds:
        time.sleep(store.bulk_seconds)
    result = execute(document)
    lines: list[bytes] = []
    roots = 0
    error_code = store.bulk_fail_with
    if result.errors or result.data is None:
        # What the emulator could not run (a field it does not emulate) fails the operation,
        # never a file with made-up or missing objects.
        error_code = "INTERNAL_SERVER_ERROR"
        store.bulk_errors = [e.message for e in result.errors or ()]
    else:
        for depth, line in jsonl_objects(schema, document, result.data, grouped=group_objects):
            lines.append(json.dumps(line, separators=(",", ":")).encode() + b"\n")
            roots += depth == 0
    with store.lock:
        run.object_count = len(lines)
        run.root_object_count = roots
        run.completed_at = now()
        if error_code:
            run.status, run.error_code = "FAILED", error_code
        else:
            run.status, run.result = "COMPLETED", b"".join(lines)
    store.emit("bulk_operations/finish", finish_payload(run))


def finish_payload(run: BulkRun) -> dict[str, Any]:
    """`bulk_operations/finish` as Shopify sends it (its sample: tests/fixtures/shopify)."""
    return {
        "admin_graphql_api_id": run.gid,
        "completed_at": iso(run.completed_at),
        "created_at": iso(run.created_at),
        "error_code": run.error_code.lower() if run.error_code else None,
        "status": run.status.lower(),
        "type": "query",
    }


def jsonl_objects(
    schema: GraphQLSchema, document: DocumentNode, data: dict[str, Any], *, grouped: bool
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The result's objects as Shopify writes them, each with its depth (0: a root object)."""
    operation = get_operation_ast(document)
    assert operation is not None and schema.query_type is not None
    writer = _Writer(schema, document, grouped=grouped)
    for parent, field in selected_fields(
        schema, schema.query_type, operation.selection_set, writer.fragments
    ):
        if not field.name.value.startswith("__"):
            yield from writer.connection(parent, field, data, parent_id=None, depth=0)


class _Writer:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, *, grouped: bool) -> None:
        self.schema = schema
        self.grouped = grouped
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def connection(
        self,
        parent: GraphQLCompositeType,
        field: FieldNode,
        value: dict[str, Any],
        *,
        parent_id: str | None,
        depth: int,
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        assert isinstance(parent, GraphQLObjectType)
        named = get_named_type(parent.fields[field.name.value].type)
        key = field.alias.value if field.alias else field.name.value
        if not (isinstance(named, GraphQLObjectType) and is_connection(named)):
            raise GraphQLError(
                f"{key} is not a connection: not emulated at the top of a bulk query"
            )
        connection = value.get(key) or {}
        nodes = (
            connection["nodes"]
            if "nodes" in connection
            else [edge["node"] for edge in connection.get("edges") or []]
        )
        for item_type, selection in node_selections(named, field):
            for node in nodes:
                yield from self.node(item_type, selection, node, parent_id=parent_id, depth=depth)

    def node(
        self,
        kind: GraphQLCompositeType,
        selection_set: SelectionSetNode,
        value: dict[str, Any],
        *,
        parent_id: str | None,
        depth: int,
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        line: dict[str, Any] = {}
        nested: list[tuple[GraphQLCompositeType, FieldNode]] = []
        for owner, field in selected_fields(self.schema, kind, selection_set, self.fragments):
            key = field.alias.value if field.alias else field.name.value
            definition = getattr(owner, "fields", {}).get(field.name.value)
            named = composite_type(get_named_type(definition.type)) if definition else None
            if isinstance(named, GraphQLObjectType) and is_connection(named):
                nested.append((owner, field))
            elif key in value:
                line[key] = value[key]
        if parent_id is not None:
            line["__parentId"] = parent_id
        children: list[tuple[int, dict[str, Any]]] = []
        if nested:
            own_id = value.get("id")
            if not isinstance(own_id, str):
                raise GraphQLError("a node with a nested connection must select its id")
            for owner, field in nested:
                children += self.connection(owner, field, value, parent_id=own_id, depth=depth + 1)
        if self.grouped:
            yield depth, line
            yield from children
        else:
            yield from children
            yield depth, line


# --- what the status queries answer ---------------------------------------------------------


def _view(store: DevStore, run: BulkRun) -> dict[str, Any]:
    completed = run.status == "COMPLETED"
    return {
        "__typename": "BulkOperation",
        "id": run.gid,
        "status": run.status,
        "errorCode": run.error_code,
        "type": "QUERY",
        "query": run.query,
        # UnsignedInt64 is serialised as a string by Shopify.
        "objectCount": str(run.object_count),
        "rootObjectCount": str(run.root_object_count),
        "fileSize": str(len(run.result)) if completed and run.result else None,
        "url": signed_url(store, run) if completed and run.result else None,
        "partialDataUrl": None,
        "createdAt": iso(run.created_at),
        "completedAt": iso(run.completed_at),
    }


def operation_view(store: DevStore, gid: str) -> dict[str, Any] | None:
    raw = gid.removeprefix("gid://shopify/BulkOperation/")
    with store.lock:
        run = store.bulk_runs.get(int(raw)) if raw.isdigit() else None
        return _view(store, run) if run is not None else None


def current_view(store: DevStore, kind: str) -> dict[str, Any] | None:
    """`currentBulkOperation`: the app's most recent one (queries only: Clout runs no bulk
    mutations, and the emulator none)."""
    if kind != "QUERY":
        return None
    with store.lock:
        runs = sorted(store.bulk_runs.values(), key=lambda r: r.id)
        return _view(store, runs[-1]) if runs else None


# --- the signed URL ---------------------------------------------------------------------------


def _signature(store: DevStore, run_id: int, expires: int) -> str:
    return hmac.new(
        store.url_secret.encode(), f"{run_id}:{expires}".encode(), hashlib.sha256
    ).hexdigest()


def signed_url(store: DevStore, run: BulkRun) -> str:
    completed = run.completed_at.timestamp() if run.completed_at else time.time()
    expires = int(completed) + URL_LIFETIME
    return (
        f"{store.public_url}/devstore/bulk/{run.id}.jsonl"
        f"?Expires={expires}&Signature={_signature(store, run.id, expires)}"
    )


def result_for(store: DevStore, run_id: int, expires: str, signature: str) -> bytes | None:
    """The JSONL a signed URL names; None for a wrong or expired signature (Shopify's storage
    answers 400/403 the same way)."""
    if not expires.isdigit() or int(expires) < time.time():
        return None
    if not hmac.compare_digest(_signature(store, run_id, int(expires)), signature):
        return None
    with store.lock:
        run = store.bulk_runs.get(run_id)
        return run.result if run is not None and run.status == "COMPLETED" else None
