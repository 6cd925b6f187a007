// A power cut that lasts, on the real daemon, timed by events and not by a window: the daemon says
// how long it waited (its "Blacked out for X s, initiating shutdown" line) and the test brackets
// that by what it saw itself, from just before it cut the power to when it read the line.
import { performance } from 'node:perf_hooks';
import { json, type RunningDaemon } from './daemon.js';

export interface Waited {
  /** Seconds of blackout the daemon reports, to 0.1 s. */
  reported: number;
  /** Seconds from just before the cut to the line, as the test saw them: never less than the truth. */
  seen: number;
  line: string;
}

/** Cut the simulated power and wait for halpid to begin its shutdown (bounded by `boundMs`, loudly). */
export async function cutUntilShutdown(d: RunningDaemon, boundMs = 30_000): Promise<Waited> {
  const before = performance.now();
  const r = await d.req('POST', '/sim/power', json({ on: false }));
  if (r.status !== 204) throw new Error(`POST /sim/power: ${r.status} ${r.text}`);
  const line = await d.waitLog(/Blacked out for \d+\.\ds, initiating shutdown/, boundMs);
  const seen = (performance.now() - before) / 1000;
  return { reported: Number(/for (\d+\.\d)s/.exec(line)![1]), seen, line };
}

/**
 * The shutdown came at the limit, not before: the daemon counted at least `limitS`, and no more
 * than the test saw (its count is rounded to 0.1 s: 0.05 s of slack), so a daemon that shut down
 * early while claiming it had waited fails too. Returns the failures, empty when it held.
 */
export function notBefore(w: Waited, limitS: number): string[] {
  const bad: string[] = [];
  if (w.reported < limitS) bad.push(`halpid shut down after ${w.reported} s of blackout, before the ${limitS} s limit`);
  if (w.reported > w.seen + 0.05)
    bad.push(`halpid says it waited ${w.reported} s, but the test saw only ${w.seen.toFixed(3)} s from the cut`);
  return bad;
}
