// What the supervisor tells the faces during and after a blackout (the elapsed time, the supercap's
// seconds and power, "shutting down": engine/supply.ts, the NUT variables, /events), and the
// settings it acts on (the watchdog timeout, the halt reserve): a scripted port on a FakeClock.
import t from 'tap';
import {
  ASSUMED_LOAD_W,
  HALT_RESERVE_S,
  SHUTDOWN_REQUEST_BOUND_MS,
  SUPERCAP_CUTOFF_V,
  SUPERCAP_F,
  TICK_MS,
  WATCHDOG_MS,
} from '../../engine/supervisor.js';
import { decodeVcap } from '../../engine/registers.js';
import { scripted } from '../helpers/scripted-supervisor.js';

const cutAt =
  (ms: number) =>
  (t: number): number =>
    t >= ms ? 0 : 12;

/** V_cap falling as a 6.25 F bank does under `watts`, from `v0` at `from`. */
const discharge =
  (v0: number, watts: number, from: number) =>
  (ms: number): number =>
    Math.sqrt(Math.max(0, v0 * v0 - (2 * watts * Math.max(0, ms - from)) / 1000 / SUPERCAP_F));

/** Seconds above the cut-off at `watts` from `v`. */
const secondsAt = (v: number, watts: number): number => ((v * v - SUPERCAP_CUTOFF_V ** 2) * SUPERCAP_F) / 2 / watts;

t.test('the elapsed blackout time: none before, counting in the blackout, none after its end', async (t) => {
  const s = scripted({ vin: (ms) => (ms >= 1000 && ms < 3000 ? 0 : 12) });
  await s.run(900);
  t.equal(s.sup.blackoutElapsedS, null, 'on input power');
  await s.run(2500);
  t.equal(s.sup.state, 'BLACKOUT');
  t.equal(s.sup.blackoutElapsedS, (s.clock.now() - 1000) / 1000, 'seconds since detection');
  await s.run(4000);
  t.equal(s.sup.state, 'OK');
  t.equal(s.sup.blackoutElapsedS, null, 'after the power came back');
  t.equal(s.sup.blackoutSecondsTotal, (3000 + 300 - 1000) / 1000, 'the total stops counting');
});

t.test('the elapsed time is cleared by the shutdown too', async (t) => {
  const s = scripted({ vin: cutAt(1000) });
  await s.run(8000);
  t.equal(s.sup.state, 'DEAD');
  t.equal(s.sup.blackoutElapsedS, null);
  t.equal(s.sup.blackoutSecondsTotal, 5.001, 'the total holds the blackout, no more');
});

t.test('the supercap seconds: none until V_cap is read, then at the assumed load, then measured', async (t) => {
  const vcap = discharge(9, 4, 1000);
  const s = scripted({ vin: cutAt(1000), vcap: (ms) => (ms < 1200 ? null : vcap(ms)), limitS: 60 });
  await s.run(900);
  t.equal(s.sup.supercapSecondsLeft, null, 'on input power');
  t.equal(s.sup.supercapPowerW, null, 'on input power');
  await s.run(1100);
  t.equal(s.sup.state, 'BLACKOUT');
  t.equal(s.sup.supercapSecondsLeft, null, 'in the blackout, before V_cap was read');
  await s.run(1200);
  const assumed = secondsAt(vcap(1200), ASSUMED_LOAD_W);
  t.ok(Math.abs(s.sup.supercapSecondsLeft! - assumed) < 1e-9, `${assumed.toFixed(2)} s at the assumed 8 W`);
  t.equal(s.sup.supercapPowerW, null, 'no power before a discharge was measured');
  await s.run(2100);
  t.equal(s.sup.supercapPowerW, null, 'readings spanning 0.9 s: not yet');
  await s.run(2200);
  t.ok(Math.abs(s.sup.supercapPowerW! - 4) < 1e-6, `${s.sup.supercapPowerW} W once a second of discharge is seen`);
  const measured = secondsAt(vcap(2200), 4);
  t.ok(Math.abs(s.sup.supercapSecondsLeft! - measured) < 1e-6, `${measured.toFixed(2)} s at the measured 4 W`);
  // The window slides: a load that changes is measured anew within two seconds.
  const heavier = scripted({
    vin: cutAt(1000),
    vcap: (ms) => (ms < 4000 ? vcap(ms) : discharge(vcap(4000), 8, 4000)(ms)),
    limitS: 60,
  });
  await heavier.run(6100);
  t.ok(
    Math.abs(heavier.sup.supercapPowerW! - 8) < 1e-6,
    `${heavier.sup.supercapPowerW} W two seconds after the load doubled`,
  );
});

