// Device: retry policy and error texts of halpid 5.0.2 (docs/controller.md H4–H5, docs/api.md).
import t from 'tap';
import { BusError } from '../../engine/bus.js';
import { FakeClock } from '../../engine/clock.js';
import { decodeConfig, Device, encodeConfig } from '../../engine/device.js';
import { decodeVin } from '../../engine/registers.js';
import { runSteps } from '../../engine/steps.js';
import { nowBus, type Script } from '../helpers/now-bus.js';
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

t.test('a bus function that throws at once is retried like one that rejects', async (t) => {
  // An adapter may fail before it has a promise to reject (a closed file descriptor, an ioctl that
  // throws): the driver must still retry an I/O failure, not give up on the first one.
  const { clock, sim } = rig();
  let throws = 2;
  const flaky = {
    description: 'flaky',
    writeRead: (data: Uint8Array, length: number): Promise<Uint8Array> => {
      if (throws-- > 0) throw new BusError('EIO', 'io');
      return sim.writeRead(data, length);
    },
    write: (data: Uint8Array): Promise<void> => sim.write(data),
    close: async () => {},
  };
  const dev = new Device(flaky, clock);
  const p = dev.readVin();
  await clock.advance(20);
  t.equal(await p, 11.99951171875, 'the third attempt reads the value');
  t.same(dev.counters.read, { transactions: 3, errors: 2, retries: 2, failures: 0 });
});

t.test("after the last retry the error carries the last attempt's failure, not the first", async (t) => {
  // What a developer reads in a stack trace: the adapter's latest word (a NACK that became a
  // timeout says the controller stopped answering), not a stale one.
  const { clock } = rig();
  const errors = [new BusError('NACK', 'nack'), new BusError('EIO', 'io'), new BusError('EIO', 'io')];
  const last = new BusError('ETIMEDOUT', 'timeout');
  errors.push(last);
  const failing = {
    description: 'failing',
    writeRead: async (): Promise<Uint8Array> => {
      throw errors.shift() ?? new Error('a fifth attempt');
    },
    write: async (): Promise<void> => {},
    close: async () => {},
  };
  const dev = new Device(failing, clock);
  const failed = dev.readVin().then(
    () => undefined,
    (err: unknown) => err,
  );
  await clock.advance(30);
  const err = (await failed) as Error;
  t.equal(err.message, 'Failed to read from register 0x20');
  t.equal(err.cause, last, "the cause is the fourth attempt's timeout");
  t.equal(errors.length, 0, 'four attempts, no fifth');
});

t.test('requests and settings go out as the documented register bytes (docs/api.md)', async (t) => {
  const { clock, sim } = rig();
  const dev = new Device(sim, clock);
  const written = (): string[] => sim.log.filter((e) => e.kind === 'write').map((e) => e.bytes!);
  await dev.setWatchdogMs(10_000);
  await dev.setWatchdogMs(0);
  await dev.writeUsb(0x1f); // only four ports exist
  await dev.writeConfigRaw('led_brightness', 200);
  await dev.writeConfigRaw('watchdog_timeout', 0x1234);
  await dev.writeConfigRaw('solo_depleting_timeout', 0x01020304);
  await dev.requestStandby();
  await dev.requestShutdown();
  t.same(written(), ['122710', '120000', '1a0f', '17c8', '121234', '1901020304', '3101', '3001']);
  t.equal(sim.snapshot().controller.usb, 0x0f);
});

t.test('DFU commands: start carries the size big-endian, commit and abort a zero byte', async (t) => {
  const { clock, sim } = rig();
  const dev = new Device(sim, clock);
  const written = (): string[] => sim.log.filter((e) => e.kind === 'write').map((e) => e.bytes!);
  await dev.dfuStart(0x01020304).catch(() => {}); // the simulator may refuse the size: the bytes are what count
  await dev.dfuAbort();
  await dev.dfuCommit().catch(() => {});
  t.same(written().slice(0, 2), ['4001020304', '4500']);
  t.equal(written()[2], '4400');
  t.equal(await dev.dfuBlocksWritten(), 0);
  t.equal(await dev.dfuStatus(), 'ProtocolError', 'a commit with no session: the status names it');
});

