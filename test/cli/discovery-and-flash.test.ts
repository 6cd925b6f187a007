// halpi as a newcomer meets it: a bare `halpi status` finds `halpid --simulate` on its default
// socket; and two edge cases of flash: a second upload waiting in the daemon's queue, and the
// daemon going away in the middle of an upload.
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HALPI, startDaemon } from '../helpers/daemon.js';
import { firmwareImage } from '../helpers/firmware.js';
import { tempDir } from '../helpers/tmp.js';

interface Child {
  /** Resolves once stderr (or stdout) has a line matching `re`. */
  waitFor: (re: RegExp, stream?: 'stdout' | 'stderr') => Promise<void>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function halpi(args: string[], env: NodeJS.ProcessEnv): Child {
  const p = spawn(process.execPath, [HALPI, ...args], {
    env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '', HALPI_SOCKET: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const text = { stdout: '', stderr: '' };
  const waiters: Array<{ re: RegExp; stream: 'stdout' | 'stderr'; resolve: () => void }> = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      if (w.re.test(text[w.stream])) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  p.stdout.on('data', (c: Buffer) => {
    text.stdout += c.toString();
    check();
  });
  p.stderr.on('data', (c: Buffer) => {
    text.stderr += c.toString();
    check();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    p.on('close', (code) => resolve({ code, ...text }));
  });
  return {
    waitFor: (re, stream = 'stderr') =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ re, stream, resolve });
        check();
        void done.then(() => reject(new Error(`halpi ended without ${re}:\n${text.stdout}\n${text.stderr}`)));
      }),
    done,
  };
}

t.test('a bare halpi finds halpid --simulate on the simulator default socket', async (t) => {
  const runtime = tempDir('halpid-xdg-');
  const d = await startDaemon([], { XDG_RUNTIME_DIR: runtime }, { defaultSocket: true });
  t.teardown(() => d.stop());
  t.equal(d.socket, join(runtime, 'halpid', 'halpid.sock'));
  const r = await halpi(['get', 'firmware_version'], { XDG_RUNTIME_DIR: runtime }).done;
  t.same([r.code, r.stdout, r.stderr], [0, '3.3.1\n', '']);
  // With nothing there, the error lists every path tried.
  const empty = tempDir('halpid-xdg-');
  const none = await halpi(['status'], { XDG_RUNTIME_DIR: empty }).done;
  t.equal(none.code, 1);
  t.match(
    none.stderr,
    new RegExp(
      `^Error: Failed to connect to daemon: no socket at /run/halpid/halpid\\.sock, /run/halpid\\.sock, ${empty}/halpid/halpid\\.sock \\(is halpid running\\?`,
    ),
  );
});

t.test('a second flash waits for the first without showing its progress', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.stop());
  const dir = tempDir('halpi-');
  const file = join(dir, 'fw.bin');
  writeFileSync(file, firmwareImage({ bytes: 3 * 4096 }));
  const env = { HALPI_SOCKET: d.socket };
  const first = halpi(['flash', file], env);
  await first.waitFor(/^Erasing$/m);
  const second = halpi(['flash', file], env);
  await second.waitFor(/^Waiting for another firmware update to finish$/m);
  const [a, b] = await Promise.all([first.done, second.done]);
  t.equal(a.code, 0, a.stderr);
  t.equal(b.code, 0, b.stderr);
  // "Sending done" may come first: the body is sent before the daemon reports anything.
  const lines = b.stderr
    .trim()
    .split('\n')
    .filter((l) => l !== 'Sending done');
  t.same(
    lines,
    [
      'Waiting for another firmware update to finish',
      'Erasing',
      'Writing block 1/3',
      'Writing block 2/3',
      'Writing block 3/3',
      'Verifying',
    ],
    'the waiting client shows only its own upload',
  );
});

t.test(
  'the daemon going away mid-flash: halpi says the connection was lost, not that it failed to connect',
  async (t) => {
    const d = await startDaemon();
    t.teardown(() => d.stop());
    const dir = tempDir('halpi-');
    const file = join(dir, 'fw.bin');
    writeFileSync(file, firmwareImage({ bytes: 3 * 4096, seed: 2 }));
    const c = halpi(['flash', file], { HALPI_SOCKET: d.socket });
    await c.waitFor(/^Erasing$/m);
    d.proc.kill('SIGKILL');
    const r = await c.done;
    t.equal(r.code, 1);
    t.match(r.stderr, new RegExp(`Error: Lost the connection to the daemon at ${d.socket}: `));
    t.notMatch(r.stderr, /Failed to connect/);
  },
);
