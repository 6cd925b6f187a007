// halpid --config-check: a file written for halpid 4.x or 5.x is checked and the settings halpid
// would run with are printed; warnings go to stderr; errors exit 1 with every problem named.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { HALPID, HALPID_FLAGS } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('halpid-check-');
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const check = (...args: string[]) =>
  spawnSync(process.execPath, [...HALPID_FLAGS, HALPID, '--config-check', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
const settings = (stdout: string) => parse(stdout.split('\n').slice(1).join('\n')) as Record<string, unknown>;

t.test('a valid file: the effective settings, defaults filled in, and exit 0', async (t) => {
  const conf = file('ok.conf', 'blackout-time-limit: 7.5\nsocket-group: halpid\n');
  const r = check('--conf', conf);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  t.match(
    r.stdout,
    new RegExp(
      `^# halpid \\d+\\.\\d+\\.\\d+ would run with these settings \\(from ${conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\):\\n`,
    ),
  );
  const s = settings(r.stdout);
  t.equal(s['blackout-time-limit'], 7.5);
  t.equal(s['socket-group'], 'halpid');
  t.equal(s['blackout-voltage-limit'], 9, 'a default');
  t.equal(s.socket, '/run/halpid/halpid.sock');
});

t.test('a halpid 4.x file (underscore keys, the old socket path) is accepted as it is', async (t) => {
  const conf = file(
    'h4.conf',
    '# halpid 4.0.7\ni2c_bus: 1\ni2c_addr: 0x6D\nblackout_time_limit: 5\nblackout_voltage_limit: 9.0\nsocket: /var/run/halpid.sock\npoweroff: /sbin/poweroff\n',
  );
  const r = check('-c', conf);
  t.equal(r.status, 0, r.stderr);
  const s = settings(r.stdout);
  t.same([s['i2c-bus'], s['i2c-addr'], s['blackout-time-limit'], s.socket], [1, 0x6d, 5, '/var/run/halpid.sock']);
});

t.test('a halpid 5.x file: led-socket is a warning, not an error; flags apply on top', async (t) => {
  const conf = file(
    'h5.conf',
    'i2c-bus: 1\nsocket-group: halpid\nled-socket: /run/halpi-led.sock\nweb-token: hidden\n',
  );
  const r = check('-c', conf, '--blackout-voltage-limit', '10.5', '--web', '0.0.0.0:8080');
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stderr, `halpid: ${conf}:3: warning: unknown key "led-socket" ignored\n`);
  t.match(r.stdout.split('\n')[0], / and the flags\):$/);
  const s = settings(r.stdout);
  t.equal(s['blackout-voltage-limit'], 10.5, 'the flag wins');
  t.equal(s.web, '0.0.0.0:8080');
  t.equal(s['web-token'], '***', 'the secret is not printed');
  t.notMatch(r.stdout, /hidden/);
});

t.test('a broken file: every error with file, line and key; exit 1; nothing on stdout', async (t) => {
  const conf = file('bad.conf', 'i2c-bus: x\nblackout-time-limit: five\nsocket: [1]\ni2c_bus: 2\n');
  const r = check('-c', conf);
  t.equal(r.status, 1);
  t.equal(r.stdout, '');
  t.equal(
    r.stderr,
    [
      `halpid: ${conf}:1: i2c-bus: expected an integer from 0 to 255, got "x"`,
      `halpid: ${conf}:2: blackout-time-limit: expected a number greater than 0 and at most 3600, got "five"`,
      `halpid: ${conf}:3: socket: expected an absolute path, got a list`,
      `halpid: ${conf}:4: i2c_bus: duplicate of i2c-bus on line 1`,
      'halpid: configuration refused (4 errors)',
      '',
    ].join('\n'),
  );
  const missing = check('-c', join(dir, 'none.conf'));
  t.equal(missing.status, 1);
  t.match(missing.stderr, /^Config file not found: .*none\.conf\n/);
});

t.test('the poweroff command: a configured one that cannot run is an error, a default one a warning', async (t) => {
  const missing = check('--backend', 'i2c', '--poweroff', '/nonexistent/poweroff', '--poweroff-fallback', '');
  t.equal(missing.status, 1);
  t.equal(missing.stdout, '');
  t.equal(
    missing.stderr,
    'halpid: poweroff: /nonexistent/poweroff does not exist\nhalpid: configuration refused (1 error)\n',
  );
  // The default fallback is looked up in PATH; without systemctl there it is only a warning,
  // since the machine checked may not be the one halpid will run on.
  const conf = file('fallback.conf', 'poweroff: /bin/true\n');
  const r = spawnSync(process.execPath, [...HALPID_FLAGS, HALPID, '--config-check', '-c', conf, '--backend', 'i2c'], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', PATH: '/nonexistent' },
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(
    r.stderr,
    'halpid: warning: poweroff-fallback: systemctl is not found in PATH (/nonexistent) (the default value)\n',
  );
  t.equal(settings(r.stdout)['poweroff-fallback'], 'systemctl poweroff --force');
  t.equal(settings(r.stdout)['poweroff-timeout'], 15);
});

t.test('commands halpid would not run (the simulator) are not checked', async (t) => {
  const r = check('--backend', 'simulator', '--poweroff', '/nonexistent/poweroff');
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stderr, '');
  const run = check(
    '--backend',
    'simulator',
    '--sim-execute-commands',
    '--poweroff',
    '/nonexistent/poweroff',
    '--poweroff-fallback',
    '',
  );
  t.equal(run.status, 1, 'with sim-execute-commands they run, so they are checked');
});

t.test('nut-user without nut-password: --config-check fails with file, line and key', async (t) => {
  const conf = file('nut.conf', 'nut-listen: 3493\nnut-user: monuser\n');
  const r = check('-c', conf);
  t.equal(r.status, 1);
  t.match(r.stderr, `${conf}:2: nut-user: needs a nut-password`);
});
