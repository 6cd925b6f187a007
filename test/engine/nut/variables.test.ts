// The UPS variables (engine/nut/variables.ts) and what startNutServer does with them: LB from the
// supercap's discharge only, FSD cleared when the blackout ends, no placeholder identity.
import t from 'tap';
import { FakeClock } from '../../../engine/clock.js';
import type { Engine } from '../../../engine/engine.js';
import { startNutServer } from '../../../engine/nut/server.js';
import { charge, LB_RUNTIME_S, upsState, upsVariables, V_FULL } from '../../../engine/nut/variables.js';
import { VERSION } from '../../../engine/version.js';
import { nutClient } from '../../helpers/nut-client.js';

function fakeEngine(opts: { state?: string; elapsed?: number | null; limit?: number } = {}) {
  const clock = new FakeClock();
  const listeners: Array<(ev: { phase: string }) => void> = [];
  const e = {
    clock,
    state: opts.state ?? 'NORMAL',
    status: {} as Record<string, unknown>,
    settings: { blackoutTimeLimitS: opts.limit ?? 5, blackoutVoltageLimitV: 9 },
    supervisor: { blackoutElapsedS: opts.elapsed ?? null },
    lastMeasurements: { wall: clock.wallNow(), values: { V_in: 12, I_in: 0.5, V_cap: 10.25, T_pcb: 300, T_mcu: 300 } },
    logger: { info() {}, warn() {}, error() {} },
    readConfigKey: async () => 5.5,
    refreshStatus: async () => {},
    on: (_: string, fn: (ev: { phase: string }) => void) => {
      listeners.push(fn);
      return () => {};
    },
    blackout: (ev: { phase: string }) => {
      for (const l of listeners) l(ev);
    },
  };
  return e;
}

t.test('LB comes from the supercap running out, not from the time limit', async (t) => {
  // A 5 s limit, 4.6 s into a cut, the supercap hardly touched: OB, no LB (power may return).
  const e = fakeEngine({ state: 'BLACKOUT', elapsed: 4.6, limit: 5 });
  const st = upsState();
  const at = (s: number, v: number) => {
    (e.clock as unknown as { t: number }).t = s * 1000;
    e.lastMeasurements = { wall: e.clock.wallNow(), values: { ...e.lastMeasurements.values, V_cap: v } };
    return upsVariables(e as unknown as Engine, st)!;
  };
  at(0, 10.2);
  let v = at(2, 10.15);
  t.equal(v.get('ups.status'), 'OB', 'a short dip: no LB even with the limit a second away');
  t.equal(v.get('battery.runtime.low'), String(LB_RUNTIME_S));
  // A 60 s limit, the supercap falling fast: LB once it would reach the cut-off within LB_RUNTIME_S.
  const e2 = fakeEngine({ state: 'BLACKOUT', elapsed: 30, limit: 60 });
  const st2 = upsState();
  const at2 = (s: number, vcap: number) => {
    (e2.clock as unknown as { t: number }).t = s * 1000;
    e2.lastMeasurements = { wall: e2.clock.wallNow(), values: { ...e2.lastMeasurements.values, V_cap: vcap } };
    return upsVariables(e2 as unknown as Engine, st2)!;
  };
  at2(0, 8);
  v = at2(10, 7); // V² from 64 to 49 in 10 s: 1.5 V²/s; (49 − 30.25) / 1.5 = 12.5 s left
  t.equal(v.get('ups.status'), 'OB LB');
  t.equal(v.get('battery.runtime'), '13');
});

