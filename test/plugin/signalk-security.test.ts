// With tokensecurity on (an admin, a read-only user, read-only access for anonymous users), on a
// real signalk-server 2.23.0: the plugin's PUTs (USB, settings, standby, shutdown) work for the
// admin and are refused for read-only and anonymous users, and so are the plugin's own routes
// under /plugins/signalk-halpi2/ — nothing of ours opens a path around the server's security.
import t from 'tap';
import { startSignalK, type SignalK } from '../helpers/signalk-server.js';

const P = '/signalk/v1/api/vessels/self/electrical/halpi';
let sk: SignalK;
let reader: string;

t.before(async () => {
  sk = await startSignalK(
    { mode: 'simulator', pollInterval: 500, engine: { poweroffCommand: 'true' }, control: { power: true } },
    { security: true },
  );
  reader = await sk.login('reader');
  await sk.waitFor('electrical.halpi.usb.port2', (v) => v === true);
});
t.teardown(() => sk?.stop());

const refused = (status: number) => status === 401 || status === 403;

t.test('anonymous users may read', async (t) => {
  const v = await sk.get(`${P}/dcInputVoltage/value`, '');
  t.equal(v.status, 200);
  t.equal(typeof v.body, 'number');
});

const writes: Array<[string, unknown]> = [
  ['usb/port2', false],
  ['config/ledBrightness', 0.5],
  ['commands/standby', { confirm: 'standby', delay: 3600 }],
  ['commands/shutdown', { confirm: 'shutdown' }],
];

t.test('read-only and anonymous users: every PUT refused, nothing changes', async (t) => {
  for (const [path, value] of writes) {
    for (const [who, token] of [
      ['read-only', reader],
      ['anonymous', ''],
    ] as const) {
      const res = await sk.send('PUT', `${P}/${path}`, { value }, token);
      t.ok(refused(res.status), `${who} PUT ${path}: ${res.status}`);
    }
  }
  const sim = await sk.get('/plugins/signalk-halpi2/sim');
  t.equal(sim.status, 200, 'the admin reads the simulator');
  t.equal(sim.body.controller.usb & 4, 4, 'USB port 2 still on');
  t.equal(sim.body.controller.state, 'OperationalCoOp', 'no shutdown, no standby');
});

t.test('the plugin routes: admin only', async (t) => {
  for (const [who, token] of [
    ['read-only', reader],
    ['anonymous', ''],
  ] as const) {
    t.ok(refused((await sk.get('/plugins/signalk-halpi2/sim', token)).status), `${who} GET /sim`);
    t.ok(
      refused((await sk.send('POST', '/plugins/signalk-halpi2/sim/power', { on: false }, token)).status),
      `${who} POST /sim/power`,
    );
    t.ok(refused((await sk.get('/plugins/signalk-halpi2/config', token)).status), `${who} GET the plugin's settings`);
    t.ok(
      refused((await sk.send('POST', '/plugins/signalk-halpi2/config', { enabled: false }, token)).status),
      `${who} POST the plugin's settings`,
    );
  }
  t.equal(
    (await sk.get('/plugins/signalk-halpi2/sim')).body.controller.state,
    'OperationalCoOp',
    'the power was not cut',
  );
});

t.test('the admin: USB, a setting, then the shutdown', async (t) => {
  const usb = await sk.send('PUT', `${P}/usb/port2`, { value: false });
  t.equal(usb.status, 200, JSON.stringify(usb.body));
  await sk.waitFor('electrical.halpi.usb.port2', (v) => v === false);
  const led = await sk.send('PUT', `${P}/config/ledBrightness`, { value: 0.5 });
  t.equal(led.status, 200, JSON.stringify(led.body));
  await sk.waitFor('electrical.halpi.config.ledBrightness', (v) => Math.abs(v - 128 / 255) < 1e-9);
  const off = await sk.send('PUT', `${P}/commands/shutdown`, { value: { confirm: 'shutdown' } });
  t.equal(off.status, 200, JSON.stringify(off.body));
  const n = await sk.waitFor('notifications.electrical.halpi.shutdown', (x) => x?.state === 'alert');
  t.equal(n.message, 'HALPI2 shutdown requested');
});
