// Test rig for Network UPS Tools: a line-by-line NUT client, and Debian's real upsd serving given
// variables through the dummy-ups driver, run by hand in a private directory (NUT_CONFPATH,
// NUT_STATEPATH: its pid files, driver socket and configuration), never the machine's services.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export const UPSD = '/lib/nut/upsd';
export const DUMMY_UPS = '/lib/nut/dummy-ups';
export const UPSMON = '/lib/nut/upsmon';

/** What a command got back: one line, a whole BEGIN…END list, or CLOSED when the server hung up. */
export type Answer = string[];
export const CLOSED = '<closed>';

/**
 * One connection, the commands sent one at a time, each answer read in full before the next
 * command (a BEGIN LIST answer up to its END). Stops at a closed connection. Bounded: every answer
 * must come within `timeoutMs`.
 */
export function converse(port: number, commands: string[], timeoutMs = 5000): Promise<Answer[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const answers: Answer[] = [];
    const lines: string[] = [];
    let buf = '';
    let closed = false;
    let current: Answer | null = null;
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      current = null;
      clearTimeout(timer);
      sock.destroy();
      resolve(answers);
    };
    const send = () => {
      if (i >= commands.length) return finish();
      current = [];
      answers.push(current);
      sock.write(`${commands[i++]}\n`);
      clearTimeout(timer);
      timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`no answer to ${commands[i - 1]} within ${timeoutMs} ms (got ${JSON.stringify(answers)})`));
      }, timeoutMs);
    };
    const take = () => {
      while (current && (lines.length || closed)) {
        const line = lines.shift() ?? CLOSED;
        current.push(line);
        if (line === CLOSED) return finish();
        const first = current[0]!;
        const open = first.startsWith('BEGIN LIST ') && line !== first.replace(/^BEGIN/, 'END');
        if (!open) {
          current = null;
          send();
        }
      }
    };
    sock.setEncoding('utf8');
    sock.on('connect', send);
    sock.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      take();
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      closed = true;
      take();
      finish();
    });
  });
}

export interface Upsd {
  port: number;
  dir: string;
  log: () => string;
  stop: () => Promise<void>;
}

const asRoot = process.getuid?.() === 0;

/**
 * Debian's upsd on 127.0.0.1:`port` serving UPS `name` with `vars` through dummy-ups, with the
 * users of upsd.users text `users`. Resolves once upsd answers GET VAR for the UPS.
 */
export async function startUpsd(opts: {
  dir: string;
  port: number;
  name: string;
  desc: string;
  vars: Map<string, string>;
  users: string;
}): Promise<Upsd> {
  const { dir, port, name } = opts;
  const q = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const files: Record<string, string> = {
    'nut.conf': 'MODE=standalone\n',
    'ups.conf': `[${name}]\n  driver = dummy-ups\n  port = ${name}.dev\n  desc = ${q(opts.desc)}\n`,
    'upsd.conf': `LISTEN 127.0.0.1 ${port}\nMAXAGE 15\n`,
    'upsd.users': opts.users,
    [`${name}.dev`]: [...opts.vars].map(([k, v]) => `${k}: ${q(v)}`).join('\n') + '\n',
  };
  for (const [f, text] of Object.entries(files)) {
    writeFileSync(join(dir, f), text);
    chmodSync(join(dir, f), 0o600);
  }
  const env = { ...process.env, NUT_CONFPATH: dir, NUT_STATEPATH: dir, NUT_ALTPIDPATH: dir };
  const user = asRoot ? ['-u', 'root'] : [];
  const logFile = join(dir, 'nut.log');
  const out = openSync(logFile, 'a');
  const procs: ChildProcess[] = [];
  // Each in its own process group, output to a file (pipes would keep the test process alive).
  const run = (bin: string, args: string[]) => {
    const p = spawn(bin, args, { env, stdio: ['ignore', out, out], detached: true });
    p.unref();
    procs.push(p);
    return p;
  };
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const stop = async () => {
    for (const p of procs.reverse()) {
      if (p.exitCode !== null || p.signalCode !== null || !p.pid) continue;
      const gone = new Promise((r) => p.once('exit', r));
      try {
        process.kill(-p.pid, 'SIGTERM');
      } catch {
        continue;
      }
      const guard = setTimeout(() => {
        try {
          process.kill(-p.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000);
      await gone;
      clearTimeout(guard);
    }
  };
  try {
    run(DUMMY_UPS, ['-a', name, '-F', ...user]);
    await until("dummy-ups's socket", () => existsSync(join(dir, `dummy-ups-${name}`)), log);
    run(UPSD, ['-F', ...user]);
    // Ready once upsd has the driver's data: every variable (dummy-ups says WAIT before it has read its file).
    const start = Date.now();
    for (;;) {
      const a = await converse(port, [`LIST VAR ${name}`]).catch(() => [] as Answer[]);
      const served = new Set((a[0] ?? []).map((l) => l.split(' ')[2]));
      if ([...opts.vars.keys()].every((k) => served.has(k)) && !(a[0] ?? []).includes(`VAR ${name} ups.status "WAIT"`))
        break;
      if (Date.now() - start > 20_000) throw new Error(`upsd never served ${name}:\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, dir, log, stop };
}

/** Wait for a condition that another process makes true (a file, a log line): bounded, polled. */
export async function until(
  what: string,
  cond: () => boolean,
  log: () => string = () => '',
  limitMs = 30_000,
): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`${what}: not within ${limitMs} ms\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
