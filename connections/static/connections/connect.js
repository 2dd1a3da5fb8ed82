/* The connect form: the app list shows only the chosen organisation's apps and the platform's
 * (options carry data-tenant; empty = platform app). The server refuses other combinations anyway
 * (connections/forms.py). No build step. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var tenant = document.getElementById("id_tenant");
    var app = document.getElementById("id_app");
    if (!tenant || !app) { return; }
    function filter() {
      var chosen = tenant.value;
      Array.prototype.forEach.call(app.options, function (option) {
        var owner = option.getAttribute("data-tenant");
        var fits = option.value === "" || owner === "" || owner === null || !chosen || owner === chosen;
        option.hidden = !fits;
        option.disabled = !fits;
        if (!fits && option.selected) { app.value = ""; }
      });
    }
    tenant.addEventListener("change", filter);
    filter();
  });
})();
