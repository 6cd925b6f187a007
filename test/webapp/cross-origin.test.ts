// A page from another origin (http://127.0.0.2:<port>) in Chromium cannot use halpid's web
// listener to shut down, set standby, switch USB or change settings, in either dialect: no-cors
// fetches with text/plain bodies, a form posted to it, and CORS requests (even with the token,
// which such a page would not have) are all refused or never sent (docs/api.md, "Over the web
// listener").
import t, { type Test } from 'tap';
import { createServer, type Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { browserSkip, launch } from '../helpers/browser.js';
import { freePort } from '../helpers/net.js';

const skip = browserSkip();

let browser: Browser;
t.before(async () => {
  if (!skip) browser = await launch();
});
t.teardown(() => browser?.close());

/** The hostile page: every attempt, then `done` in the title once all have settled. */
const attackPage = (target: string, token: string) => `<!doctype html><meta charset="utf-8"><title>busy</title>
<iframe name="sink"></iframe>
<form id="f" method="POST" action="${target}/api/shutdown" enctype="text/plain" target="sink"><input name='{"a":"' value='"}'></form>
<script>
const T = ${JSON.stringify(target)};
const attempts = [
  ['POST', '/api/shutdown', undefined, 'no-cors'],
  ['POST', '/api/standby', '{"delay":60}', 'no-cors'],
  ['POST', '/standby', '{"delay":60}', 'no-cors'],
  ['PUT', '/api/usb/1', 'false', 'no-cors'],
  ['PUT', '/api/usb', '{"usb1":false}', 'cors'],
  ['PUT', '/api/config/led_brightness', '7', 'cors'],
  ['POST', '/api/shutdown', '{}', 'cors', { 'Content-Type': 'application/json' }],
  ['POST', '/api/shutdown', undefined, 'cors', { Authorization: 'Bearer ${token}', 'X-Halpi-Request': '1' }],
  ['PUT', '/api/config/led_brightness', '7', 'cors', { Authorization: 'Bearer ${token}', 'Content-Type': 'application/json' }],
];
const results = [];
Promise.all(attempts.map(([method, path, body, mode, headers]) =>
  fetch(T + path, { method, mode, body, headers: { 'Content-Type': 'text/plain', ...(headers || {}) } })
    .then((r) => results.push(method + ' ' + path + ' ' + r.type + ' ' + r.status), (e) => results.push(method + ' ' + path + ' ' + e.name))))
  .then(() => new Promise((resolve) => {
    document.querySelector('iframe').addEventListener('load', resolve, { once: true });
    document.getElementById('f').submit();
  }))
  .then(() => { window.results = results; document.title = 'done'; });
</script>`;

async function attack(t: Test, dialect: '4' | '5'): Promise<void> {
  const webPort = await freePort();
  const d: RunningDaemon = await startDaemon(['--web', `127.0.0.1:${webPort}`, '--api-compat', dialect]);
  t.teardown(() => d.stop());
  const token = /#token=(\S+)$/.exec(await d.waitLog(/Open the panel with/))![1]!;
  const before = { usb: (await d.req('GET', '/usb')).text, config: (await d.req('GET', '/config')).text };
  const evil: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(attackPage(`http://127.0.0.1:${webPort}`, token));
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.2', () => r()));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        evil.close(() => r());
        evil.closeAllConnections();
      }),
  );
  const page = await browser.newPage();
  t.teardown(() => page.close());
  await page.goto(`http://127.0.0.2:${(evil.address() as { port: number }).port}/`);
  await page.waitForFunction(() => document.title === 'done');
  t.comment(JSON.stringify(await page.evaluate(() => (window as unknown as { results: string[] }).results)));
  // What a user would notice: nothing happened.
  t.notMatch(d.logs(), /Shutdown requested|Standby requested|would request/, 'no shutdown nor standby');
  t.equal((await d.req('GET', '/usb')).text, before.usb, 'USB ports unchanged');
  t.equal((await d.req('GET', '/config')).text, before.config, 'settings unchanged');
  // And the listener still works for its own panel with the token.
  const own = await fetch(`http://127.0.0.1:${webPort}/api/usb/1`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: 'false',
  });
  t.equal(own.status, 204, 'a same-origin write with the token works');
}

t.test('dialect 5: a page on another origin cannot write through the web listener', { skip }, (t) => attack(t, '5'));
t.test('dialect 4 (plain-text bodies accepted): a page on another origin cannot write either', { skip }, (t) =>
  attack(t, '4'),
);
