// The daemon's optional faces in-process (standalone/daemon.ts): the web listener and the NUT
// server started with the daemon, a face whose port is taken (logged, reported down, retried
// until it binds, the supervisor running meanwhile), SIGHUP moving, adding and removing the web
// listener and changing its token, and a stop that closes every face with the watchdog disarmed.
// faces.test.ts and face-retry.test.ts check the same through the built halpid, which Stryker
// cannot see.
import t from 'tap';
import { request as httpRequest } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from '../../engine/version.js';
import { startInProcess as start, until } from '../helpers/daemon-inprocess.js';
import { freePort } from '../helpers/net.js';
import { nutClient } from '../helpers/nut-client.js';
import { tempDir } from '../helpers/tmp.js';

interface WebReply {
  status: number;
  text: string;
}

/** One request to a web listener on loopback, on its own connection. */
function web(
  port: number,
  method: string,
  path: string,
  opts: { token?: string; body?: string } = {},
): Promise<WebReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.token !== undefined) headers.Authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    }
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, agent: false, timeout: 15_000, headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 15 s`)));
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Whether a TCP connection to the loopback port is refused (nothing listens there). */
const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });

/** A loopback port held by another server, as another program would hold it. */
async function occupy(t: { teardown: (fn: () => unknown) => void }): Promise<{ port: number; free(): Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  let open = true;
  const free = () =>
    new Promise<void>((r) => {
      if (!open) return r();
      open = false;
      server.close(() => r());
    });
  t.teardown(free);
  return { port: (server.address() as { port: number }).port, free };
}

const TOKEN_LINE = /^Open the panel with (http:\/\/127\.0\.0\.1:(\d+)\/)#token=([A-Za-z0-9_-]+)$/;

t.test('web and NUT at start: served, in /metrics; a stop closes both and disarms the watchdog', async (t) => {
  const webPort = await freePort();
  const nutPort = await freePort();
  const d = await start(t, { web: `127.0.0.1:${webPort}`, 'nut-listen': `127.0.0.1:${nutPort}` });
  t.equal(d.daemon.webUrl, `http://127.0.0.1:${webPort}/`);
  t.ok(d.has('info', `Web panel listening on http://127.0.0.1:${webPort}/`));
  t.ok(d.has('info', `NUT server listening on 127.0.0.1:${nutPort} (UPS halpi2)`));
  const line = d.find('info', TOKEN_LINE);
  t.ok(line, 'the one-time token is logged with the panel URL');
  const [, url, , token] = TOKEN_LINE.exec(line ?? '') ?? [];
  t.equal(url, `http://127.0.0.1:${webPort}/`);
  t.equal(token?.length, 32, '24 random bytes, base64url');

  // The web API: reads for all, writes with the token, said as coming from the web listener.
  t.equal((await web(webPort, 'GET', '/api/version')).text, `{"daemon_version":"${VERSION}"}`);
  t.equal((await web(webPort, 'PUT', '/api/usb/1', { body: 'false', token: 'wrong' })).status, 403);
  t.equal((await web(webPort, 'PUT', '/api/usb/1', { body: 'false', token })).status, 204);
  t.ok(d.has('info', 'USB ports set by the web listener: usb1 on → off'));
  t.equal(
    (await web(webPort, 'POST', '/api/flash', { body: '{}', token })).status,
    404,
    'no firmware update over the web',
  );
  // Small JSON bodies only over the web: 64 KiB; the socket takes far more.
  const big = JSON.stringify({ pad: 'x'.repeat(64 * 1024) });
  t.equal((await web(webPort, 'PUT', '/api/usb/1', { body: big, token })).status, 413);
  t.not((await d.req('PUT', '/usb/1', { headers: { 'Content-Type': 'application/json' }, body: big })).status, 413);
  t.equal((await web(webPort, 'PUT', '/api/usb/1', { body: JSON.stringify(false).padEnd(60_000), token })).status, 204);

  // NUT: values fresh from the first client on.
  const nut = nutClient(nutPort);
  t.teardown(() => nut.sock.destroy());
  nut.send('GET VAR halpi2 ups.status\n');
  t.match((await nut.lines(1))[0], /^VAR halpi2 ups\.status "OL[^"]*"$/);

  const m = (await d.req('GET', '/metrics')).text;
  t.match(m, `halpi_face_up{face="web",address="127.0.0.1:${webPort}"} 1`);
  t.match(m, `halpi_face_up{face="nut",address="127.0.0.1:${nutPort}"} 1`);
  t.match(m, /^halpi_connections_open\{listener="socket"\} \d+$/m);
  t.match(m, /^halpi_connections_open\{listener="web"\} \d+$/m);
  t.match(m, /^halpi_connections_open\{listener="nut"\} 1$/m, 'the NUT client is counted');
  t.match(m, /^halpi_connections_dropped_total\{listener="nut"\} 0$/m);
  const webMetrics = (await web(webPort, 'GET', '/api/metrics')).text;
  t.match(webMetrics, `halpi_face_up{face="nut",address="127.0.0.1:${nutPort}"} 1`, '/metrics over the web too');
  t.match(webMetrics, /^halpi_connections_open\{listener="web"\} [1-9]\d*$/m, 'with its own connections');

  // The measurements stay fresh for NUT clients (stale after 5 s): read every second, not at
  // the idle pace, while the NUT server runs.
  t.equal(d.daemon.engine.blockIntervalMs, 1000);
  await until(() => d.sim.state === 'OperationalCoOp', 'the watchdog armed');
  t.equal(await d.daemon.stop('SIGTERM'), 0);
  t.equal(d.sim.snapshot().controller.watchdog_ms, 0, 'the watchdog disarmed');
  t.equal(d.daemon.engine.blockIntervalMs, 5000, "the NUT server's demand released");
  await nut.closed();
  t.ok(await refused(webPort), 'the web port is closed');
  t.ok(await refused(nutPort), 'the NUT port is closed');
  t.equal(d.daemon.webUrl, null);
});

