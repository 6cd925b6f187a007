// Engine: the tick loop's bookkeeping around a read that takes its time, and the reachability
// announcement's details: the guard of a slow tick is dropped once it answered, a stop during a
// tick leaves nothing scheduled, a slow tick skips to the next slot of the grid the engine started
// on, the power-cycle moment follows the watchdog the controller was last given, and nothing is
// announced once the daemon has shut the computer down. FakeClock; the simulated controller.
import t from 'tap';
import type { ReachabilityEvent } from '../../engine/reachability.js';
import { controllerEvents, engineRig, tickTimes } from '../helpers/engine.js';

/** An engine in OK on a host-running simulator, 50 ms into a slot; the times of "not answering". */
async function runningBetweenTicks() {
  const rig = engineRig({ sim: { start: 'host-running' } });
  rig.engine.start();
  await rig.clock.advanceUntil(() => rig.engine.state === 'OK', 1000);
  await rig.clock.advance(50); // between two ticks
  const announced: number[] = [];
  rig.engine.on('controller', (ev) => {
    if (!ev.reachable) announced.push(rig.clock.now());
  });
  return { ...rig, announced };
}

t.test('a slow read that answers: its guard timer goes with it, one timer pending between ticks', async (t) => {
  const { clock, engine, sim, stop } = engineRig({ sim: { start: 'host-running' } });
  engine.start();
  await clock.advanceUntil(() => engine.state === 'OK', 1000);
  await clock.advance(50); // between two ticks
  sim.addFault({ kind: 'stretch', op: 'read', delay_ms: 300, count: 1 });
  await clock.advance(100); // the next tick's read hangs: the guard is armed
  t.equal(clock.pending, 2, 'the stretched read and the reachability guard');
  await clock.advance(300); // it answered
  const pending = new Set<number>();
  for (let i = 0; i < 10; i++) {
    await clock.advance(100);
    pending.add(clock.pending);
  }
  t.same([...pending], [1], 'then only the next tick, as before the slow read');
  await stop();
});

t.test('stopped while a tick waits on the bus: the tick ends, and nothing is left scheduled', async (t) => {
  const { clock, engine, sim } = engineRig({ sim: { start: 'host-running' } });
  engine.start();
  await clock.advanceUntil(() => engine.state === 'OK', 1000);
  await clock.advance(50);
  sim.addFault({ kind: 'stretch', op: 'read', delay_ms: 400, count: 1 });
  await clock.advance(100); // a tick waits on the stretched read
  const stopped = engine.stop();
  let tickDone = false;
  void engine.idle().then(() => {
    tickDone = true;
  });
  await clock.advanceUntil(() => tickDone, 1000, 1);
  t.equal(clock.pending, 0, 'when that tick ends, no tick and no guard are scheduled');
  await clock.advance(1000);
  await stopped;
  const ticks = tickTimes(engine, clock);
  await clock.advance(1000);
  t.same(ticks, [], 'and no tick runs');
});

t.test('a slow tick on an engine started late: the next tick is the next slot of its own grid', async (t) => {
  const rig = engineRig({ sim: { start: 'host-running' } });
  const { clock, engine, sim, stop } = rig;
  await clock.advance(5030); // the engine starts at 5030 ms: its slots are 5030 + k × 100
  engine.start();
  await clock.advanceUntil(() => engine.state === 'OK', 1000);
  const ticks = tickTimes(rig.engine, rig.clock);
  await clock.advance(100);
  sim.addFault({ kind: 'stretch', op: 'read', delay_ms: 250, count: 1 });
  await clock.advance(1000);
  const gaps = ticks.slice(1).map((x, i) => x - ticks[i]!);
  t.ok(gaps.length >= 8, `ticks went on (${ticks.length} in a second)`);
  t.ok(
    ticks.every((x) => (x - 5030) % 100 === 0),
    `every tick on the engine's grid: ${ticks.map((x) => x - 5030).join(', ')}`,
  );
  t.ok(Math.max(...gaps) <= 300, `the slow tick skipped only the slots it overran (gaps ${gaps.join(', ')})`);
  await clock.advance(1000);
  await stop();
});

