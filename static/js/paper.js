// Paper entry: Enter moves to the next box instead of submitting, so typists never leave the keyboard.
// Without JavaScript, Tab does the same and Enter submits.
(function () {
  "use strict";
  var form = document.getElementById("paper-form");
  if (!form) { return; }
  var inputs = Array.prototype.slice.call(form.querySelectorAll("input[name^='p_']"));
  inputs.forEach(function (input, index) {
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && index < inputs.length - 1) {
        event.preventDefault();
        inputs[index + 1].focus();
        inputs[index + 1].select();
      }
    });
  });
})();
