// halpid logs each USB and setting change: one info line saying who asked, what, old → new.
import t from 'tap';
import { json, startDaemon } from '../helpers/daemon.js';

t.test('USB and setting changes over the socket are logged, old → new', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.stop());
  t.equal((await d.req('PUT', '/usb/2', json(false))).status, 204);
  t.equal((await d.req('PUT', '/usb', json({ usb0: false, usb3: false }))).status, 204);
  t.equal((await d.req('PUT', '/usb/2', json(false))).status, 204);
  const before = JSON.parse((await d.req('GET', '/config/led_brightness')).text) as number;
  t.equal((await d.req('PUT', '/config/led_brightness', json(before === 40 ? 41 : 40))).status, 200);
  t.equal((await d.req('PUT', '/config/auto_restart', json(false))).status, 200);
  // The last line may still be on its way through the pipe.
  await d.waitLog(/Setting auto_restart changed/);
  const logs = d.logs();
  t.match(logs, /USB ports set by a client on the socket: usb2 on → off\n/);
  t.match(logs, /USB ports set by a client on the socket: usb0 on → off, usb3 on → off\n/);
  t.match(logs, /USB ports set by a client on the socket: no change\n/);
  t.match(
    logs,
    new RegExp(`Setting led_brightness changed by a client on the socket: ${before} → ${before === 40 ? 41 : 40}\\n`),
  );
  t.match(logs, /Setting auto_restart changed by a client on the socket: true → false\n/);
  t.equal((await d.req('PUT', '/config/led_brightness', json('x'))).status, 400);
  t.equal((await d.req('PUT', '/usb/3', json(true))).status, 204);
  await d.waitLog(/usb3 off → on/); // logged after the refused write, had it been logged
  t.equal(d.logs().match(/Setting led_brightness changed/g)?.length, 1, 'a refused write is no change');
});
