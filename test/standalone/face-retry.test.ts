// Face (standalone/faces.ts): the back-off between attempts, one log line per distinct reason,
// the status /metrics reports, and a stop that ends the attempts.
import t from 'tap';
import { BACKOFF_S, Face, type Timers } from '../../standalone/faces.js';

function fakeTimers() {
  const pending: Array<{ fn: () => void; ms: number }> = [];
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      const h = { fn, ms };
      pending.push(h);
      return h;
    },
    clearTimeout: (h) => {
      const i = pending.indexOf(h as never);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  /** Run the next timer; its delay in ms. */
  const next = async (): Promise<number> => {
    const h = pending.shift()!;
    h.fn();
    await new Promise((r) => setImmediate(r));
    return h.ms;
  };
  return { timers, pending, next };
}

const logger = () => {
  const lines: string[] = [];
  return {
    lines,
    info: (m: string) => lines.push(m),
    warn: (m: string) => lines.push(m),
    error: (m: string) => lines.push(`E ${m}`),
  };
};

t.test('failures are retried after 1, 2, 5, 10, 30, 30 s; logged once per reason; up once started', async (t) => {
  const { timers, pending, next } = fakeTimers();
  const log = logger();
  let failWith: string | null = 'listen EADDRINUSE: address already in use 127.0.0.1:8080';
  const closed: string[] = [];
  const face = new Face(
    'web',
    'the web listener',
    '127.0.0.1:8080',
    async () => {
      if (failWith) throw new Error(failWith);
      return {
        close: async () => {
          closed.push('web');
        },
      };
    },
    log,
    timers,
  );
  await face.begin();
  t.same(face.status, { face: 'web', address: '127.0.0.1:8080', up: false, error: failWith });
  const delays = [];
  for (let i = 0; i < 6; i++) delays.push(await next());
  t.same(
    delays,
    [...BACKOFF_S, 30].map((s) => s * 1000),
  );
  t.same(log.lines, [
    'E Cannot start the web listener on 127.0.0.1:8080: listen EADDRINUSE: address already in use 127.0.0.1:8080; retrying (next in 1 s)',
  ]);
  failWith = 'listen EADDRNOTAVAIL: address not available 127.0.0.1:8080';
  await next();
  t.equal(log.lines.length, 2, 'a new reason is logged');
  t.match(log.lines[1], 'EADDRNOTAVAIL');
  failWith = null;
  await next();
  t.same(face.status, { face: 'web', address: '127.0.0.1:8080', up: true, error: null });
  t.equal(pending.length, 0, 'no more attempts once up');
  t.ok(face.stop(), 'stop hands back what runs');
  t.same(face.status.up, false);
});

t.test('stop ends the attempts; a start that completes after the stop is closed', async (t) => {
  const { timers, pending } = fakeTimers();
  const failing = new Face(
    'nut',
    'the NUT listener',
    '3493',
    async () => {
      throw new Error('nope');
    },
    logger(),
    timers,
  );
  await failing.begin();
  t.equal(pending.length, 1);
  t.equal(failing.stop(), null);
  t.equal(pending.length, 0, 'the retry is cancelled');

  let finish: () => void = () => {};
  let closed = false;
  const slow = new Face(
    'web',
    'the web listener',
    '8080',
    () =>
      new Promise<{ close(): Promise<void> }>((resolve) => {
        finish = () =>
          resolve({
            close: async () => {
              closed = true;
            },
          });
      }),
    logger(),
    timers,
  );
  const begun = slow.begin();
  slow.stop();
  finish();
  await begun;
  t.equal(closed, true, 'closed, not leaked');
  t.equal(slow.running, null);
});
