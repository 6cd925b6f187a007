// POST /standby in dialect 5 (engine/api/standby.ts) on a fixed clock in a fixed time zone: which
// bodies are taken and the wake-up they give, the boundaries a one-character slip would move
// (delay 0, the furthest delay, a date-time equal to now, 366 days ahead, the last valid day of a
// month), the exact refusals (docs/api.md), and the local time written to the log.
import t from 'tap';

process.env.TZ = 'Europe/Helsinki'; // before any Date is made in this process (DST: March, October)
const { parseStandby, parseDateTime, localIso, MAX_STANDBY_S } = await import('../../../engine/api/standby.js');
const { parseJson } = await import('../../../engine/api/json-parse.js');

const NOW_MS = Date.parse('2026-12-02T10:00:00.500+02:00'); // half a second into a whole second
const NOW_S = Math.floor(NOW_MS / 1000);
const NO_VARIANT = '422 data did not match any variant of untagged enum StandbyRequest';
/** The wake-up (unix seconds) or "status message". */
const standby = (body: unknown): number | string => {
  const r = parseStandby(parseJson(JSON.stringify(body)), NOW_MS);
  return r.ok ? r.wakeup : `${r.status} ${r.message}`;
};
const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);

t.test('delay: seconds from the whole second now, 0 to 366 days', async (t) => {
  t.equal(standby({ delay: 0 }), NOW_S, 'delay 0: at once, not refused');
  t.equal(standby({ delay: 60 }), NOW_S + 60);
  t.equal(standby({ delay: ' 120 ' }), NOW_S + 120, 'a digit string, blanks around');
  t.equal(standby({ delay: '0' }), NOW_S);
  t.equal(standby({ delay: MAX_STANDBY_S }), NOW_S + MAX_STANDBY_S, 'the furthest delay');
  t.equal(standby({ delay: String(MAX_STANDBY_S) }), NOW_S + MAX_STANDBY_S);
  const over = `400 Delay must be at most 31622400 seconds (366 days): `;
  t.equal(standby({ delay: MAX_STANDBY_S + 1 }), `${over}${MAX_STANDBY_S + 1}`);
  t.equal(standby({ delay: 4294967295 }), `${over}4294967295`, 'the largest u32: too far, said so');
  t.equal(standby({ delay: '4294967295' }), `${over}4294967295`);
  const r = parseStandby(parseJson('{"delay":60}'), NOW_MS);
  t.same(r, { ok: true, wakeup: NOW_S + 60, text: '2026-12-02T10:01:00+02:00' }, "the log's local time");
});

t.test('delay: not a u32 is no variant (422), as serde says', async (t) => {
  for (const delay of [-1, 4294967296, 60.5, '-1', '4294967296', '1_000', '12a', '', ' ', true, null, [60], {}]) {
    t.equal(standby({ delay }), NO_VARIANT, JSON.stringify(delay));
  }
  for (const raw of ['{"delay":60.0}', '{"delay":6e1}', '{"delay":0.0}']) {
    const r = parseStandby(parseJson(raw), NOW_MS);
    t.equal(r.ok ? r.wakeup : `${r.status} ${r.message}`, NO_VARIANT, `a float, even a whole one: ${raw}`);
  }
  t.equal(standby({}), NO_VARIANT, 'an empty object');
  t.equal(standby(60), NO_VARIANT, 'a bare number');
  t.equal(standby('2027-01-01T06:00:00Z'), NO_VARIANT, 'a bare string');
  t.equal(standby([60, 61]), NO_VARIANT, 'two elements');
  t.equal(standby([]), NO_VARIANT, 'no element');
  t.equal(standby({ datetime: 1_800_000_000 }), NO_VARIANT, 'a datetime that is not a string');
});

t.test('a one-element array is the first field, as serde takes it', async (t) => {
  t.equal(standby([60]), NOW_S + 60);
  t.equal(standby(['2027-01-01T06:00:00Z']), at('2027-01-01T06:00:00Z'));
});

t.test('delay wins over datetime; an unusable delay leaves datetime', async (t) => {
  t.equal(standby({ delay: 60, datetime: '2027-01-01T06:00:00Z' }), NOW_S + 60);
  t.equal(standby({ delay: 'soon', datetime: '2027-01-01T06:00:00Z' }), at('2027-01-01T06:00:00Z'));
  t.equal(standby({ delay: -5, datetime: '2027-01-01T06:00:00Z' }), at('2027-01-01T06:00:00Z'));
});