t.test('the power is measured over the last second: a change of load shows within it', async (t) => {
  // 4 W until 4000, then 8 W: at 4900 the last second (3900–4900) holds 0.1 s at 4 W, 0.9 s at 8 W.
  const before = discharge(9, 4, 1000);
  const s = scripted({
    vin: cutAt(1000),
    vcap: (ms) => (ms < 4000 ? before(ms) : discharge(before(4000), 8, 4000)(ms)),
    limitS: 60,
  });
  await s.run(4900);
  t.ok(Math.abs(s.sup.supercapPowerW! - 7.6) < 1e-6, `${s.sup.supercapPowerW} W`);
});

t.test('two V_cap readings a second apart are enough to measure the power', async (t) => {
  const vcap = discharge(9, 4, 1000);
  const s = scripted({ vin: cutAt(1000), vcap: (ms) => (ms === 1200 || ms === 2200 ? vcap(ms) : null), limitS: 60 });
  await s.run(2200);
  t.ok(Math.abs(s.sup.supercapPowerW! - 4) < 1e-6, `${s.sup.supercapPowerW} W`);
});

t.test('the supercap figures are cleared when the blackout ends', async (t) => {
  const s = scripted({
    vin: (ms) => (ms >= 1000 && ms < 4000 ? 0 : 12),
    vcap: discharge(9, 4, 1000),
    limitS: 60,
  });
  await s.run(3900);
  t.not(s.sup.supercapSecondsLeft, null, 'in the blackout');
  t.not(s.sup.supercapPowerW, null, 'in the blackout');
  await s.run(5000);
  t.equal(s.sup.state, 'OK');
  t.equal(s.sup.supercapSecondsLeft, null, 'back on input power');
  t.equal(s.sup.supercapPowerW, null, 'back on input power');
});

t.test('a V_cap that stays level measures no discharge: the assumed load holds', async (t) => {
  const s = scripted({ vin: cutAt(1000), vcap: () => 9, limitS: 60 });
  await s.run(4000);
  t.equal(s.sup.supercapPowerW, null, 'no power from a level V_cap');
  t.ok(Math.abs(s.sup.supercapSecondsLeft! - secondsAt(9, ASSUMED_LOAD_W)) < 1e-9);
});

t.test('a full-scale V_cap (a corrupted read) is no reading: it neither shuts down nor counts', async (t) => {
  const s = scripted({ vin: cutAt(1000), vcap: () => decodeVcap(0xffff), limitS: 60 });
  await s.run(3000);
  t.equal(s.sup.state, 'BLACKOUT');
  t.equal(s.sup.supercapSecondsLeft, null);
});

t.test('"shutting down": only from the shutdown of a blackout on, until a restart', async (t) => {
  const s = scripted({ vin: cutAt(1000) });
  t.equal(s.sup.shutdownAfterBlackout, false, 'a daemon that just started');
  const seen: boolean[] = [];
  for (let ms = 0; ms <= 8000; ms += TICK_MS) {
    await s.run(ms);
    if (seen.at(-1) !== s.sup.shutdownAfterBlackout) seen.push(s.sup.shutdownAfterBlackout);
  }
  t.same(seen, [false, true], 'false through OK and BLACKOUT, true from the shutdown');
  t.equal(s.sup.state, 'DEAD');
  t.equal(s.sup.shutdownAfterBlackout, true, 'still true in DEAD');
  s.sup.restart();
  t.equal(s.sup.shutdownAfterBlackout, false, 'a restarted daemon is not shutting down');
});

t.test('the halt reserve is a setting: a larger one shuts down sooner', async (t) => {
  const vcap = discharge(10, 6, 1000);
  const when = async (reserve: number | undefined): Promise<number> => {
    const s = scripted({ vin: cutAt(1000), vcap, limitS: 600 });
    if (reserve !== undefined) s.sup.settings.haltReserveS = reserve;
    await s.run(60_000);
    const at = s.at('SHUTDOWN')!;
    const left = secondsAt(vcap(at), 6);
    const r = reserve ?? HALT_RESERVE_S;
    t.ok(left <= r && left > r - 0.2, `reserve ${r} s: ${left.toFixed(2)} s left at the shutdown`);
    return at;
  };
  const byDefault = await when(undefined);
  const larger = await when(20);
  t.ok(byDefault - larger > 9000, `20 s of reserve shut down ${byDefault - larger} ms sooner than 10 s`);
});

t.test('the watchdog armed at START is the setting, 10 s by default', async (t) => {
  for (const [setting, expected] of [
    [undefined, WATCHDOG_MS],
    [60_000, 60_000],
    [0, 0],
  ] as const) {
    const s = scripted({ vin: () => 12 });
    if (setting !== undefined) s.sup.settings.watchdogMs = setting;
    const armed: number[] = [];
    s.port.armWatchdog = async (ms) => {
      armed.push(ms);
    };
    await s.run(300);
    t.same(armed, [expected], `watchdogMs ${setting ?? '(default)'}`);
  }
});

