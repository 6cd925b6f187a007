// The API's routes in-process (engine/api/router.ts, dialect 5): bodies byte for byte, routing
// (404, 405 with Allow, HEAD), path parameters, config and USB reads and writes and their errors,
// on the simulated controller with a fake clock. The same rules as test/standalone/api-routing,
// where the built halpid runs them; here Stryker sees the router.
import t from 'tap';
import { NOT_ALLOWED } from '../../helpers/api-cases.js';
import { Agent, request as httpRequest } from 'node:http';
import type { Dialect } from '../../../engine/api/json-write.js';
import { apiRig, json } from '../../helpers/api.js';
import { EXAMPLE_INPUTS } from '../../helpers/physical.js';

const JSON_TYPE = { 'Content-Type': 'application/json' };
const TEXT = 'text/plain; charset=utf-8';

async function rig(t: Parameters<typeof apiRig>[0]) {
  const r = await apiRig(t);
  const fault = (registers: number[], extra: Record<string, unknown> = {}) =>
    r.req('POST', '/sim/faults', json({ kind: 'nack', registers, count: 0, ...extra }));
  const clearFaults = () => r.req('DELETE', '/sim/faults');
  return { ...r, fault, clearFaults };
}

t.test('/, /version, /values: the worked example of docs/api.md byte for byte', async (t) => {
  const { req } = await rig(t);
  const root = await req('GET', '/');
  t.equal(`${root.status} ${root.headers['content-type']} ${root.text}`, `200 ${TEXT} This is halpid!\n`);
  t.equal((await req('GET', '/?')).text, 'This is halpid!\n', 'an empty query string is still /');
  const v = await req('GET', '/version');
  t.equal(`${v.status} ${v.headers['content-type']} ${v.text}`, '200 application/json {"daemon_version":"test-1.2.3"}');
  await req('PUT', '/sim/inputs', json(EXAMPLE_INPUTS));
  t.equal((await req('PUT', '/sim/controller', json({ device_id: 'E66164840BCE7521' }))).status, 204);
  const r = await req('GET', '/values');
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'application/json');
  t.equal(
    r.text,
    '{"5v_output_enabled":true,"I_in":0.35247802734375,"T_mcu":307.9180603027344,"T_pcb":303.6455993652344,"V_cap":10.2386474609375,"V_in":12.20703125,"daemon_version":"test-1.2.3","device_id":"e66164840bce7521","firmware_version":"3.3.1","hardware_version":"N/A","state":"OperationalCoOp","watchdog_elapsed":0.0,"watchdog_enabled":true,"watchdog_timeout":10.0}',
  );
  const single: Array<[string, string]> = [
    ['V_in', '12.20703125'],
    ['V_cap', '10.2386474609375'],
    ['V_supercap', '10.2386474609375'],
    ['I_in', '0.35247802734375'],
    ['T_mcu', '307.9180603027344'],
    ['T_pcb', '303.6455993652344'],
    ['state', '"OperationalCoOp"'],
    ['watchdog_timeout', '10.0'],
    ['watchdog_enabled', 'true'],
    ['watchdog_elapsed', '0.0'],
    ['firmware_version', '"3.3.1"'],
    ['hardware_version', '"N/A"'],
    ['device_id', '"e66164840bce7521"'],
    ['5v_output_enabled', 'true'],
    ['daemon_version', '"test-1.2.3"'],
  ];
  for (const [key, body] of single) {
    const s = await req('GET', `/values/${key}`);
    t.equal(`${s.status} ${s.headers['content-type']} ${s.text}`, `200 application/json ${body}`, key);
  }
  t.equal((await req('GET', '/values/V%5Fin')).text, '12.20703125', 'parameters are percent-decoded');
  t.notMatch(r.text, /V_supercap/, '/values itself has no V_supercap');
});

t.test('before the daemon arms it, the watchdog reads as disabled, its timeout 0.0', async (t) => {
  const { req } = await apiRig(t, { start: false });
  t.equal((await req('GET', '/values/watchdog_enabled')).text, 'false');
  t.equal((await req('GET', '/values/watchdog_timeout')).text, '0.0');
  t.equal((await req('GET', '/values/state')).text, '"OperationalSolo"');
});

