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

  // Regions map: drill-down province -> city -> county; coloured by population, or by an
  // indicator's value or status in a year (the evaluation API) when one is chosen.
  const regionChart = chartOn("region-map");
  const mapTable = document.querySelector("#map-table tbody");
  if (document.getElementById("region-map")) {
    const trail = [];
    const above = (page.above || []).slice();  // the regions above the start, province first
    const upButton = document.getElementById("map-up");
    const sel = id => document.getElementById(id);
    const choices = page.choices || [];
    const chosen = page.chosen || {};
    function option(select, value, text, selected) {
      const o = document.createElement("option");
      o.value = value; o.textContent = text; o.selected = !!selected;
      select.appendChild(o);
    }
    function fillPlan() {
      const plan = choices.find(p => p.id === sel("map-plan").value) || choices[0];
      if (!plan) return;
      const keep = sel("map-indicator").value || chosen.indicator;
      sel("map-indicator").replaceChildren();
      option(sel("map-indicator"), "", L.population, !keep);
      for (const i of plan.indicators) option(sel("map-indicator"), i.code, i.name, i.code === keep);
      const year = sel("map-year").value || chosen.year || String(plan.default_year);
      sel("map-year").replaceChildren();
      for (const y of plan.years) option(sel("map-year"), String(y), String(y), String(y) === year);
      chosen.indicator = null; chosen.year = null;
    }
    if (sel("map-plan")) {
      for (const p of choices) option(sel("map-plan"), p.id, p.name, p.id === (chosen.plan || "liaoning-2021-2025"));
      if (chosen.by === "status") sel("map-by").value = "status";
      fillPlan();
      sel("map-plan").addEventListener("change", () => { fillPlan(); redraw(); });
      for (const id of ["map-indicator", "map-year", "map-by"]) sel(id).addEventListener("change", redraw);
      sel("map-colour").addEventListener("submit", e => e.preventDefault());
    }
    function mapUrl(adcode) {
      const indicator = sel("map-indicator") ? sel("map-indicator").value : "";
      if (!indicator) return `/api/v1/regions/${adcode}/map`;
      const q = new URLSearchParams({ indicator, year: sel("map-year").value, region: adcode, lang });
      return `/api/v1/evaluation/${encodeURIComponent(sel("map-plan").value)}/map?${q}`;
    }
    let latest = 0;  // only the newest request draws (selectors can change while one loads)
    function redraw() {
      const here = trail.length ? trail[trail.length - 1].adcode : (page.start || "210000");
      show(here, true).catch(fail);
    }
    function fail(err) { document.getElementById("map-crumbs").textContent = err.message; }
    async function show(adcode, same) {
      const ticket = ++latest;
      const fc = await api(mapUrl(adcode));
      if (ticket !== latest) return;
      if (same && trail.length) trail.pop();
      trail.push({ adcode, name: fc.region.name });
      document.getElementById("map-crumbs").textContent = trail.map(r => r.name).join(" › ");
      upButton.hidden = trail.length < 2 && !above.length;
      const byStatus = !!fc.statuses && sel("map-by") && sel("map-by").value === "status";
      const valueName = fc.indicator ? `${fc.indicator.name} (${fc.indicator.unit_label}, ${fc.year})` : L.population;
      const head = document.getElementById("map-value-head");
      if (head) head.textContent = fc.indicator ? `${fc.indicator.name} ${fc.year}` : L.population;
      mapTable.replaceChildren();
      const byName = {};
      for (const f of fc.features) {
        byName[f.properties.name] = f.properties;
        const tr = document.createElement("tr");
        tr.dataset.adcode = f.properties.adcode;
        const status = fc.statuses ? fc.statuses[f.properties.adcode] : null;
        if (status) tr.dataset.status = status;
        const v = f.properties.value;
        cell(tr, f.properties.adcode); cell(tr, f.properties.name);
        cell(tr, fc.indicator ? (v === null ? L.no_data : Number(v).toPrecision(4)) : fmt(v));
        const td = document.createElement("td");
        if (status) { const b = document.createElement("span"); b.className = "status status-" + status; b.textContent = fc.status_labels[status]; td.appendChild(b); }
        tr.appendChild(td);
        mapTable.appendChild(tr);
      }
      if (!regionChart) return;
      echarts.registerMap("r" + adcode, fc);
      const values = fc.features.map(f => f.properties.value).filter(v => v !== null);
      const order = Object.keys(fc.status_colours || {});
      let visualMap;
      if (byStatus) {
        visualMap = { type: "piecewise", left: 10, bottom: 10, dimension: 0,
          pieces: order.map((s, i) => ({ value: i, label: fc.status_labels[s], color: fc.status_colours[s] })) };
      } else if (values.length) {
        visualMap = { min: Math.min(...values), max: Math.max(...values), left: 10, bottom: 10,
          text: [valueName, ""], calculable: true, inRange: { color: ["#e0f3f8", "#1f6f8b"] } };
      }
      const datum = f => {
        const status = fc.statuses ? fc.statuses[f.properties.adcode] : null;
        const value = byStatus ? (status ? order.indexOf(status) : null) : f.properties.value;
        return { name: f.properties.name, value, raw: f.properties.value, status };
      };
      regionChart.clear();
      const rendered = drawn(regionChart);
      regionChart.setOption({
        tooltip: { trigger: "item", formatter: p => {
          const d = p.data || {};
          const v = fc.indicator ? (d.raw === null || d.raw === undefined ? L.no_data : Number(d.raw).toPrecision(4)) : fmt(p.value);
          return `${p.name}<br>${valueName}: ${v}` + (d.status ? `<br>${fc.status_labels[d.status]}` : "");
        } },
        visualMap,
        series: [{ type: "map", map: "r" + adcode, roam: true, label: { show: fc.features.length < 20 },
          data: fc.features.map(datum) }],
      });
      regionChart.off("click");
      regionChart.on("click", p => {
        const props = byName[p.name];
        if (props && props.level !== "county") show(props.adcode).catch(fail);
      });
      await rendered;
    }
    upButton.addEventListener("click", () => {
      if (trail.length < 2 && above.length) { trail.pop(); show(above.pop()).catch(fail); return; }
      trail.pop(); const prev = trail.pop(); if (prev) show(prev.adcode).catch(fail);
    });
    mapTable.addEventListener("click", e => {
      const tr = e.target.closest("tr");
      if (tr && tr.dataset.adcode && trail.length < 3) show(tr.dataset.adcode).catch(fail);
    });
    pending.push(show(page.start || "210000").catch(fail));
  }

  // Indicator page: the series against the target path, with the forecast band; regions ranked.
  const indicatorChart = chartOn("indicator-chart");
  if (indicatorChart && page.detail) {
    const d = page.detail;
    const first = Math.min(...d.series.map(p => p.year), d.target_path.length ? d.target_path[0][0] : 9999, d.plan.start_year);
    const last = Math.max(d.indicator.target.year || d.plan.end_year, ...d.series.map(p => p.year));
    const years = []; for (let y = first; y <= last; y++) years.push(String(y));
    const at = (pairs) => years.map(y => { const hit = pairs.find(p => String(p[0]) === y); return hit ? hit[1] : null; });
    const reported = at(d.series.map(p => [p.year, p.value]));
    const path = at(d.target_path);
    const fan = d.forecast_fan;
    // the band: low line plus (high - low) stacked on it, drawn between the latest year and the target year
    const low = years.map(() => null), width = years.map(() => null), mid = years.map(() => null);
    if (fan.length === 2 && fan[1].year > fan[0].year) {
      for (let y = fan[0].year; y <= fan[1].year; y++) {
        const k = (y - fan[0].year) / (fan[1].year - fan[0].year), i = years.indexOf(String(y));
        if (i < 0) continue;
        const lo = fan[0].low + k * (fan[1].low - fan[0].low), hi = fan[0].high + k * (fan[1].high - fan[0].high);
        low[i] = lo; width[i] = hi - lo; mid[i] = fan[0].value + k * (fan[1].value - fan[0].value);
      }
    }
    const goal = d.target_goal;  // the goal, or a bound's own value (at most / at least / equal)
    pending.push(drawn(indicatorChart));
    indicatorChart.setOption({
      tooltip: { trigger: "axis", formatter: ps => {
        const num = v => Number(v).toPrecision(4);
        const lines = ps.filter(p => p.seriesName !== "low" && p.value !== null && p.value !== undefined).map(p =>
          p.seriesName === L.forecast_band ? `${p.marker}${p.seriesName}: ${num(low[p.dataIndex])} – ${num(low[p.dataIndex] + p.value)}`
            : `${p.marker}${p.seriesName}: ${num(p.value)}`);
        return [ps.length ? ps[0].axisValue : ""].concat(lines).join("<br>");
      } },
      legend: { bottom: 0, data: [L.reported, L.target_path, L.forecast_value, L.forecast_band] },
      grid: { left: 60, right: 30, top: 30, bottom: 50 },
      xAxis: { type: "category", data: years, boundaryGap: false },
      yAxis: { type: "value", scale: true, name: d.indicator.unit_label },
      series: [
        { name: "low", type: "line", data: low, stack: "band", lineStyle: { opacity: 0 }, symbol: "none", tooltip: { show: false } },
        { name: L.forecast_band, type: "line", data: width, stack: "band", lineStyle: { opacity: 0 }, symbol: "none",
          areaStyle: { color: "#ff8f00", opacity: 0.25 }, itemStyle: { color: "#ffb74d" } },
        { name: L.forecast_value, type: "line", data: mid, lineStyle: { type: "dotted", color: "#ef6c00" }, itemStyle: { color: "#ef6c00" }, symbol: "none" },
        { name: L.target_path, type: "line", data: path, connectNulls: true, lineStyle: { type: "dashed", color: "#1565c0" }, itemStyle: { color: "#1565c0" },
          markLine: goal === null || goal === undefined ? undefined : { symbol: "none", label: { formatter: L.target_goal + " {c}" }, lineStyle: { color: "#2e7d32" }, data: [{ yAxis: goal }] } },
        { name: L.reported, type: "line", data: reported, connectNulls: true, itemStyle: { color: "#212121" }, lineStyle: { width: 2 } },
      ],
    });
  }
  const regionsChart = chartOn("regions-chart");
  if (regionsChart && page.detail && page.detail.regions.length) {
    const rows = page.detail.regions.filter(r => r.value !== null).slice().reverse();
    pending.push(drawn(regionsChart));
    regionsChart.setOption({
      tooltip: { trigger: "item", formatter: p => `${p.name}: ${Number(p.value).toPrecision(4)}<br>${p.data.label}` },
      grid: { left: 90, right: 20, top: 20, bottom: 30 },
      xAxis: { type: "value", scale: true }, yAxis: { type: "category", data: rows.map(r => r.name) },
      series: [{ type: "bar", data: rows.map(r => ({ value: r.value, label: r.status_label, itemStyle: { color: r.status_colour } })),
        markLine: page.detail.indicator.target.goal ? { symbol: "none", data: [{ xAxis: page.detail.indicator.target.goal }], lineStyle: { color: "#2e7d32" } } : undefined }],
    });
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
