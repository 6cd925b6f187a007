// Shutdown, standby, flash and blackouts through the real daemon (docs/api.md
// rows 7–9). Commands are harmless scripts that record what they were asked to do.
import t from 'tap';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { json, startDaemon } from '../helpers/daemon.js';
import { firmwareImage } from '../helpers/firmware.js';
import { cutUntilShutdown, notBefore } from '../helpers/shutdown.js';
import { tempDir } from '../helpers/tmp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');

function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Wait until `cond` holds (re-checked every 20 ms, after `refresh`), or give up after `ms`: a bound for a lost event, not a timing. */
async function until(cond: () => boolean, ms: number, refresh?: () => Promise<void>): Promise<boolean> {
  const start = Date.now();
  for (;;) {
    await refresh?.();
    if (cond()) return true;
    if (Date.now() - start > ms) return false;
    await sleep(20);
  }
}

t.test('POST /shutdown writes 0x30 and runs the configured poweroff command (D1)', async (t) => {
  const marker = join(tempDir('halpid-off-'), 'poweroff.log');
  const e = await startDaemon(['--sim-execute-commands', '--poweroff', `echo shutdown >> ${marker}`]);
  t.teardown(() => e.stop());
  const r = await e.req('POST', '/shutdown', { body: 'ignored {' });
  t.equal(r.status, 204);
  t.equal(r.body.length, 0);
  t.notOk('content-type' in r.headers);
  t.ok(await until(() => read(marker) === 'shutdown\n', 30_000), 'poweroff ran once');
  // The controller takes the request on its next 50 ms tick.
  let state = '';
  t.ok(
    await until(
      () => state === '"ManualShutdown"',
      30_000,
      async () => {
        state = (await e.req('GET', '/values/state')).text;
      },
    ),
    `the controller went to ManualShutdown (${state})`,
  );
  t.match(e.logs(), /Shutdown requested over the API/);
  t.match(e.logs(), new RegExp(`Executing: echo shutdown >> ${marker.replace(/[/.]/g, '\\$&')}`));
});

t.test('on the simulator, poweroff is not executed: the simulated host halts instead', async (t) => {
  const d = await startDaemon(['--poweroff', '/sbin/poweroff-that-must-not-run']);
  t.teardown(() => d.stop());
  t.equal((await d.req('POST', '/shutdown')).status, 204);
  await d.waitLog(/Simulator: not executing \/sbin\/poweroff-that-must-not-run/);
  await d.waitLog(/Simulated host halting/);
  const sim = JSON.parse((await d.req('GET', '/sim')).text);
  t.equal(sim.host.cm_on, true, 'the host is halting (2 s)');
  const off = await d.waitLog(/Simulated host powered off/);
  t.match(
    off,
    /\(controller state (ManualShutdown|PoweredDownManual)\); auto-restart boots it again in about 5 s\. Until it boots, the controller cannot be reached/,
    'the log says why reads fail now, and what comes next (auto-restart is on by default)',
  );
  t.equal(JSON.parse((await d.req('GET', '/sim')).text).host.cm_on, false, 'the simulated host halted');
  const v = await d.req('GET', '/values');
  t.equal(v.status, 500, 'nobody answers while the simulated host is off');
  t.match(v.text, /^\{"error":"Failed to read from register 0x20"\}$/);
});

t.test('dry-run: shutdown and standby are only logged', async (t) => {
  const marker = join(tempDir('halpid-dry-'), 'poweroff.log');
  const d = await startDaemon(['--dry-run', '--sim-execute-commands', '--poweroff', `echo x >> ${marker}`]);
  t.teardown(() => d.stop());
  t.equal((await d.req('POST', '/shutdown')).status, 204);
  t.equal((await d.req('POST', '/standby', json({ delay: 60 }))).status, 204);
  // Commands log "Executing: …" before they start, and the answer comes after: none was started.
  t.notOk(existsSync(marker), 'nothing ran');
  t.equal(
    JSON.parse((await d.req('GET', '/sim')).text).controller.state,
    'OperationalCoOp',
    'nothing reached the controller',
  );
  t.notMatch(d.logs(), /Shutdown requested over the API|Executing/);
  t.match(d.logs(), /Dry run: would request shutdown and execute echo x/);
});

