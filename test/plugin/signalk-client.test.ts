// End to end with a real signalk-server 2.23.0, the plugin in client mode against a separate
// `halpid --simulate`: the values arrive; when halpid stops, the paths go to null and the
// connection notification is raised; when it starts again, everything recovers. A power cut
// restored before the limit goes alarm → normal, with the daemon state back to OK; one that
// reaches the limit goes to the emergency, the simulated host halts (no values: stale) and
// boots again when the power returns (START, OK): back to normal.
import t from 'tap';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { startSignalK, type SignalK } from '../helpers/signalk-server.js';
import { tempDir } from '../helpers/tmp.js';

const socket = join(tempDir('halpi2-e2e-'), 'halpid.sock');
let halpid: RunningDaemon;
let sk: SignalK;

t.before(async () => {
  halpid = await startDaemon(['--socket', socket, '--blackout-time-limit', '600']);
  sk = await startSignalK({ mode: 'client', socketPath: socket, pollInterval: 200, staleTimeout: 1 });
});
t.teardown(async () => {
  await sk?.stop();
  await halpid?.stop();
});

t.test("values from halpid arrive, with the daemon's identity", async (t) => {
  const v = await sk.waitFor('electrical.halpi.dcInputVoltage', (x) => typeof x === 'number');
  t.ok(v > 9, `input voltage ${v} V`);
  t.equal(await sk.waitFor('electrical.halpi.mode'), 'client');
  t.equal(
    await sk.waitFor('electrical.halpi.daemonVersion'),
    JSON.parse((await halpid.req('GET', '/version')).text).daemon_version,
  );
  t.equal(
    await sk.waitFor('electrical.halpi.daemonState', (s) => s === 'OK'),
    'OK',
    'the daemon state comes with /events',
  );
  const c = await sk.waitFor('notifications.electrical.halpi.connection', (n) => n?.state === 'normal');
  t.match(c.message, /^Connected to halpid /);
});

t.test('a USB PUT goes through halpid', async (t) => {
  const res = await sk.send('PUT', '/signalk/v1/api/vessels/self/electrical/halpi/usb/port3', { value: false });
  t.equal(res.status, 200, JSON.stringify(res.body));
  t.equal(JSON.parse((await halpid.req('GET', '/usb/3')).text), false, 'halpid switched the port');
  await sk.waitFor('electrical.halpi.usb.port3', (x) => x === false);
});

t.test('halpid stops: values go to null and the connection alert is raised; it starts again: recovered', async (t) => {
  await halpid.stop();
  const alert = await sk.waitFor('notifications.electrical.halpi.connection', (n) => n?.state === 'alert');
  t.match(alert.message, new RegExp(`^halpid not reachable at ${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  t.equal(await sk.waitFor('electrical.halpi.dcInputVoltage', (v) => v === null), null);
  t.equal(await sk.waitFor('electrical.halpi.usb.port0', (v) => v === null), null);
  halpid = await startDaemon(['--socket', socket, '--blackout-time-limit', '600']);
  const v = await sk.waitFor('electrical.halpi.dcInputVoltage', (x) => typeof x === 'number');
  t.ok(v > 9, 'values again');
  const c = await sk.waitFor('notifications.electrical.halpi.connection', (n) => n?.state === 'normal');
  t.match(c.message, /^Connected to halpid /);
});

t.test('a power cut restored before the limit: the alarm, then back to normal and OK', async (t) => {
  await sk.waitFor('electrical.halpi.daemonState', (s) => s === 'OK');
  await sk.waitFor('notifications.electrical.halpi.blackout', (n) => n?.state === 'normal');
  t.equal(
    (await halpid.req('POST', '/sim/power', { headers: { 'Content-Type': 'application/json' }, body: '{"on":false}' }))
      .status,
    204,
  );
  const alarm = await sk.waitFor('notifications.electrical.halpi.blackout', (n) => n?.state === 'alarm');
  t.match(alarm.message, /^HALPI2 input power lost, running on supercap/);
  t.equal(await sk.waitFor('electrical.halpi.daemonState', (s) => s === 'BLACKOUT'), 'BLACKOUT');
  t.equal(
    (await halpid.req('POST', '/sim/power', { headers: { 'Content-Type': 'application/json' }, body: '{"on":true}' }))
      .status,
    204,
  );
  const normal = await sk.waitFor('notifications.electrical.halpi.blackout', (n) => n?.state === 'normal');
  t.equal(normal.message, 'HALPI2 input power OK');
  t.equal(await sk.waitFor('electrical.halpi.daemonState', (s) => s === 'OK'), 'OK');
  const v = await sk.waitFor('electrical.halpi.dcInputVoltage', (x) => typeof x === 'number' && x > 11);
  t.ok(v > 11, `input voltage back (${v} V)`);
});

t.test('a power cut that reaches the limit: emergency, the host halts and boots again, back to normal', async (t) => {
  await halpid.stop();
  halpid = await startDaemon(['--socket', socket, '--blackout-time-limit', '1']);
  await sk.waitFor('electrical.halpi.daemonState', (s) => s === 'OK');
  const json = { headers: { 'Content-Type': 'application/json' } };
  t.equal((await halpid.req('POST', '/sim/power', { ...json, body: '{"on":false}' })).status, 204);
  const emergency = await sk.waitFor('notifications.electrical.halpi.blackout', (n) => n?.state === 'emergency');
  t.equal(emergency.message, 'HALPI2 is shutting down after input power loss');
  await halpid.waitLog(/Simulated host powered off/);
  t.equal(
    await sk.waitFor('electrical.halpi.dcInputVoltage', (v) => v === null),
    null,
    'no values while the host is off',
  );
  const silent = await sk.waitFor('notifications.electrical.halpi.connection', (n) => n?.state === 'alert');
  t.equal(
    silent.message,
    `halpid at ${socket} answers but sends no values (it cannot read the controller)`,
    'not "halpid not reachable"',
  );
  t.equal((await halpid.req('POST', '/sim/power', { ...json, body: '{"on":true}' })).status, 204);
  const normal = await sk.waitFor('notifications.electrical.halpi.blackout', (n) => n?.state === 'normal');
  t.equal(normal.message, 'HALPI2 input power OK');
  t.equal(
    await sk.waitFor('electrical.halpi.daemonState', (s) => s === 'OK'),
    'OK',
    'the restarted daemon is OK, not DEAD',
  );
  t.equal(await sk.waitFor('electrical.halpi.powerState', (s) => s === 'OperationalCoOp'), 'OperationalCoOp');
});
