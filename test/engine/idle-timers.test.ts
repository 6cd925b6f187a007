// An idle daemon wakes only for its tick (docs/performance.md, "Idle"): between two ticks on the
// simulator, the one timer pending is the next tick's. No reachability guard for a tick that its
// own microtasks finished, and no timer of the simulated model's own (the tick advances it).
import t from 'tap';
import { FakeClock, type TimerHandle } from '../../engine/clock.js';
import { AWAITED_TICK_DRIFT_MS, TICK_DRIFT_MS, tickDelay } from '../../engine/engine.js';
import { engineRig, tickTimes } from '../helpers/engine.js';

/** A FakeClock that notes, as each timer's callback returns, how many timers are pending. */
class ReturnWatchingClock extends FakeClock {
  pendingAtReturn: number[] = [];
  override setTimeout(fn: () => void, ms: number) {
    return super.setTimeout(() => {
      fn();
      this.pendingAtReturn.push(this.pending);
    }, ms);
  }
}

t.test('between two idle ticks, the only timer pending is the next tick', async (t) => {
  const { clock, engine, stop } = engineRig({ sim: { start: 'host-running' } });
  engine.start();
  await clock.advanceUntil(() => engine.state === 'OK', 1000);
  const pending = new Set<number>();
  for (let i = 0; i < 30; i++) {
    await clock.advance(100);
    pending.add(clock.pending);
  }
  t.same([...pending], [1]);
  await stop();
});

t.test(
  'an idle tick on the simulator ends within its timer: the next one is armed before any promise runs',
  async (t) => {
    // Ten ticks a second with no promise of their own (docs/performance.md, "Idle"): the tick's
    // read is answered at once, the supervisor decides within the call, the next slot is armed.
    const clock = new ReturnWatchingClock();
    const { engine, stop } = engineRig({ clock, sim: { start: 'host-running' } });
    engine.start();
    await clock.advanceUntil(() => engine.state === 'OK', 1000);
    clock.pendingAtReturn.length = 0;
    await clock.advance(6000); // a block read every 5 s among the ticks: it too ends within the call
    t.ok(clock.pendingAtReturn.length >= 59, `${clock.pendingAtReturn.length} ticks`);
    t.same([...new Set(clock.pendingAtReturn)], [1], 'the next tick was pending as each tick returned');
    await stop();
  },
);

t.test('a read that hangs still arms the guard: the silence is announced at its second', async (t) => {
  const { clock, engine, sim, stop } = engineRig({ sim: { start: 'host-running' } });
  engine.start();
  await clock.advanceUntil(() => engine.state === 'OK', 1000);
  const announced: number[] = [];
  engine.on('controller', (ev) => {
    if (!ev.reachable) announced.push(clock.now());
  });
  await clock.advance(50);
  sim.addFault({ kind: 'stretch', op: 'read', delay_ms: 5000, count: 1 });
  await clock.advanceUntil(() => announced.length > 0, 3000, 1);
  // The last answer came a tick before the read that hangs; the guard counts from that read.
  const silent = announced[0]! - engine.reachability.lastOkAt;
  t.ok(silent >= 1000 && silent <= 1000 + 100, `announced ${silent} ms after the last answer`);
  await clock.advance(5000); // the stretched read ends; stop() waits for it
  await stop();
});

/** A FakeClock that can be held (Clock.hold), counting the readings of its time it makes. */
class HoldingClock extends FakeClock {
  readings = 0;
  private holds = 0;
  override now(): number {
    if (this.holds === 0) this.readings++;
    return super.now();
  }
  hold(): void {
    if (this.holds++ === 0) this.readings++;
  }
  release(): void {
    this.holds--;
  }
}

t.test('an idle tick reads the time once, however many parts of it ask', async (t) => {
  // The model, the read's log, the history and the grid each ask; a reading of the real clock is
  // a call into Node, so the tick holds one for all (docs/performance.md, "Idle, ninth pass").
  const clock = new HoldingClock();
  const { engine, stop } = engineRig({ clock, sim: { start: 'host-running' } });
  engine.start();
  await clock.advanceUntil(() => engine.state === 'OK', 1000);
  await clock.advance(1000); // past the start (the watchdog armed, the first block read)
  clock.readings = 0;
  await clock.advance(4000); // forty ticks, none with a block read (every 5 s)
  t.equal(clock.readings, 40, `${clock.readings} readings in forty ticks`);
  await stop();
});

