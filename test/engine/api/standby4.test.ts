// POST /standby in dialect 4 (engine/api/standby4.ts) on a fixed clock in a fixed time zone: a
// bare time of day is today's, so one already past is refused as halpid 4.0.7 refused it; a time
// with an offset is refused with 400 where 4.0.7 crashed with a 500.
import t from 'tap';

process.env.TZ = 'Europe/Helsinki'; // before any Date is made in this process
const { parseStandby4, OFFSET_REFUSED } = await import('../../../engine/api/standby4.js');
const { parseJson } = await import('../../../engine/api/json-parse.js');

const now = Date.parse('2026-12-02T10:00:00+02:00'); // a Wednesday, 10:00 local
const standby = (datetime: string) => {
  return parseStandby4(parseJson(JSON.stringify({ datetime })), now);
};
const wakeupAt = (iso: string) => Math.floor(Date.parse(iso) / 1000);

t.test('a bare time of day is today: past is 400, later today is taken', async (t) => {
  for (const text of ['06:00', '9am', '09:59']) {
    t.same(await standby(text), { ok: false, status: 400, message: 'datetime must be in the future' }, text);
  }
  t.match(await standby('11:30'), { ok: true, wakeup: wakeupAt('2026-12-02T11:30:00+02:00') });
  t.match(await standby('tonight at 10pm'), { ok: true, wakeup: wakeupAt('2026-12-02T22:00:00+02:00') });
});

t.test('a day named still goes forward', async (t) => {
  t.match(await standby('tomorrow 6am'), { ok: true, wakeup: wakeupAt('2026-12-03T06:00:00+02:00') });
  t.match(await standby('friday 7:30'), { ok: true, wakeup: wakeupAt('2026-12-04T07:30:00+02:00') });
  t.match(await standby('in 2 hours'), { ok: true, wakeup: wakeupAt('2026-12-02T12:00:00+02:00') });
});

t.test('Z or a UTC offset: 400 that says why (4.0.7: 500)', async (t) => {
  for (const text of [
    '2026-12-07T06:00:00+02:00',
    '2026-12-07T06:00:00Z',
    '2026-12-07 06:00:00 -0500',
    '06:00+02:00',
    '2026-12-07T06:00:00.250Z',
    '2026-12-07T06:00:00z',
    '2026-12-07 06:00 Z',
    '2026-12-07T06:00:00+02',
    '2026-12-07T06:00:00+0200',
    '2026-12-07T06:00:00-05:30',
    '  2026-12-07T06:00:00Z  ',
    'tomorrow 6:00Z',
  ]) {
    t.same(await standby(text), { ok: false, status: 400, message: OFFSET_REFUSED }, text);
  }
  t.match(
    await standby('2026-12-07 06:00:00'),
    { ok: true, wakeup: wakeupAt('2026-12-07T06:00:00+02:00') },
    'naive local time is taken',
  );
});

t.test('the offset refusal: its words, and only for a time that ends in Z or an offset', async (t) => {
  t.equal(OFFSET_REFUSED, 'Invalid datetime format: give local time, without Z or a UTC offset');
  // A Z later in free text is not an offset: the text is refused as not understood.
  t.same(await standby('tomorrow 6:00 Zurich time'), { ok: false, status: 400, message: 'Invalid datetime format' });
});