t.test('unknown /values keys: 404 JSON naming the decoded key', async (t) => {
  const { req } = await rig(t);
  for (const key of ['usb_port_state', 'v_in', 'V_SUPERCAP', 'nope%20x', '%ZZ']) {
    const r = await req('GET', `/values/${key}`);
    t.equal(
      `${r.status} ${r.headers['content-type']} ${r.text}`,
      `404 application/json {"error":"Unknown key: ${key === '%ZZ' ? key : decodeURIComponent(key)}"}`,
      key,
    );
  }
  const bad = await req('GET', '/values/%FF');
  t.equal(
    `${bad.status} ${bad.headers['content-type']} ${bad.text}`,
    `400 ${TEXT} Invalid URL: Invalid UTF-8 in \`key\``,
  );
});

t.test('routing: 404 empty, 405 with the exact Allow, HEAD on GET routes, queries ignored', async (t) => {
  const { req } = await rig(t);
  for (const path of ['/values/', '/nope', '//values', '/usb/', '/config/', '/valu%65s', '/values/x/y', '']) {
    const r = await req('GET', path || '*');
    t.equal(r.status, 404, path);
    t.equal(r.body.length, 0, `${path}: empty`);
    t.notOk('content-type' in r.headers, `${path}: no content type`);
  }
  for (const [method, path, header] of NOT_ALLOWED) {
    const r = await req(method, path, { body: 'x' });
    t.equal(
      `${r.status} ${r.headers.allow} ${r.body.length} ${'content-type' in r.headers}`,
      `405 ${header} 0 false`,
      `${method} ${path}`,
    );
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
  ]) {
    const get = await req('GET', path);
    const head = await req('HEAD', path);
    t.equal(head.status, 200, `HEAD ${path}`);
    t.equal(head.body.length, 0, `HEAD ${path}: no body`);
    t.equal(head.headers['content-type'], get.headers['content-type']);
    t.equal(head.headers['content-length'], get.headers['content-length'], `HEAD ${path} length`);
  }
  t.equal((await req('GET', '/?x=1')).text, 'This is halpid!\n');
  t.equal((await req('GET', '/values/V_in?x=1')).status, 200, 'query strings are ignored');
  t.equal((await req('GET', '/version?')).text, '{"daemon_version":"test-1.2.3"}');
});

t.test('/config: key order, .0 floats, one key, unknown keys and failed reads', async (t) => {
  const { req, fault, clearFaults } = await rig(t);
  const r = await req('GET', '/config');
  t.equal(
    `${r.status} ${r.headers['content-type']} ${r.text}`,
    '200 application/json {"auto_restart":true,"led_brightness":48,"power_on_threshold":7.9997406005859375,"solo_depleting_timeout":5.0,"solo_power_off_threshold":5.4998321533203125,"watchdog_timeout":10.0}',
  );
  t.equal((await req('GET', '/config/led_brightness')).text, '48');
  t.equal((await req('GET', '/config/solo_depleting_timeout')).text, '5.0');
  t.equal((await req('GET', '/config/auto_restart')).text, 'true');
  const u = await req('GET', '/config/nope');
  t.equal(
    `${u.status} ${u.headers['content-type']} ${u.text}`,
    '404 application/json {"error":"Unknown config key: nope"}',
  );
  await fault([0x12, 0x13, 0x14, 0x17, 0x18, 0x19]);
  const c = await req('GET', '/config');
  t.equal(
    `${c.status} ${c.text}`,
    '200 {"auto_restart":false,"led_brightness":0,"power_on_threshold":0.0,"solo_depleting_timeout":0.0,"solo_power_off_threshold":0.0,"watchdog_timeout":0.0}',
    '/config never fails',
  );
  const k = await req('GET', '/config/led_brightness');
  t.equal(`${k.status} ${k.text}`, '404 {"error":"Unknown config key: led_brightness"}', 'a failed read of one key');
  await clearFaults();
});

