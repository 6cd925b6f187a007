// Engine.valuesNow: GET /values from a bus that answers at once (the simulator) without a promise,
// the same set, reads and errors as readValues through promises; the real adapter (no readNow)
// and every read that fails go the way they always went.
import t from 'tap';
import { BusError } from '../../engine/bus.js';
import type { ValuesSnapshot } from '../../engine/engine.js';
import { engineRig } from '../helpers/engine.js';
import { nowBus, type Script } from '../helpers/now-bus.js';

function rigOn(script: Script = () => undefined, opts: { readNow?: boolean; hardwareVersion?: number[] } = {}) {
  let log: string[] = [];
  const rig = engineRig({
    sim: opts.hardwareVersion ? { hardwareVersion: opts.hardwareVersion } : {},
    bus: (sim) => {
      const b = nowBus(sim, (reg) => script(reg), opts);
      log = b.log;
      return b.bus;
    },
  });
  return { ...rig, log };
}

const nack = () => new BusError('Remote I/O error', 'nack');
const BLOCK = ['0x20', '0x21', '0x22', '0x23', '0x24', '0x15', '0x16'];
const IDENTITY = ['0x03', '0x04', '0x25'];
const STATUS = ['0x10', '0x12'];

t.test('a bus that answers at once: the /values set without a promise, as readValues reads it', async (t) => {
  const { engine, log, stop } = rigOn();
  const v = engine.valuesNow(true);
  t.notOk(v instanceof Promise, 'no promise');
  t.same(
    log,
    [...BLOCK, ...IDENTITY, ...STATUS, '0x1a'].map((r) => `now ${r}`),
    'the block, the identity, 0x10, 0x12, then USB',
  );
  t.match(v, {
    V_in: 11.99951171875,
    state: 'OperationalSolo',
    firmware_version: '3.3.1',
    device_id: '0123456789abcdef',
    '5v_output_enabled': true,
    watchdog_enabled: false,
    usb_port_state: 15,
  });
  log.length = 0;
  const again = engine.valuesNow();
  t.same(
    log,
    STATUS.map((r) => `now ${r}`),
    'within the tick: the block shared, the identity kept',
  );
  t.same(await engine.readValues({ usb: true }), v, 'readValues gives the same set');
  t.notOk('usb_port_state' in (again as ValuesSnapshot), 'USB only when asked for');
  await stop();
});

t.test('a bus without readNow (the real adapter): the same set and reads, through a promise', async (t) => {
  const sync = rigOn();
  const expected = sync.engine.valuesNow(true);
  const { engine, log, stop } = rigOn(undefined, { readNow: false });
  const p = engine.valuesNow(true);
  t.ok(p instanceof Promise);
  t.same(await p, expected);
  t.same(
    log,
    [...BLOCK, ...IDENTITY, ...STATUS, '0x1a'].map((r) => `async ${r}`),
  );
  await stop();
  await sync.stop();
});

t.test('two requests at once on the real adapter: the block is read once and shared', async (t) => {
  const { engine, log, stop } = rigOn(undefined, { readNow: false });
  const [a, b] = await Promise.all([engine.readValues(), engine.readValues()]);
  t.same(a, b, 'the same values');
  t.same(
    log.filter((l) => BLOCK.includes(l.slice('async '.length))),
    BLOCK.map((r) => `async ${r}`),
    'one block of seven reads, not two',
  );
  await stop();
});

t.test('a bus error mid-block: retried, and a lasting one rejects /values with its error', async (t) => {
  let failing = 1;
  const { clock, engine, log, stop } = rigOn((reg) => (reg === 0x21 && failing-- > 0 ? nack() : undefined));
  const p = engine.valuesNow();
  t.ok(p instanceof Promise, 'a promise once a read failed');
  await clock.advance(10);
  t.match(await p, { V_in: 11.99951171875, firmware_version: '3.3.1' }, 'the retry answered');
  t.same(log.slice(0, 4), ['now 0x20', 'now 0x21', 'async 0x21', 'now 0x22'], 'the rest of the block at once again');
  failing = Infinity;
  await clock.advance(100);
  log.length = 0;
  const q = engine.valuesNow();
  t.ok(q instanceof Promise, 'never a throw');
  const failed = t.rejects(q as Promise<ValuesSnapshot>, {
    name: 'ControllerError',
    message: 'Failed to read from register 0x21',
  });
  await clock.advance(50);
  await failed;
  t.same(log, ['now 0x20', 'now 0x21', 'async 0x21', 'async 0x21', 'async 0x21'], 'nothing read after it');
  const r = t.rejects(engine.readValues(), { message: 'Failed to read from register 0x21' }, 'readValues alike');
  await clock.advance(50);
  await r;
  await stop();
});

