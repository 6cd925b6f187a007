// The web listener's rules in process (standalone/web.ts): addresses, the Host check, the
// security headers, and who may write.
import t from 'tap';
import { serveOnLoopback } from '../helpers/net.js';
import { createServer, request as httpRequest } from 'node:http';
import { createApi } from '../../engine/api/router.js';
import { createWebApp, isLoopback, parseWebAddress, startWeb } from '../../standalone/web.js';
import { engineRig } from '../helpers/engine.js';
import { tempDir } from '../helpers/tmp.js';

t.test('addresses: host:port, [v6]:port, a bare port is loopback; what counts as loopback', async (t) => {
  t.same(parseWebAddress('8080'), { host: '127.0.0.1', port: 8080 });
  t.same(parseWebAddress('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
  t.same(parseWebAddress('[::1]:8080'), { host: '::1', port: 8080 });
  t.throws(() => parseWebAddress('nope'), { message: 'invalid web address "nope"' });
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) t.ok(isLoopback(h), h);
  for (const h of ['0.0.0.0', '192.0.2.10', '::', '128.0.0.1', '127.0.0.1.example.com']) t.notOk(isLoopback(h), h);
});

/** The web app on an ephemeral loopback port, told it is bound to `host`. */
async function serve(t: { teardown: (fn: () => unknown) => void }, host: string, token = 's3cret') {
  const { engine, rec, sim } = engineRig();
  const api = createApi({ engine, version: 'test', dialect: () => 5, flash: false });
  const app = createWebApp({ api, bound: { host, port: 8080 }, token: () => token });
  const port = await serveOnLoopback(t, app);
  const send = (method: string, path: string, body = '', headers: Record<string, string> = {}) =>
    new Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }>((resolve) => {
      const h: Record<string, string> = { 'Content-Type': 'application/json', Host: `localhost:${port}`, ...headers };
      const req = httpRequest({ host: '127.0.0.1', port, method, path, agent: false, headers: h }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      });
      req.end(body);
    });
  return { send, rec, sim, port };
}

const READ_ONLY =
  '403 {"error":"Read-only: writes over the web listener need the web token (Authorization: Bearer <token>)"}';
const WRITES: Array<[string, string, string]> = [
  ['PUT', '/api/usb/1', 'true'],
  ['POST', '/api/shutdown', ''],
  ['POST', '/api/standby', '{"delay":60}'],
  ['POST', '/api/sim/power', '{"on":false}'],
  ['POST', '/api/sim/faults', '{"kind":"nack"}'],
  ['DELETE', '/api/sim/faults', ''],
];

t.test('a listener bound to a non-loopback address: every write needs the token; reads do not', async (t) => {
  const { send, rec, sim } = await serve(t, '192.0.2.10');
  for (const [method, path, body] of WRITES) {
    const r = await send(method, path, body);
    t.equal(`${r.status} ${r.text}`, READ_ONLY, `${method} ${path} without the token`);
    t.equal(
      (await send(method, path, body, { Authorization: 'Bearer nope!' })).status,
      403,
      `${method} ${path}: a wrong token of the same length`,
    );
    t.equal(
      (await send(method, path, body, { Authorization: 's3cret' })).status,
      403,
      `${method} ${path}: not a Bearer token`,
    );
  }
  t.same(rec.poweroff, [], 'no poweroff ran');
  t.same(rec.rtcwake, [], 'no rtcwake ran');
  t.equal(sim.faults.list().length, 0, 'no fault rule was added');
  t.equal(sim.powerConnected, true, 'the simulated power stayed on');
  t.equal((await send('GET', '/api/version')).status, 200, 'reads need no token');
  t.equal(
    (await send('PUT', '/api/usb/1', 'true', { Authorization: 'Bearer s3cret' })).status,
    204,
    'the right token writes',
  );
  t.equal((await send('POST', '/api/sim/power', '{"on":false}', { Authorization: 'Bearer s3cret' })).status, 204);
  t.equal(sim.powerConnected, false, 'and it took effect');
});

