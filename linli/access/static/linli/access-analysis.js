/* Hourly entry/exit chart of the access analysis page: the counts are embedded in the page
   (<script type="application/json" id="access-flow-data">) and drawn with the vendored uPlot. */
(function () {
  "use strict";

  function draw() {
    var fig = document.querySelector("figure[data-flow-chart]");
    var src = document.getElementById("access-flow-data");
    if (!fig || !src || typeof uPlot === "undefined") { return; }
    var box = fig.querySelector(".chart");
    try {
      var d = JSON.parse(src.textContent);
      box.textContent = "";
      box.classList.remove("muted");
      var width = Math.max(320, box.clientWidth || fig.clientWidth - 32);
      /* global uPlot */
      new uPlot({
        width: width,
        height: 240,
        scales: { x: { time: false } },
        axes: [{ values: function (u, vals) { return vals.map(function (v) { return v + ":00"; }); } }, {}],
        series: [
          { label: d.labels.hour, value: function (u, v) { return v == null ? "--" : v + ":00"; } },
          { label: d.labels.entries, stroke: "#0e7c66", width: 2 },
          { label: d.labels.exits, stroke: "#3867d6", width: 2 },
          { label: d.labels.denied, stroke: "#c0392b", width: 1, dash: [4, 4] }
        ]
      }, [d.hours, d.entries, d.exits, d.denied], box);
    } catch (err) {
      box.textContent = box.dataset.error + " (" + err.message + ")";
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
