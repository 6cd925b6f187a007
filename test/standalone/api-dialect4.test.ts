// Dialect 4 (docs/api.md): halpid 4.0.7's wire format.
import t from 'tap';
import { DIALECT4_COERCED, DIALECT4_REFUSED } from '../helpers/api-cases.js';
import { VERSION } from '../../engine/version.js';
import { json, physical, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { EXAMPLE_INPUTS } from '../helpers/physical.js';

let d: RunningDaemon;
t.before(async () => {
  d = await startDaemon(['--api-compat', '4']);
});
t.teardown(async () => {
  await d.stop();
});

t.test('the example /values body, byte for byte', async (t) => {
  await d.req('PUT', '/sim/inputs', json(EXAMPLE_INPUTS));
  await d.req('PUT', '/sim/controller', json({ device_id: 'e66164840bce7521' }));
  const r = await d.req('GET', '/values');
  t.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  t.equal(
    r.text,
    `{"V_in": 12.20703125, "V_supercap": 10.2386474609375, "I_in": 0.35247802734375, "T_mcu": 307.91806640625, "T_pcb": 303.64560546875, "state": "OperationalCoOp", "5v_output_enabled": true, "usb_port_state": 15, "watchdog_enabled": true, "watchdog_timeout": 10.0, "watchdog_elapsed": 0.0, "hardware_version": "N/A", "firmware_version": "3.3.1", "daemon_version": "${VERSION}", "device_id": "e66164840bce7521"}`,
  );
  t.equal((await d.req('GET', '/values/V_supercap')).text, '10.2386474609375');
  t.equal((await d.req('GET', '/values/usb_port_state')).text, '15');
  const vcap = await d.req('GET', '/values/V_cap');
  t.equal(`${vcap.status} ${vcap.body.length}`, '404 0', 'V_cap is unknown in dialect 4, 404 empty');
  await d.req('PUT', '/sim/inputs', json({ I_in: physical.I_in(1), hold: true }));
  t.equal((await d.req('GET', '/values/I_in')).text, '5.035400390625e-05', 'Python repr');
  await d.req('PUT', '/sim/inputs', json({ I_in: null, hold: false }));
});

t.test('layouts, content types, errors and status codes of dialect 4', async (t) => {
  t.equal((await d.req('GET', '/version')).text, `{"daemon_version": "${VERSION}"}`);
  t.equal((await d.req('GET', '/usb')).text, '{"usb0": true, "usb1": true, "usb2": true, "usb3": true}');
  t.equal(
    (await d.req('GET', '/config')).text,
    '{"watchdog_timeout": 10.0, "power_on_threshold": 7.9997406005859375, "solo_power_off_threshold": 5.4998321533203125, "led_brightness": 48, "auto_restart": true, "solo_depleting_timeout": 5.0}',
  );
  const nf = await d.req('GET', '/nope');
  t.equal(`${nf.status} ${nf.headers['content-type']} ${nf.text}`, '404 text/plain; charset=utf-8 404: Not Found');
  const na = await d.req('POST', '/values');
  t.equal(
    `${na.status} ${na.headers['content-type']} ${na.headers.allow} ${na.text}`,
    '405 text/plain; charset=utf-8 GET,HEAD 405: Method Not Allowed',
  );
  for (const path of ['/values/nope', '/config/nope']) {
    const r = await d.req('GET', path);
    t.equal(
      `${r.status} ${r.body.length} ${r.headers['content-type']}`,
      '404 0 application/octet-stream',
      `${path}: empty, labelled as aiohttp does`,
    );
  }
  const pu = await d.req('PUT', '/config/nope', { body: '1' });
  t.equal(`${pu.status} ${pu.body.length}`, '404 0', 'PUT unknown key: 404 empty');
  const ok = await d.req('PUT', '/config/led_brightness', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: '40',
  });
  t.equal(`${ok.status} ${ok.body.length}`, '204 0', 'content type not checked; 204 on success (curl -d works)');
  t.equal((await d.req('GET', '/config/led_brightness')).text, '40');
  await d.req('PUT', '/config/led_brightness', { body: '48' });
  const bad = await d.req('PUT', '/config/led_brightness', { body: '"x"' });
  t.equal(
    `${bad.status} ${bad.headers['content-type']} ${bad.text}`,
    '400 text/plain; charset=utf-8 Value must be a number',
    "handler errors are plain text, in 4.0.7's words",
  );
  t.equal((await d.req('PUT', '/usb/1', { body: 'nope' })).status, 400, 'JSON syntax still checked');
  const notBool = await d.req('PUT', '/usb/1', { body: '1' });
  t.equal(`${notBool.status} ${notBool.text}`, '400 Value must be a boolean', 'as halpid 4.0.7 (5.0.2: 422)');
  await d.req('POST', '/sim/faults', json({ kind: 'nack', registers: [0x20], count: 0 }));
  const e = await d.req('GET', '/values');
  t.equal(
    `${e.status} ${e.headers['content-type']} ${e.text}`,
    '500 text/plain; charset=utf-8 Failed to read from register 0x20',
  );
  await d.req('DELETE', '/sim/faults');
  await d.req('POST', '/sim/faults', json({ kind: 'nack', registers: [0x1a], count: 0 }));
  t.match((await d.req('GET', '/values')).text, /"usb_port_state": 0,/, 'usb_port_state falls back to 0');
  await d.req('DELETE', '/sim/faults');
  const hello = await new Promise<string>((resolve) => {
    import('node:http').then(({ request }) => {
      const req = request({ socketPath: d.socket, path: '/events', agent: false }, (res) => {
        res.once('data', (c: Buffer) => {
          resolve(c.toString());
          req.destroy();
        });
      });
      req.end();
    });
  });
  t.match(hello, /"api":"4"/, 'additions keep dialect-5 JSON and report the dialect');
});

