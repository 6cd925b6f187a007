// Engine: what each 100 ms tick reads — V_in alone, or the whole block when a client (or the idle
// period) asks for it, or the block a request read in the same slot — on the simulator's bus and
// on a bus that answers only through promises, as the real I2C adapter does.
import t from 'tap';
import type { Bus } from '../../engine/bus.js';
import { AWAITED_TICK_DRIFT_MS } from '../../engine/engine.js';
import type { SimulatedController } from '../../engine/simulator/controller.js';
import { engineRig } from '../helpers/engine.js';

/**
 * An engine whose bus is the rig's simulator seen through the real adapter's interface: no
 * `readNow`, every read a promise. (The engine is built with its bus, before the rig's simulator
 * exists to be named: the bus looks it up at each call.)
 */
const rigOn = (bus: 'simulator' | 'promises', opts: Parameters<typeof engineRig>[0] = {}) => {
  if (bus === 'simulator') return engineRig(opts);
  const target: { sim?: SimulatedController } = {};
  const promises: Bus = {
    description: 'a bus without readNow',
    writeRead: (d, l) => target.sim!.writeRead(d, l),
    write: (d) => target.sim!.write(d),
    close: () => target.sim!.close(),
  };
  const rig = engineRig({ ...opts, engine: { ...opts.engine, bus: promises } });
  target.sim = rig.sim;
  return rig;
};

for (const bus of ['simulator', 'promises'] as const) {
  t.test(
    `${bus}: the block every 5 s when idle, every second for a 1 s client, every tick for a 100 ms one`,
    async (t) => {
      const { clock, engine, stop } = rigOn(bus);
      const polls: number[] = [];
      engine.on('values', () => polls.push(clock.now()));
      engine.start();
      await clock.advance(1000);
      polls.length = 0;
      await clock.advance(60_000);
      t.equal(polls.length, 12, `idle: ${polls.length} blocks in 60 s`);
      const release = engine.demand(1000);
      await clock.advance(100);
      polls.length = 0;
      await clock.advance(10_000);
      t.equal(polls.length, 10, `1 s client: ${polls.length} blocks in 10 s`);
      const close = engine.demand(100);
      await clock.advance(100);
      polls.length = 0;
      await clock.advance(2000);
      t.equal(polls.length, 20, `100 ms client: ${polls.length} blocks in 2 s`);
      close();
      release();
      await clock.advance(5000);
      polls.length = 0;
      await clock.advance(60_000);
      t.equal(polls.length, 12, 'both released: back to the idle period');
      await stop();
    },
  );

  t.test(`${bus}: a 100 ms client gets a fresh block at every tick of a blackout`, async (t) => {
    const { clock, sim, engine, stop } = rigOn(bus, { settings: { blackoutTimeLimitS: 60 } });
    engine.start();
    await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
    const release = engine.demand(100);
    sim.setPower(false);
    await clock.advanceUntil(() => engine.state === 'BLACKOUT', 1000);
    await clock.advance(100);
    const vcaps: number[] = [];
    engine.on('values', (v) => vcaps.push(v.V_cap));
    await clock.advance(2000);
    t.equal(vcaps.length, 20, `${vcaps.length} blocks in 2 s`);
    t.ok(
      vcaps.every((v, i) => i === 0 || v < vcaps[i - 1]!),
      'each one a new reading of the discharging supercap',
    );
    release();
    await stop();
  });

  t.test(`${bus}: a request's block serves the tick in its slot; the tick reads V_in alone otherwise`, async (t) => {
    const { clock, sim, engine, stop } = rigOn(bus);
    engine.start();
    await clock.advance(2000);
    await engine.readValues(); // the identity, once
    // Between ticks: a request reads the block (7 registers, 0x10, 0x12), the next tick reads nothing more.
    await clock.advance(150); // half-way between two ticks, the block older than a tick
    let mark = sim.log.length;
    await engine.readValues();
    await clock.advance(50);
    const regs = sim.log
      .slice(mark)
      .filter((e) => e.kind === 'read')
      .map((e) => e.register);
    t.same(regs, [0x20, 0x21, 0x22, 0x23, 0x24, 0x15, 0x16, 0x10, 0x12], "the request's reads, and no tick's");
    // One slot later the block is a tick old: the tick reads V_in for itself.
    mark = sim.log.length;
    await clock.advance(100);
    t.same(
      sim.log
        .slice(mark)
        .filter((e) => e.kind === 'read')
        .map((e) => e.register),
      [0x20],
    );
    await stop();
  });

  t.test(
    `${bus}: in a blackout a request's block serves the tick; else the tick reads V_in, I_in, V_cap`,
    async (t) => {
      const { clock, sim, engine, stop } = rigOn(bus, { settings: { blackoutTimeLimitS: 60 } });
      engine.start();
      await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
      await engine.readValues(); // the identity, once
      sim.setPower(false);
      await clock.advanceUntil(() => engine.state === 'BLACKOUT', 1000);
      await clock.advance(1050); // half-way between two ticks
      const reads = (from: number) =>
        sim.log
          .slice(from)
          .filter((e) => e.kind === 'read')
          .map((e) => e.register);
      let mark = sim.log.length;
      await engine.readValues();
      await clock.advance(50);
      t.same(reads(mark), [0x20, 0x21, 0x22, 0x23, 0x24, 0x15, 0x16, 0x10, 0x12], "the request's reads, and no tick's");
      mark = sim.log.length;
      await clock.advance(100);
      t.same(reads(mark), [0x20, 0x22, 0x21], 'the next tick: the three registers the decision needs');
      await stop();
    },
  );

  for (const state of ['OK', 'BLACKOUT'] as const) {
    t.test(`${bus}: in ${state}, a block whose V_in read fails fails the tick (V_in is not read twice)`, async (t) => {
      const { clock, sim, engine, stop } = rigOn(bus, { settings: { blackoutTimeLimitS: 60 } });
      engine.start();
      await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
      if (state === 'BLACKOUT') {
        sim.setPower(false);
        await clock.advanceUntil(() => engine.state === 'BLACKOUT', 1000);
      }
      const release = engine.demand(100); // the block at every tick
      await clock.advance(100);
      const errors: string[] = [];
      engine.on('error', (e) => errors.push(e.message));
      // One read of 0x20 fails in all four attempts; the next one would answer.
      sim.addFault({ kind: 'nack', registers: [0x20], count: 4 });
      await clock.advance(300);
      t.same(errors, ['Failed to read from register 0x20'], 'the tick failed and said so');
      t.equal(engine.state, state);
      release();
      await stop();
    });
  }

  for (const [name, reg] of [
    ['V_cap', 0x21],
    ['T_pcb', 0x24],
  ] as const) {
    t.test(`${bus}: with ${name} unreadable the ticks still read V_in: no error, no blackout`, async (t) => {
      const { clock, sim, engine, states, stop } = rigOn(bus);
      engine.start();
      await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
      const errors: string[] = [];
      engine.on('error', (e) => errors.push(e.message));
      const release = engine.demand(100); // the block at every tick
      sim.addFault({ kind: 'nack', registers: [reg], count: 0 });
      await clock.advance(3000);
      t.same(errors, [], 'no tick failed');
      t.same(
        states.map((s) => s.state),
        ['OK'],
      );
      // The buckets of the last two whole seconds: the ticks, which wait for their reads while
      // a fault is set, may run up to AWAITED_TICK_DRIFT_MS behind their slots.
      const vin = engine.history.columns(clock.wallNow() - 2000 - AWAITED_TICK_DRIFT_MS, 1).V_in;
      t.ok(vin.length >= 2 && vin.every((v) => v !== null && v > 11), 'V_in noted every second');
      // Then V_in itself fails: that is a failed tick, reported.
      sim.addFault({ kind: 'nack', registers: [0x20], count: 0 });
      await clock.advance(500);
      t.same(errors, ['Failed to read from register 0x20']);
      sim.faults.clear();
      release();
      await stop();
    });
  }
}

