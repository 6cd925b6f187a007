// The UPS variables (engine/nut/variables.ts) and what startNutServer does with them: LB from the
// supercap's discharge only, FSD cleared when the blackout ends, no placeholder identity.
import t from 'tap';
import { FakeClock } from '../../../engine/clock.js';
import type { Engine } from '../../../engine/engine.js';
import { startNutServer } from '../../../engine/nut/server.js';
import { LB_RUNTIME_S, upsState, upsVariables } from '../../../engine/nut/variables.js';
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
    on: (_: string, fn: (ev: { phase: string }) => void) => { listeners.push(fn); return () => {}; },
    blackout: (ev: { phase: string }) => { for (const l of listeners) l(ev); },
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
  const nut = await startNutServer({ engine: e as unknown as Engine, listen: '127.0.0.1:0', user: 'u', password: 'p', primary: true, staleMs: 5000 });
  t.teardown(() => nut.close());
  const c = nutClient(nut.port);
  c.send('USERNAME u\nPASSWORD p\nLOGIN halpi2\nPRIMARY halpi2\nFSD halpi2\nGET VAR halpi2 ups.status\n');
  t.equal((await c.lines(6))[5], 'VAR halpi2 ups.status "FSD OB"', 'FSD before what is true: on the supercap, not yet low');
  e.state = 'NORMAL';
  e.supervisor.blackoutElapsedS = null;
  e.blackout({ phase: 'end' });
  c.send('GET VAR halpi2 ups.status\n');
  t.equal((await c.lines(7))[6], 'VAR halpi2 ups.status "OL"', 'on line power again');
  c.sock.destroy();
});

t.test('FSD set by a primary on line power does not claim the supercap is in use', async (t) => {
  const e = fakeEngine();
  const nut = await startNutServer({ engine: e as unknown as Engine, listen: '127.0.0.1:0', user: 'u', password: 'p', primary: true, staleMs: 5000 });
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
  e.refreshStatus = async () => { refreshes++; };
  const nut = await startNutServer({ engine: e as unknown as Engine, listen: '127.0.0.1:0', user: '', password: '', primary: false, staleMs: 5000, refreshStatus: true });
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
