// A dead bus with the power on is announced within a second, with the moment the controller's
// watchdog will power-cycle the computer (docs/blackout.md); the simulated firmware then does so.
import t from 'tap';
import { renderMetrics, HttpCounters } from '../../engine/api/metrics.js';
import type { ReachabilityEvent } from '../../engine/reachability.js';
import { controllerEvents, engineRig } from '../helpers/engine.js';

for (const fault of [
  { kind: 'nack' as const },
  { kind: 'timeout' as const, delay_ms: 1000 },
  { kind: 'timeout' as const, delay_ms: 250 },
]) {
  t.test(
    `the bus dies with the power on (${fault.kind}${'delay_ms' in fault ? ` ${fault.delay_ms} ms` : ''}): announced within a second`,
    async (t) => {
      const { clock, sim, engine, rec } = engineRig();
      const events = controllerEvents(engine, clock);
      engine.start();
      await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
      await clock.advance(1000);
      const dead = clock.now();
      sim.addFault({ ...fault, count: 0 });
      await clock.advanceUntil(() => events.length > 0, 5000);
      const ev = events[0]!;
      t.equal(ev.reachable, false);
      const firstUnanswered = sim.log.find((l) => l.kind === 'fault' && l.t >= dead)!.t;
      t.ok(firstUnanswered - dead <= 100, 'the next tick asks');
      t.ok(
        ev.t - firstUnanswered <= 1000,
        `announced ${ev.t - firstUnanswered} ms after the first unanswered transaction`,
      );
      const line = rec.logs.find((l) => l.level === 'error' && l.message.startsWith('Controller not answering'));
      t.match(
        line?.message,
        /^Controller not answering for 1\.\ds \(.+\): its watchdog will power-cycle this computer in about 1[34]s unless it answers again$/,
      );
      const metrics = renderMetrics(engine, new HttpCounters(), { version: 'x', dialect: 5 });
      t.match(metrics, /^halpi_controller_reachable 0$/m);
      // The prediction is the firmware's: HostUnresponsive after the watchdog, power cut 5 s later.
      const powerCycle = ev.power_cycle_at! - clock.wallNow() + clock.now();
      await clock.advanceUntil(() => sim.state === 'PoweredDownBlackout', 20_000, 50);
      t.ok(
        Math.abs(clock.now() - powerCycle) <= 150,
        `the simulated controller cut the power ${clock.now() - powerCycle} ms from the announced moment`,
      );
      t.equal(events.length, 1, 'said once');
      sim.faults.clear();
      const stopped = engine.stop();
      await clock.advance(2000);
      await stopped;
    },
  );
}

t.test('the controller answering again is said, and the gauge returns to 1', async (t) => {
  const { clock, sim, engine, rec, stop } = engineRig();
  const events: ReachabilityEvent[] = [];
  engine.on('controller', (ev) => events.push(ev));
  engine.start();
  await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
  sim.addFault({ kind: 'nack', count: 0 });
  await clock.advanceUntil(() => events.length === 1, 3000);
  await clock.advance(2000);
  sim.faults.clear();
  await clock.advanceUntil(() => events.length === 2, 1000);
  t.equal(events[1]!.reachable, true);
  t.ok(
    rec.logs.some(
      (l) => l.level === 'info' && /^Controller answering again after [23]\.\ds without an answer$/.test(l.message),
    ),
  );
  t.match(renderMetrics(engine, new HttpCounters(), { version: 'x', dialect: 5 }), /^halpi_controller_reachable 1$/m);
  t.equal(sim.state, 'OperationalCoOp', 'back before the watchdog bit');
  await stop();
});

t.test('a few failed reads with answers between them are not an outage', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  const events: ReachabilityEvent[] = [];
  engine.on('controller', (ev) => events.push(ev));
  engine.start();
  await clock.advance(1000);
  sim.addFault({ kind: 'nack', probability: 0.5, count: 0 });
  await clock.advance(30_000);
  t.same(events, []);
  await stop();
});

t.test(
  'during a blackout the announcement says the shutdown goes ahead; after the shutdown nothing is announced',
  async (t) => {
    const { clock, sim, engine, rec } = engineRig();
    engine.start();
    await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
    sim.setPower(false);
    await clock.advanceUntil(() => engine.state === 'BLACKOUT', 1000);
    sim.addFault({ kind: 'nack', count: 0 });
    await clock.advanceUntil(() => rec.logs.some((l) => l.message.startsWith('Controller not answering')), 3000);
    t.match(
      rec.logs.find((l) => l.message.startsWith('Controller not answering'))!.message,
      /: the blackout's shutdown goes ahead on time without it$/,
    );
    await clock.advanceUntil(() => engine.state === 'DEAD', 6000);
    t.equal(rec.poweroff.length, 1, 'and it did');
    sim.faults.clear();
    const stopped = engine.stop();
    await clock.advance(2000);
    await stopped;
  },
);

t.test('a controller that never answered at start is announced as such', async (t) => {
  const { clock, sim, engine, rec } = engineRig();
  sim.addFault({ kind: 'nack', count: 0 });
  engine.start();
  await clock.advanceUntil(() => rec.logs.some((l) => l.message.startsWith('Controller not answering')), 3000);
  t.match(
    rec.logs.find((l) => l.message.startsWith('Controller not answering'))!.message,
    /: its watchdog is not armed: nothing will power-cycle this computer$/,
  );
  sim.faults.clear();
  const stopped = engine.stop();
  await clock.advance(2000);
  await stopped;
});

t.test('a controller that goes silent without a fault rule (reads answered at once) is announced too', async (t) => {
  // The tick's read of a simulator without faults takes the bus's answer-at-once path; its
  // failure must count as silence, be retried, and be announced like any other.
  const { clock, sim, engine, stop } = engineRig();
  const events = controllerEvents(engine, clock);
  engine.start();
  await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
  await clock.advance(1000);
  const retries = engine.i2cCounters.read.retries;
  const silent = clock.now();
  sim.silence(3000);
  await clock.advanceUntil(() => events.length === 1, 3000);
  t.equal(events[0]!.reachable, false);
  t.ok(events[0]!.t - silent <= 1100, `announced ${events[0]!.t - silent} ms after the controller went silent`);
  t.ok(engine.i2cCounters.read.retries > retries, 'the failed reads were retried');
  await clock.advanceUntil(() => events.length === 2, 3000);
  t.equal(events[1]!.reachable, true, 'and its return is said');
  await stop();
});
