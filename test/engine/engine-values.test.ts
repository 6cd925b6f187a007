// Engine: the /values set and the snapshot the faces read — the USB field only when asked for,
// the identity cache against a change made while it is being read, the measurements forgotten
// when the simulator changes the world, state events only for a change, one loop per engine.
import t from 'tap';
import { valuesSnapshot } from '../../engine/engine.js';
import { engineRig } from '../helpers/engine.js';

/** Run simulated time until the promise settles (retries and stretched reads wait on the fake clock). */
async function settle<T>(clock: ReturnType<typeof engineRig>['clock'], p: Promise<T>): Promise<T> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await clock.advanceUntil(() => settled, 10_000, 10);
  return p;
}

t.test('/values carries usb_port_state only when asked; an unreadable 0x1A reads 0', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  const plain = await engine.readValues();
  t.notOk('usb_port_state' in plain, 'not asked: absent (dialect 5)');
  await clock.advance(100);
  t.equal((await engine.readValues({ usb: true })).usb_port_state, 15);
  await clock.advance(100);
  sim.addFault({ kind: 'nack', registers: [0x1a], count: 0 });
  t.equal((await settle(clock, engine.readValues({ usb: true }))).usb_port_state, 0);
  await stop();
});

t.test('an identity changed while it is being read is read again by the next request', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  // The device id (read last) is stretched; meanwhile the simulator's controls change the firmware.
  sim.addFault({ kind: 'stretch', op: 'read', registers: [0x25], delay_ms: 50, count: 1 });
  const first = engine.readValues();
  await clock.advance(20);
  sim.setIdentity({ firmware_version: [3, 4, 0, 0] });
  engine.invalidateMeasurements();
  t.equal((await settle(clock, first)).firmware_version, '3.3.1', 'the request under way saw the old one');
  await clock.advance(100);
  t.match((await settle(clock, engine.readValues())).firmware_version, /^3\.4\.0/, 'the next one reads it again');
  await stop();
});

t.test('a change of the simulated world is seen by the next read, even within the same tick', async (t) => {
  const { engine, sim, stop } = engineRig();
  sim.hold(true);
  t.ok((await engine.readMeasurements()).V_in > 11);
  sim.setInputs({ V_in: 13.5 });
  t.ok((await engine.readMeasurements()).V_in > 11, 'within the tick: the shared snapshot');
  const before = engine.lastMeasurements;
  engine.invalidateMeasurements();
  t.same(engine.lastMeasurements, before, 'the faces keep showing the last block until the next');
  const v = (await engine.readMeasurements()).V_in;
  t.ok(v > 13.4 && v < 13.6, `invalidated: read again (${v} V)`);
  await stop();
});

t.test('a read under way when the simulated world changes is not shared with the next reader', async (t) => {
  const { clock, engine, sim, stop } = engineRig();
  sim.hold(true);
  // The block's last register (0x16) is stretched: its V_in was read before the change.
  sim.addFault({ kind: 'stretch', op: 'read', registers: [0x16], delay_ms: 50, count: 1 });
  const old = engine.readMeasurements();
  await clock.advance(10);
  sim.setInputs({ V_in: 13.5 });
  engine.invalidateMeasurements();
  const next = engine.readMeasurements();
  await clock.advance(100);
  t.ok((await old).V_in < 12.5, 'the read under way saw the old world');
  const v = (await next).V_in;
  t.ok(v > 13.4 && v < 13.6, `the next reader read again (${v} V)`);
  await stop();
});

t.test('the last block and the controller state are kept for the faces, with the wall time of the read', async (t) => {
  const { clock, engine, stop } = engineRig();
  t.equal(engine.lastMeasurements, null, 'nothing before the first read');
  engine.invalidateMeasurements();
  t.equal(engine.lastMeasurements, null, 'nor after a simulated change before it');
  t.equal(engine.lastControllerState, null);
  await clock.advance(1234);
  const values = await engine.readMeasurements();
  t.same(engine.lastMeasurements, { values, wall: clock.wallNow() });
  t.equal(engine.lastControllerState, 'OperationalSolo');
  await stop();
});

t.test('state events come with a change only, not with every block', async (t) => {
  const { clock, engine, stop } = engineRig();
  const events: unknown[] = [];
  engine.on('state', (s) => events.push(s));
  engine.start();
  await clock.advanceUntil(() => engine.lastControllerState === 'OperationalCoOp', 10_000);
  const n = events.length;
  engine.demand(100); // a block every tick
  await clock.advance(5000);
  t.equal(events.length, n, 'fifty blocks, the same states: no event');
  await stop();
});

t.test('a second start runs no second loop and says each simulated event once', async (t) => {
  const { clock, sim, engine, rec, stop } = engineRig({ haltOnPoweroff: false });
  engine.start();
  await clock.advanceUntil(() => engine.state === 'OK', 1000);
  engine.start();
  const before = engine.device.transactions;
  await clock.advance(10_000);
  const rate = (engine.device.transactions - before) / 10;
  t.ok(rate <= 12, `${rate} transactions/s: one tick per 100 ms`);
  await engine.writeConfigRaw('watchdog_timeout', 0);
  sim.haltHost();
  await clock.advanceUntil(() => rec.logs.some((l) => l.message.startsWith('Simulated host powered off')), 10_000);
  await clock.advance(1000);
  t.equal(rec.logs.filter((l) => l.message === 'Simulated host halting').length, 1, 'halting, once');
  t.equal(rec.logs.filter((l) => l.message.startsWith('Simulated host powered off')).length, 1, 'powered off, once');
  await stop();
});

t.test('the /events values before any status read: each register outside the block at its fallback', async (t) => {
  const { engine, stop } = engineRig();
  const m = await engine.readMeasurements();
  const block = {
    V_in: m.V_in,
    V_cap: m.V_cap,
    I_in: m.I_in,
    T_mcu: m.T_mcu,
    T_pcb: m.T_pcb,
    state: m.state,
    watchdog_elapsed: m.watchdog_elapsed,
    raw: m.raw,
  };
  t.same(valuesSnapshot(m, {}), {
    ...block,
    '5v_output_enabled': false,
    watchdog_timeout: 0,
    watchdog_enabled: false,
    hardware_version: 'N/A',
    firmware_version: 'N/A',
    device_id: '0000000000000000',
  });
  t.same(
    valuesSnapshot(m, {
      output5v: true,
      watchdogMs: 12_500,
      hardwareVersion: '1.2.0',
      firmwareVersion: '3.3.1',
      deviceId: '0123456789abcdef',
    }),
    {
      ...block,
      '5v_output_enabled': true,
      watchdog_timeout: 12.5,
      watchdog_enabled: true,
      hardware_version: '1.2.0',
      firmware_version: '3.3.1',
      device_id: '0123456789abcdef',
    },
  );
  await stop();
});
