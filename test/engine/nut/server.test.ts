// The upsd TCP side (engine/nut/server.ts): concurrent clients, a line too long, too many
// clients, LOGOUT closing the connection, and containment: refused clients that reset, fds.
// Loopback only, on a free port.
import t from 'tap';
import { readdirSync } from 'node:fs';
import type { Socket } from 'node:net';
import { FakeClock } from '../../../engine/clock.js';
import { faceErrors } from '../../../engine/face-errors.js';
import {
  CMD_BURST,
  CMD_RATE,
  createNutServer,
  FULL_REPLY,
  MAX_BATCH,
  MAX_CLIENTS,
  MAX_LINE,
  MAX_OUTPUT,
  type NutServerOptions,
} from '../../../engine/nut/server.js';
import { nutClient } from '../../helpers/nut-client.js';
import { countWrites } from '../../helpers/nut-server.js';

async function serve(
  t: { teardown(fn: () => unknown): void },
  opts: NutServerOptions & { variables?: Map<string, string> } = {},
) {
  const variables = opts.variables ?? new Map([['ups.status', 'OL']]);
  const nut = createNutServer(
    {
      version: 'test',
      users: [{ name: 'u', password: 'p', role: 'secondary' }],
      variables: () => variables,
      forceShutdown() {},
    },
    opts,
  );
  await new Promise<void>((r) => nut.server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => nut.close());
  // Every server-side socket by its peer's port, for tests that wait on the server's side.
  const sides = new Map<number, Socket>();
  nut.server.on('connection', (s: Socket) => sides.set(s.remotePort!, s));
  return { nut, sides, port: (nut.server.address() as { port: number }).port };
}

const client = (port: number, opts?: { allowHalfOpen?: boolean }) => nutClient(port, opts);

t.test('concurrent clients each get their own answers, in order', async (t) => {
  const { port, nut } = await serve(t);
  const cs = Array.from({ length: 5 }, () => client(port));
  cs.forEach((c, i) =>
    c.send(`USERNAME u\nPASSWORD p\nLOGIN halpi2\nGET VAR halpi2 ups.status\nGET VAR halpi2 nope${i}\n`),
  );
  for (const c of cs)
    t.same(await c.lines(5), ['OK', 'OK', 'OK', 'VAR halpi2 ups.status "OL"', 'ERR VAR-NOT-SUPPORTED']);
  t.equal(nut.clients().length, 5, 'five logins');
  const lister = client(port);
  lister.send('GET NUMLOGINS halpi2\n');
  t.same(await lister.lines(1), ['NUMLOGINS halpi2 5']);
  for (const c of [...cs, lister]) c.sock.destroy();
});

t.test('a line longer than the limit ends the connection; a partial line too', async (t) => {
  const { port } = await serve(t);
  const a = client(port);
  a.send(`GET VAR halpi2 ${'x'.repeat(MAX_LINE)}\n`);
  t.same(await a.lines(1), ['ERR INVALID-ARGUMENT']);
  await a.ended();
  const b = client(port);
  b.send('y'.repeat(MAX_LINE + 10)); // never a newline
  t.same(await b.lines(1), ['ERR INVALID-ARGUMENT']);
  await b.ended();
  t.pass('both closed');
});

t.test(
  'with every slot held by logged-in clients a new one is turned away; LOGOUT says goodbye and closes',
  async (t) => {
    const { port } = await serve(t);
    const cs = await fill(port);
    const extra = client(port);
    t.same(await extra.lines(1), [FULL_REPLY], 'a NUT error, which libupsclient knows');
    await extra.ended();
    cs[0]!.send('LOGOUT\n');
    t.same(await cs[0]!.lines(4), ['OK', 'OK', 'OK', 'OK Goodbye']);
    await cs[0]!.ended();
    for (const c of cs) c.sock.destroy();
  },
);

/** Fill every slot with a logged-in client (the only kind that is never pushed out). */
async function fill(port: number) {
  // One at a time: clients not yet logged in beyond MAX_ANONYMOUS would push the quietest out.
  const cs = [];
  for (let i = 0; i < MAX_CLIENTS; i++) {
    const c = client(port);
    c.send('USERNAME u\nPASSWORD p\nLOGIN halpi2\n');
    await c.lines(3);
    cs.push(c);
  }
  return cs;
}

