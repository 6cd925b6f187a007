// Device: retry policy and error texts of halpid 5.0.2 (docs/controller.md H4–H5, docs/api.md).
import t from 'tap';
import { Device } from '../../engine/device.js';
import { rig } from '../helpers/sim.js';

t.test('an I/O failure is retried up to 3 times, 10 ms apart', async (t) => {
  const { clock, sim } = rig();
  const dev = new Device(sim, clock);
  sim.addFault({ kind: 'nack', registers: [0x20], count: 3 });
  const start = clock.now();
  const p = dev.readVin();
  await clock.advance(30);
  t.equal(await p, 11.99951171875, 'fourth attempt succeeds');
  t.equal(clock.now() - start, 30);
  t.same(dev.counters.read, { transactions: 4, errors: 3, retries: 3, failures: 0 });
});

t.test('after the last attempt: the halpid 5.0.2 message, without the OS error', async (t) => {
  const { clock, sim } = rig();
  const dev = new Device(sim, clock);
  sim.addFault({ kind: 'nack', registers: [0x20], count: 4 });
  const failed = t.rejects(dev.readVin(), { name: 'ControllerError', message: 'Failed to read from register 0x20' });
  await clock.advance(50);
  await failed;
  t.same(dev.counters.read, { transactions: 4, errors: 4, retries: 3, failures: 1 });
  sim.addFault({ kind: 'nack', registers: [0x1a], op: 'write', count: 0 });
  const w = t.rejects(dev.writeUsb(3), { message: 'Failed to write to register 0x1A' });
  await clock.advance(50);
  await w;
});

t.test('decode errors are not retried', async (t) => {
  const { clock, sim } = rig();
  const dev = new Device(sim, clock);
  sim.addFault({ kind: 'corrupt', registers: [0x15] });
  await t.rejects(dev.readState(), { message: 'Invalid power state value: 255' });
  t.equal(dev.counters.read.transactions, 1);
});

t.test('a full-scale measurement (a corrupted transfer) is a failed read, never a value', async (t) => {
  for (const register of [0x20, 0x21, 0x22, 0x23, 0x24]) {
    const { clock, sim } = rig();
    const dev = new Device(sim, clock);
    sim.addFault({ kind: 'corrupt', registers: [register] });
    const hex = `0x${register.toString(16).toUpperCase()}`;
    await t.rejects(
      dev.readMeasurements(),
      {
        name: 'ControllerError',
        op: 'implausible',
        register,
        message: `Implausible reading from register ${hex} (full scale)`,
      },
      hex,
    );
    t.same(
      dev.counters.read,
      { transactions: register - 0x1f, errors: 1, retries: 0, failures: 1 },
      `${hex}: counted as a failed read`,
    );
    t.ok((await dev.readMeasurements()).V_in < 13, 'the next block reads fine');
  }
  const { clock, sim } = rig();
  const dev = new Device(sim, clock);
  sim.addFault({ kind: 'corrupt', registers: [0x20] });
  await t.rejects(dev.readVin(), { op: 'implausible', message: 'Implausible reading from register 0x20 (full scale)' });
});

t.test(
  'T_pcb full scale is also a board below 0 °C (the firmware reads its sensor as unsigned): a reading then',
  async (t) => {
    const { clock, sim } = rig();
    const dev = new Device(sim, clock);
    sim.setInputs({ T_pcb: 276.15 }); // 3 °C
    t.ok(Math.abs((await dev.readMeasurements()).T_pcb - 276.15) < 0.01, '3 °C');
    sim.setInputs({ T_pcb: 260 });
    t.equal((await dev.readMeasurements()).raw.T_pcb, 0xffff, 'cooling through 0 °C: published as halpid 5.0.2 does');
    t.equal(dev.counters.read.failures, 0);

    const cold = rig();
    cold.sim.setInputs({ T_pcb: 260 });
    const started = new Device(cold.sim, cold.clock);
    await t.rejects(
      started.readMeasurements(),
      { name: 'ControllerError', op: 'implausible' },
      'a start in the cold: one full-scale reading proves nothing',
    );
    t.equal((await started.readMeasurements()).raw.T_pcb, 0xffff, 'twice in a row: the board is below 0 °C');

    const warm = rig();
    const dev2 = new Device(warm.sim, warm.clock);
    await dev2.readMeasurements(); // 30 °C
    warm.sim.addFault({ kind: 'corrupt', registers: [0x24], count: 3 });
    for (let i = 0; i < 3; i++)
      await t.rejects(
        dev2.readMeasurements(),
        { name: 'ControllerError', op: 'implausible' },
        `a warm board's full scale stays an error (${i + 1})`,
      );
  },
);

t.test('DFU blocks and commits are never retried blindly', async (t) => {
  const { clock, sim } = rig();
  const dev = new Device(sim, clock);
  sim.addFault({ kind: 'nack', registers: [0x43, 0x44], count: 0 });
  await t.rejects(dev.dfuBlock(new Uint8Array(12)), { message: 'Failed to write to register 0x43' });
  await t.rejects(dev.dfuCommit(), { message: 'Failed to write to register 0x44' });
  t.equal(dev.counters.write.transactions, 2, 'one attempt each');
  t.equal(dev.counters.write.retries, 0);
});

t.test('typed operations decode as halpid 5.0.2', async (t) => {
  const { sim, clock } = rig();
  const dev = new Device(sim, clock);
  sim.setIdentity({ device_id: 'e66164840bce7521', hardware_version: [0, 6, 0, 0xff] });
  t.equal(await dev.readFirmwareVersion(), '3.3.1');
  t.equal(await dev.readHardwareVersion(), '0.6.0');
  t.equal(await dev.readDeviceId(), 'e66164840bce7521');
  t.equal(await dev.read5vOutput(), true);
  t.equal(await dev.readConfig('power_on_threshold'), 7.9997406005859375);
  t.equal(await dev.readConfig('solo_depleting_timeout'), 5);
  t.equal(await dev.readConfig('auto_restart'), true);
  t.equal(await dev.readConfig('led_brightness'), 48);
  await dev.writeConfigRaw('solo_depleting_timeout', 4294967295);
  t.equal(await dev.readConfig('solo_depleting_timeout'), 4294967.295);
  await dev.writeConfigRaw('power_on_threshold', 32768);
  t.equal(await dev.readConfig('power_on_threshold'), 5.5);
  const m = await dev.readMeasurements();
  t.equal(m.V_in, 11.99951171875);
  t.equal(m.state, 'OperationalSolo');
  t.equal(m.watchdog_elapsed, 0);
  t.equal(dev.counters.read.transactions, 4 + 4 + 2 + 7, 'one transaction per register read');
});

t.test('an error that is not a bus error is not retried: one attempt', async (t) => {
  const { clock } = rig();
  let calls = 0;
  const broken = {
    description: 'broken',
    writeRead: async () => {
      calls++;
      throw new TypeError('adapter bug');
    },
    write: async () => {
      calls++;
      throw new TypeError('adapter bug');
    },
    close: async () => {},
  };
  const dev = new Device(broken, clock);
  await t.rejects(dev.readVin(), { name: 'ControllerError', message: 'Failed to read from register 0x20' });
  t.equal(calls, 1, 'tried once');
  t.same(dev.counters.read, { transactions: 1, errors: 1, retries: 0, failures: 1 });
  await t.rejects(dev.writeUsb(1), { message: 'Failed to write to register 0x1A' });
  t.equal(calls, 2, 'a write too');
});