t.test('a full-scale V_in (a corrupted transfer) fails the tick as implausible, not as 40 V', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  engine.start();
  await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
  await clock.advance(1000); // the first block read: the ticks now read V_in alone
  const errors: string[] = [];
  engine.on('error', (e) => errors.push(e.message));
  sim.hold(true);
  sim.setInputs({ V_in: 45 }); // beyond the 40 V full scale: the register reads 0xFFFF
  await clock.advance(300);
  t.same(errors, ['Implausible reading from register 0x20 (full scale)']);
  t.equal(engine.state, 'OK');
  sim.setInputs({ V_in: 12 });
  await stop();
});

t.test('ticks whose V_in read waits on the bus still note it in the history', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  engine.start();
  await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
  await clock.advance(1000); // the first block read: the ticks now read V_in alone
  // With a fault set the simulator answers no read at once: each waits 5 ms, as on the thread pool.
  sim.addFault({ kind: 'stretch', op: 'read', delay_ms: 5, count: 0 });
  await clock.advance(3000);
  const vin = engine.history.columns(clock.wallNow() - 2000, 1).V_in;
  t.ok(vin.length >= 2 && vin.every((v) => v !== null && v > 11), `V_in noted every second: ${vin.join(', ')}`);
  sim.faults.clear();
  await stop();
});

t.test('a client asking every 150 ms gets a block at every tick (the one after 150 ms would be late)', async (t) => {
  const { clock, engine, stop } = engineRig();
  const polls: number[] = [];
  engine.on('values', () => polls.push(clock.now()));
  engine.start();
  engine.demand(150);
  await clock.advance(1000);
  polls.length = 0;
  await clock.advance(2000);
  t.equal(polls.length, 20, `${polls.length} blocks in 2 s`);
  await stop();
});

t.test("a blackout whose every tick is served by a request's block ends when the power returns", async (t) => {
  const { clock, sim, engine, stop } = engineRig({ settings: { blackoutTimeLimitS: 600 } });
  engine.start();
  await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
  sim.setPower(false);
  await clock.advanceUntil(() => engine.state === 'BLACKOUT', 1000);
  await clock.advance(1050); // half-way between two ticks
  sim.setPower(true);
  const back = clock.now();
  while (engine.state === 'BLACKOUT' && clock.now() - back < 10_000) {
    await engine.readMeasurements(); // the next tick, 50 ms later, takes its readings from this block
    await clock.advance(100);
  }
  t.equal(engine.state, 'OK', `over ${clock.now() - back} ms after the power returned`);
  await stop();
});

t.test('the history keeps the input current a blackout tick reads while the return is confirmed', async (t) => {
  const { clock, sim, engine, stop } = engineRig({ settings: { blackoutTimeLimitS: 600 } });
  engine.start();
  await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
  sim.setPower(false);
  await clock.advanceUntil(() => engine.state === 'BLACKOUT', 1000);
  await clock.advance(2000);
  const back = clock.wallNow();
  sim.setPower(true);
  await clock.advanceUntil(() => engine.state === 'OK', 10_000);
  const c = engine.history.columns(back - 1000, 1);
  const during = c.I_in.filter((_, i) => c.blackout[i] === 1 && c.t[i]! * 1000 >= back - 1000);
  t.ok(
    during.some((v) => v !== null && v > 0.1),
    `current flowing again, read by the blackout's own ticks (${JSON.stringify(during)})`,
  );
  await stop();
});