t.test('POST /standby: every accepted form, rtcwake then 0x31 then poweroff (D2–D5)', async (t) => {
  const dir = tempDir('halpid-power-');
  const args = join(dir, 'rtcwake.args');
  const rtcwake = script(dir, 'rtcwake', `echo "$@" >> ${args}`);
  const marker = join(dir, 'poweroff.log');
  const d = await startDaemon(['--sim-execute-commands', '--rtcwake', rtcwake, '--poweroff', `echo off >> ${marker}`], {
    TZ: 'Europe/Helsinki',
  });
  t.teardown(() => d.stop());
  const lastWake = () => Number(read(args).trim().split('\n').at(-1)!.split(' ').at(-1));
  const now = () => Math.floor(Date.now() / 1000);
  const accept = async (body: unknown, expected: number | ((w: number) => boolean), label: string) => {
    const before = read(args).split('\n').length;
    const r = await d.req('POST', '/standby', json(body));
    t.equal(r.status, 204, `${label}: ${r.text}`);
    t.equal(read(args).split('\n').length, before + 1, `${label}: rtcwake ran`);
    t.match(read(args).trim().split('\n').at(-1), /^-m no -t \d+$/, `${label}: rtcwake -m no -t <ts>`);
    const w = lastWake();
    if (typeof expected === 'number') t.equal(w, expected, label);
    else t.ok(expected(w), `${label}: ${w}`);
  };
  const about = (s: number) => (w: number) => Math.abs(w - (now() + s)) <= 2;
  await accept({ delay: 600 }, about(600), 'integer delay');
  // The controller acts on its next 50 ms tick.
  let sim = '';
  t.ok(
    await until(
      () => /"state":"EnteringStandby"/.test(sim),
      30_000,
      async () => {
        sim = (await d.req('GET', '/sim')).text;
      },
    ),
    'standby requested from the controller',
  );
  t.ok(await until(() => read(marker).length > 0, 3000), 'poweroff ran after the standby request');
  await accept({ delay: '300' }, about(300), 'numeric string delay (D3)');
  await accept({ delay: ' 42 ' }, about(42), 'string delay with spaces');
  await accept({ delay: 0 }, about(0), 'delay 0');
  await accept([300], about(300), 'one-element array');
  await accept(['300'], about(300), 'one-element array with a numeric string');
  // The next 13 August and 13 January, within the 366 days a standby may last.
  const yearOf = (month: number, day: number): number => {
    const y = new Date().getUTCFullYear();
    return Date.UTC(y, month - 1, day) > Date.now() + 86_400_000 ? y : y + 1;
  };
  const A = yearOf(8, 13);
  const J = yearOf(1, 13);
  await accept({ datetime: `${A}-08-13T06:00:00Z` }, Date.UTC(A, 7, 13, 6) / 1000, 'RFC 3339 Z');
  await accept({ datetime: `${A}-08-13 06:00:00+03:00` }, Date.UTC(A, 7, 13, 3) / 1000, 'offset and space');
  await accept({ datetime: `${A}-08-13t06:00:00.75z` }, Date.UTC(A, 7, 13, 6) / 1000, 'lower case, fraction');
  await accept(
    { datetime: `${A}-08-13T06:00:00` },
    Date.UTC(A, 7, 13, 3) / 1000,
    'naive local time with T (D4), Helsinki summer',
  );
  await accept({ datetime: `${J}-01-13 06:00:00` }, Date.UTC(J, 0, 13, 4) / 1000, 'naive local time, Helsinki winter');
  await accept([`${A}-08-13T06:00:00Z`], Date.UTC(A, 7, 13, 6) / 1000, 'one-element array datetime');
  await accept(
    { delay: -5, datetime: `${A}-08-13T06:00:00Z`, extra: 1 },
    Date.UTC(A, 7, 13, 6) / 1000,
    'invalid delay falls back to datetime',
  );
  await accept({ delay: 10, datetime: 'nonsense' }, about(10), 'a valid delay wins');
  await accept({ delay: 366 * 86_400 }, about(366 * 86_400), 'the furthest delay: 366 days');

  const NO_VARIANT =
    'Failed to deserialize the JSON body into the target type: data did not match any variant of untagged enum StandbyRequest';
  for (const body of [
    {},
    { delay: -5 },
    { delay: 1.5 },
    { delay: '5m' },
    { datetime: 7 },
    { delay: 4294967296 },
    [1, 2],
    'x',
    null,
  ]) {
    const r = await d.req('POST', '/standby', json(body));
    t.equal(
      `${r.status} ${r.headers['content-type']} ${r.text}`,
      `422 text/plain; charset=utf-8 ${NO_VARIANT}`,
      JSON.stringify(body),
    );
  }
  const bad = await d.req('POST', '/standby', json({ datetime: 'tomorrow 6am' }));
  t.equal(
    `${bad.status} ${bad.text}`,
    `400 {"error":"Invalid datetime format: Could not parse datetime: tomorrow 6am. Expected ISO 8601 format (e.g., '2025-11-08T12:00:00Z' or '2025-11-08 12:00:00')"}`,
  );
  for (const s of ['2030-02-30T06:00:00Z', '2030-08-13T25:00:00Z', '2030-08-13 06:00', '2030-08-13T06:00:00.5']) {
    t.equal((await d.req('POST', '/standby', json({ datetime: s }))).status, 400, s);
  }
  const past = await d.req('POST', '/standby', json({ datetime: '2020-01-01T00:00:00Z' }));
  t.equal(
    `${past.status} ${past.text}`,
    '400 {"error":"Wakeup time must be in the future: 2020-01-01T00:00:00Z"}',
    'D5',
  );
  const gap = await d.req('POST', '/standby', json({ datetime: '2030-03-31 03:30:00' }));
  t.equal(
    `${gap.status} ${gap.text}`,
    `400 {"error":"Invalid datetime format: Could not interpret datetime '2030-03-31 03:30:00' as local time"}`,
    'a time skipped by DST',
  );
  const twice = await d.req('POST', '/standby', json({ datetime: '2030-10-27 03:30:00' }));
  t.equal(twice.status, 400, 'an ambiguous local time');
  t.equal((await d.req('POST', '/standby', { body: '{"delay":5}' })).status, 415, 'content type checked first');
  const far = await d.req('POST', '/standby', json({ datetime: '9999-12-31T23:59:59Z' }));
  t.equal(
    `${far.status} ${far.text}`,
    '400 {"error":"Wakeup time must be at most 366 days ahead: 9999-12-31T23:59:59Z"}',
    'no standby until the year 9999',
  );
  const long = await d.req('POST', '/standby', json({ delay: 4294967295 }));
  t.equal(
    `${long.status} ${long.text}`,
    '400 {"error":"Delay must be at most 31622400 seconds (366 days): 4294967295"}',
  );
  t.equal((await d.req('POST', '/standby', json({ delay: 366 * 86_400 + 1 }))).status, 400, 'one second too far');
  const calls = read(args).split('\n').length;
  t.equal(calls, 16, 'rejected requests never ran rtcwake');
});

