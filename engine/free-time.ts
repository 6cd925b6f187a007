// Free-text wake-up times ("tomorrow 6am", "in 2 hours", "friday 7:30"), as halpid 4.0.7 took
// them: parsed with chrono-node in the local time zone, always forward from now. The library is
// loaded on first use only (halpi's standby, the daemon's dialect 4).

import { localIso, parseDateTime } from './api/standby.js';

export interface FreeTime {
  /** Unix milliseconds. */
  at: number;
  /** The time in local ISO 8601 with its offset, which every daemon version accepts. */
  iso: string;
}

export interface FreeTimeOptions {
  /**
   * A bare time of day ("06:00", "9am") is today's, even when already past, as halpid 4.0.7 took
   * it (dialect 4, which then answers 400); otherwise it is the next one (halpi).
   */
  timeOfDayIsToday?: boolean;
}

/** The wake-up time the whole `text` names, or null when it names none (or only part of it is a time). */
export async function parseFreeTime(text: string, nowMs: number, opts: FreeTimeOptions = {}): Promise<FreeTime | null> {
  const chrono = await import('chrono-node');
  const trimmed = text.trim();
  if (trimmed === '') return null;
  let results = chrono.parse(trimmed, new Date(nowMs), { forwardDate: true });
  if (results.length !== 1 || results[0]!.text.length !== trimmed.length) return null;
  const start = results[0]!.start;
  if (opts.timeOfDayIsToday && !start.isCertain('day') && !start.isCertain('weekday') && !start.isCertain('month')) {
    results = chrono.parse(trimmed, new Date(nowMs), { forwardDate: false });
    if (results.length !== 1) return null;
  }
  const at = results[0]!.start.date().getTime();
  return { at, iso: localIso(Math.floor(at / 1000)) };
}

/**
 * The wake-up time as halpi sends it: naive local time (`2026-08-13 06:00:00`), which halpid
 * 4.0.7, 5.0.2 and ours in both dialects take; with its offset only where the local time is
 * ambiguous or missing (a summer-time change), where no naive form names it.
 */
export function wireTime(atMs: number): string {
  const iso = localIso(Math.floor(atMs / 1000));
  const naive = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return parseDateTime(naive) === Math.floor(atMs / 1000) * 1000 ? naive : iso;
}
