// Small behaviours that need script; everything works without it as well.
// No inline script anywhere: the Content-Security-Policy forbids it.
(function () {
  "use strict";

  // Forms with data-confirm ask before they submit (revoking a token, deleting).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Move focus to the error summary so screen readers announce what went wrong.
  function focusErrors() {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  }
  document.addEventListener("DOMContentLoaded", focusErrors);
  document.addEventListener("htmx:afterSwap", focusErrors);
})();
