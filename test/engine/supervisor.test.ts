// The blackout state machine on the simulator, timed on an injected clock (docs/configuration.md).
import t from 'tap';
import { decodeVin } from '../../engine/registers.js';
import { RESUME_CONFIRM_MS, TICK_MS } from '../../engine/supervisor.js';
import { engineRig } from '../helpers/engine.js';

t.test('START arms the watchdog: the controller goes OperationalCoOp, the daemon OK', async (t) => {
  const { clock, sim, engine, rec, stop } = engineRig();
  engine.start();
  await clock.advance(0);
  t.equal(engine.state, 'OK');
  await clock.advance(50);
  t.equal(sim.state, 'OperationalCoOp');
  t.equal(sim.watchdogActiveMs, 10_000);
  t.ok(rec.logs.some((l) => l.message === 'Initializing watchdog'));
  t.ok(rec.logs.some((l) => l.message === 'State transition: START -> OK'));
  await stop();
});

t.test('a full blackout: detection, shutdown after the limit, poweroff, host halt, power back, restart', async (t) => {
  const { clock, sim, engine, rec, when, stop } = engineRig();
  const blackouts: unknown[] = [];
  const shutdowns: unknown[] = [];
  engine.on('blackout', (b) => blackouts.push(b));
  engine.on('shutdown', (s) => shutdowns.push(s));
  engine.start();
  await clock.advance(1000);
  const cut = clock.now();
  sim.setPower(false);
  await clock.advanceUntil(() => engine.state === 'DEAD', 10_000);
  const detected = when('BLACKOUT')!;
  const shutdown = when('SHUTDOWN')!;
  t.ok(detected - cut <= 200, `blackout detected ${detected - cut} ms after the cut (≈60 ms averaging + ≤ 1 tick)`);
  t.ok(
    shutdown - detected > 5000 && shutdown - detected <= 5001,
    `shutdown ${shutdown - detected} ms after detection: at the limit, not on the next tick`,
  );
  t.equal(rec.poweroff.length, 1, 'poweroff command started once');
  t.equal(rec.poweroff[0]!.command, 'harmless-poweroff');
  t.equal(rec.poweroff[0]!.t, shutdown, 'in the same tick as the request');
  t.match(blackouts, [{ phase: 'start', V_in: 0, time_limit: 5, voltage_limit: 9 }, { phase: 'shutdown' }]);
  t.same(shutdowns, [{ command: 'harmless-poweroff', kind: 'shutdown', source: 'blackout', wakeup: null }]);
  await clock.advance(50);
  t.equal(sim.state, 'BlackoutShutdown', 'controller got 0x30');
  t.ok(rec.logs.some((l) => l.level === 'warn' && l.message === 'Detected blackout (V_in = 0.00V < 9.00V)'));
  t.ok(rec.logs.some((l) => l.level === 'warn' && /^Blacked out for 5\.0s, initiating shutdown$/.test(l.message)));
  // The simulated host halts, the controller powers down; power comes back; everything restarts.
  await clock.advanceUntil(() => sim.state === 'PoweredDownBlackout', 5000);
  sim.setPower(true);
  await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 20_000, 50);
  t.equal(engine.state, 'OK', 'the engine restarted from START when the simulated host booted');
  t.equal(engine.supervisor.blackoutsTotal, 1);
  t.ok(engine.supervisor.blackoutSecondsTotal > 5 && engine.supervisor.blackoutSecondsTotal < 5.2);
  await stop();
});

t.test('a 4.9 s dip does not shut down', async (t) => {
  const { clock, sim, engine, rec, states, stop } = engineRig();
  engine.start();
  await clock.advance(1000);
  sim.setPower(false);
  await clock.advance(4900);
  sim.setPower(true);
  await clock.advance(3000);
  t.same(
    states.map((s) => s.state),
    ['OK', 'BLACKOUT', 'OK'],
  );
  t.equal(rec.poweroff.length, 0);
  t.ok(rec.logs.some((l) => l.message.startsWith('Power resumed (V_in = 12.00V)')));
  await stop();
});

