/// <reference types="@shopify/ui-extensions/admin.order-details.block.render" />
/// <reference types="@shopify/ui-extensions/admin.customer-details.block.render" />
// The Clout block on the order and customer details pages. Drawing only: what it shows and
// does is src/case.js. Shopify's admin gives `shopify.data.selected` (the page's order or
// customer) and a `fetch` that adds its session token to requests to Clout.
import "@shopify/ui-extensions/preact";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";

import { act, readCase, view } from "./case.js";

export default async () => {
  render(<CloutCase />, document.body);
};

/**
 * What the block says after an action: what the desk did, and a newer signal the staff member
 * had not seen when they closed the case (it is a new open case, shown next).
 * @param {{ outcome: string, carried_over?: number }} done
 */
function saidAfter(done) {
  const newer = done.carried_over
    ? " A newer signal reached the case while you read it: it is open as a new case."
    : "";
  return `Done: ${done.outcome.replaceAll("_", " ")}.${newer}`;
}

function CloutCase() {
  const gid = shopify.data.selected?.[0]?.id;
  const [answer, setAnswer] = useState(/** @type {any} */ (null));
  const [note, setNote] = useState("");
  const [said, setSaid] = useState(/** @type {string|null} */ (null));
  const [busy, setBusy] = useState(false);

  async function load() {
    setAnswer(await readCase(fetch, gid));
  }
  useEffect(() => {
    load();
  }, [gid]);

  /**
   * @param {number} caseId
   * @param {import("./case.js").Action} action
   * @param {Record<string, string>} [body]
   */
  async function take(caseId, action, body) {
    setBusy(true);
    const done = await act(fetch, caseId, action, body);
    setSaid(done.error ?? saidAfter(done));
    setBusy(false);
    if (!done.error) {
      setNote("");
      await load();
    }
  }

  if (answer === null) return <s-admin-block heading="Clout"><s-spinner /></s-admin-block>;
  if (answer.error) {
    return (
      <s-admin-block heading="Clout">
        <s-banner tone="warning">{answer.error}</s-banner>
      </s-admin-block>
    );
  }
  const shown = view(answer.case);
  if (shown === null) {
    return (
      <s-admin-block heading="Clout">
        <s-text>No unhappiness noticed here.</s-text>
      </s-admin-block>
    );
  }
  return (
    <s-admin-block heading="Clout">
      <s-stack gap="base">
        <s-stack direction="inline" gap="small">
          <s-badge tone={shown.tone}>{shown.heading}</s-badge>
          <s-text tone={shown.overdue ? "critical" : "auto"}>{shown.deadline}</s-text>
        </s-stack>
        <s-stack gap="small-200">
          <s-heading>Why</s-heading>
          {shown.why.map((words) => (
            <s-paragraph>“{words}”</s-paragraph>
          ))}
        </s-stack>
        <s-stack gap="small-200">
          <s-text>Clout (real-world influence): {shown.clout}</s-text>
          <s-text>Klout (online reach): {shown.klout}</s-text>
        </s-stack>
        <s-stack gap="small-200">
          <s-heading>What happened</s-heading>
          {shown.done.map((step) => (
            <s-text color="subdued">{step}</s-text>
          ))}
        </s-stack>
        {shown.note ? <s-paragraph>Note: {shown.note}</s-paragraph> : null}
        {said ? <s-banner tone="info">{said}</s-banner> : null}
        {shown.actions.includes("resolve") ? (
          <s-stack gap="small">
            <s-text-area
              label="Note for the case"
              value={note}
              onInput={(event) => setNote(event.currentTarget.value)}
            />
            <s-stack direction="inline" gap="small">
              <s-button variant="primary" disabled={busy} onClick={() => take(shown.id, "resolve", { note, seen_at: answer.now })}>
                Resolve
              </s-button>
              <s-button disabled={busy} onClick={() => take(shown.id, "not-a-complaint", { note, seen_at: answer.now })}>
                Not a complaint
              </s-button>
              <s-button disabled={busy} onClick={() => take(shown.id, "assign", { to: shown.assigned ? "" : "me" })}>
                {shown.assigned ? `Unassign (${shown.assigned})` : "Assign to me"}
              </s-button>
            </s-stack>
          </s-stack>
        ) : null}
        {shown.actions.includes("reopen") ? (
          <s-stack direction="inline" gap="small">
            <s-button disabled={busy} onClick={() => take(shown.id, "reopen")}>
              Reopen
            </s-button>
          </s-stack>
        ) : null}
      </s-stack>
    </s-admin-block>
  );
}
