// halpi compare between halpid --simulate instances, and a fake daemon (a proxy in front of one
// that alters answers): the shape is compared, not the data; each known difference names the
// clients it breaks and the report ends with a recommendation; a real difference in shape fails;
// nothing is left changed and no standby goes to a 4.x daemon.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { socketRequest, type Reply } from '../../lib/socket-http.js';
import { HALPI, json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

let d5: RunningDaemon;
let d4: RunningDaemon;
let other5: RunningDaemon;

t.before(async () => {
  [d5, d4, other5] = await Promise.all([startDaemon(), startDaemon(['--api-compat', '4']), startDaemon()]);
});
t.teardown(async () => {
  await Promise.all([d5?.stop(), d4?.stop(), other5?.stop()]);
});

interface Row {
  request: string;
  verdict: string;
  note: string;
  differs: string[];
  breaks: string[];
}
interface Report {
  rows: Row[];
  broken: Record<string, string[]>;
  recommendation: string;
  skipped: string[];
}
/** halpi, run without blocking this process (the fake daemon below answers from it). */
const halpi = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [HALPI, ...args],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' } },
      (err, stdout, stderr) => {
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      },
    );
  });
const run = (ours: string, other: string, ...extra: string[]) =>
  halpi(['-s', ours, 'compare', '--against', other, ...extra]);
const compare = async (ours: string, other: string, ...extra: string[]) => {
  const r = await halpi(['-s', ours, '--json', 'compare', '--against', other, ...extra]);
  return {
    status: r.status,
    report: JSON.parse(r.stdout.trim().split('\n')[0] || '{"rows":[]}') as Report,
    stderr: r.stderr,
  };
};

/** A fake daemon: forwards to `target` and lets `alter` change an answer; records what it was asked. */
async function proxy(t: Test, target: string, alter: (req: string, r: Reply) => Reply) {
  const path = join(tempDir('halpi-compare-'), 'fake.sock');
  const asked: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString();
      const name = `${req.method} ${req.url}${body ? ` ${body}` : ''}`;
      asked.push(name);
      const headers = req.headers['content-type'] ? { 'Content-Type': req.headers['content-type'] } : undefined;
      const r = alter(
        name,
        await socketRequest(target, req.method!, req.url!, {
          ...(body ? { body } : {}),
          ...(headers ? { headers } : {}),
        }),
      );
      res.writeHead(r.status, r.type ? { 'Content-Type': r.type } : {});
      res.end(r.text);
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { path, asked };
}

t.test(
  'dialect 5 against dialect 4: known differences only, halpi 4.0.7 breaks, api-compat: 4 recommended',
  async (t) => {
    const r = await compare(d5.socket, d4.socket);
    t.equal(r.status, 1, 'a client that breaks fails the comparison');
    t.match(r.stderr, /clients of the other daemon break against this one: halpi 4\.0\.7/);
    t.same(
      r.report.rows.filter((x) => x.verdict === 'real'),
      [],
      'no real difference',
    );
    t.same(r.report.broken, { 'halpi 4.0.7': ['GET /values'] });
    t.match(
      r.report.rows.find((x) => x.request === 'GET /values'),
      {
        verdict: 'known',
        breaks: ['halpi 4.0.7'],
        note: /V_supercap and usb_port_state in dialect 4/,
      },
    );
    t.match(
      r.report.rows.find((x) => x.request === 'GET /values/V_supercap')?.note,
      /keys of the other dialect are unknown/,
    );
    t.match(r.report.rows.find((x) => x.request === 'GET /nope')?.note, /errors as plain text or empty in dialect 4/);
    t.match(r.report.recommendation, /^Set api-compat: 4 in \/etc\/halpid\/halpid\.conf if halpi 4\.0\.7 /);
    t.match(r.report.recommendation, /signalk-halpi 0\.1\.2 reads V_cap/);
    const text = await run(d5.socket, d4.socket);
    t.match(
      text.stdout,
      /halpi 4\.0\.7 +breaks \(GET \/values\)\n {2}signalk-halpi 0\.1\.2 +works\n {2}halpi 5\.0\.2 +works\n\nSet api-compat: 4/,
    );
  },
);

t.test('dialect 4 against dialect 5: signalk-halpi 0.1.2 breaks, api-compat: 5 recommended', async (t) => {
  const r = await compare(d4.socket, d5.socket);
  t.equal(r.status, 1);
  t.same(r.report.broken, { 'signalk-halpi 0.1.2': ['GET /values'] });
  t.match(r.report.recommendation, /^Set api-compat: 5 /);
});