t.test('PUT /config/{key}: accepted and refused values, what the controller then holds', async (t) => {
  const { req, fault, clearFaults, rec } = await rig(t);
  const put = (key: string, body: string, headers: Record<string, string> = JSON_TYPE) =>
    req('PUT', `/config/${key}`, { headers, body });
  const ok = await put('led_brightness', '40');
  t.equal(`${ok.status} ${ok.headers['content-type']} ${ok.text}`, '200 application/json {"status":"ok"}');
  t.equal((await req('GET', '/config/led_brightness')).text, '40');
  t.ok(
    rec.logs.some((l) => l.message === 'Setting led_brightness changed by the API: 48 → 40'),
    'logged with the default origin',
  );
  for (const bad of ['40.0', '-1', 'true', '"40"', 'null']) {
    const r = await put('led_brightness', bad);
    t.equal(`${r.status} ${r.text}`, '400 {"error":"Invalid value type"}', bad);
  }
  t.equal((await req('GET', '/config/led_brightness')).text, '40', 'refused values change nothing');
  t.equal((await put('led_brightness', '0')).status, 200, '0 is an unsigned integer');
  t.equal((await req('GET', '/config/led_brightness')).text, '0');
  t.equal((await put('led_brightness', '300')).status, 200);
  t.equal((await req('GET', '/config/led_brightness')).text, '44', '300 mod 256');
  t.equal((await put('led_brightness', '18446744073709551615')).status, 200);
  t.equal((await req('GET', '/config/led_brightness')).text, '255', 'modulo on the exact value');
  t.equal((await put('auto_restart', '1')).text, '{"error":"Invalid value type"}');
  t.equal((await put('auto_restart', 'false')).status, 200);
  t.equal((await req('GET', '/config/auto_restart')).text, 'false');
  t.equal((await put('auto_restart', 'true')).status, 200);
  t.equal((await req('GET', '/config/auto_restart')).text, 'true');
  t.equal((await put('power_on_threshold', '8')).status, 200);
  t.equal((await req('GET', '/config/power_on_threshold')).text, '7.999908447265625');
  t.equal((await put('power_on_threshold', '8.5')).status, 200, 'a float');
  t.equal((await req('GET', '/config/power_on_threshold')).text, '8.499923706054688');
  t.equal((await put('solo_depleting_timeout', '1e10')).status, 200);
  t.equal((await req('GET', '/config/solo_depleting_timeout')).text, '4294967.295');
  t.equal((await put('power_on_threshold', '"8"')).text, '{"error":"Invalid value type"}');
  t.equal((await put('watchdog_timeout', 'true')).text, '{"error":"Invalid value type"}');
  const unknown = await put('nope', '"anything"');
  t.equal(`${unknown.status} ${unknown.text}`, '400 {"error":"Unknown config key: nope"}');
  const syntax = await put('nope', '{');
  t.equal(syntax.status, 400, 'the body is parsed before the key is examined');
  t.match(syntax.text, /^Failed to parse the request body as JSON/);
  const type = await put('led_brightness', '40', { 'Content-Type': 'text/plain' });
  t.equal(type.status, 415, 'dialect 5 wants a JSON content type');
  await fault([0x17], { op: 'write' });
  const failed = await put('led_brightness', '48');
  t.equal(`${failed.status} ${failed.text}`, '400 {"error":"Failed to write to register 0x17"}');
  await clearFaults();
  t.equal((await put('led_brightness', '48')).status, 200);
});

t.test('fallbacks of /values and its keys; the measurement block fails as a whole', async (t) => {
  const { req, fault, clearFaults } = await rig(t);
  const expectField: Array<[number, string]> = [
    [0x03, '"hardware_version":"N/A"'],
    [0x04, '"firmware_version":"N/A"'],
    [0x25, '"device_id":"0000000000000000"'],
    [0x10, '"5v_output_enabled":false'],
    [0x12, '"watchdog_enabled":false'],
  ];
  for (const [reg, field] of expectField) {
    await fault([reg]);
    const r = await req('GET', '/values');
    t.equal(r.status, 200, `0x${reg.toString(16)} failing`);
    t.ok(r.text.includes(field), `${field} when 0x${reg.toString(16)} fails`);
    await clearFaults();
  }
  await fault([0x03]);
  t.equal((await req('GET', '/values/hardware_version')).text, '"N/A"');
  await clearFaults();
  await fault([0x04]);
  t.equal((await req('GET', '/values/firmware_version')).text, '"N/A"');
  await clearFaults();
  await fault([0x25]);
  t.equal((await req('GET', '/values/device_id')).text, '"0000000000000000"');
  await clearFaults();
  await fault([0x20]);
  const v = await req('GET', '/values');
  t.equal(
    `${v.status} ${v.headers['content-type']} ${v.text}`,
    '500 application/json {"error":"Failed to read from register 0x20"}',
  );
  const s = await req('GET', '/values/state');
  t.equal(
    `${s.status} ${s.text}`,
    '500 {"error":"Failed to read from register 0x20"}',
    'one measurement reads the block',
  );
  t.equal((await req('GET', '/values/firmware_version')).text, '"3.3.1"', 'the identity needs no block');
  await clearFaults();
  await fault([0x10]);
  const o = await req('GET', '/values/5v_output_enabled');
  t.equal(`${o.status} ${o.text}`, '500 {"error":"Failed to read from register 0x10"}');
  await clearFaults();
  await fault([0x12]);
  t.equal((await req('GET', '/values/watchdog_timeout')).status, 500);
  t.equal((await req('GET', '/values/watchdog_enabled')).status, 500);
  await clearFaults();
});

