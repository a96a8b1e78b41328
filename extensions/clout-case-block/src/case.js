// What the Clout block shows and does, apart from how it is drawn: plain functions, so
// `node --test` checks them without Shopify's admin. Block.jsx draws what `view` returns.

/** @typedef {{ clout: number|null, klout: number|null, clout_reasons?: string[], klout_reasons?: string[], unknown?: string[] }} Influence */
/** @typedef {{ what: string, by: string, at: string, detail?: Record<string, unknown> }} Step */
/** @typedef {{ id: number, status: string, priority: string, severity: string, deadline_at: string|null, seconds_left: number|null, overdue: boolean, assigned_to: string|null, timeline: { kind: string, sentences: string[], order: string|null, words?: unknown }[], influence: Influence, trail: Step[], resolution?: string|null, resolution_note?: string|null, resolved_by?: string|null }} Case */

const API = "/admin-blocks/api";
const OWNERS = { Order: "orders", Customer: "customers" };

/**
 * The path that answers with the case shown on a page, from the id of the order or customer
 * the admin shows (a GraphQL id), or null for anything else.
 * @param {string|undefined} gid
 * @returns {string|null}
 */
export function casePath(gid) {
  const found = /^gid:\/\/shopify\/(Order|Customer)\/([1-9][0-9]{0,18})$/.exec(gid ?? "");
  if (!found) return null;
  return `${API}/${OWNERS[/** @type {"Order"|"Customer"} */ (found[1])]}/${found[2]}/case`;
}

/** @typedef {"resolve"|"not-a-complaint"|"assign"|"reopen"} Action */

/**
 * The path of a desk action on a case.
 * @param {number} caseId
 * @param {Action} action
 */
export function actionPath(caseId, action) {
  return `${API}/cases/${caseId}/${action}`;
}

/**
 * Time to the deadline in words an agent reads at a glance.
 * @param {number|null} seconds
 * @param {boolean} [overdue] the case missed an earlier deadline (escalated since)
 */
export function timeLeft(seconds, overdue = false) {
  if (seconds === null || seconds === undefined) return "no deadline";
  const late = seconds < 0;
  const minutes = Math.round(Math.abs(seconds) / 60);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  const parts = days ? [`${days} d`, hours ? `${hours} h` : ""] : hours ? [`${hours} h`, rest ? `${rest} min` : ""] : [`${rest} min`];
  const span = parts.filter(Boolean).join(" ");
  // Overdue with time left: escalated past an earlier deadline, now with a shorter one.
  if (!late && overdue) return `overdue, escalated: ${span} to its new deadline`;
  return late ? `overdue by ${span}` : `${span} left`;
}

/**
 * A score with its reasons; an unknown score is said to be unknown, never shown as 0.
 * @param {number|null|undefined} score
 * @param {string[]|undefined} reasons
 */
export function scoreLine(score, reasons) {
  if (score === null || score === undefined) return "unknown";
  const why = (reasons ?? []).filter(Boolean);
  return why.length ? `${Math.round(score)} — ${why.join("; ")}` : `${Math.round(score)}`;
}

/** @typedef {"critical"|"warning"|"info"|"success"} Tone */
/** @type {Record<string, Tone>} */
const TONES = { urgent: "critical", high: "warning", normal: "info" };

/** What Clout and people did, in words, newest last. */
const DONE = {
  signal: "noticed",
  decided: "set priority and deadline",
  tagged: "tagged in Shopify",
  tag_refused: "Shopify refused a tag",
  untagged: "took its tags off",
  metafields_cleared: "cleared the case's fields",
  escalated: "escalated (overdue)",
  notified: "told the store's channels",
  notice_failed: "a notice did NOT reach the store's channels",
  flow_triggered: "started the store's Flow workflows",
  flow_failed: "did NOT start the store's Flow workflows",
  // A notice cut short mid-send (`uncertain`) may have arrived: `doneWords` says so.
  resolved: "resolved",
  not_a_complaint: "closed as not a complaint",
  assigned: "assigned",
  snoozed: "snoozed",
  reopened: "reopened",
};

