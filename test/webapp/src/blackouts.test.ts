// The past blackouts under the chart (webapp/src/blackouts.ts): when each began, how long it
// lasted, how it ended; one going on grows with the live readings.
import t from 'tap';
import { length, liveRow, rowTexts, when, type BlackoutRow } from '../../../webapp/src/blackouts.js';

process.env.TZ = 'UTC'; // the times of day below are UTC's
const NOON = Date.UTC(2026, 5, 15, 12, 0, 0); // the browser's "now"

t.test('a length: tenths under a minute, then minutes and seconds, then hours and minutes', async (t) => {
  t.equal(length(0.04), '0.0 s');
  t.equal(length(59.94), '59.9 s');
  t.equal(length(60), '1 min 0 s');
  t.equal(length(61.4), '1 min 1 s');
  t.equal(length(119.6), '2 min 0 s', 'not "1 min 60 s"');
  t.equal(length(3599.4), '59 min 59 s');
  t.equal(length(3599.6), '1 h 0 min');
  t.equal(length(7325), '2 h 2 min');
});

t.test('a start: the time of day today, with its date on another day', async (t) => {
  t.equal(when(Date.UTC(2026, 5, 15, 7, 5, 9) / 1000, NOON), '07:05:09');
  t.equal(when(Date.UTC(2026, 5, 14, 23, 59, 59) / 1000, NOON), '2026-06-14 23:59:59');
  t.equal(when(Date.UTC(2025, 0, 2, 3, 4, 5) / 1000, NOON), '2025-01-02 03:04:05');
});

t.test('a row: start, length, and the outcome in words with the lowest supercap voltage', async (t) => {
  const row = (outcome: string, min: number | null): BlackoutRow => ({
    start: Date.UTC(2026, 5, 15, 11, 0, 0) / 1000,
    duration: 4.25,
    outcome,
    min_V_cap: min,
  });
  t.same(rowTexts(row('power_returned', 9.876), NOON), [
    '11:00:00',
    '4.3 s',
    'power returned (supercap down to 9.88 V)',
  ]);
  t.same(rowTexts(row('shutdown', null), NOON)[2], 'shut down');
  t.same(rowTexts(row('stopped', null), NOON)[2], 'daemon stopped');
  t.same(rowTexts(row('ongoing', 10), NOON)[2], 'going on now (supercap down to 10.00 V)');
  t.same(rowTexts(row('brownout', null), NOON)[2], 'brownout', 'an outcome the panel does not know: as the host says');
});

t.test('a blackout going on: longer with the host clock, as low as the supercap went', async (t) => {
  const last: BlackoutRow = { start: 1000, duration: 3, outcome: 'ongoing', min_V_cap: 9.5 };
  t.same(liveRow(last, 9.2, 1010), { start: 1000, duration: 10, outcome: 'ongoing', min_V_cap: 9.2 });
  t.same(liveRow(last, 9.8, 1010).min_V_cap, 9.5, 'a higher reading does not raise the lowest');
  t.same(liveRow(last, null, 1010).min_V_cap, 9.5, 'no reading keeps it');
  t.same(liveRow({ ...last, min_V_cap: null }, 9.8, 1010).min_V_cap, 9.8, 'the first reading is the lowest so far');
  t.same(liveRow({ ...last, min_V_cap: null }, null, 1010).min_V_cap, null);
  t.same(liveRow(last, 9.5, 1001).duration, 3, 'never shorter than the host said');
});
