// The history buffer: 24 h within 2 MiB, its resolution, blackouts marked with their outcome, and
// wraparound; then as the engine feeds it from its ticks.
import t from 'tap';
import { COARSE_BUCKET_MS, COARSE_SLOTS, FINE_SLOTS, History, MAX_BLACKOUTS } from '../../engine/history.js';
import { engineRig } from '../helpers/engine.js';

const WALL0 = Date.UTC(2026, 0, 1);
const DAY_MS = 24 * 3600 * 1000;

t.test('24 hours of 100 ms readings fit in 2 MiB of typed storage, and the storage never grows', (t) => {
  const h = new History();
  const before = h.bytes;
  t.ok(before <= 2 * 1024 * 1024, `${before} bytes`);
  t.equal(COARSE_SLOTS * COARSE_BUCKET_MS, DAY_MS, 'the coarse ring spans 24 h');
  // A day and a half of readings, one per tick (the ring wraps round once and a half).
  for (let ms = 0; ms < 1.5 * DAY_MS; ms += 100) {
    h.noteVin(ms, WALL0 + ms, 12.5);
    if (ms % 5000 === 0) h.noteAux(ms, WALL0 + ms, 10.5, 0.4, 310, 305);
  }
  t.equal(h.bytes, before, 'same bytes after wrapping round');
  const all = h.columns(-Infinity, 5);
  t.equal(all.t.length, COARSE_SLOTS, 'exactly 24 h of 5 s buckets');
  const lastT = all.t.at(-1)!;
  t.ok(Math.abs(lastT - all.t[0]! - (DAY_MS - COARSE_BUCKET_MS) / 1000) < 0.01, 'from 24 h ago to now');
  t.equal(
    Math.round(lastT * 1000),
    WALL0 + 1.5 * DAY_MS - COARSE_BUCKET_MS,
    'the newest bucket is the last one written',
  );
  t.ok(
    all.t.every((x, i) => i === 0 || x > all.t[i - 1]!),
    'in time order after wraparound',
  );
  t.end();
});

t.test('a 5 s bucket keeps the minimum, maximum and mean; a 1 s bucket serves the last 15 minutes', (t) => {
  const h = new History();
  // 20 min in OK at 12 V, then a dip to 3 V for 300 ms inside one 5 s bucket.
  for (let ms = 0; ms < 20 * 60_000; ms += 100) h.noteVin(ms, WALL0 + ms, 12);
  const dip = 20 * 60_000;
  for (let ms = dip; ms < dip + 5000; ms += 100) h.noteVin(ms, WALL0 + ms, ms < dip + 300 ? 3 : 12);
  const coarse = h.columns(-Infinity);
  t.equal(coarse.step, 5, 'all 20 minutes: 5 s buckets');
  const last = coarse.t.length - 1;
  t.equal(coarse.V_in_min[last], 3, 'the dip shows as the minimum');
  t.equal(coarse.V_in_max[last], 12);
  t.equal(coarse.V_in[last], Math.round(((3 * 3 + 12 * 47) / 50) * 1000) / 1000, 'the mean of 50 ticks');
  const recent = h.columns(WALL0 + dip - 10 * 60_000);
  t.equal(recent.step, 1, 'the last 10 minutes: 1 s buckets');
  t.equal(recent.t.length, 10 * 60 + 5);
  t.equal(recent.V_in_min.filter((v) => v === 3).length, 1, 'the dip in one 1 s bucket');
  t.equal(h.columns(-Infinity, 1).t.length, FINE_SLOTS, 'the fine ring holds 15 minutes');
  t.end();
});

