// Free-text wake-up times (engine/free-time.ts) on a fixed clock in a fixed time zone, across the
// end of summer time: always forward from now, the whole text or nothing.
import t from 'tap';

process.env.TZ = 'Europe/Helsinki'; // before any Date is made in this process
const { parseFreeTime } = await import('../../engine/free-time.js');

const at = (iso: string) => Date.parse(iso);

t.test('phrases halpid 4.0.7 took, in local time', async (t) => {
  const now = at('2026-12-02T10:00:00+02:00'); // a Wednesday
  const cases: Array<[string, string]> = [
    ['tomorrow 6am', '2026-12-03T06:00:00+02:00'],
    ['in 2 hours', '2026-12-02T12:00:00+02:00'],
    ['friday 7:30', '2026-12-04T07:30:00+02:00'],
    ['next monday at 7', '2026-12-07T07:00:00+02:00'],
    ['tonight at 10pm', '2026-12-02T22:00:00+02:00'],
    ['9am', '2026-12-03T09:00:00+02:00'],
  ];
  for (const [text, iso] of cases) {
    const r = await parseFreeTime(text, now);
    t.same(r, { at: at(iso), iso }, text);
  }
});

t.test('across the end of summer time (25 October 2026, 04:00 → 03:00)', async (t) => {
  const now = at('2026-10-24T12:00:00+03:00');
  t.same(await parseFreeTime('tomorrow 6am', now), {
    at: at('2026-10-25T06:00:00+02:00'),
    iso: '2026-10-25T06:00:00+02:00',
  });
  t.same(
    await parseFreeTime('in 24 hours', now),
    { at: now + 86_400_000, iso: '2026-10-25T11:00:00+02:00' },
    '24 hours elapsed, an hour earlier on the wall clock',
  );
});

t.test('no time, or only part of the text a time: null', async (t) => {
  const now = at('2026-12-02T10:00:00+02:00');
  for (const text of ['', '   ', 'nonsense', 'tomorrow 6am please', 'soon-ish'])
    t.equal(await parseFreeTime(text, now), null, JSON.stringify(text));
});
