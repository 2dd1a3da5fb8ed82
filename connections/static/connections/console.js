/* Connection console: copy buttons, and live progress of channel registration.
 *
 * While registration is in progress the panel polls its JSON status every 2 s and updates in
 * place; the server renders the same data, so a plain reload shows the same state. No build step.
 */
(function () {
  "use strict";
  var POLL_MS = 2000;

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-http hosts have no Clipboard API; fall back to a hidden textarea.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".hitl-copy-btn");
    if (!button) { return; }
    event.preventDefault();
    copy(button.getAttribute("data-copy")).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    });
  });

  function setText(root, field, text) {
    var el = root.querySelector('[data-field="' + field + '"]');
    if (el) { el.textContent = text; }
    return el;
  }

  function show(el, visible) {
    if (el) { el.hidden = !visible; }
  }

  function setBadge(el, label, tone) {
    if (!el) { return; }
    el.textContent = label;
    el.className = "hitl-badge hitl-" + tone;
  }

  function renderInboxes(inboxes) {
    inboxes.forEach(function (inbox) {
      var row = document.querySelector('tr[data-inbox-id="' + inbox.inbox_id + '"]');
      if (!row) { return; }
      setBadge(row.querySelector('[data-field="label"]'), inbox.label, inbox.tone);
      var account = row.querySelector('[data-field="channel_account_id"]');
      account.textContent = "";
      if (inbox.channel_account_id) {
        var code = document.createElement("code");
        code.textContent = inbox.channel_account_id;
        account.appendChild(code);
      } else {
        account.textContent = "not yet";
      }
      show(setText(row, "last_error", inbox.last_error), Boolean(inbox.last_error));
    });
  }

  function render(panel, data) {
    var reg = data.registration;
    setBadge(panel.querySelector('[data-field="label"]'), reg.label, reg.tone);
    setText(panel, "detail", reg.detail);
    show(setText(panel, "last_error", reg.last_error), reg.state === "failed" && Boolean(reg.last_error));
    show(panel.querySelector('[data-field="spinner"]'), reg.in_progress);
    setText(panel, "channel_id", data.channel.channel_id || "not created yet");
    setText(panel, "duplicate_ids", data.channel.duplicates.join(", "));
    show(panel.querySelector('[data-field="duplicates"]'), data.channel.duplicates.length > 0);
    show(panel.querySelector('[data-field="unregister"]'), reg.registered);
    var button = document.getElementById("register-button");
    if (button) {
      button.textContent = reg.registered ? button.dataset.labelAgain : button.dataset.labelNew;
    }
    panel.dataset.inProgress = String(reg.in_progress);
    renderInboxes(data.inboxes);
  }

  function poll(panel) {
    fetch(panel.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        // Logged out or lost access: polling cannot help, a reload shows why.
        if (response.status >= 400 && response.status < 500) { return null; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        if (data === null) { return; }
        render(panel, data);
        if (data.registration.in_progress) { setTimeout(function () { poll(panel); }, POLL_MS); }
      })
      .catch(function () {
        // A dropped request (deploy, network) is retried; the state lives on the server.
        setTimeout(function () { poll(panel); }, POLL_MS * 2);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.querySelector("[data-status-url]");
    if (panel && panel.dataset.inProgress === "true") {
      setTimeout(function () { poll(panel); }, POLL_MS);
    }
  });
})();