t.test('DEAD keeps feeding the watchdog in dry-run only', async (t) => {
  for (const dryRun of [true, false]) {
    const s = scripted({ vin: cutAt(1000) });
    s.sup.settings.dryRun = dryRun;
    await s.run(7000);
    t.equal(s.sup.state, 'DEAD');
    let reads = 0;
    s.port.readVin = async () => {
      reads++;
      return 0;
    };
    await s.run(8000);
    t.equal(reads > 0, dryRun, `dry-run ${dryRun}: ${reads} reads in DEAD`);
    if (dryRun) {
      t.same(s.poweroffs, [], 'dry-run: no poweroff');
      t.equal(s.requests(), 0, 'dry-run: no request to the controller');
      t.ok(s.logs.includes('Dry run: would request shutdown and execute harmless-poweroff'));
    }
  }
});

t.test('a shutdown request taken after failures says how many', async (t) => {
  const one = scripted({ vin: cutAt(1000), requestFailures: 1 });
  await one.run(8000);
  t.ok(one.logs.includes('The controller took the shutdown request after 1 failed attempt'));
  const s = scripted({ vin: cutAt(1000), requestFailures: 3 });
  await s.run(8000);
  t.equal(s.requests(), 4);
  t.ok(s.logs.includes('The controller took the shutdown request after 3 failed attempts'));
  t.equal(s.logs.filter((l) => l.startsWith('Cannot request the shutdown')).length, 1, 'the failure is said once');
  await s.clock.advance(SHUTDOWN_REQUEST_BOUND_MS);
  t.notOk(
    s.logs.some((l) => l.includes('has not taken the shutdown request')),
    'no "not taken" once it was taken',
  );
});

t.test('a shutdown request taken at once says nothing more', async (t) => {
  const s = scripted({ vin: cutAt(1000) });
  await s.run(8000);
  t.equal(s.requests(), 1);
  t.notOk(s.logs.some((l) => l.includes('shutdown request')));
});

t.test('the retries of the shutdown request stop at their bound, and a late success is not announced', async (t) => {
  const s = scripted({ vin: cutAt(1000), requestFailures: Infinity });
  await s.run(6001);
  await s.clock.advance(SHUTDOWN_REQUEST_BOUND_MS + 5000);
  const n = s.requests();
  t.equal(n, 100, 'retried every tick (6001, 6101 … 15901) until the bound');
  await s.clock.advance(10_000);
  t.equal(s.requests(), n, 'no attempt after the bound');
  // A request that hangs past the bound, then is taken: the bound was already reported.
  const h = scripted({ vin: cutAt(1000), requestFailures: 1 });
  let release!: () => void;
  const real = h.port.requestShutdown;
  let calls = 0;
  h.port.requestShutdown = async () => {
    if (++calls === 2) await new Promise<void>((resolve) => (release = resolve));
    return real();
  };
  await h.run(6001);
  await h.clock.advance(SHUTDOWN_REQUEST_BOUND_MS + 100);
  t.ok(
    h.logs.includes('The controller has not taken the shutdown request within 10s; the poweroff goes on without it'),
  );
  release();
  await h.clock.advance(100);
  t.notOk(
    h.logs.some((l) => l.startsWith('The controller took the shutdown request')),
    'no "took" after the bound was reported',
  );
});

t.test('a restart ends the retries of the shutdown request', async (t) => {
  const s = scripted({ vin: cutAt(1000), requestFailures: Infinity });
  await s.run(6001);
  await s.clock.advance(500);
  s.sup.restart();
  const n = s.requests();
  await s.clock.advance(SHUTDOWN_REQUEST_BOUND_MS);
  t.equal(s.requests(), n, 'no retries after the restart');
  t.notOk(
    s.logs.some((l) => l.includes('has not taken the shutdown request')),
    'and no complaint about the new life',
  );
});

t.test('a stopped engine (dispose) takes no decision at the deadline', async (t) => {
  const s = scripted({ vin: cutAt(1000) });
  await s.run(5900);
  s.sup.dispose();
  await s.clock.advance(1000); // no ticks: the engine has stopped
  t.same(s.poweroffs, [], 'no poweroff from the deadline timer');
  t.equal(s.sup.state, 'BLACKOUT');
});

t.test(
  'a drop of V_cap within a fraction of a second is not a discharge rate: it is measured over a second',
  async (t) => {
    // 9.00 V, then 8.95 V 100 ms later and level: over 100 ms that would be 9 V²/s (5.5 s left).
    const s = scripted({ vin: cutAt(1000), vcap: (ms) => (ms < 1200 ? 9.0 : 8.95), limitS: 60 });
    await s.run(3000);
    t.equal(s.sup.state, 'BLACKOUT', 'no shutdown on a 100 ms difference');
  },
);
