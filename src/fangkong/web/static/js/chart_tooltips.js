// ECharts tooltips without style attributes, which the Content-Security-Policy refuses:
// ECharts' default tooltip markup styles every row inline. `fkTooltip.axis` lists the
// series of an axis tooltip with an SVG colour marker (a fill attribute, not a style);
// `fkTooltip.escape` keeps names from the data from being read as HTML.
(function () {
  const escape = (value) =>
    String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const marker = (color) =>
    typeof color === "string"
      ? '<svg class="tt-marker" viewBox="0 0 10 10" aria-hidden="true"><circle cx="5" cy="5" r="5" fill="' + escape(color) + '"></circle></svg>'
      : "";
  const value = (p) => {
    const v = Array.isArray(p.value) ? p.value[p.value.length - 1] : p.value;
    return v === null || v === undefined || v === "" ? "-" : v;
  };
  const axis = (params) => {
    const list = Array.isArray(params) ? params : [params];
    if (!list.length) return "";
    const rows = list.map(
      (p) => '<div class="tt-row">' + marker(p.color) + escape(p.seriesName) +
        '<span class="tt-value">' + escape(value(p)) + "</span></div>"
    );
    return '<div class="tt-title">' + escape(list[0].axisValueLabel ?? list[0].name) + "</div>" + rows.join("");
  };
  window.fkTooltip = { axis, escape, marker };
})();
