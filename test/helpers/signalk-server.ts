// A real signalk-server 2.23.0 as a child process (docs/signalk.md): a fresh configuration
// directory with this package linked into its node_modules, mDNS, the TCP/NMEA interfaces and
// the app store off, a free port on loopback. Helpers for its REST and WebSocket APIs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from './daemon.js';
import { tempDir } from './tmp.js';
import { freePort } from './net.js';

const require = createRequire(import.meta.url);
// ws comes with signalk-server (Node 20 has no WebSocket client of its own).
const WebSocket = require('ws') as typeof import('ws');

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});


export interface Delta {
  updates?: Array<{ $source?: string; values?: Array<{ path: string; value: unknown }> }>;
}

export interface SignalK {
  port: number;
  dir: string;
  output: () => string;
  get(path: string): Promise<{ status: number; body: any }>;
  send(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Resolves with the first value of `path` (from the WebSocket stream) that `accept`s. */
  waitFor(path: string, accept?: (v: any) => boolean, timeoutMs?: number): Promise<any>;
  stop(): Promise<void>;
}

export async function startSignalK(configuration: Record<string, unknown>): Promise<SignalK> {
  const dir = tempDir('halpi2-signalk-');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'signalk-server-config', version: '0.0.1' }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'signalk-halpi2'), 'dir');
  mkdirSync(join(dir, 'plugin-config-data'));
  writeFileSync(join(dir, 'plugin-config-data', 'signalk-halpi2.json'), JSON.stringify({ enabled: true, configuration }));
  writeFileSync(join(dir, 'settings.json'), JSON.stringify({
    mdns: false, interfaces: { mfd_webapp: false, 'nmea-tcp': false, tcp: false, appstore: false }, pipedProviders: [],
  }));
  const port = await freePort();
  const proc = spawn(process.execPath, [join(ROOT, 'node_modules/signalk-server/bin/signalk-server'), '-c', dir], {
    cwd: dir,
    env: { ...process.env, NODE_OPTIONS: '', PORT: String(port), SIGNALK_DISABLE_SERVER_UPDATES: 'true', DEBUG: process.env.SK_DEBUG ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  proc.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<void>((r) => proc.on('exit', () => { children.delete(proc); r(); }));
  const base = `http://127.0.0.1:${port}`;

  const send = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method, headers: body === undefined ? {} : { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* text */ }
    return { status: res.status, body: parsed as any };
  };

  // Ready when the server answers on its port (it logs its URL when it listens).
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (/running at|listening on/i.test(out)) return resolve();
      if (proc.exitCode !== null) return reject(new Error(`signalk-server exited:\n${out}`));
    };
    proc.stdout!.on('data', check);
    proc.on('exit', check);
    check();
  });

  // One WebSocket subscription to everything under electrical.halpi and its notifications.
  const latest = new Map<string, unknown>();
  const waiters: Array<{ path: string; accept: (v: any) => boolean; resolve: (v: any) => void }> = [];
  const ws = new WebSocket(`ws://127.0.0.1:${port}/signalk/v1/stream?subscribe=none`);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('message', () => resolve()); // the hello
  });
  ws.on('message', (raw: Buffer) => {
    const d = JSON.parse(raw.toString()) as Delta;
    for (const u of d.updates ?? []) for (const v of u.values ?? []) {
      latest.set(v.path, v.value);
      for (const w of [...waiters]) if (w.path === v.path && w.accept(v.value)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(v.value);
      }
    }
  });
  ws.send(JSON.stringify({ context: 'vessels.self', subscribe: [{ path: 'electrical.halpi.*' }, { path: 'notifications.electrical.halpi.*' }] }));

  return {
    port, dir,
    output: () => out,
    get: (path) => send('GET', path),
    send,
    waitFor(path, accept = () => true, timeoutMs = 30_000) {
      if (latest.has(path) && accept(latest.get(path))) return Promise.resolve(latest.get(path));
      return new Promise((resolve, reject) => {
        const w = { path, accept, resolve: (v: any) => { clearTimeout(timer); resolve(v); } };
        // A limit on the wait, not a measured time: a test that never sees its value fails, not hangs.
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no value of ${path} accepted within ${timeoutMs} ms; last ${JSON.stringify(latest.get(path))}\n${out.slice(-3000)}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    async stop() {
      ws.terminate();
      proc.kill('SIGTERM');
      const guard = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(guard);
    },
  };
}
