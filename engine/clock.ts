// Time is injected: the supervisor, the simulator and the DFU sequence take a Clock, so tests can
// run a 60-second blackout in milliseconds and never sleep for real.

export type TimerHandle = { readonly id: number } | NodeJS.Timeout;

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Wall-clock Unix milliseconds (wake-up times, timestamps). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  sleep(ms: number): Promise<void>;
  /** Arm a timer again, fired or pending, with its own callback and delay from now. */
  refresh?(handle: TimerHandle): TimerHandle;
  /**
   * Read the monotonic clock once for what runs until the matching `release`: `now()` returns that
   * reading meanwhile. For a stretch of synchronous code that reads the time many times and takes
   * microseconds (an idle tick: the model, the log, the history, the grid).
   */
  hold?(): void;
  release?(): void;
}

/** A delay for Node's timers: whole milliseconds, never less than asked, never negative. */
export const wholeMs = (ms: number): number => (ms > 0 ? Math.ceil(ms) : 0);

// Taken once, not looked up at every clock read: `process` is an accessor on the global object in
// Node 20, and the process object a dictionary. hrtime() needs no receiver; it reads the clock
// through a V8 fast call into a buffer it shares with Node (and returns a new [s, ns] array, which
// the optimiser may drop), where uptime() is an API callback that returns a new heap number. In
// perf samples of an idle tick's one reading: 0.05 a tick against 0.07.
const hrtime = process.hrtime;
const [S0, N0] = hrtime();
/** Milliseconds since this module loaded, a few milliseconds into the process. */
const sinceStart = (): number => {
  const [s, n] = hrtime();
  return (s - S0!) * 1000 + (n - N0!) / 1e6;
};

export class RealClock implements Clock {
  /** Nested holds (see Clock.hold), and the reading they share. */
  private holds = 0;
  private heldMs = 0;

  /**
   * Milliseconds since the process started (since this module loaded, a few milliseconds in),
   * like performance.now(): the `performance` global loads some ten of Node's modules, which the
   * bin's V8 flags make it compile at every start.
   */
  now(): number {
    return this.holds > 0 ? this.heldMs : sinceStart();
  }
  /** Each reading is a call into Node: once for a whole tick. */
  hold(): void {
    if (this.holds++ === 0) this.heldMs = sinceStart();
  }
  release(): void {
    if (this.holds > 0) this.holds--;
  }
  wallNow(): number {
    return Date.now();
  }
  /**
   * Whole milliseconds, rounded up: Node keeps one list of timers per delay, keyed by the delay
   * itself, so a tick re-armed for "the rest of its 100 ms slot" (99.37, 99.41, …) made and dropped
   * a list with a number-string key every tick, a quarter of a bare 10 Hz timer's idle CPU again.
   * Rounded up, the delays fall under 99, 100 or 101; the engine's `tickDelay` keeps the idle
   * tick's at 100 so that one list stays.
   */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return setTimeout(fn, wholeMs(ms));
  }
  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout);
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, wholeMs(ms)));
  }
  /**
   * Node's `refresh()`: called from within the timer's own callback, it puts the timer back in its
   * list as an interval's is, with no new Timeout, async id or list.
   */
  refresh(handle: TimerHandle): TimerHandle {
    return (handle as NodeJS.Timeout).refresh();
  }
}

interface FakeTimer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

/** A FakeClock's handle keeps what `refresh` arms again. */
interface FakeHandle {
  readonly id: number;
  readonly fn: () => void;
  readonly ms: number;
}

/** Lets queued promise callbacks run (one macrotask turn drains the microtask queue). */
export const flushMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A clock that moves only when told to. `advance` fires due timers in time order and lets the
 * promise chains they start settle before moving on, so async code runs as it would in real time.
 * With `earlyMs`, timers fire up to that much early (a fixed, repeating pattern), as Node's do by
 * up to 1 ms: code that assumes a timer never fires before its time shows it. With `lateMs`,
 * they fire up to that much late, as on a busy machine.
 */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: FakeTimer[] = [];
  private readonly earlyMs: number;
  private readonly lateMs: number;

  constructor(
    private readonly wallEpochMs = Date.UTC(2026, 0, 1),
    startMs = 0,
    opts: { earlyMs?: number; lateMs?: number } = {},
  ) {
    this.t = startMs;
    this.earlyMs = opts.earlyMs ?? 0;
    this.lateMs = opts.lateMs ?? 0;
  }

  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.wallEpochMs + this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.arm(fn, ms, undefined);
  }
  refresh(handle: TimerHandle): TimerHandle {
    const { id, fn, ms } = handle as FakeHandle;
    this.clearTimeout(handle);
    return this.arm(fn, ms, id);
  }
  private arm(fn: () => void, ms: number, id: number | undefined): FakeHandle {
    const seq = ++this.seq;
    // Early by 0, ⅓, ⅔ or all of earlyMs in turn, never before now; late by a pattern of its own
    // (0, all, ½, ¼ of lateMs), as a loaded machine makes them.
    const early = ms > 0 ? (this.earlyMs * (seq % 4)) / 3 : 0;
    const late = this.lateMs * [0, 1, 0.5, 0.25][seq % 4]!;
    const timer = { id: id ?? seq, at: this.t + Math.max(0, ms - Math.min(early, ms)) + late, seq, fn };
    this.timers.push(timer);
    return { id: timer.id, fn, ms };
  }
  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id: number }).id;
    this.timers = this.timers.filter((t) => t.id !== id);
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }
  /** Number of pending timers (for tests that check nothing is left running). */
  get pending(): number {
    return this.timers.length;
  }

  /** Advance time by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.t = next.at;
      next.fn();
      await flushMicrotasks();
    }
    this.t = target;
    await flushMicrotasks();
  }

  /** Advance until `predicate` holds (checked after every timer), or fail after `limitMs`. */
  async advanceUntil(predicate: () => boolean, limitMs: number, stepMs = 10): Promise<number> {
    const start = this.t;
    while (!predicate()) {
      if (this.t - start >= limitMs) throw new Error(`condition not reached within ${limitMs} ms of simulated time`);
      await this.advance(stepMs);
    }
    return this.t - start;
  }

  private nextDue(target: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) {
      if (t.at > target) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
