// The agents' page: reads the queue and the picture from /agents/api, resolves cases.
// Inside the Shopify admin every call carries an App Bridge session token; standalone, the
// login cookie plus a CSRF token on changes.
"use strict";

(() => {
  const body = document.body;
  const api = body.dataset.api;
  const embedded = body.dataset.mode === "embedded";
  // The same colours as the page's badges (agents.css), dark enough for white text on them.
  const PRIORITY_COLOURS = { urgent: "#b03226", high: "#9a4a00", normal: "#1f6391" };
  const BAND_ORDER = ["unknown", "opted-out", "low", "medium", "high"];
  const PER_PAGE = 25;
  // A band is compared with the high band's only on this many resolved cases each, and warned
  // about past this ratio: `clout report fairness`'s own figures (attention.fairness).
  const FAIRNESS_MIN_CASES = Number(body.dataset.fairnessMinCases);
  const FAIRNESS_WARN_RATIO = Number(body.dataset.fairnessWarnRatio);
  let influenceChart = null;
  let fairnessChart = null;
  let page = 1;
  let resolvedPage = 1;
  // The `now` of the queue on screen: a close says when its cases were read.
  let queueReadAt;
  // Who the page's agent is on the desk (the queue's `me`): their own cases can be let go.
  let me;
  const selected = new Set();
  // The last close on this page, for Undo (the button, or the u key).
  let lastClosed = null;

  function shop() {
    const picker = document.getElementById("shop");
    if (picker) return picker.value;
    const name = document.getElementById("shop-name");
    return name ? name.dataset.shop : "";
  }

  async function headers(change) {
    const sent = { Accept: "application/json" };
    if (embedded && window.shopify && typeof window.shopify.idToken === "function") {
      sent.Authorization = "Bearer " + (await window.shopify.idToken());
    } else if (change) {
      sent["X-CSRF-Token"] = body.dataset.csrf;
    }
    return sent;
  }

  async function call(path, params = {}, method = "GET", payload = undefined) {
    const query = new URLSearchParams(params);
    if (!embedded && shop()) query.set("shop", shop());
    const sent = await headers(method !== "GET");
    if (payload !== undefined) sent["Content-Type"] = "application/json";
    const response = await fetch(`${api}${path}?${query}`, {
      method,
      headers: sent,
      credentials: "same-origin",
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    if (response.status === 401 && !embedded) {
      window.location.assign("/agents/login");
      throw new Error("login required");
    }
    const data = await response.json().catch(() => ({}));
    // A refusal's `detail` is the sentence for a person when its `outcome` is a code
    // ("already_open"); Clout's own checks of a request say it in `outcome` itself.
    if (!response.ok) throw new Error(data.detail || data.outcome || `HTTP ${response.status}`);
    return data;
  }

  function text(tag, content, className) {
    const node = document.createElement(tag);
    node.textContent = content;
    if (className) node.className = className;
    return node;
  }

  // `overdue` with time left: escalated past an earlier deadline, now with a shorter one.
  function timeLeft(seconds, overdue = false) {
    if (seconds === null || seconds === undefined) return "deciding…";
    const late = seconds < 0;
    let rest = Math.abs(seconds);
    const days = Math.floor(rest / 86400);
    rest -= days * 86400;
    const hours = Math.floor(rest / 3600);
    const minutes = Math.floor((rest - hours * 3600) / 60);
    const span = days ? `${days} d ${hours} h` : hours ? `${hours} h ${minutes} min` : `${minutes} min`;
    if (!late && overdue) return `overdue, escalated: ${span} to its new deadline`;
    return late ? `overdue by ${span}` : `${span} left`;
  }

  // Agents as the answers name them ("agent-3" → their login): a colleague is known by email.
  const people = Object.create(null);

  function who(recorded) {
    const key = (recorded || "").replace(/^page:/, "");
    return people[key] ?? recorded;
  }

  function score(value) {
    return value === null || value === undefined ? "unknown" : Math.round(value);
  }

  function filters() {
    const form = document.getElementById("filters");
    const chosen = {};
    for (const [key, value] of new FormData(form).entries()) if (value) chosen[key] = value;
    return chosen;
  }

  function renderCard(entry) {
    const card = document.getElementById("card").content.firstElementChild.cloneNode(true);
    card.dataset.incident = entry.id;
    card.dataset.name = entry.customer.name;
    card.dataset.deadline = entry.deadline_at || "";
    const pick = card.querySelector(".pick");
    pick.checked = selected.has(entry.id);
    pick.setAttribute("aria-label", `Select ${entry.customer.name}`);
    pick.addEventListener("change", () => {
      if (pick.checked) selected.add(entry.id);
      else selected.delete(entry.id);
      showBulk();
    });
    card.classList.add(`priority-${entry.priority || "deciding"}`);
    if (entry.overdue) card.classList.add("overdue");
    card.querySelector(".priority").textContent = entry.priority || "new";
    const name = card.querySelector(".name");
    if (entry.customer.admin_url) {
      const link = text("a", entry.customer.name);
      link.href = entry.customer.admin_url;
      link.target = "_top";
      link.rel = "noopener";
      name.append(link);
    } else {
      name.textContent = entry.customer.name;
    }
    card.querySelector(".left").textContent = timeLeft(entry.seconds_left, entry.overdue);
    if (entry.tag_state === "pending") {
      // A tag Shopify has not taken yet must not look like one it has.
      card.querySelector(".reasons").before(
        text("p", "Not tagged in Shopify yet: Clout keeps trying", "pending"),
      );
    } else if (entry.tag_state === "refused") {
      // Refused, waiting will not land it: what the store can do (the banner says Shopify's why).
      card.querySelector(".reasons").before(
        text(
          "p",
          "Not tagged in Shopify: Shopify refused the tag. Check the order or customer still " +
            "exists in the Shopify admin, or remove some tags if it has too many; Clout tries " +
            "again when the order changes.",
          "pending",
        ),
      );
    }
    card.querySelector(".reasons").append(
      ...entry.reasons.map((reason) => text("span", reason, "chip")),
      text("span", ` ${entry.severity}`, "muted small"),
      text("span", ` · influence ${entry.band}`, "muted small band"),
      text("span", entry.assigned_to ? ` · assigned to ${who(entry.assigned_to)}` : "", "muted small"),
    );
    const influence = entry.influence;
    card.querySelector(".scores").textContent =
      `clout ${score(influence.clout)} · Klout ${score(influence.klout)}` +
      (influence.opted_out ? " · opted out of profiling" : "") +
      (influence.raised_by.length ? ` · raised for ${influence.raised_by.join(", ")}` : "");

    const timeline = card.querySelector(".timeline");
    for (const signal of entry.timeline) {
      const item = text("li", "");
      item.append(
        text("time", new Date(signal.occurred_at).toLocaleString(), "muted small"),
        text("strong", ` ${signal.kind}`),
        text("span", signal.order ? ` on ${signal.order}` : ""),
      );
      // Each sentence on its own line: run together they read as one.
      const said = text("ul", "", "sentences");
      for (const sentence of signal.sentences) said.append(text("li", sentence));
      item.append(said);
      item.dataset.signal = String(signal.id);
      timeline.append(item);
    }
    const unshown = entry.signal_count - entry.timeline.length;
    if (unshown > 0) timeline.after(text("p", `${unshown} more ${unshown === 1 ? "signal" : "signals"}, older or less severe`, "muted small"));
    const why = card.querySelector(".influence");
    for (const [label, sentences] of [
      ["Clout", influence.clout_reasons],
      ["Klout", influence.klout_reasons],
    ]) {
      why.append(text("h3", `${label}: ${score(influence[label.toLowerCase()])}`, "sub"));
      const list = text("ul", "");
      for (const sentence of sentences.length ? sentences : ["nothing known"]) list.append(text("li", sentence));
      why.append(list);
    }
    if (influence.unknown.length) why.append(text("p", `Not known: ${influence.unknown.join(", ")}`, "muted small"));

    const orders = card.querySelector(".orders");
    for (const order of entry.orders) {
      const link = text("a", order.name);
      if (order.admin_url) link.href = order.admin_url;
      link.target = "_top";
      link.rel = "noopener";
      orders.append(link, " ");
    }
    const confirm = card.querySelector(".confirm");
    let closing = "resolve";
    for (const [selector, how] of [[".resolve", "resolve"], [".not-complaint", "not-a-complaint"]]) {
      card.querySelector(selector).addEventListener("click", () => {
        closing = how;
        confirm.querySelector(".confirm-close").textContent =
          how === "resolve" ? "Confirm: resolve" : "Confirm: not a complaint";
        confirm.hidden = false;
        confirm.querySelector("textarea").focus();
      });
    }
    const cancel = () => {
      confirm.hidden = true;
      card.focus();
    };
    confirm.querySelector(".cancel").addEventListener("click", cancel);
    confirm.querySelector("textarea").addEventListener("keydown", (event) => {
      // Enter confirms (Shift+Enter for a new line), Escape steps back: the keyboard path.
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        confirm.requestSubmit();
      } else if (event.key === "Escape") {
        cancel();
      }
    });
    confirm.addEventListener("submit", (event) => {
      event.preventDefault();
      // When the card was read: what reached the case after it is not closed unseen.
      act(entry.id, card, closing, { note: confirm.querySelector("textarea").value, seen_at: entry.seen_at });
    });
    // Another agent's case is taken over, said on the button and after; one's own is let go.
    const assignButton = card.querySelector(".assign");
    const holder = entry.assigned_to;
    if (holder && holder === me) {
      assignButton.textContent = "Unassign";
      assignButton.addEventListener("click", () => act(entry.id, card, "unassign", { to: "" }));
    } else {
      if (holder) assignButton.textContent = `Take over from ${who(holder)}`;
      assignButton.addEventListener("click", () =>
        act(entry.id, card, "assign", { to: "me" }, holder ? `Took over from ${who(holder)}:` : undefined),
      );
    }
    card.querySelector(".snooze").addEventListener("click", () => act(entry.id, card, "snooze", { hours: 4 }));
    card.querySelector("details").addEventListener("toggle", (event) => {
      if (event.target.open) loadTrail(entry.id, card).catch(() => {});
    });
    return card;
  }

  function describe(event) {
    const d = event.detail || {};
    const where = d.gid ? (d.gid.includes("/Order/") ? " on the order" : " on the customer") : "";
    switch (event.what) {
      case "signal": return `${d.kind} signal arrived (${d.severity})`;
      case "decided": return `priority ${d.priority}, due ${new Date(d.deadline_at).toLocaleString()}`;
      case "tagged": return `tags added in Shopify${where}: ${d.tags.join(", ")}`;
      case "untagged": return `tags removed in Shopify${where}: ${d.tags.join(", ")}`;
      case "tag_refused": return `NOT in Shopify: tags refused${where} (${d.why})`;
      case "metafields_cleared": return "case metafields cleared on the customer";
      case "escalated": return `overdue: escalated to ${d.priority}`;
      case "notified": {
        const told = { pending: "told that its tag is not in Shopify yet", overdue: "told that it is overdue" };
        return `${told[d.why] || "notified"}: ${d.channels.join(", ")}`;
      }
      case "notice_failed": {
        // Failed: the channel never had it; uncertain: cut short mid-send, not sent again.
        const notices = { pending: "alert that its tag is not in Shopify yet", overdue: "overdue notice" };
        const what = notices[d.why] || "notice";
        const reached = d.outcome === "uncertain" ? "may NOT have reached" : "NOT delivered to";
        const tries = d.tries > 1 ? `, after ${d.tries} tries` : "";
        return `${what} ${reached} ${d.channels.join(", ")}: ${d.error}${tries}`;
      }
      case "flow_triggered": return "Shopify Flow told: “Unhappy customer detected”";
      case "flow_failed": {
        // failed: refused, or never taken after its tries; uncertain: cut short mid-send.
        const tries = d.tries > 1 ? `, after ${d.tries} tries` : "";
        return d.outcome === "uncertain"
          ? `Shopify Flow may NOT have started: ${d.why}`
          : `Shopify Flow NOT started: ${d.why}${tries}`;
      }
      case "resolved": return `resolved${d.note ? `: “${d.note}”` : ""}`;
      case "not_a_complaint": return `closed as not a complaint${d.note ? `: “${d.note}”` : ""}`;
      case "reopened": return "reopened: the close was undone";
      // Said, not acted on: whether the case is over is the agent's call.
      case "review_changed":
        return d.deleted
          ? "the customer deleted their review (the case stays open until you close it)"
          : `the customer changed their review${d.stars !== null ? ` to ${d.stars}★` : ""}: no complaint in it now (the case stays open until you close it)`;
      case "assigned": return d.to ? `assigned to ${who(d.to)}` : "unassigned";
      case "snoozed": return d.until ? `snoozed until ${new Date(d.until).toLocaleString()}` : "woken";
      default: return event.what;
    }
  }

  function words(w) {
    const parts = [];
    if (w.stars !== undefined && w.stars !== null) parts.push(`${w.stars}★${w.platform ? ` on ${w.platform}` : ""}`);
    if (w.title) parts.push(`“${w.title}”`);
    if (w.text) parts.push(`“${w.text}”`);
    if (w.note) parts.push(`note: “${w.note}”`);
    if (w.dispute_reason) parts.push(`bank's reason: ${w.dispute_reason}`);
    if (w.cancel_reason) parts.push(`cancel reason: ${w.cancel_reason}`);
    return parts;
  }

  async function loadTrail(id, card) {
    const full = await call(`/incidents/${id}`);
    Object.assign(people, full.people);
    // The card shows fewer signals than the case: the words go beside the signal they belong to.
    for (const signal of full.timeline) {
      const said = words(signal.words || {});
      const item = card.querySelector(`.timeline > li[data-signal="${signal.id}"]`);
      if (item && said.length && !item.querySelector(".words")) item.append(text("blockquote", said.join(" · "), "words"));
    }
    card.querySelector(".trail").replaceChildren(
      ...full.trail.map((event) => {
        const item = text("li", "");
        item.append(
          text("time", new Date(event.at).toLocaleString(), "muted small"),
          text("span", ` ${describe(event)} `),
          text("span", `— ${who(event.by)}`, "muted small"),
        );
        return item;
      }),
    );
  }

  const DONE = {
    resolve: "Resolved",
    "not-a-complaint": "Closed as not a complaint:",
    assign: "Assigned to you:",
    unassign: "Unassigned:",
    snooze: "Snoozed for 4 hours:",
  };
  const NEWER = " A newer signal reached the case while you read it: it is open as a new case.";

  function announce(message, undo) {
    // A live region: screen readers hear what the action did, and Undo sits next to it.
    const region = document.getElementById("announce");
    region.replaceChildren(text("span", `${message} `));
    if (undo) {
      const button = text("button", "Undo", "undo");
      button.type = "button";
      button.setAttribute("aria-keyshortcuts", "u");
      button.addEventListener("click", undo);
      region.append(button);
    }
  }

  async function act(id, card, action, payload, said) {
    for (const button of card.querySelectorAll("button")) button.disabled = true;
    try {
      const done = await call(`/incidents/${id}/${action === "unassign" ? "assign" : action}`, {}, "POST", payload);
      const name = card.dataset.name;
      const closing = action === "resolve" || action === "not-a-complaint";
      if (closing) {
        card.classList.add("resolved");
        selected.delete(id);
      }
      if (done.outcome === "already_closed") {
        // Someone (another agent, another tab) closed it first: not her close, so no Undo that
        // would reopen theirs, and her note was not saved.
        const note = payload && typeof payload.note === "string" && payload.note.trim();
        announce(
          `${name} was closed already by ${who(done.resolved_by) || "someone else"}; nothing changed` +
            `${note ? " and your note was not saved" : ""}.`,
        );
      } else {
        if (closing) lastClosed = { ids: [id], name };
        announce(`${said || DONE[action] || action} ${name}.${done.carried_over ? NEWER : ""}`, closing ? undoLastClose : null);
      }
      await refresh();
    } catch (error) {
      for (const button of card.querySelectorAll("button")) button.disabled = false;
      announce(`Could not ${action.replaceAll("-", " ")} ${card.dataset.name}: ${error.message}`);
    }
  }

  async function undoLastClose() {
    if (!lastClosed) return;
    const { ids, name } = lastClosed;
    lastClosed = null;
    const failed = [];
    for (const id of ids) {
      try {
        await call(`/incidents/${id}/reopen`, {}, "POST", {});
      } catch (error) {
        failed.push(error.message);
      }
    }
    announce(failed.length ? `Could not reopen: ${failed.join(", ")}` : `Reopened ${name}.`);
    await refresh();
    if (resolvedView()) await loadResolved();
  }

  function showBulk() {
    const bar = document.getElementById("bulk");
    bar.hidden = selected.size === 0;
    document.getElementById("bulk-count").textContent =
      `${selected.size} case${selected.size === 1 ? "" : "s"} selected`;
  }

  async function bulk(action) {
    const ids = [...selected];
    if (!ids.length) return;
    try {
      const done = await call("/incidents/bulk", {}, "POST", { action, ids, to: "me", seen_at: queueReadAt });
      selected.clear();
      showBulk();
      const count = done.results.length;
      const what = `${count} case${count === 1 ? "" : "s"}`;
      if (action === "resolve") {
        // Cases someone else closed first are not this close's: said apart, and not undone.
        const ids = done.results.filter((r) => r.outcome === "resolved").map((r) => r.id);
        const before = count - ids.length;
        const closed = `${ids.length} case${ids.length === 1 ? "" : "s"}`;
        lastClosed = ids.length ? { ids, name: closed } : null;
        const newer = done.results.filter((r) => r.carried_over).length;
        announce(
          (before ? `Resolved ${closed}; ${before} closed already.` : `Resolved ${what}.`) +
            (newer ? ` ${newer} had a newer signal you had not seen: open as new cases.` : ""),
          ids.length ? undoLastClose : null,
        );
      } else {
        // A case closed meanwhile is not one she took.
        const taken = done.results.filter((r) => r.outcome === "assigned").length;
        const closed = count - taken;
        announce(
          `Assigned ${taken} case${taken === 1 ? "" : "s"} to you` +
            `${closed ? `; ${closed} closed already, not assigned` : ""}.`,
        );
      }
      await refresh();
    } catch (error) {
      announce(`Could not ${action} the selected cases: ${error.message}`);
    }
  }

  async function loadQueue() {
    const status = document.getElementById("queue-status");
    const list = document.getElementById("queue");
    const data = await call("/queue", { ...filters(), page, per_page: PER_PAGE });
    Object.assign(people, data.people);
    me = data.me;
    const pages = Math.max(1, Math.ceil(data.counts.matching / PER_PAGE));
    if (page > pages) {
      // The last page emptied (cases resolved): show the one before.
      page = pages;
      return loadQueue();
    }
    queueReadAt = data.now;
    list.replaceChildren(...data.incidents.map((entry) => renderCard({ ...entry, seen_at: data.now })));
    document.getElementById("page-of").textContent = `page ${page} of ${pages}`;
    document.getElementById("prev").disabled = page <= 1;
    document.getElementById("next").disabled = page >= pages;
    const c = data.counts;
    const snoozed = c.snoozed ? `, ${c.snoozed} snoozed` : "";
    // Counts follow the filters; an empty queue says whether the filters or the shop emptied it.
    status.textContent = c.matching
      ? `${c.matching} ${data.filtered ? `of ${c.open} open match` : "waiting"}` +
        `${c.overdue ? `, ${c.overdue} overdue` : ""}${snoozed}` +
        (pages > 1 ? ` (${(page - 1) * PER_PAGE + 1}–${(page - 1) * PER_PAGE + data.incidents.length} shown)` : "")
      : data.filtered
        ? `No case matches these filters (${c.open} open in all).`
        : `Nobody is waiting${snoozed}.`;
    body.dataset.queueLoaded = String(Date.now());
  }

  // The clout line, drawn under the points. Its words are in the text above the chart and the
  // groups below it, never on the canvas, where points would hide them.
  const splitPlugin = {
    id: "cloutSplit",
    beforeDatasetsDraw(chart, _args, options) {
      const { ctx, chartArea, scales } = chart;
      const y = scales.y.getPixelForValue(options.split);
      ctx.save();
      ctx.fillStyle = "rgba(192,57,43,0.06)";
      ctx.fillRect(chartArea.left, chartArea.top, chartArea.right - chartArea.left, y - chartArea.top);
      ctx.strokeStyle = "#8a4b00";
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.moveTo(chartArea.left, y);
      ctx.lineTo(chartArea.right, y);
      ctx.stroke();
      ctx.restore();
    },
  };

  function waited(hours) {
    return hours >= 48 ? `${Math.round(hours / 24)} d` : hours >= 1 ? `${Math.round(hours)} h` : `${Math.round(hours * 60)} min`;
  }

  function drawPicture(data) {
    const names = Object.fromEntries(data.quadrants.map((q) => [q.key, q.label.split(":")[0]]));
    const split = data.split.clout;
    // Klout is the mark: filled where it is known, hollow where it is not (most customers).
    const kinds = [
      ["Klout known", (p) => p.klout !== null, true],
      ["Klout not known", (p) => p.klout === null, false],
    ];
    const datasets = kinds.map(([label, belongs, filled]) => {
      const points = data.points.filter(belongs).map((p) => ({
        x: p.hours_waiting,
        y: p.clout,
        id: p.incident_id,
        name: p.name,
        klout: p.klout,
        quadrant: p.quadrant,
      }));
      const colours = points.map((p) => PRIORITY_COLOURS[data.points.find((q) => q.incident_id === p.id).priority] || "#555");
      return {
        label,
        data: points,
        borderColor: colours,
        backgroundColor: filled ? colours : "rgba(255,255,255,0.9)",
        borderWidth: 2,
        clip: false, // a customer who has just arrived sits on the axis, drawn whole
        pointRadius: points.map((p) => (p.quadrant === "word-of-mouth" ? 7 : 5)),
        pointHoverRadius: 9,
      };
    });
    const longestWait = Math.max(1, ...data.points.map((p) => p.hours_waiting));
    const config = {
      type: "scatter",
      data: { datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          x: {
            min: 0,
            suggestedMax: longestWait * 1.05,
            title: { display: true, text: "time waiting (hours)" },
          },
          y: { min: 0, max: 100, title: { display: true, text: "clout — pull among your customers" } },
        },
        onClick: (_event, elements) => {
          if (!elements.length) return;
          const { datasetIndex, index } = elements[0];
          openCase(influenceChart.data.datasets[datasetIndex].data[index].id);
        },
        onHover: (event, elements) => {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        },
        plugins: {
          cloutSplit: { split },
          legend: {
            labels: {
              usePointStyle: true,
              // The legend explains the mark (filled or hollow), not one customer's colour.
              generateLabels: (chart) =>
                chart.data.datasets.map((dataset, index) => ({
                  text: dataset.label,
                  datasetIndex: index,
                  hidden: !chart.isDatasetVisible(index),
                  pointStyle: "circle",
                  fillStyle: index === 0 ? "#3d4852" : "#fff",
                  strokeStyle: "#3d4852",
                  lineWidth: 2,
                  fontColor: "#3d4852",
                })),
            },
          },
          tooltip: {
            callbacks: {
              label: (item) =>
                `${item.raw.name}: clout ${Math.round(item.raw.y)}, Klout ${item.raw.klout === null ? "not known" : Math.round(item.raw.klout)}, waiting ${waited(item.raw.x)}`,
            },
          },
        },
      },
      plugins: [splitPlugin],
    };
    if (influenceChart) influenceChart.destroy();
    influenceChart = new window.Chart(document.getElementById("influence-chart"), config);

    const placed = data.points.length;
    document.getElementById("split-note").textContent =
      `Shaded, above the dashed line: clout ${split} or more — ` +
      (split > 50
        ? "the top quarter of this shop's unhappy customers. "
        : "the upper half of the scale (too few scores known to take this shop's quarter). ") +
      `Online reach counts from Klout ${data.split.klout}.`;
    const quadrants = document.getElementById("quadrants");
    quadrants.replaceChildren(
      ...data.quadrants.map((q) => {
        const item = text("li", "");
        item.dataset.quadrant = q.key;
        item.append(text("strong", `${q.customers} `), text("span", q.label));
        return item;
      }),
    );
    if (data.not_placed) {
      quadrants.append(text("li", `${data.not_placed} not placed: clout not known yet, or opted out`, "muted"));
    }
    if (!placed && !data.not_placed) {
      quadrants.append(text("li", data.filtered ? "No customer matches these filters." : "Nobody is waiting.", "muted"));
    }
    // The same data as a table, for screen readers and for anyone who prefers numbers.
    const rows = data.points.slice().sort((a, b) => b.clout - a.clout || b.hours_waiting - a.hours_waiting);
    document.querySelector("#picture-table tbody").replaceChildren(
      ...rows.map((p) => {
        const row = document.createElement("tr");
        const who = document.createElement("td");
        const open = text("button", p.name, "link");
        open.type = "button";
        open.addEventListener("click", () => openCase(p.incident_id));
        who.append(open);
        row.append(
          who,
          text("td", String(Math.round(p.clout))),
          text("td", p.klout === null ? "not known" : String(Math.round(p.klout))),
          text("td", waited(p.hours_waiting)),
          text("td", p.priority || "deciding"),
          text("td", names[p.quadrant] || p.quadrant),
        );
        return row;
      }),
    );

    const bands = data.fairness.slice().sort((a, b) => BAND_ORDER.indexOf(a.band) - BAND_ORDER.indexOf(b.band));
    // Hours on a normal day; minutes when cases close within the hour (a demo, a quiet shop).
    const longest = Math.max(0, ...bands.map((b) => b.median_to_resolve_hours || 0));
    const [unit, scale] = longest >= 1 ? ["hours", 1] : ["minutes", 60];
    const fairness = {
      type: "bar",
      data: {
        labels: bands.map((b) => `${b.band} (${b.resolved} of ${b.incidents} resolved)`),
        datasets: [
          {
            label: `median ${unit} to resolution`,
            data: bands.map((b) => (b.median_to_resolve_hours === null ? null : b.median_to_resolve_hours * scale)),
            backgroundColor: "#2e86c1",
          },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: `median ${unit} to resolution` } } },
        plugins: { legend: { display: false } },
      },
    };
    if (fairnessChart) fairnessChart.destroy();
    fairnessChart = new window.Chart(document.getElementById("fairness-chart"), fairness);
    const high = bands.find((b) => b.band === "high");
    // One case a band is chance, not a pattern: too few beside the high band's is not compared.
    const compared = bands.filter(
      (b) => high && b.band !== "high" && Math.min(b.resolved, high.resolved) >= FAIRNESS_MIN_CASES,
    );
    const slower = compared.filter(
      (b) => high.median_to_resolve_hours && b.median_to_resolve_hours > high.median_to_resolve_hours * FAIRNESS_WARN_RATIO,
    );
    const tooFew = `too few resolved cases (a band is compared with the high band's from ${FAIRNESS_MIN_CASES} each)`;
    const toTag = bands
      .filter((b) => b.median_to_tag_seconds !== null)
      .map((b) => `${b.band} ${b.median_to_tag_seconds.toFixed(1)} s`);
    const resolvedAny = bands.some((b) => b.resolved > 0);
    document.getElementById("fairness-note").textContent = [
      !bands.length
        ? "No cases in the last 90 days."
        : !resolvedAny
          ? "No case resolved yet: nothing to compare."
          : slower.length
            ? `Waiting longer than high-influence customers: ${slower.map((b) => b.band).join(", ")}.`
            : compared.length
              ? `No influence band waits noticeably longer than the high band${compared.length < bands.length - 1 ? `; others: ${tooFew}` : ""}.`
              : `No band compared yet: ${tooFew}.`,
      toTag.length ? `Median time to the attention tag: ${toTag.join(" · ")}.` : "",
    ].join(" ");
    body.dataset.chartsDrawn = String(Date.now());
  }

  async function loadPicture() {
    // The picture follows the filters: it shows the cases the queue does.
    drawPicture(await call("/picture", filters()));
  }

  // What keeps the floor from reaching people (a tag Shopify refused, notices not arriving),
  // above the queue. A failure to read it must not hide the queue: it is left as it was.
  async function loadHealth() {
    let data;
    try {
      data = await call("/health");
    } catch (error) {
      return;
    }
    const box = document.getElementById("health");
    const list = document.getElementById("health-problems");
    list.replaceChildren(
      ...data.problems.map((problem) => {
        const item = text("li", `${problem.says}. `);
        item.append(text("span", problem.to_do, "to-do"));
        return item;
      }),
    );
    box.hidden = data.problems.length === 0;
    body.dataset.healthLoaded = String(Date.now());
  }

  async function refresh() {
    loadHealth();
    try {
      await Promise.all([loadQueue(), loadPicture()]);
      const status = document.getElementById("queue-status").textContent;
      document.getElementById("summary").textContent = `${shop()} · ${status}`;
    } catch (error) {
      failed(error);
    }
  }

  function failed(error) {
    // Say so, and offer a retry: stale cards must not pass for current ones.
    const status = document.getElementById("queue-status");
    status.textContent = `Could not load the queue (${error.message}). `;
    const retry = text("button", "Retry", "link");
    retry.type = "button";
    retry.addEventListener("click", refresh);
    status.append(retry);
    document.getElementById("queue").replaceChildren();
  }

  // --- resolved cases -----------------------------------------------------------------------

  function resolvedView() {
    return !document.getElementById("resolved-view").hidden;
  }

  function renderResolved(entry) {
    const item = text("li", "", "card closed");
    item.dataset.incident = entry.id;
    const head = document.createElement("header");
    head.append(
      text("strong", entry.customer.name, "name"),
      text("span", entry.resolution === "not_a_complaint" ? "not a complaint" : "resolved", "chip"),
    );
    const took = entry.hours_to_resolve === null ? "" : ` after ${waited(entry.hours_to_resolve)}`;
    const deadline = entry.met_deadline === null ? "" : entry.met_deadline ? ", within its deadline" : ", past its deadline";
    item.append(
      head,
      text(
        "p",
        `${new Date(entry.resolved_at).toLocaleString()} by ${who(entry.resolved_by)}${took}${deadline}`,
        "muted small",
      ),
    );
    if (entry.note) item.append(text("blockquote", `“${entry.note}”`, "words"));
    const reopen = text("button", "Reopen", "reopen");
    reopen.type = "button";
    reopen.setAttribute("aria-label", `Reopen ${entry.customer.name}'s case`);
    reopen.addEventListener("click", async () => {
      reopen.disabled = true;
      try {
        await call(`/incidents/${entry.id}/reopen`, {}, "POST", {});
        announce(`Reopened ${entry.customer.name}.`);
        await Promise.all([loadResolved(), refresh()]);
      } catch (error) {
        reopen.disabled = false;
        announce(`Could not reopen ${entry.customer.name}: ${error.message}`);
      }
    });
    const foot = document.createElement("footer");
    foot.append(reopen);
    item.append(foot);
    return item;
  }

  async function loadResolved() {
    const status = document.getElementById("resolved-status");
    try {
      const data = await call("/resolved", { page: resolvedPage, per_page: PER_PAGE });
      Object.assign(people, data.people);
      const pages = Math.max(1, Math.ceil(data.total / PER_PAGE));
      document.getElementById("resolved").replaceChildren(...data.incidents.map(renderResolved));
      document.getElementById("resolved-page-of").textContent = `page ${resolvedPage} of ${pages}`;
      document.getElementById("resolved-prev").disabled = resolvedPage <= 1;
      document.getElementById("resolved-next").disabled = resolvedPage >= pages;
      status.textContent = data.total ? `${data.total} closed cases, latest first` : "No case closed yet.";
    } catch (error) {
      status.textContent = `Could not load resolved cases (${error.message}). `;
      const retry = text("button", "Retry", "link");
      retry.type = "button";
      retry.addEventListener("click", loadResolved);
      status.append(retry);
    }
  }

  function showView(resolved) {
    document.getElementById("waiting-view").hidden = resolved;
    document.getElementById("resolved-view").hidden = !resolved;
    document.getElementById("show-waiting").setAttribute("aria-pressed", String(!resolved));
    document.getElementById("show-resolved").setAttribute("aria-pressed", String(resolved));
    if (resolved) loadResolved();
  }

  // --- the case, from the picture or the table ----------------------------------------------

  async function openCase(id) {
    const dialog = document.getElementById("case-dialog");
    try {
      const full = await call(`/incidents/${id}`);
      Object.assign(people, full.people);
      document.getElementById("case-dialog-title").textContent = full.customer.name;
      document.getElementById("case-dialog-summary").textContent = [
        full.status === "open"
          ? `${full.priority || "new"} · ${timeLeft(full.seconds_left, full.overdue)}`
          : full.status,
        full.customer.email,
        full.orders.map((o) => `${o.name}${o.total ? ` ${o.total} ${o.currency || ""}` : ""}`).join(", "),
      ]
        .filter(Boolean)
        .join(" · ");
      const unshown = full.signal_count - full.timeline.length;
      document.getElementById("case-dialog-signals").replaceChildren(
        ...full.timeline.map((signal) =>
          text("li", `${signal.kind}${signal.order ? ` on ${signal.order}` : ""}: ${[...signal.sentences, ...words(signal.words || {})].join(" · ")}`),
        ),
        ...(unshown > 0 ? [text("li", `and ${unshown} more, older or less severe`, "muted small")] : []),
      );
      document.getElementById("case-dialog-trail").replaceChildren(
        ...full.trail.map((event) => text("li", `${new Date(event.at).toLocaleString()} ${describe(event)} — ${who(event.by)}`)),
      );
      if (!dialog.open) dialog.showModal();
    } catch (error) {
      announce(`Could not open the case: ${error.message}`);
    }
  }

  // --- keyboard -----------------------------------------------------------------------------

  function cards() {
    return [...document.querySelectorAll("#queue > .card")];
  }

  function currentCard() {
    const active = document.activeElement;
    return active && active.closest ? active.closest("#queue > .card") : null;
  }

  function move(step) {
    const all = cards();
    if (!all.length) return;
    const at = all.indexOf(currentCard());
    const next = all[Math.min(all.length - 1, Math.max(0, at === -1 ? 0 : at + step))];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }

  const KEYS = {
    j: () => move(1),
    k: () => move(-1),
    "/": () => document.querySelector("#filters input[name=q]").focus(),
    "[": () => !document.getElementById("prev").disabled && document.getElementById("prev").click(),
    "]": () => !document.getElementById("next").disabled && document.getElementById("next").click(),
    u: () => undoLastClose(),
  };
  const CARD_KEYS = {
    o: (card) => {
      const details = card.querySelector("details");
      details.open = !details.open;
    },
    x: (card) => card.querySelector(".pick").click(),
    r: (card) => card.querySelector(".resolve").click(),
    n: (card) => card.querySelector(".not-complaint").click(),
    a: (card) => card.querySelector(".assign").click(),
    s: (card) => card.querySelector(".snooze").click(),
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    // Typing in a field is typing, not a command.
    if (target.closest && target.closest("input:not([type=checkbox]), textarea, select, dialog")) return;
    if (resolvedView()) return;
    const card = currentCard();
    const action = KEYS[event.key] || (card && CARD_KEYS[event.key] ? () => CARD_KEYS[event.key](card) : null);
    if (!action) return;
    event.preventDefault();
    action();
  });

  // --- wiring -------------------------------------------------------------------------------

  const form = document.getElementById("filters");
  const refilter = () => {
    page = 1; // a new question starts on its first page
    refresh();
  };
  form.addEventListener("change", refilter);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    refilter();
  });
  document.getElementById("prev").addEventListener("click", () => {
    page = Math.max(1, page - 1);
    loadQueue().catch(failed);
  });
  document.getElementById("next").addEventListener("click", () => {
    page += 1;
    loadQueue().catch(failed);
  });
  document.getElementById("resolved-prev").addEventListener("click", () => {
    resolvedPage = Math.max(1, resolvedPage - 1);
    loadResolved();
  });
  document.getElementById("resolved-next").addEventListener("click", () => {
    resolvedPage += 1;
    loadResolved();
  });
  document.getElementById("show-waiting").addEventListener("click", () => showView(false));
  document.getElementById("show-resolved").addEventListener("click", () => showView(true));
  document.getElementById("bulk-resolve").addEventListener("click", () => bulk("resolve"));
  document.getElementById("bulk-assign").addEventListener("click", () => bulk("assign"));
  document.getElementById("bulk-clear").addEventListener("click", () => {
    selected.clear();
    for (const box of document.querySelectorAll("#queue .pick")) box.checked = false;
    showBulk();
  });
  const picker = document.getElementById("shop");
  if (picker) picker.addEventListener("change", refilter);
  // Offline, say so at once rather than on the next failed call; back online, catch up.
  window.addEventListener("offline", () => failed(new Error("this device is offline")));
  window.addEventListener("online", refresh);
  refresh();
  // A busy day: the queue keeps itself current.
  // Not while the agent is on a card or writing a note: a redraw would take their place away.
  setInterval(() => {
    const busy = document.activeElement && document.activeElement.closest("#queue");
    if (!busy && !resolvedView()) loadQueue().catch(failed);
  }, 30000);
})();
