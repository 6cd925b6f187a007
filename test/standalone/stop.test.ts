// A clean stop disarms the watchdog whatever clients are connected (docs/configuration.md,
// "Signals"): NUT clients (refused ones too, which never read their refusal), SSE streams, HTTP
// keep-alive and half-open connections on both listeners. The daemon's own deadline is 2 s: past
// it, it would log "Cleanup timed out" and exit 1.
import t from 'tap';
import { startDaemon } from '../helpers/daemon.js';
import { firstReply, head, open } from '../helpers/clients.js';
import { freePort } from '../helpers/net.js';

t.test('SIGTERM with 20 NUT, 5 SSE, 5 keep-alive and half-open connections: exit 0, watchdog disabled', async (t) => {
  const webPort = await freePort();
  const nutPort = await freePort();
  const d = await startDaemon(['--web', `127.0.0.1:${webPort}`, '--nut', `127.0.0.1:${nutPort}`]);
  t.teardown(() => d.stop());
  const web = { port: webPort };
  const unix = { path: d.socket };
  const host = `127.0.0.1:${webPort}`;

  // 20 NUT clients: the first ones are served; the ones past the server's slots are refused, and
  // never read the refusal nor close.
  const first = await open({ port: nutPort });
  t.match(await firstReply(first, 'VER\n'), /Network UPS Tools|halpid/i, 'a NUT client is served');
  for (let i = 1; i < 20; i++) await open({ port: nutPort });
  // 5 event streams, on both listeners.
  for (const [target, path] of [
    [web, '/api/events'],
    [web, '/api/events'],
    [web, '/api/events'],
    [unix, '/events'],
    [unix, '/events'],
  ] as const) {
    const s = await open(target);
    t.match(
      await firstReply(s, head('GET', path, 'path' in target ? 'localhost' : host)),
      /^HTTP\/1\.1 200 /,
      `SSE ${path}`,
    );
  }
  // 5 keep-alive connections after a complete exchange.
  for (const [target, path] of [
    [web, '/api/version'],
    [web, '/api/version'],
    [web, '/'],
    [unix, '/version'],
    [unix, '/version'],
  ] as const) {
    const s = await open(target);
    t.match(
      await firstReply(s, head('GET', path, 'path' in target ? 'localhost' : host)),
      /^HTTP\/1\.1 200 /,
      `keep-alive ${path}`,
    );
  }
  // Half-open: a request head never finished, and connections that say nothing.
  for (const target of [web, unix]) {
    (await open(target)).write('GET /version HTTP/1.1\r\nHost: local');
    await open(target);
  }
  await open({ port: nutPort }); // one more refused NUT client

  t.equal(await d.stop('SIGTERM'), 0, 'exit 0');
  t.match(d.logs(), /Watchdog disabled/);
  t.notMatch(d.logs(), /Cleanup timed out/, "within the daemon's own 2 s deadline");
  t.match(d.logs(), /Daemon shutdown complete/);
  t.notMatch(d.logs(), /Uncaught exception/);
});
