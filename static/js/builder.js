// Questionnaire builder. Optional helpers only: every page works the same with JavaScript off.
// 1. "刷新预览" buttons (hidden without JS) reload the phone preview frame.
// 2. A <select data-autosubmit> (step 1 of the skip-logic page) submits its form when changed.
// 3. A row's "删除" box greys the row out, so the evaluator sees what saving will remove.
// 4. The preview frame scrolls (itself only, never the builder page) to the question being edited.
(function () {
  "use strict";

  var frame = document.getElementById("preview-frame");
  var reloads = document.querySelectorAll(".js-reload-preview");
  for (var i = 0; i < reloads.length; i++) {
    if (!frame) { break; }
    reloads[i].hidden = false;
    reloads[i].addEventListener("click", function () {
      try {
        frame.contentWindow.location.reload();
      } catch (e) {
        frame.src = frame.src;
      }
    });
  }

  function focusPreview() {
    var id = frame.getAttribute("data-focus");
    var target = id && frame.contentDocument ? frame.contentDocument.getElementById(id) : null;
    // A conditional question is hidden until its condition holds: show what comes just before it.
    while (target && !target.offsetParent && target.previousElementSibling) {
      target = target.previousElementSibling;
    }
    if (target && target.offsetParent) {
      var view = frame.contentWindow;
      view.scrollTo(0, target.getBoundingClientRect().top + view.pageYOffset - 8);
    }
  }
  if (frame) {
    frame.addEventListener("load", focusPreview);
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") { focusPreview(); }
  }

  var selects = document.querySelectorAll("select[data-autosubmit]");
  for (var j = 0; j < selects.length; j++) {
    selects[j].addEventListener("change", function (event) {
      if (event.target.value && event.target.form) { event.target.form.submit(); }
    });
  }

  var removes = document.querySelectorAll(".check.remove input[type=checkbox]");
  for (var k = 0; k < removes.length; k++) {
    removes[k].addEventListener("change", function (event) {
      var row = event.target.closest(".edit-row");
      if (row) { row.classList.toggle("removing", event.target.checked); }
    });
  }
}());
