// The simulated host's power, as halpid --simulate tells it: the "powered off" warning once per
// power-off, with the advice of the state the controller takes, and a blackout that was still
// open when the simulated host came back (docs/api.md, "/sim/…").
import t from 'tap';
import { engineRig } from '../helpers/engine.js';

type Rig = ReturnType<typeof engineRig>;
const OFF = 'Simulated host powered off';
const offWarnings = (rec: Rig['rec']) => rec.logs.filter((l) => l.message.startsWith(OFF));
/** The `i`th warning (from 0); fails the test if there is none. */
function warning(rec: Rig['rec'], i = 0) {
  const w = offWarnings(rec)[i];
  if (!w) throw new Error(`no warning #${i + 1}: ${offWarnings(rec).length} so far`);
  return w;
}
const BUTTON = /; wake it with the power button: POST \/sim\/button \{"action":"click"\}\. Until it boots/;
const AUTO_RESTART = /; auto-restart boots it again in about 5 s\. Until it boots/;
const BY_ITSELF = /; it boots again by itself once the controller has restarted and the supercap is charged\. /;

/** An engine past its first ticks, the controller's watchdog off (a halted host stops pinging it). */
async function running(opts: Parameters<typeof engineRig>[0] = {}) {
  const rig = engineRig(opts);
  rig.engine.start();
  await rig.clock.advance(500);
  await rig.engine.writeConfigRaw('watchdog_timeout', 0);
  return rig;
}

t.test(
  'a host halted with the power on is said to be off once, with the advice of the state that follows',
  async (t) => {
    // The controller cuts the rail one 10 ms step after the host halts. Whether a tick or a read of
    // the API sees the host halted with its rail still on depends on the moment: every moment
    // within a tick's slot, with the ticks alone and with a read of the API in every step.
    for (const reading of [false, true]) {
      for (let offset = 0; offset < 100; offset += 10) {
        const { clock, sim, engine, rec, stop } = await running();
        await clock.advance(offset);
        sim.haltHost();
        let pending = 0;
        for (let i = 0; i < 300; i++) {
          if (reading) {
            pending++;
            void engine.readValues().then(
              () => pending--,
              () => pending--,
            );
          }
          await clock.advance(10);
        }
        await clock.advanceUntil(() => pending === 0, 2000); // reads retry on the fake clock
        const warned = offWarnings(rec);
        const when = `halted ${offset} ms into a slot${reading ? ', reads in every step' : ''}`;
        t.equal(warned.length, 1, `${when}: one warning`);
        t.match(warned[0]?.message, /\(controller state PoweredDownManual\)/, `${when}: the state it powered down in`);
        t.match(warned[0]?.message, AUTO_RESTART, `${when}: auto-restart's advice`);
        await stop();
      }
    }
  },
);

t.test('a host halted while the controller hangs is said to be off as soon as it has halted, each time', async (t) => {
  const { clock, sim, rec, stop } = await running();
  t.equal(sim.snapshot().controller.auto_restart, true, 'auto-restart is on');
  sim.silence(60_000);
  for (const time of [1, 2]) {
    sim.haltHost();
    await clock.advanceUntil(() => sim.host.phase === 'halted', 5000, 10);
    const halted = clock.now();
    await clock.advanceUntil(() => offWarnings(rec).length === time, 1000, 10);
    const warned = warning(rec, time - 1);
    t.ok(warned.t - halted <= 200, `${time}: said ${warned.t - halted} ms after the host halted`);
    t.equal(sim.host.phase, 'halted', `${time}: the rail is still on`);
    // The controller is still Operational: auto-restart is not what brings this host back.
    t.match(warned.message, /\(controller state OperationalCoOp\)/, `${time}: the state`);
    t.match(warned.message, BUTTON, `${time}: the advice`);
    await clock.advance(2000);
    t.equal(offWarnings(rec).length, time, `${time}: said once`);
    sim.button('click'); // the host wakes from the button, the controller still hanging
    await clock.advanceUntil(() => sim.host.phase === 'running', 5000, 10);
  }
  await stop();
});

t.test('a host halted just before the daemon stops is not said to be off after the stop', async (t) => {
  const { clock, sim, engine, rec } = await running();
  sim.silence(60_000);
  sim.haltHost();
  await clock.advanceUntil(() => sim.host.phase === 'halted', 5000, 10);
  const done = engine.stop();
  await clock.advance(2000);
  await done;
  t.same(offWarnings(rec), [], 'nothing said after the stop');
  t.equal(clock.pending, 0, 'no timer left behind');
});

t.test('a rail cut while the ticks wait on the bus is said once, with the state that cut it', async (t) => {
  const { clock, sim, rec, stop } = await running();
  // The firmware looks at CM_ON every 50 ms: halted 30 ms into its period, the rail stays on 20 ms.
  await clock.advance(Math.ceil(clock.now() / 50) * 50 + 30 - clock.now());
  sim.haltHost(); // halts in 2 s
  await clock.advance(1800);
  sim.addFault({ kind: 'stretch', op: 'any', delay_ms: 1000, count: 0 }); // every transaction held 1 s
  // Someone reads the simulator's own state (GET /sim) in every step until the host has halted.
  await clock.advanceUntil(() => sim.snapshot().host.cm_on === false, 1000, 10);
  t.equal(sim.host.phase, 'halted', 'seen halted with its rail still on');
  await clock.advance(500); // nothing reads the model now; the tick's read is held
  sim.faults.clear();
  await clock.advance(1500);
  const warned = offWarnings(rec);
  t.equal(warned.length, 1, 'one warning');
  t.match(warned[0]?.message, /\(controller state PoweredDownManual\)/);
  t.match(warned[0]?.message, AUTO_RESTART);
  await stop();
});

