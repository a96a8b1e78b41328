"""Bulk query operations in the emulator, as Shopify runs them: started in the background, asked
after by id, refused past the app's limit with Shopify's userError, and their result a JSONL
file on a signed URL — each nested connection's nodes on lines of their own with `__parentId`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.dev.devstore.server import DevAdmin, Plan, serving
from service.dev.devstore.store import DevStore
from service.shopify import documents
from tests.support.helpers import fixture_json, wait_for

TOKEN = "shpat_bulk_test"
CUSTOMERS_AND_ORDERS = """{ customers { edges { node { id firstName
  orders { edges { node { id name } } } } } } }"""


@pytest.fixture
def store() -> DevStore:
    store = DevStore("bulk-test.myshopify.com")
    store.tokens.add(TOKEN)
    ada = store.add_person("ada@example.org", "Ada")
    store.add_purchase(ada)
    store.add_purchase(ada)
    store.add_person("bob@example.org", "Bob")
    return store


@pytest.fixture
def emulator(store: DevStore) -> Iterator[tuple[DevAdmin, str]]:
    admin = DevAdmin(store, plan=Plan(maximum=2000, restore_rate=100))
    with serving(admin) as url:
        yield admin, url


def ask(admin: DevAdmin, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    status, answer, _ = admin.handle(TOKEN, body, "2026-07")
    assert status == 200, answer
    return answer


def run_bulk(admin: DevAdmin, query: str, **arguments: Any) -> dict[str, Any]:
    extra = "".join(f", {k}: {json.dumps(v)}" for k, v in arguments.items())
    answer = ask(
        admin,
        "mutation Run($q: String!) { bulkOperationRunQuery(query: $q"
        + extra
        + ") { bulkOperation { id status } userErrors { field message code } } }",
        {"q": query},
    )
    result: dict[str, Any] = answer["data"]["bulkOperationRunQuery"]
    return result


def operation(admin: DevAdmin, gid: str) -> dict[str, Any]:
    node: dict[str, Any] = ask(admin, documents.BULK_OPERATION.text, {"id": gid})["data"]["node"]
    return node


def finished(admin: DevAdmin, gid: str) -> dict[str, Any]:
    return wait_for(lambda: (o := operation(admin, gid))["status"] == "COMPLETED" and o, timeout=5)


def result_of(admin: DevAdmin, query: str, **arguments: Any) -> list[dict[str, Any]]:
    """Run a bulk query to the end; its result's lines."""
    gid = run_bulk(admin, query, **arguments)["bulkOperation"]["id"]
    return lines_of(finished(admin, gid)["url"])


def lines_of(url: str) -> list[dict[str, Any]]:
    response = httpx.get(url)  # no access token: the URL's signature is the permission
    assert response.status_code == 200
    return [json.loads(line) for line in response.text.splitlines()]


def test_a_bulk_query_runs_in_the_background_and_its_result_is_shopifys_jsonl(
    emulator: tuple[DevAdmin, str], store: DevStore
) -> None:
    admin, _ = emulator

    started = run_bulk(admin, CUSTOMERS_AND_ORDERS)

    assert started["userErrors"] == []
    assert started["bulkOperation"]["status"] == "CREATED"
    done = finished(admin, started["bulkOperation"]["id"])
    assert (done["objectCount"], done["rootObjectCount"]) == ("4", "2")
    assert done["errorCode"] is None
    assert done["query"] == CUSTOMERS_AND_ORDERS
    lines = lines_of(done["url"])
    assert int(done["fileSize"]) == len(httpx.get(done["url"]).content)
    customers = [line for line in lines if "__parentId" not in line]
    orders = [line for line in lines if "__parentId" in line]
    ada = next(c for c in customers if c["firstName"] == "Ada")
    assert {c["firstName"] for c in customers} == {"Ada", "Bob"}
    assert [set(o) for o in orders] == [{"id", "name", "__parentId"}] * 2
    assert {o["__parentId"] for o in orders} == {ada["id"]}
    assert all("orders" not in c for c in customers)  # nested nodes are lines, not fields
    assert list(orders[0])[-1] == "__parentId"


def test_without_grouping_children_may_come_before_their_parent_and_with_it_after(
    emulator: tuple[DevAdmin, str],
) -> None:
    admin, _ = emulator

    ungrouped = result_of(admin, CUSTOMERS_AND_ORDERS)
    grouped = result_of(admin, CUSTOMERS_AND_ORDERS, groupObjects=True)

    def shape(lines: list[dict[str, Any]]) -> list[str]:
        return ["order" if "__parentId" in line else line["firstName"] for line in lines]

    assert shape(ungrouped) == ["order", "order", "Ada", "Bob"]
    assert shape(grouped) == ["Ada", "order", "order", "Bob"]


