// The shutdown at the limit whatever the bus does, and the supercap's own say (docs/blackout.md):
// a scripted port on a FakeClock, where a read can hang as long as the test wants.
import t from 'tap';
import { FakeClock } from '../../engine/clock.js';
import { decodeIin } from '../../engine/registers.js';
import {
  ASSUMED_LOAD_W,
  CONFIRM_BOUND_MS,
  DEADLINE_GRACE_MS,
  HALT_RESERVE_S,
  IIN_POWER_A,
  SUPERCAP_CUTOFF_V,
  SUPERCAP_F,
  TICK_MS,
} from '../../engine/supervisor.js';
import { scripted } from '../helpers/scripted-supervisor.js';

const cutAt =
  (ms: number) =>
  (t: number): number =>
    t >= ms ? 0 : 12;

/** Every BLACKOUT read from `from` on takes `holdMs` of fake time, then fails (a bus timing out). */
function hangFrom(s: ReturnType<typeof scripted>, from: number, holdMs: number): void {
  const read = s.port.readBlackout;
  s.port.readBlackout = async () => {
    if (s.clock.now() < from) return read();
    await s.clock.sleep(holdMs);
    throw new Error('Failed to read from register 0x20');
  };
}

for (const holdMs of [250 * 4, 1000 * 4, 60_000]) {
  t.test(
    `a bus that hangs (${holdMs} ms a read) from 1 s into the cut: poweroff within the grace after the limit`,
    async (t) => {
      const s = scripted({ vin: cutAt(1000) });
      hangFrom(s, 2000, holdMs);
      await s.run(9000);
      const d = s.poweroffs[0]! - s.at('BLACKOUT')!;
      t.ok(d > 5000 && d <= 5000 + 1 + DEADLINE_GRACE_MS, `poweroff ${d} ms after detection (limit 5000)`);
      t.ok(
        s.logs.some((l) =>
          /^Blacked out for 5\.2s and the bus has not answered: initiating shutdown without waiting for the bus$/.test(
            l,
          ),
        ),
        'an error line says why it did not wait',
      );
      t.equal(s.poweroffs.length, 1);
    },
  );
}

t.test('a read that answers within the grace still decides: power back then means no shutdown', async (t) => {
  // The deadline's reading takes 150 ms and shows the power back; the readings after it hold.
  const s = scripted({ vin: (ms) => (ms >= 1000 && ms < 5950 ? 0 : 12) });
  const read = s.port.readBlackout;
  s.port.readBlackout = async () => {
    if (s.clock.now() === 6001) await s.clock.sleep(150);
    return read();
  };
  await s.run(9000);
  t.same(s.poweroffs, []);
  t.same(
    s.transitions.map((x) => x.to),
    ['OK', 'BLACKOUT', 'OK'],
  );
});

t.test('a confirmation of returning power that the bus leaves hanging is bounded', async (t) => {
  // Power shows at 5950; from 6050 every read hangs: the verdict can never come.
  const s = scripted({ vin: (ms) => (ms >= 1000 && ms < 5950 ? 0 : 12) });
  hangFrom(s, 6050, 60_000);
  await s.run(9000);
  const d = s.poweroffs[0]! - s.at('BLACKOUT')!;
  t.ok(d >= 5000 + CONFIRM_BOUND_MS && d <= 5001 + CONFIRM_BOUND_MS, `poweroff ${d} ms after detection`);
  t.ok(s.logs.some((l) => l.includes('the return of the power was not confirmed in time')));
});

t.test(
  'current flowing in holds the shutdown like a high V_in: the averaged V_in shows the return 180 ms late',
  async (t) => {
    // The supply returns at 5950, 50 ms before the limit: I_in shows it at once, V_in from 6130.
    const s = scripted({
      vin: (ms) => (ms >= 1000 && ms < 6130 ? 0 : 12),
      iin: (ms) => (ms >= 5950 ? 1.2 : 0),
    });
    await s.run(9000);
    t.same(s.poweroffs, [], 'no shutdown');
    t.same(
      s.transitions.map((x) => x.to),
      ['OK', 'BLACKOUT', 'OK'],
    );
  },
);

t.test(
  "I_in in the first 200 ms of a blackout is the controller's average of the time before: no evidence",
  async (t) => {
    // A 0.1 s limit: the shutdown must not wait for the stale current of the first ticks.
    const s = scripted({ vin: cutAt(1000), iin: (ms) => (ms < 1200 ? 1.0 : 0), limitS: 0.1 });
    await s.run(3000);
    t.equal(s.at('SHUTDOWN')! - s.at('BLACKOUT')!, 101);
  },
);