t.test('a configured web token: not logged, and the only one that writes', async (t) => {
  const webPort = await freePort();
  const d = await start(t, { web: String(webPort), 'web-token': 'sesame-1234' });
  t.equal(d.daemon.webUrl, `http://127.0.0.1:${webPort}/`, 'a bare port is on 127.0.0.1');
  t.notOk(d.has('info', /Open the panel with/), 'no one-time token, and the configured one never logged');
  t.notOk(
    d.lines.some((l) => l.message.includes('sesame-1234')),
    'the token appears in no line',
  );
  t.equal((await web(webPort, 'PUT', '/api/usb/2', { body: 'false', token: 'sesame-1234' })).status, 204);
});

t.test(
  'faces on taken ports: logged, reported down, the supervisor runs, each face takes its port once free',
  async (t) => {
    const webHeld = await occupy(t);
    const nutHeld = await occupy(t);
    const d = await start(t, { web: `127.0.0.1:${webHeld.port}`, 'nut-listen': `127.0.0.1:${nutHeld.port}` });
    t.match(
      d.find('error', /^Cannot start the web listener/),
      new RegExp(
        `^Cannot start the web listener on 127\\.0\\.0\\.1:${webHeld.port}: listen EADDRINUSE.*; retrying \\(next in 1 s\\)$`,
      ),
    );
    t.match(
      d.find('error', /^Cannot start the NUT listener/),
      new RegExp(`^Cannot start the NUT listener on 127\\.0\\.0\\.1:${nutHeld.port}: listen EADDRINUSE.*; retrying`),
    );
    t.equal(d.daemon.webUrl, null);
    t.ok(d.has('info', 'Starting power management state machine'), 'start-up went on');
    const m = (await d.req('GET', '/metrics')).text;
    t.match(m, `halpi_face_up{face="web",address="127.0.0.1:${webHeld.port}"} 0`);
    t.match(m, `halpi_face_up{face="nut",address="127.0.0.1:${nutHeld.port}"} 0`);
    t.match(m, /halpi_face_error_info\{face="web",error="listen EADDRINUSE[^"]*"\} 1/);
    t.notMatch(m, /halpi_connections_open\{listener="(web|nut)"\}/, 'no clients counted for a face that is down');
    await until(() => d.sim.state === 'OperationalCoOp', 'the watchdog armed meanwhile');

    await webHeld.free();
    await nutHeld.free();
    await d.waitFor('info', `Web panel listening on http://127.0.0.1:${webHeld.port}/`);
    await d.waitFor('info', `NUT server listening on 127.0.0.1:${nutHeld.port} (UPS halpi2)`);
    await until(() => d.daemon.webUrl !== null, 'the web face up');
    t.equal(d.daemon.webUrl, `http://127.0.0.1:${webHeld.port}/`);
    t.equal((await web(webHeld.port, 'GET', '/api/version')).status, 200);
    // Both up in /metrics (the NUT face takes its server a few promise turns after its line).
    let after = '';
    for (let i = 0; i < 100 && !/halpi_face_up\{face="nut"[^}]*\} 1/.test(after); i++)
      after = (await d.req('GET', '/metrics')).text;
    t.match(after, `halpi_face_up{face="web",address="127.0.0.1:${webHeld.port}"} 1`);
    t.match(after, `halpi_face_up{face="nut",address="127.0.0.1:${nutHeld.port}"} 1`);
  },
);

