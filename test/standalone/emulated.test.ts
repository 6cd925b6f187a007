// halpid's hardware path end to end: `scripts/i2c-emulated.sh node dist/bin/halpid.cjs` (no
// --simulate) opens the emulated /dev/i2c-1 through the real i2c-bus addon. Start, values, USB,
// config, bus faults, a firmware flash and a blackout to the shutdown; then the transcript is held
// against the transaction shapes of docs/controller.md, byte by byte.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import crc32 from 'crc-32';
import type { TranscriptEntry } from '../../engine/simulator/i2c-emulator/server.js';
import { GID, HALPI, HALPID, HALPID_FLAGS, json, request, ROOT } from '../helpers/daemon.js';
import { firmwareImage } from '../helpers/firmware.js';
import { oddTransfers } from '../helpers/i2c-emulator.js';
import { tempDir } from '../helpers/tmp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Wait for a condition (polling, bounded): the event it stands for, never a length of time. */
async function until<T>(
  what: string,
  f: () => Promise<T | undefined | false> | T | undefined | false,
  limitMs = 30_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const dir = tempDir('halpid-emulated-');
const socket = join(dir, 'halpid.sock');
const control = join(dir, 'control.sock');
const poweroffMark = join(dir, 'poweroff-ran');
let logs = '';
const daemon = spawn(
  'bash',
  [
    join(ROOT, 'scripts/i2c-emulated.sh'),
    process.execPath,
    ...HALPID_FLAGS,
    HALPID,
    '--socket',
    socket,
    '--socket-group',
    GID,
    '--poweroff',
    `touch ${poweroffMark}`,
    '--poweroff-fallback',
    '',
    '--blackout-time-limit',
    '2',
  ],
  {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      HALPI2_I2C_EMULATOR_DIR: dir,
      JOURNAL_STREAM: '',
      HALPID_LOG_LEVEL: '',
      DEBUG: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
daemon.stdout.on('data', (c: Buffer) => {
  logs += c.toString();
});
daemon.stderr.on('data', (c: Buffer) => {
  logs += c.toString();
});
const exited = new Promise<number | null>((resolve) => daemon.on('exit', resolve));
process.on('exit', () => daemon.kill('SIGKILL'));

const api = (method: string, path: string, opts?: Parameters<typeof request>[3]) => request(socket, method, path, opts);
const sim = (method: string, path: string, opts?: Parameters<typeof request>[3]) =>
  request(control, method, path, opts);
const simState = async () => JSON.parse((await sim('GET', '/sim')).text) as { controller: Record<string, unknown> };
const transcript = async (): Promise<TranscriptEntry[]> => JSON.parse((await sim('GET', '/transcript')).text);
const halpi = (...args: string[]) =>
  spawnSync(process.execPath, [HALPI, '--socket', socket, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });

t.before(async () => {
  await until(
    'halpid to take the controller (OperationalCoOp)',
    async () => existsSync(control) && existsSync(socket) && (await simState()).controller.state === 'OperationalCoOp',
  );
});

t.test('start: the I2C backend on /dev/i2c-1, never the simulator', async (t) => {
  t.match(logs, /Opened I2C device/);
  t.notMatch(logs, /simulated HALPI2 controller/);
  const hello = JSON.parse((await api('GET', '/version')).text);
  t.ok(hello, 'the API answers');
  t.equal((await api('GET', '/sim')).status, 404, 'no /sim on the hardware path');
  t.equal((await simState()).controller.watchdog_ms, 10_000, "halpid armed the controller's watchdog");
});

t.test('values, USB and config through the addon', async (t) => {
  const values = JSON.parse((await api('GET', '/values')).text);
  t.equal(values.firmware_version, '3.3.1');
  t.equal(values.device_id, '0123456789abcdef');
  t.ok(Math.abs(values.V_in - 12) < 0.1, `V_in ${values.V_in}`);
  t.equal(values.state, 'OperationalCoOp');
  t.equal(halpi('usb', 'disable', '2').status, 0);
  t.equal((await simState()).controller.usb, 0b1011, 'USB2 switched off in the controller');
  t.equal(halpi('usb', 'enable', '2').status, 0);
  const set = halpi('config', 'set', 'led_brightness', '100');
  t.equal(set.status, 0, set.stderr);
  t.equal((await simState()).controller.led_brightness, 100);
  t.equal(halpi('config', 'get', 'led_brightness').stdout.trim(), '100');
});

t.test('bus faults: a NACK and a timeout are retried; the values keep coming', async (t) => {
  const before = (await transcript()).at(-1)!.seq;
  t.equal((await sim('POST', '/sim/faults', json({ kind: 'nack', registers: [0x20], count: 2 }))).status, 201);
  t.equal(
    (await sim('POST', '/sim/faults', json({ kind: 'timeout', registers: [0x21], count: 1, delay_ms: 5 }))).status,
    201,
  );
  // A fault rule is used up when it fires; its transfer is on the transcript when it has failed.
  const failed = async () => (await transcript()).filter((e) => e.seq > before && e.result !== 'ok');
  const after = await until('the three failed transfers', async () => {
    const f = await failed();
    return f.length >= 3 && f;
  });
  t.same(
    after.map((e) => `${e.msgs[0]!.data} ${e.result}`).sort(),
    ['20 EREMOTEIO', '20 EREMOTEIO', '21 ETIMEDOUT'],
    'two NACKed reads of V_in, one timed-out read of V_cap, as the kernel reports them',
  );
  const v = JSON.parse((await api('GET', '/values')).text);
  t.ok(Math.abs(v.V_in - 12) < 0.1, 'values still read');
  t.equal(v.state, 'OperationalCoOp', 'no watchdog trouble');
});

t.test('a firmware flash: DFU blocks framed [CRC-32][block# u16][len u16][data], then the commit', async (t) => {
  const image = firmwareImage({ bytes: 6000 });
  const file = join(dir, 'fw.bin');
  writeFileSync(file, image);
  const before = (await transcript()).at(-1)!.seq;
  const r = halpi('flash', file);
  t.equal(r.status, 0, r.stderr);
  const writes = (await transcript())
    .filter((e) => e.seq > before && e.via === 'write')
    .map((e) => Buffer.from(e.msgs[0]!.data, 'hex'));
  const start = writes.find((w) => w[0] === 0x40)!;
  t.same([...start], [0x40, 0, 0, 0x17, 0x70], 'DFU start with the size, big-endian');
  const blocks = writes.filter((w) => w[0] === 0x43);
  t.equal(blocks.length, 2);
  for (const [i, b] of blocks.entries()) {
    const data = image.subarray(i * 4096, (i + 1) * 4096);
    t.equal(b.length, 1 + 8 + data.length, `block ${i}: [0x43] + 8 bytes of header + its data (4105 at most)`);
    t.equal(b.readUInt16BE(5), i, `block ${i}: its number`);
    t.equal(b.readUInt16BE(7), data.length, `block ${i}: the data length`);
    t.equal(b.readUInt32BE(1), crc32.buf(b.subarray(5)) >>> 0, `block ${i}: CRC-32 of number, length and data`);
    t.same(b.subarray(9), data, `block ${i}: the image bytes`);
  }
  t.ok(
    writes.some((w) => w[0] === 0x44),
    'committed',
  );
  t.equal((await simState()).controller.pending_swap, true, 'the controller holds the new image for its next reset');
});

t.test('a blackout: the poweroff command runs after the time limit; the shutdown request is on the bus', async (t) => {
  const before = (await transcript()).at(-1)!.seq;
  t.equal((await sim('POST', '/sim/power', json({ on: false }))).status, 204);
  await until('the poweroff command', () => existsSync(poweroffMark));
  const after = (await transcript()).filter((e) => e.seq > before);
  const firstZero = after.find((e) => e.msgs[0]!.data === '20' && e.msgs[1]?.data === '0000');
  const shutdown = after.find((e) => e.via === 'write' && e.msgs[0]!.data === '3001');
  t.ok(firstZero, 'halpid read V_in = 0');
  t.ok(shutdown, 'halpid wrote the shutdown request 30 01');
  t.ok(shutdown!.t - firstZero!.t >= 1900, `the request came after the 2 s limit (${shutdown!.t - firstZero!.t} ms)`);
  await until(
    'the controller to take the request (its next 50 ms tick)',
    async () => (await simState()).controller.state === 'BlackoutShutdown',
  );
});

t.test('a clean exit disarms the watchdog; every transfer has a shape of docs/controller.md', async (t) => {
  daemon.kill('SIGTERM');
  t.equal(await exited, 0, logs);
  const all = readFileSync(join(dir, 'transcript.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TranscriptEntry);
  const ok = all.filter((e) => e.result === 'ok');
  t.equal(ok.at(-1)!.msgs[0]!.data, '120000', 'the last write: 0x12 ← 0');
  const odd = oddTransfers(all);
  t.same(odd, [], `all ${all.length} transfers are reads or writes of the documented shapes`);
});
