// Line charts with uPlot (vendor/uplot): metric series of a run, and numbers over time on dataset and
// job pages (row counts, durations).

import { h, library } from "./dom.js";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f"];

function toNumber(value) {
  if (typeof value === "number") return value;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

/**
 * A chart of one or more series over a shared x axis. `series`: [{label, points: [[x, y], …]}].
 * `time`: x values are epoch seconds (a time axis) rather than steps. Returns an element that
 * draws itself once it is in the page (uPlot needs its width).
 */
export function lineChart(series, { time = false, height = 220, xLabel = "", yLabel = "", title = "" } = {}) {
  const box = h("figure", { class: "chart" }, title ? h("figcaption", null, title) : null);
  const plot = h("div", { class: "chart-plot" });
  box.append(plot);
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const data = [xs];
  for (const s of series) {
    const byX = new Map(s.points.map((p) => [p[0], toNumber(p[1])]));
    data.push(xs.map((x) => (byX.has(x) ? byX.get(x) : null)));
  }
  const draw = () => {
    if (!box.isConnected || typeof window.uPlot !== "function") return;
    const width = Math.max(280, plot.clientWidth || box.clientWidth || 600);
    const options = {
      width,
      height,
      scales: { x: { time } },
      axes: [
        { label: xLabel, stroke: "#475569", grid: { stroke: "#e2e8f0" } },
        { label: yLabel, stroke: "#475569", grid: { stroke: "#e2e8f0" }, size: 60 },
      ],
      series: [
        { label: time ? "time" : "step" },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          spanGaps: true,
          points: { show: xs.length < 60, size: 5 },
        })),
      ],
      legend: { show: true },
    };
    plot.replaceChildren();
    // uPlot writes only numbers and our own labels; series labels are set as text by uPlot.
    const chart = new window.uPlot(options, data, plot);
    box.dataset.points = String(xs.length);
    box.chart = chart;
  };
  // Draw when attached (the page appends it after building) and uPlot has run.
  library("uplot").then(
    () => requestAnimationFrame(() => requestAnimationFrame(draw)),
    (error) => plot.replaceChildren(h("p", { class: "muted" }, error.message)),
  );
  return box;
}
