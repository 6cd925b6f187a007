// The panel comes back by itself after a controller outage: a bus fault of over 10 s, and a power
// cut through to the shutdown and back, with no reload. Each step waits for what the panel (or the
// daemon) shows, never for a time.
import t from 'tap';
import type { Browser, Page } from 'playwright-core';
import { json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { browserSkip, launch, openPage } from '../helpers/browser.js';
import { freePort } from '../helpers/net.js';

const skip = browserSkip();

let d: RunningDaemon;
let browser: Browser;
let page: Page;
let problems: string[];

t.before(async () => {
  if (skip) return;
  const port = await freePort();
  d = await startDaemon(['--web', `127.0.0.1:${port}`]);
  browser = await launch();
  const url = /Open the panel with (\S+)$/.exec(await d.waitLog(/Open the panel with/))![1]!;
  ({ page, problems } = await openPage(browser, url));
  // A reload would lose this mark: the tests below check it is still there.
  await page.evaluate(() => {
    (window as unknown as { notReloaded: boolean }).notReloaded = true;
  });
});
t.teardown(async () => {
  await browser?.close();
  await d?.stop();
});

/** Live: the badge says connected, the values and the USB switches are back and usable. */
const live = () =>
  page.waitForFunction(
    () => {
      const $ = (id: string) => document.getElementById(id)!;
      return (
        $('conn').className === 'badge ok' &&
        /^\d+\.\d\d$/.test($('v-in').textContent ?? '') &&
        [0, 1, 2, 3].every(
          (n) => /^USB \d: (on|off)$/.test($(`usb-${n}`).textContent ?? '') && !$(`usb-${n}`).hasAttribute('disabled'),
        )
      );
    },
    undefined,
    { timeout: 60_000 },
  );

/** Stale: the panel says it has no values and the switches are unknown. */
const stale = () =>
  page.waitForFunction(
    () => {
      const $ = (id: string) => document.getElementById(id)!;
      return (
        $('conn').textContent === 'No values from the controller' &&
        $('usb-0').textContent === 'USB 0: —' &&
        $('usb-0').hasAttribute('disabled')
      );
    },
    undefined,
    { timeout: 60_000 },
  );

const notReloaded = () => page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true);

t.test(
  'after a bus fault of over 10 s the badge and the USB switches come back without a reload',
  { skip },
  async (t) => {
    await live();
    await d.req('POST', '/sim/faults', json({ kind: 'nack', count: 0 }));
    await stale();
    t.equal(await page.locator('#conn').getAttribute('class'), 'badge danger');
    // Hold the fault until the controller has been silent for 10 s: its watchdog (10 s, then 5 s of
    // grace) then has 5 s or less before it would power-cycle the computer.
    await page.waitForFunction(
      () => /power-cycle this computer in [0-5] s$/.test(document.getElementById('banner')?.textContent ?? ''),
      undefined,
      { timeout: 60_000 },
    );
    await d.req('DELETE', '/sim/faults');
    await live();
    t.match(await page.locator('#conn').textContent(), /^Connected to halpid /);
    t.ok(await page.locator('#banner').isHidden(), 'the controller banner is gone');
    t.ok(await notReloaded(), 'no reload');
    // The switches work again.
    const before = await page.locator('#usb-1').getAttribute('aria-checked');
    await page.locator('#usb-1').click();
    await page.waitForFunction((b) => document.getElementById('usb-1')?.getAttribute('aria-checked') !== b, before);
    t.equal(
      (await d.req('GET', '/usb/1')).text,
      before === 'true' ? 'false' : 'true',
      'the click reached the controller',
    );
  },
);

t.test(
  'after a power cut through to the shutdown and back, the panel is live again without a reload',
  { skip },
  async (t) => {
    await live();
    await d.req('POST', '/sim/power', json({ on: false }));
    await page.waitForFunction(() => document.getElementById('blackout')?.hidden === false);
    await page.waitForFunction(
      () => document.getElementById('bo-title')?.textContent === 'Shutting down after input power loss',
      undefined,
      { timeout: 60_000 },
    );
    // The simulated host halts and the controller cuts it: no values until the power returns.
    await stale();
    await d.req('POST', '/sim/power', json({ on: true }));
    await live();
    await page.waitForFunction(() => document.getElementById('daemon-state')?.textContent === 'OK', undefined, {
      timeout: 60_000,
    });
    t.ok(await page.locator('#blackout').isHidden(), 'the blackout view is gone');
    t.match(await page.locator('#conn').textContent(), /^Connected to halpid /);
    t.ok(await notReloaded(), 'no reload');
  },
);

t.test(
  'a panel opened while the controller is silent shows no made-up settings, and reads them when it answers',
  { skip },
  async (t) => {
    await live();
    await d.req('POST', '/sim/faults', json({ kind: 'nack', count: 0 }));
    // GET /config answers its fallback zeros now (docs/api.md): the panel must not show them.
    t.equal(JSON.parse((await d.req('GET', '/config')).text).power_on_threshold, 0, 'the daemon falls back on zeros');
    const second = await openPage(browser, page.url());
    const other = second.page;
    await other.waitForFunction(() => document.getElementById('banner')?.hidden === false);
    await other.waitForFunction(
      () => document.getElementById('conn')?.textContent === 'No values from the controller',
      undefined,
      { timeout: 60_000 },
    );
    t.equal(await other.locator('#usb-0').textContent(), 'USB 0: —');
    t.equal(await other.locator('#cfg-power_on_threshold').inputValue(), '', 'no power-on threshold of 0 V');
    t.notMatch(await other.locator('#chart').getAttribute('aria-label'), /power-on threshold/, 'no dashed line at 0 V');
    await d.req('DELETE', '/sim/faults');
    // It answers: the settings it holds, the line where it is.
    await other.waitForFunction(
      () => (document.getElementById('cfg-power_on_threshold') as HTMLInputElement).value === '8.00',
      undefined,
      { timeout: 60_000 },
    );
    t.equal(await other.locator('#cfg-watchdog_timeout').inputValue(), '10');
    // The chart names its lines when it next draws.
    await other.waitForFunction(() =>
      /power-on threshold 8\.0 V/.test(document.getElementById('chart')?.getAttribute('aria-label') ?? ''),
    );
    await other.close();
  },
);

t.test('no errors in the console', { skip }, async (t) => {
  t.same(
    problems.filter((p) => !/^Failed to load resource: the server responded with a status of [45]\d\d/.test(p)),
    [],
  );
});
