// A quarantine site's occupancy over time (ECharts): persons in the site at the end of each
// day as a line, against the site's beds as a dashed mark. The data is embedded in the page.
(function () {
  "use strict";

  const FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';

  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function drawOccupancy(el, data) {
    const chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      textStyle: { fontFamily: FONT },
      animation: false,
      grid: { left: 48, right: 56, top: 30, bottom: 36 },
      tooltip: { trigger: "axis", formatter: fkTooltip.axis },
      xAxis: {
        type: "category",
        data: data.days,
        boundaryGap: false,
        axisLabel: { fontSize: 11, hideOverlap: true },
      },
      yAxis: {
        type: "value",
        name: "人数",
        minInterval: 1,
        // The beds stay in view even while the site is nearly empty.
        max: (v) => Math.max(v.max, data.beds),
        nameTextStyle: { fontSize: 11 },
      },
      series: [
        {
          name: "在点人数",
          type: "line",
          step: false,
          symbolSize: 4,
          areaStyle: { opacity: 0.12 },
          itemStyle: { color: "#7b241c" },
          data: data.persons,
          markLine: {
            symbol: "none",
            silent: true,
            lineStyle: { color: "#707b7c", type: "dashed" },
            label: { formatter: "床位 " + data.beds, position: "insideEndTop", fontSize: 11 },
            data: [{ yAxis: data.beds }],
          },
        },
      ],
    });
    return chart;
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof echarts === "undefined") return;
    const el = document.getElementById("occupancy-chart");
    const data = readJson("occupancy-data");
    if (!el || !data || !data.days.length) return;
    const chart = drawOccupancy(el, data);
    window.addEventListener("resize", () => chart.resize());
  });
})();
