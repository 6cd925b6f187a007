// The real halpi (the bundle dist/bin/halpi.cjs) against halpid --simulate on a temporary socket
// (docs/cli.md; issue: every command, human and --json, errors and exit codes).
import t from 'tap';
import { STATUS_EXAMPLE } from '../helpers/fixtures.js';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYSTEMD_UNITS } from '../../engine/paths.js';
import { VERSION } from '../../engine/version.js';
import { HALPI, json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { EXAMPLE_INPUTS } from '../helpers/physical.js';
import { firmwareImage } from '../helpers/firmware.js';
import { tempDir } from '../helpers/tmp.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function halpi(args: string[], env: NodeJS.ProcessEnv = {}, socket?: string): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [HALPI, ...args], {
      env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '', HALPI_SOCKET: socket ?? d.socket, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    p.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let d: RunningDaemon;
t.before(async () => {
  d = await startDaemon();
  await d.req('PUT', '/sim/inputs', json(EXAMPLE_INPUTS));
});
t.teardown(() => d.stop());

t.test('status: the table of docs/cli.md, and --json', async (t) => {
  t.equal((await halpi(['usb', 'disable', '2'])).stdout, 'USB port 2 disabled\n');
  const r = await halpi(['status']);
  t.equal(r.code, 0);
  t.equal(r.stdout, STATUS_EXAMPLE);
  t.notMatch(r.stdout, /\u001b/, 'no escape codes off a TTY');
  const j = await halpi(['status', '--json']);
  t.match(
    j.stdout,
    /^\{"values":\{"5v_output_enabled":true,.*"watchdog_timeout":10\.0\},"usb":\{"usb0":true,"usb1":true,"usb2":false,"usb3":true\}\}\n$/,
  );
  t.equal(j.stdout.split('\n').length, 2, 'one line');
  t.equal((await halpi(['usb', 'enable', '2'])).code, 0);
});

t.test('version and get', async (t) => {
  t.equal((await halpi(['version'])).stdout, `halpi version ${VERSION}\nhalpid version ${VERSION}\n`);
  const away = await halpi(['version'], {}, '/nonexistent/h.sock');
  t.equal(away.code, 0, 'no daemon is no failure');
  t.match(
    away.stdout,
    new RegExp(
      `^halpi version ${VERSION.replace(/\./g, '\\.')}\nhalpid version unknown: Failed to connect to daemon: /nonexistent/h.sock does not exist`,
    ),
  );
  t.equal((await halpi(['-V'])).stdout, `halpi ${VERSION}\n`);
  t.equal((await halpi(['version', '--json'])).stdout, `{"cli_version":"${VERSION}","daemon_version":"${VERSION}"}\n`);
  t.equal(
    (await halpi(['version', '--json'], {}, '/nonexistent/h.sock')).stdout,
    `{"cli_version":"${VERSION}","daemon_version":null}\n`,
  );
  const fw = await halpi(['get', 'firmware_version']);
  t.same([fw.code, fw.stdout, fw.stderr], [0, '3.3.1\n', ''], 'what the firmware package relies on');
  t.equal((await halpi(['get', 'V_in'])).stdout, '12.20703125\n', 'numbers exactly as the daemon wrote them');
  t.equal((await halpi(['get', 'watchdog_timeout'])).stdout, '10.0\n');
  t.equal((await halpi(['get', 'V_supercap'])).stdout, '10.2386474609375\n', 'V_supercap falls back to V_cap');
  t.equal((await halpi(['get', 'watchdog_enabled'])).stdout, 'true\n');
  t.equal((await halpi(['get', 'state', '--json'])).stdout, '"OperationalCoOp"\n');
  const bad = await halpi(['get', 'nope']);
  t.same([bad.code, bad.stdout, bad.stderr], [1, '', 'Error: Request failed (404 Not Found): Unknown key: nope\n']);
  const jbad = await halpi(['--json', 'get', 'nope']);
  t.equal(jbad.stderr, '{"error":"Request failed (404 Not Found): Unknown key: nope"}\n');
});

t.test('config, config get, config set', async (t) => {
  const c = await halpi(['config']);
  t.equal(
    c.stdout,
    `
watchdog_timeout                            10
power_on_threshold                           8
solo_power_off_threshold                   5.5
led_brightness                              48
auto_restart                              true
solo_depleting_timeout                       5

`,
  );
  t.match(
    (await halpi(['config', '--json'])).stdout,
    /^\{"auto_restart":true,"led_brightness":48,.*"watchdog_timeout":10\.0\}\n$/,
  );
  const set = await halpi(['config', 'set', 'led_brightness', '40']);
  t.same([set.code, set.stdout], [0, "Configuration 'led_brightness' set to: 40\n"]);
  t.equal((await halpi(['config', 'get', 'led_brightness'])).stdout, '40\n');
  t.equal((await halpi(['config', 'get', 'power_on_threshold'])).stdout, '8\n');
  const f = await halpi(['config', 'set', 'led_brightness', '40.0']);
  t.same(
    [f.code, f.stderr],
    [1, 'Error: Request failed (400 Bad Request): Invalid value type\n'],
    '40.0 stays a float',
  );
  t.equal((await halpi(['config', 'set', 'auto_restart', 'FALSE'])).code, 0);
  t.equal((await halpi(['config', 'get', 'auto_restart'])).stdout, 'false\n');
  t.equal(
    (await halpi(['config', 'set', 'watchdog_timeout', '10.5', '--json'])).stdout,
    '{"status":"ok","key":"watchdog_timeout","value":10.5}\n',
  );
  t.equal((await halpi(['config', 'get', 'watchdog_timeout', '--json'])).stdout, '10.5\n');
  // What the controller holds is printed, read back after the write: not what was typed.
  t.equal(
    (await halpi(['config', 'set', 'watchdog_timeout', '10.0009'])).stdout,
    "Configuration 'watchdog_timeout' set to: 10\n",
    'whole milliseconds',
  );
  t.equal(
    (await halpi(['config', 'set', 'power_on_threshold', '8.3', '--json'])).stdout,
    '{"status":"ok","key":"power_on_threshold","value":8.299850463867188}\n',
  );
  t.equal(
    (await halpi(['config', 'set', 'watchdog_timeout', 'off'])).stdout,
    "Configuration 'watchdog_timeout' set to: 0\n",
  );
  await halpi(['config', 'set', 'watchdog_timeout', '10']);
  await halpi(['config', 'set', 'power_on_threshold', '8']);
  await halpi(['config', 'set', 'auto_restart', 'true']);
  await halpi(['config', 'set', 'led_brightness', '48']);
  const nf = await halpi(['config', 'get', 'nope']);
  t.same([nf.code, nf.stderr], [1, "Error: Configuration key 'nope' not found\n"]);
});

t.test('config while the controller does not answer: an error, not its fallback zeros', async (t) => {
  await d.req('POST', '/sim/faults', json({ kind: 'nack', count: 0 }));
  try {
    const c = await halpi(['config']);
    t.same([c.code, c.stdout], [1, ''], 'no table of zeros');
    t.match(c.stderr, /^Error: The controller is not answering \(.+\): its settings cannot be read\n$/);
    const g = await halpi(['config', 'get', 'watchdog_timeout']);
    t.same([g.code, g.stderr], [1, "Error: Could not read 'watchdog_timeout': the controller is not answering\n"]);
  } finally {
    await d.req('DELETE', '/sim/faults');
  }
  t.equal((await halpi(['config', 'get', 'watchdog_timeout'])).stdout, '10\n', 'read again once it answers');
});

t.test('config set refuses a value out of range before writing anything', async (t) => {
  const before = (await halpi(['config', '--json'])).stdout;
  const refused = async (key: string, value: string): Promise<[number | null, string, string]> => {
    const r = await halpi(['config', 'set', key, value]);
    return [r.code, r.stdout, r.stderr];
  };
  t.same(
    await refused('led_brightness', '300'),
    [2, '', 'Error: led_brightness must be an integer from 0 to 255: 300\n'],
    'not 300 mod 256 = 44',
  );
  t.same(await refused('led_brightness', '-1'), [
    2,
    '',
    'Error: led_brightness must be an integer from 0 to 255: -1\n',
  ]);
  t.same(await refused('led_brightness', '12.5'), [
    2,
    '',
    'Error: led_brightness must be an integer from 0 to 255: 12.5\n',
  ]);
  t.same(await refused('watchdog_timeout', '5'), [
    2,
    '',
    'Error: watchdog_timeout must be 0 (off) or a number from 10 to 65.535 s: 5\n',
  ]);
  t.same(await refused('watchdog_timeout', '65.536'), [
    2,
    '',
    'Error: watchdog_timeout must be 0 (off) or a number from 10 to 65.535 s: 65.536\n',
  ]);
  t.same(await refused('power_on_threshold', '4.9'), [
    2,
    '',
    'Error: power_on_threshold must be a number from 5 to 10 V: 4.9\n',
  ]);
  t.same(await refused('power_on_threshold', '10.5'), [
    2,
    '',
    'Error: power_on_threshold must be a number from 5 to 10 V: 10.5\n',
  ]);
  t.same(await refused('solo_power_off_threshold', '4.4'), [
    2,
    '',
    'Error: solo_power_off_threshold must be a number from 4.5 to 10 V: 4.4\n',
  ]);
  t.same(await refused('solo_depleting_timeout', '61'), [
    2,
    '',
    'Error: solo_depleting_timeout must be a number from 0 to 60 s: 61\n',
  ]);
  t.same(await refused('auto_restart', '1'), [2, '', 'Error: auto_restart must be true or false: 1\n']);
  t.same(await refused('led_brightness', 'bright'), [
    2,
    '',
    'Error: led_brightness must be an integer from 0 to 255: bright\n',
  ]);
  t.equal((await halpi(['config', '--json'])).stdout, before, 'the controller holds what it held');
  const edge = await halpi(['config', 'set', 'led_brightness', '255']);
  t.same(
    [edge.code, edge.stdout],
    [0, "Configuration 'led_brightness' set to: 255\n"],
    'the ends of a range are allowed',
  );
  await halpi(['config', 'set', 'led_brightness', '48']);
});

t.test('usb', async (t) => {
  t.equal((await halpi(['usb', 'disable', '2'])).code, 0);
  t.equal(
    (await halpi(['usb'])).stdout,
    '\nUSB Port States:\n  Port 0: enabled\n  Port 1: enabled\n  Port 2: disabled\n  Port 3: enabled\n\n',
  );
  t.equal((await halpi(['usb', 'get'])).stdout, (await halpi(['usb'])).stdout);
  t.equal((await halpi(['usb', 'disable', 'all'])).stdout, 'All USB ports disabled\n');
  t.equal((await halpi(['usb', '--json'])).stdout, '{"usb0":false,"usb1":false,"usb2":false,"usb3":false}\n');
  t.equal(
    (await halpi(['usb', 'enable', 'all', '--json'])).stdout,
    '{"usb0":true,"usb1":true,"usb2":true,"usb3":true}\n',
  );
  const bad = await halpi(['usb', 'enable', '4']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^Error: Invalid port number: 4\. Must be 0-3 or 'all'\n/);
});

t.test('flash: progress and success; a missing file fails before any request', async (t) => {
  const dir = tempDir('halpi-');
  const file = join(dir, 'fw.bin');
  writeFileSync(file, firmwareImage({ bytes: 6000 }));
  const r = await halpi(['flash', file]);
  t.equal(r.code, 0, r.stderr);
  t.equal(
    r.stdout,
    `Reading firmware file: ${file}\nFirmware size: 6000 bytes\nUploading firmware to device...\nFirmware uploaded successfully\nThe new firmware takes effect after the next full power cycle (sudo shutdown -h now).\n`,
  );
  t.match(r.stderr, /Erasing\n/, 'progress lines off a TTY');
  t.match(r.stderr, /Writing block 1\/2\nWriting block 2\/2\nVerifying\n/);
  t.notMatch(r.stderr, /\u001b/);
  const j = await halpi(['flash', file, '--json']);
  t.same([j.code, j.stdout, j.stderr], [0, `{"status":"ok","file":"${file}","bytes":6000}\n`, '']);
  // The socket does not exist: a file error proves no request was attempted.
  const missing = await halpi(['flash', join(dir, 'none.bin')], {}, '/nonexistent/h.sock');
  t.same([missing.code, missing.stderr], [1, `Error: Firmware file not found: ${join(dir, 'none.bin')}\n`]);
  // Files that are no firmware image, refused before any request (again: the socket does not exist).
  const refused = async (name: string, data: Buffer | string): Promise<[number | null, string, string]> => {
    writeFileSync(join(dir, name), data);
    const r = await halpi(['flash', join(dir, name)], {}, '/nonexistent/h.sock');
    return [r.code, r.stdout, r.stderr];
  };
  t.same(
    await refused('hostname', 'pi\n'),
    [1, '', 'Error: Not a HALPI2 firmware image: this is a text file\n'],
    'the 3 bytes of /etc/hostname',
  );
  t.same(await refused('empty.bin', ''), [1, '', 'Error: Firmware file is empty\n']);
  t.same(await refused('cut.bin', firmwareImage({ bytes: 64 * 1024 }).subarray(0, 40_000)), [
    1,
    '',
    'Error: Firmware image is truncated: its NMI vector 0x10016fe1 points past its end (40000 bytes, up to 0x10010c40)\n',
  ]);
  t.same(await refused('big.bin', Buffer.concat([firmwareImage({ bytes: 512 * 1024 }), Buffer.alloc(4096)])), [
    1,
    '',
    'Error: Firmware image is too large: 528384 bytes (the controller takes at most 524288)\n',
  ]);
  t.equal((await halpi(['flash', dir], {}, '/nonexistent/h.sock')).stderr, `Error: Path is not a file: ${dir}\n`);
  await d.req('POST', '/sim/faults', json({ kind: 'nack', registers: [0x40], count: 0 }));
  const fail = await halpi(['flash', file]);
  t.same(
    [fail.code, fail.stderr.trim().split('\n').at(-1)],
    [
      1,
      'Error: Firmware upload failed (500 Internal Server Error): Failed to upload firmware: Failed to write to register 0x40',
    ],
  );
  await d.req('DELETE', '/sim/faults');
});

t.test('usage errors exit 2 with the hint; no command prints help', async (t) => {
  const u = await halpi(['stauts']);
  t.equal(u.code, 2);
  t.match(u.stderr, /error: unknown command 'stauts'/);
  t.match(u.stderr, /Run 'halpi --help' for usage\./);
  t.equal((await halpi(['status', '--frob'])).code, 2);
  t.equal((await halpi(['get'])).code, 2, 'missing argument');
  const s = await halpi(['shutdown', '--standby']);
  t.same([s.code, s.stderr.split('\n')[0]], [2, 'error: --standby requires --time <T>']);
  const ti = await halpi(['shutdown', '--time', '60']);
  t.same([ti.code, ti.stderr.split('\n')[0]], [2, 'error: --time can only be used with --standby']);
  const none = await halpi([]);
  t.equal(none.code, 0);
  t.match(none.stdout, /^Usage: halpi/);
  t.equal((await halpi(['--help'])).code, 0);
});

t.test('connection errors: missing socket, nothing listening, permission denied', async (t) => {
  const m = await halpi(['status', '-s', '/nonexistent/h.sock']);
  // The advice depends on whether this machine has a halpid unit (spec'd in test/cli/client.test.ts).
  const hint = SYSTEMD_UNITS.some((u) => existsSync(u))
    ? '(is halpid running? Try: systemctl status halpid)'
    : '(is halpid running? Start it with: halpid, or halpid --simulate to try it without hardware)';
  t.same([m.code, m.stderr], [1, `Error: Failed to connect to daemon: /nonexistent/h.sock does not exist ${hint}\n`]);
  // A stale socket: its daemon was killed.
  const dead = await startDaemon();
  dead.proc.kill('SIGKILL');
  await dead.exited;
  const refused = await halpi(['status'], {}, dead.socket);
  t.equal(refused.stderr, `Error: Failed to connect to daemon: nothing is listening on ${dead.socket} ${hint}\n`);
  if (process.getuid?.() === 0) {
    chmodSync(d.dir, 0o755);
    const denied = await new Promise<Run>((resolve) => {
      // env -u: tap's process tracking would otherwise follow the child and fail to write as nobody.
      const p = spawn(
        'runuser',
        ['-u', 'nobody', '--', 'env', '-u', 'NODE_OPTIONS', process.execPath, HALPI, 'status', '-s', d.socket],
        {
          env: { PATH: process.env.PATH, NO_COLOR: '1', NODE_OPTIONS: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      p.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      p.on('close', (code) => resolve({ code, stdout: '', stderr }));
    });
    const group = execFileSync('stat', ['-c', '%G', d.socket]).toString().trim();
    t.same(
      [denied.code, denied.stderr],
      [
        1,
        `Error: Permission denied on ${d.socket}. Add your user to the '${group}' group (sudo adduser $USER ${group}, then log in again) or use sudo.\n`,
      ],
    );
  }
});

t.test('colours only on a TTY, never with NO_COLOR', async (t) => {
  // `script` gives halpi a terminal.
  const viaTty = (env: string) =>
    execFileSync('script', ['-qec', `${env} ${process.execPath} ${HALPI} -s ${d.socket} usb`, '/dev/null'], {
      env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '' },
    }).toString();
  t.match(viaTty(''), /\u001b\[32menabled\u001b\[0m/, 'green on a terminal');
  t.notMatch(viaTty('NO_COLOR=1'), /\u001b\[/, 'none with NO_COLOR');
});

t.test('shutdown and standby reach the simulated controller', async (t) => {
  const s = await startDaemon(['--poweroff', 'harmless']);
  t.teardown(() => s.stop());
  // The daemon reads its clock between these two readings of ours: the alarm is bracketed exactly.
  const before = Math.floor(Date.now() / 1000);
  const r = await halpi(['shutdown', '--standby', '--time', '600'], {}, s.socket);
  const after = Math.floor(Date.now() / 1000);
  t.same([r.code, r.stdout], [0, 'Standby requested with wakeup in 600 seconds\n']);
  const sim = JSON.parse((await s.req('GET', '/sim')).text);
  t.ok(
    sim.host.rtc_alarm >= before + 600 && sim.host.rtc_alarm <= after + 600,
    `RTC alarm ${sim.host.rtc_alarm}: 600 s after the request (sent at ${before}, answered at ${after})`,
  );
  t.match(s.logs(), /Simulator: not executing rtcwake -m no -t \d+/);
  const dry = await startDaemon(['--dry-run']);
  t.teardown(() => dry.stop());
  t.equal((await halpi(['shutdown'], {}, dry.socket)).stdout, 'Shutdown requested\n');
  t.equal((await halpi(['shutdown', '--json'], {}, dry.socket)).stdout, '{"status":"ok","action":"shutdown"}\n');
  // The next 13 August: within the 366 days a standby may last.
  const year =
    new Date(new Date().getFullYear(), 7, 13).getTime() > Date.now() + 86_400_000
      ? new Date().getFullYear()
      : new Date().getFullYear() + 1;
  t.equal(
    (await halpi(['shutdown', '--standby', '--time', `${year}-08-13 06:00:00`], {}, dry.socket)).stdout,
    `Standby requested with wakeup at ${year}-08-13 06:00:00\n`,
  );
  t.equal(
    (await halpi(['shutdown', '--standby', '--time', '60', '--json'], {}, dry.socket)).stdout,
    '{"status":"ok","action":"standby","delay":60}\n',
  );
  const past = await halpi(['shutdown', '--standby', '--time', '2020-01-01T00:00:00Z'], {}, dry.socket);
  t.same(
    [past.code, past.stderr],
    [1, 'Error: Request failed (400 Bad Request): Wakeup time must be in the future: 2020-01-01T00:00:00Z\n'],
  );
});

t.test('flash on a terminal: a progress bar redrawn in place; Ctrl-C exits 130', async (t) => {
  const dir = tempDir('halpi-');
  const file = join(dir, 'fw.bin');
  writeFileSync(file, firmwareImage({ bytes: 3 * 4096 }));
  const screen = execFileSync(
    'script',
    ['-qec', `${process.execPath} ${HALPI} -s ${d.socket} flash --yes ${file}`, '/dev/null'],
    {
      env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '' },
    },
  ).toString();
  t.match(screen, /\r\u001b\[KWriting {4}\[█{10}░{20}\] {2}33% {2}1\/3 blocks/, 'bar: 30 cells, percent, blocks');
  t.match(screen, /\r\u001b\[KVerifying/);
  t.match(screen, /Firmware uploaded successfully/);
  const p = spawn(process.execPath, [HALPI, '-s', d.socket, 'flash', file], {
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  // The SIGINT handler is installed before the upload starts: once the daemon reports the erase
  // (progress lines off a TTY), the handler is in place and the flash has seconds left to run.
  const erasing = new Promise<void>((resolve, reject) => {
    p.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (/^Erasing$/m.test(stderr)) resolve();
    });
    p.on('close', (code) => reject(new Error(`halpi flash exited (${code}) before erasing:\n${stderr}`)));
  });
  await erasing;
  p.kill('SIGINT');
  const code = await new Promise((r) => p.on('close', r));
  t.equal(code, 130);
  t.match(stderr, /Interrupted; the daemon finishes or aborts the update on its own/);
  // The daemon carries on; wait for it so the next flash is not queued behind it.
  for (let i = 0; (await d.req('GET', '/metrics')).text.includes('halpi_flash_in_progress 1'); i++) {
    if (i >= 300) throw new Error('the daemon still flashing 30 s after the Ctrl-C');
    await new Promise((r) => setTimeout(r, 100));
  }
});
