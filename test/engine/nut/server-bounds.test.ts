// The upsd TCP side (engine/nut/server.ts) at its bounds, as a NUT client and the log see them:
// the output bound is a strict "over", the refused and dropped clients are logged with their
// reason, the eldest of equally quiet anonymous clients makes way, and startNutServer's defaults
// (no onFsd, the engine's logger, a listener failure after start). FakeClock; loopback only.
import t from 'tap';
import { FakeClock } from '../../../engine/clock.js';
import type { Engine } from '../../../engine/engine.js';
import { MAX_ANONYMOUS, MAX_BATCH, MAX_CLIENTS, startNutServer } from '../../../engine/nut/server.js';
import { nutClient } from '../../helpers/nut-client.js';
import { serveNut } from '../../helpers/nut-server.js';

const LOGIN = 'USERNAME u\nPASSWORD p\nLOGIN halpi2\n';

t.test('the output bound is "over": with nothing left waiting, a reading client is served on', async (t) => {
  // A bound of 0 bytes: only a reply that has to wait drops the client, and on loopback a client
  // reading its few short replies never leaves any waiting.
  const { open } = await serveNut(t, {}, { maxOutput: 0 });
  const c = await open();
  for (let n = 2; n <= 5; n++) {
    c.send('NETVER\n');
    t.equal((await c.lines(n))[n - 1], '1.3', `answer ${n}`);
  }
  t.equal(c.side.destroyed, false, 'still connected');
  c.sock.destroy();
});

t.test('a client dropped for not reading is logged with the bound, once', async (t) => {
  const many = new Map(Array.from({ length: 200 }, (_, i) => [`x.v${i}`, 'y'.repeat(40)]));
  const { logs, silent } = await serveNut(t, { variables: () => many }, { maxOutput: 512, cmdBurst: Infinity });
  for (let i = 0; i < 2; i++) {
    const c = await silent();
    c.sock.pause(); // never reads
    const dropped = new Promise((r) => c.side.once('close', r));
    c.send('LIST VAR halpi2\n'.repeat(2000));
    await dropped;
    c.sock.destroy();
  }
  t.same(
    logs.filter((l) => l.includes('does not read')),
    [
      'warn NUT server: a client that does not read its replies was dropped (over 512 bytes waiting); further ones are only counted (halpi_face_errors_total{face="nut",kind="output"})',
    ],
  );
});

t.test('a client refused with every slot logged in is logged with the reason', async (t) => {
  const { logs, open, port } = await serveNut(t);
  const logged = [];
  while (logged.length < MAX_CLIENTS) logged.push(await open(LOGIN, 3));
  const extra = nutClient(port);
  t.same(await extra.lines(1), ['ERR ACCESS-DENIED']);
  await extra.ended();
  t.same(
    logs.filter((l) => l.includes('refused')),
    [
      `warn NUT server: a client was refused: all ${MAX_CLIENTS} slots in use by logged-in clients; further ones are only counted (halpi_face_errors_total{face="nut",kind="refused"})`,
    ],
  );
  for (const c of [...logged, extra]) c.sock.destroy();
});

t.test('of anonymous clients heard at the same time, the one connected first makes way', async (t) => {
  const { open } = await serveNut(t);
  const anon = [];
  for (let i = 0; i < MAX_ANONYMOUS; i++) anon.push(await open()); // no time passes: all equally quiet
  const late = await open();
  t.same(
    anon.map((c) => c.side.destroyed),
    [true, ...Array<boolean>(MAX_ANONYMOUS - 1).fill(false)],
    'only the eldest was pushed out',
  );
  for (const c of [...anon, late]) c.sock.destroy();
});

t.test('the quietest anonymous client makes way, not the one connected first', async (t) => {
  const { clock, open } = await serveNut(t);
  const anon = [];
  for (let i = 0; i < MAX_ANONYMOUS; i++) {
    anon.push(await open());
    await clock.advance(1000);
  }
  anon[0]!.send('NETVER\n'); // the eldest speaks again: anon[1] is now the quietest
  await anon[0]!.lines(2);
  const late = await open();
  t.same(
    anon.map((c) => c.side.destroyed),
    [false, true, ...Array<boolean>(MAX_ANONYMOUS - 2).fill(false)],
    'the quietest was pushed out',
  );
  for (const c of [...anon, late]) c.sock.destroy();
});

t.test('past its burst a client is answered at the command rate, not slower', async (t) => {
  // Burst 2, rate 300/s: the k-th command past the burst is due after k/300 s, rounded up to the ms.
  const { clock, silent } = await serveNut(t, {}, { cmdBurst: 2, cmdRate: 300 });
  const c = await silent();
  c.send('NETVER\n'.repeat(5));
  t.same(await c.lines(2), ['1.3', '1.3'], 'the burst at once');
  const answered = () => c.side.bytesWritten / '1.3\n'.length;
  await clock.advance(4);
  t.equal(answered(), 3, 'the 1st past it at 4 ms (1/300 s)');
  await clock.advance(3);
  t.equal(answered(), 4, 'the 2nd at 7 ms (2/300 s)');
  await clock.advance(3);
  t.equal(answered(), 5, 'the 3rd at 10 ms');
  t.equal((await c.lines(5)).length, 5);
  c.sock.destroy();
});

