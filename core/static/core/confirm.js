// Forms with data-confirm ask before submitting (instead of an inline onsubmit, which the
// Content-Security-Policy forbids).
document.addEventListener("submit", function (e) {
  var form = e.target;
  if (form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
    e.preventDefault();
  }
});