t.test('rtcwake failures: its stderr verbatim, or why it could not start', async (t) => {
  const dir = tempDir('halpid-power-');
  const failing = script(dir, 'rtcwake-fails', 'echo "rtcwake: /dev/rtc0: no such device" >&2; exit 1');
  const conf = join(dir, 'halpid.conf');
  writeFileSync(conf, `rtcwake: ${failing}\n`);
  const d = await startDaemon(['--conf', conf, '--sim-execute-commands']);
  t.teardown(() => d.stop());
  // In OK the daemon's ticks only read: any write on the bus would be the 0x31 request.
  const writes = async () =>
    Number(/^halpi_i2c_transactions_total\{op="write"\} (\d+)$/m.exec((await d.req('GET', '/metrics')).text)![1]);
  const before = await writes();
  const r = await d.req('POST', '/standby', json({ delay: 60 }));
  t.equal(`${r.status} ${r.text}`, '500 {"error":"rtcwake failed: rtcwake: /dev/rtc0: no such device\\n"}');
  t.equal(await writes(), before, 'nothing was written to the controller: no 0x31');
  t.match(
    JSON.parse((await d.req('GET', '/sim')).text).controller.state,
    /^Operational(Solo|CoOp)$/,
    'no standby was requested',
  );
  writeFileSync(conf, 'rtcwake: /nonexistent/rtcwake\n');
  d.proc.kill('SIGHUP');
  await d.waitLog(/Configuration reloaded/);
  const m = await d.req('POST', '/standby', json({ delay: 60 }));
  t.equal(`${m.status} ${m.text}`, '500 {"error":"Failed to execute rtcwake: spawn /nonexistent/rtcwake ENOENT"}');
});