/** The server's socket of a connected client (found by the client's local port). */
/** The server's end of the client on `port`, once the server has accepted it (bounded). */
async function serverSide(sides: Map<number, Socket>, port: number): Promise<void> {
  const start = Date.now();
  while (!sides.has(port)) {
    if (Date.now() - start > 10_000) throw new Error(`the server never accepted the client on port ${port}`);
    await new Promise((r) => setImmediate(r));
  }
}

function sideOf(sides: Map<number, Socket>, c: { sock: Socket }): Socket {
  return sides.get(c.sock.localPort!)!;
}

/** The server side of the next `n` connections, each resolving when it is closed. */
function serverSides(nut: { server: import('node:net').Server }, n: number): Array<Promise<void>> {
  const closes: Array<(v: void) => void> = [];
  const out = Array.from({ length: n }, () => new Promise<void>((r) => closes.push(r)));
  let i = 0;
  const on = (s: Socket) => {
    const done = closes[i++]!;
    s.once('close', () => done());
    if (i === n) nut.server.off('connection', on);
  };
  nut.server.on('connection', on);
  return out;
}

t.test('a refused client that resets before reading its refusal does not crash the process', async (t) => {
  const { port, nut, sides } = await serve(t);
  const cs = await fill(port);
  const refusedBefore = faceErrors.entries().find((e) => e.face === 'nut' && e.kind === 'refused')?.n ?? 0;
  for (let round = 0; round < 3; round++) {
    const [gone] = serverSides(nut, 1);
    const c = client(port);
    if (round === 1) c.send('NETVER\n'); // unread data on the server's side makes its close a reset too
    await c.connected();
    c.sock.resetAndDestroy(); // SO_LINGER 0: an RST instead of a FIN
    await gone;
  }
  const refused = faceErrors.entries().find((e) => e.face === 'nut' && e.kind === 'refused')?.n ?? 0;
  t.equal(refused - refusedBefore, 3, 'three refusals counted for /metrics');
  // Still serving: the clients in their slots get answers, and a freed slot is taken again.
  cs[0]!.send('VER\n');
  t.match((await cs[0]!.lines(4))[3], /^Network UPS Tools upsd test/);
  const freed = new Promise((r) => sideOf(sides, cs[1]!).once('close', r));
  cs[1]!.sock.destroy();
  await freed;
  const next = client(port);
  next.send('NETVER\n');
  t.same(await next.lines(1), ['1.3']);
  for (const c of [...cs, next]) c.sock.destroy();
});

t.test('refused clients that keep their side open do not keep a file descriptor each', async (t) => {
  const { port, nut } = await serve(t);
  const cs = await fill(port);
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  const N = 300;
  const gone = serverSides(nut, N);
  // Half-open clients: they read the refusal and the server's FIN but never close their own side,
  // as a careless or hostile client would. The server must not wait for them.
  const refused = [];
  for (let i = 0; i < N; i += 50) {
    const batch = Array.from({ length: 50 }, () => client(port, { allowHalfOpen: true }));
    for (const c of batch) await c.ended();
    refused.push(...batch);
  }
  await Promise.all(gone);
  const open = fds() - before;
  t.ok(open <= N + 10, `only the ${N} test clients' own fds remain open (${open} more than before)`);
  for (const c of refused) t.equal(c.text(), `${FULL_REPLY}\n`);
  for (const c of [...cs, ...refused]) c.sock.destroy();
});

// About 2 KiB a LIST VAR reply, for 16 bytes asked.
const manyVariables = new Map(Array.from({ length: 50 }, (_, i) => [`test.variable${i}`, 'x'.repeat(20)]));

