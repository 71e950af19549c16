/* Charts of the account and portfolio pages (Chart.js, served from our own static files).
 *
 * A chart is a <canvas data-chart="kind" data-source="id-of-a-json_script-element">. Charts
 * are drawn whenever htmx loads content, so a chart swapped in by htmx (the account page after
 * a sentiment is recorded) is drawn like one in the first page load.
 */
(function () {
  "use strict";

  // Translucent band colours behind the score line: the zone a score sits in reads at a glance.
  var bandZones = {
    id: "bandZones",
    beforeDatasetsDraw: function (chart, args, options) {
      var zones = options.zones || [];
      var area = chart.chartArea;
      var y = chart.scales.y;
      var ctx = chart.ctx;
      ctx.save();
      zones.forEach(function (zone) {
        var top = y.getPixelForValue(zone.max);
        var bottom = y.getPixelForValue(zone.min);
        ctx.fillStyle = zone.color + "26";
        ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
        ctx.fillStyle = zone.color;
        ctx.font = "11px system-ui, sans-serif";
        ctx.fillText(zone.label, area.left + 4, bottom - 4);
      });
      ctx.restore();
    },
  };

  // Dashed vertical lines where the scorecard or its version changed (scoring rule 13): a
  // step there is a change of method, not of customer.
  var versionBoundaries = {
    id: "versionBoundaries",
    afterDatasetsDraw: function (chart, args, options) {
      var boundaries = options.boundaries || [];
      var area = chart.chartArea;
      var x = chart.scales.x;
      var ctx = chart.ctx;
      ctx.save();
      boundaries.forEach(function (boundary) {
        var index = chart.data.labels.indexOf(boundary.date);
        if (index < 0) {
          return;
        }
        var left = x.getPixelForValue(index);
        ctx.strokeStyle = "#6b7280";
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(left, area.top);
        ctx.lineTo(left, area.bottom);
        ctx.stroke();
        ctx.fillStyle = "#374151";
        ctx.font = "11px system-ui, sans-serif";
        ctx.fillText(boundary.label, left + 3, area.top + 11);
      });
      ctx.restore();
    },
  };

  function scoreHistory(canvas, data) {
    return new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          {
            label: "Score",
            data: data.scores,
            borderColor: "#1f5fae",
            backgroundColor: "#1f5fae",
            pointRadius: data.labels.length > 60 ? 0 : 2,
            borderWidth: 2,
            spanGaps: false,
            tension: 0.2,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { min: 0, max: 100, ticks: { stepSize: 25 } },
          x: { ticks: { maxTicksLimit: 8 } },
        },
        plugins: {
          legend: { display: false },
          bandZones: { zones: data.zones },
          versionBoundaries: { boundaries: data.boundaries },
          tooltip: {
            callbacks: {
              afterLabel: function (item) {
                var version = data.versions ? " · " + data.versions[item.dataIndex] : "";
                return data.bands[item.dataIndex] + version;
              },
            },
          },
        },
      },
      plugins: [bandZones, versionBoundaries],
    });
  }

  function portfolioTrend(canvas, data) {
    var datasets = [
      {
        type: "line",
        label: "Average score",
        data: data.average,
        yAxisID: "score",
        borderColor: "#102a43",
        backgroundColor: "#102a43",
        borderWidth: 2,
        tension: 0.2,
        order: 0,
      },
    ];
    data.bands.forEach(function (band) {
      datasets.push({
        type: "bar",
        label: band.label,
        data: band.counts,
        yAxisID: "accounts",
        backgroundColor: band.color + "b3",
        stack: "bands",
        order: 1,
      });
    });
    return new Chart(canvas, {
      data: { labels: data.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          score: {
            position: "right",
            min: 0,
            max: 100,
            grid: { drawOnChartArea: false },
            title: { display: true, text: "Average score" },
          },
          accounts: {
            position: "left",
            stacked: true,
            beginAtZero: true,
            ticks: { precision: 0 },
            title: { display: true, text: "Accounts" },
          },
          x: { stacked: true },
        },
      },
    });
  }

  // The backtest page: churn rate per band with the current (and suggested) weights.
  function bandChurn(canvas, data) {
    var colors = ["#1f5fae", "#27ae60"];
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.datasets.map(function (set, i) {
          return { label: set.label, data: set.data, backgroundColor: colors[i % colors.length] };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: "Churn rate (%)" } } },
        plugins: {
          tooltip: {
            callbacks: {
              afterLabel: function (item) {
                var lift = item.datasetIndex === 0 ? data.lift[item.dataIndex] : null;
                return lift === null || lift === undefined ? "" : "lift " + lift;
              },
            },
          },
        },
      },
    });
  }

  // The backtest page: predicted vs observed renewal rate by decile of the held-out part.
  function calibration(canvas, data) {
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Predicted", data: data.predicted, backgroundColor: "#9fb3c8" },
          { label: "Observed", data: data.observed, backgroundColor: "#1f5fae" },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          y: { min: 0, max: 100, title: { display: true, text: "Renewed (%)" } },
          x: { title: { display: true, text: "Decile of the prediction" } },
        },
      },
    });
  }

  var kinds = {
    "score-history": scoreHistory,
    "portfolio-trend": portfolioTrend,
    "band-churn": bandChurn,
    calibration: calibration,
  };

  function draw(root) {
    if (typeof Chart === "undefined") {
      return;
    }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.source);
      var make = kinds[canvas.dataset.chart];
      if (!source || !make) {
        return;
      }
      var existing = Chart.getChart(canvas);
      if (existing) {
        existing.destroy();
      }
      make(canvas, JSON.parse(source.textContent));
    });
  }

  htmx.onLoad(draw);
})();
