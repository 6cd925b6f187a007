// The panel in its three colour schemes (day, night, red) at desktop 1280×800 and phone 390×844:
// axe-core finds nothing, on input power and in a blackout; the layout holds (numbers and units
// on one line, no half-empty top row, no sideways scrolling on the phone); "Automatic" follows the
// browser's prefers-color-scheme and a manual choice survives a reload.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import t from 'tap';
import type { Browser, Page } from 'playwright-core';
import { json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { browserSkip, docScreenshot, launch, openPage } from '../helpers/browser.js';
import { freePort } from '../helpers/net.js';

const skip = browserSkip();
const AXE = skip ? '' : readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const THEMES = ['day', 'night', 'red'] as const;
const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;

let d: RunningDaemon;
let browser: Browser;
let page: Page;
let problems: string[];

t.before(async () => {
  if (skip) return;
  const port = await freePort();
  // A long time limit: the blackout lasts while axe checks the blackout view.
  d = await startDaemon(['--web', `127.0.0.1:${port}`, '--blackout-time-limit', '600']);
  browser = await launch();
  const url = /Open the panel with (\S+)$/.exec(await d.waitLog(/Open the panel with/))![1]!;
  ({ page, problems } = await openPage(browser, url));
  await d.req('PUT', '/sim/inputs', json({ V_in: 13.5 }));
  // Live, with the controls usable (disabled controls would escape the contrast rules).
  await page.waitForFunction(
    () =>
      document.getElementById('v-in')?.textContent === '13.50' &&
      !document.getElementById('usb-0')?.hasAttribute('disabled') &&
      document.getElementById('usb-0')?.getAttribute('aria-checked') === 'true',
  );
});
t.teardown(async () => {
  await browser?.close();
  await d?.stop();
});

interface AxeResult {
  violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[]; failureSummary: string }> }>;
}

async function axe(p: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the page's CSP (default-src 'self') stays as it is.
  if (!(await p.evaluate(() => 'axe' in window))) await p.evaluate(AXE);
  const r = (await p.evaluate(() =>
    (window as unknown as { axe: { run(): Promise<unknown> } }).axe.run(),
  )) as AxeResult;
  return r.violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id} (${v.impact}) ${n.target.join(' ')}: ${n.failureSummary}`),
  );
}

const setTheme = async (theme: string) => {
  await page.locator('#theme').selectOption(theme);
  await page.waitForFunction((th) => document.documentElement.dataset.themeChoice === th, theme);
};

t.test('axe: no violations in any theme, desktop and phone, on input power', { skip }, async (t) => {
  for (const vp of VIEWPORTS) {
    await page.setViewportSize(vp);
    for (const theme of THEMES) {
      await setTheme(theme);
      t.same(await axe(page), [], `${theme}, ${vp.name}`);
    }
  }
});

t.test('layout at 1280 px: units on the line of their numbers, a full top row', { skip }, async (t) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const layout = await page.evaluate(() => {
    const oneLine = [...document.querySelectorAll('.big dd')].map((dd) => {
      const [num, unit] = [
        dd.querySelector('span')!.getBoundingClientRect(),
        dd.querySelector('abbr')!.getBoundingClientRect(),
      ];
      return unit.top < num.bottom && unit.left >= num.right;
    });
    const cards = [...document.querySelectorAll('main > .card')].filter(
      (c) => (c as HTMLElement).offsetParent !== null,
    ) as HTMLElement[];
    const top = cards[0]!.offsetTop;
    const row = cards.filter((c) => c.offsetTop === top);
    const main = document.querySelector('main')!;
    const inner =
      main.clientWidth -
      parseFloat(getComputedStyle(main).paddingLeft) -
      parseFloat(getComputedStyle(main).paddingRight);
    const used =
      row.reduce((w, c) => w + c.offsetWidth, 0) + (row.length - 1) * parseFloat(getComputedStyle(main).columnGap);
    return { oneLine, inner, used, cards: row.length };
  });
  t.ok(layout.oneLine.every(Boolean), `every unit right of its number (${layout.oneLine})`);
  t.ok(
    Math.abs(layout.used - layout.inner) <= 2,
    `the top row is full: ${layout.cards} cards, ${layout.used} of ${layout.inner} px`,
  );
});

t.test('layout on a phone: one column, nothing wider than the screen', { skip }, async (t) => {
  await page.setViewportSize({ width: 390, height: 844 });
  // The chart takes the new width from its ResizeObserver, which runs with the next frame's
  // layout: two frames on, the page is as a phone shows it.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const widths = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  t.ok(widths.scroll <= widths.client, `no sideways scrolling (${widths.scroll} in ${widths.client})`);
  await setTheme('night');
  await docScreenshot(t, page, 'panel-phone');
});

t.test('axe: no violations in the blackout view, in any theme, desktop and phone', { skip }, async (t) => {
  await d.req('PUT', '/sim/inputs', json({ hold: false }));
  await d.req('POST', '/sim/power', json({ on: false }));
  await page.waitForFunction(
    () =>
      document.getElementById('blackout')?.hidden === false &&
      /^\d+$/.test(document.getElementById('bo-timer')?.textContent ?? ''),
  );
  for (const vp of VIEWPORTS) {
    await page.setViewportSize(vp);
    for (const theme of THEMES) {
      await setTheme(theme);
      t.same(await axe(page), [], `blackout, ${theme}, ${vp.name}`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await setTheme('red');
  await docScreenshot(t, page, 'panel-night');
  await d.req('POST', '/sim/power', json({ on: true }));
  await page.waitForFunction(() => document.getElementById('blackout')?.hidden === true, undefined, {
    timeout: 30_000,
  });
});

t.test('Automatic follows prefers-color-scheme; a manual choice survives a reload', { skip }, async (t) => {
  await setTheme('auto');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'night');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'day');
  t.pass('dark → night, light → day, as the browser switches');
  await setTheme('red');
  await page.reload();
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'red');
  t.equal(await page.locator('#theme').inputValue(), 'red', 'the choice is kept');
  await setTheme('auto');
});

t.test('red: no bright element (nothing but dim reds on black)', { skip }, async (t) => {
  await setTheme('red');
  const bright = await page.evaluate(() => {
    const out: string[] = [];
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    for (const el of document.querySelectorAll('body *')) {
      const e = el as HTMLElement;
      if (e.offsetParent === null && e.tagName !== 'BODY') continue;
      const s = getComputedStyle(e);
      for (const [what, c] of [
        ['color', s.color],
        ['background', s.backgroundColor],
        ['border', s.borderTopColor],
      ] as const) {
        const [r = 0, g = 0, b = 0, a = 1] = rgb(c);
        if (a === 0) continue;
        // Red only: green and blue stay far below red, and nothing is white or grey-bright.
        if (g > 110 || b > 110 || (g > r * 0.45 && r + g + b > 90))
          out.push(`${e.tagName}#${e.id}.${e.className} ${what} ${c}`);
      }
    }
    return out;
  });
  t.same(bright, [], 'every colour a dim red');
  await setTheme('auto');
});

t.test('no errors in the console', { skip }, async (t) => {
  t.same(problems, []);
});
