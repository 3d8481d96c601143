// Tracing pages: a case's visit timeline and a cluster's chain graph (ECharts).
(function () {
  "use strict";

  const FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';
  const CLASS_COLORS = ["#a93226", "#eb984e"]; // 确诊, 无症状 (the server's category order)
  const EDGE_STYLES = {
    infector: { color: "#1c2833", type: "solid", width: 2 },
    shared_contact: { color: "#2e6da4", type: "dashed", width: 1.5 },
    co_presence: { color: "#7d3c98", type: "solid", width: 1.5 },
    contact: { color: "#1e8449", type: "dotted", width: 1.5 },
  };

  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // Times come as local wall-clock strings without offset, so that the chart shows
  // Beijing time in any browser.
  function hm(value) {
    const d = new Date(value);
    return d.getMonth() + 1 + "/" + d.getDate() + " " + String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function drawTimeline(el, data) {
    const labels = [];
    data.visits.forEach((v) => labels.includes(v.label) || labels.push(v.label));
    const chart = echarts.init(el, null, { renderer: "canvas" });
    const renderItem = (params, api) => {
      const row = api.value(0);
      const from = api.coord([api.value(1), row]);
      const to = api.coord([api.value(2), row]);
      const height = api.size([0, 1])[1] * 0.55;
      const shape = echarts.graphic.clipRectByRect(
        { x: from[0], y: from[1] - height / 2, width: Math.max(to[0] - from[0], 3), height: height },
        { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height },
      );
      return shape && { type: "rect", shape: shape, style: api.style() };
    };
    chart.setOption({
      textStyle: { fontFamily: FONT },
      animation: false,
      grid: { left: 8, right: 48, top: 28, bottom: 30, containLabel: true },
      legend: { show: false },
      tooltip: {
        formatter: (p) => {
          const v = data.visits[p.dataIndex];
          const esc = fkTooltip.escape;
          return "<b>" + esc(v.label) + "</b><br>" + esc(v.span) + (v.inferred ? "<br><span class='muted'>离开时间为推算</span>" : "");
        },
      },
      xAxis: {
        type: "time",
        min: data.window.start,
        max: data.window.end,
        axisLabel: { formatter: hm, fontSize: 11, hideOverlap: true },
      },
      yAxis: { type: "category", data: labels, inverse: true, axisLabel: { fontSize: 11 } },
      series: [
        {
          type: "custom",
          renderItem: renderItem,
          encode: { x: [1, 2], y: 0 },
          data: data.visits.map((v) => ({
            value: [labels.indexOf(v.label), v.start, v.end],
            itemStyle: v.inferred
              ? { color: "rgba(169, 50, 38, 0.25)", borderColor: "#a93226", borderType: "dashed", borderWidth: 1 }
              : { color: "#a93226" },
          })),
        },
      ],
      graphic: [
        {
          type: "text",
          right: 24,
          top: 4,
          style: { text: "实心：扫码记录的停留  虚框：离开时间为推算", fontSize: 11, fill: "#707b7c" },
        },
      ],
    });
    return chart;
  }

  function drawGraph(el, data) {
    const chart = echarts.init(el, null, { renderer: "canvas" });
    const kindName = {};
    data.edgeKinds.forEach((k) => (kindName[k.name] = k.kind));
    const shown = new Set(data.edgeKinds.map((k) => k.kind));
    // A link to a case that is not drawn (outside the caller's area, or not in this
    // cluster) would make ECharts read the position of a missing node.
    const drawn = new Set(data.nodes.map((n) => n.id));
    const links = () =>
      data.links
        .filter((l) => shown.has(l.kind) && drawn.has(l.source) && drawn.has(l.target))
        .map((l) => ({
          source: l.source,
          target: l.target,
          value: l.label,
          detail: l.detail,
          lineStyle: EDGE_STYLES[l.kind] || {},
          symbol: l.kind === "infector" ? ["none", "arrow"] : ["none", "none"],
        }));
    const graph = () => ({
      id: "chain",
      name: "传播链",
      type: "graph",
      layout: "force",
      roam: true,
      draggable: true,
      force: { repulsion: 260, edgeLength: [60, 140], gravity: 0.08 },
      categories: data.categories.map((c, i) => ({ name: c.name, itemStyle: { color: CLASS_COLORS[i] } })),
      label: { show: true, position: "right", fontSize: 11 },
      edgeSymbolSize: 8,
      lineStyle: { opacity: 0.9 }, // the default 0.5 would grey out the kinds' colours
      data: data.nodes.map((n) => ({
        id: n.id,
        name: n.name,
        category: n.category,
        symbolSize: n.symbolSize,
        contacts: n.contacts,
        district: n.district,
        reported: n.reported,
      })),
      links: links(),
      emphasis: { focus: "adjacency", lineStyle: { width: 3 } },
    });
    // One empty series per kind of link puts the link kinds into the legend; toggling one
    // filters the graph's links.
    const kindSeries = data.edgeKinds.map((k) => ({
      name: k.name,
      type: "graph",
      data: [],
      itemStyle: { color: (EDGE_STYLES[k.kind] || {}).color },
    }));
    chart.setOption({
      textStyle: { fontFamily: FONT },
      legend: [
        { top: 0, left: 0, data: data.categories.map((c) => c.name) },
        { top: 0, right: 0, data: data.edgeKinds.map((k) => k.name), icon: "rect", itemHeight: 4 },
      ],
      tooltip: {
        formatter: (p) => {
          if (p.dataType === "edge") {
            const esc = fkTooltip.escape;
            return esc(p.data.source) + " — " + esc(p.data.target) + "<br>" + esc(p.data.value) + (p.data.detail ? "（" + esc(p.data.detail) + "）" : "");
          }
          if (p.dataType !== "node") return "";
          const c = p.data.contacts || {};
          const esc = fkTooltip.escape;
          return (
            "<b>" + esc(p.data.name) + "</b> " + esc(p.data.district) + "<br>报告 " + esc(p.data.reported) +
            "<br>密接 " + (c.close || 0) + " · 次密接 " + (c.secondary || 0) + " · 一般 " + (c.general || 0)
          );
        },
      },
      series: [graph(), ...kindSeries],
    });
    chart.on("legendselectchanged", (event) => {
      const kind = kindName[event.name];
      if (!kind) return;
      if (event.selected[event.name]) shown.add(kind);
      else shown.delete(kind);
      chart.setOption({ series: [{ id: "chain", links: links() }] });
    });
    chart.on("click", (p) => {
      if (p.dataType === "node") window.location.href = "/cases/" + encodeURIComponent(p.data.id) + "/contacts";
    });
    return chart;
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof echarts === "undefined") return;
    const charts = [];
    const timelineEl = document.getElementById("timeline");
    const timeline = readJson("timeline-data");
    if (timelineEl && timeline && timeline.visits.length) charts.push(drawTimeline(timelineEl, timeline));
    const graphEl = document.getElementById("chain-graph");
    const graph = readJson("graph-data");
    if (graphEl && graph) charts.push(drawGraph(graphEl, graph));
    window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
  });
})();
