// The agents' page: reads the queue and the picture from /agents/api, resolves cases.
// Inside the Shopify admin every call carries an App Bridge session token; standalone, the
// login cookie plus a CSRF token on changes.
"use strict";

(() => {
  const body = document.body;
  const api = body.dataset.api;
  const embedded = body.dataset.mode === "embedded";
  const PRIORITY_COLOURS = { urgent: "#c0392b", high: "#e67e22", normal: "#2e86c1" };
  const BAND_ORDER = ["unknown", "opted-out", "low", "medium", "high"];
  // Customers with no known online presence are drawn in a strip left of zero, spread out a
  // little (by incident id, so they stay put between refreshes) rather than piled on one line.
  const UNKNOWN_STRIP = [-19, -3];
  let influenceChart = null;
  let fairnessChart = null;

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
    if (!response.ok) throw new Error(data.outcome || `HTTP ${response.status}`);
    return data;
  }

  function text(tag, content, className) {
    const node = document.createElement(tag);
    node.textContent = content;
    if (className) node.className = className;
    return node;
  }

  function timeLeft(seconds) {
    if (seconds === null || seconds === undefined) return "deciding…";
    const late = seconds < 0;
    let rest = Math.abs(seconds);
    const days = Math.floor(rest / 86400);
    rest -= days * 86400;
    const hours = Math.floor(rest / 3600);
    const minutes = Math.floor((rest - hours * 3600) / 60);
    const span = days ? `${days} d ${hours} h` : hours ? `${hours} h ${minutes} min` : `${minutes} min`;
    return late ? `overdue by ${span}` : `${span} left`;
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
    card.dataset.deadline = entry.deadline_at || "";
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
    card.querySelector(".left").textContent = timeLeft(entry.seconds_left);
    if (entry.tag_state === "pending") {
      // A tag Shopify has not taken yet must not look like one it has.
      card.querySelector(".reasons").before(
        text("p", "Not tagged in Shopify yet: Clout keeps trying", "pending"),
      );
    }
    card.querySelector(".reasons").append(
      ...entry.reasons.map((reason) => text("span", reason, "chip")),
      text("span", ` ${entry.severity}`, "muted small"),
      text("span", ` · influence ${entry.band}`, "muted small band"),
      text("span", entry.assigned_to ? ` · assigned to ${entry.assigned_to}` : "", "muted small"),
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
      timeline.append(item);
    }
    const why = card.querySelector(".influence");
    for (const [label, sentences] of [
      ["Clout", influence.clout_reasons],
      ["Klout", influence.klout_reasons],
    ]) {
      why.append(text("h4", `${label}: ${score(influence[label.toLowerCase()])}`));
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
    confirm.querySelector(".cancel").addEventListener("click", () => (confirm.hidden = true));
    confirm.addEventListener("submit", (event) => {
      event.preventDefault();
      act(entry.id, card, closing, { note: confirm.querySelector("textarea").value });
    });
    card.querySelector(".assign").addEventListener("click", () => act(entry.id, card, "assign", { to: "me" }));
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
      case "notified": return `notified: ${d.channels.join(", ")}`;
      case "resolved": return `resolved${d.note ? `: “${d.note}”` : ""}`;
      case "not_a_complaint": return `closed as not a complaint${d.note ? `: “${d.note}”` : ""}`;
      case "assigned": return d.to ? `assigned to ${d.to}` : "unassigned";
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
    const items = card.querySelectorAll(".timeline > li");
    full.timeline.forEach((signal, index) => {
      const said = words(signal.words || {});
      if (items[index] && said.length) items[index].append(text("blockquote", said.join(" · "), "words"));
    });
    card.querySelector(".trail").replaceChildren(
      ...full.trail.map((event) => {
        const item = text("li", "");
        item.append(
          text("time", new Date(event.at).toLocaleString(), "muted small"),
          text("span", ` ${describe(event)} `),
          text("span", `— ${event.by}`, "muted small"),
        );
        return item;
      }),
    );
  }

  async function act(id, card, action, payload) {
    const status = document.getElementById("queue-status");
    for (const button of card.querySelectorAll("button")) button.disabled = true;
    try {
      await call(`/incidents/${id}/${action}`, {}, "POST", payload);
      if (action === "resolve" || action === "not-a-complaint") card.classList.add("resolved");
      setTimeout(() => refresh(), 200);
    } catch (error) {
      for (const button of card.querySelectorAll("button")) button.disabled = false;
      status.textContent = `Could not ${action.replaceAll("-", " ")}: ${error.message}`;
    }
  }

  async function loadQueue() {
    const status = document.getElementById("queue-status");
    const list = document.getElementById("queue");
    const data = await call("/queue", filters());
    list.replaceChildren(...data.incidents.map(renderCard));
    const c = data.counts;
    const snoozed = c.snoozed ? `, ${c.snoozed} snoozed` : "";
    // Counts follow the filters; an empty queue says whether the filters or the shop emptied it.
    status.textContent = c.matching
      ? `${c.matching} ${data.filtered ? `of ${c.open} open match` : "waiting"}` +
        `${c.overdue ? `, ${c.overdue} overdue` : ""}${snoozed}` +
        (c.matching > data.incidents.length ? ` (first ${data.incidents.length} shown)` : "")
      : data.filtered
        ? `No case matches these filters (${c.open} open in all).`
        : `Nobody is waiting${snoozed}.`;
    body.dataset.queueLoaded = String(Date.now());
  }

  // Quadrant backgrounds and names, drawn under the points.
  const quadrantPlugin = {
    id: "cloutQuadrants",
    beforeDatasetsDraw(chart, _args, options) {
      const { ctx, chartArea, scales } = chart;
      const midX = scales.x.getPixelForValue(options.split);
      const midY = scales.y.getPixelForValue(options.split);
      const zero = scales.x.getPixelForValue(0);
      const areas = [
        ["word-of-mouth", chartArea.left, chartArea.top, midX, midY, "rgba(192,57,43,0.07)"],
        ["everywhere", midX, chartArea.top, chartArea.right, midY, "rgba(142,68,173,0.06)"],
        ["everyday", chartArea.left, midY, midX, chartArea.bottom, "rgba(127,140,141,0.05)"],
        ["online-only", midX, midY, chartArea.right, chartArea.bottom, "rgba(41,128,185,0.06)"],
      ];
      ctx.save();
      ctx.font = "12px system-ui, sans-serif";
      ctx.fillStyle = "#555";
      for (const [key, x1, y1, x2, y2, fill] of areas) {
        ctx.fillStyle = fill;
        ctx.fillRect(x1, y1, x2 - x1, y2 - y1);
        ctx.fillStyle = "#444";
        ctx.fillText(options.names[key] || key, x1 + 6, y1 + 16);
      }
      // The strip of customers with no known online presence.
      ctx.fillStyle = "rgba(0,0,0,0.04)";
      ctx.fillRect(chartArea.left, chartArea.top, zero - chartArea.left, chartArea.bottom - chartArea.top);
      ctx.restore();
    },
  };

  function unknownX(id) {
    const [low, high] = UNKNOWN_STRIP;
    const spread = ((id * 2654435761) % 1000) / 1000;
    return low + spread * (high - low);
  }

  function shortName(label) {
    return label.split(":")[0];
  }

  function drawPicture(data) {
    const names = Object.fromEntries(data.quadrants.map((q) => [q.key, shortName(q.label)]));
    const byPriority = {};
    for (const point of data.points) {
      (byPriority[point.priority || "normal"] ||= []).push({
        x: point.klout === null ? unknownX(point.incident_id) : point.klout,
        y: point.clout,
        name: point.name,
        klout: point.klout,
        quadrant: point.quadrant,
      });
    }
    const datasets = Object.entries(byPriority).map(([priority, points]) => ({
      label: priority,
      data: points,
      backgroundColor: PRIORITY_COLOURS[priority] || "#555",
      pointRadius: points.map((p) => (p.quadrant === "word-of-mouth" ? 7 : 4)),
      pointStyle: points.map((p) => (p.klout === null ? "rectRot" : "circle")),
    }));
    const config = {
      type: "scatter",
      data: { datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          x: {
            min: -20,
            max: 100,
            title: { display: true, text: "Klout — online reach (◆ left of 0: none known)" },
            ticks: { stepSize: 10, maxRotation: 0, callback: (v) => (v === -10 ? "none" : v < 0 ? "" : v) },
          },
          y: { min: 0, max: 100, title: { display: true, text: "clout — pull among your customers" } },
        },
        plugins: {
          cloutQuadrants: { split: 50, names },
          tooltip: {
            callbacks: {
              label: (item) =>
                `${item.raw.name}: clout ${Math.round(item.raw.y)}, Klout ${item.raw.klout === null ? "unknown" : Math.round(item.raw.klout)}`,
            },
          },
        },
      },
      plugins: [quadrantPlugin],
    };
    if (influenceChart) influenceChart.destroy();
    influenceChart = new window.Chart(document.getElementById("influence-chart"), config);

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
      quadrants.append(text("li", `${data.not_placed} not placed: influence not known yet or opted out`, "muted"));
    }

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
    const slower = bands.filter(
      (b) => high && high.median_to_resolve_hours && b.band !== "high" && b.median_to_resolve_hours > high.median_to_resolve_hours * 1.25,
    );
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
            : "No influence band waits noticeably longer than another.",
      toTag.length ? `Median time to the attention tag: ${toTag.join(" · ")}.` : "",
    ].join(" ");
    body.dataset.chartsDrawn = String(Date.now());
  }

  async function loadPicture() {
    drawPicture(await call("/picture"));
  }

  async function refresh() {
    try {
      await Promise.all([loadQueue(), loadPicture()]);
      const status = document.getElementById("queue-status").textContent;
      document.getElementById("summary").textContent = `${shop()} · ${status}`;
    } catch (error) {
      document.getElementById("queue-status").textContent = `Could not load: ${error.message}`;
    }
  }

  function failed(error) {
    // Say so, and offer a retry: stale cards must not pass for current ones.
    const status = document.getElementById("queue-status");
    status.textContent = `Could not load the queue (${error.message}). `;
    const retry = text("button", "Retry", "link");
    retry.type = "button";
    retry.addEventListener("click", () => loadQueue().catch(failed));
    status.append(retry);
    document.getElementById("queue").replaceChildren();
  }

  const form = document.getElementById("filters");
  form.addEventListener("change", () => loadQueue().catch(failed));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    loadQueue().catch(failed);
  });
  const picker = document.getElementById("shop");
  if (picker) picker.addEventListener("change", refresh);
  refresh();
  // A busy day: the queue keeps itself current.
  setInterval(() => loadQueue().catch(() => {}), 30000);
})();