t.test('a tick asks for the wall clock only when its reading begins a bucket, and is labelled alike', (t) => {
  // Ten ticks a second read the wall clock once a second (a 1 s bucket begins; every fifth, a 5 s
  // one too); the buckets carry the same labels and values as with the wall time at every tick.
  const lazy = new History();
  const eager = new History();
  let asked = 0;
  // A wall clock that runs 250 ms ahead of the monotonic one, and steps forward 3 s at 7.05 s.
  const wallAt = (ms: number) => WALL0 + 250 + ms + (ms >= 7050 ? 3000 : 0);
  for (let ms = 0; ms < 12_000; ms += 100) {
    const vin = 12 + (ms % 700) / 1000;
    lazy.noteVinAt(ms, () => (asked++, wallAt(ms)), vin);
    eager.noteVin(ms, wallAt(ms), vin);
  }
  t.equal(asked, 12, 'once for each 1 s bucket begun (the 5 s ones begin with one of them)');
  lazy.noteVinAt(12_000, () => (asked++, wallAt(12_000)), 99); // full scale: not a reading
  t.equal(asked, 12, 'a reading that is not one asks for nothing');
  t.same(lazy.columns(-Infinity, 1), eager.columns(-Infinity, 1), 'the same 1 s buckets');
  t.same(lazy.columns(-Infinity, 5), eager.columns(-Infinity, 5), 'the same 5 s buckets');
  t.equal(lazy.columns(-Infinity, 1).t[8], (WALL0 + 250 + 8000 + 3000) / 1000, 'a bucket begun after the step has it');
  t.end();
});

t.test('buckets without a reading are absent; V_cap, I_in and temperatures may be null', (t) => {
  const h = new History();
  h.noteVin(0, WALL0, 12);
  h.noteVin(1000, WALL0 + 1000, 12);
  h.noteAux(1100, WALL0 + 1100, 10.5, 0.25, 300.25, 298.5);
  h.noteVin(60_000, WALL0 + 60_000, 12.1); // a minute without readings (the controller silent)
  const c = h.columns(-Infinity, 1);
  t.same(c.t, [WALL0 / 1000, WALL0 / 1000 + 1, WALL0 / 1000 + 60]);
  t.same(c.V_cap, [null, 10.5, null]);
  t.same(c.I_in, [null, 0.25, null]);
  t.same(c.T_mcu, [null, 300.3, null]);
  t.same(c.T_pcb, [null, 298.5, null]);
  t.end();
});

t.test('full-scale and non-finite V_in readings (read errors) are not stored', (t) => {
  const h = new History();
  h.noteVin(0, WALL0, 39.9994);
  h.noteVin(100, WALL0 + 100, NaN);
  t.equal(h.columns().t.length, 0);
  t.end();
});

t.test('buckets are placed by the monotonic clock: a wall-clock step does not reorder them', (t) => {
  const h = new History();
  h.noteVin(0, WALL0, 12);
  h.noteVin(1000, WALL0 - 3600_000, 11); // NTP set the clock back an hour
  const c = h.columns(-Infinity, 1);
  t.same(c.V_in, [12, 11], 'in the order they were read');
  t.end();
});

t.test('blackouts are marked in the buckets and listed with their outcome', (t) => {
  const h = new History();
  let ms = 0;
  const run = (until: number, v: number) => {
    for (; ms < until; ms += 100) h.noteVin(ms, WALL0 + ms, v);
  };
  run(10_000, 12);
  h.noteState(ms, WALL0 + ms, 'BLACKOUT');
  h.blackoutStarted(ms, WALL0 + ms);
  h.noteAux(ms, WALL0 + ms, 9.8, 0);
  h.noteAux(ms + 2000, WALL0 + ms + 2000, 9.1, 0);
  run(13_000, 0);
  t.same(
    h.blackouts(),
    [{ start: WALL0 + 10_000, duration: 2.9, outcome: 'ongoing', min_V_cap: 9.1 }],
    'ongoing, its length so far',
  );
  h.noteState(ms, WALL0 + ms, 'OK');
  h.blackoutEnded(ms, 'power_returned', 3);
  run(20_000, 12);
  h.noteState(ms, WALL0 + ms, 'BLACKOUT');
  h.blackoutStarted(ms, WALL0 + ms);
  run(25_100, 0);
  h.noteState(ms, WALL0 + ms, 'SHUTDOWN');
  h.blackoutEnded(ms, 'shutdown', 5.1);
  h.noteState(ms, WALL0 + ms, 'DEAD');
  run(27_000, 0);
  h.noteState(ms, WALL0 + ms, 'BLACKOUT');
  h.blackoutStarted(ms, WALL0 + ms);
  run(28_000, 0);
  h.blackoutEnded(ms, 'stopped');
  t.same(
    h.blackouts().map((b) => [b.start - WALL0, b.duration, b.outcome]),
    [
      [10_000, 3, 'power_returned'],
      [20_000, 5.1, 'shutdown'],
      [27_000, 1, 'stopped'],
    ],
  );
  const c = h.columns(-Infinity, 1);
  const marked = c.t.filter((_, i) => c.blackout[i] === 1).map((s) => Math.round(s - WALL0 / 1000));
  t.same(marked, [10, 11, 12, 20, 21, 22, 23, 24, 25, 27], 'the seconds spent in BLACKOUT');
  t.equal(c.daemon_state[26], 'DEAD', 'the state at the end of each bucket');
  t.equal(h.columns(-Infinity, 5).blackout.slice(0, 6).join(''), '001011', '5 s buckets too');
  t.end();
});

