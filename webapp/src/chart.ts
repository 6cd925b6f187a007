// The voltage chart (uPlot): input and supercap voltage over the last 10 minutes, with the
// blackout voltage limit and the power-on threshold as labelled dashed lines, and the list of
// past blackouts below it. It starts from the host's history (halpid's GET /history, or the
// Signal K plugin's), so a reload keeps it, then adds the live values. Colours come from the
// theme's CSS variables at every draw, so any theme applies. All the chart code is here.

import uPlot from 'uplot';
import { pastBlackouts } from './blackout-list.js';
import type { BlackoutRow } from './blackouts.js';
import type { PanelData } from './model.js';

const WINDOW_S = 600;
const HEIGHT = 220;

/** GET /history's answer (docs/api.md), the parts the panel uses. */
interface HistoryJson {
  step: number;
  /** The host's clock when it answered (Unix seconds). */
  now: number;
  buckets: { t: number[]; V_in: Array<number | null>; V_cap: Array<number | null> };
  blackouts: BlackoutRow[];
}

export interface VoltageChart {
  /** A point from the latest values, at most one a second. */
  addPoint(d: PanelData): void;
}

/** A theme colour: the chart's own variable if the theme sets one, else the theme's general one. */
function cssColour(el: Element, names: string[], fallback: string): string {
  const style = getComputedStyle(el);
  for (const n of names) {
    const v = style.getPropertyValue(n).trim();
    if (v) return v;
  }
  return fallback;
}

