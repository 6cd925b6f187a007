// The HaLOS arrangement end to end (docs/signalk.md): halpid, as root, makes its socket
// root:960 mode 0660 in a directory standing in for /run/halpid; signalk-server 2.23.0 runs as
// uid 1000 with the supplementary group 960 and nothing else (as in HaLOS's container), with
// tokensecurity, an admin and read-only access. The plugin in `auto` finds halpid through the
// group and runs as its client; a power cut restored before the limit goes from the alarm back
// to normal with nothing stale; the admin's PUTs reach halpid, read-only and anonymous ones do not.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { startSignalK, type SignalK } from '../helpers/signalk-server.js';
import { tempDir } from '../helpers/tmp.js';

const UID = 1000;
const GROUP = 960;
const P = '/signalk/v1/api/vessels/self/electrical/halpi';
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const skip =
  process.getuid?.() !== 0
    ? 'needs root (another uid for Signal K, group 960 on the socket)'
    : !has('setpriv')
      ? 'needs setpriv (util-linux)'
      : false;

// The stand-in for /run: traversable by everyone, as /run is; halpid creates halpid/ in it.
const run = tempDir('halpi2-halos-run-');
chmodSync(run, 0o755);
const socket = join(run, 'halpid', 'halpid.sock');
// As HaLOS's container runs it: uid 1000, group 960 and no other, no capabilities.
const asServer = [
  'setpriv',
  '--reuid',
  String(UID),
  '--regid',
  String(UID),
  '--groups',
  String(GROUP),
  '--inh-caps=-all',
];

let halpid: RunningDaemon;
let sk: SignalK;
let reader = '';

t.before(async () => {
  if (skip) return;
  // A numeric gid: HaLOS's group 960 need not exist in this machine's /etc/group.
  halpid = await startDaemon(['--socket', socket, '--socket-group', String(GROUP), '--blackout-time-limit', '600']);
  // uid 1000 may have no passwd entry here: a HOME of its own, and the configuration directory
  // handed over (-h: the plugin's link into this checkout stays as it is).
  const home = tempDir('halpi2-halos-home-');
  execFileSync('chown', [`${UID}:${UID}`, home]);
  sk = await startSignalK(
    {
      mode: 'auto',
      socketPath: socket,
      pollInterval: 200,
      engine: { poweroffCommand: 'true' },
      control: { power: true },
    },
    {
      security: true,
      prepare: (dir) => execFileSync('chown', ['-R', '-h', `${UID}:${UID}`, dir]),
      wrap: [...asServer, 'env', `HOME=${home}`],
    },
  );
  reader = await sk.login('reader');
});
t.teardown(async () => {
  await sk?.stop();
  await halpid?.stop();
});

t.test('the socket: root:960, 0660; closed to uid 1000 without the group', { skip }, async (t) => {
  const st = statSync(socket);
  t.equal(st.mode & 0o777, 0o660, 'mode 0660');
  t.equal(st.gid, GROUP, 'group 960');
  t.equal(st.uid, 0, 'owned by root');
  const probe = `require('net').connect(${JSON.stringify(socket)}).on('connect',()=>process.exit(0)).on('error',(e)=>{console.log(e.code);process.exit(1)})`;
  const without = spawnSync(
    'setpriv',
    ['--reuid', String(UID), '--regid', String(UID), '--clear-groups', process.execPath, '-e', probe],
    { encoding: 'utf8' },
  );
  t.equal(without.stdout.trim(), 'EACCES', 'the group is what lets the server in');
  const withGroup = spawnSync(asServer[0]!, [...asServer.slice(1), process.execPath, '-e', probe], {
    encoding: 'utf8',
  });
  t.equal(withGroup.status, 0, `uid 1000 with group 960 connects ${withGroup.stdout}`);
});

t.test('the server runs as uid 1000; the plugin in auto finds halpid and is its client', { skip }, async (t) => {
  const status = readFileSync(`/proc/${sk.pid}/status`, 'utf8');
  t.match(status, new RegExp(`^Uid:\\s+${UID}\\s+${UID}\\s`, 'm'), 'the server runs as uid 1000');
  t.match(status, new RegExp(`^Groups:\\s+${GROUP}\\s*$`, 'm'), 'with the supplementary group 960 only');
  t.equal(await sk.waitFor('electrical.halpi.mode', (m) => m === 'client'), 'client');
  const c = await sk.waitFor('notifications.electrical.halpi.connection', (n) => n?.state === 'normal');
  t.match(c.message, /^Connected to halpid /);
  t.equal(await sk.waitFor('electrical.halpi.daemonState', (s) => s === 'OK'), 'OK');
  const v = await sk.waitFor('electrical.halpi.dcInputVoltage', (x) => typeof x === 'number');
  t.ok(v > 11, `input voltage ${v} V from halpid`);
});

