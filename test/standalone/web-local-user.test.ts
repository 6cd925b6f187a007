// A local user who is not in the socket's group cannot shut the computer down through the web
// listener on loopback either (docs/api.md, "over the web listener"): writes need the token,
// which only the daemon's log (root, the journal) shows. Run as `nobody` with setpriv.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';

const root = process.getuid?.() === 0;
const skip = !root
  ? 'needs root to run a request as nobody'
  : !existsSync('/usr/bin/setpriv')
    ? 'needs setpriv (util-linux)'
    : false;

/** Run `node -e <code>` as nobody; resolves with its stdout. */
function asNobody(code: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'setpriv',
      ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, '-e', code],
      {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    p.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

t.test(
  'nobody, without the token, cannot shut down, switch USB or change settings on the loopback web listener',
  { skip },
  async (t) => {
    const port = await freePort();
    const d = await startDaemon(['--web', `127.0.0.1:${port}`]);
    t.teardown(() => d.stop());
    const base = `http://127.0.0.1:${port}/api`;
    const tries = [
      ['POST', 'shutdown', undefined],
      ['POST', 'standby', { delay: 60 }],
      ['PUT', 'usb/2', false],
      ['PUT', 'config/led_brightness', 10],
    ] as const;
    for (const [method, path, body] of tries) {
      // As a careful attacker would: a JSON body and the custom header, only the token missing.
      const code = `fetch(${JSON.stringify(`${base}/${path}`)}, { method: ${JSON.stringify(method)}, headers: { 'Content-Type': 'application/json', 'X-Halpi-Request': '1' }${body === undefined ? '' : `, body: ${JSON.stringify(JSON.stringify(body))}`} }).then((r) => console.log(String(r.status)))`;
      t.equal(await asNobody(code), '403', `${method} /api/${path} refused`);
    }
    // And the Unix socket refuses nobody outright (0660, the daemon's group).
    const viaSocket = `require('http').request({ socketPath: ${JSON.stringify(d.socket)}, method: 'POST', path: '/shutdown' }).on('error', (e) => console.log(e.code)).end()`;
    t.equal(await asNobody(viaSocket), 'EACCES', 'the socket is closed to nobody');
    const sim = JSON.parse((await d.req('GET', '/sim')).text);
    t.equal(sim.controller.state, 'OperationalCoOp', 'nothing reached the controller');
    t.equal(sim.controller.usb, 15, 'USB unchanged');
    t.notMatch(d.logs(), /Shutdown requested|Standby requested/);
    // The same requests with the token from the log work (the rule is the token, not the user).
    const token = /#token=([A-Za-z0-9_-]+)/.exec(d.logs())![1]!;
    const ok = `fetch(${JSON.stringify(`${base}/usb/2`)}, { method: 'PUT', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ${token}' }, body: 'false' }).then((r) => console.log(String(r.status)))`;
    t.equal(await asNobody(ok), '204', 'with the token, nobody may switch a port: the token is the proof');
  },
);
