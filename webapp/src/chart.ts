// The voltage chart (uPlot): input and supercap voltage over the last 10 minutes, with the
// blackout voltage limit and the power-on threshold as dashed lines. All the chart code is here.

import uPlot from 'uplot';
import type { PanelData } from './model.js';

const WINDOW_S = 600;

export interface VoltageChart {
  /** A point from the latest values, at most one a second. */
  addPoint(d: PanelData): void;
}

export function createChart(el: HTMLElement, current: () => PanelData): VoltageChart {
  const times: number[] = [];
  const vin: Array<number | null> = [];
  const vcap: Array<number | null> = [];
  let lastPoint = 0;

  const thresholds = (u: uPlot): void => {
    const data = current();
    const ctx = u.ctx;
    const lines: Array<[number | null | undefined, string]> = [
      [data.voltageLimit, '#e0a030'], [data.config?.power_on_threshold, '#4aa3ff'],
    ];
    for (const [v, colour] of lines) {
      if (v === null || v === undefined) continue;
      const y = u.valToPos(v, 'y', true);
      ctx.save();
      ctx.strokeStyle = colour;
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, y);
      ctx.lineTo(u.bbox.left + u.bbox.width, y);
      ctx.stroke();
      ctx.restore();
    }
  };

  const chart = new uPlot({
    width: el.clientWidth || 600,
    height: 220,
    scales: { x: { time: true }, y: { range: [0, 16] } },
    axes: [{ stroke: '#9aa5b1', grid: { stroke: '#33404d' } }, { stroke: '#9aa5b1', grid: { stroke: '#33404d' }, values: (_u, v) => v.map((x) => `${x} V`) }],
    series: [
      {},
      { label: 'Input', stroke: '#36c26b', width: 2 },
      { label: 'Supercap', stroke: '#4aa3ff', width: 2 },
    ],
    hooks: { draw: [thresholds] },
    legend: { show: true },
  }, [times, vin, vcap], el);
  new ResizeObserver(() => chart.setSize({ width: el.clientWidth, height: 220 })).observe(el);

  return {
    addPoint(d: PanelData): void {
      const now = Date.now() / 1000;
      if (now - lastPoint < 0.9) return;
      lastPoint = now;
      times.push(now);
      vin.push(d.V_in);
      vcap.push(d.V_cap);
      while (times.length && times[0]! < now - WINDOW_S) {
        times.shift();
        vin.shift();
        vcap.shift();
      }
      chart.setData([times, vin, vcap]);
    },
  };
}