t.test('a full-scale reading mid-block: a rejected promise, not a throw', async (t) => {
  const { engine, stop } = rigOn((reg) => (reg === 0x22 ? Uint8Array.of(0xff, 0xff) : undefined));
  const v = engine.valuesNow();
  t.ok(v instanceof Promise);
  await t.rejects(v as Promise<ValuesSnapshot>, { name: 'ControllerError', op: 'implausible', register: 0x22 });
  await stop();
});

t.test(
  'the registers beyond the block fall back on their own, the identity is read again after a bus error',
  async (t) => {
    let failing = true;
    const { clock, engine, stop } = rigOn((reg) => (failing && [0x04, 0x10, 0x12].includes(reg) ? nack() : undefined));
    const p = engine.valuesNow(true);
    await clock.advance(100);
    t.match(await p, {
      firmware_version: 'N/A',
      hardware_version: 'N/A',
      device_id: '0123456789abcdef',
      '5v_output_enabled': false,
      watchdog_enabled: false,
      watchdog_timeout: 0,
      usb_port_state: 15,
    });
    failing = false;
    const v = engine.valuesNow();
    t.notOk(v instanceof Promise, 'the bus answers at once again');
    t.match(v, { firmware_version: '3.3.1', '5v_output_enabled': true }, 'the identity was not kept half read');
    await stop();
  },
);

t.test('readValues and readMeasurements stay promises when the bus answers at once', async (t) => {
  const { engine, stop } = rigOn();
  const v = engine.readValues();
  t.ok(v instanceof Promise, 'readValues: a promise');
  const m = engine.readMeasurements();
  t.ok(m instanceof Promise, 'readMeasurements: a promise, also when shared');
  t.equal((await v).V_in, (await m).V_in);
  await stop();
});

t.test('the identity is not kept when it was forgotten while being read (a simulator control)', async (t) => {
  let forget = (): void => {};
  const { engine, log, stop } = rigOn((reg) => {
    if (reg === 0x04) forget();
    return undefined;
  });
  forget = () => {
    forget = () => {};
    engine.invalidateMeasurements();
  };
  engine.valuesNow();
  log.length = 0;
  engine.valuesNow();
  t.same(
    log,
    [...BLOCK, ...IDENTITY, ...STATUS].map((r) => `now ${r}`),
    'the next request reads the block and the identity again',
  );
  log.length = 0;
  engine.valuesNow();
  t.same(
    log,
    STATUS.map((r) => `now ${r}`),
    'then it is kept',
  );
  await stop();
});

t.test('each identity register that fails falls back and leaves the identity to be read again', async (t) => {
  for (const [reg, field, fallback] of [
    [0x03, 'hardware_version', 'N/A'],
    [0x04, 'firmware_version', 'N/A'],
    [0x25, 'device_id', '0000000000000000'],
  ] as const) {
    let failing = true;
    const { clock, engine, log, stop } = rigOn((r) => (failing && r === reg ? nack() : undefined), {
      hardwareVersion: [0x02, 0x00, 0x00, 0x01],
    });
    const p = engine.valuesNow();
    await clock.advance(100);
    const v = (await p) as ValuesSnapshot;
    t.equal(v[field], fallback, `${field} falls back`);
    t.equal(v.hardware_version === 'N/A', reg === 0x03, 'the others are read');
    failing = false;
    await clock.advance(100);
    log.length = 0;
    const again = engine.valuesNow() as ValuesSnapshot;
    t.ok(
      log.includes(`now 0x${reg.toString(16).padStart(2, '0')}`),
      `the identity is read again after ${field} failed`,
    );
    t.not(again[field], fallback, `${field} read`);
    await stop();
  }
});

t.test('USB that cannot be read is 0 in the set; block reads announce a state change once', async (t) => {
  const { clock, engine, stop } = rigOn((reg) => (reg === 0x1a ? new Error('not a bus error') : undefined));
  const states: unknown[] = [];
  engine.on('state', (s) => states.push(s.controller_state));
  t.match(await engine.valuesNow(true), { usb_port_state: 0 });
  await clock.advance(100);
  engine.valuesNow();
  t.same(states, ['OperationalSolo'], 'the first block announced the state, the second (unchanged) did not');
  await stop();
});

t.test('readMeasurements rejects, never throws, on a full-scale reading', async (t) => {
  const { engine, stop } = rigOn((reg) => (reg === 0x20 ? Uint8Array.of(0xff, 0xff) : undefined));
  const p = engine.readMeasurements();
  t.ok(p instanceof Promise);
  await t.rejects(p, { name: 'ControllerError', op: 'implausible', register: 0x20 });
  await stop();
});