t.test('single registers and settings read back decoded', async (t) => {
  const { clock, sim } = rig();
  const dev = new Device(sim, clock);
  t.equal(await dev.readIin(), 0.43329620361328125);
  t.equal(await dev.readVcap(), 10.2498931884765625);
  await dev.setWatchdogMs(12_345);
  t.equal(await dev.readWatchdogTimeoutMs(), 12_345);
  t.equal(await dev.readConfig('watchdog_timeout'), 12.345);
  await dev.writeUsb(0b0101);
  t.equal(await dev.readUsb(), 0b0101);
  await dev.writeConfigRaw('auto_restart', 0);
  t.equal(await dev.readConfig('auto_restart'), false);
  t.equal(await dev.readConfig('solo_power_off_threshold'), 5.4998321533203125, 'float32, as halpid 5.0.2');
  t.same(dev.counters.write, { transactions: 3, errors: 0, retries: 0, failures: 0 });
  t.equal(dev.transactions, dev.counters.read.transactions + 3, 'reads and writes together');
});

t.test('settings to register values and back, as docs/api.md writes them', async (t) => {
  t.equal(encodeConfig('watchdog_timeout', 10.0009), 10_000, 'milliseconds, truncated');
  t.equal(encodeConfig('watchdog_timeout', 70), 65_535, 'clamped to 16 bits');
  t.equal(encodeConfig('solo_depleting_timeout', 70), 70_000, '32 bits');
  t.equal(encodeConfig('solo_depleting_timeout', 5e6), 4_294_967_295);
  t.equal(encodeConfig('power_on_threshold', 5.5), 32_768);
  t.equal(encodeConfig('solo_power_off_threshold', 11), 65_535);
  t.equal(encodeConfig('led_brightness', 300.7), 44, 'truncated, then modulo 256');
  t.equal(encodeConfig('led_brightness', -1), 255);
  t.equal(encodeConfig('auto_restart', 0.5), 1);
  t.equal(encodeConfig('auto_restart', -2), 1);
  t.equal(encodeConfig('auto_restart', 0), 0);
  t.equal(decodeConfig('watchdog_timeout', 1500), 1.5);
  t.equal(decodeConfig('solo_depleting_timeout', 4_294_967_295), 4_294_967.295);
  t.equal(decodeConfig('power_on_threshold', 32_768), 5.5);
  t.equal(decodeConfig('solo_power_off_threshold', 65_535), 10.9998321533203125);
  t.equal(decodeConfig('led_brightness', 7), 7);
  t.equal(decodeConfig('auto_restart', 0), false);
  t.equal(decodeConfig('auto_restart', 2), true);
});

t.test('T_pcb 0 (no sensor reading yet after a reset) is not a last reading near freezing', async (t) => {
  const { clock } = rig();
  // A controller whose T_pcb register reads 0, then full scale.
  const pcb = [
    [0, 0],
    [0xff, 0xff],
  ];
  const bus = {
    description: 'scripted',
    writeRead: async (out: Uint8Array, length: number) =>
      Uint8Array.from(out[0] === 0x24 ? pcb.shift()! : out[0] === 0x15 ? [3] : new Array<number>(length).fill(1)),
    write: async () => {},
    close: async () => {},
  };
  const dev = new Device(bus, clock);
  t.equal((await dev.readMeasurements()).raw.T_pcb, 0);
  await t.rejects(
    dev.readMeasurements(),
    { name: 'ControllerError', op: 'implausible', register: 0x24 },
    'one full scale after it is still a corrupted read',
  );
});

t.test('retries and their pause are configurable', async (t) => {
  const { clock, sim } = rig();
  const dev = new Device(sim, clock, { retries: 1, retryDelayMs: 50 });
  sim.addFault({ kind: 'nack', registers: [0x20], count: 1 });
  const p = dev.readVin();
  await clock.advance(49);
  t.equal(dev.counters.read.transactions, 1, 'the second attempt waits its 50 ms');
  await clock.advance(1);
  t.equal(await p, 11.99951171875);
  sim.addFault({ kind: 'nack', registers: [0x20], count: 2 });
  const failed = t.rejects(dev.readVin(), { message: 'Failed to read from register 0x20' });
  await clock.advance(100);
  await failed;
  t.same(dev.counters.read, { transactions: 4, errors: 3, retries: 2, failures: 1 });
});

