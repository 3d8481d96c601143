// A testing round's progress chart (ECharts): samples per hour as bars, the cumulative
// persons sampled as a line against the persons due. The data is embedded in the page.
(function () {
  "use strict";

  const FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';

  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function drawProgress(el, data) {
    const chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      textStyle: { fontFamily: FONT },
      animation: false,
      grid: { left: 56, right: 64, top: 40, bottom: 46 },
      legend: { top: 0, itemWidth: 12, itemHeight: 10, textStyle: { fontSize: 12 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: fkTooltip.axis },
      xAxis: {
        type: "category",
        data: data.hours,
        axisLabel: { fontSize: 11, hideOverlap: true },
        axisTick: { alignWithLabel: true },
      },
      yAxis: [
        { type: "value", name: "每小时采样", minInterval: 1, nameTextStyle: { fontSize: 11 } },
        {
          type: "value",
          name: "累计人数",
          minInterval: 1,
          // The due line stays in view even before most people are sampled.
          max: (v) => Math.max(v.max, data.due),
          splitLine: { show: false },
          nameTextStyle: { fontSize: 11 },
        },
      ],
      series: [
        {
          name: "采样数",
          type: "bar",
          barMaxWidth: 18,
          itemStyle: { color: "#2e6da4" },
          data: data.samples,
        },
        {
          name: "累计采样人数",
          type: "line",
          yAxisIndex: 1,
          symbolSize: 4,
          itemStyle: { color: "#a93226" },
          data: data.cumulative,
          markLine: {
            symbol: "none",
            silent: true,
            lineStyle: { color: "#707b7c", type: "dashed" },
            label: { formatter: "应检 " + data.due, position: "insideEndBottom", fontSize: 11 },
            data: [{ yAxis: data.due }],
          },
        },
      ],
    });
    return chart;
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof echarts === "undefined") return;
    const el = document.getElementById("progress-chart");
    const data = readJson("progress-data");
    if (!el || !data || !data.hours.length) return;
    const chart = drawProgress(el, data);
    window.addEventListener("resize", () => chart.resize());
  });
})();