t.test('no placeholder identity: device.serial and ups.firmware only once read', async (t) => {
  const e = fakeEngine();
  let v = upsVariables(e as unknown as Engine, upsState())!;
  t.notOk(v.has('device.serial'));
  t.notOk(v.has('ups.firmware'));
  e.status = { deviceId: '0000000000000000', firmwareVersion: 'N/A' }; // a failed read's fallbacks
  v = upsVariables(e as unknown as Engine, upsState())!;
  t.notOk(v.has('device.serial'));
  t.notOk(v.has('ups.firmware'));
  e.status = { deviceId: '1234abcd', firmwareVersion: '3.1.0' };
  v = upsVariables(e as unknown as Engine, upsState())!;
  t.equal(v.get('device.serial'), '1234abcd');
  t.equal(v.get('ups.firmware'), '3.1.0');
});

t.test('FSD set by a primary is cleared when the blackout ends', async (t) => {
  const e = fakeEngine({ state: 'BLACKOUT', elapsed: 1 });
  const nut = await startNutServer({
    engine: e as unknown as Engine,
    listen: '127.0.0.1:0',
    user: 'u',
    password: 'p',
    primary: true,
    staleMs: 5000,
  });
  t.teardown(() => nut.close());
  const c = nutClient(nut.port);
  c.send('USERNAME u\nPASSWORD p\nLOGIN halpi2\nPRIMARY halpi2\nFSD halpi2\nGET VAR halpi2 ups.status\n');
  t.equal(
    (await c.lines(6))[5],
    'VAR halpi2 ups.status "FSD OB"',
    'FSD before what is true: on the supercap, not yet low',
  );
  e.state = 'NORMAL';
  e.supervisor.blackoutElapsedS = null;
  e.blackout({ phase: 'end' });
  c.send('GET VAR halpi2 ups.status\n');
  t.equal((await c.lines(7))[6], 'VAR halpi2 ups.status "OL"', 'on line power again');
  c.sock.destroy();
});

t.test('FSD set by a primary on line power does not claim the supercap is in use', async (t) => {
  const e = fakeEngine();
  const nut = await startNutServer({
    engine: e as unknown as Engine,
    listen: '127.0.0.1:0',
    user: 'u',
    password: 'p',
    primary: true,
    staleMs: 5000,
  });
  t.teardown(() => nut.close());
  const c = nutClient(nut.port);
  c.send('USERNAME u\nPASSWORD p\nFSD halpi2\nGET VAR halpi2 ups.status\n');
  t.equal((await c.lines(4))[3], 'VAR halpi2 ups.status "FSD OL"');
  c.sock.destroy();
});

t.test('each new reading is served at once, though a reading is computed only once', async (t) => {
  const e = fakeEngine();
  // As the engine: a new wrapper around the latest reading each time it is asked.
  let latest = e.lastMeasurements;
  Object.defineProperty(e, 'lastMeasurements', { get: () => ({ values: latest.values, wall: latest.wall }) });
  let refreshes = 0;
  e.refreshStatus = async () => {
    refreshes++;
  };
  const nut = await startNutServer({
    engine: e as unknown as Engine,
    listen: '127.0.0.1:0',
    user: '',
    password: '',
    primary: false,
    staleMs: 5000,
    refreshStatus: true,
  });
  t.teardown(() => nut.close());
  const c = nutClient(nut.port);
  const before = refreshes;
  c.send('GET VAR halpi2 input.voltage\nGET VAR halpi2 battery.charge\nGET VAR halpi2 input.voltage\n');
  const first = await c.lines(3);
  t.equal(first[0], 'VAR halpi2 input.voltage "12.00"');
  t.equal(refreshes - before, 1, 'one reading, computed once for three commands');
  latest = { wall: e.clock.wallNow(), values: { ...latest.values, V_in: 13.5 } };
  c.send('GET VAR halpi2 input.voltage\n');
  t.equal((await c.lines(4))[3], 'VAR halpi2 input.voltage "13.50"', 'the next reading');
  c.sock.destroy();
});

