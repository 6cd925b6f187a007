// The blackout path on the simulated controller with a misbehaving bus (docs/blackout.md):
// corrupted V_in reads, and a simulated host that reboots while a slow tick is in flight.
import t from 'tap';
import { seededRandom } from '../../engine/simulator/faults.js';
import { engineRig } from '../helpers/engine.js';

for (const probability of [0.05, 0.1, 0.5]) {
  t.test(`${probability * 100} % corrupted V_in reads during a power cut: the shutdown comes on time`, async (t) => {
    const { clock, sim, engine, rec, when, states, stop } = engineRig({ sim: { random: seededRandom(7) } });
    engine.start();
    await clock.advance(1000);
    sim.addFault({ kind: 'corrupt', registers: [0x20], probability, count: 0 });
    sim.setPower(false);
    await clock.advanceUntil(() => engine.state === 'DEAD', 10_000);
    const d = when('SHUTDOWN')! - when('BLACKOUT')!;
    t.ok(d > 5000 && d <= 5100, `shutdown ${d} ms after detection`);
    t.same(
      states.map((s) => s.state),
      ['OK', 'BLACKOUT', 'SHUTDOWN', 'DEAD'],
      'no "power resumed" on the way',
    );
    t.equal(rec.poweroff.length, 1);
    t.ok(
      rec.logs.some((l) => l.message === 'State machine error: Implausible reading from register 0x20 (full scale)'),
      'the corrupted reads were logged as errors',
    );
    await stop();
  });
}

t.test('10 % corrupted V_in reads with the power on: no blackout, no shutdown', async (t) => {
  const { clock, sim, engine, rec, states, stop } = engineRig({ sim: { random: seededRandom(11) } });
  engine.start();
  await clock.advance(500);
  sim.addFault({ kind: 'corrupt', registers: [0x20], probability: 0.1, count: 0 });
  await clock.advance(60_000);
  t.same(
    states.map((s) => s.state),
    ['OK'],
  );
  t.equal(rec.poweroff.length, 0);
  t.ok(
    engine.supervisor.pollErrorsTotal > 30,
    `corrupted reads counted as errors (${engine.supervisor.pollErrorsTotal})`,
  );
  t.equal(sim.state, 'OperationalCoOp', 'and the controller stayed fed');
  await stop();
});

t.test(
  'the simulated host reboots while slow ticks are in flight: the daemon re-arms the watchdog every time',
  async (t) => {
    const { clock, sim, engine, rec, stop } = engineRig();
    // Clock stretching: every transaction takes 80 ms, so a tick is in flight most of the time.
    sim.addFault({ kind: 'stretch', delay_ms: 80, count: 0 });
    engine.start();
    await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
    for (let round = 1; round <= 4; round++) {
      sim.setPower(false);
      await clock.advanceUntil(() => sim.state === 'PoweredDownBlackout', 20_000);
      sim.setPower(true);
      await clock.advanceUntil(() => sim.host.cmOn, 30_000, 7 + round);
      await clock.advanceUntil(() => engine.state === 'OK' && sim.state === 'OperationalCoOp', 5000);
      // Held: the controller stays co-operative (the watchdog is armed and fed) for 30 s.
      await clock.advance(30_000);
      t.equal(sim.state, 'OperationalCoOp', `round ${round}: the controller is co-operative`);
      t.equal(sim.watchdogActiveMs, 10_000, `round ${round}: watchdog armed`);
      t.equal(engine.state, 'OK', `round ${round}: daemon OK`);
      t.equal(rec.poweroff.length, round, `round ${round}: one poweroff per blackout`);
    }
    await stop();
  },
);

for (const [name, reg] of [
  ['V_cap', 0x21],
  ['I_in', 0x22],
  ['T_mcu', 0x23],
] as const) {
  t.test(
    `a corrupted ${name} in every block read: the ticks still read V_in, the shutdown comes on time`,
    async (t) => {
      const { clock, sim, engine, rec, when, states, stop } = engineRig();
      engine.start();
      await clock.advance(1000);
      sim.addFault({ kind: 'corrupt', registers: [reg], count: 0 });
      await clock.advance(20_000);
      t.same(
        states.map((s) => s.state),
        ['OK'],
        'no false blackout with the power on',
      );
      const cut = clock.now();
      sim.setPower(false);
      await clock.advanceUntil(() => engine.state === 'DEAD', 10_000);
      const d = rec.poweroff[0]!.t - cut;
      t.ok(d > 5000 && d <= 5200, `poweroff ${d} ms after the cut`);
      t.ok(when('BLACKOUT')! - cut <= 200, 'the blackout was seen on the next tick');
      sim.faults.clear();
      await stop();
    },
  );
}

