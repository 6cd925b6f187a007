// The real clock hands Node's timers whole milliseconds (docs/performance.md, "Idle"): Node keeps
// one list of timers per delay, keyed by the delay itself, so a tick re-armed for the rest of its
// 100 ms slot (99.37, 99.41, …) would make and drop a list every tick.
import t from 'tap';
import { FakeClock, RealClock, wholeMs } from '../../engine/clock.js';

/** The delay Node filed a timer under (its list's key). */
const filedUnder = (handle: unknown): number => (handle as { _idleTimeout: number })._idleTimeout;

t.test('a fractional delay is rounded up, never down', async (t) => {
  t.equal(wholeMs(99.37), 100);
  t.equal(wholeMs(99.999), 100);
  t.equal(wholeMs(100), 100);
  t.equal(wholeMs(0.2), 1);
  t.equal(wholeMs(0), 0);
  t.equal(wholeMs(-3.5), 0, 'a moment already past: at once');
  t.equal(wholeMs(Number.NaN), 0);
});

t.test("the rests of a tick's slots fall under one or two delays, not one each", async (t) => {
  const clock = new RealClock();
  const rests = [99.37, 99.41, 99.02, 98.96, 99.5, 99.88, 100];
  const keys = new Set<number>();
  for (const ms of rests) {
    const h = clock.setTimeout(() => t.fail('cleared before it fires'), ms);
    keys.add(filedUnder(h));
    clock.clearTimeout(h);
  }
  t.same(
    [...keys].sort((a, b) => a - b),
    [99, 100],
  );
});

t.test('a real timer refreshed from its own callback fires again, the same timer', async (t) => {
  const clock = new RealClock();
  const fired: unknown[] = [];
  await new Promise<void>((done) => {
    const h: ReturnType<RealClock['setTimeout']> = clock.setTimeout(() => {
      fired.push(h);
      if (fired.length < 3) t.equal(clock.refresh(h), h, 'refresh hands back the same timer');
      else done();
    }, 1);
  });
  t.equal(fired.length, 3);
  t.equal(new Set(fired).size, 1, 'one timer fired three times');
});

t.test('a fake timer refreshed fires once more, its delay counted from the refresh', async (t) => {
  const clock = new FakeClock();
  const at: number[] = [];
  const h = clock.setTimeout(() => at.push(clock.now()), 100);
  await clock.advance(40);
  clock.refresh(h); // pending: moved, not doubled
  await clock.advance(200);
  t.same(at, [140]);
  clock.refresh(h); // fired: armed again
  await clock.advance(100);
  t.same(at, [140, 340]);
  t.equal(clock.pending, 0);
});

t.test('a held real clock reads the time once until released; holds nest', async (t) => {
  const clock = new RealClock();
  // Wait (on timers, not a busy loop) until the time has moved between two reads.
  const moved = async () => {
    const a = clock.now();
    while (clock.now() === a) await new Promise((r) => setTimeout(r, 1));
  };
  clock.hold();
  const held = clock.now();
  await new Promise((r) => setTimeout(r, 5));
  t.equal(clock.now(), held, 'the same reading while held, however long it is held');
  clock.hold(); // nested: the outer reading stays
  t.equal(clock.now(), held);
  clock.release();
  t.equal(clock.now(), held, 'still held by the outer hold');
  clock.release();
  t.ok(clock.now() > held, 'released: the clock reads the time again');
  clock.release(); // one release too many changes nothing: the next hold holds
  await moved();
  clock.hold();
  const again = clock.now();
  t.ok(again > held, 'a new hold takes a new reading');
  await new Promise((r) => setTimeout(r, 5));
  t.equal(clock.now(), again, 'and holds it');
  clock.release();
});
