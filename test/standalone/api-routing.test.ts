// Conformance over the real socket (docs/api.md, rows 1–6): bodies byte for byte, routing,
// framework rejections and their order, config writes, fallbacks.
import t from 'tap';
import { NOT_ALLOWED } from '../helpers/api-cases.js';
import { VERSION } from '../../engine/version.js';
import { json, physical, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { EXAMPLE_INPUTS } from '../helpers/physical.js';

let d: RunningDaemon;
t.before(async () => {
  d = await startDaemon();
});
t.teardown(async () => {
  await d.stop();
});

const fault = (registers: number[], count = 0) =>
  d.req('POST', '/sim/faults', json({ kind: 'nack', registers, count }));
const clearFaults = () => d.req('DELETE', '/sim/faults');

t.test('1. /values: the worked example of docs/api.md byte for byte', async (t) => {
  t.equal((await d.req('PUT', '/sim/inputs', json(EXAMPLE_INPUTS))).status, 204);
  t.equal((await d.req('PUT', '/sim/controller', json({ device_id: 'E66164840BCE7521' }))).status, 204);
  const r = await d.req('GET', '/values');
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'application/json');
  t.equal(
    r.text,
    `{"5v_output_enabled":true,"I_in":0.35247802734375,"T_mcu":307.9180603027344,"T_pcb":303.6455993652344,"V_cap":10.2386474609375,"V_in":12.20703125,"daemon_version":"${VERSION}","device_id":"e66164840bce7521","firmware_version":"3.3.1","hardware_version":"N/A","state":"OperationalCoOp","watchdog_elapsed":0.0,"watchdog_enabled":true,"watchdog_timeout":10.0}`,
  );
  t.equal(r.headers['content-length'], String(r.body.length));
  const single: Array<[string, string]> = [
    ['V_in', '12.20703125'],
    ['V_cap', '10.2386474609375'],
    ['I_in', '0.35247802734375'],
    ['T_mcu', '307.9180603027344'],
    ['state', '"OperationalCoOp"'],
    ['watchdog_timeout', '10.0'],
    ['watchdog_enabled', 'true'],
    ['watchdog_elapsed', '0.0'],
    ['firmware_version', '"3.3.1"'],
    ['hardware_version', '"N/A"'],
    ['device_id', '"e66164840bce7521"'],
    ['5v_output_enabled', 'true'],
    ['daemon_version', `"${VERSION}"`],
  ];
  for (const [key, body] of single) {
    const s = await d.req('GET', `/values/${key}`);
    t.equal(`${s.status} ${s.text}`, `200 ${body}`, key);
  }
  t.equal((await d.req('GET', '/values/V%5Fin')).text, '12.20703125', 'parameters are percent-decoded');
});

t.test('7.1 vectors through the controller: V_in 14745, I_in 9929, T 30426, V_cap 47662', async (t) => {
  await d.req(
    'PUT',
    '/sim/inputs',
    json({
      V_in: physical.V_in(14745),
      V_cap: physical.V_cap(0),
      I_in: physical.I_in(9929),
      T_mcu: physical.T(30426),
      hold: true,
    }),
  );
  const v = JSON.parse((await d.req('GET', '/values')).text);
  t.match((await d.req('GET', '/values')).text, /"V_in":8\.9996337890625/);
  t.equal(v.I_in, 0.4999648928642273);
  t.match((await d.req('GET', '/values')).text, /"T_mcu":298\.1469421386719/);
  t.match((await d.req('GET', '/values/I_in')).text, /^0\.4999648928642273$/);
  await d.req(
    'PUT',
    '/sim/inputs',
    json({ V_in: 12, V_cap: physical.V_cap(47662), I_in: physical.I_in(1), hold: true }),
  );
  t.equal((await d.req('GET', '/values/V_cap')).text, '7.999908447265625');
  t.equal((await d.req('GET', '/values/I_in')).text, '0.00005035400317865424');
  await d.req('PUT', '/sim/inputs', json({ V_in: 12, V_cap: 10.25, I_in: null, hold: false }));
});

t.test("V_supercap, the user guide's name, is an alias of V_cap on /values/{key}", async (t) => {
  const cap = await d.req('GET', '/values/V_cap');
  const alias = await d.req('GET', '/values/V_supercap');
  t.equal(alias.status, 200);
  t.equal(alias.headers['content-type'], 'application/json');
  t.match(alias.text, /^\d+\.\d+$/);
  t.ok(Math.abs(Number(alias.text) - Number(cap.text)) < 0.05, `${alias.text} V, as V_cap reads ${cap.text} V`);
  t.notMatch((await d.req('GET', '/values')).text, /V_supercap/, '/values itself is unchanged');
});

