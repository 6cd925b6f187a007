// POST /standby request body → wake-up time (docs/api.md, D3–D5).

import type { JsonValue } from './json-parse.js';

export type StandbyParse =
  { ok: true; wakeup: number; text: string } | { ok: false; status: 400 | 422; message: string };

const MAX_U32 = 4294967295n;

/**
 * The furthest wake-up accepted: 366 days ahead (docs/api.md). Further is a typo (9999 for 2026,
 * milliseconds for seconds) far more often than a plan, and the controller would wait in Standby
 * on the boat's battery until then; rtcwake and the RTC would not all take it either.
 */
export const MAX_STANDBY_DAYS = 366;
export const MAX_STANDBY_S = MAX_STANDBY_DAYS * 86_400;
const NO_VARIANT = 'data did not match any variant of untagged enum StandbyRequest';

function delayOf(v: JsonValue | undefined): number | null {
  if (!v) return null;
  if (v.t === 'int' && v.v >= 0n && v.v <= MAX_U32) return Number(v.v);
  if (v.t === 'str') {
    const m = /^\s*([0-9]+)\s*$/.exec(v.v);
    if (m && BigInt(m[1]!) <= MAX_U32) return Number(m[1]);
  }
  return null;
}

/** Parse the body; `nowMs` is the wall clock. Rejections carry their status and message. */
export function parseStandby(body: JsonValue, nowMs: number): StandbyParse {
  let delay: JsonValue | undefined;
  let datetime: JsonValue | undefined;
  if (body.t === 'obj') {
    delay = body.v.get('delay');
    datetime = body.v.get('datetime');
  } else if (body.t === 'arr' && body.v.length === 1) {
    // serde's untagged enum takes a one-element sequence as the struct's first field.
    delay = body.v[0];
    datetime = body.v[0];
  }
  const nowS = Math.floor(nowMs / 1000);
  const d = delayOf(delay);
  if (d !== null) {
    if (d > MAX_STANDBY_S) {
      return {
        ok: false,
        status: 400,
        message: `Delay must be at most ${MAX_STANDBY_S} seconds (${MAX_STANDBY_DAYS} days): ${d}`,
      };
    }
    const wakeup = nowS + d;
    return { ok: true, wakeup, text: localIso(wakeup) };
  }
  if (!datetime || datetime.t !== 'str') return { ok: false, status: 422, message: NO_VARIANT };
  const s = datetime.v;
  const instant = parseDateTime(s);
  if (instant === 'unparsable') {
    return {
      ok: false,
      status: 400,
      message: `Invalid datetime format: Could not parse datetime: ${s}. Expected ISO 8601 format (e.g., '2025-11-08T12:00:00Z' or '2025-11-08 12:00:00')`,
    };
  }
  if (instant === 'not-local') {
    return {
      ok: false,
      status: 400,
      message: `Invalid datetime format: Could not interpret datetime '${s}' as local time`,
    };
  }
  const wakeup = Math.floor(instant / 1000);
  if (!(wakeup > nowS)) return { ok: false, status: 400, message: `Wakeup time must be in the future: ${s}` };
  if (wakeup - nowS > MAX_STANDBY_S) {
    return { ok: false, status: 400, message: `Wakeup time must be at most ${MAX_STANDBY_DAYS} days ahead: ${s}` };
  }
  return { ok: true, wakeup, text: localIso(wakeup) };
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const NAIVE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})$/;

function validFields(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

/** Milliseconds since the epoch, or why not. */
export function parseDateTime(s: string): number | 'unparsable' | 'not-local' {
  let m = RFC3339.exec(s);
  if (m) {
    const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    if (!validFields(y, mo, d, h, mi, sec)) return 'unparsable';
    const frac = m[7] ? Number(`0${m[7]}`) * 1000 : 0;
    let offsetMin = 0;
    const z = m[8]!;
    if (z !== 'Z' && z !== 'z') {
      const oh = Number(z.slice(1, 3));
      const om = Number(z.slice(4, 6));
      if (oh > 23 || om > 59) return 'unparsable';
      offsetMin = (z[0] === '-' ? -1 : 1) * (oh * 60 + om);
    }
    return Date.UTC(y, mo - 1, d, h, mi, sec) + Math.floor(frac) - offsetMin * 60_000;
  }
  m = NAIVE.exec(s);
  if (!m) return 'unparsable';
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (!validFields(y, mo, d, h, mi, sec)) return 'unparsable';
  const local = new Date(y, mo - 1, d, h, mi, sec);
  const same = (t: Date) =>
    t.getFullYear() === y &&
    t.getMonth() === mo - 1 &&
    t.getDate() === d &&
    t.getHours() === h &&
    t.getMinutes() === mi &&
    t.getSeconds() === sec;
  // Does not exist (spring forward), or is ambiguous (fall back): the same fields at the offset
  // in force a few hours later name a later instant too (ECMAScript resolves an ambiguous local
  // time to the earlier one). Not only an hour: Lord Howe Island falls back half an hour,
  // Antarctica/Troll two hours.
  if (!same(local)) return 'not-local';
  const offsetLater = new Date(local.getTime() + 6 * 3_600_000).getTimezoneOffset();
  const later = Date.UTC(y, mo - 1, d, h, mi, sec) + offsetLater * 60_000;
  if (later !== local.getTime() && same(new Date(later))) return 'not-local';
  return local.getTime();
}

/** ISO 8601 in the daemon's local time zone, for log lines. */
export function localIso(unixSeconds: number): string {
  const t = new Date(unixSeconds * 1000);
  const off = -t.getTimezoneOffset();
  const pad = (n: number) => String(Math.abs(n)).padStart(2, '0');
  const sign = off >= 0 ? '+' : '-';
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}${sign}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
}
