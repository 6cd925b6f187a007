// The one job against the simulator's physics (docs/blackout.md, "What this guarantees"): a bus
// that hangs during a cut, power that flickers until the supercap is nearly flat, and a cut that
// ends just before the limit. Each case ends with the poweroff command's own timestamp.
import t from 'tap';
import { seededRandom } from '../../engine/simulator/faults.js';
import type { HostPhase } from '../../engine/simulator/host.js';
import { engineRig } from '../helpers/engine.js';

for (const delay_ms of [250, 1000]) {
  t.test(
    `the bus hangs (${delay_ms} ms timeouts) from 1 s after the cut: poweroff within a second of the limit`,
    async (t) => {
      const { clock, sim, engine, rec } = engineRig();
      engine.start();
      await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
      await clock.advance(337); // off the tick grid
      const cut = clock.now();
      sim.setPower(false);
      await clock.advance(1000);
      sim.addFault({ kind: 'timeout', count: 0, delay_ms });
      await clock.advanceUntil(() => rec.poweroff.length > 0, 20_000);
      const d = rec.poweroff[0]!.t - cut;
      t.ok(d > 5000 && d <= 6000, `poweroff ${d} ms after the cut (limit 5000 ms)`);
      t.ok(
        rec.logs.some(
          (l) =>
            l.level === 'error' &&
            /and the bus has not answered: initiating shutdown without waiting for the bus$/.test(l.message),
        ),
      );
      sim.faults.clear();
      const stopped = engine.stop();
      await clock.advance(10_000); // the transactions already in flight time out first
      t.match(await stopped, { watchdogDisabled: true });
    },
  );
}

/** The host's phases in order, with the supercap voltage at each change. */
function watchHost(sim: ReturnType<typeof engineRig>['sim']) {
  const phases: Array<{ phase: HostPhase; vcap: number }> = [];
  sim.onHostPhase((phase) => phases.push({ phase, vcap: sim.physics.vcap }));
  return phases;
}

for (const watts of [5, 6]) {
  for (const seed of [1, 2, 3]) {
    t.test(`flickering power at ${watts} W (seed ${seed}): a clean halt before the supercap gives out`, async (t) => {
      const { clock, sim, engine, rec, stop } = engineRig();
      sim.host.loadW = watts;
      const phases = watchHost(sim);
      engine.start();
      await clock.advanceUntil(() => sim.state === 'OperationalCoOp' && sim.physics.vcap >= 10.2, 60_000);
      const random = seededRandom(seed);
      const start = clock.now();
      // Off 4–4.8 s, on 0.6–1.2 s, until the host is no longer running (at most 10 simulated minutes).
      while (sim.host.phase === 'running' && clock.now() - start < 600_000) {
        sim.setPower(false);
        await clock.advance(4000 + random() * 800);
        if (sim.host.phase !== 'running') break;
        sim.setPower(true);
        await clock.advance(600 + random() * 600);
      }
      // The model catches up lazily: sync it every 10 ms so that no phase goes unseen.
      await clock.advanceUntil(() => {
        sim.sync();
        return sim.host.phase !== 'running' && sim.host.phase !== 'halting';
      }, 30_000);
      t.equal(
        rec.poweroff.length,
        1,
        `one poweroff, after ${((rec.poweroff[0]?.t ?? NaN) - start) / 1000} s of flicker`,
      );
      // A clean halt: the host ran its whole halt, then the controller saw CM_ON fall and cut the
      // rails; a brown-out would have taken the host's power (V_cap < 5.0 V) during the halt.
      const halt = rec.poweroff[0]!.t;
      const down = sim.log.find((l) => l.kind === 'transition' && l.t >= halt && /-> PoweredDown/.test(l.result));
      t.ok(
        down && down.t >= halt + sim.host.haltDelayS * 1000,
        `the rails went off after the full halt (${down?.result} at +${down ? down.t - halt : NaN} ms)`,
      );
      const off = phases.find((p) => p.phase === 'unpowered');
      t.ok(
        off && off.vcap > 5.0,
        `supercap at ${off?.vcap.toFixed(2)} V when the rails went off (the host browns out at 5.0 V)`,
      );
      t.notOk(
        sim.log.some((l) => l.kind === 'reset' && /brown-out/.test(l.result)),
        'no brown-out',
      );
      t.ok(
        rec.logs.some((l) => /^Supercap at .* initiating shutdown$/.test(l.message)),
        'the supercap rule decided',
      );
      await stop();
    });
  }
}

t.test('a cut ending 100 ms before the limit never shuts down (20 phases against the tick grid)', async (t) => {
  let shutdowns = 0;
  for (let k = 0; k < 20; k++) {
    const { clock, sim, engine, rec, states, stop } = engineRig();
    engine.start();
    await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
    await clock.advance(1000 + k * 5);
    sim.setPower(false);
    await clock.advance(4900);
    sim.setPower(true);
    await clock.advance(3000);
    if (rec.poweroff.length > 0) shutdowns++;
    t.same(
      states.map((s) => s.state),
      ['OK', 'BLACKOUT', 'OK'],
      `phase ${k * 5} ms: back to OK`,
    );
    await stop();
  }
  t.equal(shutdowns, 0, 'no shutdown in 20 of 20');
});

t.test('a cut just past the limit still shuts down on time (20 phases)', async (t) => {
  for (let k = 0; k < 20; k++) {
    const { clock, sim, engine, rec, stop } = engineRig();
    engine.start();
    await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
    await clock.advance(1000 + k * 5);
    const cut = clock.now();
    sim.setPower(false);
    await clock.advanceUntil(() => rec.poweroff.length > 0, 7000);
    const d = rec.poweroff[0]!.t - cut;
    t.ok(d > 5000 && d <= 5200, `phase ${k * 5} ms: poweroff ${d} ms after the cut`);
    await stop();
  }
});