t.test('unknown /values keys: 404 JSON naming the decoded key', async (t) => {
  for (const key of ['usb_port_state', 'v_in', 'V_SUPERCAP', 'nope%20x']) {
    const r = await d.req('GET', `/values/${key}`);
    t.equal(r.status, 404);
    t.equal(r.text, `{"error":"Unknown key: ${decodeURIComponent(key)}"}`);
  }
});

t.test('2. /config: key order, .0 floats, led_brightness an integer', async (t) => {
  const r = await d.req('GET', '/config');
  t.equal(
    r.text,
    '{"auto_restart":true,"led_brightness":48,"power_on_threshold":7.9997406005859375,"solo_depleting_timeout":5.0,"solo_power_off_threshold":5.4998321533203125,"watchdog_timeout":10.0}',
  );
  t.equal((await d.req('GET', '/config/led_brightness')).text, '48');
  t.equal((await d.req('GET', '/config/solo_depleting_timeout')).text, '5.0');
  const u = await d.req('GET', '/config/nope');
  t.equal(`${u.status} ${u.text}`, '404 {"error":"Unknown config key: nope"}');
});

t.test('3. routing: 404 empty, 405 with the exact Allow, HEAD on GET routes', async (t) => {
  const emptyQuery = await d.req('GET', '/?', {});
  t.equal(`${emptyQuery.status} ${emptyQuery.text}`, '200 This is halpid!\n', 'an empty query string is still /');
  for (const path of ['/values/', '/nope', '//values', '/usb/', '/config/', '/valu%65s', '/values/x/y']) {
    const r = await d.req('GET', path, {});
    t.equal(r.status, 404, path);
    t.equal(r.body.length, 0, `${path}: empty`);
    t.notOk('content-type' in r.headers, `${path}: no content type`);
  }
  for (const [method, path, header] of NOT_ALLOWED) {
    const r = await d.req(method, path);
    t.equal(r.status, 405, `${method} ${path}`);
    t.equal(r.headers.allow, header, `${method} ${path} Allow`);
    t.equal(r.body.length, 0);
    t.notOk('content-type' in r.headers);
  }
  for (const path of [
    '/',
    '/version',
    '/values',
    '/values/V_in',
    '/config',
    '/config/led_brightness',
    '/usb',
    '/usb/0',
    '/metrics',
  ]) {
    const get = await d.req('GET', path);
    const head = await d.req('HEAD', path);
    t.equal(head.status, get.status, `HEAD ${path}`);
    t.equal(head.body.length, 0, `HEAD ${path}: no body`);
    t.equal(head.headers['content-type'], get.headers['content-type']);
    if (!['/values', '/metrics'].includes(path))
      t.equal(head.headers['content-length'], get.headers['content-length'], `HEAD ${path} length`);
  }
  const root = await d.req('GET', '/?x=1');
  t.equal(root.text, 'This is halpid!\n');
  t.equal(root.headers['content-type'], 'text/plain; charset=utf-8');
  t.equal((await d.req('GET', '/version')).text, `{"daemon_version":"${VERSION}"}`);
  t.equal((await d.req('GET', '/values?x=1')).status, 200, 'query strings are ignored');
  const bad = await d.req('GET', '/values/%FF');
  t.equal(
    `${bad.status} ${bad.headers['content-type']} ${bad.text}`,
    '400 text/plain; charset=utf-8 Invalid URL: Invalid UTF-8 in `key`',
  );
  const lit = await d.req('GET', '/values/%ZZ');
  t.equal(lit.text, '{"error":"Unknown key: %ZZ"}', 'invalid escapes stay literal');
});

