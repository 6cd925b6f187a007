// halpi compare between two halpid --simulate instances: dialect 5 against dialect 4 shows exactly
// the dialect switch as known differences and no real one; two dialect-5 daemons agree; --writes
// puts back what it changed; a real difference fails.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { HALPI, json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

let d5: RunningDaemon;
let d4: RunningDaemon;
let other5: RunningDaemon;

t.before(async () => {
  [d5, d4, other5] = await Promise.all([startDaemon(), startDaemon(['--api-compat', '4']), startDaemon()]);
});
t.teardown(async () => {
  await Promise.all([d5?.stop(), d4?.stop(), other5?.stop()]);
});

interface Row { request: string; verdict: string; note: string }
const compare = (ours: RunningDaemon, other: RunningDaemon, ...extra: string[]) => {
  const r = spawnSync(process.execPath, [HALPI, '-s', ours.socket, '--json', 'compare', '--against', other.socket, ...extra], {
    encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' },
  });
  return { status: r.status, rows: JSON.parse(r.stdout.trim().split('\n')[0] ?? '[]') as Row[], stderr: r.stderr };
};

t.test('dialect 5 against dialect 4: only the dialect switch, each difference named', async (t) => {
  const r = compare(d5, d4);
  t.equal(r.status, 0, r.stderr);
  t.same(r.rows.filter((x) => x.verdict === 'real'), [], 'no real difference');
  const notes = [...new Set(r.rows.filter((x) => x.verdict === 'known').map((x) => x.note))].sort();
  t.same(notes, [
    'dialect: /values says V_supercap and usb_port_state in dialect 4',
    'dialect: JSON layout, content type and double arithmetic',
    'dialect: errors as plain text or empty in dialect 4',
    'dialect: keys of the other dialect are unknown',
  ]);
  t.equal(r.rows.find((x) => x.request === 'GET /values/V_supercap')?.note, 'dialect: keys of the other dialect are unknown');
});

t.test('two dialect-5 daemons agree; --writes puts back what it changed', async (t) => {
  const before = await Promise.all([d5, other5].map(async (d) => [(await d.req('GET', '/usb/3')).text, (await d.req('GET', '/config/led_brightness')).text]));
  const r = compare(d5, other5, '--writes');
  t.equal(r.status, 0, r.stderr);
  t.same(r.rows.filter((x) => x.verdict !== 'identical' && x.verdict !== 'noise'), []);
  t.ok(r.rows.some((x) => x.request.startsWith('PUT /usb/3')), 'the writes were compared');
  const after = await Promise.all([d5, other5].map(async (d) => [(await d.req('GET', '/usb/3')).text, (await d.req('GET', '/config/led_brightness')).text]));
  t.same(after, before, 'USB port 3 and the LED brightness as they were');
});

t.test('a real difference is reported and fails', async (t) => {
  await other5.req('PUT', '/sim/controller', json({ firmware_version: [3, 2, 0, 255] }));
  t.teardown(() => other5.req('PUT', '/sim/controller', json({ firmware_version: [3, 3, 1, 255] })));
  const r = compare(d5, other5);
  t.equal(r.status, 1);
  t.match(r.rows.filter((x) => x.verdict === 'real').map((x) => x.request), ['GET /values', 'GET /values/firmware_version']);
  const text = spawnSync(process.execPath, [HALPI, '-s', d5.socket, 'compare', '--against', other5.socket], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  t.match(text.stdout, /GET \/values\/firmware_version\s+real\s+body/);
  t.match(text.stdout, /\d+ requests: \d+ identical, \d+ noise, \d+ known, 2 real\n$/);
});
