// Respondent page. Everything here is optional: with JavaScript off the page is one long form that works.
// 1. Skip logic: hide questions and sections whose data-show-if condition is false (the server applies the
//    same rules on submit, so a hidden answer is never stored).
// 2. Steps: a questionnaire with two or more sections is shown one section at a time, with back/next and a
//    progress line. All fields stay in the one form, so one POST still stores the whole response at once.
// 3. Required questions are checked per step and before sending, in the server's words, and focus goes to
//    the first problem (the server checks again; this only saves a round trip on a slow network).
// 4. A draft of the answers is kept in this device's localStorage (keyed by questionnaire token and version)
//    so a reload or a closed WeChat window loses nothing; the thanks page clears it.
// 5. A double tap on "submit" sends the form once (the server is idempotent on the submission id anyway).
// 6. Each step is an entry in the browser's history, so the phone's Back button goes to the previous step.
// 7. A multiple-choice question with a maximum refuses one tick too many, saying why beside the question;
//    the "other" text box shows only while "other" is chosen. (The server checks both again.)
// Written for WeChat's browser on old phones: plain ES2017, no modules, no optional chaining.
(function () {
  "use strict";
  var DRAFT_PREFIX = "survey-draft:";
  var DRAFT_MAX_AGE = 30 * 24 * 3600 * 1000;
  var NOT_SAVED = { csrf_token: 1, submission_id: 1, pow_challenge: 1, pow_nonce: 1 };

  function toArray(list) { return Array.prototype.slice.call(list); }

  // localStorage may be missing or throw (private mode, storage switched off, quota): then no drafts.
  function deviceStorage() {
    try {
      var store = window.localStorage;
      store.setItem("survey-probe", "1");
      store.removeItem("survey-probe");
      return store;
    } catch (error) {
      return null;
    }
  }

  function forgetDrafts(store, token) {
    var prefix = DRAFT_PREFIX + token + ":";
    try {
      for (var i = store.length - 1; i >= 0; i--) {
        var key = store.key(i);
        if (key && key.indexOf(prefix) === 0) { store.removeItem(key); }
      }
    } catch (error) { /* nothing to clean up then */ }
  }

  var thanks = document.querySelector("[data-clear-draft]");
  if (thanks) {
    var thanksStore = deviceStorage();
    if (thanksStore) { forgetDrafts(thanksStore, thanks.getAttribute("data-clear-draft")); }
  }

  var form = document.getElementById("survey-form");
  if (!form) { return; }
  var sections = toArray(form.querySelectorAll(".survey-section"));
  var current = 0;
  var backButton = document.getElementById("step-back");
  var nextButton = document.getElementById("step-next");
  var submitButton = document.getElementById("submit");
  var requiredMessage = form.getAttribute("data-msg-required") || "";

  // --- skip logic ---------------------------------------------------------------------------------------

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

  // The "other" text box of a question, shown while one of its "other" options is ticked.
  function applyOtherBoxes() {
    toArray(form.querySelectorAll(".other-box")).forEach(function (box) {
      var keys = (box.getAttribute("data-other-options") || "").split(" ");
      var question = box.closest("fieldset.question");
      box.hidden = !toArray(question.querySelectorAll("input:checked")).some(function (input) {
        return keys.indexOf(input.value) >= 0;
      });
    });
  }

  function applySkipLogic() {
    var visible = {};
    sections.forEach(function (section) {
      var sectionShown = holds(parse(section), visible);
      section.hidden = !sectionShown;
      toArray(section.querySelectorAll("fieldset.question")).forEach(function (question) {
        var shown = sectionShown && holds(parse(question), visible);
        question.hidden = !shown;
        visible[question.id.slice(2)] = shown;
      });
    });
  }

  // --- answered or not ----------------------------------------------------------------------------------

  function shownQuestions(root) {
    return toArray(root.querySelectorAll("fieldset.question")).filter(function (question) {
      var section = question.closest(".survey-section");
      return !question.hidden && !(section && section.hidden);
    });
  }

  function picked(root) { return root.querySelector("input[type=radio]:checked, input[type=checkbox]:checked"); }

  function typed(root) {
    return toArray(root.querySelectorAll("textarea, input:not([type=radio]):not([type=checkbox])")).some(
      function (box) { return !box.classList.contains("other-input") && box.value.trim() !== ""; });
  }

  function isAnswered(question) {
    var items = toArray(question.querySelectorAll(".matrix-item"));
    if (items.length) { return items.every(function (item) { return picked(item); }); }
    return Boolean(picked(question)) || typed(question);
  }

  function isRequired(question) { return Boolean(question.querySelector("[required]")); }

  // --- errors beside the question -----------------------------------------------------------------------

  function describedBy(element, id, add) {
    var ids = (element.getAttribute("aria-describedby") || "").split(" ").filter(function (x) { return x && x !== id; });
    if (add) { ids.push(id); }
    if (ids.length) { element.setAttribute("aria-describedby", ids.join(" ")); } else { element.removeAttribute("aria-describedby"); }
  }

  function markInvalid(question, invalid) {
    var errorId = "err-" + question.id.slice(2);
    describedBy(question, errorId, invalid);
    toArray(question.querySelectorAll("input:not(.other-input), textarea")).forEach(function (input) {
      if (invalid) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
      if (input.type !== "radio" && input.type !== "checkbox") { describedBy(input, errorId, invalid); }
    });
    question.classList.toggle("has-error", invalid);
    toArray(question.querySelectorAll(".matrix-item")).forEach(function (item) {
      item.classList.toggle("has-error", invalid && !picked(item));
    });
  }

  function showRequired(question) {
    var errorId = "err-" + question.id.slice(2);
    var box = document.getElementById(errorId);
    if (!box) {
      box = document.createElement("div");
      box.className = "errors";
      box.id = errorId;
      var legend = question.querySelector("legend");
      var after = question.querySelector(".help:not(.condition)") || question.querySelector(".condition") || legend;
      after.parentNode.insertBefore(box, after.nextSibling);
    }
    box.innerHTML = "";
    var line = document.createElement("p");
    line.className = "error";
    line.textContent = requiredMessage;
    box.appendChild(line);
    markInvalid(question, true);
  }

  function clearError(question) {
    var box = document.getElementById("err-" + question.id.slice(2));
    if (box) { box.parentNode.removeChild(box); }
    markInvalid(question, false);
  }

  // The unanswered required questions shown in ``root``; each gets its message, answered ones lose theirs.
  function check(root) {
    var problems = [];
    shownQuestions(root).forEach(function (question) {
      if (isRequired(question) && !isAnswered(question)) {
        showRequired(question);
        problems.push(question);
      }
    });
    return problems;
  }

  function focusQuestion(question) {
    var target = question;
    var items = toArray(question.querySelectorAll(".matrix-item"));
    for (var i = 0; i < items.length; i++) {
      if (!picked(items[i])) { target = items[i]; break; }
    }
    var input = target.querySelector("input:not([type=hidden]), textarea");
    question.scrollIntoView({ block: "start" });
    if (input) { input.focus({ preventScroll: true }); }
  }

  // --- steps and progress -------------------------------------------------------------------------------

  function shownSections() { return sections.filter(function (section) { return !section.hidden; }); }

  function fill(element, values) {
    var text = element.getAttribute("data-text") || "";
    Object.keys(values).forEach(function (key) { text = text.split("{" + key + "}").join(values[key]); });
    element.textContent = text;
  }

  function updateProgress() {
    var progress = document.getElementById("progress");
    if (!progress) { return; }
    var questions = shownQuestions(form);
    var done = questions.filter(isAnswered).length;
    fill(document.getElementById("progress-answered"), { done: done, total: questions.length });
    var meter = document.getElementById("progress-meter");
    meter.max = Math.max(questions.length, 1);
    meter.value = done;
    var stepText = document.getElementById("progress-step");
    var shown = shownSections();
    stepText.hidden = !stepped();
    if (stepped()) { fill(stepText, { step: shown.indexOf(sections[current]) + 1, total: shown.length }); }
    progress.hidden = false;
  }

  // Steps are on while the form has the class "stepped" (set at start when there are two or more sections).
  function stepped() { return form.classList.contains("stepped"); }

  function updateSteps() {
    if (!stepped()) {
      backButton.hidden = nextButton.hidden = true;
      submitButton.hidden = false;
      document.body.classList.remove("later-step");
      return;
    }
    var shown = shownSections();
    if (sections[current].hidden) { current = sections.indexOf(shown[0]); }
    var position = shown.indexOf(sections[current]);
    var last = position === shown.length - 1;
    sections.forEach(function (section, index) { section.classList.toggle("step-current", index === current); });
    backButton.hidden = position === 0;
    nextButton.hidden = last;
    submitButton.hidden = !last;
    document.body.classList.toggle("later-step", position > 0);
  }

  function refresh() {
    applySkipLogic();
    applyOtherBoxes();
    updateSteps();
    updateProgress();
  }

  // ``how``: "push" a history entry for the new step (moving on), "replace" the current one, or leave the
  // history alone ("none": the Back button brought us here).
  function goTo(index, focusHeading, how) {
    var from = sections[current];
    current = index;
    refresh();
    remember(how, from);
    saveDraft();
    if (!focusHeading) { return; }
    window.scrollTo(0, 0);
    var heading = sections[current].querySelector(".section-title") || document.getElementById("progress");
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }

  function move(step) {
    var shown = shownSections();
    var position = shown.indexOf(sections[current]) + step;
    if (position < 0 || position >= shown.length) { return; }
    var target = shown[position];
    var state = browserHistory ? browserHistory.state : null;
    // Back to the step this history entry came from: the browser's own Back, so its history stays in step.
    if (step < 0 && state && state.surveyStep === sections[current].id && state.surveyFrom === target.id) {
      browserHistory.back();
      return;
    }
    goTo(sections.indexOf(target), true, step > 0 ? "push" : "replace");
  }

  // --- the browser's history: one entry per step ------------------------------------------------------

  // Not inside a frame (the builder's phone preview): there the steps would fill the evaluator's own history.
  var browserHistory = window.history && window.history.pushState && window.self === window.top ? window.history : null;

  function remember(how, from) {
    if (!browserHistory || !stepped() || how === "none") { return; }
    var state = { surveyStep: sections[current].id, surveyFrom: from && from !== sections[current] ? from.id : "" };
    try {
      if (how === "push") { browserHistory.pushState(state, ""); } else { browserHistory.replaceState(state, ""); }
    } catch (error) { /* history refused (a sandboxed frame): the steps still work with the buttons */ }
  }

  // The step a history entry stands for, if it is one of ours and its section is shown.
  function stepOf(state) {
    var section = state && state.surveyStep ? document.getElementById(state.surveyStep) : null;
    var index = section ? sections.indexOf(section) : -1;
    return index >= 0 && !sections[index].hidden ? index : -1;
  }

  window.addEventListener("popstate", function (event) {
    if (!stepped() || form.getAttribute("data-sent") === "1") { return; }
    var index = stepOf(event.state);
    if (index < 0) { index = sections.indexOf(shownSections()[0]); }
    if (index !== current) { goTo(index, true, "none"); }
  });

  function sectionOf(element) { return sections.indexOf(element.closest(".survey-section")); }

  function showProblem(question) {
    if (stepped() && sectionOf(question) !== current) { goTo(sectionOf(question), false, "replace"); }
    focusQuestion(question);
  }

  // --- the draft on this device -------------------------------------------------------------------------

  var store = form.getAttribute("data-draft") ? deviceStorage() : null;
  var draftKey = DRAFT_PREFIX + form.getAttribute("data-draft");
  var saveTimer = null;

  function snapshot() {
    var fields = {};
    toArray(form.elements).forEach(function (element) {
      var name = element.name;
      if (!name || NOT_SAVED[name] || element.type === "hidden" || element.tagName === "BUTTON") { return; }
      var checkable = element.type === "radio" || element.type === "checkbox";
      if (checkable ? !element.checked : element.value === "") { return; }
      (fields[name] = fields[name] || []).push(element.value);
    });
    return fields;
  }

  function saveDraft() {
    if (!store || form.getAttribute("data-sent") === "1") { return; } // sent: the next page clears the draft
    var fields = snapshot();
    try {
      if (!Object.keys(fields).length) { store.removeItem(draftKey); return; }
      var started = form.elements.started ? form.elements.started.value : "";
      var submission = form.elements.submission_id ? form.elements.submission_id.value : "";
      var section = sections[current];
      store.setItem(draftKey, JSON.stringify({
        saved: Date.now(), started: started, submission: submission, step: section ? section.id : "", fields: fields
      }));
    } catch (error) { /* storage full or refused: the page still works without a draft */ }
  }

  function saveSoon() {
    if (saveTimer) { clearTimeout(saveTimer); }
    saveTimer = setTimeout(saveDraft, 300);
  }

  function readDraft() {
    if (!store) { return null; }
    try {
      var draft = JSON.parse(store.getItem(draftKey) || "null");
      if (draft && draft.fields && Date.now() - draft.saved < DRAFT_MAX_AGE) { return draft; }
      store.removeItem(draftKey);
    } catch (error) { /* an unreadable draft is dropped below */ }
    return null;
  }

  function restoreDraft(draft) {
    toArray(form.elements).forEach(function (element) {
      var values = draft.fields[element.name];
      if (!values || NOT_SAVED[element.name] || element.type === "hidden") { return; }
      if (element.type === "radio" || element.type === "checkbox") {
        element.checked = values.indexOf(element.value) >= 0;
      } else {
        element.value = values[0];
      }
    });
    // The first page's start token and submission id, together (the server signed the one for the other):
    // time taken counts from the first opening, and a submission stored just before the connection dropped
    // is recognised when sent again. Not with proof of work, whose challenge names this page's id.
    var elements = form.elements;
    if (draft.started && draft.submission && elements.started && elements.submission_id && !elements.pow_challenge) {
      elements.started.value = draft.started;
      elements.submission_id.value = draft.submission;
    }
    var notice = document.getElementById("draft-notice");
    if (notice) { notice.hidden = false; }
    var section = draft.step ? document.getElementById(draft.step) : null;
    return section ? sections.indexOf(section) : -1;
  }

  function startOver() {
    if (store) { try { store.removeItem(draftKey); } catch (error) { /* ignore */ } }
    form.reset();
    toArray(form.querySelectorAll("fieldset.question.has-error")).forEach(clearError);
    document.getElementById("draft-notice").hidden = true;
    goTo(0, true, "replace");
  }

  // --- at most N boxes ticked ---------------------------------------------------------------------------

  // The question's live message line (made once, at the start): a screen reader reads it out when it changes.
  function limitLine(question) {
    var line = question.querySelector(".choice-limit");
    if (!line) {
      line = document.createElement("p");
      line.className = "choice-limit";
      line.id = "limit-" + question.id.slice(2);
      line.setAttribute("role", "status");
      var options = question.querySelector(".options");
      options.parentNode.insertBefore(line, options);
    }
    return line;
  }

  // A tick beyond the question's maximum is taken back at once, and the question says why; unticking
  // a box clears the message.
  function holdToMaximum(input) {
    var question = input.type === "checkbox" ? input.closest("fieldset.question[data-max-choices]") : null;
    if (!question) { return; }
    var most = parseInt(question.getAttribute("data-max-choices"), 10);
    var ticked = question.querySelectorAll("input[type=checkbox]:checked").length;
    var line = limitLine(question);
    if (input.checked && ticked > most) {
      input.checked = false;
      line.textContent = question.getAttribute("data-max-message") || "";
      describedBy(input, line.id, true);
      return;
    }
    if (!input.checked || ticked < most) {
      line.textContent = "";
      toArray(question.querySelectorAll("input[type=checkbox]")).forEach(function (box) {
        describedBy(box, line.id, false);
      });
    }
  }

  // --- wiring -------------------------------------------------------------------------------------------

  function onAnswer(event) {
    if (event.type === "change") { holdToMaximum(event.target); }
    var question = event.target.closest ? event.target.closest("fieldset.question") : null;
    refresh();
    if (question && question.classList.contains("has-error") && isAnswered(question)) { clearError(question); }
    if (event.type === "input") { saveSoon(); } else { saveDraft(); }
  }

  function start() {
    var startAt = -1;
    var restored = false;
    form.classList.add("scripted"); // the skip logic speaks for itself now: its notes in words give way
    // Each maximum's message line exists (empty) from the start: a live region is read out when it changes.
    toArray(form.querySelectorAll("fieldset.question[data-max-choices]")).forEach(limitLine);
    if (store && form.getAttribute("data-restore") === "yes") {
      var draft = readDraft();
      if (draft) { startAt = restoreDraft(draft); restored = true; }
    }
    refresh();
    var firstError = shownQuestions(form).filter(function (q) { return q.classList.contains("has-error"); })[0];
    if (firstError) {
      startAt = sectionOf(firstError);
    } else if (restored && browserHistory && stepOf(browserHistory.state) >= 0) {
      startAt = stepOf(browserHistory.state); // a reload: the step this history entry stands for
    }
    if (sections.length > 1) {
      current = startAt >= 0 && !sections[startAt].hidden ? startAt : sections.indexOf(shownSections()[0]);
      form.classList.add("stepped");
      refresh();
      var state = browserHistory ? browserHistory.state : null;
      if (!state || state.surveyStep !== sections[current].id) { remember("replace", null); }
    }
    if (form.getAttribute("data-restore") === "no") { saveDraft(); } // keep what the server showed back
  }

  form.addEventListener("change", onAnswer);
  form.addEventListener("input", onAnswer);
  if (nextButton) {
    nextButton.addEventListener("click", function () {
      var problems = check(sections[current]);
      if (problems.length) { showProblem(problems[0]); return; }
      move(1);
    });
  }
  if (backButton) { backButton.addEventListener("click", function () { move(-1); }); }
  var clearButton = document.getElementById("draft-clear");
  if (clearButton) { clearButton.addEventListener("click", startOver); }

  // Links in the server's error list may point into another step.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href^='#q-']") : null;
    var question = link ? document.getElementById(link.getAttribute("href").slice(1)) : null;
    if (!question) { return; }
    event.preventDefault();
    showProblem(question);
  });

  // Capture phase on the document: runs before any other submit handler (proof of work waits for ours).
  document.addEventListener("submit", function (event) {
    if (event.target !== form) { return; }
    var stop = function () { event.preventDefault(); event.stopImmediatePropagation(); };
    if (form.getAttribute("data-sent") === "1") { stop(); return; }
    if (stepped() && !nextButton.hidden) { stop(); nextButton.click(); return; } // Enter in a box mid-way
    var problems = check(form);
    if (problems.length) { stop(); showProblem(problems[0]); return; }
    saveDraft();
    form.setAttribute("data-sent", "1");
    submitButton.setAttribute("aria-busy", "true");
    submitButton.setAttribute("data-label", submitButton.textContent);
    submitButton.textContent = submitButton.getAttribute("data-busy") || submitButton.textContent;
  }, true);

  // Coming back with the Back button shows the page from the cache. If the page it was sent to removed the
  // draft (the thanks page, or "already answered"), the answers are stored: ask the server for the page
  // afresh rather than offer them again. Otherwise (sent but refused) make the form usable again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted || form.getAttribute("data-sent") !== "1") { return; }
    if (store && readDraft() === null) {
      window.location.replace(window.location.href);
      return;
    }
    form.removeAttribute("data-sent");
    submitButton.removeAttribute("aria-busy");
    submitButton.textContent = submitButton.getAttribute("data-label") || submitButton.textContent;
  });
  window.addEventListener("pagehide", saveDraft);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { saveDraft(); }
  });

  start();
})();
