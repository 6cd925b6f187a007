// End to end with a real signalk-server 2.23.0, the plugin in simulator mode: values with units
// over REST and WebSocket, a USB switch by PUT, the blackout alarm raised through the plugin's
// simulator route, its emergency at the limit and the simulated poweroff; power PUTs refused
// while control.power is off.
import t from 'tap';
import { startSignalK, type SignalK } from '../helpers/signalk-server.js';

const P = '/signalk/v1/api/vessels/self/electrical/halpi';
let sk: SignalK;

t.before(async () => {
  sk = await startSignalK({
    mode: 'simulator',
    pollInterval: 200,
    engine: { blackoutTimeLimit: 3, poweroffCommand: 'true' },
  });
});
t.teardown(() => sk?.stop());

t.test('the input voltage arrives with its metadata', async (t) => {
  const v = await sk.waitFor('electrical.halpi.dcInputVoltage', (x) => typeof x === 'number');
  t.ok(v > 9 && v < 32, `a plausible input voltage (${v} V)`);
  const meta = await sk.get(`${P}/dcInputVoltage/meta`);
  t.equal(meta.status, 200);
  t.equal(meta.body.units, 'V');
  t.equal(meta.body.displayName, 'HALPI2 input voltage');
  const leaf = await sk.get(`${P}/dcInputVoltage`);
  t.equal(leaf.body.$source, 'signalk-halpi2', 'the plugin id is the source');
  t.equal((await sk.get(`${P}/mode/value`)).body, 'simulator');
});

t.test('PUT a USB port: 200, the simulated port switches, the value is published; a bad value is 400', async (t) => {
  await sk.waitFor('electrical.halpi.usb.port0', (x) => x === true);
  const res = await sk.send('PUT', `${P}/usb/port0`, { value: false });
  t.equal(res.status, 200, JSON.stringify(res.body));
  t.equal(res.body.state, 'COMPLETED');
  await sk.waitFor('electrical.halpi.usb.port0', (x) => x === false);
  const sim = await sk.get('/plugins/signalk-halpi2/sim');
  t.equal(sim.status, 200);
  t.equal(sim.body.controller.usb & 1, 0, 'the simulated port 0 is off');
  const bad = await sk.send('PUT', `${P}/usb/port0`, { value: 'off' });
  t.equal(bad.status, 400);
  t.equal(bad.body.message, 'electrical.halpi.usb.port0 must be true or false');
  t.equal((await sk.get(`${P}/usb/port0/meta`)).body.supportsPut, true);
});

t.test('a controller temperature above the alarm zone: the server raises the notification', async (t) => {
  const res = await sk.send('PUT', '/plugins/signalk-halpi2/sim/inputs', { T_mcu: 273.15 + 90, hold: true });
  t.equal(res.status, 204);
  const n = await sk.waitFor('notifications.electrical.halpi.mcuTemperature', (x) => x?.state === 'alarm');
  t.equal(n.message, 'HALPI2 controller temperature too high');
  t.equal(
    (await sk.send('PUT', '/plugins/signalk-halpi2/sim/inputs', { T_mcu: 273.15 + 40, hold: false })).status,
    204,
  );
  await sk.waitFor('notifications.electrical.halpi.mcuTemperature', (x) => x?.state === 'normal');
});

t.test('shutdown and standby are refused while control.power is off', async (t) => {
  const res = await sk.send('PUT', `${P}/commands/shutdown`, { value: { confirm: 'shutdown' } });
  t.equal(res.status, 405);
  t.equal((await sk.send('PUT', `${P}/commands/standby`, { value: { confirm: 'standby', delay: 60 } })).status, 405);
});

t.test('a power cut through the sim route: alarm, emergency at the limit, the poweroff simulated', async (t) => {
  const N = 'notifications.electrical.halpi.blackout';
  await sk.waitFor(N, (n) => n?.state === 'normal');
  const cut = await sk.send('POST', '/plugins/signalk-halpi2/sim/power', { on: false });
  t.equal(cut.status, 204);
  const alarm = await sk.waitFor(N, (n) => n?.state === 'alarm');
  t.match(alarm.message, /^HALPI2 input power lost, running on supercap \(V_cap [0-9.]+ V(, shutdown in \d s)?\)$/);
  t.same(alarm.method, ['visual', 'sound']);
  const emergency = await sk.waitFor(N, (n) => n?.state === 'emergency');
  t.equal(emergency.message, 'HALPI2 is shutting down after input power loss');
  await sk.waitFor('electrical.halpi.daemonState', (s) => s === 'SHUTDOWN' || s === 'DEAD');
  // The poweroff command is simulated: the simulated host halts, so the controller goes quiet.
  await sk.waitFor('electrical.halpi.dcInputVoltage', (v) => v === null);
  const notes = await sk.get('/signalk/v1/api/vessels/self/notifications/electrical/halpi/connection/value');
  t.equal(notes.body.state, 'alert', 'the connection notification says the controller does not answer');
  t.match(notes.body.message, /^Simulated HALPI2 controller not responding: /);
});

t.test('unknown sim paths are 404', async (t) => {
  const res = await sk.get('/plugins/signalk-halpi2/sim/nothing');
  t.equal(res.status, 404);
});

t.test('disabling the plugin publishes the stop values; its sim routes then answer 503', async (t) => {
  const res = await sk.send('POST', '/plugins/signalk-halpi2/config', {
    enabled: false,
    configuration: { mode: 'simulator' },
  });
  t.equal(res.status, 200);
  const n = await sk.waitFor(
    'notifications.electrical.halpi.blackout',
    (x) => x?.message === 'HALPI2 monitoring stopped',
  );
  t.equal(n.state, 'normal');
  t.equal((await sk.get(`${P}/usb/port0/value`)).body, null, 'no frozen values');
  const sim = await sk.get('/plugins/signalk-halpi2/sim');
  t.equal(sim.status, 503);
  t.same(sim.body, { error: 'Plugin is not running' });
});
