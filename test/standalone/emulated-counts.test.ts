// The transaction counts on the real path: every attempt halpid's driver makes (engine/device.ts,
// what the simulator-backed tests and /metrics count as one transaction) is exactly one transfer
// on the emulated /dev/i2c-1, and nothing else goes on the bus — through start, values, USB,
// config, injected NACKs (retried: one transfer per attempt), a firmware flash, a blackout to the
// shutdown and a clean stop. So the counts those tests assume are what a real controller sees.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TranscriptEntry } from '../../engine/simulator/i2c-emulator/server.js';
import { GID, HALPI, HALPID, HALPID_FLAGS, json, request, ROOT } from '../helpers/daemon.js';
import { firmwareImage } from '../helpers/firmware.js';
import { tempDir } from '../helpers/tmp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
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

t.test('one driver attempt = one bus transfer, per register and outcome', async (t) => {
  const dir = tempDir('halpid-counts-');
  const socket = join(dir, 'halpid.sock');
  const control = join(dir, 'control.sock');
  const mark = join(dir, 'poweroff-ran');
  let logs = '';
  // DEBUG=halpid:i2c: one line per attempt, "read 0x20 ok (attempt 1)" (engine/device.ts).
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
      `touch ${mark}`,
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
        DEBUG: 'halpid:i2c',
        DEBUG_COLORS: '0',
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
  t.teardown(() => {
    daemon.kill('SIGKILL');
  });
  const sim = (method: string, path: string, opts?: Parameters<typeof request>[3]) =>
    request(control, method, path, opts);
  const halpi = (...args: string[]) =>
    spawnSync(process.execPath, [HALPI, '--socket', socket, ...args], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
  await until(
    'halpid to take the controller',
    async () =>
      existsSync(control) &&
      existsSync(socket) &&
      JSON.parse((await sim('GET', '/sim')).text).controller.state === 'OperationalCoOp',
  );

  t.equal((await request(socket, 'GET', '/values')).status, 200);
  t.equal(halpi('usb', 'disable', '2').status, 0);
  t.equal(halpi('config', 'set', 'led_brightness', '90').status, 0);
  t.equal((await sim('POST', '/sim/faults', json({ kind: 'nack', registers: [0x20], count: 2 }))).status, 201);
  await until(
    'the NACKs',
    async () =>
      (JSON.parse((await sim('GET', '/transcript')).text) as TranscriptEntry[]).filter((e) => e.result === 'EREMOTEIO')
        .length >= 2,
  );
  const image = firmwareImage({ bytes: 6000 });
  writeFileSync(join(dir, 'fw.bin'), image);
  const flash = halpi('flash', join(dir, 'fw.bin'));
  t.equal(flash.status, 0, flash.stderr);
  t.equal((await sim('POST', '/sim/power', json({ on: false }))).status, 204);
  await until('the poweroff command', () => existsSync(mark));
  await until('the shutdown request', async () =>
    (JSON.parse((await sim('GET', '/transcript')).text) as TranscriptEntry[]).some((e) => e.msgs[0]!.data === '3001'),
  );
  daemon.kill('SIGTERM');
  t.equal(await exited, 0, 'a clean stop');

  const attempts = [...logs.matchAll(/halpid:i2c (read|write) 0x([0-9a-f]{2}) (ok|failed) \(attempt \d+\)/gi)].map(
    (m) => `${m[1]} ${m[2]!.toLowerCase()} ${m[3]}`,
  );
  const transfers = readFileSync(join(dir, 'transcript.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TranscriptEntry)
    .map(
      (e) =>
        `${e.via === 'smbus' ? 'read' : e.via} ${e.msgs[0]!.data.slice(0, 2)} ${e.result === 'ok' ? 'ok' : 'failed'}`,
    );
  const tally = (list: string[]) =>
    Object.fromEntries([...new Set(list)].sort().map((k) => [k, list.filter((x) => x === k).length]));
  t.ok(attempts.length > 50, `${attempts.length} attempts logged`);
  t.same(
    tally(transfers),
    tally(attempts),
    'per register and outcome, as many transfers as the driver counted attempts',
  );
  t.equal(transfers.length, attempts.length, `${transfers.length} transfers in all`);
  const count = (k: string) => transfers.filter((x) => x === k).length;
  t.equal(count('read 20 failed'), 2, 'two NACKed reads of V_in, each one transfer');
  t.equal(count('write 40 ok'), 1, 'flash: one DFU start');
  t.equal(count('write 43 ok'), Math.ceil(image.length / 4096), 'flash: one transfer per 4096-byte block');
  t.equal(count('write 44 ok'), 1, 'flash: one commit');
  t.equal(count('write 1a ok'), 1, 'USB: one write of the port mask');
  t.equal(count('write 17 ok'), 1, 'config: one write of the LED brightness');
});
