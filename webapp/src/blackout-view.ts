// What the blackout view and the controller banner show, from PanelData and the browser's clock:
// pure, so node tests drive it with a clock of their own (test/webapp/src/blackout-view.test.ts);
// main.ts only puts the texts on the page.

import { countLeft, countSeen, fixed, type PanelData, type SeenCount } from './model.js';

/** The shutdown after a blackout has begun: the host says so (and a panel opened later hears it at once). */
export function shuttingDown(d: PanelData): boolean {
  return d.shuttingDown || d.daemonState === 'SHUTDOWN';
}

/** Running on the supercap, or shutting down after it: the blackout view is up. */
export function onSupercap(d: PanelData): boolean {
  return shuttingDown(d) || d.daemonState === 'BLACKOUT' || d.shutdownAt !== null;
}

/** What the view remembers from one drawing to the next (nothing, while it is hidden). */
export interface Memory {
  /** The last deadline the host gave in this blackout. */
  deadline: number | null;
  /** The runtime left as last received, and when: it runs down between two counts, as the timer does. */
  runtime: SeenCount | null;
}

export const FORGET: Memory = { deadline: null, runtime: null };

export interface BlackoutTexts {
  title: string;
  timer: string;
  unit: string;
  charge: string;
  runtime: string;
  power: string;
  current: string;
}

/** Whole seconds from `now` to `at`, rounded up, never below 0 (a deadline passed shows 0). */
export function secondsTo(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** The blackout view at `now` (Unix ms): its texts, or null while it is hidden; and what to remember. */
export function blackoutView(d: PanelData, mem: Memory, now: number): { texts: BlackoutTexts | null; mem: Memory } {
  if (!onSupercap(d)) return { texts: null, mem: FORGET };
  const shutting = shuttingDown(d);
  // Between the host's counts (every second) the timer runs on the browser's clock.
  // Signal K throttles each path on its own: the count can end a moment before the state says
  // "shutting down". The last deadline holds until then, so the timer never shows "—" at the end.
  const deadline = d.shutdownAt ?? mem.deadline;
  // Whole seconds rounded up, as the timer: "7 s to shutdown, 6 s left" would contradict itself.
  // Between two counts it runs down on the browser's clock, as the timer does: a count a second
  // old said "2 s left" beside "1 s to shutdown".
  const runtime = countSeen(mem.runtime, d.supply?.runtime ?? null, now);
  const left = shutting ? (runtime?.value ?? null) : countLeft(runtime, now);
  return {
    texts: {
      title: shutting ? 'Shutting down after input power loss' : 'Input power lost: running on the supercap',
      timer: shutting ? '0' : deadline === null ? '—' : String(secondsTo(deadline, now)),
      unit: shutting ? 's: shutting down' : 's to shutdown',
      charge: fixed(d.supply?.charge ?? null, 0),
      runtime: left === null ? '—' : String(Math.ceil(left)),
      power: fixed(d.supply?.power ?? null, 1),
      current: fixed(d.supply?.current ?? null, 2),
    },
    mem: { deadline, runtime },
  };
}

/** The banner while the controller does not answer, or null. */
export function controllerBanner(down: PanelData['controllerDown'], now: number): string | null {
  if (!down) return null;
  const why = down.error ? ` (${down.error})` : '';
  return down.powerCycleAt === null
    ? `The controller is not answering${why}`
    : `The controller is not answering${why}: its watchdog will power-cycle this computer in ${secondsTo(down.powerCycleAt, now)} s`;
}
