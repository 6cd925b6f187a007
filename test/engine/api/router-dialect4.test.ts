// Dialect 4 in-process (engine/api/router.ts, docs/api.md): halpid 4.0.7's wire format, its
// error texts and coercions, on the simulated controller with a fake clock. The same rules as
// test/standalone/api-dialect4, where the built halpid runs them; here Stryker sees the router.
import t from 'tap';
import { DIALECT4_COERCED, DIALECT4_REFUSED } from '../../helpers/api-cases.js';
import { apiRig, json } from '../../helpers/api.js';
import { EXAMPLE_INPUTS } from '../../helpers/physical.js';

const TEXT = 'text/plain; charset=utf-8';

t.test('the example /values body byte for byte; V_supercap and usb_port_state keys', async (t) => {
  const { req } = await apiRig(t, { dialect: 4 });
  await req('PUT', '/sim/inputs', json(EXAMPLE_INPUTS));
  await req('PUT', '/sim/controller', json({ device_id: 'e66164840bce7521' }));
  const r = await req('GET', '/values');
  t.equal(`${r.status} ${r.headers['content-type']}`, '200 application/json; charset=utf-8');
  t.equal(
    r.text,
    '{"V_in": 12.20703125, "V_supercap": 10.2386474609375, "I_in": 0.35247802734375, "T_mcu": 307.91806640625, "T_pcb": 303.64560546875, "state": "OperationalCoOp", "5v_output_enabled": true, "usb_port_state": 15, "watchdog_enabled": true, "watchdog_timeout": 10.0, "watchdog_elapsed": 0.0, "hardware_version": "N/A", "firmware_version": "3.3.1", "daemon_version": "test-1.2.3", "device_id": "e66164840bce7521"}',
  );
  t.equal((await req('GET', '/values/V_supercap')).text, '10.2386474609375');
  await req('PUT', '/usb/2', { body: 'false' });
  t.equal((await req('GET', '/values/usb_port_state')).text, '11', 'the port bits');
  t.equal((await req('GET', '/values/daemon_version')).text, '"test-1.2.3"');
  const vcap = await req('GET', '/values/V_cap');
  t.equal(
    `${vcap.status} ${vcap.body.length} ${vcap.headers['content-type']}`,
    '404 0 application/octet-stream',
    'V_cap is unknown in dialect 4',
  );
  await req('POST', '/sim/faults', json({ kind: 'nack', registers: [0x1a], count: 0 }));
  t.match((await req('GET', '/values')).text, /"usb_port_state": 0,/, 'usb_port_state falls back to 0');
  t.equal((await req('GET', '/values/usb_port_state')).text, '0', 'alone too');
  await req('DELETE', '/sim/faults');
  await req('POST', '/sim/faults', json({ kind: 'nack', registers: [0x20], count: 0 }));
  const e = await req('GET', '/values');
  t.equal(`${e.status} ${e.headers['content-type']} ${e.text}`, `500 ${TEXT} Failed to read from register 0x20`);
  const k = await req('GET', '/values/V_in');
  t.equal(`${k.status} ${k.text}`, '500 Failed to read from register 0x20');
});

t.test('layouts, content types, errors and status codes of dialect 4', async (t) => {
  const { req } = await apiRig(t, { dialect: 4 });
  t.equal((await req('GET', '/version')).text, '{"daemon_version": "test-1.2.3"}');
  t.equal((await req('GET', '/usb')).text, '{"usb0": true, "usb1": true, "usb2": true, "usb3": true}');
  t.equal(
    (await req('GET', '/config')).text,
    '{"watchdog_timeout": 10.0, "power_on_threshold": 7.9997406005859375, "solo_power_off_threshold": 5.4998321533203125, "led_brightness": 48, "auto_restart": true, "solo_depleting_timeout": 5.0}',
  );
  const nf = await req('GET', '/nope');
  t.equal(`${nf.status} ${nf.headers['content-type']} ${nf.text}`, `404 ${TEXT} 404: Not Found`);
  const na = await req('POST', '/values');
  t.equal(
    `${na.status} ${na.headers['content-type']} ${na.headers.allow} ${na.text}`,
    `405 ${TEXT} GET,HEAD 405: Method Not Allowed`,
  );
  for (const path of ['/values/nope', '/config/nope']) {
    const r = await req('GET', path);
    t.equal(`${r.status} ${r.body.length} ${r.headers['content-type']}`, '404 0 application/octet-stream', path);
  }
  const pu = await req('PUT', '/config/nope', { body: '1' });
  t.equal(`${pu.status} ${pu.body.length} ${pu.headers['content-type']}`, '404 0 application/octet-stream');
  const ok = await req('PUT', '/config/led_brightness', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: '40',
  });
  t.equal(`${ok.status} ${ok.body.length}`, '204 0', 'content type not checked; 204 on success');
  t.equal((await req('GET', '/config/led_brightness')).text, '40');
  const bad = await req('PUT', '/config/led_brightness', { body: '"x"' });
  t.equal(`${bad.status} ${bad.headers['content-type']} ${bad.text}`, `400 ${TEXT} Value must be a number`);
  t.equal((await req('PUT', '/usb/1', { body: 'nope' })).status, 400, 'JSON syntax still checked');
  const notBool = await req('PUT', '/usb/1', { body: '1' });
  t.equal(`${notBool.status} ${notBool.text}`, '400 Value must be a boolean');
  await req('POST', '/sim/faults', json({ kind: 'nack', registers: [0x17], count: 0, op: 'write' }));
  const wf = await req('PUT', '/config/led_brightness', { body: '41' });
  t.equal(`${wf.status} ${wf.text}`, '400 Failed to write to register 0x17');
  await req('DELETE', '/sim/faults');
  await req('POST', '/sim/faults', json({ kind: 'nack', registers: [0x1a], count: 0 }));
  const us = await req('GET', '/usb');
  t.equal(`${us.status} ${us.text}`, '500 Failed to get USB port states: Failed to read from register 0x1A');
  await req('DELETE', '/sim/faults');
});

