// Whether the controller answers (docs/blackout.md, "a dead bus is announced"). Every transaction
// is seen on its way through the Bus; a second without an answer, while transactions fail or hang,
// makes the controller unreachable: that is announced once, with the moment its watchdog will
// power-cycle the computer, and again when it answers.

import type { Bus } from './bus.js';
import type { Clock } from './clock.js';

/** Silence that makes the controller unreachable. */
export const UNREACHABLE_AFTER_MS = 1000;

/** The firmware's grace in HostUnresponsive before it cuts the power (docs/controller.md). */
export const UNRESPONSIVE_GRACE_MS = 5000;

export interface ReachabilityEvent {
  reachable: boolean;
  /** Unix ms of the last answer. */
  last_answer: number;
  /** Unix ms at which the controller's watchdog will power-cycle the computer, or null when it will not. */
  power_cycle_at: number | null;
  /** Seconds without an answer: so far (unreachable), or in all (reachable again). */
  silence_s: number;
  /** The last failure, when unreachable. */
  error?: string;
}

export class Reachability {
  /** Clock time of the last transaction that succeeded. */
  lastOkAt: number;
  private lastFailAt = -Infinity;
  private lastError = '';
  /** Since when transactions have gone out with no answer (null: the last one was answered). */
  private askingSince: number | null = null;
  /** The last answer's clock time when unreachability was announced; null while reachable. */
  private announcedAt: number | null = null;
  /** The announcement in force while unreachable (for a client that connects meanwhile). */
  current: ReachabilityEvent | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly changed: (ev: ReachabilityEvent) => void,
    /** Every failed transaction (the engine forgets what it cached of the controller). */
    private readonly failedOne: () => void = () => {},
  ) {
    this.lastOkAt = clock.now();
  }

  /** The last transaction was answered and none waits for an answer. */
  get answering(): boolean {
    return this.askingSince === null;
  }

  get reachable(): boolean {
    return this.announcedAt === null;
  }

  /** Seconds since the last answer while unreachable, else 0. */
  get silentS(): number {
    return this.announcedAt === null ? 0 : (this.clock.now() - this.lastOkAt) / 1000;
  }

  /** The Bus, with every transaction noted. */
  wrap(bus: Bus): Bus {
    // The two ends of a transaction, made once (not two closures for each of ten a second).
    const answered = <T>(v: T): T => {
      this.askingSince = null;
      this.lastOkAt = this.clock.now();
      if (this.announcedAt !== null) this.check(null);
      return v;
    };
    const failed = (err: unknown): never => {
      this.lastFailAt = this.clock.now();
      this.failedOne();
      this.lastError = (err as Error)?.message ?? String(err);
      throw err;
    };
    const track = <T>(run: () => Promise<T>): Promise<T> => {
      this.askingSince ??= this.clock.now();
      return run().then(answered, failed);
    };
    // Plain properties only: V8 makes an object literal with an accessor a dictionary, and every
    // tick reads through this one.
    const wrapped: Bus = {
      description: bus.description,
      writeRead: (data, length) => track(() => bus.writeRead(data, length)),
      write: (data) => track(() => bus.write(data)),
      close: () => bus.close(),
    };
    if (bus.writeSync) wrapped.writeSync = (data) => bus.writeSync!(data);
    const now = bus.readNow?.bind(bus);
    if (now) {
      // Noted as `track` notes a transaction; a bus that cannot answer now made none.
      wrapped.readNow = (data, length) => {
        let out: Uint8Array | undefined;
        try {
          out = now(data, length);
        } catch (err) {
          this.askingSince ??= this.clock.now();
          return failed(err);
        }
        return out === undefined ? undefined : answered(out);
      };
    }
    return wrapped;
  }

  /** Milliseconds until a check could find the controller unreachable, or null while it answers. */
  get dueInMs(): number | null {
    return this.askingSince === null ? null : Math.max(1, this.askingSince + UNREACHABLE_AFTER_MS - this.clock.now());
  }

  /**
   * Decide now. `watchdogMs` is the armed timeout (0 or null: the watchdog will not bite, e.g. not
   * armed, or the controller runs a blackout where it is not checked). Returns the event when
   * something changed.
   */
  check(watchdogMs: number | null, opts: { announce?: boolean } = {}): ReachabilityEvent | null {
    const now = this.clock.now();
    if (this.announcedAt !== null) {
      if (this.lastOkAt <= this.announcedAt) return null;
      const silence = (this.lastOkAt - this.announcedAt) / 1000;
      this.announcedAt = null;
      this.current = null;
      const ev: ReachabilityEvent = {
        reachable: true,
        last_answer: this.wall(this.lastOkAt),
        power_cycle_at: null,
        silence_s: silence,
      };
      this.changed(ev);
      return ev;
    }
    if (opts.announce === false) return null;
    if (this.askingSince === null || now - this.askingSince < UNREACHABLE_AFTER_MS) return null;
    this.announcedAt = this.lastOkAt;
    const ev: ReachabilityEvent = {
      reachable: false,
      last_answer: this.wall(this.lastOkAt),
      power_cycle_at: watchdogMs ? this.wall(this.lastOkAt + watchdogMs + UNRESPONSIVE_GRACE_MS) : null,
      silence_s: (now - this.lastOkAt) / 1000,
      error:
        this.lastFailAt > this.lastOkAt
          ? this.lastError
          : `no answer for ${((now - this.lastOkAt) / 1000).toFixed(1)}s`,
    };
    this.current = ev;
    this.changed(ev);
    return ev;
  }

  private wall(at: number): number {
    return this.clock.wallNow() - (this.clock.now() - at);
  }
}
