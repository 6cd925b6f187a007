// Engine: the registers outside the measurement block (what /events and /metrics show) and the
// USB write's log line: how often they are read, and what a failed read leaves in their place.
import t from 'tap';
import { engineRig } from '../helpers/engine.js';

type Rig = ReturnType<typeof engineRig>;

/** The registers read on the bus since `from` (an index into the simulator's log), in order. */
const readsSince = (sim: Rig['sim'], from: number): number[] =>
  sim.log
    .slice(from)
    .filter((e) => e.kind === 'read')
    .map((e) => e.register!);

const STATUS = [0x10, 0x12, 0x1a];
const IDENTITY = [0x03, 0x04, 0x25];

t.test(
  'refreshStatus reads 0x10, 0x12 and 0x1A at most once per statusMs, the identity once per identityMs',
  async (t) => {
    const { clock, sim, engine, stop } = engineRig();
    const usb: unknown[] = [];
    engine.on('usb', (u) => usb.push(u));
    let mark = sim.log.length;
    await engine.refreshStatus(1000, 5000);
    t.same(readsSince(sim, mark), [...STATUS, ...IDENTITY], 'the first refresh reads both sets');
    t.same(
      { ...engine.status },
      {
        output5v: true,
        watchdogMs: 0,
        hardwareVersion: 'N/A',
        firmwareVersion: '3.3.1',
        deviceId: '0123456789abcdef',
      },
      'what /metrics shows',
    );
    t.same(usb, [{ usb0: true, usb1: true, usb2: true, usb3: true }], 'the ports are published');
    t.equal(engine.lastUsb, 0x0f);

    await clock.advance(999);
    mark = sim.log.length;
    await engine.refreshStatus(1000, 5000);
    t.same(readsSince(sim, mark), [], '1 ms short of statusMs: nothing is read');
    await clock.advance(1);
    await engine.refreshStatus(1000, 5000);
    t.same(readsSince(sim, mark), STATUS, 'statusMs after the last: the status again, not the identity');

    await clock.advance(3999);
    mark = sim.log.length;
    await engine.refreshStatus(10_000, 5000);
    t.same(readsSince(sim, mark), [], '1 ms short of identityMs (and statusMs not due): nothing');
    await clock.advance(1);
    await engine.refreshStatus(10_000, 5000);
    t.same(readsSince(sim, mark), IDENTITY, 'identityMs after the first: the identity alone');
    // The identity's refresh does not restart the status's period: it is due 10 s after its last read.
    await clock.advance(6000);
    mark = sim.log.length;
    await engine.refreshStatus(10_000, 60_000);
    t.same(readsSince(sim, mark), STATUS, "the status 10 s after its own last read, whatever the identity's");
    t.same(usb.length, 1, 'no USB read, no USB event');

    // A change seen by the next status refresh is published; the identity read 1 s later is not repeated.
    sim.setIdentity({ firmware_version: [3, 4, 0, 0] });
    await engine.writeConfigRaw('watchdog_timeout', 0); // (a watchdog change arrives through 0x12)
    await clock.advance(1000);
    mark = sim.log.length;
    await engine.refreshStatus();
    t.same(readsSince(sim, mark), STATUS, 'the defaults: status every second, identity kept for a minute');
    t.equal(engine.status.firmwareVersion, '3.3.1', 'the identity kept within its minute');
    await clock.advance(60_000);
    await engine.refreshStatus();
    t.match(engine.status.firmwareVersion, /^3\.4\.0/, 'read again after a minute');
    await stop();
  },
);

t.test('refreshStatus(0) reads the status at every call (a new /events stream)', async (t) => {
  const { sim, engine, stop } = engineRig();
  await engine.refreshStatus();
  const mark = sim.log.length;
  await engine.refreshStatus(0);
  await engine.refreshStatus(0);
  t.same(readsSince(sim, mark), [...STATUS, ...STATUS]);
  await stop();
});

t.test('a failed status read keeps the last value known; a failed identity read falls back only if none', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  const usb: unknown[] = [];
  engine.on('usb', (u) => usb.push(u));
  // Nothing known yet: each identity register that fails falls back, the status ones stay unknown.
  sim.setIdentity({ hardware_version: [1, 2, 0, 0] });
  for (const reg of [...STATUS, ...IDENTITY]) sim.addFault({ kind: 'nack', registers: [reg], count: 0 });
  let p = engine.refreshStatus(0, 0);
  await clock.advance(500);
  await p;
  t.same(
    { ...engine.status },
    {
      output5v: undefined,
      watchdogMs: undefined,
      hardwareVersion: 'N/A',
      firmwareVersion: 'N/A',
      deviceId: '0000000000000000',
    },
  );
  t.same(usb, [], 'no USB event from a failed read');
  t.equal(engine.lastUsb, null);
  sim.faults.clear();
  await engine.refreshStatus(0, 0);
  t.same(
    { ...engine.status },
    {
      output5v: true,
      watchdogMs: 0,
      hardwareVersion: '1.2.0-a0',
      firmwareVersion: '3.3.1',
      deviceId: '0123456789abcdef',
    },
  );
  t.equal(usb.length, 1);
  // Now known: a failing bus leaves every value as it was.
  for (const reg of [...STATUS, ...IDENTITY]) sim.addFault({ kind: 'nack', registers: [reg], count: 0 });
  p = engine.refreshStatus(0, 0);
  await clock.advance(500);
  await p;
  t.same(
    { ...engine.status },
    {
      output5v: true,
      watchdogMs: 0,
      hardwareVersion: '1.2.0-a0',
      firmwareVersion: '3.3.1',
      deviceId: '0123456789abcdef',
    },
    'the last values known, not the fallbacks',
  );
  t.equal(engine.lastUsb, 0x0f, 'the ports as last read');
  t.equal(usb.length, 1);
  await stop();
});

t.test('a USB write logs which ports changed, and who changed them', async (t) => {
  const { engine, rec, stop } = engineRig();
  const logs = () => rec.logs.filter((l) => l.message.startsWith('USB ports set')).map((l) => l.message);
  await engine.updateUsb(() => 0b0101, 'the panel');
  await engine.updateUsb((b) => b, 'the panel');
  await engine.updateUsb(() => 0b1010);
  await engine.updateUsb(() => 0x1f); // only four ports: the fifth bit is dropped
  t.same(logs(), [
    'USB ports set by the panel: usb1 on → off, usb3 on → off',
    'USB ports set by the panel: no change',
    'USB ports set by a client: usb0 on → off, usb1 off → on, usb2 on → off, usb3 off → on',
    'USB ports set by a client: usb0 off → on, usb2 off → on',
  ]);
  t.equal(await engine.readUsb(), 0x0f);
  await stop();
});

t.test('USB events name each port by its own bit', async (t) => {
  const { engine, stop } = engineRig();
  const usb: unknown[] = [];
  engine.on('usb', (u) => usb.push(u));
  for (const bits of [0b0001, 0b0010, 0b0100, 0b1000, 0b0000]) await engine.updateUsb(() => bits);
  await engine.updateUsb(() => 0); // unchanged: no event
  t.same(usb, [
    { usb0: true, usb1: false, usb2: false, usb3: false },
    { usb0: false, usb1: true, usb2: false, usb3: false },
    { usb0: false, usb1: false, usb2: true, usb3: false },
    { usb0: false, usb1: false, usb2: false, usb3: true },
    { usb0: false, usb1: false, usb2: false, usb3: false },
  ]);
  await stop();
});
