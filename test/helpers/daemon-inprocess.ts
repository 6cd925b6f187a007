// The Daemon class (standalone/daemon.ts) in this process, on the simulator, for the tests that
// Stryker must see (a test that runs the built halpid cannot kill a mutant): a recording logger
// whose waits wake on each line, a bounded wait for a condition, and a daemon on a private socket.
import { join } from 'node:path';
import type { Logger } from '../../engine/log.js';
import { Daemon } from '../../standalone/daemon.js';
import { request } from './http-request.js';
import { tempDir } from './tmp.js';

export const GID = Number(process.getgid?.() ?? 0);

export interface LogLine {
  level: string;
  message: string;
}

export function logs() {
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  const push = (level: string, message: string) => {
    lines.push({ level, message });
    for (const w of [...waiters]) w();
  };
  const logger: Logger = {
    info: (message) => push('info', message),
    warn: (message) => push('warn', message),
    error: (message) => push('error', message),
  };
  const matches = (l: LogLine, level: string, message: string | RegExp) =>
    l.level === level && (typeof message === 'string' ? l.message === message : message.test(l.message));
  const has = (level: string, message: string | RegExp) => lines.some((l) => matches(l, level, message));
  const find = (level: string, message: string | RegExp) => lines.find((l) => matches(l, level, message))?.message;
  /** Wait for a line (woken by each new line), failing loudly with what was logged at the bound. */
  const waitFor = (level: string, message: string | RegExp, ms = 10_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = find(level, message);
        if (found === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `no ${level} line ${String(message)} within ${ms} ms; logged:\n${lines.map((l) => `${l.level}: ${l.message}`).join('\n')}`,
          ),
        );
      }, ms);
      waiters.add(check);
      check();
    });
  return { lines, logger, has, find, waitFor };
}

/** Wait for `pred` (polled), failing loudly at the bound. */
export async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A daemon on the simulator with a private socket, a harmless poweroff and a 600 s blackout limit,
 * stopped at the test's teardown. A flag given as undefined is left to the configuration files.
 */
export async function startInProcess(
  t: { teardown: (fn: () => unknown) => void },
  flags: Record<string, unknown> = {},
  files: string[] = [],
) {
  const dir = tempDir('halpid-life-');
  const log = logs();
  const socket = join(dir, 'h.sock');
  const all: Record<string, unknown> = {
    backend: 'simulator',
    socket,
    'socket-group': GID,
    poweroff: 'true',
    'poweroff-fallback': '',
    'blackout-time-limit': 600,
    ...flags,
  };
  for (const k of Object.keys(all)) if (all[k] === undefined) delete all[k];
  const daemon = await Daemon.start({ files, logger: log.logger, defaultFile: join(dir, 'none.conf'), flags: all });
  t.teardown(() => daemon.stop('teardown'));
  const sim = daemon.engine.simulator!;
  const req = (method: string, path: string, o?: Parameters<typeof request>[3]) =>
    request(daemon.socketPath, method, path, o);
  return { daemon, sim, dir, socket, req, ...log };
}
