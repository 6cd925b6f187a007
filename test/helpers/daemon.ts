// Test rig: the real halpid (the built bundle dist/bin/halpid.cjs) on a temporary socket, talked
// to over that socket with node:http.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { simulatorSocketPath } from '../../engine/paths.js';
import { ensureBuilt } from './built.js';
import { request, type Reply } from './http-request.js';
import { tempDir } from './tmp.js';

export const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
export const GID = String(process.getgid?.() ?? 0);

export { json, request, type Reply } from './http-request.js';
export { physical } from './physical.js';

export interface RunningDaemon {
  proc: ChildProcess;
  socket: string;
  dir: string;
  logs: () => string;
  req: (method: string, path: string, opts?: Parameters<typeof request>[3]) => Promise<Reply>;
  /** Wait for a log line matching `re` (polling the captured output). */
  waitLog: (re: RegExp, timeoutMs?: number) => Promise<string>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  exited: Promise<number | null>;
}

/** The built bins (`npm test` builds first): the daemon and the CLI exactly as they ship. */
ensureBuilt(); // a single-file run after an edit rebuilds what is stale (test/helpers/built.ts)
export const HALPID = join(ROOT, 'dist/bin/halpid.cjs');
export const HALPI = join(ROOT, 'dist/bin/halpi.cjs');
/** The V8 flags of the bin's first line (`#!/usr/bin/env -S node …`), so tests run it as it ships. */
export const HALPID_FLAGS = ((): string[] => {
  const first = existsSync(HALPID) ? (readFileSync(HALPID, 'utf8').split('\n')[0] ?? '') : '';
  return (/^#!\/usr\/bin\/env -S node (.*)$/.exec(first)?.[1] ?? '').split(' ').filter(Boolean);
})();

// Whatever happens in a test, no daemon outlives the test process.
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/**
 * halpid with `args`. `nodeArgs` go to Node before the bin, and the process then runs through
 * `env -u NODE_OPTIONS`: without the hook tap adds to every child's NODE_OPTIONS, which loads
 * Node's ES module loader (test/bins/lazy-loading.test.ts looks at what the bin itself loads).
 */
export function spawnHalpid(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  nodeArgs?: string[],
): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const command = [process.execPath, ...HALPID_FLAGS, ...(nodeArgs ?? []), HALPID, ...args];
  if (nodeArgs) command.unshift('/usr/bin/env', '-u', 'NODE_OPTIONS');
  const proc = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    // Without tap's NODE_OPTIONS (its coverage hook costs most of a second per start).
    env: { ...process.env, NODE_OPTIONS: '', JOURNAL_STREAM: '', HALPID_LOG_LEVEL: '', DEBUG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  proc.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  return { proc, output: () => out, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * halpid --simulate on a socket in a fresh temporary directory (or `--socket` from `args`); with
 * `defaultSocket`, on the simulator's default path, which `env.XDG_RUNTIME_DIR` should then name.
 */
export async function startDaemon(
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  opts: { defaultSocket?: boolean; nodeArgs?: string[] } = {},
): Promise<RunningDaemon> {
  const dir = tempDir('halpid-test-');
  const given = args.lastIndexOf('--socket');
  const socket = opts.defaultSocket
    ? simulatorSocketPath({ ...process.env, ...env })
    : given >= 0
      ? args[given + 1]!
      : join(dir, 'halpid.sock');
  const socketArgs = opts.defaultSocket ? [] : ['--socket', socket];
  const { proc, output, exited } = spawnHalpid(
    ['--simulate', ...socketArgs, '--socket-group', GID, '--poweroff', 'true', '--poweroff-fallback', '', ...args],
    env,
    opts.nodeArgs,
  );
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const waitLog = async (re: RegExp, timeoutMs = 20_000): Promise<string> => {
    const start = Date.now();
    for (;;) {
      const m = output()
        .split('\n')
        .find((l) => re.test(l));
      if (m) return m;
      if (Date.now() - start > timeoutMs) throw new Error(`no log line ${re} within ${timeoutMs} ms:\n${output()}`);
      if (done) throw new Error(`halpid exited before logging ${re}:\n${output()}`);
      await sleep(20);
    }
  };
  await waitLog(/Starting power management state machine/);
  if (!existsSync(socket)) throw new Error(`no socket at ${socket}`);
  // Ready means the simulated controller has taken the daemon's watchdog (OperationalCoOp).
  const start = Date.now();
  while (!(await request(socket, 'GET', '/sim')).text.includes('"state":"OperationalCoOp"')) {
    if (Date.now() - start > 10_000) throw new Error(`the controller never reached OperationalCoOp:\n${output()}`);
    await sleep(20);
  }
  return {
    proc,
    socket,
    dir,
    exited,
    logs: output,
    req: (method, path, opts) => request(socket, method, path, opts),
    waitLog,
    stop: async (signal = 'SIGTERM') => {
      if (!done) proc.kill(signal);
      const guard = setTimeout(() => proc.kill('SIGKILL'), 10_000); // a hung daemon fails, not hangs
      const code = await exited;
      clearTimeout(guard);
      return code;
    },
  };
}

/** Physical input values whose controller encoding is exactly `raw` (docs/controller.md). */
