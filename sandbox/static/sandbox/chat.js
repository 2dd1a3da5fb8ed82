// The sandbox chat page: polls the page's state/ endpoint every 2 s and redraws the chat from it,
// and posts the page's forms with fetch so the conversation never reloads. Plain JS, no build step.
(function () {
  var root = document.getElementById("chat");
  if (!root) return;
  var lines = document.getElementById("chat-lines");
  var statusPill = document.getElementById("chat-status");
  var errorBox = document.getElementById("chat-error");
  var eventLog = document.getElementById("event-log");
  var lastSeq = document.getElementById("last-seq");
  var escalationId = document.getElementById("escalation-id");
  var every = parseInt(root.getAttribute("data-every") || "2000", 10);
  var lastJson = null;
  var closedNote = document.getElementById("chat-closed");
  var queueBanner = document.getElementById("chat-queue");
  var ending = false;

  // Enter sends, Shift+Enter makes a new line (as in every chat app).
  var textarea = document.querySelector("#send-form textarea");
  if (textarea) {
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (textarea.value.trim()) { document.getElementById("send-form").requestSubmit(); }
      }
    });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function bubble(cls, author, text) {
    var msg = el("div", "msg " + cls);
    msg.appendChild(el("div", "meta", author));
    if (text) msg.appendChild(el("div", "bubble", text));
    return msg;
  }

  function render(state) {
    var stick = lines.scrollHeight - lines.scrollTop - lines.clientHeight < 40;
    lines.textContent = "";
    var afterTranscript = false;
    state.lines.forEach(function (line) {
      if (line.kind === "transcript") {
        lines.appendChild(bubble(line.role === "user" ? "user" : "bot", line.role === "user" ? "You" : "Bot", line.text));
        return;
      }
      if (!afterTranscript) {
        lines.appendChild(el("div", "divider", "Handed over to a human"));
        afterTranscript = true;
      }
      if (line.kind === "user") {
        lines.appendChild(bubble("user", "You", line.text));
      } else if (line.kind === "agent") {
        var msg = bubble("agent", line.author, line.text);
        msg.setAttribute("data-sequence", line.sequence);
        if (line.attachments.length) {
          var box = el("div", "attachments");
          line.attachments.forEach(function (a) {
            var link = el("a", "file", "📎 " + a.name);
            link.href = a.url;
            link.target = "_blank";
            link.rel = "noopener";
            box.appendChild(link);
          });
          msg.appendChild(box);
        }
        lines.appendChild(msg);
      } else {
        var note = el("div", "event " + line.type.replace("escalation.", ""), line.text);
        note.setAttribute("data-sequence", line.sequence);
        lines.appendChild(note);
      }
    });
    if (stick) lines.scrollTop = lines.scrollHeight;

    // "You are 3rd in line, about 4 minutes": from the newest opened / queue_updated event.
    queueBanner.textContent = state.queue || "";
    queueBanner.hidden = !state.queue;
    statusPill.textContent = state.status;
    statusPill.className = "pill " + state.status;
    lastSeq.textContent = state.last_sequence;
    if (state.escalation_id) escalationId.textContent = state.escalation_id;
    eventLog.textContent = "";
    state.lines.forEach(function (line) {
      if (line.sequence === undefined || line.sequence === null) return;
      var item = el("li");
      item.appendChild(el("code", "", "#" + line.sequence + " " + line.type));
      eventLog.appendChild(item);
    });
    if (!eventLog.children.length) eventLog.appendChild(el("li", "muted", "none yet"));
    document.querySelectorAll("#send-form button, #send-form textarea, #end-button").forEach(function (b) {
      b.disabled = !state.active;
    });
    closedNote.hidden = state.active;
  }

  function refresh() {
    return fetch(root.getAttribute("data-state-url"), { headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (text === null || text === lastJson) return;
        lastJson = text;
        render(JSON.parse(text));
      })
      .catch(function () { /* the server restarts now and then: next tick */ });
  }

  function showError(message) {
    errorBox.hidden = !message;
    errorBox.textContent = message || "";
  }

  document.querySelectorAll("form[data-fetch]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (form.hasAttribute("data-confirm")) {
        // Asked once; a second click while the first is under way does nothing.
        if (ending || !window.confirm(form.getAttribute("data-confirm"))) return;
        ending = true;
      }
      var buttons = form.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      fetch(form.action, { method: "POST", body: new FormData(form), headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          showError(body.ok ? "" : body.error);
          if (body.ok && form.id === "send-form") {
            form.querySelector("textarea").value = "";
            // A fresh token per message: the next one must not be taken for a resubmission.
            form.querySelector("input[name=token]").value = Math.random().toString(16).slice(2) + Date.now();
          }
        })
        .catch(function () { showError("The page could not reach the server; try again."); })
        .then(function () {
          ending = false;
          buttons.forEach(function (b) { b.disabled = false; });
          lastJson = null;
          return refresh();
        });
    });
  });

  refresh();
  setInterval(function () { if (!document.hidden) refresh(); }, every);
})();
