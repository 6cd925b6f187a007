// `halpi history` (docs/cli.md): a short summary of the daemon's history (GET /history) and the
// list of past blackouts. A pure formatter, so the unit tests need no daemon.

import type { Colours } from './format.js';

type Col = Array<number | null>;
export interface HistoryJson {
  step: number;
  now: number;
  buckets: {
    t: number[];
    V_in: Col;
    V_in_min: Col;
    V_in_max: Col;
    V_cap: Col;
    V_cap_min: Col;
    V_cap_max: Col;
    I_in: Col;
    I_in_max: Col;
    T_pcb: Col;
    blackout: number[];
  };
  blackouts: Array<{ start: number; duration: number; outcome: string; min_V_cap: number | null }>;
}

/** `90s`, `10m`, `2h`, `1d` (or plain seconds) → seconds; null when it is none of these. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*$/i.exec(text);
  if (!m) return null;
  const unit = { s: 1, m: 60, min: 60, h: 3600, d: 86400 }[(m[2] ?? 's').toLowerCase() as 's'];
  const s = Number(m[1]) * unit;
  return s > 0 ? s : null;
}

const pad = (n: number) => String(n).padStart(2, '0');
/** Local date and time, to the second. */
export function localTime(unixS: number): string {
  const d = new Date(unixS * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function duration(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const OUTCOME: Record<string, string> = {
  power_returned: 'power returned',
  shutdown: 'shut down',
  stopped: 'daemon stopped',
  ongoing: 'going on now',
};

function range(values: Col): { min: number; max: number; mean: number } | null {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (v === null) continue;
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
    n++;
  }
  return n ? { min, max, mean: sum / n } : null;
}

export function historyText(h: HistoryJson, c: Colours): string {
  const b = h.buckets;
  const lines: string[] = [];
  if (b.t.length === 0) {
    lines.push('No readings yet.');
  } else {
    const first = b.t[0]!;
    const last = b.t.at(-1)! + h.step;
    lines.push(
      `Readings from ${localTime(first)} to ${localTime(last)} (${duration(last - first)}, ${h.step} s steps)`,
    );
    const row = (label: string, mins: Col, means: Col, maxs: Col, unit: string, digits: number) => {
      const lo = range(mins);
      const mid = range(means);
      const hi = range(maxs);
      if (!lo || !mid || !hi) return lines.push(`  ${label.padEnd(11)} —`);
      lines.push(
        `  ${label.padEnd(11)} min ${lo.min.toFixed(digits)} ${unit}, mean ${mid.mean.toFixed(digits)} ${unit}, max ${hi.max.toFixed(digits)} ${unit}`,
      );
    };
    row('Input', b.V_in_min, b.V_in, b.V_in_max, 'V', 2);
    row('Supercap', b.V_cap_min, b.V_cap, b.V_cap_max, 'V', 2);
    row('Current', b.I_in, b.I_in, b.I_in_max, 'A', 2);
    const t = range(b.T_pcb);
    lines.push(
      `  ${'Board temp'.padEnd(11)} ${t ? `${(t.min - 273.15).toFixed(1)}–${(t.max - 273.15).toFixed(1)} °C` : '—'}`,
    );
  }
  lines.push('');
  if (h.blackouts.length === 0) {
    lines.push('No blackouts since the daemon started.');
  } else {
    lines.push(`Past blackouts (${h.blackouts.length}):`);
    for (const bo of [...h.blackouts].reverse()) {
      const outcome = OUTCOME[bo.outcome] ?? bo.outcome;
      const tone = bo.outcome === 'power_returned' ? c.green : bo.outcome === 'shutdown' ? c.red : c.yellow;
      const cap = bo.min_V_cap === null ? '' : `, supercap down to ${bo.min_V_cap.toFixed(2)} V`;
      lines.push(`  ${localTime(bo.start)}  ${duration(bo.duration).padStart(10)}  ${tone(outcome)}${cap}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