/** One request written byte for byte (Node's client would tidy its headers); the status line back. */
async function rawRequest(port: number, bytes: string): Promise<string> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(bytes));
    let text = '';
    s.on('data', (c: Buffer) => {
      text += c.toString('latin1');
    });
    s.on('error', reject);
    s.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
  });
}

t.test('without a configured token nothing can write over a non-loopback listener', async (t) => {
  const { send, port, sim } = await serve(t, '192.0.2.10', '');
  // "Bearer " and an empty token, exactly as sent. (The server's parser trims the trailing space,
  // so the empty-token rule itself is checked on authorised() below.)
  for (const auth of ['Bearer ', 'Bearer', 'Bearer \t']) {
    const status = await rawRequest(
      port,
      `POST /api/sim/power HTTP/1.1\r\nHost: localhost:${port}\r\nAuthorization: ${auth}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{"on":false}',
    );
    t.equal(status, 'HTTP/1.1 403 Forbidden', JSON.stringify(auth));
  }
  t.equal(sim.powerConnected, true, 'the power stayed on');
  t.equal(`${(await send('PUT', '/api/usb/1', 'true')).status}`, '403');
});

t.test('a loopback listener needs the token too: any local user and any web page can reach loopback', async (t) => {
  const { send, sim, rec } = await serve(t, '127.0.0.1');
  for (const [method, path, body] of WRITES)
    t.equal(`${(await send(method, path, body)).status}`, '403', `${method} ${path} without the token`);
  t.same(rec.poweroff, []);
  t.equal(sim.powerConnected, true);
  t.equal((await send('POST', '/api/sim/power', '{"on":false}', { Authorization: 'Bearer s3cret' })).status, 204);
  t.equal(sim.powerConnected, false);
});

t.test('cross-origin writes are refused, with the token or without; same-origin ones with it pass', async (t) => {
  const { send, sim, rec, port } = await serve(t, '127.0.0.1');
  const auth = { Authorization: 'Bearer s3cret' };
  const CROSS = '403 {"error":"Cross-origin write refused"}';
  for (const headers of <Array<Record<string, string>>>[
    { Origin: 'http://127.0.0.2:18999' },
    { Origin: 'null' },
    { 'Sec-Fetch-Site': 'cross-site' },
    { 'Sec-Fetch-Site': 'same-site' },
    { Origin: 'https://localhost' },
  ]) {
    for (const [method, path, body] of WRITES) {
      const r = await send(method, path, body, { ...auth, ...headers });
      t.equal(`${r.status} ${r.text}`, CROSS, `${method} ${path} ${JSON.stringify(headers)}`);
    }
  }
  t.same(rec.poweroff, [], 'no poweroff ran');
  t.equal(sim.powerConnected, true);
  // The listener's own origin as the request named it (Host), and what curl sends (neither header).
  t.equal(
    (await send('PUT', '/api/usb/1', 'true', { ...auth, Origin: `http://localhost:${port}` })).status,
    204,
    'Origin: this listener',
  );
  t.equal(
    (await send('PUT', '/api/usb/1', 'true', { ...auth, 'Sec-Fetch-Site': 'same-origin' })).status,
    204,
    'Sec-Fetch-Site: same-origin',
  );
  t.equal((await send('PUT', '/api/usb/1', 'true', auth)).status, 204, 'no browser headers (curl)');
  t.equal(
    (await send('GET', '/api/version', '', { Origin: 'http://127.0.0.2:18999', 'Sec-Fetch-Site': 'cross-site' }))
      .status,
    200,
    'reads are not writes',
  );
});

t.test(
  'a write must be a request no page can send without a preflight; text/plain bodies too (dialect 4)',
  async (t) => {
    const { writeRefusal, isNonSimple } = await import('../../standalone/web.js');
    const req = (headers: Record<string, string>) =>
      ({ headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) }) as never;
    t.notOk(isNonSimple(req({ 'Content-Type': 'text/plain' })), 'text/plain is simple');
    t.notOk(isNonSimple(req({ 'Content-Type': 'application/x-www-form-urlencoded' })));
    t.notOk(isNonSimple(req({ 'Content-Type': 'multipart/form-data; boundary=x' })));
    t.notOk(isNonSimple(req({})), 'no body, no header: a form could send it');
    t.notOk(isNonSimple(req({ 'X-Halpi-Request': '0' })));
    t.ok(isNonSimple(req({ 'Content-Type': 'application/json; charset=utf-8' })));
    t.ok(isNonSimple(req({ 'Content-Type': 'application/merge-patch+json' })));
    t.ok(isNonSimple(req({ 'X-Halpi-Request': '1' })));
    t.ok(isNonSimple(req({ Authorization: 'Bearer x' })));
    t.ok(isNonSimple(req({ 'Content-Type': 'Application/JSON ; charset=utf-8' })), 'any case, blanks before ;');
    for (const type of ['text/application/json', 'application/jsonp', 'application/json-seq', 'xapplication/json']) {
      t.notOk(isNonSimple(req({ 'Content-Type': type })), `${type}: not JSON, a page may send it`);
    }
    // Sec-Fetch-Site: what the user typed or bookmarked (none) and the listener's own page pass.
    for (const site of ['none', 'same-origin']) {
      t.equal(writeRefusal(req({ Authorization: 'Bearer k', 'Sec-Fetch-Site': site }), 'k'), null, site);
    }
    for (const site of ['same-site', 'cross-site', '']) {
      t.same(
        writeRefusal(req({ Authorization: 'Bearer k', 'Sec-Fetch-Site': site }), 'k'),
        { status: 403, body: '{"error":"Cross-origin write refused"}' },
        JSON.stringify(site),
      );
    }
    t.same(writeRefusal(req({ 'Content-Type': 'text/plain', Host: 'localhost:1' }), ''), {
      status: 403,
      body: '{"error":"Writes need Content-Type: application/json or X-Halpi-Request: 1"}',
    });
    t.same(
      writeRefusal(req({ 'X-Halpi-Request': '1', Host: 'localhost:1', Origin: 'http://localhost:1' }), 'k')?.status,
      403,
      'no token',
    );
    t.equal(
      writeRefusal(req({ Authorization: 'Bearer k', Host: 'localhost:1', Origin: 'http://localhost:1' }), 'k'),
      null,
      'same origin, token',
    );
    t.equal(
      writeRefusal(req({ Authorization: 'Bearer k', Host: 'LOCALHOST:1', Origin: 'http://localhost:1' }), 'k'),
      null,
      'any case',
    );
    t.equal(
      writeRefusal(req({ Authorization: 'Bearer k', Host: 'localhost:1', Origin: 'http://localhost:2' }), 'k')?.status,
      403,
      'another port',
    );
  },
);

