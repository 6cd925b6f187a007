// halpid --nut with Debian's real NUT client: `upsc` lists the variables of the simulated
// HALPI2, and during a simulated power cut ups.status becomes OB, then FSD at the limit. The OB
// part runs against a limit it cannot reach, so a slow upsc cannot race the shutdown.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { dischargeMeasured, stream } from '../helpers/events-stream.js';
import { freePort } from '../helpers/net.js';

const hasUpsc = spawnSync('sh', ['-c', 'command -v upsc']).status === 0;
const skip = !hasUpsc && process.env.HALPI2_REQUIRE_NUT !== '1' ? 'no upsc: apt-get install nut-client' : false;

let d: RunningDaemon;
let port = 0;
t.before(async () => {
  if (skip) return;
  port = await freePort();
  d = await startDaemon(['--nut', String(port), '--blackout-time-limit', '600']);
  // No load on the simulated supercap: it neither runs down nor shows LB in these seconds.
  await d.req('PUT', '/sim/host', json({ load_W: 0 }));
});
t.teardown(() => d?.stop());

const upsc = (variable?: string, at = port) => {
  const r = spawnSync('upsc', [`halpi2@127.0.0.1:${at}`, ...(variable ? [variable] : [])], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
};

t.test('upsc lists the UPS and its variables', { skip }, async (t) => {
  t.match(d.logs(), new RegExp(`NUT server listening on 127\\.0\\.0\\.1:${port} \\(UPS halpi2\\)`));
  const r = upsc();
  if (r.status !== 0) t.comment(d.logs());
  t.equal(r.status, 0, r.err);
  const vars = Object.fromEntries(
    r.out
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
  );
  t.equal(vars['ups.status'], 'OL');
  t.match(vars['input.voltage'], /^1\d\.\d\d$/);
  t.match(vars['battery.voltage'], /^\d+\.\d\d$/);
  t.match(vars['battery.charge'], /^\d+$/);
  t.equal(vars['battery.runtime'], '600', 'on input power: the blackout time limit');
  t.equal(vars['device.model'], 'HALPI2');
  t.equal(vars['device.mfr'], 'Hat Labs');
  t.equal(vars['driver.name'], 'halpid');
  for (const v of ['input.current', 'ups.temperature', 'device.serial', 'ups.firmware', 'driver.version'])
    t.ok(v in vars, v);
  const list = spawnSync('upsc', ['-l', `127.0.0.1:${port}`], { encoding: 'utf8' });
  t.equal(list.stdout.trim(), 'halpi2');
});

t.test('a simulated power cut: OB, the runtime counting down from the limit; OL again after', { skip }, async (t) => {
  const events = stream(d);
  t.teardown(() => events.close());
  const cutAt = Date.now();
  await d.req('POST', '/sim/power', json({ on: false }));
  await d.waitLog(/Detected blackout/);
  // Until the supercap's discharge is measured, its runtime is reckoned for an assumed load.
  await dischargeMeasured(events);
  // The supercap hardly moves in these seconds: far from its cut-off, so no LB.
  t.equal(upsc('ups.status').out.trim(), 'OB');
  const runtime = Number(upsc('battery.runtime').out.trim());
  const since = (Date.now() - cutAt) / 1000;
  t.ok(
    runtime <= 600 && runtime >= Math.floor(600 - since) - 1,
    `runtime ${runtime} s, ${since} s into the cut: what is left of the 600 s limit`,
  );
  await d.req('POST', '/sim/power', json({ on: true }));
  await d.waitLog(/Power resumed/);
  t.equal(upsc('ups.status').out.trim(), 'OL');
  t.equal(upsc('battery.runtime').out.trim(), '600');
});

t.test('a cut that lasts: FSD OB LB and no runtime once halpid shuts down', { skip }, async (t) => {
  // Its own daemon with a 1 s limit; the harmless poweroff runs for real (true), so the simulated
  // host stays up and the values stay fresh after the shutdown.
  const p = await freePort();
  const short = await startDaemon(['--nut', String(p), '--blackout-time-limit', '1', '--sim-execute-commands']);
  t.teardown(() => short.stop());
  await short.req('POST', '/sim/power', json({ on: false }));
  await short.waitLog(/BLACKOUT -> SHUTDOWN/);
  t.equal(upsc('ups.status', p).out.trim(), 'FSD OB LB');
  t.equal(upsc('battery.runtime', p).out.trim(), '0');
});