t.test('a current that keeps flowing while V_in stays low cannot hold the shutdown past the bound', async (t) => {
  const s = scripted({ vin: cutAt(1000), iin: (ms) => (ms >= 1000 ? IIN_POWER_A * 2 : 0) });
  await s.run(9000);
  const d = s.poweroffs[0]! - s.at('BLACKOUT')!;
  t.ok(d >= 5000 + CONFIRM_BOUND_MS && d <= 5001 + CONFIRM_BOUND_MS, `poweroff ${d} ms after detection`);
});

/** V_cap falling as a 6.25 F bank does under `watts`, from `v0` at `from`. */
const discharge =
  (v0: number, watts: number, from: number) =>
  (ms: number): number =>
    Math.sqrt(Math.max(0, v0 * v0 - (2 * watts * Math.max(0, ms - from)) / 1000 / SUPERCAP_F));

t.test('the supercap decides before the time limit when it will not carry the halt much longer', async (t) => {
  // A 60 s limit; at 6 W from 10.25 V the bank reaches the cut-off after about 37 s.
  const vcap = discharge(10.25, 6, 1000);
  const s = scripted({ vin: cutAt(1000), vcap, limitS: 60 });
  await s.run(70_000);
  const at = s.at('SHUTDOWN')!;
  const v = vcap(at);
  const left = ((v * v - SUPERCAP_CUTOFF_V ** 2) * SUPERCAP_F) / 2 / 6;
  t.ok(left <= HALT_RESERVE_S && left > HALT_RESERVE_S - 0.2, `${left.toFixed(2)} s of supercap left at the shutdown`);
  t.ok(
    s.logs.some((l) =>
      /^Supercap at \d\.\d\dV carries the computer for about \d+\.\ds more \(5\.50V cut-off, 6\.0W\), initiating shutdown$/.test(
        l,
      ),
    ),
    'the log says why, with the measured load',
  );
  t.same(s.poweroffs, [at]);
});

t.test(
  'before a discharge was measured, the assumed load decides; a lighter measured load lets it run longer',
  async (t) => {
    // V_cap already low when the blackout starts: at 8 W assumed, 7.0 V is under the reserve.
    const low = scripted({ vin: cutAt(1000), vcap: () => 7.0, limitS: 60 });
    await low.run(2000);
    const assumedLeft = ((7 * 7 - SUPERCAP_CUTOFF_V ** 2) * SUPERCAP_F) / 2 / ASSUMED_LOAD_W;
    t.ok(assumedLeft < HALT_RESERVE_S, 'precondition');
    t.equal(low.at('SHUTDOWN'), 1100, 'on the first BLACKOUT tick, the first to read V_cap');
    // A supercap discharging at 2 W from 7.3 V: the first reading is under the reserve at the
    // assumed load, but the time is not up; once measured, 2 W leaves it ≈ 36 s.
    const light = scripted({ vin: cutAt(1000), vcap: discharge(7.8, 2, 1000), limitS: 60 });
    await light.run(5000);
    t.equal(light.sup.state, 'BLACKOUT', 'still carried at 2 W');
  },
);

t.test(
  'a blackout whose power returns is not cut short by the supercap rule while the return is confirmed',
  async (t) => {
    const s = scripted({ vin: (ms) => (ms >= 1000 && ms < 3000 ? 0 : 12), vcap: () => 6.0, limitS: 60 });
    // 6.0 V is far under the reserve: the first BLACKOUT tick shuts down, before any return.
    await s.run(4000);
    t.equal(s.at('SHUTDOWN'), 1100);
    const r = scripted({
      vin: (ms) => (ms >= 1000 && ms < 3000 ? 0 : 12),
      vcap: (ms) => (ms < 3000 ? 9.0 : 6.0),
      limitS: 60,
    });
    await r.run(4000);
    t.same(r.poweroffs, [], 'V_cap reads low only while the return is being confirmed: no shutdown');
    t.same(
      r.transitions.map((x) => x.to),
      ['OK', 'BLACKOUT', 'OK'],
    );
  },
);

t.test('the measured discharge is kept for the next blackout', async (t) => {
  // Blackout 1 (1–4 s) measures 3 W; blackout 2 starts with 6.9 V: under the reserve at 8 W, not at 3 W.
  const vcap = (ms: number) => (ms < 5000 ? discharge(8.0, 3, 1000)(ms) : 6.9);
  const s = scripted({ vin: (ms) => ((ms >= 1000 && ms < 4000) || ms >= 6000 ? 0 : 12), vcap, limitS: 60 });
  await s.run(6500);
  t.equal(s.sup.state, 'BLACKOUT', 'the second blackout goes on on the measured 3 W');
  t.ok(s.sup.supercapSecondsLeft! > HALT_RESERVE_S, `${s.sup.supercapSecondsLeft!.toFixed(1)} s left`);
  void TICK_MS;
});

