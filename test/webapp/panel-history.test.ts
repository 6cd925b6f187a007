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

const chart = () =>
  page.locator('#chart').evaluate((el: HTMLElement) => ({
    points: Number(el.dataset.points),
    first: Number(el.dataset.first),
    span: Number(el.dataset.span),
    label: el.getAttribute('aria-label') ?? '',
  }));

t.test('from the first reading the time axis spans 10 minutes, and the dashed lines are named', { skip }, async (t) => {
  await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.points) >= 1);
  t.equal((await chart()).span, 600, 'ten minutes, not milliseconds (or years, for one point)');
  await page.waitForFunction(() =>
    /power-on threshold/.test(document.getElementById('chart')?.getAttribute('aria-label') ?? ''),
  );
  t.match((await chart()).label, /; dashed lines: blackout limit \d+\.\d V, power-on threshold \d+\.\d V$/);
});

/**
 * The lightness (0–1) of the chart's painted pixels along a row near the top (above 14 V), in the
 * middle of the plot (clear of the axis labels and the threshold labels): grid lines only.
 */
const gridLightness = () =>
  page.locator('#chart canvas').evaluate((c: HTMLCanvasElement) => {
    const row = c
      .getContext('2d')!
      .getImageData(Math.round(c.width * 0.3), Math.round(c.height * 0.12), Math.round(c.width * 0.5), 1).data;
    const out: number[] = [];
    for (let i = 0; i < row.length; i += 4)
      if (row[i + 3]! > 128) out.push((row[i]! + row[i + 1]! + row[i + 2]!) / 765);
    return out;
  });

/** Sets the theme and waits until the chart's grid is redrawn light (day) or dark (night). */
const setTheme = async (theme: 'night' | 'day'): Promise<void> => {
  await page.evaluate((th) => {
    document.documentElement.dataset.theme = th;
  }, theme);
  await page.waitForFunction((light) => {
    const c = document.querySelector<HTMLCanvasElement>('#chart canvas')!;
    const row = c
      .getContext('2d')!
      .getImageData(Math.round(c.width * 0.3), Math.round(c.height * 0.12), Math.round(c.width * 0.5), 1).data;
    for (let i = 0; i < row.length; i += 4)
      if (row[i + 3]! > 128) return (row[i]! + row[i + 1]! + row[i + 2]!) / 765 > 0.5 === light;
    return false;
  }, theme === 'day');
};

// The page opens in the browser's preferred scheme (headless Chromium: light), so each theme is set.
t.test('the grid takes the theme: dark lines at night, light ones by day', { skip }, async (t) => {
  await setTheme('night');
  const night = await gridLightness();
  t.ok(night.length >= 3, `${night.length} grid pixels in the row`);
  t.ok(Math.max(...night) < 0.35, `night: a dark grid (lightest ${Math.max(...night).toFixed(2)})`);
  await setTheme('day');
  const day = await gridLightness();
  t.ok(day.length >= 3 && Math.min(...day) > 0.7, `day: a light grid (darkest ${Math.min(...day).toFixed(2)})`);
  await screenshot(t, page, 'panel-history-day');
  await setTheme('night');
});

t.test('a blackout appears in the list; a reload keeps the chart and the list', { skip }, async (t) => {
  await d.req('POST', '/sim/power', json({ on: false }));
  // The row can show before the blackout's first supercap reading (a tick later): wait for one.
  await page.waitForFunction(() =>
    /going on now \(supercap down to/.test(document.getElementById('blackouts')?.textContent ?? ''),
  );
  // While it goes on, its row keeps up: the length grows, the supercap's lowest voltage falls.
  const ongoing = () => page.locator('#blackouts tbody tr').first().locator('td').allTextContents();
  const [, firstLength, firstOutcome] = await ongoing();
  await page.waitForFunction(
    () => parseFloat(document.querySelector('#blackouts tbody tr td:nth-child(2)')?.textContent ?? '') >= 2,
  );
  const [, laterLength, laterOutcome] = await ongoing();
  t.ok(parseFloat(laterLength!) > parseFloat(firstLength!), `the length grew from ${firstLength} to ${laterLength}`);
  const low = (s: string) => Number(/down to ([\d.]+) V/.exec(s)?.[1]);
  t.ok(low(laterOutcome!) < low(firstOutcome!), `the lowest supercap voltage fell: ${firstOutcome} → ${laterOutcome}`);
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

t.test('a tablet whose clock is an hour slow still shows the history in its chart', { skip }, async (t) => {
  const before = await chart();
  const url = page.url();
  const slow = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  t.teardown(() => slow.close());
  // The browser's clock an hour behind halpid's, running.
  await slow.clock.install({ time: Date.now() - 3600_000 });
  await slow.goto(url);
  await slow.waitForFunction(
    (n) => Number(document.getElementById('chart')?.dataset.points) >= n,
    Math.max(5, before.points - 2),
  );
  const first = await slow.locator('#chart').evaluate((el: HTMLElement) => Number(el.dataset.first));
  t.ok(
    first > Date.now() / 1000 - 3600 - 700 && first < Date.now() / 1000 - 3600,
    "the history on the browser's clock, inside its 10 minutes",
  );
});