t.test('a batch cut with budget left goes on at the next turn, without waiting for the clock', async (t) => {
  // The batch (MAX_BATCH) ends with exactly one command of budget left: it is answered at the next
  // turn of the event loop; the one after waits for the budget to refill.
  const { clock, silent } = await serveNut(t, {}, { cmdBurst: MAX_BATCH + 1, cmdRate: 100 });
  const c = await silent();
  c.send('NETVER\n'.repeat(MAX_BATCH + 2));
  t.equal((await c.lines(MAX_BATCH + 1)).length, MAX_BATCH + 1, 'the burst, with no time passing');
  t.equal(c.side.bytesWritten, (MAX_BATCH + 1) * '1.3\n'.length, 'not the one past it');
  await clock.advance(10);
  t.equal((await c.lines(MAX_BATCH + 2)).length, MAX_BATCH + 2, 'that one once the budget refilled');
  c.sock.destroy();
});

/** Enough of an engine for startNutServer: a reading, blackout events, a logger. */
function fakeEngine() {
  const clock = new FakeClock();
  const listeners = new Set<(ev: { phase: string }) => void>();
  const logs: string[] = [];
  const e = {
    clock,
    state: 'NORMAL',
    status: {},
    settings: { blackoutTimeLimitS: 600, blackoutVoltageLimitV: 9 },
    supervisor: { blackoutElapsedS: null },
    lastMeasurements: { wall: clock.wallNow(), values: { V_in: 12, I_in: 0.5, V_cap: 10.25, T_pcb: 300, T_mcu: 300 } },
    logger: { info: (m: string) => logs.push(`info ${m}`), warn: (m: string) => logs.push(`warn ${m}`), error() {} },
    readConfigKey: async () => 5.5,
    refreshStatus: async () => {},
    on: (_: string, fn: (ev: { phase: string }) => void) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    blackout: (ev: { phase: string }) => {
      for (const l of listeners) l(ev);
    },
  };
  return { e, logs };
}

async function start(t: { teardown(fn: () => unknown): void }, e: unknown, logger?: { info(m: string): void }) {
  const nut = await startNutServer({
    engine: e as Engine,
    listen: '127.0.0.1:0',
    user: 'u',
    password: 'p',
    primary: true,
    staleMs: 5000,
    ...(logger ? { logger: { info: logger.info, warn() {}, error() {} } } : {}),
  });
  t.teardown(() => nut.close());
  const c = nutClient(nut.port);
  t.teardown(() => c.sock.destroy());
  let n = 0;
  const ask = async (line: string) => {
    c.send(`${line}\n`);
    return (await c.lines(++n))[n - 1];
  };
  return { nut, ask };
}

t.test("startNutServer logs to the engine's logger unless given one", async (t) => {
  const { e, logs } = fakeEngine();
  const a = await start(t, e);
  for (const l of LOGIN.trim().split('\n')) await a.ask(l);
  t.same(logs, ['info NUT login: u from 127.0.0.1'], "the engine's logger");
  const own: string[] = [];
  const b = await start(t, e, { info: (m) => own.push(m) });
  for (const l of LOGIN.trim().split('\n')) await b.ask(l);
  t.same(own, ['NUT login: u from 127.0.0.1'], 'the logger given');
  t.equal(logs.length, 1, "not the engine's too");
});

t.test('FSD without an onFsd hook is set all the same', async (t) => {
  const { e } = fakeEngine();
  const { ask } = await start(t, e);
  for (const l of `${LOGIN}PRIMARY halpi2`.split('\n')) await ask(l);
  t.equal(await ask('FSD halpi2'), 'OK FSD-SET');
  t.equal(await ask('GET VAR halpi2 ups.status'), 'VAR halpi2 ups.status "FSD OL"');
});

t.test('a listener failure after start does not stop FSD clearing on line power', async (t) => {
  const { e } = fakeEngine();
  const { nut, ask } = await start(t, e);
  for (const l of `${LOGIN}PRIMARY halpi2`.split('\n')) await ask(l);
  t.equal(await ask('FSD halpi2'), 'OK FSD-SET');
  nut.server.emit('error', Object.assign(new Error('accept failed'), { code: 'EMFILE' })); // as an fd flood does
  e.blackout({ phase: 'end' });
  t.equal(await ask('GET VAR halpi2 ups.status'), 'VAR halpi2 ups.status "OL"', 'the blackout ending cleared FSD');
});
