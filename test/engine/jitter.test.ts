// The tick on a jittery clock (timers up to 1 ms early and up to 30 ms late, as Node's are on a
// busy machine): exactly one tick per 100 ms slot, a blackout still seen within one tick, and
// the idle bus traffic at or under 12 transactions a second.
import t from 'tap';
import { FakeClock } from '../../engine/clock.js';
import { engineRig, tickTimes } from '../helpers/engine.js';

const jittery = () => new FakeClock(undefined, 0, { earlyMs: 1, lateMs: 30 });

t.test('one tick per slot, whatever the jitter', async (t) => {
  const clock = jittery();
  const { engine, stop } = engineRig({ clock, sim: { start: 'host-running' } });
  const ticks = tickTimes(engine, clock);
  engine.start();
  await clock.advance(10_000 - 50);
  const slots = ticks.map((ms) => Math.floor(ms / 100));
  t.same(slots, [...new Set(slots)], 'no slot ran twice');
  t.ok(
    ticks.length >= 95 && ticks.length <= 100,
    `${ticks.length} ticks in 10 s (a late timer may cost a slot, never add one)`,
  );
  await stop();
});

t.test("a blackout is seen within one tick (plus the timer's lateness) on a jittery clock", async (t) => {
  const clock = jittery();
  const { engine, sim, stop, when } = engineRig({ clock, sim: { start: 'host-running' } });
  engine.start();
  await clock.advanceUntil(() => engine.state === 'OK', 1000);
  await clock.advance(1000);
  const cut = clock.now();
  sim.setPower(false);
  await clock.advanceUntil(() => engine.state === 'BLACKOUT', 1000, 1);
  const seen = when('BLACKOUT')! - cut;
  t.ok(seen <= 100 + 30, `seen ${seen} ms after the cut`);
  await stop();
});

t.test('idle bus traffic stays at or under 12 transactions a second', async (t) => {
  const clock = jittery();
  const { engine, stop } = engineRig({ clock, sim: { start: 'host-running' } });
  engine.start();
  await clock.advance(2000);
  const total = () =>
    Object.values(engine.i2cCounters).reduce((n, c) => n + (c as { transactions: number }).transactions, 0);
  const before = total();
  await clock.advance(20_000);
  const perSecond = (total() - before) / 20;
  t.ok(perSecond <= 12, `${perSecond} transactions per second`);
  t.ok(perSecond >= 9, 'and the daemon still reads V_in every tick');
  await stop();
});
