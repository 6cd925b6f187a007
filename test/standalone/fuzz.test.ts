// 1,000 malformed requests (bad JSON, wrong types, bad multipart, huge bodies, odd paths, raw
// garbage) leave the daemon serving, with no 5xx among the answers.
import t from 'tap';
import { connect } from 'node:net';
import { seededRandom } from '../../engine/simulator/faults.js';
import { startDaemon } from '../helpers/daemon.js';

const rnd = seededRandom(20261122);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));

const PATHS = [
  '/',
  '/version',
  '/values',
  '/values/V_in',
  '/values/%FF%FE',
  '/values/%ZZ',
  '/values/',
  '//values',
  '/config',
  '/config/led_brightness',
  '/config/nope',
  '/config/%00',
  '/usb',
  '/usb/1',
  '/usb/7',
  '/usb/abc',
  '/usb/99999999999999999999',
  '/usb/%2B1',
  '/flash',
  '/standby',
  '/events?interval=abc',
  '/events?interval=5',
  '/metrics',
  '/sim',
  '/sim/faults/xyz',
  `/values/${'a'.repeat(4000)}`,
  '/values/%F0%9F%98%80',
  '/values/%C3%28',
  '/%',
  '/values?%%%',
  '/config/led_brightness/extra',
];
const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'];
const JSON_BODIES = [
  '',
  '{',
  '}',
  '[',
  '[1,',
  '{"a":',
  'nul',
  'tru',
  '"abc',
  '"\\x"',
  '1e999999',
  '-',
  '01',
  '{"usb0":"yes"}',
  '[]',
  '{}',
  'null',
  '3.14',
  '"40"',
  '-1',
  '18446744073709551616',
  '{"delay":-1}',
  '{"delay":"5m"}',
  '{"datetime":7}',
  '{"datetime":"2020-13-45T99:99:99Z"}',
  '[1,2,3]',
  '{"a":1,"a":2}',
  '"\\ud800"',
  '['.repeat(5000),
  '{"x":'.repeat(3000),
  '\u0000\u0001',
  '😀',
  '{"kind":"nack"}',
];
const CONTENT_TYPES = [
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x+json',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'multipart/form-data; boundary=B',
  'application/',
  ';;;',
];

function multipartGarbage(): string {
  return pick([
    '--B\r\nContent-Disposition: form-data; name="firmware"\r\n\r\nabc', // no closing boundary
    '--B\r\n\r\n\r\n--B--',
    '--B\r\nContent-Disposition: form-data; name="other"\r\n\r\nx\r\n--B--\r\n',
    'garbage',
    '--C\r\nContent-Disposition: form-data; name="firmware"\r\n\r\nabc\r\n--C--\r\n',
    '--B\r\nContent-Disposition: form-data; name="firmware"; filename="f"\r\n\r\n\r\n--B--\r\n', // empty
    '--B\r\nContent-Disposition\r\n\r\n--B--',
  ]);
}

function malformed(): { method: string; path: string; headers: Record<string, string>; body?: Buffer | string } {
  const path = pick(PATHS);
  // Mostly a method the route takes, so that bodies reach the parsers.
  const natural = /^\/(config\/|usb)/.test(path) ? 'PUT' : path === '/flash' ? 'POST' : 'GET';
  let method = rnd() < 0.7 ? natural : pick(METHODS);
  // Nothing that would legitimately shut the machine down or reshape the simulated world.
  if (path === '/standby') method = 'POST';
  if (path === '/sim' || path.startsWith('/sim/')) method = pick(['GET', 'PUT', 'POST']);
  const headers: Record<string, string> = {};
  const ct = pick(CONTENT_TYPES);
  if (ct) headers['Content-Type'] = ct;
  const kind = rnd();
  let body: Buffer | string | undefined;
  if (path === '/flash') body = multipartGarbage();
  else if (kind < 0.6) body = pick(JSON_BODIES);
  else if (kind < 0.9) body = bytes(Math.floor(rnd() * 300));
  else if (kind < 0.92) body = Buffer.alloc(2 * 1024 * 1024 + 1 + Math.floor(rnd() * 1000), 0x20);
  if (path === '/standby' && typeof body === 'string' && /delay":\d|datetime":"2[0-9]{3}-/.test(body)) body = '{';
  return { method, path, headers, body };
}

t.test('1,000 malformed requests', async (t) => {
  const d = await startDaemon(['--poweroff', 'true']);
  t.teardown(() => d.stop());
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  const allowed = new Set([200, 201, 204, 400, 404, 405, 413, 415, 422, 503]);
  const bad: string[] = [];
  let sent = 0;
  while (sent < 980) {
    const batch = Array.from({ length: 10 }, () => malformed());
    sent += batch.length;
    await Promise.all(
      batch.map(async (r) => {
        try {
          const res = await d.req(r.method, r.path, { headers: r.headers, body: r.body });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (!allowed.has(res.status))
            bad.push(`${r.method} ${r.path.slice(0, 60)} → ${res.status} ${res.text.slice(0, 120)}`);
          if (res.status === 503 && !r.path.startsWith('/events')) bad.push(`${r.method} ${r.path} → 503`);
        } catch (err) {
          errors.push(`${r.method} ${r.path.slice(0, 60)}: ${(err as Error).message}`);
        }
      }),
    );
  }
  // Twenty requests that are not HTTP at all.
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve) => {
      const s = connect(d.socket);
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.on('connect', () => {
        s.write(i % 2 ? bytes(200) : 'GET /values HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n');
        setTimeout(() => s.destroy(), 100);
      });
    });
  }
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
  t.same(bad, [], 'no undocumented status');
  t.same(errors, [], 'every request got an answer');
  const v = await d.req('GET', '/values');
  t.equal(v.status, 200, 'still serving');
  t.match(v.text, /"state":"OperationalCoOp"/, 'the controller still fed by the daemon');
  t.equal(d.proc.exitCode, null, 'still running');
  t.notMatch(d.logs(), /Uncaught exception/);
});