t.test('datetime: RFC 3339 with Z or an offset, or naive local time', async (t) => {
  const z = at('2027-01-01T06:00:00Z');
  t.equal(standby({ datetime: '2027-01-01T06:00:00Z' }), z);
  t.equal(standby({ datetime: '2027-01-01t06:00:00z' }), z, 'lower-case t and z');
  t.equal(standby({ datetime: '2027-01-01 06:00:00Z' }), z, 'a space for T');
  t.equal(standby({ datetime: '2027-01-01T08:00:00+02:00' }), z, 'an offset east');
  t.equal(standby({ datetime: '2027-01-01T00:30:00-05:30' }), z, 'an offset west, with minutes');
  t.equal(standby({ datetime: '2027-01-01T06:00:00.999Z' }), z, 'a fraction: the whole second');
  t.equal(parseDateTime('2027-01-01T06:00:00.25Z'), Date.UTC(2027, 0, 1, 6, 0, 0, 250), 'the fraction in ms');
  t.equal(parseDateTime('2027-01-01T06:00:00+23:59'), Date.UTC(2027, 0, 1, 6) - (23 * 60 + 59) * 60_000);
  t.equal(standby({ datetime: '2027-01-01T08:00:00' }), z, 'naive: Helsinki is UTC+2 in winter');
  t.equal(standby({ datetime: '2027-01-01 08:00:00' }), z);
  t.equal(standby({ datetime: '2027-07-01 09:00:00' }), at('2027-07-01T06:00:00Z'), 'UTC+3 in summer');
  const text = parseStandby(parseJson('{"datetime":"2027-07-01T06:00:00Z"}'), NOW_MS);
  t.equal(text.ok && text.text, '2027-07-01T09:00:00+03:00');
});

t.test('datetime: the boundaries of each field', async (t) => {
  const utc: Array<[string, number]> = [
    ['2027-01-01T00:00:00Z', Date.UTC(2027, 0, 1, 0, 0, 0)],
    ['2027-12-31T23:59:59Z', Date.UTC(2027, 11, 31, 23, 59, 59)],
    ['2027-02-28T12:00:00Z', Date.UTC(2027, 1, 28, 12)],
    ['2027-04-30T12:00:00Z', Date.UTC(2027, 3, 30, 12)],
    ['2027-01-31 12:00:00', Date.parse('2027-01-31T12:00:00+02:00')],
    ['2027-12-31 23:59:59', Date.parse('2027-12-31T23:59:59+02:00')],
  ];
  for (const [s, want] of utc) t.equal(parseDateTime(s), want, s);
  t.equal(parseDateTime('2028-02-29T12:00:00Z'), Date.UTC(2028, 1, 29, 12), 'a leap day');
  const bad = [
    '2027-00-10T12:00:00Z',
    '2027-13-10T12:00:00Z',
    '2027-01-00T12:00:00Z',
    '2027-01-32T12:00:00Z',
    '2027-02-29T12:00:00Z',
    '2027-04-31T12:00:00Z',
    '2027-01-10T24:00:00Z',
    '2027-01-10T12:60:00Z',
    '2027-01-10T12:00:60Z',
    '2027-01-10T12:00:00+24:00',
    '2027-01-10T12:00:00+02:60',
    '2027-02-29 12:00:00',
    '2027-01-10 24:00:00',
    '2027-01-10t12:00:00',
    '2027-01-10T12:00Z',
    'x2027-01-10T12:00:00Z',
    '2027-01-10T12:00:00Zx',
    '2027-01-10T12:00:00 ',
    ' 2027-01-10 12:00:00',
    '2027-01-10T12:00:00+0200',
    '2027-1-10T12:00:00Z',
    'tomorrow 6am',
  ];
  for (const s of bad) {
    t.equal(
      standby({ datetime: s }),
      `400 Invalid datetime format: Could not parse datetime: ${s}. Expected ISO 8601 format (e.g., '2025-11-08T12:00:00Z' or '2025-11-08 12:00:00')`,
      s,
    );
  }
});

