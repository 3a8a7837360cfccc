// healthwatch early-warning pages: the alert map (counties coloured by their highest open level)
// and each source's evidence over time on an alert page (counts vs threshold, signal days marked).
// Data come from /api/v1/warning/... and the page's own JSON; nothing changes on the server here
// (lifecycle steps are plain forms carrying the CSRF token).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const lang = document.body.dataset.lang || "zh";
  const dataEl = document.getElementById("page-data");
  const page = dataEl ? JSON.parse(dataEl.textContent) : {};
  const L = page.labels || {};
  if (typeof window.echarts === "undefined") return;

  function chartOn(el) {
    const chart = echarts.init(el);
    window.addEventListener("resize", () => chart.resize());
    return chart;
  }

  const mapEl = document.getElementById("warning-map");
  if (mapEl) {
    const chart = chartOn(mapEl);
    const levels = ["blue", "yellow", "orange", "red"];
    const drawnMap = fetch("/api/v1/warning/map", { credentials: "same-origin" })
      .then(r => r.json())
      .then(fc => {
        echarts.registerMap("warning", fc);
        chart.setOption({
          // the county with its city (鞍山市铁东区); in English with its adcode too, since the
          // region hierarchy names regions in Chinese only
          tooltip: { trigger: "item", formatter: p => `${p.name}${
            lang === "en" && p.data ? ` (${p.data.adcode})` : ""}<br>${
            p.value >= 0 ? L["level_" + levels[p.value]] : L.warn_no_alert}` },
          visualMap: { type: "piecewise", left: 10, bottom: 10, show: false,
            pieces: levels.map((lvl, i) => ({ value: i, color: page.colours[lvl], label: L["level_" + lvl] })),
            outOfRange: { color: "#eef1f3" } },
          series: [{ type: "map", map: "warning", roam: true, label: { show: false },
            emphasis: { label: { show: true } },
            data: fc.features.map(f => ({ name: f.properties.name, adcode: f.properties.adcode,
              value: f.properties.value === null ? -1 : f.properties.value })) }],
        });
        mapEl.dataset.ready = "1";
      })
      .catch(err => { mapEl.textContent = String(err); });
    if (window.hwWhenReady) window.hwWhenReady(drawnMap);  // benchmarks/web_pages.py waits for it
  }

  for (const el of document.querySelectorAll("#evidence-charts .chart")) {
    const s = (page.series || [])[Number(el.dataset.index)];
    if (!s) continue;
    const chart = chartOn(el);
    const marks = s.dates.map((d, i) => (s.signal[i] ? [d, s.observed[i]] : null)).filter(x => x);
    chart.setOption({
      title: { text: el.dataset.title, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      legend: { bottom: 0 },
      grid: { left: 50, right: 20, top: 40, bottom: 50 },
      xAxis: { type: "category", data: s.dates },
      yAxis: { type: "value", min: 0 },
      series: [
        { name: L.warn_observed, type: "line", data: s.observed, itemStyle: { color: "#1f6f8b" } },
        { name: L.warn_expected, type: "line", data: s.expected, lineStyle: { type: "dotted" }, itemStyle: { color: "#7f8c8d" }, symbol: "none" },
        { name: L.warn_threshold, type: "line", data: s.threshold, lineStyle: { type: "dashed" }, itemStyle: { color: "#c0392b" }, symbol: "none" },
        { name: L.warn_signal_day, type: "scatter", data: marks, symbolSize: 14, itemStyle: { color: "#e67e22" } },
      ],
    });
    el.dataset.ready = "1";
  }
});
