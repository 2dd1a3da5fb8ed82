/* Escalation list, live: polls live/ (escalation_live.py documents the JSON) every few seconds with
 * the page's own filters and search, and replaces changed rows / inserts new ones at the top,
 * without reloading. New rows are only inserted on the first page in the default (newest first)
 * order, where they belong; changed rows are updated on any page. A shown row that changed out of
 * the filtered set is updated too, dimmed and labelled "No longer matches" (it leaves on reload),
 * so the list never shows a stale status; one that changes back in loses the label. No build step.
 */
(function () {
  "use strict";

  function start(box) {
    var table = document.getElementById("result_list");
    if (!table) { return; }
    var body = table.tBodies[0];
    var state = box.querySelector(".esc-live-state");
    var text = box.querySelector('[data-field="live-text"]');
    var cursor = box.getAttribute("data-cursor");
    var pollMs = parseInt(box.getAttribute("data-poll-ms"), 10) || 3000;
    var firstPage = box.getAttribute("data-first-page") === "1";
    var base = box.getAttribute("data-live-url");
    var filters = new URLSearchParams(window.location.search);
    filters.delete("p");
    filters.delete("since");

    function rowFor(id) {
      var marker = body.querySelector('[data-escalation="' + id + '"]');
      return marker ? marker.closest("tr") : null;
    }

    function flash(tr) {
      tr.classList.remove("esc-flash");
      void tr.offsetWidth; // restart the animation
      tr.classList.add("esc-flash");
    }

    function countBy(delta) {
      var count = document.querySelector('[data-field="result-count"]');
      if (!count) { return; } // capped ("more than 10,000"): nothing to add to
      var n = Math.max(0, (parseInt(count.getAttribute("data-count"), 10) || 0) + delta);
      count.setAttribute("data-count", String(n));
      count.textContent = n + (n === 1 ? " escalation" : " escalations");
    }

    function markLeft(tr, left) {
      var was = tr.classList.contains("esc-left");
      tr.classList.toggle("esc-left", left);
      if (left) {
        tr.setAttribute("title", "No longer matches this list's filters or search; it leaves on reload.");
        var cell = tr.querySelector("td, th");
        if (cell && !cell.querySelector(".esc-left-note")) {
          var note = document.createElement("span");
          note.className = "esc-left-note";
          note.textContent = "No longer matches";
          cell.appendChild(note);
        }
      } else {
        tr.removeAttribute("title");
      }
      if (was !== left) { countBy(left ? -1 : 1); }
    }

    function apply(row) {
      var matches = row.matches !== false;
      var tr = rowFor(row.id);
      if (tr) {
        var marker = tr.querySelector("[data-escalation]");
        var left = tr.classList.contains("esc-left");
        if (marker && marker.getAttribute("data-version") === row.version && left === !matches) { return; }
        tr.innerHTML = row.html;
        markLeft(tr, !matches);
        flash(tr);
        return;
      }
      if (!matches || !firstPage) { return; }
      var empty = body.querySelector("tr.esc-empty");
      if (empty) { empty.remove(); }
      tr = document.createElement("tr");
      tr.className = body.getAttribute("data-row-class") || "";
      tr.innerHTML = row.html;
      body.insertBefore(tr, body.firstChild);
      flash(tr);
      countBy(1);
    }

    function poll() {
      var query = new URLSearchParams(filters);
      query.set("since", cursor);
      fetch(base + "?" + query.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          // Oldest change first, so inserting each at the top leaves the newest on top.
          data.rows.forEach(apply);
          cursor = data.cursor;
          state.classList.remove("esc-offline");
          text.textContent = "Live: updated " + new Date().toLocaleTimeString();
          setTimeout(poll, data.more ? 0 : (data.poll_ms || pollMs));
        })
        .catch(function (error) {
          state.classList.add("esc-offline");
          text.textContent = "Live updates paused (" + error.message + "); retrying…";
          setTimeout(poll, pollMs * 2);
        });
    }

    setTimeout(poll, pollMs);
  }

  // Forms that ask first (data-confirm): once per submit, and a second click while the first
  // submit is under way does not post again.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (form.getAttribute && form.getAttribute("data-submitting")) { event.preventDefault(); return; }
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    if (form.setAttribute) { form.setAttribute("data-submitting", "1"); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("esc-live");
    if (box) { start(box); }
  });
})();
