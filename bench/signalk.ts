// The bench's Signal K servers: signalk-server 2.23 from our node_modules, loopback only (mDNS,
// the TCP/NMEA interfaces and the app store off, as the tests run it), with no plugin, with this
// package in client mode, or with Hat Labs' signalk-halpi. signalk-halpi is ESM-only (engines
// node>=22) and signalk-server 2.23 `require()`s plugins, so on Node 20 a CommonJS shim written
// here at bench time `import()`s the built plugin given by HALPI2_BENCH_VENDOR_PLUGIN; none of its
// code is part of this repository.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export type PluginKind = 'none' | 'ours' | 'vendor';

export interface SignalKServer {
  kind: PluginKind;
  proc: ChildProcess;
  port: number;
  log: () => string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A CommonJS plugin that loads the ESM one on start (the server wants the plugin object at once). */
function vendorShim(vendorDir: string): string {
  const entry = pathToFileURL(join(vendorDir, 'dist', 'index.js')).href;
  return `'use strict';
module.exports = (app) => {
  const load = import(${JSON.stringify(entry)}).then((m) => m.default(app));
  let inner = null;
  let stopped = true;
  return {
    id: 'signalk-halpi',
    name: 'signalk-halpi (ESM, loaded by the bench)',
    schema: {},
    start(config) {
      stopped = false;
      load.then((p) => { if (!stopped) { inner = p; p.start(config); } }, (e) => app.setPluginError(String(e)));
    },
    stop() { stopped = true; inner?.stop(); inner = null; },
  };
};
`;
}

/** A configuration directory for `kind`, with the plugin talking to halpid at `socket`. */
export function configDir(
  work: string,
  root: string,
  kind: PluginKind,
  socket: string,
  pollMs: number,
  vendorDir?: string,
): string {
  const dir = join(work, `signalk-${kind}`);
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  mkdirSync(join(dir, 'plugin-config-data'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'signalk-server-config', version: '0.0.1' }));
  writeFileSync(
    join(dir, 'settings.json'),
    JSON.stringify({
      mdns: false,
      interfaces: { mfd_webapp: false, 'nmea-tcp': false, tcp: false, appstore: false },
      pipedProviders: [],
    }),
  );
  if (kind === 'ours') {
    symlinkSync(root, join(dir, 'node_modules', 'signalk-halpi2'), 'dir');
    writeFileSync(
      join(dir, 'plugin-config-data', 'signalk-halpi2.json'),
      JSON.stringify({ enabled: true, configuration: { mode: 'client', socketPath: socket, pollInterval: pollMs } }),
    );
  } else if (kind === 'vendor') {
    const pkg = join(dir, 'node_modules', 'signalk-halpi');
    mkdirSync(pkg);
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({
        name: 'signalk-halpi',
        version: '0.0.0-bench',
        main: 'index.js',
        keywords: ['signalk-node-server-plugin'],
      }),
    );
    writeFileSync(join(pkg, 'index.js'), vendorShim(vendorDir!));
    writeFileSync(
      join(dir, 'plugin-config-data', 'signalk-halpi.json'),
      JSON.stringify({ enabled: true, configuration: { socketPath: socket, pollInterval: pollMs } }),
    );
  }
  return dir;
}

/** Start signalk-server on `dir`; resolves once it listens. */
export async function startSignalK(
  root: string,
  kind: PluginKind,
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<SignalKServer> {
  const port = await freePort();
  const script = join(root, 'node_modules', 'signalk-server', 'bin', 'signalk-server');
  const proc = spawn(process.execPath, [script, '-c', dir], {
    cwd: dir,
    env: { ...env, PORT: String(port), SIGNALK_DISABLE_SERVER_UPDATES: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const add = (c: Buffer) => {
    out = (out + c.toString()).slice(-20_000);
  };
  proc.stdout!.on('data', add);
  proc.stderr!.on('data', add);
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (/running at|listening on/i.test(out)) return resolve();
      if (proc.exitCode !== null) return reject(new Error(`signalk-server (${kind}) exited:\n${out}`));
    };
    proc.stdout!.on('data', check);
    proc.on('exit', check);
    check();
  });
  return { kind, proc, port, log: () => out };
}

/** Resolves once the server holds a value of `path` (the plugin publishes); bounded. */
export async function waitForPath(s: SignalKServer, path: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  const url = `http://127.0.0.1:${s.port}/signalk/v1/api/vessels/self/${path.replaceAll('.', '/')}`;
  for (;;) {
    const r = await fetch(url).catch(() => null);
    if (r?.status === 200) {
      const body = (await r.json()) as { value?: unknown };
      if (body.value !== undefined && body.value !== null) return;
    } else await r?.text();
    if (Date.now() > until)
      throw new Error(`signalk-server (${s.kind}): no ${path} within ${timeoutMs} ms\n${s.log()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
