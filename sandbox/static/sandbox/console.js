// Keeps console lists fresh: every element with data-refresh-url is re-fetched every few seconds
// (as an HTML fragment) and swapped in place. Forms live outside those elements, so typing is
// never lost. Message lists stay scrolled to the newest message when they were already there.
(function () {
  function atBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  }
  document.querySelectorAll("[data-stick-bottom]").forEach(function (el) {
    el.scrollTop = el.scrollHeight;
    el.addEventListener("scroll", function () {
      if (atBottom(el)) { hideNewMessages(el); }
    });
  });

  // Scrolled up when a message arrives: a "New message ↓" button instead of a jump.
  function newMessagesButton(el) {
    var button = el.parentNode.querySelector(".new-messages");
    if (!button) {
      button = document.createElement("button");
      button.type = "button";
      button.className = "btn new-messages";
      button.textContent = "New message ↓";
      button.hidden = true;
      button.addEventListener("click", function () {
        el.scrollTop = el.scrollHeight;
        button.hidden = true;
      });
      el.parentNode.insertBefore(button, el.nextSibling);
    }
    return button;
  }
  function showNewMessages(el) { newMessagesButton(el).hidden = false; }
  function hideNewMessages(el) {
    var button = el.parentNode.querySelector(".new-messages");
    if (button) button.hidden = true;
  }
  document.querySelectorAll("[data-refresh-url]").forEach(function (el) {
    var every = parseInt(el.getAttribute("data-refresh-every") || "4000", 10);
    var last = null;
    setInterval(function () {
      if (document.hidden) return;
      fetch(el.getAttribute("data-refresh-url"), { headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null || html === last) return;
          var sticky = el.hasAttribute("data-stick-bottom");
          var stick = sticky && atBottom(el);
          var grew = last !== null && html.length > last.length;
          last = html;
          el.innerHTML = html;
          if (stick) el.scrollTop = el.scrollHeight;
          else if (sticky && grew) showNewMessages(el);
        })
        .catch(function () { /* offline for a moment: try again next tick */ });
    }, every);
  });
  // A choice that takes effect at once (the acting agent): no inline handler, the CSP forbids them.
  document.addEventListener("change", function (e) {
    if (e.target.matches("select[data-submit-on-change]") && e.target.form) e.target.form.submit();
  });
  // Table rows act as links without nesting block content in <a>.
  document.addEventListener("click", function (e) {
    var row = e.target.closest("tr[data-href]");
    if (row && !e.target.closest("a, button, form")) window.location = row.getAttribute("data-href");
  });
})();
