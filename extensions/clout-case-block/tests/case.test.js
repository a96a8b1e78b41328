// The Clout block's logic, run by `node --test` (no packages needed). The admin's fetch is the
// edge of the system here: a stand-in answers as Clout's /admin-blocks/api does
// (tests/service/agents/test_blocks.py holds Clout to those answers).
import assert from "node:assert/strict";
import { test } from "node:test";

import { act, actionPath, casePath, readCase, scoreLine, timeLeft, view } from "../src/case.js";

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
  influence: {
    clout: 98,
    klout: null,
    clout_reasons: ["brought 5 new customers through referrals"],
    klout_reasons: [],
  },
  trail: [
    { what: "signal", by: "clout", at: "2026-11-29T08:00:00+00:00" },
    { what: "decided", by: "clout", at: "2026-11-29T08:00:01+00:00" },
    { what: "tagged", by: "clout", at: "2026-11-29T08:00:02+00:00" },
  ],
};

/** A stand-in for the admin's fetch: records what was asked, answers as told. */
function clout(status, body) {
  const asked = [];
  const fetcher = async (path, init) => {
    asked.push({ path, init });
    return { ok: status < 300, status, json: async () => body };
  };
  return { fetcher, asked };
}

// --- bad input first -----------------------------------------------------------------------

test("a page that is not an order or a customer asks Clout nothing", async () => {
  for (const gid of [undefined, "", "gid://shopify/Product/1", "gid://shopify/Order/abc", "gid://shopify/Order/1/../../x", "gid://shopify/Order/0"]) {
    assert.equal(casePath(gid), null);
    const { fetcher, asked } = clout(200, {});
    const answer = await readCase(fetcher, gid);
    assert.match(answer.error, /orders and customers only/);
    assert.equal(asked.length, 0);
  }
});

test("a refusal from Clout is said in words, never shown as an empty case", async () => {
  const said = {
    401: /sign-in to Clout did not work/,
    403: /not connected to this store/,
    404: /no such case/,
    503: /did not answer/,
  };
  for (const [status, words] of Object.entries(said)) {
    const { fetcher } = clout(Number(status), { outcome: "whatever" });
    const answer = await readCase(fetcher, "gid://shopify/Order/7001");
    assert.match(answer.error, words);
  }
});

test("an action the desk refuses shows the desk's reason", async () => {
  const { fetcher } = clout(400, { outcome: "a note is at most 2000 characters" });
  const answer = await act(fetcher, 12, "resolve", { note: "x".repeat(2001) });
  assert.deepEqual(answer, { error: "a note is at most 2000 characters" });
});

test("a refused reopen shows the desk's reason: open already, or a newer case to work", async () => {
  const refusals = {
    already_open: "the case is open already",
    customer_has_open_case: "this customer has a newer open case: work that one instead",
  };
  for (const [outcome, detail] of Object.entries(refusals)) {
    const { fetcher, asked } = clout(409, { outcome, detail });
    const answer = await act(fetcher, 12, "reopen");
    assert.deepEqual(answer, { error: detail });
    assert.equal(asked[0].path, "/admin-blocks/api/cases/12/reopen");
  }
});

test("a request the desk cannot take shows its reason, not its code", async () => {
  const detail = "a note is at most 2000 characters";
  const { fetcher } = clout(400, { outcome: "note_too_long", detail });
  const answer = await act(fetcher, 12, "resolve", { note: "x".repeat(2001) });
  assert.deepEqual(answer, { error: detail });
});

test("a refused action without the desk's reason is still said in words", async () => {
  const conflict = await act(clout(409, {}).fetcher, 12, "reopen");
  assert.match(conflict.error, /cannot do that to the case as it is now/);
  const unknown = await act(clout(404, { outcome: "not_found" }).fetcher, 987654321, "reopen");
  assert.match(unknown.error, /no such case/);
  const other = await act(clout(401, { outcome: "unauthorized" }).fetcher, 12, "reopen");
  assert.match(other.error, /sign-in to Clout did not work/);
});

// --- what the block shows ------------------------------------------------------------------

test("the order page asks for its order's case, the customer page for its customer's", () => {
  assert.equal(casePath("gid://shopify/Order/7001"), "/admin-blocks/api/orders/7001/case");
  assert.equal(casePath("gid://shopify/Customer/9001"), "/admin-blocks/api/customers/9001/case");
  assert.equal(actionPath(12, "not-a-complaint"), "/admin-blocks/api/cases/12/not-a-complaint");
});

