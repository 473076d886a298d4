// Charts of the hyperdeliver dashboard: one line chart per metric, with a vertical
// marker at every release (a small Chart.js plugin; no CDN, Chart.js is vendored).
(function () {
  "use strict";
  var el = document.getElementById("chart-data");
  if (!el || typeof Chart === "undefined") return;
  var data = JSON.parse(el.textContent);
  var days = data.series.map(function (p) { return p.day; });

  var releaseMarkers = {
    id: "releaseMarkers",
    afterDatasetsDraw: function (chart, _args, opts) {
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      (opts.releases || []).forEach(function (r) {
        var i = days.indexOf(r.day);
        if (i < 0) return;
        var px = x.getPixelForValue(i);
        ctx.save();
        ctx.strokeStyle = "rgba(234, 88, 12, 0.9)";
        ctx.setLineDash([4, 3]);
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = "rgba(234, 88, 12, 1)";
        ctx.font = "11px system-ui, sans-serif";
        ctx.fillText(r.version, px + 3, area.top + 10);
        ctx.restore();
      });
    }
  };

  window.hyperCharts = {};
  data.charts.forEach(function (spec) {
    var canvas = document.getElementById(spec[0]);
    if (!canvas) return;
    var values = data.series.map(function (p) { var v = p[spec[1]]; return v === undefined ? null : v; });
    window.hyperCharts[spec[0]] = new Chart(canvas, {
      type: "line",
      data: { labels: days, datasets: [{ label: spec[1], data: values, borderColor: spec[2], backgroundColor: spec[2] + "22", fill: true, tension: 0.25, pointRadius: 0 }] },
      options: {
        animation: false,
        responsive: true,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: false }, releaseMarkers: { releases: data.releases } },
        scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { beginAtZero: true } }
      },
      plugins: [releaseMarkers]
    });
  });
})();