t.test('a dip shorter than the limit: the blackout ends, no shutdown, no poweroff', async (t) => {
  const marker = join(tempDir('halpid-off-'), 'off.log');
  // A limit far beyond the dip however slow the machine: only the daemon's events order the test.
  const d = await startDaemon([
    '--blackout-time-limit',
    '600',
    '--sim-execute-commands',
    '--poweroff',
    `echo off >> ${marker}`,
  ]);
  t.teardown(() => d.stop());
  t.equal(
    (await d.req('PUT', '/sim/host', json({ load_W: 0 }))).status,
    204,
    'and no load to run the supercap down first',
  );
  // A dip: power back as soon as the blackout is seen, then until the daemon says it resumed.
  t.equal((await d.req('POST', '/sim/power', json({ on: false }))).status, 204);
  await d.waitLog(/Detected blackout \(V_in = 0\.00V < 9\.00V\)/);
  t.equal((await d.req('POST', '/sim/power', json({ on: true }))).status, 204);
  await d.waitLog(/Power resumed \(V_in = 1[0-2]\.\d\dV\)/); // (the ADC average may still be ramping up)
  t.notMatch(d.logs(), /initiating shutdown/, 'a dip shorter than the limit does not shut down');
  t.equal(read(marker), '', 'and runs no poweroff');
});

t.test('a power cut leads to the poweroff command after the time limit, not before', async (t) => {
  const marker = join(tempDir('halpid-off-'), 'off.log');
  const d = await startDaemon([
    '--blackout-time-limit',
    '1.5',
    '--sim-execute-commands',
    '--poweroff',
    `echo off >> ${marker}`,
  ]);
  t.teardown(() => d.stop());
  // A cut that lasts: the daemon says how long it waited, the test brackets it by what it saw.
  const waited = await cutUntilShutdown(d);
  t.same(notBefore(waited, 1.5), [], `${waited.line} (${waited.seen.toFixed(3)} s after the cut)`);
  t.ok(await until(() => read(marker) === 'off\n', 30_000), 'poweroff ran, once');
  // The log comes through a pipe: it may trail the file the command wrote.
  t.match(await d.waitLog(/State transition: SHUTDOWN -> DEAD/), /SHUTDOWN -> DEAD/);
});

