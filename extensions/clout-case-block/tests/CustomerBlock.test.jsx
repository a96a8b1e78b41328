/// <reference types="@shopify/ui-extensions/admin.customer-details.block.render" />
// The same block on a customer's page: it asks for the customer's case, not an order's.
import { waitFor } from "@testing-library/preact";
import { getExtension } from "@shopify/ui-extensions-tester";
import { afterEach, beforeEach, expect, test } from "vitest";

const extension = getExtension("admin.customer-details.block.render");

/** @type {string[]} */
let asked = [];

beforeEach(() => {
  extension.setUp();
  asked = [];
  extension.fetch = async (path) => {
    asked.push(String(path));
    const closed = {
      id: 12,
      status: "resolved",
      priority: "high",
      severity: "high",
      deadline_at: null,
      seconds_left: null,
      overdue: false,
      assigned_to: null,
      timeline: [{ kind: "review", sentences: ["Never again."], order: null }],
      influence: { clout: null, klout: 64, clout_reasons: [], klout_reasons: ["12k followers"] },
      trail: [{ what: "resolved", by: "flow:0a6b2c3d", at: "2026-11-29T08:00:00+00:00" }],
      resolved_by: "flow:0a6b2c3d",
    };
    return new Response(JSON.stringify({ me: "staff-42", case: closed }), { status: 200 });
  };
});

afterEach(() => {
  extension.tearDown();
});

test("a page that is not an order or a customer asks Clout nothing", async () => {
  extension.shopify.data.selected = [{ id: "gid://shopify/Product/1" }];
  await extension.render();
  await waitFor(() => expect(document.body.textContent).toContain("orders and customers only"));
  expect(asked).toEqual([]);
});

test("a customer's page shows their latest case, closed by a workflow, with only Reopen", async () => {
  extension.shopify.data.selected = [{ id: "gid://shopify/Customer/9001" }];
  await extension.render();
  await waitFor(() => expect(document.body.textContent).toContain("Case closed"));
  expect(asked).toEqual(["/admin-blocks/api/customers/9001/case"]);
  expect(document.body.textContent).toContain("closed by flow:0a6b2c3d");
  expect(document.body.textContent).toContain("Clout (real-world influence): unknown");
  expect(document.body.textContent).toContain("Klout (online reach): 64 — 12k followers");
  const buttons = [...document.body.querySelectorAll("s-button")].map((b) => b.textContent?.trim());
  expect(buttons).toEqual(["Reopen"]);
  expect(document.body.querySelector("s-text-area")).toBeNull();
});