t.test('PUT /config/{key}: every input halpid 4.0.7 took, with its coercions', async (t) => {
  const { req } = await apiRig(t, { dialect: 4 });
  const put = (key: string, body: string) => req('PUT', `/config/${key}`, { body });
  const get = async (key: string) => JSON.parse((await req('GET', `/config/${key}`)).text) as unknown;
  for (const [key, body, expected] of DIALECT4_COERCED) {
    const r = await put(key, body);
    t.equal(`${r.status} ${r.body.length}`, '204 0', `${key} ${body}: 204`);
    t.same(await get(key), expected, `${key} ${body} → ${JSON.stringify(expected)}`);
  }
  for (const [key, body, text] of DIALECT4_REFUSED) {
    const r = await put(key, body);
    t.equal(`${r.status} ${r.headers['content-type']} ${r.text}`, `400 ${TEXT} ${text}`, `${key} ${body}`);
  }
  t.equal(await get('led_brightness'), 48, 'a refused value changes nothing');
});

t.test("USB ports: 4.0.7's texts for a port out of range and a value that is not a boolean", async (t) => {
  const { req } = await apiRig(t, { dialect: 4 });
  const get5 = await req('GET', '/usb/7');
  t.equal(`${get5.status} ${get5.headers['content-type']} ${get5.text}`, `400 ${TEXT} Port must be 0-3`);
  const put5 = await req('PUT', '/usb/7', { body: 'true' });
  t.equal(`${put5.status} ${put5.text}`, '400 Port must be 0-3');
  const put4 = await req('PUT', '/usb/4', { body: 'nope' });
  t.equal(`${put4.status} ${put4.text}`, '400 Port must be 0-3', 'the port before the body');
  const put1 = await req('PUT', '/usb/1', { body: '"on"' });
  t.equal(`${put1.status} ${put1.text}`, '400 Value must be a boolean');
  t.equal((await req('PUT', '/usb/1', { body: 'false' })).status, 204);
  t.equal((await req('GET', '/usb/1')).text, 'false');
  t.equal((await req('PUT', '/usb/3', { body: 'false' })).status, 204, 'port 3 is in range');
  t.equal((await req('GET', '/usb')).text, '{"usb0": true, "usb1": false, "usb2": true, "usb3": false}');
  for (const [path, text] of [
    ['/usb/x', 'Port must be an integer'],
    ['/usb/1.5', 'Port must be an integer'],
    ['/usb/x1', 'Port must be an integer'],
    ['/usb/1x', 'Port must be an integer'],
    ['/usb/--1', 'Port must be an integer'],
    ['/usb/-1', 'Port must be 0-3'],
    ['/usb/%201%20', 'Port must be 0-3'],
    ['/usb/300', 'Port must be 0-3'],
  ] as const) {
    const r = await req('GET', path);
    t.equal(`${r.status} ${r.headers['content-type']} ${r.text}`, `400 ${TEXT} ${text}`, path);
  }
  for (const body of ['[true]', 'true', 'null']) {
    const list = await req('PUT', '/usb', { body });
    t.equal(`${list.status} ${list.text}`, '400 Expected JSON object', body);
  }
  t.equal((await req('PUT', '/usb', { body: '{"usb1": true}' })).status, 204, 'an object, any content type');
  t.equal((await req('GET', '/usb/1')).text, 'true');
});

t.test('the dialect is read for each request (api-compat changes on a reload)', async (t) => {
  const { req, setDialect } = await apiRig(t, { dialect: 5 });
  t.equal((await req('GET', '/version')).text, '{"daemon_version":"test-1.2.3"}');
  setDialect(4);
  t.equal((await req('GET', '/version')).text, '{"daemon_version": "test-1.2.3"}');
});