/** upsVariables on a fake engine whose clock and V_cap the test sets, sample by sample. */
function discharging(opts: { cutoff: number; limit?: number; elapsed?: number }) {
  const e = fakeEngine({ state: 'BLACKOUT', elapsed: opts.elapsed ?? 10, limit: opts.limit ?? 600 });
  const st = upsState();
  st.cutoff = opts.cutoff;
  const at = (s: number, vcap: number) => {
    (e.clock as unknown as { t: number }).t = s * 1000;
    e.lastMeasurements = { wall: e.clock.wallNow(), values: { ...e.lastMeasurements.values, V_cap: vcap } };
    return upsVariables(e as unknown as Engine, st)!;
  };
  return { e, st, at };
}

t.test('LB at exactly LB_RUNTIME_S left on the supercap, not a moment before', async (t) => {
  // Cut-off 3 V; V_cap 7 V, then 5 V 30 s later: V² falls 0.8 V²/s, and (25 − 9) / 0.8 = 20 s left.
  const exact = discharging({ cutoff: 3 });
  exact.at(0, 7);
  const v = exact.at(30, 5);
  t.equal(LB_RUNTIME_S, 20);
  t.equal(v.get('ups.status'), 'OB LB', '20 s left: low battery');
  t.equal(v.get('battery.runtime'), '20', 'the supercap, not the 600 s limit, bounds the runtime');
  const above = discharging({ cutoff: 3 });
  above.at(0, 7);
  const w = above.at(30, 5.01); // (25.1001 − 9) / ((49 − 25.1001) / 30) ≈ 20.2 s left
  t.equal(w.get('ups.status'), 'OB', 'just over 20 s left: not yet');
  t.equal(w.get('battery.runtime'), '20');
});

t.test('battery.charge: the share of the energy above the cut-off, V² not V, clamped', async (t) => {
  const cut = 5.5;
  t.equal(charge(V_FULL, cut), 100, 'full');
  t.equal(charge(cut, cut), 0, 'at the cut-off');
  t.equal(charge(cut - 1, cut), 0, 'below it: 0, not negative');
  t.equal(charge(V_FULL + 0.5, cut), 100, 'above full: 100, not more');
  t.equal(
    charge(Math.sqrt((V_FULL ** 2 + cut ** 2) / 2), cut).toFixed(6),
    '50.000000',
    'half the energy at V² halfway',
  );
  // 8 V: (64 − 30.25) / (105.0625 − 30.25) = 45.1 %; a linear formula would say 52.6 %.
  t.equal(charge(8, cut).toFixed(2), '45.11');
  const e = fakeEngine();
  const st = upsState();
  e.lastMeasurements = { wall: e.clock.wallNow(), values: { ...e.lastMeasurements.values, V_cap: 8 } };
  t.equal(
    upsVariables(e as unknown as Engine, st)!.get('battery.charge'),
    '45',
    "served rounded, against the controller's threshold",
  );
  st.cutoff = 7;
  t.equal(
    upsVariables(e as unknown as Engine, st)!.get('battery.charge'),
    String(Math.round(((64 - 49) / (V_FULL ** 2 - 49)) * 100)),
  );
});

t.test(
  'battery.runtime: the limit on line power, what is left of it in a blackout, 0 once shutting down',
  async (t) => {
    const line = fakeEngine({ limit: 60 });
    t.equal(
      upsVariables(line as unknown as Engine, upsState())!.get('battery.runtime'),
      '60',
      'on line power: the whole limit',
    );
    const cut = fakeEngine({ state: 'BLACKOUT', elapsed: 15.4, limit: 60 });
    const v = upsVariables(cut as unknown as Engine, upsState())!;
    t.equal(v.get('battery.runtime'), '45', '60 − 15.4 s: what is left of the limit (no discharge measured yet)');
    t.equal(v.get('ups.status'), 'OB');
    cut.supervisor.blackoutElapsedS = 75;
    t.equal(
      upsVariables(cut as unknown as Engine, upsState())!.get('battery.runtime'),
      '0',
      'past the limit: 0, not negative',
    );
    for (const state of ['SHUTDOWN', 'DEAD']) {
      const e = fakeEngine({ state, limit: 60 });
      t.equal(upsVariables(e as unknown as Engine, upsState())!.get('battery.runtime'), '0', state);
    }
    // A slow discharge leaves the limit in charge: 7 → 6.9 V over 10 s, 0.139 V²/s, (47.61 − 30.25) / 0.139 ≈ 125 s.
    const slow = discharging({ cutoff: 5.5, limit: 60, elapsed: 20 });
    slow.at(0, 7);
    t.equal(slow.at(10, 6.9).get('battery.runtime'), '40', 'the limit (60 − 20 s) when the supercap would last longer');
  },
);

