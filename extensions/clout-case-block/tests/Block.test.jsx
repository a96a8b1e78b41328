/// <reference types="@shopify/ui-extensions/admin.order-details.block.render" />
// The block as Shopify's extension tester renders it on an order's page. The admin's fetch is
// the edge: a stand-in answers as Clout's /admin-blocks/api does (tests/service/agents/
// test_blocks.py holds Clout to those answers).
import { fireEvent, waitFor } from "@testing-library/preact";
import { getExtension } from "@shopify/ui-extensions-tester";
import { afterEach, beforeEach, expect, test } from "vitest";

const extension = getExtension("admin.order-details.block.render");
const ORDER = "gid://shopify/Order/7001";
const READ_AT = "2026-11-29T08:00:00+00:00";
const MAYA = {
  id: 12,
  status: "open",
  priority: "urgent",
  severity: "critical",
  deadline_at: "2026-11-29T10:00:00+00:00",
  seconds_left: -5400,
  overdue: true,
  assigned_to: null,
  timeline: [{ kind: "refund", sentences: ["Arrived broken."], order: "#1001" }],
  influence: { clout: 98, klout: null, clout_reasons: ["brought 5 new customers through referrals"], klout_reasons: [] },
  trail: [{ what: "signal", by: "clout", at: "2026-11-29T08:00:00+00:00" }],
};

/** @type {{ path: string, init?: RequestInit }[]} */
let asked = [];

/** Clout's answers, in the order the block asks. @param {[number, unknown][]} answers */
function clout(answers) {
  asked = [];
  extension.fetch = async (path, init) => {
    asked.push({ path: String(path), init });
    const [status, body] = answers.shift() ?? [503, {}];
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  };
}

beforeEach(() => {
  extension.setUp();
  extension.shopify.data.selected = [{ id: ORDER }];
});

afterEach(() => {
  extension.tearDown();
});

const text = () => document.body.textContent ?? "";
const buttons = () => [...document.body.querySelectorAll("s-button")].map((b) => b.textContent?.trim());
/** @param {string} label */
const button = (label) => [...document.body.querySelectorAll("s-button")].find((b) => b.textContent?.trim() === label);

// --- bad input first -------------------------------------------------------------------------

test("a refused session token says so instead of showing an empty case", async () => {
  clout([[401, { outcome: "unauthorized" }]]);
  await extension.render();
  await waitFor(() => expect(text()).toContain("sign-in to Clout did not work"));
  expect(document.body.querySelector("s-button")).toBeNull();
});

test("an order Clout never saw shows that nothing was noticed, and no actions", async () => {
  clout([[200, { me: "staff-42", case: null }]]);
  await extension.render();
  await waitFor(() => expect(text()).toContain("No unhappiness noticed here."));
  expect(asked[0].path).toBe("/admin-blocks/api/orders/7001/case");
  expect(document.body.querySelector("s-button")).toBeNull();
});

// --- the case at a glance --------------------------------------------------------------------

test("an open case shows priority, time left, the customer's words and both scores", async () => {
  clout([[200, { me: "staff-42", case: MAYA }]]);
  await extension.render();
  await waitFor(() => expect(text()).toContain("Unhappy customer · urgent"));
  expect(text()).toContain("overdue by 1 h 30 min");
  expect(text()).toContain("“Arrived broken.”");
  expect(text()).toContain("Clout (real-world influence): 98 — brought 5 new customers through referrals");
  expect(text()).toContain("Klout (online reach): unknown");
  expect(document.body.querySelector("s-badge")?.getAttribute("tone")).toBe("critical");
});

// --- the desk's actions ----------------------------------------------------------------------

