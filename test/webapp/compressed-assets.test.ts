// In Chromium: the panel's bundle and stylesheet arrive with the Content-Encoding the browser
// asked for (standalone/precompressed.ts), and the panel still runs from them.
import t from 'tap';
import { createServer, type Server } from 'node:http';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { createApi } from '../../engine/api/router.js';
import { RealClock } from '../../engine/clock.js';
import { Engine } from '../../engine/engine.js';
import { SimulatedController } from '../../engine/simulator/controller.js';
import { createWebApp } from '../../standalone/web.js';
import { browserSkip, launch } from '../helpers/browser.js';
import { ROOT } from '../helpers/daemon.js';

const skip = browserSkip();

let browser: Browser;
t.before(async () => {
  if (!skip) browser = await launch();
});
t.teardown(() => browser?.close());

t.test('the JS bundle and the stylesheet come compressed; the panel shows values from them', { skip }, async (t) => {
  const clock = new RealClock();
  const sim = new SimulatedController({ clock, start: 'host-running', hostGated: true });
  const engine = new Engine({
    bus: sim,
    simulator: sim,
    backend: 'simulator',
    clock,
    settings: { blackoutTimeLimitS: 5, blackoutVoltageLimitV: 9, dryRun: true, poweroffCommand: '' },
    actions: { poweroff: () => {}, rtcwake: async () => {} },
  });
  engine.start();
  const api = createApi({ engine, version: 'test', dialect: () => 5, flash: false });
  const server: Server = createServer(
    createWebApp({ api, bound: { host: '127.0.0.1', port: 1 }, token: () => '', panelDir: join(ROOT, 'public') }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(async () => {
    api.close();
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
    await engine.stop();
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;

  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  const bundle = page.waitForResponse((res) => new URL(res.url()).pathname === '/app.js');
  await page.goto(url);
  const res = await bundle;
  const headers = await res.allHeaders();
  const asked = (await res.request().allHeaders())['accept-encoding'] ?? '';
  t.comment(`Chromium asked for ${asked}; got ${headers['content-encoding']}`);
  t.equal(headers['content-encoding'], /\bbr\b/.test(asked) ? 'br' : 'gzip', 'the best encoding the browser accepts');
  t.equal(headers.vary, 'Accept-Encoding');
  t.match(headers['content-type'], /javascript/);
  await page.waitForFunction(() => /^\d+\.\d\d$/.test(document.getElementById('v-in')?.textContent ?? ''));
  const entries = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .map((e) => e as PerformanceResourceTiming)
      .filter((e) => /\/(app\.js|style\.css)$/.test(new URL(e.name).pathname))
      .map((e) => ({ path: new URL(e.name).pathname, transfer: e.encodedBodySize, decoded: e.decodedBodySize })),
  );
  t.equal(entries.length, 2, 'both loaded');
  for (const e of entries) {
    const size = statSync(join(ROOT, 'public', e.path.slice(1))).size;
    t.equal(e.decoded, size, `${e.path}: the whole file once decoded`);
    t.ok(e.transfer < size * 0.5, `${e.path}: ${e.transfer} bytes over the wire for ${size}`);
  }
  t.same(problems, [], 'no console errors');
  await page.close();
});