t.test('the power-cycle moment follows the watchdog timeout last written, not the default', async (t) => {
  const { clock, sim, engine, rec } = engineRig();
  const events = controllerEvents(engine, clock);
  engine.start();
  await clock.advanceUntil(() => sim.state === 'OperationalCoOp', 5000);
  await engine.writeConfigRaw('watchdog_timeout', 4000);
  await clock.advance(1000);
  sim.addFault({ kind: 'nack', count: 0 });
  await clock.advanceUntil(() => events.length > 0, 5000);
  const ev = events[0]!;
  t.equal(ev.reachable, false);
  const line = rec.logs.find((l) => l.level === 'error' && l.message.startsWith('Controller not answering'));
  t.match(line?.message, /will power-cycle this computer in about [78]s unless it answers again$/);
  const powerCycle = ev.power_cycle_at! - clock.wallNow() + clock.now();
  await clock.advanceUntil(() => sim.state === 'PoweredDownBlackout', 20_000, 50);
  t.ok(
    Math.abs(clock.now() - powerCycle) <= 150,
    `the simulated controller, with its 4 s watchdog, cut the power ${clock.now() - powerCycle} ms from the announced moment`,
  );
  sim.faults.clear();
  const stopped = engine.stop();
  await clock.advance(2000);
  await stopped;
});

/** A blackout run to its end (DEAD), 1 s limit; the controller events from the start. */
async function shutDown(settings: { dryRun?: boolean } = {}) {
  const rig = engineRig({ settings: { blackoutTimeLimitS: 1, ...settings } });
  const events: ReachabilityEvent[] = [];
  rig.engine.on('controller', (ev) => events.push(ev));
  rig.engine.start();
  await rig.clock.advanceUntil(() => rig.sim.state === 'OperationalCoOp', 5000);
  rig.sim.setPower(false);
  await rig.clock.advanceUntil(() => rig.engine.state === 'DEAD', 10_000);
  return { ...rig, events };
}

t.test('after the shutdown the daemon reads nothing, and announces no silent controller', async (t) => {
  const { clock, sim, rec, stop, events } = await shutDown();
  const before = sim.processed;
  await clock.advance(5000);
  t.equal(sim.processed, before, 'no transaction after the shutdown');
  t.same(events, [], 'no announcement');
  t.notOk(
    rec.logs.some((l) => l.message.startsWith('Controller not answering')),
    'no "not answering" line',
  );
  await stop();
});

t.test('in dry-run the daemon reads on after its "shutdown"; a silent controller is still not announced', async (t) => {
  const { clock, sim, rec, stop, events } = await shutDown({ dryRun: true });
  const dead = clock.now();
  sim.addFault({ kind: 'nack', count: 0 });
  await clock.advance(3000);
  t.ok(
    sim.log.filter((l) => l.kind === 'fault' && l.t >= dead).length >= 20,
    'it still asks (dry-run feeds the watchdog), unanswered',
  );
  t.same(events, [], 'no announcement after the shutdown');
  t.notOk(
    rec.logs.some((l) => l.message.startsWith('Controller not answering')),
    'no "not answering" line',
  );
  sim.faults.clear();
  await stop();
});

t.test('a read that hangs outside a tick: announced a second after it began, not after the next tick', async (t) => {
  const { clock, engine, sim, stop, announced } = await runningBetweenTicks();
  sim.addFault({ kind: 'stretch', op: 'read', delay_ms: 3000, count: 1 });
  const began = clock.now();
  const read = engine.readValues().catch(() => {}); // a client's read; the next tick waits behind it
  await clock.advanceUntil(() => announced.length > 0, 3000, 1);
  t.equal(announced[0]! - began, 1000, 'at the second, counted from the hanging read');
  await clock.advance(3000);
  await read;
  await stop();
});

t.test(
  'a first read answers late and the next one hangs: the guard waits on, announcing a second into the second',
  async (t) => {
    const { clock, engine, sim, stop, announced } = await runningBetweenTicks();
    sim.addFault({ kind: 'stretch', op: 'read', delay_ms: 500, count: 1 });
    sim.addFault({ kind: 'stretch', op: 'read', delay_ms: 3000, count: 1 });
    const began = clock.now();
    // A client's read answers after 500 ms; the tick waiting behind it then hangs on its own read.
    const read = engine.readValues().catch(() => {});
    await clock.advanceUntil(() => announced.length > 0, 4000, 1);
    t.equal(announced[0]! - began, 1500, "a second after the tick's own read began, not never");
    await clock.advance(3000);
    await read;
    await stop();
  },
);
