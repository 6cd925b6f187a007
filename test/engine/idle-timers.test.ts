// An idle daemon wakes only for its tick (docs/performance.md, "Idle"): between two ticks on the
// simulator, the one timer pending is the next tick's. No reachability guard for a tick that its
// own microtasks finished, and no timer of the simulated model's own (the tick advances it).
import t from 'tap';
import { FakeClock } from '../../engine/clock.js';
import { engineRig } from '../helpers/engine.js';

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
    await clock.advance(1000); // past the first block read, which waits like any block
    clock.pendingAtReturn.length = 0;
    await clock.advance(3000);
    t.ok(clock.pendingAtReturn.length >= 29, `${clock.pendingAtReturn.length} ticks`);
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
