// The Metrics section: charts of a deployment's serving metrics over the last hour, drawn with
// uPlot from the history API and refreshed every step of the history. Asks nothing while the
// browser tab is hidden, and stops for good when the section leaves the page.
(function () {
  "use strict";
  if (window.dynamoteMetrics) return;
  window.dynamoteMetrics = true;

  var COLOURS = ["#76b900", "#38bdf8", "#f59e0b"]; // NVIDIA green, sky-400, amber-500
  var AXIS = "#a1a1aa"; // zinc-400: readable on zinc-950
  var GRID = "rgba(63, 63, 70, 0.7)"; // zinc-700
  var FONT = "11px ui-sans-serif, system-ui, sans-serif";
  var HEIGHT = 180;
  var NONE = "—";

  function format(value) {
    if (value === null || value === undefined || !isFinite(value)) return NONE;
    var size = Math.abs(value);
    var digits = size >= 100 || value === Math.round(value) ? 0 : size >= 10 ? 1 : 2;
    return value.toLocaleString("en-US", { maximumFractionDigits: digits });
  }

  function lastValue(column) {
    return column && column.length ? column[column.length - 1] : null;
  }

  function hasValues(history) {
    return Object.keys(history.series || {}).some(function (key) {
      return history.series[key].some(function (value) { return value !== null; });
    });
  }

  function scaled(values, factor) {
    return values.map(function (value) {
      return value === null || value === undefined ? null : value * factor;
    });
  }

  function Chart(root) {
    this.root = root;
    this.keys = root.dataset.series.split(" ");
    this.labels = root.dataset.labels.split("|");
    this.unit = root.dataset.unit;
    this.factor = Number(root.dataset.factor) || 1;
    this.max = root.dataset.max ? Number(root.dataset.max) : null;
    this.latest = root.querySelector("[data-latest]");
    this.holder = root.querySelector("[data-plot]");
    this.plot = null;
    this.step = 15;
  }

  Chart.prototype.data = function (history) {
    var factor = this.factor;
    var columns = [history.t];
    this.keys.forEach(function (key) {
      columns.push(scaled((history.series || {})[key] || history.t.map(function () { return null; }), factor));
    });
    return columns;
  };

  Chart.prototype.latestText = function (columns) {
    var unit = this.unit;
    var last = columns[0].length - 1;
    var values = columns.slice(1).map(function (column) { return last < 0 ? null : column[last]; });
    if (values.every(function (value) { return value === null; })) return NONE;
    function text(value) {
      if (value === null) return NONE;
      if (unit === "%") return format(value) + "%";
      // "1 request", "1 request/s", "2 requests/s".
      return format(value) + " " + (value === 1 ? unit.replace(/^([a-z]{3,})s(\/s)?$/, "$1$2") : unit);
    }
    if (values.length === 1) return text(values[0]);
    var labels = this.labels;
    return values.map(function (value, i) { return labels[i] + " " + text(value); }).join(" · ");
  };

  Chart.prototype.options = function (width) {
    var chart = this;
    var series = [{}];
    this.keys.forEach(function (key, i) {
      var colour = COLOURS[i % COLOURS.length];
      series.push({
        label: chart.labels[i] || key,
        stroke: colour,
        width: 2,
        fill: i === 0 ? "rgba(118, 185, 0, 0.08)" : undefined,
        spanGaps: false,
        // Hovering shows the value under the cursor; otherwise the latest one.
        value: function (u, value, si, idx) {
          if (idx === null || idx === undefined) value = lastValue(u.data[si]);
          return format(value);
        },
        // Dots while the points are few or far apart: a single point has no line to draw.
        points: {
          show: function (u) { return u.data[0].length < 2 || u.bbox.width / u.data[0].length > 12 * devicePixelRatio; },
          // Otherwise a dot for each value with no value on either side (one burst of traffic
          // between quiet steps), which a line cannot draw.
          filter: function (u, si, show) {
            if (show) return null;
            var values = u.data[si];
            var lone = [];
            values.forEach(function (value, i) {
              if (value !== null && value !== undefined && (values[i - 1] == null) && (values[i + 1] == null)) lone.push(i);
            });
            return lone.length ? lone : null;
          },
          size: 6,
          stroke: colour,
          fill: colour,
        },
      });
    });
    var axis = { stroke: AXIS, font: FONT, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 } };
    return {
      width: width,
      height: HEIGHT,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: {
          time: true,
          // The points' own span; a lone point sits in the middle of a minute or so.
          range: function (u) {
            var t = u.data[0];
            if (t.length > 1 && t[t.length - 1] > t[0]) return [t[0], t[t.length - 1]];
            var middle = t.length ? t[0] : Date.now() / 1000;
            var half = Math.max(chart.step * 5, 30);
            return [middle - half, middle + half];
          },
        },
        y: {
          range: function (u, min, max) {
            if (chart.max !== null) return [0, chart.max];
            if (max === null || !(max > 0)) return [0, 1];
            return uPlot.rangeNum(0, max, 0.1, true);
          },
        },
      },
      axes: [
        Object.assign({}, axis, {
          space: 64,
          size: 32,
          // 24-hour clock times, seconds only when the ticks are closer than a minute.
          values: function (u, ticks, axisIndex, space, increment) {
            var clock = uPlot.fmtDate(increment < 60 ? "{HH}:{mm}:{ss}" : "{HH}:{mm}");
            return ticks.map(function (tick) { return clock(new Date(tick * 1000)); });
          },
        }),
        Object.assign({}, axis, {
          size: 44,
          values: function (u, ticks) { return ticks.map(format); },
        }),
      ],
      series: series,
    };
  };

  Chart.prototype.show = function (history) {
    this.step = history.stepSeconds || this.step;
    var columns = this.data(history);
    this.latest.textContent = this.latestText(columns);
    var width = this.holder.clientWidth;
    if (!width) return; // hidden: drawn once the charts show
    if (this.plot) {
      this.plot.setData(columns);
    } else {
      this.plot = new uPlot(this.options(width), columns, this.holder);
      // The x row of the legend ("Time") only repeats the axis.
      var timeRow = this.plot.root.querySelector(".u-legend .u-series");
      if (timeRow) timeRow.style.display = "none";
    }
  };

  Chart.prototype.resize = function () {
    var width = this.holder.clientWidth;
    if (this.plot && width && width !== this.plot.width) this.plot.setSize({ width: width, height: HEIGHT });
  };

  Chart.prototype.destroy = function () {
    if (this.plot) this.plot.destroy();
    this.plot = null;
  };

  function Section(root) {
    this.root = root;
    this.url = root.dataset.historyUrl;
    this.step = Number(root.dataset.step) || 15;
    this.ready = root.dataset.ready === "true";
    this.seen = false; // an answer with data has arrived
    this.status = root.querySelector("[data-metrics-status]");
    this.error = root.querySelector("[data-metrics-error]");
    this.source = root.querySelector("[data-metrics-source]");
    this.grid = root.querySelector("[data-metrics-charts]");
    this.charts = Array.prototype.map.call(root.querySelectorAll("[data-chart]"), function (el) {
      return new Chart(el);
    });
    this.timer = null;
    this.request = null;
    this.last = null;
    var section = this;
    this.onVisibility = function () { section.visibility(); };
    document.addEventListener("visibilitychange", this.onVisibility);
    this.resizer = new ResizeObserver(function () {
      if (!section.root.isConnected) return section.stop();
      section.charts.forEach(function (chart) {
        if (!chart.plot && section.last && chart.holder.clientWidth) chart.show(section.last);
        chart.resize();
      });
    });
    this.charts.forEach(function (chart) { section.resizer.observe(chart.holder); });
    if (this.ready) this.status.textContent = "Loading…";
    this.tick();
  }

  Section.prototype.schedule = function () {
    var section = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { section.tick(); }, this.step * 1000);
  };

  Section.prototype.tick = function () {
    var section = this;
    if (!this.root.isConnected) return this.stop();
    if (document.hidden || this.request) return;
    this.request = new AbortController();
    fetch(this.url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal: this.request.signal })
      .then(function (response) {
        return response.json().then(
          function (body) { return { response: response, body: body }; },
          function () { return { response: response, body: {} }; }
        );
      })
      .then(function (answer) {
        if (!answer.response.ok || answer.body.error || !answer.body.t) {
          throw new Error(answer.body.error || "Dynamote answered HTTP " + answer.response.status + " without metrics.");
        }
        section.show(answer.body);
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        var message = error instanceof TypeError ? "Dynamote could not be reached." : error.message;
        section.problem(message);
      })
      .finally(function () {
        section.request = null;
        if (section.root.isConnected && !document.hidden) section.schedule();
      });
  };

  Section.prototype.show = function (history) {
    this.step = history.stepSeconds || this.step;
    // Not Ready and no reading kept yet: the note says when the charts come.
    if (!this.ready && !this.seen && !hasValues(history)) return;
    this.last = history;
    this.seen = true;
    this.error.classList.add("hidden");
    this.error.textContent = "";
    this.grid.classList.remove("hidden");
    this.source.textContent =
      history.source === "prometheus" ? "From Prometheus" : "From Dynamote's readings every " + this.step + " s";
    this.status.textContent = history.t.length < 2 ? "Collecting: a point every " + this.step + " s." : "";
    this.charts.forEach(function (chart) { chart.show(history); });
  };

  Section.prototype.problem = function (message) {
    // Before the deployment is Ready its frontend cannot answer: the note already says so.
    if (!this.ready && !this.seen) return;
    this.error.textContent = message + " The charts show the last answer; trying again every " + this.step + " s.";
    this.error.classList.remove("hidden");
    if (this.status.textContent === "Loading…") this.status.textContent = "";
  };

  Section.prototype.visibility = function () {
    if (!this.root.isConnected) return this.stop();
    if (document.hidden) {
      clearTimeout(this.timer);
      if (this.request) this.request.abort();
    } else {
      this.tick();
    }
  };

  Section.prototype.stop = function () {
    clearTimeout(this.timer);
    if (this.request) this.request.abort();
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.resizer.disconnect();
    this.charts.forEach(function (chart) { chart.destroy(); });
  };

  function scan(event) {
    var scope = (event && event.target && event.target.querySelectorAll) ? event.target : document;
    var roots = Array.prototype.slice.call(scope.querySelectorAll("[data-metrics]"));
    if (scope.matches && scope.matches("[data-metrics]")) roots.push(scope);
    roots.forEach(function (root) {
      if (root.dataset.metricsReady) return;
      root.dataset.metricsReady = "1";
      new Section(root);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
  document.addEventListener("htmx:load", scan);
})();