t.test('4. framework rejections: texts and their order', async (t) => {
  const text = 'text/plain; charset=utf-8';
  const r415 = await d.req('PUT', '/usb/7', { body: 'true' });
  t.equal(
    `${r415.status} ${r415.headers['content-type']} ${r415.text}`,
    `415 ${text} Expected request with \`Content-Type: application/json\``,
    'PUT /usb/7 without a JSON content type → 415 first',
  );
  t.equal((await d.req('PUT', '/usb/1', { headers: { 'Content-Type': 'text/plain' }, body: 'true' })).status, 415);
  for (const ct of ['application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.api+json']) {
    t.equal((await d.req('PUT', '/usb/1', { headers: { 'Content-Type': ct }, body: 'true' })).status, 204, ct);
  }
  const bad = await d.req('PUT', '/usb/x', { body: 'nonsense' });
  t.equal(
    `${bad.status} ${bad.text}`,
    '400 Invalid URL: Cannot parse `x` to a `u8`',
    'PUT /usb/x → 400 before the body',
  );
  for (const port of ['abc', '-1', '256', '1.5', '+']) {
    t.equal((await d.req('GET', `/usb/${port}`)).text, `Invalid URL: Cannot parse \`${port}\` to a \`u8\``, port);
  }
  t.equal((await d.req('GET', '/usb/03')).text, 'true', 'leading zeros');
  t.equal((await d.req('GET', '/usb/+1')).text, 'true', 'a plus sign');
  const r7 = await d.req('GET', '/usb/7');
  t.equal(`${r7.status} ${r7.text}`, '400 {"error":"Invalid port number, must be 0-3"}');
  const cases: Array<[string, number, string]> = [
    ['', 400, 'Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 0'],
    ['abc', 400, 'Failed to parse the request body as JSON: expected value at line 1 column 1'],
    ['{', 400, 'Failed to parse the request body as JSON: EOF while parsing an object at line 1 column 1'],
    ['true x', 400, 'Failed to parse the request body as JSON: trailing characters at line 1 column 6'],
    ['1e400', 400, 'Failed to parse the request body as JSON: number out of range at line 1 column 5'],
    [
      '1',
      422,
      'Failed to deserialize the JSON body into the target type: invalid type: integer `1`, expected a boolean at line 1 column 1',
    ],
    [
      '"on"',
      422,
      'Failed to deserialize the JSON body into the target type: invalid type: string "on", expected a boolean at line 1 column 4',
    ],
    [
      'null',
      422,
      'Failed to deserialize the JSON body into the target type: invalid type: null, expected a boolean at line 1 column 4',
    ],
  ];
  for (const [body, status, message] of cases) {
    const r = await d.req('PUT', '/usb/9', { headers: { 'Content-Type': 'application/json' }, body });
    t.equal(`${r.status} ${r.headers['content-type']} ${r.text}`, `${status} ${text} ${message}`, JSON.stringify(body));
  }
  const big = await d.req('PUT', '/config/led_brightness', {
    headers: { 'Content-Type': 'application/json' },
    body: ' '.repeat(2 * 1024 * 1024 + 1),
  });
  t.equal(`${big.status} ${big.text}`, '413 Failed to buffer the request body: length limit exceeded');
  const ok = await d.req('PUT', '/usb', {
    headers: { 'Content-Type': 'application/json' },
    body: `${' '.repeat(2 * 1024 * 1024 - 2)}{}`,
  });
  t.equal(ok.status, 204, 'exactly 2 MiB is accepted');
});

t.test('5. PUT /config: accepted and rejected values', async (t) => {
  const put = (key: string, body: string) =>
    d.req('PUT', `/config/${key}`, { headers: { 'Content-Type': 'application/json' }, body });
  const ok = await put('led_brightness', '40');
  t.equal(`${ok.status} ${ok.headers['content-type']} ${ok.text}`, '200 application/json {"status":"ok"}');
  t.equal((await d.req('GET', '/config/led_brightness')).text, '40');
  for (const bad of ['40.0', '-1', 'true', '"40"']) {
    const r = await put('led_brightness', bad);
    t.equal(`${r.status} ${r.text}`, '400 {"error":"Invalid value type"}', bad);
  }
  t.equal((await put('led_brightness', '300')).status, 200);
  t.equal((await d.req('GET', '/config/led_brightness')).text, '44', '300 mod 256');
  t.equal((await put('led_brightness', '18446744073709551615')).status, 200);
  t.equal((await d.req('GET', '/config/led_brightness')).text, '255', 'modulo on the exact value');
  t.equal((await put('auto_restart', '1')).text, '{"error":"Invalid value type"}');
  t.equal((await put('auto_restart', 'false')).status, 200);
  t.equal((await d.req('GET', '/config/auto_restart')).text, 'false');
  t.equal((await put('power_on_threshold', '8')).status, 200);
  t.equal((await d.req('GET', '/config/power_on_threshold')).text, '7.999908447265625');
  t.equal((await put('solo_depleting_timeout', '1e10')).status, 200);
  t.equal((await d.req('GET', '/config/solo_depleting_timeout')).text, '4294967.295');
  t.equal((await put('solo_depleting_timeout', '5')).status, 200);
  t.equal((await put('power_on_threshold', '"8"')).text, '{"error":"Invalid value type"}');
  const unknown = await put('nope', '"anything"');
  t.equal(`${unknown.status} ${unknown.text}`, '400 {"error":"Unknown config key: nope"}');
  t.equal((await put('nope', '{')).status, 400, 'the body is parsed before the key is examined');
  await fault([0x17]);
  const failed = await put('led_brightness', '48');
  t.equal(`${failed.status} ${failed.text}`, '400 {"error":"Failed to write to register 0x17"}');
  await clearFaults();
  t.equal((await put('led_brightness', '48')).status, 200);
  await put('auto_restart', 'true');
});

