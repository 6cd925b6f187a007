// startNutServer (engine/nut/server.ts) as upsmon and upsc see it: whether the configured user is
// a primary (nut-primary) decides FSD, a user is required to log in, the stale-data rule through
// the server's per-reading cache, a changed state or FSD served at once from the same reading,
// the cut-off read from the controller, and a listen failure. A fake engine on a FakeClock;
// loopback only, on a free port.
import t from 'tap';
import { createServer } from 'node:net';
import { FakeClock } from '../../../engine/clock.js';
import type { Engine } from '../../../engine/engine.js';
import { startNutServer } from '../../../engine/nut/server.js';
import { charge } from '../../../engine/nut/variables.js';
import { nutClient } from '../../helpers/nut-client.js';

function fakeEngine(opts: { cutoff?: () => Promise<number> } = {}) {
  const clock = new FakeClock();
  const listeners = new Set<(ev: { phase: string }) => void>();
  const refreshes: Array<[number, number]> = [];
  const e = {
    clock,
    state: 'NORMAL',
    status: {} as Record<string, unknown>,
    settings: { blackoutTimeLimitS: 600, blackoutVoltageLimitV: 9 },
    supervisor: { blackoutElapsedS: null as number | null },
    lastMeasurements: {
      wall: clock.wallNow(),
      values: { V_in: 12, I_in: 0.5, V_cap: 10.25, T_pcb: 300, T_mcu: 300 },
    } as { wall: number; values: Record<string, number> } | null,
    logger: { info() {}, warn() {}, error() {} },
    // Only the cut-off's key answers, as the controller's register map would.
    readConfigKey: (key: string) =>
      key === 'solo_power_off_threshold'
        ? (opts.cutoff ?? (async () => 5.5))()
        : Promise.reject(new Error(`no such key: ${key}`)),
    refreshStatus: async (timeoutMs: number, maxAgeMs: number) => {
      refreshes.push([timeoutMs, maxAgeMs]);
    },
    // Only 'blackout' is emitted here: a listener for another event never hears it.
    on: (event: string, fn: (ev: { phase: string }) => void) => {
      if (event !== 'blackout') return () => false;
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    blackout: (ev: { phase: string }) => {
      for (const l of listeners) l(ev);
    },
    listeners,
    refreshes,
    /** A new reading now. */
    read(values: Record<string, number> = {}) {
      e.lastMeasurements = { wall: clock.wallNow(), values: { ...e.lastMeasurements!.values, ...values } };
    },
  };
  return e;
}

type Fake = ReturnType<typeof fakeEngine>;

async function start(
  t: { teardown(fn: () => unknown): void },
  e: Fake,
  opts: { user?: string; primary?: boolean; onFsd?: () => void; refreshStatus?: boolean; staleMs?: number } = {},
) {
  const nut = await startNutServer({
    engine: e as unknown as Engine,
    listen: '127.0.0.1:0',
    user: opts.user ?? 'u',
    password: 'p',
    primary: opts.primary ?? true,
    staleMs: opts.staleMs ?? 5000,
    ...(opts.onFsd ? { onFsd: opts.onFsd } : {}),
    ...(opts.refreshStatus ? { refreshStatus: true } : {}),
  });
  t.teardown(() => nut.close());
  const c = nutClient(nut.port);
  let n = 0;
  /** Send one command, resolve with its one-line answer. */
  const ask = async (line: string) => {
    c.send(`${line}\n`);
    return (await c.lines(++n))[n - 1];
  };
  t.teardown(() => c.sock.destroy());
  return { nut, c, ask };
}

t.test('nut-primary off: the user may log in but not become primary nor set FSD', async (t) => {
  const e = fakeEngine();
  let fsd = 0;
  const { ask } = await start(t, e, { primary: false, onFsd: () => fsd++ });
  t.equal(await ask('USERNAME u'), 'OK');
  t.equal(await ask('PASSWORD p'), 'OK');
  t.equal(await ask('LOGIN halpi2'), 'OK');
  t.equal(await ask('PRIMARY halpi2'), 'ERR ACCESS-DENIED');
  t.equal(await ask('FSD halpi2'), 'ERR ACCESS-DENIED');
  t.equal(fsd, 0, 'onFsd not called');
  t.equal(await ask('GET VAR halpi2 ups.status'), 'VAR halpi2 ups.status "OL"', 'no FSD in ups.status');
});

t.test('nut-primary on: FSD calls onFsd and shows at once, from the same reading', async (t) => {
  const e = fakeEngine();
  let fsd = 0;
  const { ask } = await start(t, e, { onFsd: () => fsd++ });
  t.equal(await ask('GET VAR halpi2 ups.status'), 'VAR halpi2 ups.status "OL"');
  await ask('USERNAME u');
  await ask('PASSWORD p');
  t.equal(await ask('PRIMARY halpi2'), 'OK PRIMARY-GRANTED');
  t.equal(await ask('FSD halpi2'), 'OK FSD-SET');
  t.equal(fsd, 1, 'onFsd called once');
  t.equal(await ask('GET VAR halpi2 ups.status'), 'VAR halpi2 ups.status "FSD OL"', 'no new reading needed');
  e.blackout({ phase: 'start' });
  t.equal(await ask('GET VAR halpi2 ups.status'), 'VAR halpi2 ups.status "FSD OL"', 'a blackout starting keeps it');
  e.blackout({ phase: 'end' });
  t.equal(await ask('GET VAR halpi2 ups.status'), 'VAR halpi2 ups.status "OL"', 'a blackout ending clears it');
});

t.test('without a configured user nobody logs in', async (t) => {
  const { ask } = await start(t, fakeEngine(), { user: '' });
  t.equal(await ask('USERNAME ""'), 'OK');
  t.equal(await ask('PASSWORD p'), 'OK');
  t.equal(await ask('LOGIN halpi2'), 'ERR ACCESS-DENIED');
});

t.test('stale data: served up to staleMs old, DATA-STALE beyond, though the reading is cached', async (t) => {
  const e = fakeEngine();
  const { ask } = await start(t, e, { staleMs: 5000 });
  t.equal(await ask('GET VAR halpi2 input.voltage'), 'VAR halpi2 input.voltage "12.00"');
  await e.clock.advance(5000);
  t.equal(await ask('GET VAR halpi2 input.voltage'), 'VAR halpi2 input.voltage "12.00"', 'exactly staleMs old');
  await e.clock.advance(1);
  t.equal(await ask('GET VAR halpi2 input.voltage'), 'ERR DATA-STALE', 'a millisecond older');
  t.equal(await ask('LIST VAR halpi2'), 'ERR DATA-STALE');
  e.read({ V_in: 12.5 });
  t.equal(await ask('GET VAR halpi2 input.voltage'), 'VAR halpi2 input.voltage "12.50"', 'a new reading');
  e.lastMeasurements = null;
  t.equal(await ask('GET VAR halpi2 input.voltage'), 'ERR DATA-STALE', 'no reading at all');
});

t.test('a change of state or blackout time shows at once, from the same reading', async (t) => {
  const e = fakeEngine();
  const { ask } = await start(t, e);
  t.equal(await ask('GET VAR halpi2 ups.status'), 'VAR halpi2 ups.status "OL"');
  t.equal(await ask('GET VAR halpi2 battery.runtime'), 'VAR halpi2 battery.runtime "600"');
  e.state = 'BLACKOUT';
  t.equal(await ask('GET VAR halpi2 ups.status'), 'VAR halpi2 ups.status "OB"');
  e.supervisor.blackoutElapsedS = 100;
  t.equal(await ask('GET VAR halpi2 battery.runtime'), 'VAR halpi2 battery.runtime "500"');
  e.state = 'SHUTDOWN';
  t.equal(await ask('GET VAR halpi2 ups.status'), 'VAR halpi2 ups.status "FSD OB LB"');
});

t.test("battery.charge uses the controller's cut-off, read at start", async (t) => {
  const e = fakeEngine({ cutoff: async () => 3 });
  e.read({ V_cap: 8 });
  const { ask } = await start(t, e);
  const expected = charge(8, 3).toFixed(0);
  t.not(expected, charge(8, 5.5).toFixed(0), 'the cut-off makes a difference here');
  t.equal(await ask('GET VAR halpi2 battery.charge'), `VAR halpi2 battery.charge "${expected}"`);
  const failing = fakeEngine({ cutoff: async () => Promise.reject(new Error('bus')) });
  failing.read({ V_cap: 8 });
  const other = await start(t, failing);
  t.equal(
    await other.ask('GET VAR halpi2 battery.charge'),
    `VAR halpi2 battery.charge "${charge(8, 5.5).toFixed(0)}"`,
    'a failed read keeps the default',
  );
});

t.test('the status registers: read once at start, then once per new reading when asked to', async (t) => {
  const quiet = fakeEngine();
  const a = await start(t, quiet);
  await a.ask('GET VAR halpi2 ups.status');
  t.same(quiet.refreshes, [[1000, 0]], 'once at start, fresh');
  const e = fakeEngine();
  const b = await start(t, e, { refreshStatus: true });
  await b.ask('GET VAR halpi2 ups.status');
  await b.ask('GET VAR halpi2 input.voltage');
  e.read();
  await b.ask('GET VAR halpi2 ups.status');
  t.same(
    e.refreshes,
    [
      [1000, 0],
      [1000, 60_000],
      [1000, 60_000],
    ],
    'then at most once a minute, on a new reading',
  );
});

t.test('its address, and the blackout listener removed on close', async (t) => {
  const e = fakeEngine();
  const nut = await startNutServer({
    engine: e as unknown as Engine,
    listen: '127.0.0.1:0',
    user: 'u',
    password: 'p',
    primary: true,
    staleMs: 5000,
  });
  t.equal(nut.host, '127.0.0.1');
  t.ok(nut.port > 0, 'the port the system gave');
  t.equal(nut.port, (nut.server.address() as { port: number }).port);
  t.equal(e.listeners.size, 1);
  await nut.close();
  t.equal(e.listeners.size, 0);
});

t.test('a port in use: rejected, and nothing left listening to the engine', async (t) => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise((r) => taken.close(r)));
  const e = fakeEngine();
  const port = (taken.address() as { port: number }).port;
  await t.rejects(
    startNutServer({
      engine: e as unknown as Engine,
      listen: `127.0.0.1:${port}`,
      user: 'u',
      password: 'p',
      primary: true,
      staleMs: 5000,
    }),
    { code: 'EADDRINUSE' },
  );
  t.equal(e.listeners.size, 0);
  await t.rejects(
    startNutServer({
      engine: e as unknown as Engine,
      listen: 'nowhere',
      user: 'u',
      password: 'p',
      primary: true,
      staleMs: 5000,
    }),
    /invalid NUT address "nowhere"/,
  );
});
