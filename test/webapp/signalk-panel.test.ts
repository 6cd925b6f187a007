// The panel as a Signal K webapp, in headless Chromium, against a real signalk-server 2.23.0 with
// the plugin in simulator mode: listed by the server, loads, shows live values, and a USB switch
// works through the plugin's PUT handler.
import t, { type Test } from 'tap';
import type { Browser, Page } from 'playwright-core';
import { browserSkip, launch, openPage, screenshot } from '../helpers/browser.js';
import { startSignalK, type SignalK } from '../helpers/signalk-server.js';

// Skipped, with the command that installs the browser, where Debian's Chromium is missing.
const skip = browserSkip();

let sk: SignalK;
let browser: Browser;
const SETTINGS = { mode: 'simulator', pollInterval: 500, engine: { poweroffCommand: 'true' } };

t.before(async () => {
  if (skip) return;
  sk = await startSignalK(SETTINGS);
  browser = await launch();
});
t.teardown(async () => {
  await browser?.close();
  await sk?.stop();
});

t.test('the server lists the webapp and serves its page', { skip }, async (t) => {
  const apps = await sk.get('/skServer/webapps');
  t.equal(apps.status, 200);
  const mine = (apps.body as Array<{ name: string; signalk?: { displayName?: string; appIcon?: string } }>).find(
    (a) => a.name === 'signalk-halpi2',
  );
  t.ok(mine, 'signalk-halpi2 is listed');
  t.equal(mine?.signalk?.displayName, 'HALPI2');
  t.equal(mine?.signalk?.appIcon, 'icon.png');
  const icon = await fetch(`http://127.0.0.1:${sk.port}/signalk-halpi2/icon.png`);
  t.equal(icon.status, 200);
  t.equal(icon.headers.get('content-type'), 'image/png');
  const manifest = await fetch(`http://127.0.0.1:${sk.port}/signalk-halpi2/manifest.webmanifest`);
  t.equal(manifest.status, 200, 'the web app manifest is served too');
  t.equal(((await manifest.json()) as { name: string }).name, 'HALPI2 power');
});

/** Each subtest opens its own page (so any one runs alone, in any order), closed at its end. */
async function openPanel(t: Test): Promise<{ page: Page; problems: string[] }> {
  await sk.waitFor('electrical.halpi.dcInputVoltage', (v) => typeof v === 'number');
  const opened = await openPage(browser, `http://127.0.0.1:${sk.port}/signalk-halpi2/`);
  t.teardown(() => opened.page.close());
  await opened.page.waitForFunction(() => /^\d+\.\d\d$/.test(document.getElementById('v-in')?.textContent ?? ''));
  return opened;
}

t.test('the panel loads and shows live values from Signal K', { skip }, async (t) => {
  const { page } = await openPanel(t);
  t.equal(await page.locator('#conn').textContent(), 'Connected to Signal K');
  // Each path comes in its own delta: the controller's state and the firmware version may each
  // follow V_in by a moment, in either order.
  const shown = (id: string) =>
    page.waitForFunction((id) => (document.getElementById(id)?.textContent ?? '—') !== '—', id);
  await shown('power-state');
  t.match(await page.locator('#power-state').textContent(), /^Operational/);
  await shown('fw');
  t.match(await page.locator('#fw').textContent(), /^\d+\.\d+\.\d+/);
  t.ok(await page.locator('#sim').isVisible(), 'simulator mode shows the simulator drawer');
  t.ok(await page.locator('#shutdown').isDisabled(), 'no shutdown handler: the button is disabled');
  await screenshot(t, page, 'signalk-panel');
});

t.test('a USB switch works through PUT', { skip }, async (t) => {
  const { page } = await openPanel(t);
  // Port 1 on first (the simulator's start), whatever an earlier subtest did.
  t.equal(
    (await sk.send('PUT', '/signalk/v1/api/vessels/self/electrical/halpi/usb/port1', { value: true })).status,
    200,
    'port 1 on',
  );
  await sk.waitFor('electrical.halpi.usb.port1', (v) => v === true);
  await page.waitForFunction(
    () =>
      document.getElementById('usb-1')?.getAttribute('aria-checked') === 'true' &&
      !(document.getElementById('usb-1') as HTMLButtonElement).disabled,
  );
  await page.locator('#usb-1').click();
  await sk.waitFor('electrical.halpi.usb.port1', (v) => v === false);
  await page.waitForFunction(() => document.getElementById('usb-1')?.getAttribute('aria-checked') === 'false');
  const sim = await sk.get('/plugins/signalk-halpi2/sim');
  t.equal(sim.body.controller.usb & 2, 0, 'the simulated port 1 is off');
  t.equal(await page.locator('#usb-msg').textContent(), 'USB 1 off');
});

t.test(
  'a setting: out of range refused before sending; a write shows what the controller holds, read back',
  { skip },
  async (t) => {
    const { page } = await openPanel(t);
    await page.waitForFunction(() => !(document.getElementById('cfg-led_brightness') as HTMLInputElement).disabled);
    const save = async (value: string) => {
      await page.locator('#cfg-led_brightness-msg').evaluate((el) => {
        el.textContent = '';
      });
      await page.locator('#cfg-led_brightness').fill(value);
      await page.locator('#cfg-led_brightness-save').click();
      await page.waitForFunction(
        () => !['', 'Saving…'].includes(document.getElementById('cfg-led_brightness-msg')?.textContent ?? ''),
      );
      return page.locator('#cfg-led_brightness-msg').textContent();
    };
    t.equal(await save('300'), 'LED brightness must be from 0 to 255; 300 is out of range');
    t.equal(await save('40'), 'Controller now holds 40');
    const sim = await sk.get('/plugins/signalk-halpi2/sim');
    t.equal(sim.body.controller.led_brightness, 40, 'the simulated controller holds 40');
  },
);

