// POST /standby in dialect 4: the body as halpid 4.0.7 read it (docs/api.md, dialect 4).
// `datetime` wins over `delay`; a date-time in any form halpid 5 takes, or free text
// ("tomorrow 6am", "in 2 hours"), a bare time of day being today's ("06:00" at 07:00 is in the
// past, 400); `delay` as Python's int() takes it (numbers truncated, digit
// strings, booleans). Its error texts. A time with Z or a UTC offset is refused with 400 (4.0.7
// crashed with a 500). A body with neither key stays refused (4.0.7 set the
// alarm to 1970).

import { parseFreeTime } from '../free-time.js';
import type { JsonValue } from './json-parse.js';
import {
  localIso,
  MAX_STANDBY_DAYS,
  MAX_STANDBY_S,
  parseDateTime,
  parseStandby,
  type StandbyParse,
} from './standby.js';

/** A time of day followed by `Z` or a UTC offset (`…T06:00:00+02:00`, `06:00 +0200`). */
const WITH_OFFSET = /\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$/;
export const OFFSET_REFUSED = 'Invalid datetime format: give local time, without Z or a UTC offset';

const bad = (message: string): StandbyParse => ({ ok: false, status: 400, message });

/** Python's int() of a JSON value, or null where it raises. */
function pyInt(v: JsonValue): number | null {
  if (v.t === 'int') return Number(v.v);
  if (v.t === 'float') return Math.trunc(v.v);
  if (v.t === 'bool') return v.v ? 1 : 0;
  if (v.t === 'str' && /^\s*[+-]?[0-9]+(_[0-9]+)*\s*$/.test(v.v)) return Number(v.v.trim().replace(/_/g, ''));
  return null;
}

export async function parseStandby4(body: JsonValue, nowMs: number): Promise<StandbyParse> {
  if (body.t !== 'obj') return parseStandby(body, nowMs); // 4.0.7 failed with a 500; ours says why
  const nowS = Math.floor(nowMs / 1000);
  const datetime = body.v.get('datetime');
  if (datetime !== undefined) {
    if (datetime.t !== 'str') return bad('Invalid datetime format');
    // 4.0.7 compared an offset-aware time with its naive clock and failed with a 500: refused here.
    if (WITH_OFFSET.test(datetime.v.trim())) return bad(OFFSET_REFUSED);
    const strict = parseDateTime(datetime.v);
    let at: number | null = typeof strict === 'number' ? strict : null;
    if (at === null) at = (await parseFreeTime(datetime.v, nowMs, { timeOfDayIsToday: true }))?.at ?? null;
    if (at === null) return bad('Invalid datetime format');
    const wakeup = Math.floor(at / 1000);
    if (!(wakeup > nowS)) return bad('datetime must be in the future');
    if (wakeup - nowS > MAX_STANDBY_S) return bad(`datetime must be at most ${MAX_STANDBY_DAYS} days ahead`);
    return { ok: true, wakeup, text: localIso(wakeup) };
  }
  const delay = body.v.get('delay');
  if (delay !== undefined) {
    const d = pyInt(delay);
    if (d === null || !Number.isSafeInteger(d)) return bad('delay must be an integer');
    if (d < 0) return bad('delay must be positive');
    if (d > MAX_STANDBY_S) return bad(`delay must be at most ${MAX_STANDBY_S} (${MAX_STANDBY_DAYS} days)`);
    return { ok: true, wakeup: nowS + d, text: localIso(nowS + d) };
  }
  return parseStandby(body, nowMs);
}