t.test('naive local time that does not exist or is ambiguous is refused', async (t) => {
  // Helsinki: 2027-03-28 03:00 → 04:00 (spring forward); 2026-10-25 04:00 → 03:00 (fall back).
  const gap = '2027-03-28 03:30:00';
  t.equal(
    standby({ datetime: gap }),
    `400 Invalid datetime format: Could not interpret datetime '${gap}' as local time`,
  );
  t.equal(parseDateTime('2026-10-25 03:30:00'), 'not-local', 'ambiguous: the same clock time twice');
  t.equal(parseDateTime('2026-10-25 04:00:00'), Date.parse('2026-10-25T04:00:00+02:00'), 'just after: one time');
  t.equal(parseDateTime('2026-10-25 02:59:59'), Date.parse('2026-10-25T02:59:59+03:00'), 'just before: one time');
  t.equal(parseDateTime('2027-03-28 04:00:00'), Date.parse('2027-03-28T04:00:00+03:00'));
  t.equal(parseDateTime('2027-03-28 02:59:59'), Date.parse('2027-03-28T02:59:59+02:00'));
  t.equal(parseDateTime('2027-01-01 12:00:00'), Date.parse('2027-01-01T12:00:00+02:00'));
  // Other shifts than an hour, and days that never were.
  const zones: Array<[string, string, number | string]> = [
    ['Australia/Lord_Howe', '2027-04-04 01:45:00', 'not-local'], // falls back 02:00 → 01:30
    ['Australia/Lord_Howe', '2027-04-04 01:29:59', Date.parse('2027-04-04T01:29:59+11:00')],
    ['Australia/Lord_Howe', '2027-04-04 02:00:00', Date.parse('2027-04-04T02:00:00+10:30')],
    ['Australia/Lord_Howe', '2027-10-03 02:15:00', 'not-local'], // springs forward 02:00 → 02:30
    ['Antarctica/Troll', '2027-10-31 01:30:00', 'not-local'], // falls back 03:00 → 01:00
    ['Antarctica/Troll', '2027-10-31 02:59:59', 'not-local'],
    ['Antarctica/Troll', '2027-10-31 03:00:00', Date.parse('2027-10-31T03:00:00Z')],
    ['Pacific/Apia', '2011-12-30 12:00:00', 'not-local'], // Samoa skipped the day
    ['Pacific/Apia', '2011-12-31 12:00:00', Date.parse('2011-12-31T12:00:00+14:00')],
  ];
  try {
    for (const [tz, s, want] of zones) {
      process.env.TZ = tz;
      t.equal(parseDateTime(s), want, `${s} in ${tz}`);
    }
  } finally {
    process.env.TZ = 'Europe/Helsinki';
  }
});

t.test('datetime: now is not the future; 366 days ahead is the furthest', async (t) => {
  const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
  t.equal(standby({ datetime: iso(NOW_S) }), `400 Wakeup time must be in the future: ${iso(NOW_S)}`);
  t.equal(standby({ datetime: iso(NOW_S - 3600) }), `400 Wakeup time must be in the future: ${iso(NOW_S - 3600)}`);
  t.equal(standby({ datetime: iso(NOW_S + 1) }), NOW_S + 1, 'one second ahead');
  t.equal(standby({ datetime: iso(NOW_S + MAX_STANDBY_S) }), NOW_S + MAX_STANDBY_S, 'exactly 366 days');
  const far = iso(NOW_S + MAX_STANDBY_S + 1);
  t.equal(standby({ datetime: far }), `400 Wakeup time must be at most 366 days ahead: ${far}`);
});

t.test("localIso: the daemon's local time with its offset", async (t) => {
  const s = at('2027-01-05T07:08:09Z');
  t.equal(localIso(s), '2027-01-05T09:08:09+02:00');
  t.equal(localIso(at('2027-07-05T07:08:09Z')), '2027-07-05T10:08:09+03:00');
  const zones: Array<[string, string]> = [
    ['UTC', '2027-01-05T07:08:09+00:00'],
    ['America/St_Johns', '2027-01-05T03:38:09-03:30'],
    ['Asia/Kolkata', '2027-01-05T12:38:09+05:30'],
    ['Pacific/Honolulu', '2027-01-04T21:08:09-10:00'],
  ];
  try {
    for (const [tz, want] of zones) {
      process.env.TZ = tz;
      t.equal(localIso(s), want, tz);
    }
  } finally {
    process.env.TZ = 'Europe/Helsinki';
  }
  t.equal(localIso(s), '2027-01-05T09:08:09+02:00', 'back in Helsinki');
});
