// The blackout view on halpid's panel: the time to shutdown as the largest thing on the page,
// counting down second by second to the shutdown, with the supercap's charge, runtime and power
// (from the daemon's `supply` events, never from a message); and a panel opened during the
// blackout, or after the shutdown began, shows the same state at once.
import t from 'tap';
import type { Browser, Page } from 'playwright-core';
import { json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { browserSkip, docScreenshot, launch, openPage } from '../helpers/browser.js';
import { freePort } from '../helpers/net.js';

const skip = browserSkip();
const LIMIT_S = 8;

let d: RunningDaemon;
let browser: Browser;
let page: Page;
let url: string;
let problems: string[];

t.before(async () => {
  if (skip) return;
  const port = await freePort();
  d = await startDaemon(['--web', `127.0.0.1:${port}`, '--blackout-time-limit', String(LIMIT_S)]);
  browser = await launch();
  // The printed address with its token for the first panel (as its owner sees it); the later
  // ones open the bare address, read-only.
  const printed = /Open the panel with (\S+)$/.exec(await d.waitLog(/Open the panel with/))![1]!;
  url = printed.replace(/#.*/, '');
  ({ page, problems } = await openPage(browser, printed));
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.locator('#theme').selectOption('day');
});
t.teardown(async () => {
  await browser?.close();
  await d?.stop();
});

const text = (p: Page, id: string) => p.locator(`#${id}`).textContent();

t.test('on input power: no blackout view, the supercap charge in the state card', { skip }, async (t) => {
  await d.req('PUT', '/sim/inputs', json({ V_in: 13.5 }));
  await page.waitForFunction(() => /^\d+ %$/.test(document.getElementById('charge')?.textContent ?? ''));
  t.ok(await page.locator('#blackout').isHidden());
  t.equal(await text(page, 'p-label'), 'Power');
  await page.locator('#theme').selectOption('night');
});

t.test('a power cut: the timer counts down to the shutdown, biggest on the page', { skip }, async (t) => {
  // Every value the timer shows, in order, until the shutdown begins.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { seen: string[] }).seen = seen;
    const el = document.getElementById('bo-timer')!;
    new MutationObserver(() => {
      if (seen.at(-1) !== el.textContent) seen.push(el.textContent ?? '');
    }).observe(el, { childList: true, characterData: true, subtree: true });
  });
  await d.req('POST', '/sim/power', json({ on: false }));
  await page.waitForFunction(() => document.getElementById('blackout')?.hidden === false);
  t.equal(await text(page, 'bo-title'), 'Input power lost: running on the supercap');
  // The supercap's charge, runtime and (once its discharge is measured) its power, from data.
  await page.waitForFunction(
    () =>
      /^\d+(\.\d)?$/.test(document.getElementById('bo-power')?.textContent ?? '') &&
      Number(document.getElementById('bo-power')?.textContent) > 0,
  );
  t.match(await text(page, 'bo-charge'), /^\d+$/);
  t.match(await text(page, 'bo-runtime'), /^\d+$/);
  t.equal(await text(page, 'p-label'), 'Supercap power', 'the power card says what the supercap delivers');
  t.equal(await text(page, 'p-in'), await text(page, 'bo-power'));
  // The timer is the largest text on the page.
  const sizes = await page.evaluate(() => {
    const px = (el: Element) => parseFloat(getComputedStyle(el).fontSize);
    const timer = px(document.getElementById('bo-timer')!);
    const others = [...document.querySelectorAll('main *')].filter(
      (e) => e.id !== 'bo-timer' && (e as HTMLElement).offsetParent !== null && e.textContent?.trim(),
    );
    return { timer, largestOther: Math.max(...others.map(px)) };
  });
  t.ok(
    sizes.timer > sizes.largestOther * 1.5,
    `the timer (${sizes.timer}px) dwarfs the rest (${sizes.largestOther}px)`,
  );
  await docScreenshot(t, page, 'panel-blackout');

  // A panel opened now shows the blackout at once, with the same count.
  const late = await openPage(browser, url);
  await late.page.waitForFunction(
    () =>
      document.getElementById('blackout')?.hidden === false &&
      /^\d+$/.test(document.getElementById('bo-timer')?.textContent ?? ''),
  );
  const [mine, theirs] = [Number(await text(page, 'bo-timer')), Number(await text(late.page, 'bo-timer'))];
  t.ok(Math.abs(mine - theirs) <= 1, `the late panel counts with the first (${theirs} and ${mine})`);
  t.equal(await text(late.page, 'bo-title'), 'Input power lost: running on the supercap');

  await page.waitForFunction(
    () => document.getElementById('bo-title')?.textContent === 'Shutting down after input power loss',
    undefined,
    { timeout: 30_000 },
  );
  const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
  const counts = seen.filter((s) => /^\d+$/.test(s)).map(Number);
  t.comment(`the timer showed ${seen.join(' ')}`);
  t.ok(counts.length >= LIMIT_S - 2, 'a value for (nearly) every second');
  t.ok(counts[0]! <= LIMIT_S && counts[0]! >= LIMIT_S - 2, `it started at the limit (${counts[0]})`);
  t.ok(
    counts.every((c, i) => i === 0 || c === counts[i - 1]! - 1),
    'one second down at a time, never back up',
  );
  t.ok(counts.at(-1)! <= 1, 'down to the shutdown');
  t.equal(await text(page, 'bo-timer-unit'), 's: shutting down');

  // A panel opened after the shutdown began says so.
  const after = await openPage(browser, url);
  await after.page.waitForFunction(
    () => document.getElementById('bo-title')?.textContent === 'Shutting down after input power loss',
    undefined,
    { timeout: 10_000 },
  );
  t.ok(await after.page.locator('#blackout').isVisible());
  t.equal(await text(after.page, 'bo-runtime'), '0', 'no runtime left once the shutdown began');
  await late.page.close();
  await after.page.close();
  t.same([...problems, ...late.problems, ...after.problems], [], 'no console errors');
});

t.test(
  "the power returns: the panel is back to normal by itself (the README's screenshot, the cut in the chart)",
  { skip },
  async (t) => {
    await d.req('POST', '/sim/power', json({ on: true }));
    await d.req('PUT', '/sim/inputs', json({ V_in: 13.5 }));
    await page.waitForFunction(
      () =>
        document.getElementById('v-in')?.textContent === '13.50' &&
        document.getElementById('daemon-state')?.textContent === 'OK' &&
        document.getElementById('power-state')?.textContent === 'OperationalCoOp' &&
        document.getElementById('conn')?.className === 'badge ok' &&
        !document.getElementById('usb-0')?.hasAttribute('disabled'),
      undefined,
      { timeout: 60_000 },
    );
    t.ok(await page.locator('#blackout').isHidden());
    t.equal(await text(page, 'p-label'), 'Power');
    await page.locator('#theme').selectOption('day');
    await docScreenshot(t, page, 'panel-normal');
  },
);
