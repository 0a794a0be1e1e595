/* The indicator editor (templates/indicators/node.html) without reloads: the selected rule's fields,
 * the chosen way of getting the value, repeatable rows, and the link's questions, dimensions and
 * channels for the chosen questionnaire. Everything works without this script (the page's extra
 * buttons redraw it on the server); plain ES5 for old in-app browsers; no inline script (CSP). */
(function () {
  'use strict';
  var form = document.querySelector('form.indicator-editor');
  if (!form) { return; }

  function each(selector, fn) { Array.prototype.forEach.call(form.querySelectorAll(selector), fn); }

  each('.js-hide', function (el) { el.hidden = true; });

  // The rule's own fields: show the selected rule's fieldsets only.
  var ruleSelect = form.querySelector('[data-rule-select]');
  function showRule() {
    each('[data-rule]', function (el) { el.hidden = el.getAttribute('data-rule') !== ruleSelect.value; });
  }
  if (ruleSelect) { ruleSelect.addEventListener('change', showRule); }

  // Entered by the evaluator, or linked to a survey figure.
  function showMode() {
    var checked = form.querySelector('[data-mode-choice]:checked');
    var mode = checked ? checked.value : 'entered';
    each('[data-mode]', function (el) { el.hidden = el.getAttribute('data-mode') !== mode; });
  }
  each('[data-mode-choice]', function (radio) { radio.addEventListener('change', showMode); });
  if (form.querySelector('[data-mode-choice]')) { showMode(); }

  // Repeatable rows: copy the last row with the next index and empty boxes.
  each('[data-add-row]', function (button) {
    button.addEventListener('click', function (event) {
      var body = document.getElementById(button.getAttribute('data-add-row'));
      if (!body || !body.lastElementChild) { return; }
      event.preventDefault();
      var index = body.children.length;
      var row = body.lastElementChild.cloneNode(true);
      Array.prototype.forEach.call(row.querySelectorAll('input, select'), function (input) {
        input.name = input.name.replace(/-\d+-([a-z_]+)$/, '-' + index + '-$1');
        input.id = input.name;
        input.value = '';
        var label = input.getAttribute('aria-label');
        if (label) { input.setAttribute('aria-label', label.replace(/\d+$/, String(index + 1))); }
      });
      Array.prototype.forEach.call(row.querySelectorAll('.error'), function (p) { p.parentNode.removeChild(p); });
      var number = row.querySelector('.row-number');
      if (number) { number.textContent = String(index + 1); }
      body.appendChild(row);
      var first = row.querySelector('input');
      if (first) { first.focus(); }
    });
  });

  // The link: questions, dimensions and channels of the chosen questionnaire, as the figure needs them.
  var data = document.getElementById('link-options');
  var questionnaire = form.querySelector('[data-link-questionnaire]');
  var figure = form.querySelector('[data-link-figure]');
  if (!data || !questionnaire || !figure) { return; }
  var options = JSON.parse(data.textContent);
  var question = form.querySelector('[data-link-question]');
  var dimension = form.querySelector('[data-link-dimension]');
  var channel = form.querySelector('[data-link-channel]');
  var template = { question: question.options[0].text, channel: channel.options[0].text };

  function fill(select, items, keep) {
    var current = select.value;
    while (select.options.length > 1) { select.remove(1); }
    items.forEach(function (item) { select.add(new Option(item[1], item[0])); });
    select.value = keep && items.some(function (item) { return item[0] === current; }) ? current : '';
  }

  function refresh() {
    var chosen = options[questionnaire.value] || { questions: [], dimensions: [], channels: [] };
    var wanted = figure.value;
    var questions = chosen.questions.filter(function (q) {
      return wanted === 'index' ? q[4] : q[3];
    }).map(function (q) { return [q[0], question.getAttribute('data-number-format').replace('{number}', q[1]).replace('{text}', q[2])]; });
    question.options[0].text = template.question;
    fill(question, questions, true);
    fill(dimension, chosen.dimensions.map(function (d) { return [d, d]; }), true);
    channel.options[0].text = template.channel;
    fill(channel, chosen.channels, true);
    each('[data-figures]', function (el) {
      el.hidden = el.getAttribute('data-figures').split(' ').indexOf(wanted) < 0;
    });
  }
  questionnaire.addEventListener('change', refresh);
  figure.addEventListener('change', refresh);
  refresh();
}());