t.test('the list keeps the newest blackouts only', (t) => {
  const h = new History();
  for (let n = 0; n < MAX_BLACKOUTS + 5; n++) {
    h.blackoutStarted(n * 1000, WALL0 + n * 1000);
    h.blackoutEnded(n * 1000 + 500, 'power_returned');
  }
  const list = h.blackouts();
  t.equal(list.length, MAX_BLACKOUTS);
  t.equal(list[0]!.start, WALL0 + 5000, 'the oldest five dropped');
  t.end();
});

t.test(
  'the engine feeds it from its ticks: a cut that returns, a cut that ends in a shutdown, and a stop',
  async (t) => {
    const { clock, sim, engine, stop } = engineRig({ settings: { blackoutTimeLimitS: 5 } });
    engine.start();
    await clock.advance(30_000);
    const before = engine.history.columns(-Infinity, 1);
    t.ok(before.t.length >= 29, `${before.t.length} one-second buckets after 30 s`);
    t.ok(
      before.V_in.every((v) => v !== null && v > 11),
      'V_in from every tick',
    );
    t.ok(before.V_cap.filter((v) => v !== null).length >= 5, 'V_cap from the 5 s measurement blocks');
    t.ok(before.daemon_state.slice(2).every((s) => s === 'OK'));

    sim.setPower(false);
    await clock.advanceUntil(() => engine.state === 'BLACKOUT', 2000);
    await clock.advance(2000);
    sim.setPower(true);
    await clock.advanceUntil(() => engine.state === 'OK', 3000);
    const [first] = engine.history.blackouts();
    t.equal(first!.outcome, 'power_returned');
    t.ok(first!.duration > 1.5 && first!.duration < 3.5, `${first!.duration} s`);
    t.ok(first!.min_V_cap !== null && first!.min_V_cap < 11, 'the supercap read during it');

    await clock.advance(10_000);
    sim.setPower(false);
    await clock.advanceUntil(() => engine.state === 'DEAD', 10_000);
    const second = engine.history.blackouts()[1]!;
    t.equal(second.outcome, 'shutdown');
    t.ok(second.duration > 5 && second.duration < 5.5, `${second.duration} s`);
    const c = engine.history.columns(-Infinity, 1);
    t.ok(c.blackout.filter((b) => b === 1).length >= 7, 'the blackout seconds are marked');
    await stop();
  },
);

t.test('a blackout under way when the engine stops is listed as stopped', async (t) => {
  const { clock, sim, engine, stop } = engineRig({ settings: { blackoutTimeLimitS: 60 } });
  engine.start();
  await clock.advance(1000);
  sim.setPower(false);
  await clock.advanceUntil(() => engine.state === 'BLACKOUT', 2000);
  await clock.advance(3000);
  t.equal(engine.history.blackouts()[0]!.outcome, 'ongoing');
  await stop();
  const [b] = engine.history.blackouts();
  t.equal(b!.outcome, 'stopped');
  t.ok(b!.duration >= 3 && b!.duration < 4, `${b!.duration} s`);
});