t.test(
  'a short dip while the controller state (0x15) cannot be read: V_in decides, the blackout ends, no shutdown',
  async (t) => {
    const { clock, sim, engine, rec, states, stop } = engineRig();
    engine.start();
    await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
    // Count the reads of 0x15 the fault refuses, to be sure the engine's own path was taken.
    let refused = 0;
    const match = sim.faults.match.bind(sim.faults);
    sim.faults.match = (op, register) => {
      const rule = match(op, register);
      if (rule && register === 0x15) refused++;
      return rule;
    };
    sim.setPower(false);
    await clock.advanceUntil(() => engine.state === 'BLACKOUT', 1000);
    sim.addFault({ kind: 'nack', registers: [0x15], count: 0 });
    await clock.advance(1000);
    sim.setPower(true);
    const back = clock.now();
    await clock.advanceUntil(() => engine.state === 'OK', 10_000);
    t.ok(refused > 0, `the engine asked the controller and was refused (${refused} reads of 0x15)`);
    t.same(
      states.map((s) => s.state),
      ['OK', 'BLACKOUT', 'OK'],
      'an unreadable state is no veto: the dip ends',
    );
    t.ok(states[2]!.t - back <= 1000, `the end came ${states[2]!.t - back} ms after the power returned`);
    await clock.advance(10_000);
    t.same(rec.poweroff, [], 'no poweroff, then or later');
    t.equal(engine.state, 'OK');
    sim.faults.clear();
    await stop();
  },
);

t.test('two blackouts: the second is timed from its own start, and shuts down once', async (t) => {
  const { clock, sim, engine, rec, states, stop } = engineRig();
  engine.start();
  await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
  // The first: a 3 s dip, more than half the 5 s limit.
  sim.setPower(false);
  await clock.advance(3000);
  sim.setPower(true);
  await clock.advanceUntil(() => engine.state === 'OK' && sim.state === 'OperationalCoOp', 10_000);
  await clock.advance(2000);
  // The second: a cut that lasts.
  sim.setPower(false);
  await clock.advanceUntil(() => engine.state === 'DEAD', 20_000);
  t.same(
    states.map((s) => s.state),
    ['OK', 'BLACKOUT', 'OK', 'BLACKOUT', 'SHUTDOWN', 'DEAD'],
  );
  const d = states[4]!.t - states[3]!.t;
  t.ok(d > 5000 && d <= 5100, `shutdown ${d} ms after the second detection, not counted from the first`);
  t.equal(rec.poweroff.length, 1, 'one poweroff');
  t.equal(engine.supervisor.blackoutsTotal, 2);
  await stop();
});

for (const [name, reg] of [
  ['V_cap', 0x21],
  ['I_in', 0x22],
] as const) {
  t.test(`a short dip while ${name} cannot be read: V_in decides, the blackout ends, no shutdown`, async (t) => {
    const { clock, sim, engine, rec, states, stop } = engineRig();
    engine.start();
    await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
    sim.addFault({ kind: 'nack', registers: [reg], count: 0 });
    sim.setPower(false);
    await clock.advance(2000);
    sim.setPower(true);
    await clock.advanceUntil(() => engine.state === 'OK' && states.length === 3, 5000);
    t.same(
      states.map((s) => s.state),
      ['OK', 'BLACKOUT', 'OK'],
    );
    await clock.advance(10_000);
    t.same(rec.poweroff, [], 'no poweroff');
    sim.faults.clear();
    await stop();
  });
}

t.test(
  'a client polling every tick while T_mcu cannot be read: the cut is seen, a dip ends, a lasting cut shuts down on time',
  async (t) => {
    const { clock, sim, engine, rec, states, stop } = engineRig();
    engine.start();
    engine.demand(100); // the whole block every tick, as an open event stream asks
    await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
    sim.addFault({ kind: 'nack', registers: [0x23], count: 0 });
    await clock.advance(1000);
    sim.setPower(false);
    await clock.advance(2000);
    sim.setPower(true);
    await clock.advanceUntil(() => states.length === 3, 5000);
    t.same(
      states.map((s) => s.state),
      ['OK', 'BLACKOUT', 'OK'],
      'the dip ended',
    );
    await clock.advance(2000);
    const cut = clock.now();
    sim.setPower(false);
    await clock.advanceUntil(() => engine.state === 'DEAD', 10_000);
    const d = rec.poweroff[0]!.t - cut;
    t.ok(d > 5000 && d <= 5200, `poweroff ${d} ms after the cut`);
    sim.faults.clear();
    await stop();
  },
);