t.test('an ordinary write is retried like a read (only DFU blocks and commits are not)', async (t) => {
  const { clock, sim } = rig();
  const dev = new Device(sim, clock);
  sim.addFault({ kind: 'nack', registers: [0x1a], op: 'write', count: 1 });
  const p = dev.writeUsb(0b0011);
  await clock.advance(10);
  await p;
  t.equal(sim.snapshot().controller.usb, 0b0011);
  t.same(dev.counters.write, { transactions: 2, errors: 1, retries: 1, failures: 0 });
});

t.test('a state byte with no meaning is a ControllerError of op "decode" for 0x15', async (t) => {
  const { clock, sim } = rig();
  const dev = new Device(sim, clock);
  sim.addFault({ kind: 'corrupt', registers: [0x15] });
  await t.rejects(dev.readState(), {
    name: 'ControllerError',
    op: 'decode',
    register: 0x15,
    message: 'Invalid power state value: 255',
  });
});

t.test('a cold board excuses a full-scale T_pcb only: a full-scale V_in is still a corrupted read', async (t) => {
  const { clock, sim } = rig();
  const dev = new Device(sim, clock);
  sim.setInputs({ T_pcb: 276.15 }); // 3 °C: near freezing
  await dev.readMeasurements();
  sim.addFault({ kind: 'corrupt', registers: [0x20] });
  await t.rejects(dev.readMeasurements(), { name: 'ControllerError', op: 'implausible', register: 0x20 });
});

// A bus that answers at once (Bus.readNow): the tick's V_in without a promise, same rules.
const answersBus = (answers: Array<Uint8Array | Error | undefined>) => {
  const log: string[] = [];
  const bus = {
    description: 'answers at once',
    readNow(data: Uint8Array) {
      const a = answers.shift();
      log.push(`now ${data[0]}`);
      if (a instanceof Error) throw a;
      return a;
    },
    async writeRead(data: Uint8Array) {
      log.push(`async ${data[0]}`);
      return Uint8Array.of(0x2e, 0xe0);
    },
    async write() {},
    async close() {},
  };
  return { bus, log };
};

t.test('vinNow: a bus that answers at once gives V_in without a promise', async (t) => {
  const { clock, sim } = rig();
  const dev = new Device(sim, clock);
  const vin = dev.vinNow();
  t.equal(vin, await dev.readVin(), 'the same value as readVin, not a promise');
  t.same(dev.counters.read, { transactions: 2, errors: 0, retries: 0, failures: 0 });
});

t.test('vinNow: a failed first attempt goes on as retries, 10 ms apart', async (t) => {
  const clock = new FakeClock();
  const { bus, log } = answersBus([new BusError('Remote I/O error', 'nack')]);
  const dev = new Device(bus, clock);
  const p = dev.vinNow();
  t.ok(p instanceof Promise, 'a promise once the bus has failed');
  await clock.advance(10);
  t.equal(await p, decodeVin(0x2ee0));
  t.same(log, ['now 32', 'async 32'], 'the retry goes to the bus as a plain read');
  t.same(dev.counters.read, { transactions: 2, errors: 1, retries: 1, failures: 0 });
});

t.test('vinNow: a bus that cannot answer now is read as usual; a full-scale answer throws', async (t) => {
  const clock = new FakeClock();
  const { bus, log } = answersBus([undefined, Uint8Array.of(0xff, 0xff)]);
  const dev = new Device(bus, clock);
  const p = dev.vinNow();
  t.ok(p instanceof Promise);
  t.equal(await p, decodeVin(0x2ee0));
  t.same(log, ['now 32', 'async 32']);
  t.throws(() => dev.vinNow(), { name: 'ControllerError', op: 'implausible', register: 0x20 });
  t.same(dev.counters.read, { transactions: 2, errors: 1, retries: 0, failures: 1 });
});

t.test('vinNow: a bus without readNow (the real adapter) is read through its promise', async (t) => {
  const clock = new FakeClock();
  const { bus, log } = answersBus([]);
  const dev = new Device({ ...bus, readNow: undefined }, clock);
  const p = dev.vinNow();
  t.ok(p instanceof Promise);
  t.equal(await p, decodeVin(0x2ee0));
  t.same(log, ['async 32']);
});

// The block as a sequence of reads (engine/steps.ts): from a bus that answers at once, no promise;
// the same reads, values and errors as readMeasurements in every case.
const BLOCK = ['0x20', '0x21', '0x22', '0x23', '0x24', '0x15', '0x16'];