t.test('a stop while a face waits to retry: 0, the watchdog disarmed', async (t) => {
  const held = await occupy(t);
  const d = await start(t, { web: `127.0.0.1:${held.port}` });
  await d.waitFor('error', /^Cannot start the web listener/);
  await until(() => d.sim.state === 'OperationalCoOp', 'the watchdog armed');
  t.equal(await d.daemon.stop('SIGTERM'), 0);
  t.equal(d.sim.snapshot().controller.watchdog_ms, 0);
});

t.test('reload: the web listener added, moved, kept when the new port is taken, removed, retried', async (t) => {
  const dir = tempDir('halpid-faces-');
  const conf = join(dir, 'halpid.conf');
  writeFileSync(conf, 'blackout-time-limit: 30\n');
  const d = await start(t, { 'blackout-time-limit': undefined }, [conf]);
  t.equal(d.daemon.webUrl, null);

  const first = await freePort();
  writeFileSync(conf, `web: 127.0.0.1:${first}\n`);
  await d.daemon.reload();
  t.ok(d.has('info', 'Configuration reloaded'));
  t.equal(d.daemon.webUrl, `http://127.0.0.1:${first}/`, 'added');
  t.equal(d.daemon.config.web, `127.0.0.1:${first}`);
  t.equal((await web(first, 'GET', '/api/version')).status, 200);
  const token = TOKEN_LINE.exec(d.find('info', TOKEN_LINE) ?? '')?.[3] ?? '';

  const second = await freePort();
  writeFileSync(conf, `web: 127.0.0.1:${second}\n`);
  await d.daemon.reload();
  t.equal(d.daemon.webUrl, `http://127.0.0.1:${second}/`, 'moved');
  t.ok(await refused(first), 'the old port is closed');
  t.equal((await web(second, 'PUT', '/api/usb/3', { body: 'false', token })).status, 204, 'the same one-time token');
  t.match((await d.req('GET', '/metrics')).text, `halpi_face_up{face="web",address="127.0.0.1:${second}"} 1`);

  const held = await occupy(t);
  writeFileSync(conf, `web: 127.0.0.1:${held.port}\n`);
  await d.daemon.reload();
  t.ok(
    d.has(
      'error',
      new RegExp(
        `^Cannot start the web listener on 127\\.0\\.0\\.1:${held.port}: listen EADDRINUSE.*; keeping the previous one$`,
      ),
    ),
  );
  t.equal(d.daemon.config.web, `127.0.0.1:${second}`, 'the previous address stays in force');
  t.equal(d.daemon.webUrl, `http://127.0.0.1:${second}/`);
  t.equal((await web(second, 'GET', '/api/version')).status, 200, 'still served');

  writeFileSync(conf, 'web: ""\n');
  await d.daemon.reload();
  t.equal(d.daemon.webUrl, null, 'removed');
  t.ok(await refused(second), 'its port is closed');
  t.notMatch((await d.req('GET', '/metrics')).text, /halpi_face_up\{/, 'no face left');

  // Nothing running to keep: the taken port is retried, as at start-up.
  const before = d.lines.length;
  await d.daemon.reload(); // unchanged: nothing to do for the web listener
  t.notOk(
    d.lines.slice(before).some((l) => /web listener/.test(l.message)),
    'an unchanged configuration leaves the faces alone',
  );
  writeFileSync(conf, `web: 127.0.0.1:${held.port}\n`);
  await d.daemon.reload();
  t.ok(
    d.has(
      'error',
      new RegExp(
        `^Cannot start the web listener on 127\\.0\\.0\\.1:${held.port}: listen EADDRINUSE.*; retrying \\(next in 1 s\\)$`,
      ),
    ),
  );
  t.equal(d.daemon.config.web, `127.0.0.1:${held.port}`, 'the new address is in force');
  t.match((await d.req('GET', '/metrics')).text, `halpi_face_up{face="web",address="127.0.0.1:${held.port}"} 0`);
  await held.free();
  await d.waitFor('info', `Web panel listening on http://127.0.0.1:${held.port}/`);
  // The face takes the listener a few promise turns after its line.
  await until(() => d.daemon.webUrl !== null, 'the web face up');
  t.equal(d.daemon.webUrl, `http://127.0.0.1:${held.port}/`);
});

t.test('reload: a new web token applies at once, the old one stops working', async (t) => {
  const dir = tempDir('halpid-faces-');
  const conf = join(dir, 'halpid.conf');
  const port = await freePort();
  writeFileSync(conf, `web: 127.0.0.1:${port}\nweb-token: first-token\n`);
  const d = await start(t, {}, [conf]);
  t.equal((await web(port, 'PUT', '/api/usb/1', { body: 'false', token: 'first-token' })).status, 204);
  writeFileSync(conf, `web: 127.0.0.1:${port}\nweb-token: second-token\n`);
  await d.daemon.reload();
  t.equal((await web(port, 'PUT', '/api/usb/1', { body: 'true', token: 'first-token' })).status, 403);
  t.equal((await web(port, 'PUT', '/api/usb/1', { body: 'true', token: 'second-token' })).status, 204);
  t.equal(d.daemon.webUrl, `http://127.0.0.1:${port}/`, 'the listener itself untouched');
  t.notOk(d.has('error', /./), 'and not restarted');
  writeFileSync(conf, `web: 127.0.0.1:${port}\nweb-token: second-token\napi-compat: 4\n`);
  await d.daemon.reload();
  t.equal(
    (await web(port, 'GET', '/api/version')).text,
    `{"daemon_version": "${VERSION}"}`,
    'the dialect reloaded on the web too',
  );
});

t.test("NUT: a primary's FSD is logged and shown in ups.status; a secondary may not set it", async (t) => {
  const port = await freePort();
  const d = await start(t, {
    'nut-listen': `127.0.0.1:${port}`,
    'nut-user': 'monuser',
    'nut-password': 'secret-pw',
    'nut-primary': true,
  });
  const c = nutClient(port);
  t.teardown(() => c.sock.destroy());
  c.send('USERNAME monuser\nPASSWORD secret-pw\nLOGIN halpi2\nFSD halpi2\nGET VAR halpi2 ups.status\n');
  const lines = await c.lines(5);
  t.same(lines.slice(0, 4), ['OK', 'OK', 'OK', 'OK FSD-SET']);
  t.match(lines[4], /^VAR halpi2 ups\.status "[^"]*FSD[^"]*"$/);
  t.ok(d.has('warn', 'Forced shutdown (FSD) set by a NUT primary'));

  const port2 = await freePort();
  const s = await start(t, {
    'nut-listen': `127.0.0.1:${port2}`,
    'nut-user': 'monuser',
    'nut-password': 'secret-pw',
  });
  const c2 = nutClient(port2);
  t.teardown(() => c2.sock.destroy());
  c2.send('USERNAME monuser\nPASSWORD secret-pw\nLOGIN halpi2\nFSD halpi2\n');
  t.same(await c2.lines(4), ['OK', 'OK', 'OK', 'ERR ACCESS-DENIED']);
  t.notOk(s.has('warn', /FSD/));
});