t.test('a power cut restored before the limit: the alarm, then normal, nothing stale', { skip }, async (t) => {
  await sk.waitFor('notifications.electrical.halpi.blackout', (n) => n?.state === 'normal');
  t.equal((await halpid.req('POST', '/sim/power', json({ on: false }))).status, 204);
  const alarm = await sk.waitFor('notifications.electrical.halpi.blackout', (n) => n?.state === 'alarm');
  t.match(alarm.message, /^HALPI2 input power lost, running on supercap/);
  t.equal(await sk.waitFor('electrical.halpi.daemonState', (s) => s === 'BLACKOUT'), 'BLACKOUT');
  const cut = await sk.waitFor('electrical.halpi.dcInputVoltage', (x) => typeof x === 'number' && x < 5);
  t.ok(cut < 5, `the input voltage falls (${cut} V)`);
  t.equal((await halpid.req('POST', '/sim/power', json({ on: true }))).status, 204);
  const normal = await sk.waitFor('notifications.electrical.halpi.blackout', (n) => n?.state === 'normal');
  t.equal(normal.message, 'HALPI2 input power OK');
  t.equal(await sk.waitFor('electrical.halpi.daemonState', (s) => s === 'OK'), 'OK');
  const back = await sk.waitFor('electrical.halpi.dcInputVoltage', (x) => typeof x === 'number' && x > 11);
  t.ok(back > 11, `the input voltage is back (${back} V)`);
  // What the owner's apps read now: every notification of ours normal, the state current.
  const notes = await sk.get('/signalk/v1/api/vessels/self/notifications/electrical/halpi');
  t.equal(notes.status, 200);
  for (const [name, n] of Object.entries(
    notes.body as Record<string, { value?: { state?: string; message?: string } }>,
  )) {
    t.equal(n.value?.state, 'normal', `${name}: ${n.value?.message}`);
  }
  t.equal((await sk.get(`${P}/daemonState/value`)).body, 'OK');
  t.equal((await sk.get(`${P}/powerState/value`)).body, 'OperationalCoOp');
});

const refused = (status: number) => status === 401 || status === 403;

t.test("PUTs: read-only and anonymous refused, nothing reaches halpid; the admin's go through", { skip }, async (t) => {
  const usbBefore = JSON.parse((await halpid.req('GET', '/usb/2')).text);
  t.equal(usbBefore, true, 'USB port 2 on to begin with');
  const writes: Array<[string, unknown]> = [
    ['usb/port2', false],
    ['config/ledBrightness', 0.5],
    ['commands/standby', { confirm: 'standby', delay: 3600 }],
    ['commands/shutdown', { confirm: 'shutdown' }],
  ];
  for (const [path, value] of writes) {
    for (const [who, token] of [
      ['read-only', reader],
      ['anonymous', ''],
    ] as const) {
      const res = await sk.send('PUT', `${P}/${path}`, { value }, token);
      t.ok(refused(res.status), `${who} PUT ${path}: ${res.status}`);
    }
  }
  t.equal(JSON.parse((await halpid.req('GET', '/usb/2')).text), true, 'USB port 2 still on');
  t.match((await halpid.req('GET', '/sim')).text, /"state":"OperationalCoOp"/, 'no shutdown, no standby');
  const usb = await sk.send('PUT', `${P}/usb/port2`, { value: false });
  t.equal(usb.status, 200, JSON.stringify(usb.body));
  t.equal(JSON.parse((await halpid.req('GET', '/usb/2')).text), false, 'halpid switched the port');
  await sk.waitFor('electrical.halpi.usb.port2', (x) => x === false);
  const led = await sk.send('PUT', `${P}/config/ledBrightness`, { value: 0.5 });
  t.equal(led.status, 200, JSON.stringify(led.body));
  await sk.waitFor('electrical.halpi.config.ledBrightness', (v) => Math.abs(v - 128 / 255) < 1e-9);
});
