// Headless Chromium from Debian (/usr/bin/chromium) driven by playwright-core; never a browser
// a tool downloads. Screenshots go to reports/screenshots/, and the test output names each one.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from './daemon.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'reports', 'screenshots');

/**
 * Whether the browser tests can run here. Without Debian's Chromium they are skipped with the
 * command that installs it; CI sets HALPI2_REQUIRE_BROWSER=1, so there a missing browser fails.
 */
export function browserSkip(): string | false {
  if (existsSync(CHROMIUM) || process.env.HALPI2_REQUIRE_BROWSER === '1') return false;
  return `no browser at ${CHROMIUM}: install it with "apt-get install chromium" to run the panel's browser tests`;
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page that records console errors and CSP violations, so a test can assert there were none. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(url);
  return { page, problems };
}

export async function screenshot(t: { comment(...m: unknown[]): void }, page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  t.comment(`screenshot: ${path}`);
  return path;
}

/**
 * A screenshot for the README and docs/panel.md: written to docs/<name>.png when HALPI2_SCREENSHOTS=1
 * (`HALPI2_SCREENSHOTS=1 npx tap test/webapp/panel-blackout.test.ts test/webapp/panel-a11y.test.ts`),
 * else to reports/screenshots/ like the others. The viewport only, as a phone or a screen shows it.
 */
export async function docScreenshot(t: { comment(...m: unknown[]): void }, page: Page, name: string): Promise<string> {
  const dir = process.env.HALPI2_SCREENSHOTS === '1' ? join(ROOT, 'docs') : SCREENSHOTS;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path });
  t.comment(`screenshot: ${path}`);
  return path;
}
