// Free-text wake-up times ("tomorrow 6am", "in 2 hours", "friday 7:30"), as halpid 4.0.7 took
// them: parsed with chrono-node in the local time zone, always forward from now. The library is
// loaded on first use only (halpi's standby, the daemon's dialect 4).

import { localIso } from './api/standby.js';

export interface FreeTime {
  /** Unix milliseconds. */
  at: number;
  /** The time in local ISO 8601 with its offset, which every daemon version accepts. */
  iso: string;
}

/** The wake-up time the whole `text` names, or null when it names none (or only part of it is a time). */
export async function parseFreeTime(text: string, nowMs: number): Promise<FreeTime | null> {
  const chrono = await import('chrono-node');
  const trimmed = text.trim();
  if (trimmed === '') return null;
  const results = chrono.parse(trimmed, new Date(nowMs), { forwardDate: true });
  if (results.length !== 1 || results[0]!.text.length !== trimmed.length) return null;
  const at = results[0]!.start.date().getTime();
  return { at, iso: localIso(Math.floor(at / 1000)) };
}
