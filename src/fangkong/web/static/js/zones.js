// The zone map (ECharts): districts coloured by the severest level in force that day, and
// the zones drawn with a boundary as polygons labelled with their days to the next step.
(function () {
  "use strict";

  const FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';
  const FILL = {
    sealed: "#c0392b", high: "#c0392b",
    controlled: "#e67e22", medium: "#e67e22",
    precaution: "#f4d03f", low: "#f4d03f",
  };
  const DISTRICT = { "封控区": "#f5b7b1", "高风险区": "#f5b7b1", "管控区": "#fad7a0",
    "中风险区": "#fad7a0", "防范区": "#fcf3cf", "低风险区": "#fcf3cf" };

  function message(el, text) {
    el.innerHTML = "";
    const p = document.createElement("p");
    p.className = "chart-message muted";
    p.textContent = text;
    el.appendChild(p);
  }

  function rings(geometry) {
    if (geometry.type === "Polygon") return [geometry.coordinates[0]];
    if (geometry.type === "MultiPolygon") return geometry.coordinates.map((p) => p[0]);
    return [];
  }

  async function draw(data, el) {
    const response = await fetch("/api/v1/regions/" + encodeURIComponent(data.city) + "/boundaries");
    if (!response.ok) {
      message(el, "本市暂无区县边界数据");
      return null;
    }
    const mapName = "fangkong-zones-" + data.city;
    echarts.registerMap(mapName, await response.json());
    const chart = echarts.init(el, null, { renderer: "canvas" });
    const byName = {};
    data.districts.forEach((d) => (byName[d.name] = d.level));
    const shapes = [];
    data.zones.forEach((z) => rings(z.geometry).forEach((ring) => shapes.push({ zone: z, ring: ring })));
    chart.setOption({
      textStyle: { fontFamily: FONT },
      animation: false,
      tooltip: {
        trigger: "item",
        formatter: (p) => {
          const esc = fkTooltip.escape;
          if (p.seriesType === "custom") {
            const z = shapes[p.dataIndex].zone;
            return "<b>" + esc(z.name) + "</b><br>" + esc(z.label) + " · 距下一步 " + esc(z.days_left) + " 天";
          }
          const level = byName[p.name];
          return "<b>" + esc(p.name) + "</b>" + (level ? "<br>最高等级：" + esc(level) : "");
        },
      },
      geo: {
        map: mapName,
        roam: true,
        layoutCenter: ["50%", "50%"],
        layoutSize: "98%",
        label: { show: true, fontSize: 11, color: "#1c2833" },
        itemStyle: { borderColor: "#7b7d7d", borderWidth: 0.8, areaColor: "#f4f6f7" },
        emphasis: { itemStyle: { areaColor: "#f9e79f" } },
        regions: data.districts.map((d) => ({ name: d.name, itemStyle: { areaColor: DISTRICT[d.level] || "#f4f6f7" } })),
      },
      series: [
        {
          type: "custom",
          coordinateSystem: "geo",
          data: shapes.map((_, i) => i),
          renderItem: (params, api) => {
            const s = shapes[params.dataIndex];
            return {
              type: "polygon",
              shape: { points: s.ring.map((p) => api.coord(p)) },
              style: { fill: FILL[s.zone.level] || "#aab7b8", opacity: 0.75, stroke: "#1c2833", lineWidth: 1 },
              textContent: { style: { text: s.zone.days_left + "天", fontSize: 10, fill: "#1c2833" } },
              textConfig: { position: "top" },
            };
          },
        },
      ],
    });
    chart.on("click", (p) => {
      if (p.seriesType === "custom") window.location.href = "/zones/" + encodeURIComponent(shapes[p.dataIndex].zone.code) + "?day=" + data.day;
    });
    return chart;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const node = document.getElementById("zones-data");
    const el = document.getElementById("zone-map");
    if (!node || !el || typeof echarts === "undefined") return;
    const data = JSON.parse(node.textContent);
    draw(data, el)
      .then((chart) => chart && window.addEventListener("resize", () => chart.resize()))
      .catch((e) => {
        message(el, "地图数据加载失败");
        console.warn(e);
      });
  });
})();