t.test('the token: compared as digests, so any length and content is simply wrong; never an empty one', async (t) => {
  const { authorised } = await import('../../standalone/web.js');
  const req = (auth?: string) => ({ headers: auth === undefined ? {} : { authorization: auth } }) as never;
  t.ok(authorised(req('Bearer s3cret'), 's3cret'));
  for (const wrong of [
    'Bearer ',
    'Bearer s',
    'Bearer s3cre',
    'Bearer s3cret!',
    `Bearer ${'x'.repeat(10_000)}`,
    'Bearer S3CRET',
    's3cret',
  ]) {
    t.notOk(authorised(req(wrong), 's3cret'), JSON.stringify(wrong.slice(0, 20)));
  }
  t.notOk(authorised(req('Bearer '), ''), 'an empty token never matches');
  t.notOk(authorised(req(), 's3cret'));
});

t.test('the Host check and the security headers', async (t) => {
  const { send } = await serve(t, '127.0.0.1');
  const r = await send('GET', '/api/version');
  t.equal(r.status, 200);
  t.equal(r.headers['content-security-policy'], "default-src 'self'");
  t.equal(r.headers['x-content-type-options'], 'nosniff');
  t.equal(r.headers['referrer-policy'], 'no-referrer');
  t.notOk('access-control-allow-origin' in r.headers, 'no CORS');
  t.equal((await send('GET', '/api/version', '', { Host: 'evil.example.com' })).status, 421, 'DNS rebinding guard');
  t.equal((await send('GET', '/api/version', '', { Host: '127.0.0.1:8080' })).status, 200, 'the bound address');
  t.equal((await send('GET', '/api/flash')).status, 404, 'no /api/flash over TCP');
});

