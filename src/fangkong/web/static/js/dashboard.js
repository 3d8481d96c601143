// The dashboard's charts (ECharts). The bulletin's copy button is static/js/copy.js.
(function () {
  "use strict";

  const COLORS = {
    confirmed: "#a93226",
    asymptomatic: "#eb984e",
    control: "#2e6da4",
    community: "#7d3c98",
    total: "#566573",
  };
  const FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';

  function readData() {
    const node = document.getElementById("dashboard-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  function showMessage(el, text) {
    el.innerHTML = "";
    const p = document.createElement("p");
    p.className = "chart-message muted";
    p.textContent = text;
    el.appendChild(p);
  }

  function dayUrl(data, day) {
    const q = new URLSearchParams({ day: day });
    if (data.since) q.set("since", data.since);
    return "/?" + q.toString();
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(url + " → " + response.status);
    return response.json();
  }

  function md(iso) {
    const [, m, d] = iso.split("-");
    return Number(m) + "/" + Number(d);
  }

  async function drawCurve(data, el) {
    const q = new URLSearchParams({ city: data.city, start: data.start, end: data.end });
    if (data.since) q.set("since", data.since);
    const days = await getJson("/api/v1/stats/daily?" + q.toString());
    const chart = echarts.init(el, null, { renderer: "canvas" });
    const x = days.map((d) => d.day);
    const bar = (name, stack, color, key) => ({
      name: name,
      type: "bar",
      stack: stack,
      barMaxWidth: 14,
      itemStyle: { color: color },
      emphasis: { focus: "series" },
      data: days.map((d) => d[key]),
    });
    const selected = x.indexOf(data.day);
    chart.setOption({
      textStyle: { fontFamily: FONT },
      animation: false,
      grid: { left: 44, right: 52, top: 40, bottom: 46 },
      legend: { top: 0, itemWidth: 12, itemHeight: 10, textStyle: { fontSize: 12 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: fkTooltip.axis },
      xAxis: {
        type: "category",
        data: x,
        axisLabel: { formatter: md, fontSize: 11 },
        axisTick: { alignWithLabel: true },
      },
      yAxis: [
        { type: "value", name: "新增", minInterval: 1, nameTextStyle: { fontSize: 11 } },
        {
          type: "value",
          name: "累计",
          minInterval: 1,
          splitLine: { show: false },
          nameTextStyle: { fontSize: 11 },
        },
      ],
      dataZoom: x.length > 45 ? [{ type: "inside" }, { type: "slider", height: 16, bottom: 4 }] : [],
      series: [
        Object.assign(bar("确诊", "分类", COLORS.confirmed, "new_confirmed"), {
          markLine:
            selected >= 0
              ? {
                  symbol: "none",
                  silent: true,
                  label: { formatter: "所选日", fontSize: 11 },
                  lineStyle: { color: "#1c2833", type: "dashed" },
                  data: [{ xAxis: selected }],
                }
              : undefined,
        }),
        bar("无症状", "分类", COLORS.asymptomatic, "new_asymptomatic"),
        bar("隔离管控中发现", "途径", COLORS.control, "under_control"),
        bar("社会面发现", "途径", COLORS.community, "community"),
        {
          name: "累计（确诊+无症状）",
          type: "line",
          yAxisIndex: 1,
          symbol: "none",
          smooth: false,
          lineStyle: { width: 1.5, type: "dashed", color: COLORS.total },
          itemStyle: { color: COLORS.total },
          data: days.map((d) => d.total_confirmed + d.total_asymptomatic),
        },
      ],
    });
    chart.on("click", (params) => {
      if (params.componentType === "series" && x[params.dataIndex]) {
        window.location.href = dayUrl(data, x[params.dataIndex]);
      }
    });
    return chart;
  }

  const PIECES = [
    { value: 0, label: "0", color: "#f4f6f7" },
    { min: 1, max: 9, label: "1–9", color: "#f5b7b1" },
    { min: 10, max: 49, label: "10–49", color: "#e6786b" },
    { min: 50, max: 99, label: "50–99", color: "#c0392b" },
    { min: 100, label: "≥100", color: "#78281f" },
  ];

  async function drawMap(data, el, toggles) {
    if (!data.hasMap) {
      showMessage(el, "本市暂无区县边界数据");
      return null;
    }
    const geo = await getJson("/api/v1/regions/" + encodeURIComponent(data.city) + "/boundaries");
    const mapName = "fangkong-" + data.city;
    echarts.registerMap(mapName, geo);
    const chart = echarts.init(el, null, { renderer: "canvas" });
    const byName = {};
    data.districts.forEach((d) => (byName[d.name] = d));
    const render = (metric) => {
      chart.setOption({
        textStyle: { fontFamily: FONT },
        animation: false,
        tooltip: {
          trigger: "item",
          formatter: (p) => {
            const d = byName[p.name];
            if (!d) return fkTooltip.escape(p.name);
            const esc = fkTooltip.escape;
            const zones = d.zones.length ? "<br><span class='muted'>含" + esc(d.zones.join("、")) + "</span>" : "";
            return "<b>" + esc(d.name) + "</b><br>当日新增 " + esc(d.new) + " 例<br>累计 " + esc(d.total) + " 例" + zones;
          },
        },
        visualMap: {
          type: "piecewise",
          pieces: PIECES,
          left: 8,
          bottom: 8,
          itemWidth: 14,
          itemHeight: 10,
          textStyle: { fontSize: 11 },
          orient: "vertical",
        },
        series: [
          {
            type: "map",
            map: mapName,
            roam: false,
            layoutCenter: ["55%", "50%"],
            layoutSize: "98%",
            label: {
              show: true,
              fontSize: 11,
              color: "#1c2833",
              formatter: (p) => (p.value > 0 ? p.name + "\n" + p.value : p.name),
            },
            itemStyle: { borderColor: "#7b7d7d", borderWidth: 0.8 },
            emphasis: { label: { color: "#000" }, itemStyle: { areaColor: "#f9e79f" } },
            select: { disabled: true },
            // A district's or unit's dashboard lists only its own districts: those are
            // outlined, the rest of the city stays blank.
            data: data.districts.map((d) => ({
              name: d.name,
              value: d[metric],
              itemStyle: data.area ? { borderColor: "#1c2833", borderWidth: 2 } : undefined,
            })),
          },
        ],
      });
    };
    render("new");
    toggles.forEach((button) =>
      button.addEventListener("click", () => {
        toggles.forEach((b) => b.classList.toggle("on", b === button));
        render(button.dataset.metric);
      }),
    );
    return chart;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const data = readData();
    const curveEl = document.getElementById("curve");
    const mapEl = document.getElementById("map");
    if (!data || !curveEl || !mapEl || typeof echarts === "undefined") return;
    const charts = [];
    const toggles = Array.from(document.querySelectorAll(".toggle button"));
    drawCurve(data, curveEl)
      .then((c) => charts.push(c))
      .catch((e) => {
        showMessage(curveEl, "曲线数据加载失败");
        console.warn(e);
      });
    drawMap(data, mapEl, toggles)
      .then((c) => c && charts.push(c))
      .catch((e) => {
        showMessage(mapEl, "地图数据加载失败");
        console.warn(e);
      });
    window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
  });
})();