t.test('POST /flash: success, every error case, and a blackout during a flash (D7)', async (t) => {
  const marker = join(tempDir('halpid-off-'), 'off.log');
  const d = await startDaemon([
    '--blackout-time-limit',
    '1',
    '--sim-execute-commands',
    '--poweroff',
    `echo off >> ${marker}`,
  ]);
  t.teardown(() => d.stop());
  const multipart = (parts: Array<{ name: string; data: Buffer | string; filename?: string }>, boundary = 'XyZ') => ({
    headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    body: Buffer.concat([
      ...parts.flatMap((p) => [
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}\r\nContent-Type: application/octet-stream\r\n\r\n`,
        ),
        Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data),
        Buffer.from('\r\n'),
      ]),
      Buffer.from(`--${boundary}--\r\n`),
    ]),
  });
  const r1 = await d.req('POST', '/flash', { headers: { 'Content-Type': 'application/octet-stream' }, body: 'x' });
  t.equal(
    `${r1.status} ${r1.headers['content-type']} ${r1.text}`,
    '400 text/plain; charset=utf-8 Invalid `boundary` for `multipart/form-data` request',
  );
  t.equal(
    (await d.req('POST', '/flash', { headers: { 'Content-Type': 'multipart/form-data' }, body: 'x' })).status,
    400,
    'no boundary',
  );
  const r2 = await d.req('POST', '/flash', {
    headers: { 'Content-Type': 'multipart/form-data; boundary=XyZ' },
    body: 'garbage without any boundary',
  });
  t.equal(
    `${r2.status} ${r2.text}`,
    '400 {"error":"Failed to extract firmware: Failed to read multipart field: Error parsing `multipart/form-data` request"}',
  );
  const r3 = await d.req('POST', '/flash', multipart([{ name: 'other', data: 'abc', filename: 'a.bin' }]));
  t.equal(
    `${r3.status} ${r3.text}`,
    `400 {"error":"Failed to extract firmware: No 'firmware' field found in multipart form"}`,
  );
  const r4 = await d.req('POST', '/flash', multipart([{ name: 'firmware', data: '', filename: 'fw.bin' }]));
  t.equal(`${r4.status} ${r4.text}`, '400 {"error":"Firmware file is empty"}');
  const r5 = await d.req(
    'POST',
    '/flash',
    multipart([{ name: 'firmware', data: Buffer.alloc(3 * 1024 * 1024, 1), filename: 'fw.bin' }]),
  );
  t.equal(
    `${r5.status} ${r5.text}`,
    '400 {"error":"Failed to extract firmware: Failed to read firmware data: Error parsing `multipart/form-data` request"}',
  );
  const truncated = multipart([{ name: 'firmware', data: 'abc', filename: 'fw.bin' }]);
  const r6 = await d.req('POST', '/flash', {
    ...truncated,
    body: truncated.body.subarray(0, truncated.body.length - 12),
  });
  t.equal(r6.status, 400, 'a part cut short');
  t.match(r6.text, /Failed to extract firmware: Failed to read (firmware data|multipart field)/);
  // Files that are no firmware: refused before any DFU transaction.
  const refused = async (data: Buffer): Promise<string> => {
    const r = await d.req('POST', '/flash', multipart([{ name: 'firmware', data, filename: 'fw.bin' }]));
    return `${r.status} ${r.text}`;
  };
  t.equal(
    await refused(Buffer.from('pi\n')),
    '400 {"error":"Not a HALPI2 firmware image: this is a text file"}',
    '/etc/hostname',
  );
  const real = firmwareImage({ bytes: 64 * 1024 });
  t.equal(
    await refused(real.subarray(0, 16 * 1024)),
    '400 {"error":"Firmware image is truncated: its NMI vector 0x10016fe1 points past its end (16384 bytes, up to 0x1000b000)"}',
  );
  t.equal(
    await refused(firmwareImage({ bytes: 600 * 1024 })),
    '400 {"error":"Firmware image is too large: 614400 bytes (the controller takes at most 524288)"}',
  );
  t.match(d.logs(), /Firmware image refused: Not a HALPI2 firmware image: this is a text file/, 'the daemon logs why');
  t.notMatch(d.logs(), /Starting firmware update/, 'no DFU transfer started');
  await d.req('POST', '/sim/faults', json({ kind: 'nack', registers: [0x40], count: 0 }));
  const r7 = await d.req('POST', '/flash', multipart([{ name: 'firmware', data: real, filename: 'fw.bin' }]));
  t.equal(`${r7.status} ${r7.text}`, '500 {"error":"Failed to upload firmware: Failed to write to register 0x40"}');
  await d.req('DELETE', '/sim/faults');

  // A flash that succeeds, with a blackout in the middle: the blackout still shuts down. Each
  // block write (0x43) is stretched to a second until the test lifts it, so the flash is surely
  // still running when the poweroff comes, however slow the machine.
  t.equal(
    (
      await d.req(
        'POST',
        '/sim/faults',
        json({ kind: 'stretch', op: 'write', registers: [0x43], count: 0, delay_ms: 1000 }),
      )
    ).status,
    201,
  );
  const image = firmwareImage({ bytes: 12 * 4096 + 100 });
  const flashing = d.req(
    'POST',
    '/flash',
    multipart([
      { name: 'skipped', data: 'x' },
      { name: 'firmware', data: image, filename: 'fw.bin' },
      { name: 'after', data: 'y' },
    ]),
  );
  await d.waitLog(/Starting firmware update \(49252 bytes, 13 blocks\)/);
  await d.req('POST', '/sim/power', json({ on: false }));
  t.ok(await until(() => read(marker) === 'off\n', 30_000), 'poweroff ran during the flash');
  t.match((await d.req('GET', '/metrics')).text, /^halpi_flash_in_progress 1$/m, 'the flash was still running then');
  await d.req('DELETE', '/sim/faults');
  const r = await flashing;
  t.equal(r.status, 204, `the flash completed: ${r.text}`);
  t.match(d.logs(), /Firmware update committed; it takes effect after the next full power cycle/);
  const logs = d.logs();
  t.ok(
    logs.indexOf('initiating shutdown') < logs.indexOf('Firmware update committed'),
    'shutdown began before the flash ended',
  );
  t.equal(JSON.parse((await d.req('GET', '/sim')).text).controller.pending_swap, true);
});
