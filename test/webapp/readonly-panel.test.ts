// The panel on a web listener bound to a non-loopback address without the token: it renders
// read-only and says so; with the token it may write. The listener runs in process on loopback
// but is told it is bound to a LAN address (no port is opened beyond loopback).
import t from 'tap';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createApi } from '../../engine/api/router.js';
import { RealClock } from '../../engine/clock.js';
import { Engine } from '../../engine/engine.js';
import { SimulatedController } from '../../engine/simulator/controller.js';
import { createWebApp } from '../../standalone/web.js';
import { browserSkip, launch, openPage, screenshot } from '../helpers/browser.js';
import { ROOT } from '../helpers/daemon.js';

// Skipped, with the command that installs the browser, where Debian's Chromium is missing.
const skip = browserSkip();

async function panel(t: { teardown(fn: () => unknown): void }, token: string) {
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
  const app = createWebApp({
    api,
    bound: { host: '192.0.2.10', port: 8080 },
    token: () => token,
    panelDir: join(ROOT, 'public'),
  });
  const server: Server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(async () => {
    api.close();
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
    await engine.stop();
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, sim };
}

let browser: Browser;
t.before(async () => {
  if (!skip) browser = await launch();
});
t.teardown(() => browser?.close());

const loaded = (page: Page) =>
  page.waitForFunction(() => /^\d+\.\d\d$/.test(document.getElementById('v-in')?.textContent ?? ''));

t.test('no token configured: values, but read-only, and it says why', { skip }, async (t) => {
  const { url } = await panel(t, '');
  const { page } = await openPage(browser, url);
  await loaded(page);
  await page.waitForFunction(() => !document.getElementById('readonly')!.hidden);
  t.match(
    await page.locator('#readonly-text').textContent(),
    /^Read-only: this listener is not on this computer and has no web token/,
  );
  t.notOk(await page.locator('#token-form').isVisible(), 'no token to ask for');
  for (const sel of ['#usb-0', '#cfg-led_brightness-save', '#shutdown', '#standby'])
    t.ok(await page.locator(sel).isDisabled(), `${sel} disabled`);
  await screenshot(t, page, 'halpid-panel-readonly');
  await page.close();
});

t.test('a token configured: read-only until it is given, then the switches work', { skip }, async (t) => {
  const { url, sim } = await panel(t, 's3cret');
  const { page } = await openPage(browser, url);
  await loaded(page);
  await page.waitForFunction(() => !document.getElementById('readonly')!.hidden);
  t.match(await page.locator('#readonly-text').textContent(), /^Read-only: enter the web token to make changes/);
  t.ok(await page.locator('#usb-3').isDisabled());
  await page.locator('#token').fill('wrong');
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/access')),
    page.locator('#token-form button').click(),
  ]);
  t.ok(await page.locator('#readonly').isVisible(), 'a wrong token unlocks nothing');
  await page.waitForFunction(() =>
    /^That is not the web token/.test(document.getElementById('readonly-text')!.textContent ?? ''),
  );
  t.pass('and the panel says the token was wrong');
  t.ok(await page.locator('#usb-3').isDisabled());
  await page.locator('#token').fill('s3cret');
  await page.locator('#token-form button').click();
  await page.waitForFunction(() => document.getElementById('readonly')!.hidden);
  await page.waitForFunction(() => !document.getElementById('usb-3')?.hasAttribute('disabled'));
  await page.locator('#usb-3').click();
  await page.waitForFunction(() => document.getElementById('usb-3')?.getAttribute('aria-checked') === 'false');
  t.equal(sim.snapshot().controller.usb & 8, 0, 'the port switched with the token');
  await page.close();
});
