// Respondent page. Two jobs, both optional: the page works the same with JavaScript off.
// 1. Skip logic: hide questions and sections whose data-show-if condition is false (the server
//    applies the same rules on submit, so a hidden answer is never stored).
// 2. Stop a double tap from sending the form twice (the server is idempotent on the submission id anyway).
(function () {
  "use strict";
  var form = document.getElementById("survey-form");
  if (!form) { return; }

  function chosen(key) {
    var values = [];
    var inputs = form.querySelectorAll("input[name='" + key.replace(/'/g, "") + "']");
    for (var i = 0; i < inputs.length; i++) {
      if ((inputs[i].type === "radio" || inputs[i].type === "checkbox") && inputs[i].checked) {
        values.push(inputs[i].value);
      }
    }
    return values;
  }

  function holds(condition, visible) {
    if (!condition) { return true; }
    if (condition.all) { return condition.all.every(function (c) { return holds(c, visible); }); }
    if (condition.any) { return condition.any.some(function (c) { return holds(c, visible); }); }
    var question = condition.question.split(".")[0];
    var picked = visible[question] ? chosen(condition.question) : [];
    if (condition.any_of) {
      return picked.some(function (v) { return condition.any_of.indexOf(v) >= 0; });
    }
    return picked.length > 0 && !picked.some(function (v) { return condition.none_of.indexOf(v) >= 0; });
  }

  function parse(element) {
    var raw = element.getAttribute("data-show-if");
    return raw ? JSON.parse(raw) : null;
  }

  function update() {
    var visible = {};
    var sections = form.querySelectorAll(".survey-section");
    for (var s = 0; s < sections.length; s++) {
      var sectionShown = holds(parse(sections[s]), visible);
      sections[s].hidden = !sectionShown;
      var questions = sections[s].querySelectorAll("fieldset.question");
      for (var q = 0; q < questions.length; q++) {
        var shown = sectionShown && holds(parse(questions[q]), visible);
        questions[q].hidden = !shown;
        visible[questions[q].id.slice(2)] = shown;
      }
    }
  }

  form.addEventListener("change", update);
  update();

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
