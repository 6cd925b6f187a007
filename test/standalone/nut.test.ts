// halpid --nut with Debian's real NUT client: `upsc` lists the variables of the simulated
// HALPI2, and during a simulated power cut ups.status becomes OB, then FSD at the limit.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';

const hasUpsc = spawnSync('sh', ['-c', 'command -v upsc']).status === 0;
const skip = !hasUpsc && process.env.HALPI2_REQUIRE_NUT !== '1' ? 'no upsc: apt-get install nut-client' : false;


let d: RunningDaemon;
let port = 0;
t.before(async () => {
  if (skip) return;
  port = await freePort();
  d = await startDaemon(['--nut', String(port), '--blackout-time-limit', '2']);
});
t.teardown(() => d?.stop());

const upsc = (variable?: string) => {
  const r = spawnSync('upsc', [`halpi2@127.0.0.1:${port}`, ...(variable ? [variable] : [])], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
};

t.test('upsc lists the UPS and its variables', { skip }, async (t) => {
  t.match(d.logs(), new RegExp(`NUT server listening on 127\\.0\\.0\\.1:${port} \\(UPS halpi2\\)`));
  const r = upsc();
  if (r.status !== 0) t.comment(d.logs());
  t.equal(r.status, 0, r.err);
  const vars = Object.fromEntries(r.out.trim().split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
  t.equal(vars['ups.status'], 'OL');
  t.match(vars['input.voltage'], /^1\d\.\d\d$/);
  t.match(vars['battery.voltage'], /^\d+\.\d\d$/);
  t.match(vars['battery.charge'], /^\d+$/);
  t.equal(vars['battery.runtime'], '2', 'on input power: the blackout time limit');
  t.equal(vars['device.model'], 'HALPI2');
  t.equal(vars['device.mfr'], 'Hat Labs');
  t.equal(vars['driver.name'], 'halpid');
  for (const v of ['input.current', 'ups.temperature', 'device.serial', 'ups.firmware', 'driver.version']) t.ok(v in vars, v);
  const list = spawnSync('upsc', ['-l', `127.0.0.1:${port}`], { encoding: 'utf8' });
  t.equal(list.stdout.trim(), 'halpi2');
});

t.test('a simulated power cut: OB, then FSD at the limit', { skip }, async (t) => {
  await d.req('POST', '/sim/power', json({ on: false }));
  await d.waitLog(/Detected blackout/);
  t.match(upsc('ups.status').out.trim(), /^OB( LB)?$/);
  await d.waitLog(/BLACKOUT -> SHUTDOWN/);
  t.match(upsc('ups.status').out.trim(), /^FSD OB LB$/);
  t.equal(upsc('battery.runtime').out.trim(), '0');
});