t.test('stale data: served up to staleMs old, refused beyond', async (t) => {
  const e = fakeEngine();
  const st = upsState();
  const wall = e.lastMeasurements.wall;
  e.clock.wallNow = () => wall + 5000;
  t.ok(upsVariables(e as unknown as Engine, st, 5000), 'exactly 5 s old: still served');
  e.clock.wallNow = () => wall + 5001;
  t.equal(upsVariables(e as unknown as Engine, st, 5000), null, 'older: no variables');
  t.ok(upsVariables(e as unknown as Engine, st, 6000), 'staleMs is the rule, not a constant');
  (e as { lastMeasurements: unknown }).lastMeasurements = null;
  t.equal(upsVariables(e as unknown as Engine, st, 5000), null, 'no reading yet: none');
});

t.test('every variable served on line power, with its units and precision', async (t) => {
  const e = fakeEngine({ limit: 45 });
  e.lastMeasurements = {
    wall: e.clock.wallNow(),
    values: { V_in: 12.345, I_in: 0.5678, V_cap: 9.876, T_pcb: 310.15, T_mcu: 300 },
  };
  e.status = { deviceId: 'abcd1234', firmwareVersion: '3.1.0' };
  const v = upsVariables(e as unknown as Engine, upsState())!;
  t.same(Object.fromEntries(v), {
    'ups.status': 'OL',
    'input.voltage': '12.35',
    'input.current': '0.568',
    'battery.voltage': '9.88',
    'battery.charge': String(Math.round(((9.876 ** 2 - 5.5 ** 2) / (V_FULL ** 2 - 5.5 ** 2)) * 100)),
    'battery.runtime': '45',
    'battery.runtime.low': '20',
    'ups.temperature': '37.0',
    'device.mfr': 'Hat Labs',
    'device.model': 'HALPI2',
    'device.type': 'ups',
    'ups.mfr': 'Hat Labs',
    'ups.model': 'HALPI2',
    'driver.name': 'halpid',
    'driver.version': VERSION,
    'device.serial': 'abcd1234',
    'ups.firmware': '3.1.0',
  });
  t.equal(upsState().cutoff, 5.5, "the cut-off until the controller's threshold is read");
  t.equal(upsState().fsd, false);
});

t.test("halpid's own shutdown is FSD OB LB; a dead controller on line power is OL", async (t) => {
  const status = (state: string, V_in: number) => {
    const e = fakeEngine({ state });
    e.lastMeasurements = { wall: e.clock.wallNow(), values: { ...e.lastMeasurements.values, V_in } };
    const v = upsVariables(e as unknown as Engine, upsState())!;
    return `${v.get('ups.status')} ${v.get('battery.runtime')}`;
  };
  t.equal(status('SHUTDOWN', 12), 'FSD OB LB 0', 'shutting down, even with the input back');
  t.equal(status('DEAD', 3), 'FSD OB LB 0', 'dead below the blackout voltage limit (9 V): shutting down');
  t.equal(status('DEAD', 9), 'OL 0', 'dead at the limit: on line power');
  t.equal(status('NORMAL', 3), 'OL 5', 'NORMAL is what the supervisor says, whatever V_in');
  const st = upsState();
  st.fsd = true;
  const e = fakeEngine({ state: 'SHUTDOWN' });
  t.equal(upsVariables(e as unknown as Engine, st)!.get('ups.status'), 'FSD OB LB', 'FSD once, not twice');
});