t.test('blockSteps: a bus that answers at once gives the block without a promise, as readMeasurements', async (t) => {
  const { clock, sim } = rig();
  const { bus, log } = nowBus(sim);
  const dev = new Device(bus, clock);
  const m = runSteps(dev.blockSteps());
  t.notOk(m instanceof Promise, 'no promise');
  t.same(
    log,
    BLOCK.map((r) => `now ${r}`),
    'the seven registers in halpid 5.0.2 order',
  );
  t.same(m, await dev.readMeasurements(), 'the same block');
  t.same(dev.counters.read, { transactions: 14, errors: 0, retries: 0, failures: 0 });
});

t.test('blockSteps: a bus without readNow (the real adapter) reads the same block through promises', async (t) => {
  const { clock, sim } = rig();
  const { bus, log } = nowBus(sim, undefined, { readNow: false });
  const dev = new Device(bus, clock);
  const p = runSteps(dev.blockSteps());
  t.ok(p instanceof Promise);
  const m = await p;
  t.same(
    log,
    BLOCK.map((r) => `async ${r}`),
  );
  t.same(m, runSteps(new Device(sim, clock).blockSteps()), 'the values the synchronous path reads');
  t.same(dev.counters.read, { transactions: 7, errors: 0, retries: 0, failures: 0 });
});

t.test('blockSteps: a bus error mid-block is retried 10 ms later and the block goes on', async (t) => {
  const { clock, sim } = rig();
  let failures = 1;
  const { bus, log } = nowBus(sim, (reg) =>
    reg === 0x22 && failures-- > 0 ? new BusError('Remote I/O error', 'nack') : undefined,
  );
  const dev = new Device(bus, clock);
  const p = runSteps(dev.blockSteps());
  t.ok(p instanceof Promise, 'a promise from the failed read on');
  await clock.advance(10);
  const m = await p;
  t.same(log, ['now 0x20', 'now 0x21', 'now 0x22', 'async 0x22', 'now 0x23', 'now 0x24', 'now 0x15', 'now 0x16']);
  t.same(m, runSteps(new Device(sim, clock).blockSteps()));
  t.same(dev.counters.read, { transactions: 8, errors: 1, retries: 1, failures: 0 });
});

t.test('blockSteps: a lasting bus error mid-block fails it with that register and reads nothing after', async (t) => {
  const { clock, sim } = rig();
  const { bus, log } = nowBus(sim, (reg) => (reg === 0x22 ? new BusError('Remote I/O error', 'nack') : undefined));
  const dev = new Device(bus, clock);
  const failed = t.rejects(runSteps(dev.blockSteps()) as Promise<unknown>, {
    name: 'ControllerError',
    message: 'Failed to read from register 0x22',
    register: 0x22,
    op: 'read',
  });
  await clock.advance(50);
  await failed;
  t.same(log, ['now 0x20', 'now 0x21', 'now 0x22', 'async 0x22', 'async 0x22', 'async 0x22']);
  t.same(dev.counters.read, { transactions: 6, errors: 4, retries: 3, failures: 1 });
  // The same through readMeasurements, which never throws at once.
  const again = t.rejects(dev.readMeasurements(), { message: 'Failed to read from register 0x22' });
  await clock.advance(50);
  await again;
});

t.test('blockSteps: a full-scale answer or a meaningless state mid-block throws at once, no retry', async (t) => {
  const { clock, sim } = rig();
  let script: Script = (reg) => (reg === 0x21 ? Uint8Array.of(0xff, 0xff) : undefined);
  const { bus, log } = nowBus(sim, (reg) => script(reg));
  const dev = new Device(bus, clock);
  t.throws(() => runSteps(dev.blockSteps()), { name: 'ControllerError', op: 'implausible', register: 0x21 });
  t.same(log, ['now 0x20', 'now 0x21']);
  script = (reg) => (reg === 0x15 ? Uint8Array.of(0xee) : undefined);
  t.throws(() => runSteps(dev.blockSteps()), { name: 'ControllerError', op: 'decode', register: 0x15 });
  await t.rejects(
    dev.readMeasurements(),
    { name: 'ControllerError', op: 'decode', register: 0x15 },
    'readMeasurements rejects alike',
  );
});