t.test(
  'a client that pipelines requests without reading: the server stops reading it, output stays bounded',
  async (t) => {
    // Backpressure alone: no command budget (the next tests have it).
    const { port, nut, sides } = await serve(t, { variables: manyVariables, cmdBurst: Infinity });
    const c = client(port);
    await c.connected();
    c.sock.pause(); // never reads, for now
    const side = sides.get(c.sock.localPort!)!;
    const paused = new Promise((r) => side.once('pause', r));
    const N = 20_000; // 320 kB asked, 40 MB of replies: far more than the kernel's buffers hold
    c.send('LIST VAR halpi2\n'.repeat(N));
    await paused;
    const reply = await new Promise<string>((r) => {
      const b = client(port);
      b.send('LIST VAR halpi2\n');
      void b.lines(52).then((l) => {
        b.sock.destroy();
        r(`${l.join('\n')}\n`);
      });
    });
    t.ok(
      side.writableLength <= 16 * 1024 + reply.length,
      `the server holds at most one buffer of replies (${side.writableLength} bytes)`,
    );
    t.ok(
      side.bytesRead < (N * 16) / 2,
      `the server stopped reading requests (${side.bytesRead} of ${N * 16} bytes read)`,
    );
    // Now the client reads: every request is answered, in order, and the server never held more
    // than one socket buffer and one reply at a time.
    let ends = 0;
    let tail = '';
    await new Promise<void>((resolve) => {
      c.sock.removeAllListeners('data');
      c.sock.on('data', (chunk: string) => {
        const text = tail + chunk;
        ends += text.split('END LIST VAR halpi2\n').length - 1;
        tail = text.slice(text.lastIndexOf('\n') + 1);
        if (ends === N) resolve();
      });
      c.sock.resume();
    });
    t.equal(ends, N, 'every request answered');
    t.ok(nut.peakOutput() <= 16 * 1024 + reply.length, `peak output ${nut.peakOutput()} bytes`);
    t.ok(nut.peakOutput() < MAX_OUTPUT, 'the drop limit was never needed');
    c.sock.destroy();
  },
);

t.test('a client whose waiting replies exceed the bound is dropped', async (t) => {
  // A bound smaller than one reply stands for a reply too large for the client to take.
  const { port, sides } = await serve(t, { variables: manyVariables, maxOutput: 512, cmdBurst: Infinity });
  const c = client(port);
  await c.connected();
  c.sock.pause();
  const dropped = new Promise((r) => sides.get(c.sock.localPort!)!.once('close', r));
  const dropsBefore = faceErrors.entries().find((e) => e.face === 'nut' && e.kind === 'output')?.n ?? 0;
  c.send('LIST VAR halpi2\n'.repeat(10_000));
  await dropped;
  c.sock.destroy();
  t.equal(
    (faceErrors.entries().find((e) => e.face === 'nut' && e.kind === 'output')?.n ?? 0) - dropsBefore,
    1,
    'counted',
  );
});

t.test('pipelined commands are answered a batch per turn of the event loop, all of them in order', async (t) => {
  const { port, sides } = await serve(t, { cmdBurst: Infinity });
  const c = client(port);
  await c.connected();
  await serverSide(sides, c.sock.localPort!);
  const side = sides.get(c.sock.localPort!)!;
  // Count the server's replies; note how many were written when the turn that read them ends.
  const writes = countWrites(side);
  let firstTurn = -1;
  side.once('data', () =>
    setImmediate(() => {
      firstTurn = writes();
    }),
  );
  const n = 1000;
  c.send(Array.from({ length: n }, (_, i) => `GET VAR halpi2 v${i}\n`).join(''));
  const lines = await c.lines(n);
  t.equal(lines.length, n, 'every command answered');
  t.equal(lines.at(-1), 'ERR VAR-NOT-SUPPORTED');
  t.ok(
    firstTurn > 0 && firstTurn <= Math.min(2 * MAX_BATCH, n / 10),
    `${firstTurn} answers in the first turns, not ${n}: other work runs in between`,
  );
  c.sock.destroy();
});

t.test(
  'a client pipelining without end: CMD_BURST commands at once, then CMD_RATE a second, none dropped',
  async (t) => {
    const clock = new FakeClock();
    const { port, sides } = await serve(t, { clock });
    const c = client(port);
    await c.connected();
    await serverSide(sides, c.sock.localPort!);
    const side = sides.get(c.sock.localPort!)!;
    const writes = countWrites(side);
    const n = CMD_BURST + CMD_RATE;
    c.send(Array.from({ length: n }, (_, i) => `GET VAR halpi2 v${i}\n`).join(''));
    await c.lines(CMD_BURST);
    // With the clock stopped, turns of the event loop answer nothing more.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    t.equal(writes(), CMD_BURST, `${CMD_BURST} answered, the rest waits`);
    await clock.advance(1000);
    const lines = await c.lines(n);
    t.equal(lines.length, n, `a second later, ${CMD_RATE} more: all answered`);
    t.equal(lines.at(-1), 'ERR VAR-NOT-SUPPORTED');
    c.sock.destroy();
  },
);
