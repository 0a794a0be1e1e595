/* Charts on the results page, drawn with the vendored ECharts (SVG renderer) from the page's own
 * JSON block (#results-data, built by survey/results/results_json.py). Plain script, no build step, loaded
 * with `defer` after static/vendor/echarts/echarts.min.js.
 *
 * - every choice question: horizontal bars of the option shares (count beside each bar), drawn in
 *   <div class="chart" data-chart="dist" data-key="..."> inside the question's section;
 * - the rated questions: one bar per rate with its 95% interval; small samples hatched and lighter;
 * - the dimensions: satisfaction rate and index per dimension.
 *
 * The tables on the page hold every number, so without JavaScript nothing is lost: the chart
 * containers stay empty (no height) and the rates card stays [hidden]. Fixed words come from data-*
 * attributes of this script's own tag, rendered through _() in templates/desk/results.html.
 * Works under the CSP `script-src 'self'; style-src 'self'`: no eval, no inline style attributes
 * (sizes are set through the CSSOM, tooltips are built from classes styled in css/charts.css).
 */
(function () {
  'use strict';

  var dataNode = document.getElementById('results-data');
  var me = document.getElementById('results-charts');
  if (!dataNode || !me || !window.echarts || !document.querySelector('.chart[data-chart]')) {
    return;
  }
  var data = JSON.parse(dataNode.textContent);
  var words = me.dataset;

  // One calm palette: the custom properties of static/css/app.css (:root), with the same values as
  // fallbacks for a page that lacks the stylesheet.
  var rootStyle = window.getComputedStyle(document.documentElement);
  function palette(name, fallback) {
    return rootStyle.getPropertyValue(name).trim() || fallback;
  }
  var C = {
    accent: palette('--accent', '#1c5fa8'),
    accentSoft: palette('--accent-soft', '#5d8fcb'),
    accentPale: palette('--accent-pale', '#c9daef'),
    second: palette('--accent-second', '#93b6df'),
    track: palette('--track', '#eef1f5'),
    ink: palette('--ink', '#1f2933'),
    muted: palette('--muted', '#5f6b7a'),
    line: palette('--line', '#d9dee5'),
    warn: palette('--warn', '#8a5a00'),
    shade: 'rgba(28, 95, 168, 0.06)'
  };
  var FONT = window.getComputedStyle(document.body).fontFamily || 'sans-serif';
  var PRINT_WIDTH = 600; // px: fits the text width of A4 and Letter pages with ordinary margins
  var NARROW = 520; // px: below this, phone layout
  var LOCALE = (document.documentElement.lang || '').toLowerCase().indexOf('en') === 0 ? 'EN' : 'ZH';

  // --- small helpers --------------------------------------------------------------------------

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (ch) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[ch];
    });
  }

  var measureContext = document.createElement('canvas').getContext('2d');
  function textWidth(text, size, weight) {
    if (!measureContext) {
      return String(text).length * size;
    }
    measureContext.font = (weight || 'normal') + ' ' + size + 'px ' + FONT;
    return measureContext.measureText(String(text)).width;
  }

  /* Break `text` into lines no wider than `width` (at spaces when there are any, else anywhere,
   * as Chinese needs); at most `maxLines`, the last one ending in "…" when text is left over. */
  function wrap(text, width, size, maxLines) {
    var lines = [];
    var rest = String(text).trim();
    while (rest && lines.length < maxLines) {
      if (textWidth(rest, size) <= width) {
        lines.push(rest);
        rest = '';
        break;
      }
      var cut = 1;
      while (cut < rest.length && textWidth(rest.slice(0, cut + 1), size) <= width) {
        cut += 1;
      }
      var space = rest.lastIndexOf(' ', cut);
      if (space > 0 && /\s/.test(rest.charAt(cut)) === false && /^[\x00-\x7f]*$/.test(rest.slice(0, cut))) {
        cut = space;
      }
      lines.push(rest.slice(0, cut).trim());
      rest = rest.slice(cut).trim();
    }
    if (rest) {
      var last = lines.pop() || '';
      while (last && textWidth(last + '…', size) > width) {
        last = last.slice(0, -1);
      }
      lines.push(last + '…');
    }
    return lines;
  }

  function maxOf(list, fn) {
    return list.reduce(function (best, item) { return Math.max(best, fn(item)); }, 0);
  }

  function questionLabel(q) {
    return fill(words.question, { n: q.number });
  }

  function pct(fraction) {
    return (fraction * 100).toFixed(1) + '%';
  }

  function tooltip(formatter) {
    return {
      trigger: 'axis',
      confine: true, // inside the chart: no arrow (whose markup carries an inline style) and no overflow
      axisPointer: { type: 'shadow', shadowStyle: { color: C.shade } },
      backgroundColor: '#fff',
      borderColor: C.line,
      borderWidth: 1,
      padding: [6, 10],
      textStyle: { color: C.ink, fontSize: 13, fontFamily: FONT },
      className: 'chart-tip',
      transitionDuration: 0,
      formatter: formatter
    };
  }

  function tip(title, rows) {
    return '<div class="chart-tip-title">' + escapeHtml(title) + '</div>' + rows.map(function (row) {
      return '<div class="chart-tip-row' + (row.warn ? ' chart-tip-warn' : '') + '">' +
        (row.label ? '<span class="chart-tip-label">' + escapeHtml(row.label) + '</span> ' : '') +
        '<span class="chart-tip-value">' + escapeHtml(row.value) + '</span></div>';
    }).join('');
  }

  function categoryAxis(count, formatter, extra) {
    var axis = {
      type: 'category',
      inverse: true,
      data: Array.apply(null, Array(count)).map(function (x, i) { return String(i); }),
      axisLine: { show: false },
      axisTick: { show: false },
      axisLabel: { formatter: function (value) { return formatter(Number(value)); } }
    };
    Object.keys(extra || {}).forEach(function (key) {
      axis.axisLabel[key] = extra[key];
    });
    return axis;
  }

  var percentAxis = {
    type: 'value', min: 0, max: 100, show: false, splitLine: { show: false }
  };

  function base() {
    return {
      animation: false,
      textStyle: { fontFamily: FONT, color: C.ink },
      aria: { enabled: false }
    };
  }

  /* Width of the left labels: what the longest needs, but at most a share of the chart. */
  function leftWidth(texts, width, size, share) {
    return Math.min(Math.ceil(maxOf(texts, function (t) { return textWidth(t, size); })) + 2,
      Math.round(width * share));
  }

  // --- (a) distribution of one choice question -------------------------------------------------

  function distChart(question, width) {
    var narrow = width < NARROW;
    var size = narrow ? 12 : 13;
    var options = question.options;
    var leftW = leftWidth(options.map(function (o) { return o.text; }), width, size, narrow ? 0.42 : 0.34);
    var labels = options.map(function (o) { return wrap(o.text, leftW, size, 2); });
    var lineH = size + 5;
    var people = options.map(function (o) { return fill(words.people, { n: o.count }); });
    var shares = options.map(function (o) { return o.percent === null ? '—' : o.percent + '%'; });
    var valueW = narrow
      ? Math.max(maxOf(shares, function (t) { return textWidth(t, size, 'bold'); }),
        maxOf(people, function (t) { return textWidth(t, size - 1); }))
      : maxOf(shares, function (t) { return textWidth(t, size, 'bold'); }) + 8 +
        maxOf(people, function (t) { return textWidth(t, size - 1); });
    var lines = Math.max(maxOf(labels, function (l) { return l.length; }), narrow ? 2 : 1);
    var rowH = Math.max(narrow ? 40 : 32, lines * lineH + 10);
    return {
      height: options.length * rowH + 8,
      option: Object.assign(base(), {
        grid: { left: leftW + 12, right: Math.ceil(valueW) + 14, top: 4, bottom: 4 },
        xAxis: percentAxis,
        yAxis: [
          categoryAxis(options.length, function (i) { return labels[i].join('\n'); },
            { color: C.ink, fontSize: size, lineHeight: lineH, margin: 10 }),
          categoryAxis(options.length, function (i) {
            return '{p|' + shares[i] + '}' + (narrow ? '\n' : '  ') + '{n|' + people[i] + '}';
          }, {
            margin: 8,
            align: 'left',
            rich: {
              p: { fontSize: size, fontWeight: 'bold', color: C.ink, lineHeight: lineH, fontFamily: FONT },
              n: { fontSize: size - 1, color: C.muted, lineHeight: lineH, fontFamily: FONT }
            }
          })
        ],
        tooltip: tooltip(function (params) {
          var o = options[params[0].dataIndex];
          return tip(o.text, [
            { label: words.count, value: String(o.count) },
            { label: words.share, value: o.percent === null ? '—' : o.percent + '%' }
          ]);
        }),
        series: [{
          type: 'bar',
          yAxisIndex: 0,
          data: options.map(function (o) { return o.percent === null ? 0 : Number(o.percent); }),
          barWidth: narrow ? 14 : 16,
          itemStyle: { color: C.accent, borderRadius: [0, 3, 3, 0] },
          showBackground: true,
          backgroundStyle: { color: C.track, borderRadius: 3 },
          emphasis: { disabled: true }
        }]
      })
    };
  }

  // --- (b) every rate with its 95% interval ----------------------------------------------------

  var HATCH = {
    symbol: 'rect',
    symbolSize: 1,
    dashArrayX: [1, 0],
    dashArrayY: [2, 4],
    rotation: -Math.PI / 4,
    color: 'rgba(28, 95, 168, 0.55)'
  };

  function ratesChart(rated, width) {
    var narrow = width < NARROW;
    var size = narrow ? 12 : 13;
    // On a phone the question number and the rate's name take a line each; on a desktop, one line.
    var names = rated.map(function (q) { return narrow ? q.rate.name : questionLabel(q) + ' ' + q.rate.name; });
    var leftW = leftWidth(narrow ? names.concat(rated.map(questionLabel)) : names, width, size, narrow ? 0.38 : 0.3);
    var labels = rated.map(function (q, i) {
      return narrow ? [questionLabel(q)].concat(wrap(names[i], leftW, size, 1)) : wrap(names[i], leftW, size, 2);
    });
    var lineH = size + 5;
    var values = rated.map(function (q) { return q.rate.percent === null ? pct(q.rate.value) : q.rate.percent + '%'; });
    var ns = rated.map(function (q) { return 'n = ' + q.rate.denominator; });
    var valueW = Math.max(maxOf(values, function (t) { return textWidth(t, size, 'bold'); }),
      maxOf(ns, function (t) { return textWidth(t, size - 1); }));
    var rowH = Math.max(44, maxOf(labels, function (l) { return l.length; }) * lineH + 12);
    return {
      height: rated.length * rowH + 8,
      option: Object.assign(base(), {
        grid: { left: leftW + 12, right: Math.ceil(valueW) + 14, top: 4, bottom: 4 },
        xAxis: percentAxis,
        yAxis: [
          categoryAxis(rated.length, function (i) { return labels[i].join('\n'); },
            { color: C.ink, fontSize: size, lineHeight: lineH, margin: 10 }),
          categoryAxis(rated.length, function (i) {
            return '{p|' + values[i] + '}\n{' + (rated[i].rate.small_sample ? 'w' : 'n') + '|' + ns[i] + '}';
          }, {
            margin: 8,
            align: 'left',
            rich: {
              p: { fontSize: size, fontWeight: 'bold', color: C.ink, lineHeight: lineH, fontFamily: FONT },
              n: { fontSize: size - 1, color: C.muted, lineHeight: lineH, fontFamily: FONT },
              w: { fontSize: size - 1, color: C.warn, fontWeight: 'bold', lineHeight: lineH, fontFamily: FONT }
            }
          })
        ],
        tooltip: tooltip(function (params) {
          var q = rated[params[0].dataIndex];
          var r = q.rate;
          var rows = [{ label: r.name, value: values[params[0].dataIndex] + ' (' + ns[params[0].dataIndex] + ')' }];
          if (r.ci95) {
            rows.push({ label: words.interval, value: pct(r.ci95[0]) + '–' + pct(r.ci95[1]) });
          }
          if (r.small_sample) {
            rows.push({ value: words.small, warn: true });
          }
          return tip(questionLabel(q) + ' ' + q.text, rows);
        }),
        series: [
          {
            type: 'bar',
            yAxisIndex: 0,
            data: rated.map(function (q) {
              var small = q.rate.small_sample;
              return {
                value: q.rate.value * 100,
                itemStyle: small
                  ? { color: C.accentPale, decal: HATCH, borderColor: C.accentSoft, borderWidth: 1 }
                  : { color: C.accentSoft }
              };
            }),
            barWidth: narrow ? 16 : 18,
            itemStyle: { borderRadius: [0, 3, 3, 0] },
            showBackground: true,
            backgroundStyle: { color: C.track, borderRadius: 3 },
            emphasis: { disabled: true }
          },
          {
            type: 'custom',
            yAxisIndex: 0,
            encode: { x: [1, 2], y: 0 },
            data: rated.map(function (q, i) {
              return q.rate.ci95 ? [i, q.rate.ci95[0] * 100, q.rate.ci95[1] * 100] : [i, null, null];
            }),
            renderItem: function (params, api) {
              if (api.value(1) === null || isNaN(api.value(1))) {
                return null;
              }
              var low = api.coord([api.value(1), api.value(0)]);
              var high = api.coord([api.value(2), api.value(0)]);
              var cap = narrow ? 7 : 8;
              var style = { stroke: C.ink, lineWidth: 1.6, fill: null };
              return {
                type: 'group',
                children: [
                  { type: 'line', shape: { x1: low[0], y1: low[1], x2: high[0], y2: high[1] }, style: style },
                  { type: 'line', shape: { x1: low[0], y1: low[1] - cap, x2: low[0], y2: low[1] + cap }, style: style },
                  { type: 'line', shape: { x1: high[0], y1: high[1] - cap, x2: high[0], y2: high[1] + cap }, style: style }
                ]
              };
            },
            z: 5,
            silent: true,
            tooltip: { show: false }
          }
        ]
      })
    };
  }

  // --- (c) dimensions ---------------------------------------------------------------------------

  function dimensionsChart(dims, width) {
    var narrow = width < NARROW;
    var size = narrow ? 12 : 13;
    var names = dims.map(function (d) { return d.name; });
    var leftW = leftWidth(names, width, size, narrow ? 0.32 : 0.25);
    var labels = names.map(function (t) { return wrap(t, leftW, size, 2); });
    var lineH = size + 5;
    var barW = narrow ? 12 : 14;
    var rowH = Math.max(barW * 2 + 22, maxOf(labels, function (l) { return l.length; }) * lineH + 12);
    var legendH = 30;
    var gap = Math.round(barW / 4);
    var rateLabel = function (d) { return d.value === null ? '—' : (d.percent || (d.value * 100).toFixed(1)) + '%'; };
    var indexLabel = function (d) { return d.index === null ? '—' : d.index.toFixed(1); };
    var valueW = Math.max(maxOf(dims, function (d) { return textWidth(rateLabel(d), size - 1, 'bold'); }),
      maxOf(dims, function (d) { return textWidth(indexLabel(d), size - 1); }));
    var bars = function (name, color, values) {
      return {
        name: name,
        type: 'bar',
        yAxisIndex: 0,
        data: values,
        barWidth: barW,
        barGap: (gap / barW * 100) + '%',
        itemStyle: { color: color, borderRadius: [0, 3, 3, 0] },
        showBackground: true,
        backgroundStyle: { color: C.track, borderRadius: 3 },
        emphasis: { disabled: true }
      };
    };
    return {
      height: dims.length * rowH + legendH + 8,
      option: Object.assign(base(), {
        legend: {
          top: 0,
          left: leftW + 12,
          itemWidth: 14,
          itemHeight: 10,
          itemGap: 16,
          selectedMode: false,
          textStyle: { color: C.muted, fontSize: size, fontFamily: FONT }
        },
        grid: { left: leftW + 12, right: Math.ceil(valueW) + 14, top: legendH, bottom: 4 },
        xAxis: percentAxis,
        yAxis: [
          categoryAxis(dims.length, function (i) { return labels[i].join('\n'); },
            { color: C.ink, fontSize: size, lineHeight: lineH, margin: 10 }),
          // The two values of a row, one beside each of its bars.
          categoryAxis(dims.length, function (i) {
            return '{a|' + rateLabel(dims[i]) + '}\n{b|' + indexLabel(dims[i]) + '}';
          }, {
            margin: 8,
            align: 'left',
            rich: {
              a: { fontSize: size - 1, fontWeight: 'bold', color: C.ink, lineHeight: barW + gap, fontFamily: FONT },
              b: { fontSize: size - 1, color: C.muted, lineHeight: barW + gap, fontFamily: FONT }
            }
          })
        ],
        tooltip: tooltip(function (params) {
          var d = dims[params[0].dataIndex];
          var rows = [
            { label: words.dimensionRate, value: rateLabel(d) },
            { label: words.dimensionIndex, value: indexLabel(d) }
          ];
          if (d.alpha !== null && d.alpha !== undefined) {
            rows.push({ label: 'Cronbach α', value: d.alpha.toFixed(3) });
          }
          return tip(d.name, rows);
        }),
        series: [
          bars(words.dimensionRate, C.accent, dims.map(function (d) { return d.value === null ? 0 : d.value * 100; })),
          bars(words.dimensionIndex, C.second, dims.map(function (d) { return d.index === null ? 0 : d.index; }))
        ]
      })
    };
  }

  // --- wiring -----------------------------------------------------------------------------------

  var byKey = {};
  (data.questions || []).forEach(function (q) { byKey[q.key] = q; });
  var entries = [];

  document.querySelectorAll('.chart[data-chart]').forEach(function (el) {
    var kind = el.getAttribute('data-chart');
    var build = null;
    if (kind === 'dist') {
      var q = byKey[el.getAttribute('data-key')];
      if (q && q.answered && q.options && q.options.length &&
          q.options.some(function (o) { return o.percent !== null; })) {
        build = function (width) { return distChart(q, width); };
      }
    } else if (kind === 'rates') {
      var rated = (data.questions || []).filter(function (q) {
        return q.rate && q.rate.value !== null && q.rate.denominator > 0;
      });
      if (rated.length) {
        build = function (width) { return ratesChart(rated, width); };
      }
    } else if (kind === 'dimensions') {
      var dims = (data.dimensions || []).filter(function (d) { return d.value !== null || d.index !== null; });
      if (dims.length) {
        build = function (width) { return dimensionsChart(dims, width); };
      }
    }
    if (build) {
      entries.push({ el: el, build: build, chart: null, width: 0 });
    }
  });

  function draw(entry, width) {
    width = Math.max(Math.floor(width), 200);
    var spec = entry.build(width);
    entry.el.style.height = spec.height + 'px'; // CSSOM, allowed by the CSP (an attribute would not be)
    if (!entry.chart) {
      entry.chart = window.echarts.init(entry.el, null, {
        renderer: 'svg', width: width, height: spec.height, locale: LOCALE
      });
    } else {
      entry.chart.resize({ width: width, height: spec.height });
    }
    entry.chart.setOption(spec.option, true);
    entry.width = width;
    // A viewBox lets print CSS scale the drawing down if a page is narrower than expected.
    var svg = entry.el.querySelector('svg');
    if (svg) {
      svg.setAttribute('viewBox', '0 0 ' + width + ' ' + spec.height);
      svg.setAttribute('preserveAspectRatio', 'xMinYMin meet');
    }
  }

  function drawAll(widthFor) {
    entries.forEach(function (entry) {
      var width = widthFor(entry);
      if (width && width !== entry.width) {
        draw(entry, width);
      }
    });
  }

  function screenWidth(entry) {
    return entry.el.clientWidth;
  }

  // Show the containers first (the rates card is [hidden] without JavaScript), then measure.
  entries.forEach(function (entry) {
    var card = entry.el.closest('[hidden]');
    if (card) {
      card.hidden = false;
    }
    entry.el.classList.add('is-drawn');
    var section = entry.el.closest('section');
    if (section) {
      section.classList.add('has-chart');
    }
  });
  drawAll(screenWidth);

  var pending = null;
  window.addEventListener('resize', function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(function () { drawAll(screenWidth); }, 120);
  });

  // Print at a fixed width (css/charts.css gives the containers the same width in print).
  var printing = false;
  function beforePrint() {
    if (!printing) {
      printing = true;
      drawAll(function () { return PRINT_WIDTH; });
    }
  }
  function afterPrint() {
    if (printing) {
      printing = false;
      drawAll(screenWidth);
    }
  }
  window.addEventListener('beforeprint', beforePrint);
  window.addEventListener('afterprint', afterPrint);
  if (window.matchMedia) {
    var printQuery = window.matchMedia('print');
    var onChange = function (event) { return event.matches ? beforePrint() : afterPrint(); };
    if (printQuery.addEventListener) {
      printQuery.addEventListener('change', onChange);
    } else if (printQuery.addListener) {
      printQuery.addListener(onChange);
    }
  }
  document.documentElement.classList.add('charts-ready');
}());