t.test('USB: read, set, clear, masks, bad ports and error texts', async (t) => {
  const { req, fault, clearFaults, rec } = await rig(t);
  t.equal((await req('GET', '/usb')).text, '{"usb0":true,"usb1":true,"usb2":true,"usb3":true}');
  const off = await req('PUT', '/usb/2', json(false));
  t.equal(`${off.status} ${off.body.length} ${'content-type' in off.headers}`, '204 0 false');
  t.equal((await req('GET', '/usb/2')).text, 'false');
  t.equal((await req('GET', '/usb/1')).text, 'true');
  t.equal((await req('GET', '/usb')).text, '{"usb0":true,"usb1":true,"usb2":false,"usb3":true}');
  t.ok(
    rec.logs.some((l) => /^USB ports set by the API: /.test(l.message)),
    'logged with the default origin',
  );
  t.equal((await req('PUT', '/usb/2', json(true))).status, 204);
  t.equal((await req('GET', '/usb/2')).text, 'true');
  t.equal((await req('PUT', '/usb/0', json(false))).status, 204);
  t.equal((await req('GET', '/usb')).text, '{"usb0":false,"usb1":true,"usb2":true,"usb3":true}');
  t.equal((await req('PUT', '/usb/03', json(false))).status, 204, 'leading zeros');
  t.equal((await req('GET', '/usb/+3')).text, 'false', 'a plus sign');
  t.equal(
    (await req('PUT', '/usb', json({ usb0: true, usb3: true, usb2: false, usb1: 'no', usb9: false }))).status,
    204,
  );
  t.equal((await req('GET', '/usb')).text, '{"usb0":true,"usb1":true,"usb2":false,"usb3":true}');
  for (const body of ['[]', 'true', '3', '{}']) {
    const r = await req('PUT', '/usb', { headers: JSON_TYPE, body });
    t.equal(r.status, 204, body);
  }
  t.equal(
    (await req('GET', '/usb')).text,
    '{"usb0":true,"usb1":true,"usb2":false,"usb3":true}',
    'those change nothing',
  );
  const r7 = await req('GET', '/usb/7');
  t.equal(`${r7.status} ${r7.text}`, '400 {"error":"Invalid port number, must be 0-3"}');
  t.equal((await req('GET', '/usb/4')).status, 400, 'port 4');
  const p7 = await req('PUT', '/usb/7', json(true));
  t.equal(`${p7.status} ${p7.text}`, '400 {"error":"Invalid port number, must be 0-3"}');
  const p7bad = await req('PUT', '/usb/7', { headers: JSON_TYPE, body: '1' });
  t.equal(p7bad.status, 422, 'the body is checked before the port range');
  for (const port of ['abc', '-1', '256', '1.5', '+']) {
    const r = await req('GET', `/usb/${port}`);
    t.equal(
      `${r.status} ${r.headers['content-type']} ${r.text}`,
      `400 ${TEXT} Invalid URL: Cannot parse \`${port}\` to a \`u8\``,
      port,
    );
  }
  const px = await req('PUT', '/usb/x', { body: 'nonsense' });
  t.equal(`${px.status} ${px.text}`, '400 Invalid URL: Cannot parse `x` to a `u8`', 'PUT /usb/x → 400 before the body');
  t.equal((await req('GET', '/usb/%FF')).text, 'Invalid URL: Invalid UTF-8 in `port`');
  t.equal((await req('PUT', '/usb/1', { body: 'true' })).status, 415, 'no JSON content type');
  t.equal((await req('PUT', '/usb/1', { headers: JSON_TYPE, body: '1' })).status, 422, 'not a boolean');
  t.equal((await req('PUT', '/usb', { headers: JSON_TYPE, body: '{' })).status, 400);
  await fault([0x1a]);
  t.equal(
    (await req('GET', '/usb')).text,
    '{"error":"Failed to get USB port states: Failed to read from register 0x1A"}',
  );
  const g1 = await req('GET', '/usb/1');
  t.equal(`${g1.status} ${g1.text}`, '500 {"error":"Failed to get USB port state: Failed to read from register 0x1A"}');
  const pa = await req('PUT', '/usb', json({}));
  t.equal(
    `${pa.status} ${pa.text}`,
    '500 {"error":"Failed to get current USB port states: Failed to read from register 0x1A"}',
  );
  const p1 = await req('PUT', '/usb/1', json(true));
  t.equal(
    `${p1.status} ${p1.text}`,
    '500 {"error":"Failed to get current USB port state: Failed to read from register 0x1A"}',
  );
  await clearFaults();
  await fault([0x1a], { op: 'write' });
  const wa = await req('PUT', '/usb', json({}));
  t.equal(`${wa.status} ${wa.text}`, '500 {"error":"Failed to set USB port states: Failed to write to register 0x1A"}');
  const w1 = await req('PUT', '/usb/1', json(true));
  t.equal(`${w1.status} ${w1.text}`, '500 {"error":"Failed to set USB port state: Failed to write to register 0x1A"}');
  await clearFaults();
  t.equal(
    (await req('GET', '/usb')).text,
    '{"usb0":true,"usb1":true,"usb2":false,"usb3":true}',
    'failed writes changed nothing',
  );
});

