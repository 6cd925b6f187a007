// What the list of past blackouts below the chart says: start, length and outcome, from the
// history the host keeps (docs/api.md, GET /history). Pure, tested in node
// (test/webapp/src/blackouts.test.ts); blackout-list.ts puts it on the page.

export interface BlackoutRow {
  /** Unix seconds. */
  start: number;
  /** Seconds; so far, for one going on. */
  duration: number;
  outcome: string;
  min_V_cap: number | null;
}

const OUTCOME: Record<string, string> = {
  power_returned: 'power returned',
  shutdown: 'shut down',
  stopped: 'daemon stopped',
  ongoing: 'going on now',
};

const pad = (n: number): string => String(n).padStart(2, '0');

/** A start time: the time of day when it is today (on the browser's clock `now`, Unix ms), else with its date. */
export function when(s: number, now: number): string {
  const d = new Date(s * 1000);
  const today = new Date(now);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return d.toDateString() === today.toDateString()
    ? time
    : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

export function length(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  // Rounded first: 119.6 s is "2 min 0 s", not "1 min 60 s".
  const whole = Math.round(s);
  const m = Math.floor(whole / 60);
  return m < 60 ? `${m} min ${whole - m * 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A row's cells: start, length, and the outcome with the supercap's lowest voltage. */
export function rowTexts(b: BlackoutRow, now: number): [string, string, string] {
  const cap = b.min_V_cap === null ? '' : ` (supercap down to ${b.min_V_cap.toFixed(2)} V)`;
  return [when(b.start, now), length(b.duration), `${OUTCOME[b.outcome] ?? b.outcome}${cap}`];
}

/** A blackout going on, at `hostNow` (the host's Unix seconds), with a new supercap reading: longer, and as low as it went. */
export function liveRow(last: BlackoutRow, vCap: number | null, hostNow: number): BlackoutRow {
  const low = vCap === null ? last.min_V_cap : last.min_V_cap === null ? vCap : Math.min(last.min_V_cap, vCap);
  return { ...last, duration: Math.max(last.duration, hostNow - last.start), min_V_cap: low };
}
