// The chart and the past-blackouts list on halpid's web listener, in headless Chromium against
// `halpid --simulate --web`: a reload keeps the chart and the list, the time axis shows the whole
// 10 minutes from the first reading, and the dashed lines are named.
import t from 'tap';
import type { Browser, Page } from 'playwright-core';
import { json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { browserSkip, launch, openPage, screenshot } from '../helpers/browser.js';
import { freePort } from '../helpers/net.js';

const skip = browserSkip();

let d: RunningDaemon;
let browser: Browser;
let page: Page;
let problems: string[];

t.before(async () => {
  if (skip) return;
  const port = await freePort();
  d = await startDaemon(['--web', `127.0.0.1:${port}`, '--blackout-time-limit', '30']);
  browser = await launch();
  const url = /Open the panel with (\S+)$/.exec(await d.waitLog(/Open the panel with/))![1]!;
  ({ page, problems } = await openPage(browser, url));
});
t.teardown(async () => {
  await browser?.close();
  await d?.stop();
});

const chart = () => page.locator('#chart').evaluate((el: HTMLElement) => ({
  points: Number(el.dataset.points), first: Number(el.dataset.first), span: Number(el.dataset.span), label: el.getAttribute('aria-label') ?? '',
}));

t.test('from the first reading the time axis spans 10 minutes, and the dashed lines are named', { skip }, async (t) => {
  await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.points) >= 1);
  t.equal((await chart()).span, 600, 'ten minutes, not milliseconds (or years, for one point)');
  await page.waitForFunction(() => /power-on threshold/.test(document.getElementById('chart')?.getAttribute('aria-label') ?? ''));
  t.match((await chart()).label, /; dashed lines: blackout limit \d+\.\d V, power-on threshold \d+\.\d V$/);
});

t.test('a blackout appears in the list; a reload keeps the chart and the list', { skip }, async (t) => {
  await d.req('POST', '/sim/power', json({ on: false }));
  await page.waitForFunction(() => /going on now/.test(document.getElementById('blackouts')?.textContent ?? ''));
  await d.req('POST', '/sim/power', json({ on: true }));
  await page.waitForFunction(() => /power returned/.test(document.getElementById('blackouts')?.textContent ?? ''));
  await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.points) >= 5);
  const before = await chart();
  await screenshot(t, page, 'panel-history-before-reload');

  await page.reload();
  // The history arrives before the live values have had time to rebuild as many points.
  await page.waitForFunction((n) => Number(document.getElementById('chart')?.dataset.points) >= n, before.points);
  const after = await chart();
  t.ok(after.first <= before.first + 1, `the chart still starts at ${before.first} (now ${after.first})`);
  t.equal(after.span, 600);
  await page.waitForFunction(() => /power returned/.test(document.getElementById('blackouts')?.textContent ?? ''));
  const rows = await page.locator('#blackouts tbody tr').allTextContents();
  t.equal(rows.length, 1);
  t.match(rows[0], /^\d\d:\d\d:\d\d\d+\.\d spower returned/, 'start, length, outcome');
  await screenshot(t, page, 'panel-history-after-reload');
  t.same(problems, [], 'no console errors');
});
