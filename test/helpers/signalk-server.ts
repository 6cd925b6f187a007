// A real signalk-server 2.23.0 as a child process (docs/signalk.md): a fresh configuration
// directory with this package linked into its node_modules (or one prepared by the caller, e.g.
// an App Store install), mDNS, the TCP/NMEA interfaces and the app store off, a free port on
// loopback; optionally tokensecurity with an admin and a read-only user. Helpers for its REST and
// WebSocket APIs and the plugin's status.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from './daemon.js';
import { tempDir } from './tmp.js';
import { freePort } from './net.js';

const require = createRequire(import.meta.url);
// ws comes with signalk-server (Node 20 has no WebSocket client of its own).
// Typed here by the few members used (the package has no types of its own).
interface WsClient {
  once(event: 'error', fn: (err: Error) => void): void;
  once(event: 'message', fn: () => void): void;
  on(event: 'message', fn: (raw: Buffer) => void): void;
  send(data: string): void;
  terminate(): void;
}
const WebSocket = require('ws') as new (url: string, opts?: object) => WsClient;

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export interface Delta {
  updates?: Array<{ $source?: string; values?: Array<{ path: string; value: unknown }> }>;
}

export interface SignalK {
  port: number;
  /** The server's process (the wrap command execs it, as setpriv and env do). */
  pid: number;
  dir: string;
  base: string;
  output: () => string;
  /** With security on, the requests are the admin's unless `token` says otherwise ('' = anonymous). */
  get(path: string, token?: string): Promise<{ status: number; body: any }>;
  send(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  /** A token for a user of `SECURITY_USERS`. */
  login(username: string): Promise<string>;
  /** Resolves with the first value of `path` (from the WebSocket stream) that `accept`s. */
  waitFor(path: string, accept?: (v: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Resolves with the first status or error of the plugin (server events) that `accept`s. */
  waitForStatus(accept: (message: string) => boolean, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** The users of a server started with `security: true`: usernames are passwords too. */
export const SECURITY_USERS = { admin: 'admin', reader: 'readonly', writer: 'readwrite' } as const;

export interface SignalKOptions {
  /** A configuration directory prepared by the caller (the plugin already installed); default: a new one with the plugin linked. */
  dir?: string;
  /** The server's start script; default: the one in our node_modules. */
  server?: string;
  /** tokensecurity with the users of SECURITY_USERS and read-only access for anonymous users. */
  security?: boolean;
  /** Run the server through this command prefix (e.g. setpriv with another uid). */
  wrap?: string[];
  /** Other plugins' stored settings, by plugin id. */
  pluginConfigs?: Record<string, unknown>;
  /** Called with the configuration directory before the server starts (e.g. to install another plugin). */
  prepare?: (dir: string) => void;
}

/** `configuration` null: no stored settings for the plugin (as before the first Save). */
export async function startSignalK(
  configuration: Record<string, unknown> | null,
  opts: SignalKOptions = {},
): Promise<SignalK> {
  const dir = opts.dir ?? tempDir('halpi2-signalk-');
  if (!opts.dir) {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'signalk-server-config', version: '0.0.1' }));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'signalk-halpi2'), 'dir');
  }
  mkdirSync(join(dir, 'plugin-config-data'), { recursive: true });
  const configs = {
    ...opts.pluginConfigs,
    ...(configuration ? { 'signalk-halpi2': { enabled: true, configuration } } : {}),
  };
  for (const [id, c] of Object.entries(configs))
    writeFileSync(join(dir, 'plugin-config-data', `${id}.json`), JSON.stringify(c));
  writeFileSync(
    join(dir, 'settings.json'),
    JSON.stringify({
      mdns: false,
      interfaces: { mfd_webapp: false, 'nmea-tcp': false, tcp: false, appstore: false },
      pipedProviders: [],
      ...(opts.security ? { security: { strategy: './tokensecurity' } } : {}),
    }),
  );
  if (opts.security) writeFileSync(join(dir, 'security.json'), JSON.stringify(securityConfig()));
  opts.prepare?.(dir);
  const port = await freePort();
  const script = opts.server ?? join(ROOT, 'node_modules/signalk-server/bin/signalk-server');
  const argv = [...(opts.wrap ?? []), process.execPath, script, '-c', dir];
  const proc = spawn(argv[0]!, argv.slice(1), {
    cwd: dir,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      PORT: String(port),
      SIGNALK_DISABLE_SERVER_UPDATES: 'true',
      DEBUG: process.env.SK_DEBUG ?? '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  proc.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<void>((r) =>
    proc.on('exit', () => {
      children.delete(proc);
      r();
    }),
  );
  const base = `http://127.0.0.1:${port}`;
  let adminToken = '';

  const send = async (method: string, path: string, body?: unknown, token = adminToken) => {
    const headers: Record<string, string> = body === undefined ? {} : { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* text */
    }
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

  const login = async (username: string): Promise<string> => {
    const res = await send('POST', '/signalk/v1/auth/login', { username, password: username }, '');
    if (res.status !== 200 || typeof res.body?.token !== 'string')
      throw new Error(`login as ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.token as string;
  };
  if (opts.security) adminToken = await login('admin');

  // One WebSocket subscription to everything under electrical.halpi and its notifications, with
  // the server events (the plugin's status among them).
  const latest = new Map<string, unknown>();
  let status = '';
  const waiters: Array<{ path: string; accept: (v: any) => boolean; resolve: (v: any) => void }> = [];
  const ws = new WebSocket(
    `ws://127.0.0.1:${port}/signalk/v1/stream?subscribe=none&serverevents=all`,
    adminToken ? { headers: { Authorization: `Bearer ${adminToken}` } } : {},
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('message', () => resolve()); // the hello
  });
  const STATUS = '\0status';
  ws.on('message', (raw: Buffer) => {
    const d = JSON.parse(raw.toString()) as Delta & { type?: string; data?: Array<{ id: string; message: string }> };
    if (d.type === 'PROVIDERSTATUS') {
      const mine = d.data?.find((p) => p.id === 'signalk-halpi2');
      if (mine && mine.message !== status) {
        status = mine.message;
        for (const w of [...waiters])
          if (w.path === STATUS && w.accept(status)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(status);
          }
      }
      return;
    }
    for (const u of d.updates ?? [])
      for (const v of u.values ?? []) {
        latest.set(v.path, v.value);
        for (const w of [...waiters])
          if (w.path === v.path && w.accept(v.value)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(v.value);
          }
      }
  });
  ws.send(
    JSON.stringify({
      context: 'vessels.self',
      subscribe: [{ path: 'electrical.halpi.*' }, { path: 'notifications.electrical.halpi.*' }],
    }),
  );

  const waitFor = (path: string, accept: (v: any) => boolean = () => true, timeoutMs = 30_000): Promise<any> => {
    const current = path === STATUS ? status : latest.get(path);
    if ((path === STATUS || latest.has(path)) && accept(current)) return Promise.resolve(current);
    return new Promise((resolve, reject) => {
      const w = {
        path,
        accept,
        resolve: (v: any) => {
          clearTimeout(timer);
          resolve(v);
        },
      };
      // A limit on the wait, not a measured time: a test that never sees its value fails, not hangs.
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        const last = path === STATUS ? status : latest.get(path);
        reject(
          new Error(
            `no ${path === STATUS ? 'status' : `value of ${path}`} accepted within ${timeoutMs} ms; last ${JSON.stringify(last)}\n${out.slice(-3000)}`,
          ),
        );
      }, timeoutMs);
      waiters.push(w);
    });
  };

  return {
    port,
    dir,
    base,
    pid: proc.pid!,
    output: () => out,
    get: (path, token) => send('GET', path, undefined, token),
    send,
    login,
    waitFor,
    waitForStatus: (accept, timeoutMs) => waitFor(STATUS, accept, timeoutMs),
    async stop() {
      ws.terminate();
      proc.kill('SIGTERM');
      const guard = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(guard);
    },
  };
}

function securityConfig(): Record<string, unknown> {
  // bcryptjs comes with signalk-server; few rounds keep the logins quick.
  const bcrypt = require('bcryptjs') as { hashSync(p: string, rounds: number): string };
  return {
    allow_readonly: true,
    expiration: '1d',
    secretKey: 'halpi2-test-'.padEnd(64, '0'),
    devices: [],
    acls: [],
    immutableConfig: false,
    allowDeviceAccessRequests: false,
    allowNewUserRegistration: false,
    users: Object.entries(SECURITY_USERS).map(([username, type]) => ({
      username,
      type,
      password: bcrypt.hashSync(username, 4),
    })),
  };
}
