/* The two-factor page (templates/admin/two_factor.html): once a passkey is registered, go on to
 * the page the person came for, or show the page again with the passkey listed. */
(function () {
  "use strict";
  document.addEventListener("otp_webauthn.register_complete", function () {
    var next = document.querySelector("input[name='next']");
    var target = next && next.value;
    if (target && target.charAt(0) === "/" && target.charAt(1) !== "/" && target.charAt(1) !== "\\") {
      window.location.assign(target);
    } else {
      window.location.reload();
    }
  });
})();