const pad = (n: number): string => String(n).padStart(2, '0');
const clock = (s: number, seconds: boolean): string => {
  const d = new Date(s * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`;
};

/** Where the page's host keeps the history: the Signal K plugin's route, or halpid's API. */
function defaultHistoryUrl(): string {
  const onSignalK =
    location.pathname.startsWith('/signalk-halpi2') || new URLSearchParams(location.search).get('source') === 'signalk';
  return onSignalK ? '/plugins/signalk-halpi2/history' : 'api/history';
}

export function createChart(
  el: HTMLElement,
  current: () => PanelData,
  opts: { historyUrl?: string } = {},
): VoltageChart {
  const historyUrl = opts.historyUrl ?? defaultHistoryUrl();
  const times: number[] = [];
  const vin: Array<number | null | undefined> = [];
  const vcap: Array<number | null | undefined> = [];
  let lastPoint = 0;
  const colour = (names: string[], fallback: string) => () => cssColour(el, names, fallback);
  const grid = colour(['--chart-grid', '--line'], '#33404d');
  const axis = colour(['--chart-axis', '--muted'], '#9aa5b1');
  const inputColour = colour(['--chart-input', '--ok'], '#36c26b');
  const capColour = colour(['--chart-supercap', '--accent'], '#4aa3ff');
  const limitColour = colour(['--chart-limit', '--caution'], '#e0a030');

  /** The two thresholds, each a dashed line with its name and value at the right end. */
  const thresholds = (u: uPlot): void => {
    const data = current();
    const ctx = u.ctx;
    const lines: Array<[number | null | undefined, string, string]> = [
      [data.voltageLimit, limitColour(), 'Blackout limit'],
      [data.config?.power_on_threshold, capColour(), 'Power-on threshold'],
    ];
    const px = devicePixelRatio || 1;
    for (const [v, stroke, name] of lines) {
      if (v === null || v === undefined) continue;
      const y = u.valToPos(v, 'y', true);
      ctx.save();
      ctx.strokeStyle = stroke;
      ctx.fillStyle = stroke;
      ctx.setLineDash([6 * px, 4 * px]);
      ctx.lineWidth = 1.5 * px;
      ctx.beginPath();
      ctx.moveTo(u.bbox.left, y);
      ctx.lineTo(u.bbox.left + u.bbox.width, y);
      ctx.stroke();
      // The label at the left end, where the oldest readings are (the newest come in on the
      // right): the limit above its line, the threshold below it, so two close lines stay legible.
      ctx.font = `${12 * px}px system-ui, sans-serif`;
      ctx.textAlign = 'left';
      const above = name === 'Blackout limit' ? y - u.bbox.top > 16 * px : u.bbox.top + u.bbox.height - y < 16 * px;
      ctx.textBaseline = above ? 'bottom' : 'top';
      ctx.fillText(`${name} ${v.toFixed(1)} V`, u.bbox.left + 4 * px, y + (above ? -3 : 3) * px);
      ctx.restore();
    }
  };

  const chart = new uPlot(
    {
      width: el.clientWidth || 600,
      height: HEIGHT,
      scales: {
        // Always the whole 10 minutes up to now: no millisecond ticks in the first seconds, no years for one point.
        x: {
          time: true,
          range: (_u, _min, max) => {
            const end = Math.max(Date.now() / 1000, Number.isFinite(max) ? max : 0);
            return [end - WINDOW_S, end];
          },
        },
        y: { range: [0, 16] },
      },
      axes: [
        {
          // At least 70 px a tick: whole minutes across the 10 minutes, labels that never overlap.
          stroke: axis,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid, width: 1 },
          space: 70,
          values: (_u, splits, _ax, _space, incr) => splits.map((s) => clock(s, incr < 60)),
        },
        {
          stroke: axis,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid, width: 1 },
          values: (_u, v) => v.map((x) => `${x} V`),
        },
      ],
      series: [
        {},
        { label: 'Input', stroke: inputColour, width: 2, spanGaps: false },
        { label: 'Supercap', stroke: capColour, width: 2, spanGaps: false },
      ],
      hooks: { draw: [thresholds] },
      legend: { show: true },
    },
    [times, vin as Array<number | null>, vcap as Array<number | null>],
    el,
  );
  new ResizeObserver(() => chart.setSize({ width: el.clientWidth, height: HEIGHT })).observe(el);
  // A theme change (attribute, or the system's light/dark preference) redraws in its colours.
  new MutationObserver(() => chart.redraw(false)).observe(document.documentElement, {
    attributes: true,
    attributeFilter: ['data-theme', 'class', 'style'],
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => chart.redraw(false));

  const list = pastBlackouts(el);

  // The thresholds come with the configuration, perhaps after the last point: redraw when they change.
  let drawn = '';
  setInterval(() => {
    const d = current();
    const now = `${d.voltageLimit} ${d.config?.power_on_threshold}`;
    if (now !== drawn) {
      drawn = now;
      chart.redraw(false);
      describe();
    }
  }, 1000);

  const describe = (): void => {
    const n = times.length;
    // What a test (or a curious user's inspector) can read: the readings drawn, the span shown.
    el.dataset.points = String(n);
    el.dataset.first = n ? String(times[0]) : '';
    el.dataset.span = String((chart.scales.x?.max ?? 0) - (chart.scales.x?.min ?? 0));
    const d = current();
    const limits = [
      d.voltageLimit != null ? `blackout limit ${d.voltageLimit.toFixed(1)} V` : '',
      d.config?.power_on_threshold != null ? `power-on threshold ${d.config.power_on_threshold.toFixed(1)} V` : '',
    ]
      .filter(Boolean)
      .join(', ');
    el.setAttribute(
      'aria-label',
      `Input and supercap voltage over the last 10 minutes${n ? ` since ${clock(times[0]!, true)}` : ''}${limits ? `; dashed lines: ${limits}` : ''}`,
    );
  };

  const draw = (): void => {
    const now = Date.now() / 1000;
    let drop = 0;
    while (drop < times.length && times[drop]! < now - WINDOW_S) drop++;
    if (drop) {
      times.splice(0, drop);
      vin.splice(0, drop);
      vcap.splice(0, drop);
    }
    chart.setData([times, vin as Array<number | null>, vcap as Array<number | null>]);
    describe();
  };

  /** The history before the first live point goes in front; a gap between buckets stays a gap. */
  const merge = (h: HistoryJson): void => {
    // On the browser's clock, as the live points are: a tablet whose clock is off still lines them up.
    const skew = h.now - Date.now() / 1000;
    const before = times.length ? times[0]! - 0.5 : Infinity;
    const t: number[] = [];
    const a: Array<number | null | undefined> = [];
    const b: Array<number | null | undefined> = [];
    const bk = h.buckets;
    for (let i = 0; i < bk.t.length; i++) {
      const at = bk.t[i]! - skew;
      if (at >= before) break;
      if (i > 0 && bk.t[i]! - bk.t[i - 1]! > 3 * h.step) {
        // No reading for a while (the controller silent): a break in both lines.
        t.push(bk.t[i - 1]! - skew + h.step);
        a.push(null);
        b.push(null);
      }
      t.push(at);
      a.push(bk.V_in[i]);
      // V_cap comes with the measurement blocks (every 5 s when nobody asks for more): skipped, not a gap.
      b.push(bk.V_cap[i] ?? undefined);
    }
    times.unshift(...t);
    vin.unshift(...a);
    vcap.unshift(...b);
    draw();
  };

  const load = async (merge_: boolean): Promise<void> => {
    try {
      const r = await fetch(`${historyUrl}?since=-${WINDOW_S}`, { credentials: 'include' });
      if (!r.ok)
        return list.unavailable(r.status === 401 || r.status === 403 ? 'Log in as an administrator to see them' : null);
      const h = (await r.json()) as HistoryJson;
      if (merge_) merge(h);
      list.show(h.blackouts, h.now - Date.now() / 1000);
    } catch {
      list.unavailable(null);
    }
  };
  void load(true);

  let lastState: string | null = null;
  return {
    addPoint(d: PanelData): void {
      // A blackout that began or ended: the list says so.
      if (d.daemonState !== lastState) {
        if (lastState !== null && (d.daemonState === 'BLACKOUT' || lastState === 'BLACKOUT')) void load(false);
        lastState = d.daemonState;
      }
      const now = Date.now() / 1000;
      if (now - lastPoint < 0.9) return;
      if (d.daemonState === 'BLACKOUT') list.live(d.V_cap);
      lastPoint = now;
      times.push(now);
      vin.push(d.V_in);
      vcap.push(d.V_cap);
      draw();
    },
  };
}