t.test('comparisons are strict and in float32: V_in equal to the limit is no blackout', async (t) => {
  const limit = decodeVin(19660); // what 12.0 V reads as
  const { clock, sim, engine, stop } = engineRig({ settings: { blackoutVoltageLimitV: limit } });
  engine.start();
  sim.setInputs({ V_in: 12.0 });
  await clock.advance(2000);
  t.equal(engine.state, 'OK', 'equal stays OK');
  engine.updateSettings({ blackoutVoltageLimitV: limit + 0.4 * 2 ** -20 });
  await clock.advance(100);
  t.equal(engine.state, 'OK', 'a limit within half a float32 step rounds to the reading: still equal');
  engine.updateSettings({ blackoutVoltageLimitV: limit + 2 ** -20 });
  await clock.advance(100);
  t.equal(engine.state, 'BLACKOUT', 'one float32 step below the new limit');
  engine.updateSettings({ blackoutVoltageLimitV: limit });
  await clock.advance(100);
  t.equal(engine.state, 'BLACKOUT', 'equal stays in BLACKOUT too');
  engine.updateSettings({ blackoutVoltageLimitV: 11 });
  await clock.advance(RESUME_CONFIRM_MS);
  t.equal(engine.state, 'BLACKOUT', 'power resumed only once it has held for the confirmation time');
  await clock.advance(TICK_MS);
  t.equal(engine.state, 'OK');
  await stop();
});

t.test('a changed time limit applies on the next tick and keeps the running blackout start', async (t) => {
  const { clock, sim, engine, when, stop } = engineRig();
  engine.start();
  await clock.advance(500);
  sim.setPower(false);
  await clock.advance(2000);
  engine.updateSettings({ blackoutTimeLimitS: 3 });
  await clock.advanceUntil(() => engine.state === 'DEAD', 5000);
  const d = when('SHUTDOWN')! - when('BLACKOUT')!;
  t.ok(d > 3000 && d <= 3100, `shut down ${d} ms after detection with the new 3 s limit`);
  await stop();
});

t.test('transient faults are retried and never cause a false blackout', async (t) => {
  const { clock, sim, engine, states, rec, stop } = engineRig({
    sim: {
      random: (() => {
        let i = 0;
        return () => (i++ * 0.37) % 1;
      })(),
    },
  });
  engine.start();
  await clock.advance(500);
  sim.addFault({ kind: 'nack', registers: [0x20], probability: 0.5, count: 0 });
  await clock.advance(10_000);
  t.same(
    states.map((s) => s.state),
    ['OK'],
    'no BLACKOUT',
  );
  t.equal(rec.poweroff.length, 0);
  t.ok(engine.i2cCounters.read.retries > 10, `retries happened (${engine.i2cCounters.read.retries})`);
  sim.faults.clear();
  // A bus that stays dead: failed ticks are errors, not blackouts, and the log is not flooded.
  // (The controller's watchdog is disarmed first, or it would power-cycle the host after 10 s.)
  const disarm = engine.writeConfigRaw('watchdog_timeout', 0);
  await clock.advance(100);
  await disarm;
  sim.addFault({ kind: 'nack', count: 0 });
  await clock.advance(25_000);
  t.same(
    states.map((s) => s.state),
    ['OK'],
    'still no BLACKOUT',
  );
  const errors = rec.logs.filter((l) => l.level === 'error' && l.message.startsWith('State machine error'));
  t.equal(errors[0]?.message, 'State machine error: Failed to read from register 0x20');
  t.match(
    rec.logs.find((l) => l.message.startsWith('Controller not answering'))?.message,
    /: its watchdog is not armed: nothing will power-cycle this computer$/,
    'the dead bus is announced, knowing the watchdog was disarmed',
  );
  t.ok(errors.length >= 2 && errors.length <= 4, `logged ${errors.length} times in 25 s`);
  t.match(errors[1]?.message, /^State machine error: Failed to read from register 0x20 \(repeated \d+ times\)$/);
  t.ok(engine.supervisor.pollErrorsTotal > 100);
  await stop();
});