test("resolving with a note posts it to the desk and shows the case closed", async () => {
  const closed = { ...MAYA, status: "resolved", resolved_by: "admin:staff-42", resolution_note: "Refunded." };
  clout([
    [200, { me: "staff-42", now: READ_AT, case: MAYA }],
    [200, { outcome: "resolved", id: 12 }],
    [200, { me: "staff-42", case: closed }],
  ]);
  await extension.render();
  await waitFor(() => expect(document.body.querySelector("s-text-area")).not.toBeNull());

  const note = /** @type {HTMLElement & { value: string }} */ (document.body.querySelector("s-text-area"));
  note.value = "Refunded.";
  fireEvent.input(note);
  const resolve = [...document.body.querySelectorAll("s-button")].find((b) => b.textContent?.includes("Resolve"));
  fireEvent.click(/** @type {Element} */ (resolve));

  await waitFor(() => expect(text()).toContain("Case closed"));
  expect(asked[1].path).toBe("/admin-blocks/api/cases/12/resolve");
  expect(asked[1].init?.method).toBe("POST");
  // with when the case was read, so a signal that came after is not closed unseen
  expect(JSON.parse(String(asked[1].init?.body))).toEqual({ note: "Refunded.", seen_at: READ_AT });
  expect(text()).toContain("closed by admin:staff-42");
  expect(text()).toContain("Done: resolved.");
  // and the only action left on a closed case is to reopen it
  expect(buttons()).toEqual(["Reopen"]);
  expect(document.body.querySelector("s-text-area")).toBeNull();
});

test("a close that left a newer signal open says so and shows the new case", async () => {
  const newer = { ...MAYA, id: 13, timeline: [{ kind: "review", sentences: ["Still broken."], order: null }] };
  clout([
    [200, { me: "staff-42", now: READ_AT, case: MAYA }],
    [200, { outcome: "resolved", id: 12, carried_over: 13 }],
    [200, { me: "staff-42", now: READ_AT, case: newer }],
  ]);
  await extension.render();
  await waitFor(() => expect(document.body.querySelector("s-text-area")).not.toBeNull());

  fireEvent.click(/** @type {Element} */ (button("Resolve")));

  await waitFor(() => expect(text()).toContain("“Still broken.”"));
  expect(text()).toContain("Done: resolved. A newer signal reached the case while you read it");
  expect(buttons()).toContain("Resolve");
});

test("a refused reopen shows the desk's reason and leaves the case as it was", async () => {
  const closed = { ...MAYA, status: "resolved", resolved_by: "admin:staff-7" };
  clout([
    [200, { me: "staff-42", case: closed }],
    [409, { outcome: "customer_has_open_case", detail: "this customer has a newer open case: work that one instead" }],
  ]);
  await extension.render();
  await waitFor(() => expect(buttons()).toEqual(["Reopen"]));

  fireEvent.click(/** @type {Element} */ (button("Reopen")));

  await waitFor(() => expect(text()).toContain("this customer has a newer open case: work that one instead"));
  expect(asked.map((a) => a.path)).toEqual(["/admin-blocks/api/orders/7001/case", "/admin-blocks/api/cases/12/reopen"]);
  expect(text()).toContain("Case closed");
  expect(buttons()).toEqual(["Reopen"]);
});

test("reopening a closed case posts to the desk and shows the case open again", async () => {
  const closed = {
    ...MAYA,
    status: "resolved",
    resolved_by: "admin:staff-7",
    resolution_note: "Wrong customer.",
    trail: [...MAYA.trail, { what: "resolved", by: "admin:staff-7", at: "2026-11-29T09:00:00+00:00" }],
  };
  const reopened = {
    ...MAYA,
    trail: [...closed.trail, { what: "reopened", by: "admin:staff-42", at: "2026-11-29T09:05:00+00:00" }],
  };
  clout([
    [200, { me: "staff-42", case: closed }],
    [200, { outcome: "reopened", id: 12 }],
    [200, { me: "staff-42", case: reopened }],
  ]);
  await extension.render();
  await waitFor(() => expect(text()).toContain("Case closed"));
  expect(buttons()).toEqual(["Reopen"]);

  fireEvent.click(/** @type {Element} */ (button("Reopen")));

  await waitFor(() => expect(text()).toContain("Unhappy customer · urgent"));
  expect(asked[1].path).toBe("/admin-blocks/api/cases/12/reopen");
  expect(asked[1].init?.method).toBe("POST");
  expect(JSON.parse(String(asked[1].init?.body))).toEqual({});
  expect(text()).toContain("Done: reopened.");
  expect(text()).toContain("reopened · admin:staff-42");
  expect(text()).toContain("overdue by 1 h 30 min"); // the deadline it had: she has been waiting
  expect(buttons()).toEqual(["Resolve", "Not a complaint", "Assign to me"]);
});
