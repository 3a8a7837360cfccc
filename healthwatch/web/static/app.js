// healthwatch pages: charts and maps with Apache ECharts (served from node_modules by the app).
// Data come from the same /api/v1 endpoints any client uses; unsafe requests send the session's
// CSRF token (X-CSRF-Token), which the server checks.
// When everything the page draws on load is drawn, <body> gets data-ready="1" and data-ready-ms
// (milliseconds since navigation): benchmarks/web_pages.py and the browser tests wait for it.
// Another page script that draws asynchronously registers its promise with
// window.hwWhenReady(promise) before the window's load event.
"use strict";
(function () {
  const body = document.body;
  const lang = body.dataset.lang || "zh";
  const csrf = body.dataset.csrf || "";
  const dataEl = document.getElementById("page-data");
  const page = dataEl ? JSON.parse(dataEl.textContent) : {};
  const L = page.labels || {};
  const hasCharts = typeof window.echarts !== "undefined";
  const pending = [];
  window.hwWhenReady = p => { pending.push(p); };
  // Resolves when the chart has rendered after the next setOption (at most 5 s later).
  function drawn(chart) {
    if (!chart) return Promise.resolve();
    return new Promise(resolve => {
      const done = () => { chart.off("rendered", done); clearTimeout(timer); resolve(); };
      const timer = setTimeout(done, 5000);
      chart.on("rendered", done);
    });
  }

  async function api(path, options) {
    const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
    if (opts.method && opts.method !== "GET") opts.headers["X-CSRF-Token"] = csrf;
    const res = await fetch(path, opts);
    const data = await res.json();
    if (!res.ok) {
      const msg = lang === "en" ? data.message_en : data.message_zh;
      const problems = (data.problems || []).map(p => (lang === "en" ? p.reason_en : p.reason_zh));
      throw new Error([msg].concat(problems).join(" — "));
    }
    return data;
  }
  const fmt = n => (n === null || n === undefined ? "" : Number(n).toLocaleString(lang === "en" ? "en" : "zh-CN"));
  function cell(tr, text) { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); }
  function chartOn(id) {
    const el = document.getElementById(id);
    if (!el || !hasCharts) return null;
    const chart = echarts.init(el);
    window.addEventListener("resize", () => chart.resize());
    return chart;
  }

  // Plan overview: indicators by nature.
  const natureChart = chartOn("nature-chart");
  if (natureChart && page.by_nature) {
    pending.push(drawn(natureChart));
    const colours = { binding: "#c0392b", expected: "#e59866", not_stated: "#aab7b8" };
    natureChart.setOption({
      title: { text: page.title, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["35%", "65%"], data: Object.entries(page.by_nature)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => ({ name: page.labels[k], value: v, itemStyle: { color: colours[k] } })) }],
    });
  }

  // Regions map: drill-down province -> city -> county.
  const regionChart = chartOn("region-map");
  const mapTable = document.querySelector("#map-table tbody");
  if (document.getElementById("region-map")) {
    const trail = [];
    const upButton = document.getElementById("map-up");
    async function show(adcode) {
      const fc = await api(`/api/v1/regions/${adcode}/map`);
      trail.push({ adcode, name: fc.region.name });
      document.getElementById("map-crumbs").textContent = trail.map(r => r.name).join(" › ");
      upButton.hidden = trail.length < 2;
      mapTable.replaceChildren();
      const byName = {};
      for (const f of fc.features) {
        byName[f.properties.name] = f.properties;
        const tr = document.createElement("tr");
        tr.dataset.adcode = f.properties.adcode;
        cell(tr, f.properties.adcode); cell(tr, f.properties.name); cell(tr, fmt(f.properties.value));
        mapTable.appendChild(tr);
      }
      if (!regionChart) return;
      echarts.registerMap("r" + adcode, fc);
      const values = fc.features.map(f => f.properties.value).filter(v => v !== null);
      regionChart.clear();
      const rendered = drawn(regionChart);
      regionChart.setOption({
        tooltip: { trigger: "item", formatter: p => `${p.name}<br>${L.population}: ${fmt(p.value)}` },
        visualMap: values.length ? { min: Math.min(...values), max: Math.max(...values), left: 10, bottom: 10,
          text: [L.population, ""], calculable: true, inRange: { color: ["#e0f3f8", "#1f6f8b"] } } : undefined,
        series: [{ type: "map", map: "r" + adcode, roam: true, label: { show: fc.features.length < 20 },
          data: fc.features.map(f => ({ name: f.properties.name, value: f.properties.value })) }],
      });
      regionChart.off("click");
      regionChart.on("click", p => {
        const props = byName[p.name];
        if (props && props.level !== "county") show(props.adcode);
      });
      await rendered;
    }
    upButton.addEventListener("click", () => { trail.pop(); const prev = trail.pop(); if (prev) show(prev.adcode); });
    mapTable.addEventListener("click", e => {
      const tr = e.target.closest("tr");
      if (tr && tr.dataset.adcode && trail.length < 3) show(tr.dataset.adcode);
    });
    pending.push(show(page.start || "210000").catch(err => { document.getElementById("map-crumbs").textContent = err.message; }));
  }

  // Access: coverage points and siting results on the province map.
  const coverageChart = chartOn("coverage-map");
  let coverageSeries = [];
  async function drawCoverage(extra) {
    if (!coverageChart) return;
    const rendered = drawn(coverageChart);
    coverageChart.setOption({
      tooltip: { trigger: "item", formatter: p => p.seriesName + (p.data && p.data.id ? `<br>${p.data.id}` : "") },
      legend: { top: 8 },
      geo: { map: "liaoning", roam: true, itemStyle: { areaColor: "#f4f6f7", borderColor: "#99a3a4" } },
      series: coverageSeries.concat(extra || []),
    }, { replaceMerge: ["series"] });
    await rendered;
  }
  if (document.getElementById("coverage-map") && coverageChart) {
    pending.push(Promise.all([api("/api/v1/regions/210000/map"), api("/api/v1/access/coverage?geojson=true")]).then(([fc, cov]) => {
      echarts.registerMap("liaoning", fc);
      const pts = kind => cov.geojson.features.filter(f => f.properties.kind === kind);
      const xy = f => ({ value: f.geometry.coordinates, id: f.properties.id });
      const demand = pts("demand");
      coverageSeries = [
        // large: thousands of demand points drawn in one pass (the page is interactive sooner)
        { name: L.covered, type: "scatter", coordinateSystem: "geo", symbolSize: 4, itemStyle: { color: "#27ae60" },
          large: true, largeThreshold: 500, data: demand.filter(f => f.properties.covered).map(xy) },
        { name: L.uncovered, type: "scatter", coordinateSystem: "geo", symbolSize: 5, itemStyle: { color: "#c0392b" },
          large: true, largeThreshold: 500, data: demand.filter(f => !f.properties.covered).map(xy) },
        { name: L.stations, type: "scatter", coordinateSystem: "geo", symbol: "triangle", symbolSize: 6,
          itemStyle: { color: "#1f6f8b" }, data: pts("station").map(xy) },
      ];
      return drawCoverage();
    }));
  }
  const sitingForm = document.getElementById("siting-form");
  if (sitingForm) {
    sitingForm.addEventListener("submit", async e => {
      e.preventDefault();
      const p = new FormData(sitingForm).get("p");
      const summary = document.getElementById("siting-summary");
      summary.textContent = "…";
      try {
        const res = await api(`/api/v1/access/siting?model=mclp&p=${encodeURIComponent(p)}`);
        summary.textContent = `${L.objective}: ${fmt(res.covered_population)} / ${fmt(res.total_population)} · ${L["solver_" + res.status] || res.status}`;
        const tbody = document.querySelector("#siting-table tbody");
        tbody.replaceChildren();
        for (const s of res.new_sites) {
          const tr = document.createElement("tr");
          cell(tr, s.id); cell(tr, s.lon.toFixed(4)); cell(tr, s.lat.toFixed(4)); cell(tr, s.ambulances);
          tbody.appendChild(tr);
        }
        drawCoverage([{ name: L.selected_sites, type: "effectScatter", coordinateSystem: "geo", symbolSize: 10,
          itemStyle: { color: "#8e44ad" }, data: res.new_sites.map(s => ({ value: [s.lon, s.lat], id: s.id })) }]);
      } catch (err) { summary.textContent = err.message; }
    });
  }

  // Outbreak detection on an uploaded file.
  const detectForm = document.getElementById("detect-form");
  if (detectForm) {
    const detectChart = chartOn("detect-chart");
    detectForm.addEventListener("submit", async e => {
      e.preventDefault();
      const errorEl = document.getElementById("detect-error");
      errorEl.hidden = true;
      try {
        const res = await api("/api/v1/surveillance/detect", { method: "POST", body: new FormData(detectForm) });
        document.getElementById("detect-summary").textContent =
          `${res.method}: ${res.series.length} ${L.series}, ${res.alarms} ${L.alarms}`;
        const tbody = document.querySelector("#detect-table tbody");
        tbody.replaceChildren();
        for (const s of res.series) {
          res.t.forEach((t, i) => {
            const tr = document.createElement("tr");
            if (s.alarm[i]) tr.className = "severity-error";
            cell(tr, s.name); cell(tr, t); cell(tr, fmt(s.observed[i]));
            cell(tr, s.expected[i] === null ? "" : s.expected[i].toFixed(2));
            cell(tr, s.upperbound[i] === null ? "" : s.upperbound[i].toFixed(2));
            cell(tr, s.alarm[i] ? "⚠ " + L.alarm : "");
            tbody.appendChild(tr);
          });
        }
        if (detectChart && res.series.length) {
          const s = res.series[0];
          detectChart.setOption({
            title: { text: s.name, left: "center", textStyle: { fontSize: 14 } },
            tooltip: { trigger: "axis" }, legend: { bottom: 0 },
            xAxis: { type: "category", data: res.t }, yAxis: { type: "value" },
            series: [
              { name: L.observed, type: "bar", data: s.observed.map((v, i) => ({ value: v, itemStyle: { color: s.alarm[i] ? "#c0392b" : "#5dade2" } })) },
              { name: L.upperbound, type: "line", step: "middle", data: s.upperbound, itemStyle: { color: "#7f8c8d" } },
            ],
          }, true);
        }
      } catch (err) { errorEl.textContent = err.message; errorEl.hidden = false; }
    });
  }

  window.addEventListener("load", () => {
    Promise.allSettled(pending).then(() => {
      body.dataset.readyMs = String(Math.round(performance.now()));
      body.dataset.ready = "1";
    });
  });
})();
