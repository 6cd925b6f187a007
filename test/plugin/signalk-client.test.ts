// End to end with a real signalk-server 2.23.0, the plugin in client mode against a separate
// `halpid --simulate`: the values arrive; when halpid stops, the paths go to null and the
// connection notification is raised; when it starts again, everything recovers.
import t from 'tap';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { startSignalK, type SignalK } from '../helpers/signalk-server.js';
import { tempDir } from '../helpers/tmp.js';

const socket = join(tempDir('halpi2-e2e-'), 'halpid.sock');
let halpid: RunningDaemon;
let sk: SignalK;

t.before(async () => {
  halpid = await startDaemon(['--socket', socket]);
  sk = await startSignalK({ mode: 'client', socketPath: socket, pollInterval: 200, staleTimeout: 1 });
});
t.teardown(async () => {
  await sk?.stop();
  await halpid?.stop();
});

t.test('values from halpid arrive, with the daemon\'s identity', async (t) => {
  const v = await sk.waitFor('electrical.halpi.dcInputVoltage', (x) => typeof x === 'number');
  t.ok(v > 9, `input voltage ${v} V`);
  t.equal(await sk.waitFor('electrical.halpi.mode'), 'client');
  t.equal(await sk.waitFor('electrical.halpi.daemonVersion'), JSON.parse((await halpid.req('GET', '/version')).text).daemon_version);
  t.equal(await sk.waitFor('electrical.halpi.daemonState', (s) => s === 'OK'), 'OK', 'the daemon state comes with /events');
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
  halpid = await startDaemon(['--socket', socket]);
  const v = await sk.waitFor('electrical.halpi.dcInputVoltage', (x) => typeof x === 'number');
  t.ok(v > 9, 'values again');
  const c = await sk.waitFor('notifications.electrical.halpi.connection', (n) => n?.state === 'normal');
  t.match(c.message, /^Connected to halpid /);
});
