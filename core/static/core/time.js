/* Relative times ("4 min ago") stay true while a page is open: every <time class="hitl-rel">
 * (core/templatetags/hitl_time.py) is re-worded from its datetime every 30 s. The exact time, in
 * the viewer's time zone, stays in the title. No build step. */
(function () {
  "use strict";

  function words(seconds) {
    var future = seconds < 0;
    var s = Math.abs(seconds);
    var amount;
    if (s < 45) { return "just now"; }
    if (s < 3600) { amount = Math.max(1, Math.round(s / 60)) + " min"; }
    else if (s < 6 * 3600) { amount = Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min"; }
    else if (s < 86400) { amount = Math.floor(s / 3600) + " h"; }
    else if (s < 14 * 86400) { var d = Math.floor(s / 86400); amount = d + (d === 1 ? " day" : " days"); }
    else { return null; } // older: the server's date stays
    return future ? "in " + amount : amount + " ago";
  }

  function refresh() {
    var now = Date.now();
    document.querySelectorAll("time.hitl-rel[datetime]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) { return; }
      var text = words(Math.round((now - at) / 1000));
      if (text && el.textContent !== text) { el.textContent = text; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { setInterval(refresh, 30000); });
})();