t.test('PUT /config/{key}: every input halpid 4.0.7 took, with its coercions', async (t) => {
  const put = (key: string, body: string) => d.req('PUT', `/config/${key}`, { body });
  const get = async (key: string) => JSON.parse((await d.req('GET', `/config/${key}`)).text) as unknown;
  for (const [key, body, expected] of DIALECT4_COERCED) {
    const r = await put(key, body);
    t.equal(`${r.status} ${r.body.length}`, '204 0', `${key} ${body}: 204`);
    t.same(await get(key), expected, `${key} ${body} → ${JSON.stringify(expected)}`);
  }
  await put('watchdog_timeout', '10');
  for (const [key, body, text] of DIALECT4_REFUSED) {
    const r = await put(key, body);
    t.equal(
      `${r.status} ${r.headers['content-type']} ${r.text}`,
      `400 text/plain; charset=utf-8 ${text}`,
      `${key} ${body}`,
    );
  }
  t.equal(await get('led_brightness'), 48, 'a refused value changes nothing');
});

t.test("USB ports: 4.0.7's texts for a port out of range and a value that is not a boolean", async (t) => {
  const get5 = await d.req('GET', '/usb/7');
  t.equal(`${get5.status} ${get5.text}`, '400 Port must be 0-3');
  const put5 = await d.req('PUT', '/usb/7', { body: 'true' });
  t.equal(`${put5.status} ${put5.text}`, '400 Port must be 0-3');
  const put1 = await d.req('PUT', '/usb/1', { body: '"on"' });
  t.equal(`${put1.status} ${put1.text}`, '400 Value must be a boolean');
  t.equal((await d.req('PUT', '/usb/1', { body: 'true' })).status, 204);
  for (const [path, text] of [
    ['/usb/x', 'Port must be an integer'],
    ['/usb/-1', 'Port must be 0-3'],
    ['/usb/300', 'Port must be 0-3'],
  ] as const) {
    const r = await d.req('GET', path);
    t.equal(`${r.status} ${r.text}`, `400 ${text}`, path);
  }
  const list = await d.req('PUT', '/usb', { body: '[true]' });
  t.equal(`${list.status} ${list.text}`, '400 Expected JSON object');
});