t.test('addresses and loopback: anchored on both ends', async (t) => {
  for (const bad of ['x[::1]:80', '[::1]:80x', 'host:80x', 'x:y:80', '80x', ''])
    t.throws(
      () => parseWebAddress(bad),
      { message: `invalid web address ${JSON.stringify(bad)}` },
      JSON.stringify(bad),
    );
  for (const h of ['127.10.0.1', '127.0.10.1', '127.0.0.10']) t.ok(isLoopback(h), h);
  for (const h of ['x127.0.0.1', '127.0.0.1x', '127.0.0']) t.notOk(isLoopback(h), h);
});

t.test('the Host header: case, brackets, ports; the 421 and 403 answers', async (t) => {
  const { send } = await serve(t, 'Example.LAN');
  t.equal(
    (await send('GET', '/api/version', '', { Host: 'example.lan:8080' })).status,
    200,
    'the bound name, any case',
  );
  t.equal((await send('GET', '/api/version', '', { Host: 'LOCALHOST' })).status, 200);
  t.equal((await send('GET', '/api/version', '', { Host: '[::1]:8080' })).status, 200, 'a bracketed local address');
  t.equal(
    (await send('GET', '/api/version', '', { Host: '[::1]' })).status,
    200,
    'a bracketed local address without a port',
  );
  for (const h of [
    'localhost:80x',
    'x[::1]',
    '[::1]x',
    'localhostx',
    'a:b:c',
    'evil:127.0.0.1',
    'evil:localhost',
    '[::1]:',
  ]) {
    const r = await send('GET', '/api/version', '', { Host: h });
    t.equal(
      `${r.status} ${r.headers['content-type']} ${r.text}`,
      '421 text/plain; charset=utf-8 Misdirected Request\n',
      h,
    );
  }
  const denied = await send('PATCH', '/api/usb/1', 'true', { Authorization: 'Bearer wrong!' });
  t.equal(`${denied.status} ${denied.headers['content-type']}`, '403 application/json', 'PATCH is a write too');
  t.equal(
    (await send('PUT', '/api/usb/1', 'true', { Authorization: 'xBearer s3cret' })).status,
    403,
    'Bearer must start the header',
  );
  t.equal((await send('PUT', '/api/usb/1', 'true', { Authorization: 'Bearer s3cretx' })).status, 403);
  t.equal(
    (await send('PUT', '/api/usb/1', 'true', { Authorization: 'bearer s3cret' })).status,
    403,
    'the scheme as written',
  );
  t.equal((await send('PUT', '/api/usb/1', 'true', { Authorization: 'Bearer  s3cret' })).status, 403, 'one space');
  t.equal((await send('PUT', '/api/usb/1', 'true', { Authorization: 'Bearer s3cret' })).status, 204);
  t.notOk('x-powered-by' in denied.headers);
});

t.test('the panel directory is served when it exists; a placeholder otherwise; no ETag', async (t) => {
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { engine } = engineRig();
  const api = createApi({ engine, version: 'test', dialect: () => 5, flash: false });
  const dir = tempDir('halpid-panel-');
  writeFileSync(join(dir, 'index.html'), '<p>the panel</p>');
  for (const [panelDir, expect] of [
    [dir, '<p>the panel</p>'],
    [join(dir, 'missing'), 'halpid is running'],
    [undefined, 'halpid is running'],
  ] as const) {
    const server = createServer(
      createWebApp({ api, bound: { host: '127.0.0.1', port: 1 }, token: () => '', panelDir }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const r = await new Promise<{ text: string; headers: Record<string, unknown> }>((resolve) => {
      httpRequest({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ text, headers: res.headers }));
      }).end();
    });
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
    t.match(r.text, expect, String(panelDir));
    t.notOk('etag' in r.headers, 'no ETag');
    t.match(r.headers['content-type'], /^text\/html/, 'served as HTML');
  }
});

