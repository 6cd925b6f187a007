// The plugin as a boat owner sets it up: installed from `npm pack` the way the App Store does it
// (`npm --save --ignore-scripts install`) into a fresh configuration directory of a globally
// installed signalk-server 2.23.0, configured through both of the server's admin UIs in
// headless Chromium. First Save with the defaults enables it; each mode chosen in the Mode
// control and saved runs (simulator: values) or says clearly why not (engine, client).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Browser, Page } from 'playwright-core';
import { browserSkip, launch, openPage, screenshot } from '../helpers/browser.js';
import { appStoreInstall, globalSignalKServer, packPlugin } from '../helpers/signalk-install.js';
import { startSignalK, type SignalK } from '../helpers/signalk-server.js';
import { tempDir } from '../helpers/tmp.js';

const skip = browserSkip();
const ID = 'signalk-halpi2';
const CLASSIC = '/admin/#/serverConfiguration/plugins/signalk-halpi2';
const REACT19 = '/@signalk/server-admin-ui-react19/#/serverConfiguration/plugins/signalk-halpi2';

let sk: SignalK;
let browser: Browser;
// No halpid answers here, whatever the machine runs.
const socketPath = join(tempDir('halpi2-nohalpid-'), 'halpid.sock');

t.before(async () => {
  if (skip) return;
  const [server, tarball] = await Promise.all([globalSignalKServer(), packPlugin()]);
  const dir = await appStoreInstall(tarball);
  sk = await startSignalK(null, { dir, server });
  browser = await launch();
});
t.teardown(async () => {
  await browser?.close();
  await sk?.stop();
});

const stored = (): { enabled?: boolean; configuration?: Record<string, any> } =>
  JSON.parse(readFileSync(join(sk.dir, 'plugin-config-data', `${ID}.json`), 'utf8'));

async function openConfig(path: string): Promise<{ page: Page; problems: string[] }> {
  const opened = await openPage(browser, sk.base + path);
  await opened.page.locator('#root_configuration_mode').waitFor();
  return opened;
}

/** Click the form's Save and wait for the server to answer it. */
async function save(page: Page): Promise<void> {
  const answered = page.waitForResponse(
    (r) => r.url().endsWith(`/plugins/${ID}/config`) && r.request().method() === 'POST',
  );
  await page.locator('form.rjsf button[type=submit]').click();
  const res = await answered;
  if (res.status() !== 200) throw new Error(`Save answered ${res.status()}`);
}

const realProblems = (problems: string[]) =>
  problems.filter((p) => !/^Failed to load resource: the server responded with a status of (401|404)/.test(p));

t.test('classic admin UI: Save with the defaults enables the plugin; every mode can be chosen', { skip }, async (t) => {
  const { page, problems } = await openConfig(CLASSIC);
  // The mode is a real choice with readable labels.
  const labels = await page.locator('#root_configuration_mode option').allTextContents();
  t.same(labels, [
    'Automatic: use a running halpid, else drive the controller',
    'Client of halpid',
    'Drive the controller on the I2C bus',
    'Simulator (demonstration)',
  ]);
  t.notOk(await page.locator('#root_configuration_nut_listen').count(), 'no NUT fields while the NUT server is off');
  await page.locator('#root_configuration_socketPath').fill(socketPath);
  await save(page);
  const first = stored();
  t.equal(first.enabled, true, 'the first Save enables the plugin');
  t.equal(first.configuration?.mode, 'auto');
  t.equal(first.configuration?.nut?.enabled, false, 'no NUT server the owner did not ask for');
  t.match(
    await sk.waitForStatus((m) => /^No halpid answered/.test(m)),
    new RegExp(`^No halpid answered at ${socketPath} \\(no socket\\)`),
  );
  // The Enabled switch is there once a configuration exists, and on.
  await page.reload();
  await page.locator('#root_configuration_mode').waitFor();
  t.ok(await page.locator('input[name=enabled]').isChecked(), 'the Enabled switch is on');

  await page.locator('#root_configuration_mode').selectOption({ label: 'Simulator (demonstration)' });
  await save(page);
  t.equal(stored().configuration?.mode, 'simulator');
  const v = await sk.waitFor('electrical.halpi.dcInputVoltage', (x) => typeof x === 'number');
  t.ok(v > 9 && v < 32, `the simulator publishes an input voltage (${v} V)`);

  await page.locator('#root_configuration_mode').selectOption({ label: 'Drive the controller on the I2C bus' });
  await save(page);
  t.equal(stored().configuration?.mode, 'engine');
  t.equal(await sk.waitForStatus((m) => /i2c/.test(m)), 'No HALPI2 controller on /dev/i2c-1: no such device');
  // The owner sees it on the Dashboard (2.23.0 shows no status on the plugin's page when its name differs from its id).
  const dash = await openPage(browser, `${sk.base}/admin/#/dashboard`);
  await dash.page.getByText('No HALPI2 controller on /dev/i2c-1: no such device').waitFor();
  await screenshot(t, dash.page, 'signalk-admin-engine');
  await dash.page.close();

  await page.locator('#root_configuration_mode').selectOption({ label: 'Client of halpid' });
  await save(page);
  t.equal(stored().configuration?.mode, 'client');
  t.match(
    await sk.waitForStatus((m) => m.startsWith('halpid not reachable')),
    `halpid not reachable at ${socketPath}: no socket`,
  );

  // NUT: the fields appear once it is switched on.
  await page.locator('#root_configuration_nut_enabled').check();
  await page.locator('#root_configuration_nut_listen').waitFor();
  t.same(realProblems(problems), [], 'no errors in the page');
  await page.close();
});

t.test('React 19 admin UI: the same form saves and switches modes', { skip }, async (t) => {
  rmSync(join(sk.dir, 'plugin-config-data', `${ID}.json`)); // as before the first Save
  const { page, problems } = await openConfig(REACT19);
  await page.locator('#root_configuration_socketPath').fill(socketPath);
  await save(page);
  t.equal(stored().enabled, true, 'the first Save enables the plugin');
  t.equal(stored().configuration?.mode, 'auto');
  await page.locator('#root_configuration_mode').selectOption({ label: 'Simulator (demonstration)' });
  await save(page);
  t.equal(stored().configuration?.mode, 'simulator');
  await sk.waitForStatus((m) => /simulat/i.test(m));
  await sk.waitFor('electrical.halpi.mode', (x) => x === 'simulator');
  await screenshot(t, page, 'signalk-admin-react19');
  t.same(realProblems(problems), []);
  await page.close();
});
