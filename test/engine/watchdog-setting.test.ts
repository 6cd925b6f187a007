// The watchdog timeout the supervisor arms is a setting: halpid keeps 10 s, the Signal K plugin
// asks for 60 s (a server restart takes longer), and 0 leaves the watchdog off.
import t from 'tap';
import { engineRig } from '../helpers/engine.js';

for (const [setting, expected] of [
  [undefined, 10_000],
  [60_000, 60_000],
  [0, 0],
] as const) {
  t.test(`watchdogMs ${setting ?? '(default)'} arms ${expected} ms`, async (t) => {
    const { engine, sim, clock, stop } = engineRig({
      sim: { start: 'host-running' },
      settings: setting === undefined ? {} : { watchdogMs: setting },
    });
    engine.start();
    await clock.advanceUntil(() => engine.state === 'OK', 1000);
    await clock.advance(500); // the controller applies the write in its next loop
    t.equal(sim.watchdogActiveMs, expected);
    t.equal(sim.state, expected ? 'OperationalCoOp' : 'OperationalSolo', 'co-operative only with a watchdog');
    const result = await stop();
    t.equal(result.watchdogDisabled, true);
    t.equal(sim.watchdogActiveMs, 0, 'disarmed on stop');
  });
}

t.test('stopping to hand the controller over leaves the watchdog armed for the next daemon', async (t) => {
  const { engine, sim, clock } = engineRig({ sim: { start: 'host-running' }, settings: { watchdogMs: 60_000 } });
  engine.start();
  await clock.advanceUntil(() => engine.state === 'OK', 1000);
  await clock.advance(500);
  const done = engine.stop({ disarmWatchdog: false });
  await clock.advance(200);
  t.same(await done, { watchdogDisabled: false });
  await clock.advance(500);
  t.equal(sim.watchdogActiveMs, 60_000, 'still armed');
  t.equal(sim.state, 'OperationalCoOp');
});

t.test('disarmWatchdogSync: writes 0x12 ← 0 through a bus that can write synchronously', async (t) => {
  const { engine, sim } = engineRig({ sim: { start: 'host-running' } });
  t.equal(engine.disarmWatchdogSync(), false, 'the simulator cannot write synchronously');
  const sent: number[][] = [];
  const withSync = Object.assign(Object.create(sim), { writeSync: (d: Uint8Array) => void sent.push([...d]) });
  const { engine: e2 } = engineRig({ sim: { start: 'host-running' }, engine: { bus: withSync } });
  t.equal(e2.disarmWatchdogSync(), true);
  t.same(sent, [[0x12, 0, 0]]);
  const failing = Object.assign(Object.create(sim), {
    writeSync: () => {
      throw new Error('EIO');
    },
  });
  const { engine: e3 } = engineRig({ sim: { start: 'host-running' }, engine: { bus: failing } });
  t.equal(e3.disarmWatchdogSync(), false, 'a failed write is reported, not thrown');
});