t.test('a host halted by a shutdown request while the controller hangs: the advice of that shutdown', async (t) => {
  for (const autoRestart of [true, false]) {
    const { clock, sim, engine, rec, stop } = await running({ haltOnPoweroff: false });
    await engine.writeConfigRaw('auto_restart', autoRestart ? 1 : 0);
    await engine.requestShutdown();
    await clock.advanceUntil(() => sim.state === 'ManualShutdown', 2000, 10);
    sim.silence(30_000);
    sim.haltHost();
    await clock.advanceUntil(() => offWarnings(rec).length > 0, 5000, 10);
    const warned = warning(rec);
    t.match(warned.message, /\(controller state ManualShutdown\)/, `auto-restart ${autoRestart}: the state`);
    t.match(warned.message, autoRestart ? AUTO_RESTART : BUTTON, `auto-restart ${autoRestart}: the advice`);
    await stop();
  }
});

t.test('a host halted by the blackout shutdown while the controller hangs: it comes back by itself', async (t) => {
  const { clock, sim, engine, rec, stop } = await running({ haltOnPoweroff: false });
  await engine.writeConfigRaw('watchdog_timeout', 10_000); // BlackoutCoOp, so the shutdown request is heard
  sim.setPower(false);
  await clock.advanceUntil(() => rec.poweroff.length === 1, 10_000, 10);
  await clock.advanceUntil(() => sim.state === 'BlackoutShutdown', 2000, 10);
  sim.silence(30_000);
  sim.haltHost();
  sim.setPower(true); // the controller would see the power back, but it hangs
  await clock.advanceUntil(() => offWarnings(rec).length > 0, 5000, 10);
  const warned = warning(rec);
  t.match(warned.message, /\(controller state BlackoutShutdown\)/);
  t.match(warned.message, BY_ITSELF);
  await stop();
});

t.test('a host in standby is said to wake at its alarm', async (t) => {
  const { clock, sim, engine, rec, stop } = await running();
  const wakeS = Math.floor(clock.wallNow() / 1000) + 60;
  await engine.requestStandby(wakeS, 'in 60 s');
  await clock.advanceUntil(() => offWarnings(rec).length > 0, 10_000, 10);
  const warned = warning(rec);
  t.match(warned.message, /\(controller state Standby\)/);
  t.match(
    warned.message,
    `; its wake-up alarm boots it at ${new Date(wakeS * 1000).toISOString()}, or wake it with the power button: POST /sim/button {"action":"click"}. `,
  );
  await clock.advanceUntil(() => sim.host.cmOn, 70_000, 50);
  t.equal(offWarnings(rec).length, 1, 'said once, and it did wake');
  await stop();
});

t.test('an alarm still set after an early wake is not the advice for a host powered off later', async (t) => {
  const { clock, sim, engine, rec, stop } = await running({ haltOnPoweroff: true });
  await engine.writeConfigRaw('auto_restart', 0);
  const wakeS = Math.floor(clock.wallNow() / 1000) + 120;
  await engine.requestStandby(wakeS, 'in 120 s');
  await clock.advanceUntil(() => offWarnings(rec).length === 1, 10_000, 10);
  sim.button('click'); // woken by hand long before the alarm
  await clock.advanceUntil(() => engine.state === 'OK' && sim.host.phase === 'running', 20_000, 50);
  t.equal(sim.host.rtcAlarm, wakeS, 'the alarm is still set');
  await engine.writeConfigRaw('watchdog_timeout', 0);
  await engine.requestShutdown();
  await clock.advanceUntil(() => offWarnings(rec).length === 2, 10_000, 10);
  const warned = warning(rec, 1);
  t.match(warned.message, /\(controller state PoweredDownManual\)/);
  t.match(warned.message, BUTTON, 'the power button: the alarm cannot boot a host without power');
  await stop();
});

t.test('a blackout still open when the simulated host boots again is recorded as ended by the stop', async (t) => {
  // A limit far off: the host is halted by hand in the blackout, before the shutdown.
  const { clock, sim, engine, rec, stop } = await running({ settings: { blackoutTimeLimitS: 60 } });
  sim.setPower(false);
  await clock.advanceUntil(() => engine.history.blackouts().length === 1, 5000, 10);
  const started = clock.now();
  t.equal(engine.history.blackouts()[0]?.outcome, 'ongoing');
  sim.haltHost();
  await clock.advanceUntil(() => sim.host.phase === 'unpowered', 5000, 10);
  sim.setPower(true);
  await clock.advanceUntil(() => rec.logs.some((l) => l.message.startsWith('Simulated host booted')), 20_000, 10);
  const booted = clock.now();
  await clock.advance(1000);
  t.equal(rec.poweroff.length, 0, 'no shutdown: the limit was never reached');
  const [blackout, ...more] = engine.history.blackouts();
  t.same(more, [], 'one blackout');
  if (!blackout) throw new Error('no blackout recorded');
  t.equal(blackout.outcome, 'stopped', 'ended as a stop of the daemon, not left open');
  t.ok(
    Math.abs(blackout.duration - (booted - started) / 1000) <= 0.2,
    `its duration ${blackout.duration} s runs to the boot (${(booted - started) / 1000} s)`,
  );
  t.equal(engine.state, 'OK', 'and the restarted state machine sees the power');
  await stop();
});
