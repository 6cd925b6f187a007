// LinuxI2cBus: calls into the native module, error mapping, clear open errors. No hardware needed:
// the module is injected, as the real one is loaded lazily.
import t from 'tap';
import { LinuxI2cBus, type I2cModule, type PromisifiedI2c } from '../../engine/i2c-bus.js';

function fakeModule(overrides: Partial<PromisifiedI2c> = {}) {
  const calls: unknown[][] = [];
  const handle: PromisifiedI2c = {
    readI2cBlock: async (addr, cmd, length, buffer) => {
      calls.push(['readI2cBlock', addr, cmd, length]);
      buffer.set([3, 3, 1, 0xff].slice(0, length));
      return { bytesRead: length, buffer };
    },
    i2cWrite: async (addr, length, buffer) => {
      calls.push(['i2cWrite', addr, length, [...buffer]]);
      return { bytesWritten: length, buffer };
    },
    i2cFuncs: async () => ({ i2c: true, smbusReadI2cBlock: true }),
    close: async () => {
      calls.push(['close']);
    },
    ...overrides,
  };
  const mod: I2cModule = {
    openPromisified: async (n) => {
      calls.push(['open', n]);
      return handle;
    },
  };
  return { mod, calls };
}

const exists = () => true;

t.test('reads use readI2cBlock (repeated start), writes one i2cWrite message', async (t) => {
  const { mod, calls } = fakeModule();
  const bus = await LinuxI2cBus.open(1, 0x6d, { load: async () => mod, exists });
  t.equal(bus.description, '/dev/i2c-1 @ 0x6D');
  t.same([...(await bus.writeRead(Uint8Array.of(0x04), 4))], [3, 3, 1, 0xff]);
  await bus.write(Uint8Array.of(0x12, 0x27, 0x10));
  const big = new Uint8Array(4105);
  big[0] = 0x43;
  await bus.write(big);
  await bus.close();
  t.same(calls.slice(0, 3), [
    ['open', 1],
    ['readI2cBlock', 0x6d, 0x04, 4],
    ['i2cWrite', 0x6d, 3, [0x12, 0x27, 0x10]],
  ]);
  t.equal((calls[3] as unknown[])[2], 4105, 'a full DFU block in one message');
});

t.test('OS errors become BusErrors the driver retries', async (t) => {
  const err = (code: string) => Object.assign(new Error(`${code} from the adapter`), { code });
  const { mod } = fakeModule({
    readI2cBlock: async () => {
      throw err('EREMOTEIO');
    },
    i2cWrite: async () => {
      throw err('ETIMEDOUT');
    },
  });
  const bus = await LinuxI2cBus.open(1, 0x6d, { load: async () => mod, exists });
  await t.rejects(bus.writeRead(Uint8Array.of(0x20), 2), { name: 'BusError', kind: 'nack' });
  await t.rejects(bus.write(Uint8Array.of(0x17, 1)), { name: 'BusError', kind: 'timeout' });
  const short = fakeModule({ readI2cBlock: async (_a, _c, _l, buffer) => ({ bytesRead: 1, buffer }) });
  const b2 = await LinuxI2cBus.open(1, 0x6d, { load: async () => short.mod, exists });
  await t.rejects(b2.writeRead(Uint8Array.of(0x20), 2), {
    name: 'BusError',
    kind: 'io',
    message: 'short read (1 of 2 bytes)',
  });
});

t.test('the addon\'s own errors (code "", positive errno) map by errno, with a readable message', async (t) => {
  // What i2c-bus 5.2.3 throws from readI2cBlock on a NACK and a timeout (seen through the emulator).
  const addon = (errno: number, text: string) =>
    Object.assign(new Error(`, ${text}`), { errno, code: '', syscall: 'readI2cBlock' });
  let next = addon(121, 'Remote I/O error');
  const { mod } = fakeModule({
    readI2cBlock: async () => {
      throw next;
    },
  });
  const bus = await LinuxI2cBus.open(1, 0x6d, { load: async () => mod, exists });
  await t.rejects(bus.writeRead(Uint8Array.of(0x20), 2), {
    name: 'BusError',
    kind: 'nack',
    message: 'readI2cBlock: Remote I/O error (EREMOTEIO)',
  });
  next = Object.assign(addon(110, 'Connection timed out'), {
    code: 'ETIMEDOUT',
    message: 'ETIMEDOUT, Connection timed out',
  });
  await t.rejects(bus.writeRead(Uint8Array.of(0x20), 2), {
    kind: 'timeout',
    message: 'readI2cBlock: Connection timed out (ETIMEDOUT)',
  });
  next = addon(5, 'Input/output error');
  await t.rejects(bus.writeRead(Uint8Array.of(0x20), 2), { name: 'BusError', kind: 'io' });
});

t.test('one clear error for a missing device, a missing module, or no adapter', async (t) => {
  await t.rejects(LinuxI2cBus.open(7, 0x6d, { exists: () => false }), {
    name: 'I2cOpenError',
    message: 'Failed to open I2C device at bus 7, address 0x6D: /dev/i2c-7 does not exist',
  });
  await t.rejects(
    LinuxI2cBus.open(1, 0x6d, {
      exists,
      load: async () => {
        throw new Error('Cannot find module');
      },
    }),
    {
      name: 'I2cUnavailableError',
      message: 'I2C support is not available: Cannot find module',
    },
  );
  const { mod, calls } = fakeModule({
    i2cFuncs: async () => {
      throw new Error('Inappropriate ioctl for device');
    },
  });
  await t.rejects(LinuxI2cBus.open(1, 0x6d, { exists, load: async () => mod }), {
    message: 'Failed to open I2C device at bus 1, address 0x6D: Inappropriate ioctl for device',
  });
  t.same(calls.at(-1), ['close'], 'the handle is closed again');
});

t.test(
  'the real native module loads lazily (when it was built)',
  { skip: process.platform !== 'linux' && 'linux only' },
  async (t) => {
    // /dev/i2c-* does not exist on CI machines: the open fails before the module is touched.
    await t.rejects(LinuxI2cBus.open(250, 0x6d), { message: /\/dev\/i2c-250 does not exist/ });
    // Past the existence check, the real module loads and the open itself fails cleanly.
    await t.rejects(LinuxI2cBus.open(250, 0x6d, { exists: () => true }), {
      message:
        /^(Failed to open I2C device at bus 250, address 0x6D: .*(ENOENT|no such file)|I2C support is not available: )/i,
    });
  },
);

t.test(
  'writeSync: the same message through the synchronous bus; errors mapped; no sync bus is unavailable',
  async (t) => {
    const sent: unknown[][] = [];
    const { mod } = fakeModule({
      bus: () => ({
        i2cWriteSync: (addr, length, buffer) => {
          if (buffer[0] === 0x99) throw Object.assign(new Error('Remote I/O error'), { code: 'EREMOTEIO' });
          sent.push([addr, length, [...buffer]]);
          return length;
        },
      }),
    });
    const bus = await LinuxI2cBus.open(1, 0x6d, { load: async () => mod, exists });
    bus.writeSync(Uint8Array.of(0x12, 0, 0));
    t.same(sent, [[0x6d, 3, [0x12, 0, 0]]]);
    t.throws(() => bus.writeSync(Uint8Array.of(0x99, 1)), {
      name: 'BusError',
      kind: 'nack',
      message: 'Remote I/O error',
    });
    const bare = await LinuxI2cBus.open(1, 0x6d, { load: async () => fakeModule().mod, exists });
    t.throws(() => bare.writeSync(Uint8Array.of(0x12, 0, 0)), { name: 'BusError', kind: 'unavailable' });
  },
);