t.test('startWeb: listens, names its URL, answers, refuses a used port with the error, and closes', async (t) => {
  const { engine } = engineRig();
  const api = createApi({ engine, version: 'test', dialect: () => 5, flash: false });
  const lines: string[] = [];
  const logger = {
    info: (m: string) => lines.push(m),
    warn: (m: string) => lines.push(m),
    error: (m: string) => lines.push(m),
  };
  const web = await startWeb({ address: '127.0.0.1:0', api, token: () => '', logger });
  const port = (web.server.address() as { port: number }).port;
  t.equal(web.url, `http://127.0.0.1:${port}/`, 'the port the system chose');
  t.same(lines, [`Web panel listening on http://127.0.0.1:${port}/`]);
  const get = (path: string, host = `127.0.0.1:${port}`) =>
    new Promise<{ status: number; text: string; type: unknown }>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port, path, agent: false, headers: { Host: host } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, type: res.headers['content-type'] }));
      })
        .on('error', reject)
        .end();
    });
  t.same(await get('/api/version'), { status: 200, text: '{"daemon_version":"test"}', type: 'application/json' });
  t.equal((await get('/')).status, 200, 'the placeholder page');
  t.equal((await get('/no-such-page')).status, 404, 'only / is the placeholder');
  const headers = { Host: `127.0.0.1:${port}`, 'X-Pad': 'x'.repeat(10 * 1024) };
  const big = await new Promise<number>((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: '/api/version', agent: false, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
  t.equal(big, 431, 'headers over MAX_HEADER_BYTES (8 KiB, not the 16 KiB of Node): 431');
  t.equal(web.server.requestTimeout, 0, 'event streams are not cut by a request timeout');
  t.equal(web.server.listenerCount('error'), 0, 'no start-up error handler left behind');
  // A second listener on the same port fails with the system's error.
  await t.rejects(startWeb({ address: `127.0.0.1:${port}`, api, token: () => '', logger }), { code: 'EADDRINUSE' });
  // An open connection does not hold close() up.
  const { connect } = await import('node:net');
  const idle = connect(port, '127.0.0.1');
  await new Promise<void>((r) => idle.once('connect', () => r()));
  const closedByServer = new Promise<void>((r) => idle.once('close', () => r()));
  await web.close();
  await closedByServer;
  t.equal(web.server.listening, false);
});

t.test('startWeb on an IPv6 address names it in brackets', async (t) => {
  const { engine } = engineRig();
  const api = createApi({ engine, version: 'test', dialect: () => 5, flash: false });
  const lines: string[] = [];
  const logger = { info: (m: string) => lines.push(m), warn() {}, error() {} };
  const web = await startWeb({ address: '[::1]:0', api, token: () => '', logger }).catch(
    (e: NodeJS.ErrnoException) => e,
  );
  if (web instanceof Error) {
    t.equal(web.code, 'EADDRNOTAVAIL', 'only where IPv6 is off');
    return;
  }
  const port = (web.server.address() as { port: number }).port;
  t.equal(web.url, `http://[::1]:${port}/`);
  t.same(lines, [`Web panel listening on http://[::1]:${port}/`]);
  await web.close();
});

t.test('GET /access tells the panel whether it may write, and whether a token would help', async (t) => {
  const open = await serve(t, '127.0.0.1');
  t.same(
    JSON.parse((await open.send('GET', '/access')).text),
    { write: false, token: true },
    'loopback: the token too',
  );
  t.same(JSON.parse((await open.send('GET', '/access', '', { Authorization: 'Bearer s3cret' })).text), {
    write: true,
    token: true,
  });
  const lan = await serve(t, '192.0.2.10');
  t.same(JSON.parse((await lan.send('GET', '/access')).text), { write: false, token: true }, 'a token is configured');
  t.same(JSON.parse((await lan.send('GET', '/access', '', { Authorization: 'Bearer s3cret' })).text), {
    write: true,
    token: true,
  });
  t.same(JSON.parse((await lan.send('GET', '/access', '', { Authorization: 'Bearer wrong!' })).text), {
    write: false,
    token: true,
  });
  const none = await serve(t, '192.0.2.10', '');
  t.same(
    JSON.parse((await none.send('GET', '/access')).text),
    { write: false, token: false },
    'read-only, and no token exists',
  );
});