t.test('a blackout start time is kept across failed ticks', async (t) => {
  const { clock, sim, engine, when, stop } = engineRig();
  engine.start();
  await clock.advance(500);
  sim.setPower(false);
  await clock.advance(1000);
  sim.addFault({ kind: 'nack', registers: [0x20], count: 0 });
  await clock.advance(3000);
  t.equal(engine.state, 'BLACKOUT');
  sim.faults.clear();
  await clock.advanceUntil(() => engine.state === 'DEAD', 3000);
  const d = when('SHUTDOWN')! - when('BLACKOUT')!;
  t.ok(d > 5000 && d <= 5100, `limit counted from the original start (${d} ms)`);
  await stop();
});

t.test('dry-run: no request, no poweroff, DEAD keeps feeding the watchdog', async (t) => {
  const { clock, sim, engine, rec, stop } = engineRig({ settings: { dryRun: true } });
  engine.start();
  await clock.advance(500);
  sim.setPower(false);
  await clock.advanceUntil(() => engine.state === 'DEAD', 7000);
  t.equal(rec.poweroff.length, 0);
  t.ok(rec.logs.some((l) => l.message === 'Dry run: would request shutdown and execute harmless-poweroff'));
  t.equal(sim.state, 'BlackoutCoOp', 'no request reached the controller');
  sim.setPower(true);
  // Watch every controller state on the way: back in OperationalCoOp the watchdog is checked
  // again, and only the DEAD state's reads keep it from expiring.
  const seen = new Set<string>();
  for (let ms = 0; ms < 30_000; ms += 50) {
    await clock.advance(50);
    seen.add(sim.state);
  }
  t.notOk(seen.has('HostUnresponsive'), `never HostUnresponsive (saw ${[...seen].join(', ')})`);
  t.notOk(seen.has('PoweredDownBlackout'), 'never power-cycled');
  t.equal(sim.state, 'OperationalCoOp', 'the watchdog stayed fed in DEAD');
  t.equal(engine.state, 'DEAD');
  await stop();
});

t.test('an empty poweroff command requests shutdown and warns', async (t) => {
  const { clock, sim, engine, rec, stop } = engineRig({ settings: { poweroffCommand: '' } });
  engine.start();
  await clock.advance(500);
  sim.setPower(false);
  await clock.advanceUntil(() => engine.state === 'DEAD', 7000);
  t.equal(rec.poweroff.length, 0);
  t.ok(rec.logs.some((l) => l.level === 'warn' && l.message === 'Dry-run mode: poweroff command is empty'));
  await clock.advance(50);
  t.equal(sim.state, 'BlackoutShutdown', 'the request reached the controller');
  await stop();
});

t.test('a failed shutdown request does not hold the poweroff and is retried alongside', async (t) => {
  const { clock, sim, engine, rec, when, stop } = engineRig();
  engine.start();
  await clock.advance(500);
  sim.addFault({ kind: 'nack', registers: [0x30], count: 4 });
  sim.setPower(false);
  await clock.advanceUntil(() => engine.state === 'DEAD', 8000);
  t.equal(rec.poweroff.length, 1);
  t.equal(rec.poweroff[0]!.t, when('SHUTDOWN'), 'the poweroff did not wait for the controller');
  await clock.advanceUntil(() => sim.state === 'BlackoutShutdown', 1000);
  t.ok(
    rec.logs.some(
      (l) =>
        l.level === 'error' &&
        l.message ===
          'Cannot request the shutdown from the controller (Failed to write to register 0x30); the poweroff goes on without it',
    ),
  );
  t.ok(
    rec.logs.some((l) => l.message === 'The controller took the shutdown request after 1 failed attempt'),
    'the retry got through',
  );
  await stop();
});
