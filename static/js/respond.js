// Respondent page: stop a double tap from sending the form twice. The server is idempotent on the
// submission id anyway; this only spares a second request on a slow network. No other behaviour:
// the page works the same with JavaScript off.
(function () {
  "use strict";
  var form = document.getElementById("survey-form");
  if (!form) { return; }
  form.addEventListener("submit", function (event) {
    var button = document.getElementById("submit");
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    if (button) {
      button.setAttribute("aria-busy", "true");
      button.textContent = button.dataset.busy || button.textContent;
    }
  });
})();