t.test('two dialect-5 daemons agree; the extra requests and --writes leave nothing changed, no standby', async (t) => {
  const state = (d: RunningDaemon) =>
    Promise.all([d.req('GET', '/usb'), d.req('GET', '/config'), d.req('GET', '/sim')]).then(([u, c, s]) => [
      u.text,
      c.text,
      (JSON.parse(s.text) as { controller: { state: string } }).controller.state,
    ]);
  const before = await Promise.all([d5, other5].map(state));
  const r = await compare(d5.socket, other5.socket, '--writes');
  t.equal(r.status, 0, r.stderr);
  t.same(
    r.report.rows.filter((x) => x.verdict !== 'identical' && x.verdict !== 'data'),
    [],
  );
  for (const name of [
    'PUT /config/led_brightness (invalid JSON)',
    'POST /flash (no body)',
    'POST /standby {}',
    'PUT /usb/3 (changed)',
  ]) {
    t.ok(
      r.report.rows.some((x) => x.request === name),
      `${name} compared`,
    );
  }
  t.match(r.report.recommendation, /^Keep api-compat: 5/);
  t.same(await Promise.all([d5, other5].map(state)), before, 'USB, settings and the controller state as they were');
});

t.test('two controllers\' data is data, not a difference (halpid 4.0.7 on a fake bus: 3 "real" before)', async (t) => {
  await other5.req('PUT', '/sim/controller', json({ firmware_version: [3, 2, 0, 255] }));
  t.teardown(() => other5.req('PUT', '/sim/controller', json({ firmware_version: [3, 3, 1, 255] })));
  const r = await compare(d5.socket, other5.socket);
  t.equal(r.status, 0, r.stderr);
  const fw = r.report.rows.find((x) => x.request === 'GET /values/firmware_version')!;
  t.match(fw, { verdict: 'data', note: '(top): "3.3.1" vs "3.2.0"', differs: [] });
  t.match(
    r.report.rows.find((x) => x.request === 'GET /values'),
    { verdict: 'data', note: /firmware_version: "3\.3\.1" vs "3\.2\.0"/ },
  );
});

t.test(
  'a difference in shape is real and fails: a type, a missing key, a content type, number formatting',
  async (t) => {
    const fake = await proxy(t, other5.socket, (req, r) => {
      if (req === 'GET /config')
        return {
          ...r,
          text: r.text
            .replace(/"led_brightness":(\d+)/, '"led_brightness":"$1"')
            .replace(/"auto_restart":(true|false),/, ''),
        };
      if (req === 'GET /usb') return { ...r, type: 'text/plain' };
      if (req === 'GET /values/watchdog_timeout') return { ...r, text: `${Number(r.text)}` };
      return r;
    });
    const r = await compare(d5.socket, fake.path);
    t.equal(r.status, 1, r.stderr);
    const real = Object.fromEntries(r.report.rows.filter((x) => x.verdict === 'real').map((x) => [x.request, x.note]));
    t.same(Object.keys(real).sort(), ['GET /config', 'GET /usb', 'GET /values/watchdog_timeout']);
    t.match(real['GET /config'], /keys \(top\): \+auto_restart/);
    t.match(real['GET /config'], /type of led_brightness: number vs string/);
    t.match(real['GET /usb'], 'content type application/json vs text/plain');
    t.match(real['GET /values/watchdog_timeout'], 'number formatting (decimal vs int)');
    const text = await run(d5.socket, fake.path);
    t.equal(text.status, 1);
    t.match(text.stdout, /GET \/usb +real +content type application\/json vs text\/plain/);
    t.match(text.stdout, /\d+ requests: \d+ identical, \d+ data, \d+ known, 3 real\n/);
  },
);

t.test('no POST /standby {} to a halpid 4.x (4.0.7 took it as a standby) unless asked', async (t) => {
  const fake = await proxy(t, other5.socket, (req, r) =>
    req === 'GET /version' ? { ...r, text: '{"daemon_version":"4.0.7"}' } : r,
  );
  const r = await compare(d5.socket, fake.path);
  t.notOk(
    fake.asked.some((x) => x.startsWith('POST /standby')),
    'never sent',
  );
  t.match(r.report.skipped, [/^POST \/standby \{\}: not sent to halpid 4\.0\.7/]);
  t.ok(fake.asked.includes('POST /flash'), 'the bodyless flash went');
  const probe = await compare(d5.socket, fake.path, '--standby-probe');
  t.ok(fake.asked.includes('POST /standby {}'), '--standby-probe sends it');
  t.same(probe.report.skipped, []);
});