def test_a_bulk_query_reads_whole_connections_with_no_page_size(
    emulator: tuple[DevAdmin, str], store: DevStore
) -> None:
    admin, _ = emulator
    for n in range(300):  # more than any page Shopify serves
        store.add_person(f"p{n}@example.org")

    lines = result_of(admin, "{ customers { edges { node { id } } } }")

    assert len(lines) == 302


def test_a_second_bulk_query_while_one_runs_is_refused_with_shopifys_user_error(
    emulator: tuple[DevAdmin, str], store: DevStore
) -> None:
    admin, _ = emulator
    store.bulk_seconds = 1.0
    store.bulk_query_limit = 1  # API versions before 2026-01: one at a time
    first = run_bulk(admin, CUSTOMERS_AND_ORDERS)["bulkOperation"]

    second = run_bulk(admin, CUSTOMERS_AND_ORDERS)

    assert second["bulkOperation"] is None
    assert second["userErrors"] == [
        {
            "field": None,
            "message": "A bulk query operation for this app and shop is already in progress: "
            f"{first['id']}.",
            "code": "OPERATION_IN_PROGRESS",
        }
    ]
    assert operation(admin, first["id"])["status"] == "RUNNING"


def test_from_2026_01_five_run_at_once_and_a_sixth_is_refused(
    emulator: tuple[DevAdmin, str], store: DevStore
) -> None:
    admin, _ = emulator
    store.bulk_seconds = 1.0

    answers = [run_bulk(admin, CUSTOMERS_AND_ORDERS) for _ in range(6)]

    assert [a["userErrors"] for a in answers[:5]] == [[]] * 5
    assert [e["code"] for e in answers[5]["userErrors"]] == ["LIMIT_REACHED"]


def test_a_query_shopify_would_not_run_in_bulk_is_refused(emulator: tuple[DevAdmin, str]) -> None:
    admin, _ = emulator
    three_deep = """{ customers { edges { node { id orders { edges { node { id
      lineItems { edges { node { id } } } } } } } } } }"""

    answers = [
        run_bulk(admin, three_deep),
        run_bulk(admin, "{ shop { name } }"),
        run_bulk(admin, "{ customers { edges { node { id followers } } } }"),
    ]

    assert [[e["code"] for e in a["userErrors"]] for a in answers] == [["INVALID"]] * 3
    assert "at most 2 levels deep" in answers[0]["userErrors"][0]["message"]
    assert "at least one connection" in answers[1]["userErrors"][0]["message"]
    assert "followers" in answers[2]["userErrors"][0]["message"]


def test_current_bulk_operation_is_the_newest_and_a_failure_says_why(
    emulator: tuple[DevAdmin, str], store: DevStore
) -> None:
    admin, _ = emulator
    run_bulk(admin, CUSTOMERS_AND_ORDERS)
    store.bulk_fail_with = "TIMEOUT"
    newest = run_bulk(admin, CUSTOMERS_AND_ORDERS)["bulkOperation"]["id"]

    def current() -> dict[str, Any] | None:
        found: dict[str, Any] = ask(
            admin, "query { currentBulkOperation { id status errorCode url } }"
        )["data"]["currentBulkOperation"]
        return found if found["status"] == "FAILED" else None

    assert wait_for(current, timeout=5) == {
        "id": newest,
        "status": "FAILED",
        "errorCode": "TIMEOUT",
        "url": None,
    }


def test_the_result_url_is_signed(emulator: tuple[DevAdmin, str]) -> None:
    admin, _ = emulator
    url = finished(admin, run_bulk(admin, CUSTOMERS_AND_ORDERS)["bulkOperation"]["id"])["url"]

    forged = httpx.get(url.replace("Signature=", "Signature=0"))

    assert forged.status_code == 403


def test_the_finish_webhook_has_the_shape_of_shopifys_sample(store: DevStore) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    store.listeners.append(lambda topic, payload: sent.append((topic, payload)))
    admin = DevAdmin(store)

    gid = run_bulk(admin, CUSTOMERS_AND_ORDERS)["bulkOperation"]["id"]
    wait_for(lambda: sent, timeout=5)

    [(topic, payload)] = sent
    assert topic == "bulk_operations/finish"
    assert set(payload) == set(fixture_json("shopify/bulk_operations_finish.json"))
    assert (payload["admin_graphql_api_id"], payload["status"], payload["type"]) == (
        gid,
        "completed",
        "query",
    )


def test_a_download_cut_short_breaks_off_mid_file(emulator: tuple[DevAdmin, str]) -> None:
    admin, _ = emulator
    url = finished(admin, run_bulk(admin, CUSTOMERS_AND_ORDERS)["bulkOperation"]["id"])["url"]
    admin.set_faults(cut_download_after_lines=2)
    received: list[bytes] = []

    def download() -> None:
        with httpx.stream("GET", url) as response:
            received.extend(response.iter_bytes())

    with pytest.raises(httpx.RemoteProtocolError):
        download()

    assert b"".join(received).count(b"\n") == 2