test("time left reads at a glance, and overdue says by how much", () => {
  assert.equal(timeLeft(-5400), "overdue by 1 h 30 min");
  assert.equal(timeLeft(3600 * 3), "3 h left");
  assert.equal(timeLeft(60 * 45), "45 min left");
  assert.equal(timeLeft(86400 * 2 + 3600 * 5), "2 d 5 h left");
  // escalated past an earlier deadline: still overdue, with a shorter deadline ahead
  assert.equal(timeLeft(60 * 24, true), "overdue, escalated: 24 min to its new deadline");
  assert.equal(timeLeft(-60, true), "overdue by 1 min");
  assert.equal(timeLeft(null), "no deadline");
});

test("an unknown score says unknown, never zero, and a known one gives its reasons", () => {
  assert.equal(scoreLine(null, []), "unknown");
  assert.equal(scoreLine(undefined, undefined), "unknown");
  assert.equal(scoreLine(0, []), "0");
  assert.equal(scoreLine(97.6, ["brought 5 new customers through referrals"]), "98 — brought 5 new customers through referrals");
});

test("an open case shows priority, time left, the customer's words and both scores", () => {
  const shown = view(MAYA);
  assert.equal(shown.heading, "Unhappy customer · urgent");
  assert.equal(shown.tone, "critical");
  assert.equal(shown.deadline, "overdue by 1 h 30 min");
  assert.equal(shown.overdue, true);
  assert.deepEqual(shown.why, ["Arrived broken."]);
  assert.equal(shown.clout, "98 — brought 5 new customers through referrals");
  assert.equal(shown.klout, "unknown");
  assert.deepEqual(shown.done, ["noticed · clout", "set priority and deadline · clout", "tagged in Shopify · clout"]);
});

test("a closed case says who closed it; no case shows nothing", () => {
  const closed = view({ ...MAYA, status: "resolved", resolved_by: "admin:staff-7", resolution_note: "Refunded." });
  assert.equal(closed.open, false);
  assert.equal(closed.heading, "Case closed");
  assert.equal(closed.deadline, "closed by admin:staff-7");
  assert.equal(closed.note, "Refunded.");
  assert.equal(view(null), null);
});

test("an open case offers resolve, not a complaint and assign; a closed one only reopen", () => {
  assert.deepEqual(view(MAYA).actions, ["resolve", "not-a-complaint", "assign"]);
  assert.deepEqual(view({ ...MAYA, status: "resolved", resolved_by: "admin:staff-7" }).actions, ["reopen"]);
  const notAComplaint = view({ ...MAYA, status: "resolved", resolution: "not_a_complaint", resolved_by: "page:agent-3" });
  assert.deepEqual(notAComplaint.actions, ["reopen"]);
});

test("a reopen in the trail reads as one", () => {
  const trail = [...MAYA.trail, { what: "resolved", by: "admin:staff-7", at: "x" }, { what: "reopened", by: "admin:staff-8", at: "y" }];
  assert.deepEqual(view({ ...MAYA, trail }, { recent: 2 }).done, ["resolved · admin:staff-7", "reopened · admin:staff-8"]);
});

test("a notice the store's channels never had reads as one; one cut short, as maybe", () => {
  const error = "the channel answered 404 Not Found";
  const notice = (outcome) => ({ channels: ["slack"], outcome, error, tries: 1 });
  const trail = [
    ...MAYA.trail,
    { what: "notified", by: "clout", at: "x", detail: { channels: ["email"] } },
    { what: "notice_failed", by: "clout", at: "y", detail: notice("failed") },
    { what: "notice_failed", by: "clout", at: "z", detail: notice("uncertain") },
  ];
  assert.deepEqual(view({ ...MAYA, trail }, { recent: 3 }).done, [
    "told the store's channels · clout",
    "a notice did NOT reach the store's channels · clout",
    "a notice may NOT have reached the store's channels · clout",
  ]);
});

// --- what the block does -------------------------------------------------------------------

test("resolving sends the note to the desk's resolve and reports what Clout did", async () => {
  const { fetcher, asked } = clout(200, { outcome: "resolved", id: 12 });
  const answer = await act(fetcher, 12, "resolve", { note: "Refunded, and a card." });
  assert.deepEqual(answer, { outcome: "resolved", id: 12 });
  assert.equal(asked[0].path, "/admin-blocks/api/cases/12/resolve");
  assert.equal(asked[0].init.method, "POST");
  assert.deepEqual(JSON.parse(asked[0].init.body), { note: "Refunded, and a card." });
});

test("reopening posts to the desk's reopen with no note and reports it", async () => {
  const { fetcher, asked } = clout(200, { outcome: "reopened", id: 12 });
  const answer = await act(fetcher, 12, "reopen");
  assert.deepEqual(answer, { outcome: "reopened", id: 12 });
  assert.equal(asked[0].path, "/admin-blocks/api/cases/12/reopen");
  assert.equal(asked[0].init.method, "POST");
  assert.deepEqual(JSON.parse(asked[0].init.body), {});
  assert.equal(actionPath(12, "reopen"), "/admin-blocks/api/cases/12/reopen");
});