/**
 * One step of the trail in words: a notice cut short mid-send may have arrived, so it is not
 * said to have failed.
 * @param {Step} step
 */
function doneWords(step) {
  if (step.what === "notice_failed" && step.detail?.outcome === "uncertain") {
    return "a notice may NOT have reached the store's channels";
  }
  if (step.what === "flow_failed" && step.detail?.outcome === "uncertain") {
    return "may NOT have started the store's Flow workflows";
  }
  return DONE[/** @type {keyof typeof DONE} */ (step.what)] ?? step.what;
}

/**
 * What the block shows for a case (null: Clout has no case for this order or customer).
 * @param {Case|null} found
 * @param {{ recent?: number }} [options]
 */
export function view(found, { recent = 4 } = {}) {
  if (!found) return null;
  const open = found.status === "open";
  const words = found.timeline.flatMap((signal) => signal.sentences).filter(Boolean);
  return {
    id: found.id,
    open,
    heading: open ? `Unhappy customer · ${found.priority}` : "Case closed",
    tone: /** @type {Tone} */ (open ? (TONES[found.priority] ?? "info") : "success"),
    deadline: open
      ? timeLeft(found.seconds_left, found.overdue)
      : `closed by ${found.resolved_by ?? "someone"}`,
    overdue: open && found.overdue,
    why: words.length ? words : found.timeline.map((signal) => signal.kind),
    clout: scoreLine(found.influence?.clout, found.influence?.clout_reasons),
    klout: scoreLine(found.influence?.klout, found.influence?.klout_reasons),
    assigned: found.assigned_to,
    note: found.resolution_note ?? null,
    // A closed case can be reopened (an undo, or the customer is not happy after all); an open
    // one is resolved, closed as not a complaint, or assigned.
    actions: /** @type {Action[]} */ (open ? ["resolve", "not-a-complaint", "assign"] : ["reopen"]),
    done: found.trail.slice(-recent).map((step) => `${doneWords(step)} · ${step.by}`),
  };
}

/**
 * Read the case of the page's order or customer. `fetcher` is the admin's `fetch`, which adds
 * Shopify's session token to a request to Clout by itself.
 * @param {typeof fetch} fetcher
 * @param {string|undefined} gid
 * @returns {Promise<{ case: Case|null, me: string }|{ error: string }>}
 */
export async function readCase(fetcher, gid) {
  const path = casePath(gid);
  if (!path) return { error: "Clout shows cases on orders and customers only." };
  const answer = await fetcher(path);
  if (!answer.ok) return { error: refusal(answer.status) };
  return answer.json();
}

/**
 * Take a desk action on the case; the answer says what happened or why not.
 * @param {typeof fetch} fetcher
 * @param {number} caseId
 * @param {Action} action
 * @param {Record<string, string>} [body]
 */
export async function act(fetcher, caseId, action, body) {
  const answer = await fetcher(actionPath(caseId, action), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  const said = await answer.json().catch(() => ({}));
  // A 400 or 409 carries the reason in words: the desk's own in `detail` (its `outcome` is
  // then a code, "already_open"), or Clout's check of the request in `outcome` itself ("note
  // must be text"). Say it as it was said.
  const reason = typeof said.detail === "string" ? said.detail : said.outcome;
  const reasoned = (answer.status === 400 || answer.status === 409) && typeof reason === "string";
  if (!answer.ok) return { error: reasoned ? reason : refusal(answer.status) };
  return said;
}

/** @param {number} status */
function refusal(status) {
  if (status === 401) return "Shopify's sign-in to Clout did not work; reload the page.";
  if (status === 403) return "Clout is not connected to this store.";
  if (status === 404) return "Clout has no such case in this store.";
  if (status === 409) return "The desk cannot do that to the case as it is now; reload the page.";
  return "Clout did not answer; try again in a moment.";
}