t.test('a listener given an origin names it in the log', async (t) => {
  const { req, rec } = await apiRig(t, { api: { origin: 'the socket API' } });
  await req('PUT', '/usb/1', json(false));
  await req('PUT', '/config/led_brightness', json(40));
  t.same(
    rec.logs.filter((l) => / by /.test(l.message)).map((l) => l.message),
    ['USB ports set by the socket API: usb1 on → off', 'Setting led_brightness changed by the socket API: 48 → 40'],
  );
});

t.test('a refused body leaves the connection open for the next request (keep-alive)', async (t) => {
  const bad = { headers: JSON_TYPE, body: '{' };
  const cases: Array<[Dialect, string, string]> = [
    [5, 'PUT', '/config/led_brightness'],
    [5, 'PUT', '/usb'],
    [4, 'PUT', '/usb/1'],
    [5, 'POST', '/standby'],
  ];
  for (const [dialect, method, path] of cases) {
    const { socket, rec } = await apiRig(t, { dialect, start: false });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.teardown(() => agent.destroy());
    const send = (m: string, p: string, o: { headers?: Record<string, string>; body?: string } = {}) =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = httpRequest(
          { socketPath: socket, method: m, path: p, agent, headers: { Host: 'localhost', ...o.headers } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
          },
        );
        req.on('error', reject);
        req.end(o.body);
      });
    const first = await send(method, path, bad);
    t.equal(first.status, 400, `${method} ${path}: the syntax error`);
    const second = await send('GET', '/version');
    t.same(second, { status: 200, reused: true }, `${method} ${path}: the next request on the same connection`);
    t.same(rec.rtcwake, [], 'nothing done');
  }
});

t.test('dialect 5 /values does not read the USB ports (dialect 4 does)', async (t) => {
  for (const dialect of [5, 4] as const) {
    const { req, sim } = await apiRig(t, { dialect, start: false });
    await req('POST', '/sim/faults', json({ kind: 'nack', registers: [0x1a], op: 'read', count: 1 }));
    t.equal((await req('GET', '/values')).status, 200);
    t.equal(
      sim.faults.list().length,
      dialect === 5 ? 1 : 0,
      `dialect ${dialect}: the 0x1A rule ${dialect === 5 ? 'untouched' : 'used'}`,
    );
  }
});

t.test('a refused body touches no register', async (t) => {
  for (const [dialect, method, path] of [
    [5, 'PUT', '/config/led_brightness'],
    [5, 'PUT', '/usb'],
    [4, 'PUT', '/usb'],
    [5, 'PUT', '/usb/1'],
    [4, 'PUT', '/usb/1'],
  ] as Array<[Dialect, string, string]>) {
    const { req, sim } = await apiRig(t, { dialect, start: false });
    // A rule on every register, used up by the first transaction of any kind.
    await req('POST', '/sim/faults', json({ kind: 'nack', count: 1 }));
    t.equal((await req(method, path, { headers: JSON_TYPE, body: '{' })).status, 400, `${method} ${path}`);
    t.equal(sim.faults.list().length, 1, `dialect ${dialect} ${method} ${path}: no bus transaction`);
  }
});