t.test('a blackout not yet timed by the supervisor: the whole limit', async (t) => {
  const e = fakeEngine({ state: 'BLACKOUT', limit: 60 });
  e.supervisor.blackoutElapsedS = null;
  const v = upsVariables(e as unknown as Engine, upsState())!;
  t.equal(v.get('ups.status'), 'OB');
  t.equal(v.get('battery.runtime'), '60');
});

t.test('the discharge is measured over at least 1 s, and only while falling', async (t) => {
  const d = discharging({ cutoff: 5.5, limit: 600, elapsed: 10 });
  d.at(10, 8);
  let v = d.at(10.5, 7.5);
  t.equal(v.get('battery.runtime'), '590', 'half a second: too short to say, the limit');
  t.equal(v.get('ups.status'), 'OB');
  v = d.at(11, 7); // V² 64 → 49 in 1 s: (49 − 30.25) / 15 = 1.25 s left
  t.equal(v.get('battery.runtime'), '1', 'over exactly 1 s: the supercap');
  t.equal(v.get('ups.status'), 'OB LB');
  const up = discharging({ cutoff: 5.5, limit: 600, elapsed: 10 });
  up.at(10, 7);
  v = up.at(15, 8);
  t.equal(v.get('battery.runtime'), '590', 'rising (charging during a blackout): the limit');
  t.equal(v.get('ups.status'), 'OB');
  const flat = discharging({ cutoff: 5.5, limit: 600, elapsed: 10 });
  flat.at(10, 8);
  v = flat.at(12, 8);
  t.equal(v.get('battery.runtime'), '590', 'not falling at all: the limit, not 0');
  t.equal(v.get('ups.status'), 'OB', 'and no LB');
  const below = discharging({ cutoff: 5.5, limit: 600, elapsed: 10 });
  below.at(10, 6);
  t.equal(below.at(12, 5).get('battery.runtime'), '0', 'below the cut-off already: 0, not negative');
  const shutting = fakeEngine({ state: 'SHUTDOWN', elapsed: 30, limit: 60 });
  t.equal(upsVariables(shutting as unknown as Engine, upsState())!.get('battery.runtime'), '0', 'shutting down: 0');
});

t.test('the discharge slope: the last minute of samples, one every half second', async (t) => {
  // V² flat at 100 for 60 s, then falling 1 V²/s; asked every 0.25 s. At 100 s the last 120
  // samples (one per 0.5 s) span 40.5–100 s: slope (60 − 100) / 59.5 V²/s, so with a 3 V
  // cut-off (60 − 9) / that = 75.9 s left. 119 samples would say 75 s, all of them 128 s, one
  // every 0.25 s 51 s, one every 0.75 s 115 s.
  const d = discharging({ cutoff: 3, limit: 600, elapsed: 10 });
  const curve = (s: number) => Math.sqrt(100 - Math.max(0, s - 60));
  let v = d.at(0, curve(0));
  for (let q = 1; q <= 400; q++) v = d.at(q / 4, curve(q / 4));
  t.equal(v.get('battery.runtime'), '76');
  t.equal(v.get('ups.status'), 'OB');
  // The power returns; the next blackout's discharge is measured afresh, not against the last one's.
  d.e.state = 'NORMAL';
  t.equal(d.at(101, 10).get('ups.status'), 'OL');
  d.e.state = 'BLACKOUT';
  // V² from 100, falling 10 V²/s: at 203 s (70 − 9) / 10 = 6.1 s left.
  for (let q = 0; q <= 12; q++) v = d.at(200 + q / 4, Math.sqrt(100 - 10 * (q / 4)));
  t.equal(v.get('battery.runtime'), '6');
  t.equal(v.get('ups.status'), 'OB LB');
});