t.test(
  "a power cut from the simulator drawer: the blackout view counts down to the shutdown from the plugin's paths",
  { skip },
  async (t) => {
    const { page, problems } = await openPanel(t);
    // The cut ends in a (simulated) shutdown: later subtests get a fresh plugin and simulator.
    t.teardown(() => configure(SETTINGS));
    // Every value the timer shows, in order.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      const el = document.getElementById('bo-timer')!;
      new MutationObserver(() => {
        if (seen.at(-1) !== el.textContent) seen.push(el.textContent ?? '');
      }).observe(el, { childList: true, characterData: true, subtree: true });
    });
    await page.locator('#sim summary').click();
    await page.locator('#sim-cut').click();
    await page.waitForFunction(
      () =>
        document.getElementById('blackout')?.hidden === false &&
        /^\d+$/.test(document.getElementById('bo-timer')?.textContent ?? ''),
    );
    t.equal(await page.locator('#bo-title').textContent(), 'Input power lost: running on the supercap');
    // The count is the plugin's path, not a message's text.
    const left = (await sk.get('/signalk/v1/api/vessels/self/electrical/halpi/blackout/timeToShutdown/value'))
      .body as number;
    t.type(left, 'number', 'the plugin publishes the seconds to the shutdown');
    t.match(await page.locator('#bo-charge').textContent(), /^\d+$/);
    // A panel opened now shows the blackout at once.
    const late = await openPage(browser, `http://127.0.0.1:${sk.port}/signalk-halpi2/`);
    await late.page.waitForFunction(
      () =>
        document.getElementById('blackout')?.hidden === false &&
        /^\d+$/.test(document.getElementById('bo-timer')?.textContent ?? ''),
    );
    await screenshot(t, page, 'signalk-panel-blackout');
    await page.waitForFunction(
      () => document.getElementById('bo-title')?.textContent === 'Shutting down after input power loss',
      undefined,
      { timeout: 30_000 },
    );
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    const counts = seen.filter((x) => /^\d+$/.test(x)).map(Number);
    t.comment(`the timer showed ${seen.join(' ')}`);
    t.ok(
      counts.length >= 3 && counts.every((c, i) => i === 0 || c === counts[i - 1]! - 1),
      'one second down at a time',
    );
    t.ok(counts.at(-1)! <= 1, 'down to the shutdown');
    await late.page.waitForFunction(
      () => document.getElementById('bo-title')?.textContent === 'Shutting down after input power loss',
    );
    await late.page.close();
    t.same(
      [...problems, ...late.problems].filter(
        (p) => !/^Failed to load resource: the server responded with a status of [45]\d\d/.test(p),
      ),
      [],
    );
  },
);

/** Store new settings through the server (as the Admin UI's Save does) and wait for the plugin's new values. */
async function configure(configuration: Record<string, unknown>): Promise<void> {
  const saved = await sk.send('POST', '/plugins/signalk-halpi2/config', { enabled: true, configuration });
  if (saved.status !== 200) throw new Error(`saving the settings: ${saved.status}`);
  await sk.waitFor('electrical.halpi.dcInputVoltage', (v) => v === null); // the old run's stop values
  await sk.waitFor('electrical.halpi.dcInputVoltage', (v) => typeof v === 'number');
}

t.test('with control.power on, Shut down… and Standby… are enabled; off again, disabled', { skip }, async (t) => {
  await configure({ ...SETTINGS, control: { power: true } });
  const { page } = await openPanel(t);
  await page.waitForFunction(() => /^\d+\.\d\d$/.test(document.getElementById('v-in')?.textContent ?? ''));
  await page.waitForFunction(() => !(document.getElementById('shutdown') as HTMLButtonElement).disabled);
  t.ok(await page.locator('#shutdown').isEnabled(), 'Shut down… is enabled');
  t.ok(await page.locator('#standby').isEnabled(), 'Standby… is enabled');
  await screenshot(t, page, 'signalk-panel-power');
  await configure(SETTINGS);
  await page.reload();
  await page.waitForFunction(() => /^\d+\.\d\d$/.test(document.getElementById('v-in')?.textContent ?? ''));
  t.ok(await page.locator('#shutdown').isDisabled(), 'switched off again: Shut down… is disabled');
  t.ok(await page.locator('#standby').isDisabled(), 'Standby… is disabled');
});

t.test(
  "under Signal K too, a blackout is listed and a reload keeps the chart (the plugin's history)",
  { skip },
  async (t) => {
    const { page } = await openPanel(t);
    await sk.send('POST', '/plugins/signalk-halpi2/sim/power', { on: false });
    await page.waitForFunction(() =>
      /going on now/.test(document.querySelector('#blackouts tbody tr')?.textContent ?? ''),
    );
    await sk.send('POST', '/plugins/signalk-halpi2/sim/power', { on: true });
    await page.waitForFunction(() =>
      /power returned/.test(document.querySelector('#blackouts tbody tr')?.textContent ?? ''),
    );
    const points = () =>
      page
        .locator('#chart')
        .evaluate((el: HTMLElement) => ({ n: Number(el.dataset.points), first: Number(el.dataset.first) }));
    await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.points) >= 5);
    const before = await points();
    await page.reload();
    await page.waitForFunction((n) => Number(document.getElementById('chart')?.dataset.points) >= n, before.n);
    t.ok((await points()).first <= before.first + 1, 'the chart starts where it started before the reload');
    await page.waitForFunction(() => /power returned/.test(document.getElementById('blackouts')?.textContent ?? ''));
    // Newest first: this one (an earlier subtest's cut, if any, is below it).
    t.match(await page.locator('#blackouts tbody tr').first().textContent(), /power returned/);
  },
);
