// The store's settings inside the Shopify admin. Every call carries an App Bridge session
// token; nothing else is accepted by /app/api/settings.
"use strict";

(() => {
  const api = document.body.dataset.api;
  const LABELS = {
    "deadline.critical": "Deadline, critical cases (hours)",
    "deadline.high": "Deadline, high (hours)",
    "deadline.normal": "Deadline, normal (hours)",
    "deadline.low": "Deadline, low (hours)",
    attention_tag: "Attention tag",
    resolved_tag: "Resolved tag",
    opt_out_tag: "Opt-out customer tag",
    "notify.email": "Email overdue cases to",
    "notify.webhook_url": "Signed webhook URL",
    "notify.webhook_secret": "Webhook signing secret",
    "notify.slack_url": "Slack incoming-webhook URL",
    klout: "Look up online reach (Klout)",
    pending_alert_minutes: "Alert when a tag has not reached Shopify after (minutes)",
  };
  let shown = {};

  async function call(path, method = "GET", payload = undefined) {
    const headers = { Accept: "application/json" };
    if (window.shopify && typeof window.shopify.idToken === "function") {
      headers.Authorization = "Bearer " + (await window.shopify.idToken());
    }
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || data.outcome || `HTTP ${response.status}`);
    return data;
  }

  function el(tag, attrs = {}, text = undefined) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderFields(settings) {
    const box = document.getElementById("fields");
    box.replaceChildren();
    shown = {};
    for (const row of settings) {
      const label = el("label", { class: "field" });
      label.append(el("span", {}, LABELS[row.key] || row.key));
      let input;
      if (row.key === "klout") {
        input = el("select", { name: row.key });
        for (const option of ["on", "off"]) input.append(el("option", { value: option }, option));
        input.value = row.value;
      } else {
        const secret = row.key.endsWith("secret");
        input = el("input", { name: row.key, type: secret ? "password" : "text", autocomplete: "off" });
        if (secret) {
          input.placeholder = row.value === "(set)" ? "(set — type to replace)" : "(not set)";
        } else if (row.own) {
          input.value = row.value;
        } else {
          input.placeholder = row.value;
        }
      }
      shown[row.key] = input.value;
      label.append(input, el("small", { class: "muted" }, row.meaning + (row.own ? "" : " — default")));
      box.append(label);
    }
  }

  function renderHistory(history) {
    const body = document.getElementById("history");
    body.replaceChildren();
    for (const row of history) {
      const tr = el("tr");
      for (const cell of [row.at.slice(0, 16).replace("T", " "), row.by, row.key, row.old, row.new]) {
        tr.append(el("td", {}, cell));
      }
      body.append(tr);
    }
    if (!history.length) {
      const tr = el("tr");
      tr.append(el("td", { colspan: "5", class: "muted" }, "No changes yet."));
      body.append(tr);
    }
  }

  function renderReviewApps(apps, publicUrlSet) {
    document.getElementById("public-url-note").hidden = publicUrlSet;
    const list = document.getElementById("review-apps");
    list.replaceChildren();
    for (const app of apps) {
      const item = el("li", { class: "review-app" + (app.connected ? " connected" : "") });
      const head = el("div", { class: "review-head" });
      head.append(el("strong", {}, app.name));
      const arrived = app.last_delivery
        ? `last delivery ${app.last_delivery.received_at.slice(0, 16).replace("T", " ")} UTC (${app.last_delivery.status}), ${app.last_delivery.count} in all`
        : app.connected ? "connected — nothing has arrived yet; send a test review" : "not connected";
      head.append(el("span", { class: "muted small" }, arrived));
      item.append(head);
      const details = el("details");
      details.append(el("summary", {}, app.connected ? "Where the URL goes" : "Connect"));
      details.append(el("p", { class: "small" }, "URL: "), el("code", { class: "url" }, app.url));
      const steps = el("pre", { class: "steps" }, app.steps.join("\n"));
      details.append(steps);
      const form = el("form", { class: "inline", "data-provider": app.provider });
      if (app.secret_from === "theirs") {
        form.append(el("input", { name: "secret", type: "password", placeholder: app.secret_is, autocomplete: "off" }));
        form.append(el("button", { type: "submit" }, app.connected ? "Replace secret" : "Save secret"));
      } else {
        form.append(el("button", { type: "submit", name: "renew" }, app.connected ? "New secret (the old URL stops working)" : "Connect"));
      }
      if (app.connected) {
        const off = el("button", { type: "button", class: "link", "data-disconnect": app.provider }, "Disconnect");
        form.append(off);
      }
      details.append(form);
      item.append(details);
      list.append(item);
    }
  }

  function render(data) {
    renderFields(data.settings);
    renderHistory(data.history);
    renderReviewApps(data.review_apps, data.public_url_set);
  }

  function status(message, isError = false) {
    const node = document.getElementById("form-status");
    node.textContent = message;
    node.className = isError ? "error" : "muted";
  }

  document.getElementById("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const changes = {};
    for (const input of event.target.querySelectorAll("[name]")) {
      if (input.value !== shown[input.name]) changes[input.name] = input.value;
    }
    if (!Object.keys(changes).length) return status("Nothing to save.");
    try {
      const data = await call(api, "POST", { changes });
      render(data);
      const names = data.changed.map((c) => `${c.key}: ${c.old} → ${c.new}`).join("; ");
      status(data.changed.length ? `Saved. ${names}` + (data.retagging ? ` — retagging ${data.retagging} open case(s).` : "") : "Nothing changed.");
    } catch (error) {
      status(`Not saved: ${error.message}`, true);
    }
  });

  document.getElementById("review-apps").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const provider = form.dataset.provider;
    const secret = form.querySelector("[name=secret]");
    const payload = secret ? { secret: secret.value } : { renew: true };
    try {
      render(await call(`${api.replace("/settings", "/review-apps")}/${provider}`, "POST", payload));
    } catch (error) {
      window.alert(`Could not connect: ${error.message}`);
    }
  });

  document.getElementById("review-apps").addEventListener("click", async (event) => {
    const provider = event.target.dataset && event.target.dataset.disconnect;
    if (!provider) return;
    render(await call(`${api.replace("/settings", "/review-apps")}/${provider}`, "DELETE"));
  });

  call(api).then(render).catch((error) => status(`Could not load the settings: ${error.message}`, true));
})();
