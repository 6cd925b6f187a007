// Under Signal K too, the panel comes back by itself after a controller outage: the plugin
// publishes nulls when its data goes stale and everything again when it returns; the panel
// follows without a reload. Each step waits for what the panel or the server shows.
import t from 'tap';
import type { Browser, Page } from 'playwright-core';
import { browserSkip, launch, openPage } from '../helpers/browser.js';
import { startSignalK, type SignalK } from '../helpers/signalk-server.js';

const skip = browserSkip();

let sk: SignalK;
let browser: Browser;
let page: Page;
let problems: string[];

t.before(async () => {
  if (skip) return;
  sk = await startSignalK({ mode: 'simulator', pollInterval: 500, engine: { poweroffCommand: 'true' } });
  browser = await launch();
  await sk.waitFor('electrical.halpi.dcInputVoltage', (v) => typeof v === 'number');
  ({ page, problems } = await openPage(browser, `http://127.0.0.1:${sk.port}/signalk-halpi2/`));
  await page.evaluate(() => {
    (window as unknown as { notReloaded: boolean }).notReloaded = true;
  });
});
t.teardown(async () => {
  await browser?.close();
  await sk?.stop();
});

const live = () =>
  page.waitForFunction(
    () => {
      const $ = (id: string) => document.getElementById(id)!;
      return (
        /^\d+\.\d\d$/.test($('v-in').textContent ?? '') &&
        [0, 1, 2, 3].every(
          (n) => /^USB \d: (on|off)$/.test($(`usb-${n}`).textContent ?? '') && !$(`usb-${n}`).hasAttribute('disabled'),
        )
      );
    },
    undefined,
    { timeout: 60_000 },
  );

t.test(
  "a bus fault until the plugin's data goes stale, then cleared: values and USB switches come back, no reload",
  { skip },
  async (t) => {
    await live();
    t.ok(
      (await sk.send('POST', '/plugins/signalk-halpi2/sim/faults', { kind: 'nack', count: 0 })).status < 300,
      'faults injected',
    );
    await sk.waitFor('electrical.halpi.usb.port0', (v) => v === null, 60_000);
    await page.waitForFunction(
      () =>
        document.getElementById('usb-0')?.textContent === 'USB 0: —' &&
        document.getElementById('v-in')?.textContent === '—',
    );
    t.ok(await page.locator('#usb-0').isDisabled(), 'unknown ports cannot be switched');
    t.ok((await sk.send('DELETE', '/plugins/signalk-halpi2/sim/faults')).status < 300, 'faults cleared');
    await live();
    t.ok(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true), 'no reload');
    t.same(
      problems.filter((p) => !/^Failed to load resource: the server responded with a status of [45]\d\d/.test(p)),
      [],
    );
  },
);
