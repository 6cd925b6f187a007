// POST /standby in dialect 4 (engine/api/standby4.ts): the body as halpid 4.0.7 read it, on a fixed
// clock, with the boundaries a one-character slip would move: delay 0, a fraction truncated, a
// date-time equal to now, the furthest wake-up.
import t from 'tap';
import { parseJson } from '../../../engine/api/json-parse.js';
import { localIso, MAX_STANDBY_DAYS, MAX_STANDBY_S } from '../../../engine/api/standby.js';
import { parseStandby4 } from '../../../engine/api/standby4.js';

// Half a second into a whole second: the wake-up counts from the whole second.
const NOW_S = 1_800_000_000;
const NOW_MS = NOW_S * 1000 + 500;
// Naive local time, as dialect 4 takes it (a Z or an offset is refused: standby4.test.ts).
const iso = (s: number) => {
  const d = new Date(s * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
};
const parse = (body: unknown) => parseStandby4(parseJson(JSON.stringify(body)), NOW_MS);
const wakeup = async (body: unknown) => {
  const r = await parse(body);
  return r.ok ? r.wakeup : `${r.status} ${r.message}`;
};

t.test('delay: 0 is now; fractions are truncated as int() does; the furthest is 366 days', async (t) => {
  t.equal(await wakeup({ delay: 0 }), NOW_S, 'delay 0: at once, not refused');
  t.equal(await wakeup({ delay: 60.9 }), NOW_S + 60, '60.9 → 60 s (truncated, not rounded)');
  t.equal(await wakeup({ delay: -0.5 }), NOW_S, '-0.5 → 0 (truncated toward zero)');
  t.equal(await wakeup({ delay: 60 }), NOW_S + 60);
  const r = await parse({ delay: 60 });
  t.equal(r.ok && r.text, localIso(NOW_S + 60), "the log's wake-up time is the same moment");
  t.equal(await wakeup({ delay: ' 42 ' }), NOW_S + 42, 'a digit string');
  t.equal(await wakeup({ delay: '1_000' }), NOW_S + 1000, 'underscores, as Python allows');
  t.equal(await wakeup({ delay: true }), NOW_S + 1, 'a boolean is 0 or 1');
  t.equal(await wakeup({ delay: MAX_STANDBY_S }), NOW_S + MAX_STANDBY_S, 'the furthest delay');
  t.equal(
    await wakeup({ delay: MAX_STANDBY_S + 1 }),
    `400 delay must be at most ${MAX_STANDBY_S} (${MAX_STANDBY_DAYS} days)`,
  );
  t.equal(await wakeup({ delay: -1 }), '400 delay must be positive');
  t.equal(await wakeup({ delay: '-1' }), '400 delay must be positive');
  for (const bad of ['4.5', 'soon', '', null, [1], { a: 1 }, 1e300]) {
    t.equal(await wakeup({ delay: bad }), '400 delay must be an integer', JSON.stringify(bad));
  }
});

t.test('datetime: equal to now is refused, a second later is taken; at most 366 days ahead', async (t) => {
  t.equal(
    await wakeup({ datetime: iso(NOW_S) }),
    '400 datetime must be in the future',
    'the current second is not the future',
  );
  t.equal(await wakeup({ datetime: iso(NOW_S - 1) }), '400 datetime must be in the future');
  t.equal(await wakeup({ datetime: iso(NOW_S + 1) }), NOW_S + 1, 'one second ahead');
  t.equal(await wakeup({ datetime: iso(NOW_S + MAX_STANDBY_S) }), NOW_S + MAX_STANDBY_S, 'the furthest');
  t.equal(
    await wakeup({ datetime: iso(NOW_S + MAX_STANDBY_S + 1) }),
    `400 datetime must be at most ${MAX_STANDBY_DAYS} days ahead`,
  );
  t.equal(await wakeup({ datetime: iso(NOW_S + 3600), delay: 5 }), NOW_S + 3600, 'datetime wins over delay');
  t.equal(await wakeup({ datetime: 'in 2 hours' }), NOW_S + 7200, 'free text, from now');
  t.equal(await wakeup({ datetime: 'no time at all' }), '400 Invalid datetime format');
  t.equal(await wakeup({ datetime: 7 }), '400 Invalid datetime format', 'not a string');
  const r = await parse({ datetime: iso(NOW_S + 60) });
  t.ok(
    r.ok && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/.test(r.text),
    `the wake-up in local ISO 8601 (${r.ok ? r.text : ''})`,
  );
});

t.test("neither key, or not an object: dialect 5's answer", async (t) => {
  t.equal(await wakeup({}), '422 data did not match any variant of untagged enum StandbyRequest');
  t.equal(await wakeup([60]), NOW_S + 60, 'a one-element array, as dialect 5 takes it');
});