t.test('6. fallbacks: identity and status fall back, the block fails, /config never fails', async (t) => {
  const expectField: Array<[number, string]> = [
    [0x03, '"hardware_version":"N/A"'],
    [0x04, '"firmware_version":"N/A"'],
    [0x25, '"device_id":"0000000000000000"'],
    [0x10, '"5v_output_enabled":false'],
    [0x12, '"watchdog_enabled":false'],
  ];
  for (const [reg, field] of expectField) {
    await fault([reg]);
    const r = await d.req('GET', '/values');
    t.equal(r.status, 200, `0x${reg.toString(16)} failing`);
    t.ok(r.text.includes(field), `${field} when 0x${reg.toString(16)} fails`);
    if (reg === 0x12) t.ok(r.text.includes('"watchdog_timeout":0.0'));
    await clearFaults();
  }
  await fault([0x20]);
  const v = await d.req('GET', '/values');
  t.equal(`${v.status} ${v.text}`, '500 {"error":"Failed to read from register 0x20"}');
  const s = await d.req('GET', '/values/state');
  t.equal(
    `${s.status} ${s.text}`,
    '500 {"error":"Failed to read from register 0x20"}',
    'a single measurement reads the whole block',
  );
  await clearFaults();
  await fault([0x10]);
  t.equal((await d.req('GET', '/values/5v_output_enabled')).text, '{"error":"Failed to read from register 0x10"}');
  t.equal((await d.req('GET', '/values/firmware_version')).text, '"3.3.1"');
  await clearFaults();
  await fault([0x04]);
  t.equal((await d.req('GET', '/values/firmware_version')).text, '"N/A"');
  await clearFaults();
  await fault([0x12, 0x13, 0x14, 0x17, 0x18, 0x19]);
  const c = await d.req('GET', '/config');
  t.equal(
    `${c.status} ${c.text}`,
    '200 {"auto_restart":false,"led_brightness":0,"power_on_threshold":0.0,"solo_depleting_timeout":0.0,"solo_power_off_threshold":0.0,"watchdog_timeout":0.0}',
  );
  const k = await d.req('GET', '/config/led_brightness');
  t.equal(
    `${k.status} ${k.text}`,
    '404 {"error":"Unknown config key: led_brightness"}',
    'a failed read of one key is a 404',
  );
  await clearFaults();
  // Every read of 0x15 corrupted: a single one could be taken by the daemon's own block read first.
  await d.req('POST', '/sim/faults', json({ kind: 'corrupt', registers: [0x15], count: 0 }));
  t.equal((await d.req('GET', '/values')).text, '{"error":"Invalid power state value: 255"}');
  await clearFaults();
});

t.test('USB: read, set, clear, masks and error texts', async (t) => {
  t.equal((await d.req('GET', '/usb')).text, '{"usb0":true,"usb1":true,"usb2":true,"usb3":true}');
  t.equal((await d.req('PUT', '/usb/2', json(false))).status, 204);
  t.equal((await d.req('GET', '/usb/2')).text, 'false');
  t.equal((await d.req('GET', '/usb')).text, '{"usb0":true,"usb1":true,"usb2":false,"usb3":true}');
  t.equal((await d.req('PUT', '/usb', json({ usb0: false, usb2: true, usb1: 'no', usb9: false }))).status, 204);
  t.equal((await d.req('GET', '/usb')).text, '{"usb0":false,"usb1":true,"usb2":true,"usb3":true}');
  for (const body of ['[]', 'true', '3'])
    t.equal((await d.req('PUT', '/usb', { headers: { 'Content-Type': 'application/json' }, body })).status, 204, body);
  await d.req('PUT', '/usb', json({ usb0: true }));
  await fault([0x1a]);
  t.equal(
    (await d.req('GET', '/usb')).text,
    '{"error":"Failed to get USB port states: Failed to read from register 0x1A"}',
  );
  t.equal(
    (await d.req('GET', '/usb/1')).text,
    '{"error":"Failed to get USB port state: Failed to read from register 0x1A"}',
  );
  t.equal(
    (await d.req('PUT', '/usb', json({}))).text,
    '{"error":"Failed to get current USB port states: Failed to read from register 0x1A"}',
  );
  t.equal(
    (await d.req('PUT', '/usb/1', json(true))).text,
    '{"error":"Failed to get current USB port state: Failed to read from register 0x1A"}',
  );
  await clearFaults();
  await d.req('POST', '/sim/faults', json({ kind: 'nack', registers: [0x1a], op: 'write', count: 0 }));
  t.equal(
    (await d.req('PUT', '/usb', json({}))).text,
    '{"error":"Failed to set USB port states: Failed to write to register 0x1A"}',
  );
  t.equal(
    (await d.req('PUT', '/usb/1', json(true))).text,
    '{"error":"Failed to set USB port state: Failed to write to register 0x1A"}',
  );
  await clearFaults();
});
