/* Telemetry charts of the device detail page: each <figure data-chart data-url=…> fetches the
   API series (≤ 500 bucket averages with min/max) and draws it with the vendored uPlot. */
(function () {
  "use strict";

  function draw(fig) {
    var box = fig.querySelector(".chart");
    fetch(fig.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.json();
      })
      .then(function (s) {
        if (!s.points.length) {
          box.textContent = box.dataset.empty;
          return;
        }
        var xs = [], avg = [], lo = [], hi = [];
        s.points.forEach(function (p) {
          xs.push(Date.parse(p.ts) / 1000);
          avg.push(p.value);
          lo.push(p.min);
          hi.push(p.max);
        });
        box.textContent = "";
        box.classList.remove("muted");
        var label = fig.dataset.label + (fig.dataset.unit ? " (" + fig.dataset.unit + ")" : "");
        var series = [{}, { label: label, stroke: "#0e7c66", width: 2 }];
        var data = [xs, avg];
        if (s.bucket_seconds > 0) {
          series.push({ label: "min", stroke: "#9db8b0", width: 1, dash: [4, 4] });
          series.push({ label: "max", stroke: "#9db8b0", width: 1, dash: [4, 4] });
          data.push(lo, hi);
        }
        var width = Math.max(320, box.clientWidth || fig.clientWidth - 32);
        /* global uPlot */
        new uPlot({ width: width, height: 220, series: series, scales: { x: { time: true } } }, data, box);
      })
      .catch(function (err) {
        box.textContent = box.dataset.error + " (" + err.message + ")";
      });
  }

  function init() {
    if (typeof uPlot === "undefined") { return; }
    document.querySelectorAll("figure[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