t.test('deadline timers that fire early: the shutdown still comes just past the limit, never before', async (t) => {
  for (const limitS of [5, 5.05, 5.1, 6, 7.3]) {
    // Timers fire up to 3 ms early, in a repeating pattern (FakeClock earlyMs).
    const s = scripted({ vin: cutAt(1000), limitS, clock: new FakeClock(undefined, 0, { earlyMs: 3 }) });
    await s.run(1000 + limitS * 1000 + 1000);
    const d = s.at('SHUTDOWN')! - s.at('BLACKOUT')!;
    t.ok(d > limitS * 1000 && d <= limitS * 1000 + 4, `limit ${limitS} s: shutdown ${d} ms after detection`);
    t.notOk(
      s.logs.some((l) => l.includes('the bus has not answered')),
      `limit ${limitS} s: decided on a reading, not on the grace`,
    );
  }
});

t.test('an input current of exactly 0.1 A is power coming back', async (t) => {
  const s = scripted({ vin: cutAt(1000), iin: (ms) => (ms >= 1000 ? IIN_POWER_A : 0) });
  await s.run(9000);
  const d = s.poweroffs[0]! - s.at('BLACKOUT')!;
  t.ok(
    d >= 5000 + CONFIRM_BOUND_MS && d <= 5001 + CONFIRM_BOUND_MS,
    `held to the bound: poweroff ${d} ms after detection`,
  );
});

t.test('a full-scale I_in (a corrupted read) is no current: the shutdown comes at the limit', async (t) => {
  const s = scripted({ vin: cutAt(1000), iin: (ms) => (ms >= 1000 ? decodeIin(0xffff) : 0) });
  await s.run(9000);
  t.equal(s.poweroffs[0]! - s.at('BLACKOUT')!, 5001);
});

t.test(
  'current 200 ms into a blackout is evidence: a low supercap then does not shut a returning supply down',
  async (t) => {
    // The supply returns 200 ms after detection (I_in at once, V_in 200 ms later); V_cap reads low then.
    const s = scripted({
      vin: (ms) => (ms >= 1000 && ms < 1400 ? 0 : 12),
      iin: (ms) => (ms >= 1200 ? 1.0 : 0),
      vcap: (ms) => (ms >= 1200 ? 6.0 : 9.0),
      limitS: 60,
    });
    await s.run(3000);
    t.same(s.poweroffs, []);
    t.same(
      s.transitions.map((x) => x.to),
      ['OK', 'BLACKOUT', 'OK'],
    );
  },
);

t.test(
  'current flowing while V_in reads exactly the limit: not "power resumed" (strict), shutdown at the bound',
  async (t) => {
    const s = scripted({
      vin: (ms) => (ms >= 1000 && ms < 2000 ? 0 : ms >= 2000 ? 9 : 12),
      iin: (ms) => (ms >= 2000 ? 1.0 : 0),
    });
    await s.run(9000);
    t.same(
      s.events.map((e) => e.phase),
      ['start', 'shutdown'],
    );
    t.equal(s.controllerReads(), 0, 'V_in never above the limit: the controller is not asked');
    t.ok(s.logs.some((l) => l.includes('the return of the power was not confirmed in time')));
  },
);

t.test('the halt reserve is inclusive: exactly the reserve left shuts down', async (t) => {
  // At the assumed load, 7.0 V leaves `left` seconds; a reserve of exactly that shuts down.
  const left = (7 * 7 - SUPERCAP_CUTOFF_V * SUPERCAP_CUTOFF_V) / ((2 * ASSUMED_LOAD_W) / SUPERCAP_F);
  for (const [reserve, shuts] of [
    [left, true],
    [left * (1 - 1e-12), false],
  ] as const) {
    const s = scripted({ vin: cutAt(1000), vcap: () => 7.0, limitS: 60 });
    s.sup.settings.haltReserveS = reserve;
    await s.run(2000);
    t.equal(s.sup.state, shuts ? 'DEAD' : 'BLACKOUT', `reserve ${reserve}`);
  }
});

t.test("the supercap's shutdown line says the seconds left and the load", async (t) => {
  const s = scripted({ vin: cutAt(1000), vcap: () => 7.0, limitS: 60 });
  await s.run(2000);
  t.ok(
    s.logs.includes(
      'Supercap at 7.00V carries the computer for about 7.3s more (5.50V cut-off, 8.0W), initiating shutdown',
    ),
  );
  const below = scripted({ vin: cutAt(1000), vcap: () => 5.0, limitS: 60 });
  await below.run(2000);
  t.ok(
    below.logs.includes(
      'Supercap at 5.00V carries the computer for about 0.0s more (5.50V cut-off, 8.0W), initiating shutdown',
    ),
    'below the cut-off: 0 s, not a negative time',
  );
});