/** A FakeClock that notes the delay of every timer armed, and how many were refreshed. */
class DelayWatchingClock extends FakeClock {
  delays: number[] = [];
  refreshed = 0;
  override setTimeout(fn: () => void, ms: number) {
    this.delays.push(ms);
    return super.setTimeout(fn, ms);
  }
  override refresh(handle: TimerHandle) {
    this.refreshed++;
    this.delays.push((handle as unknown as { ms: number }).ms);
    return super.refresh(handle);
  }
}

t.test('an idle tick re-arms the same 100 ms while it runs near its slot, and keeps to the grid', async (t) => {
  // Node keeps one timer list per delay and drops a list that runs empty: delays that wobbled
  // between 99 and 100 with each timer's lateness made and dropped a list on most idle ticks.
  const clock = new DelayWatchingClock(undefined, 0, { lateMs: 1 });
  const { engine, stop } = engineRig({ clock, sim: { start: 'host-running' } });
  const ticks = tickTimes(engine, clock);
  engine.start();
  await clock.advance(2000);
  clock.delays.length = 0;
  ticks.length = 0;
  await clock.advance(60_000);
  const tickDelays = clock.delays.filter((ms) => ms > 100 - TICK_DRIFT_MS - 5 && ms < 110);
  const plain = tickDelays.filter((ms) => ms === 100).length / tickDelays.length;
  t.ok(plain >= 0.9, `${(plain * 100).toFixed(0)} % of ${tickDelays.length} ticks re-armed 100 ms`);
  // …by refreshing the timer that just fired (Node re-inserts it as an interval's), not a new one.
  t.ok(clock.refreshed >= 0.85 * tickDelays.length, `${clock.refreshed} refreshed`);
  // Late by up to 1 ms a timer, the ticks drift behind their slots until the exact delay takes
  // them back: never more than the drift allowed plus one timer's lateness. The slots lie on
  // whole 100 ms from the start (t = 0), so a tick that ran early would show as nearly a whole
  // slot behind the one before it.
  const behind = ticks.map((ms) => ms - Math.floor(ms / 100) * 100);
  t.ok(
    Math.max(...behind) <= TICK_DRIFT_MS + 1,
    `none early, and at most ${Math.max(...behind).toFixed(2)} ms behind its slot`,
  );
  t.equal(new Set(ticks.map((ms) => Math.floor(ms / 100))).size, ticks.length, 'no slot ran twice');
  t.ok(ticks.length >= 599 && ticks.length <= 600, `${ticks.length} ticks in 60 s`);
  await stop();
});

t.test('ticks that wait for a slow read keep within the smaller window of their slots', async (t) => {
  // Each read stretched by 30 ms (a slow bus): the tick's own time is drift, and with the window
  // of ticks that end at once it would push the next tick 30 ms, then 60 ms late.
  const { clock, engine, sim, stop } = engineRig({ sim: { start: 'host-running' } });
  const ticks = tickTimes(engine, clock);
  engine.start();
  await clock.advanceUntil(() => engine.state === 'OK', 1000);
  await clock.advance(1000);
  sim.addFault({ kind: 'stretch', op: 'read', delay_ms: 30, count: 0 });
  await clock.advance(200);
  ticks.length = 0;
  await clock.advance(3000);
  t.ok(ticks.length >= 29, `${ticks.length} ticks`);
  const behind = ticks.map((ms) => ms - Math.floor(ms / 100) * 100);
  t.ok(Math.max(...behind) <= AWAITED_TICK_DRIFT_MS, `at most ${Math.max(...behind).toFixed(1)} ms behind its slot`);
  sim.faults.clear();
  await clock.advance(200);
  await stop();
});

t.test('the delay for the next slot: 100 ms within the drift allowed, the exact delay beyond it', (t) => {
  t.equal(tickDelay(100), 100, 'on time');
  t.equal(tickDelay(100 - TICK_DRIFT_MS + 0.01), 100, 'just inside the drift allowed');
  t.equal(tickDelay(100 - TICK_DRIFT_MS), 100 - TICK_DRIFT_MS, 'at the drift allowed: back to the grid');
  t.equal(tickDelay(100 - TICK_DRIFT_MS - 10), 100 - TICK_DRIFT_MS - 10, 'a tick slower than the drift allowed');
  t.equal(tickDelay(100.8), 100, 'a timer that fired early');
  t.equal(tickDelay(101.5), 101.5, 'earlier than a timer fires early');
  // A tick that waited for its read: its own duration is drift too, so a smaller window.
  t.equal(tickDelay(100 - AWAITED_TICK_DRIFT_MS + 0.01, AWAITED_TICK_DRIFT_MS), 100, 'awaited, inside its window');
  t.equal(tickDelay(100 - AWAITED_TICK_DRIFT_MS - 5, AWAITED_TICK_DRIFT_MS), 85, 'awaited, beyond: back to the grid');
  t.end();
});
