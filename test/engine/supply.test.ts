// What the panel shows of the supercap (engine/supply.ts), against the simulator's physics with a
// fake clock: the charge, the seconds to the shutdown counting down to the daemon's actual
// shutdown (at the time limit, or sooner when the supercap runs low), the power it delivers.
import t from 'tap';
import { supplyNow } from '../../engine/supply.js';
import { engineRig } from '../helpers/engine.js';

async function running(limitS: number, loadW: number) {
  const rig = engineRig({ settings: { blackoutTimeLimitS: limitS } });
  rig.sim.host.loadW = loadW;
  rig.engine.start();
  rig.engine.demand(100); // measurements polled, as an open event stream asks for them
  await rig.clock.advanceUntil(
    () =>
      rig.sim.state === 'OperationalCoOp' &&
      rig.sim.physics.vcap >= 10.2 &&
      rig.engine.state === 'OK' &&
      rig.engine.lastMeasurements !== null,
    60_000,
  );
  return rig;
}

t.test('on input power: a full supercap, the time limit as runtime, no countdown', async (t) => {
  const { engine, stop } = await running(5, 6);
  const s = supplyNow(engine);
  t.ok(s.charge! > 95 && s.charge! <= 100, `charge ${s.charge} %`);
  t.equal(s.runtime, 5);
  t.same([s.shutdown_in, s.power, s.current, s.shutting_down], [null, null, null, false]);
  await stop();
});

t.test(
  'a cut: the countdown reaches 0 when the daemon shuts down, the power is measured, then shutting_down',
  async (t) => {
    const { clock, sim, engine, rec, stop } = await running(5, 6);
    sim.setPower(false);
    await clock.advanceUntil(() => engine.state === 'BLACKOUT', 2000);
    const start = clock.now();
    const counts: Array<{ t: number; left: number }> = [];
    let power: number | null = null;
    await clock.advanceUntil(() => {
      const s = supplyNow(engine);
      if (s.shutdown_in !== null) counts.push({ t: clock.now() - start, left: s.shutdown_in });
      power ??= s.power;
      return rec.poweroff.length > 0;
    }, 10_000);
    const shutdownAt = rec.poweroff[0]!.t - start;
    t.ok(
      counts.every((c, i) => i === 0 || c.left <= counts[i - 1]!.left),
      'never counts up',
    );
    // The count says when the shutdown comes: each reading's deadline is the actual one, within a tick.
    t.ok(
      counts.every((c) => Math.abs(c.t + c.left * 1000 - shutdownAt) <= 200),
      `deadlines within 200 ms of the shutdown at ${shutdownAt} ms`,
    );
    t.ok(power !== null && power > 4 && power < 8, `the supercap delivers ${power} W (the host draws 6 W)`);
    const after = supplyNow(engine);
    t.same([after.shutdown_in, after.runtime, after.shutting_down], [null, 0, true]);
    await stop();
  },
);

t.test(
  'a long time limit on a heavy load: the countdown ends when the halt reserve is reached, not at the limit',
  async (t) => {
    const { clock, sim, engine, rec, stop } = await running(600, 12);
    sim.setPower(false);
    await clock.advanceUntil(() => engine.state === 'BLACKOUT', 2000);
    await clock.advanceUntil(() => supplyNow(engine).power !== null, 5000); // the discharge is measured
    const start = clock.now();
    const s = supplyNow(engine);
    t.ok(s.shutdown_in! < 60, `shutdown in ${s.shutdown_in} s, far before the 600 s limit`);
    t.ok(s.runtime! > s.shutdown_in!, 'the supercap lasts beyond the shutdown (the halt reserve)');
    await clock.advanceUntil(() => rec.poweroff.length > 0, 120_000);
    const actual = (rec.poweroff[0]!.t - start) / 1000;
    t.ok(Math.abs(actual - s.shutdown_in!) <= 2, `said ${s.shutdown_in} s, shut down after ${actual} s`);
    await stop();
  },
);

t.test("a second cut: no power until measured in this blackout (never the last one's)", async (t) => {
  const { clock, sim, engine, stop } = await running(5, 6);
  sim.setPower(false);
  await clock.advanceUntil(() => supplyNow(engine).power !== null, 5000);
  sim.setPower(true);
  await clock.advanceUntil(() => engine.state === 'OK', 5000);
  t.equal(supplyNow(engine).power, null, 'on input power: none');
  sim.setPower(false);
  await clock.advanceUntil(() => engine.state === 'BLACKOUT', 2000);
  await clock.advance(300); // a few V_cap readings, less than the rate window
  t.equal(supplyNow(engine).power, null, 'at the start of the new blackout: not yet measured');
  await clock.advanceUntil(() => supplyNow(engine).power !== null, 5000);
  t.pass('measured again');
  await stop();
});
